/*
 * A JSON reader and writer for jansson values, faster than jansson's own
 * on the packets Socket.IO carries: jansson's lexer takes each byte
 * through a stream with a UTF-8 check per character (about 145
 * instructions a byte in a callgrind profile of a 1 KB echo); here
 * strings are scanned in runs and copied once. The behaviour is
 * jansson's (json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL, and
 * json_dump_callback with JSON_COMPACT | JSON_ENCODE_ANY), so what a
 * packet means does not change: the codec's vectors and fuzz targets hold
 * it to that.
 */
#include "protocol/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/utf8.h"

struct reader {
	const char *p;
	const char *end;
	unsigned depth;
	unsigned max_depth;
	int err;
	char *scratch; /* for strings with escapes */
	size_t scratch_cap;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static json_t *fail(struct reader *r, int err)
{
	if (!r->err)
		r->err = err;
	return NULL;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The length of the run at p (before end) of bytes a JSON string holds as
 * they are: no '"', no '\\', no control character. Eight bytes at a time:
 * a byte below 0x20, or equal to '"' or '\\' (a zero after the XOR), sets
 * its high bit in t (never a miss; a hit only sends that word to the byte
 * loop).
 */
static size_t plain_run(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	const char *q = p;
	while (end - q >= 8) {
		uint64_t x;
		memcpy(&x, q, 8);
		uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
		uint64_t t = ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
			     ((bslash - ones) & ~bslash);
		if (t & highs)
			break;
		q += 8;
	}
	while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	return (size_t)(q - p);
}

/*
 * Reads a string body (after the opening quote). On success *out and
 * *len describe the bytes (pointing into the input when there were no
 * escapes, into r->scratch otherwise) and r->p is past the closing quote.
 */
static bool read_string(struct reader *r, const char **out, size_t *len)
{
	const char *start = r->p;
	const char *q = start + plain_run(start, r->end);
	if (q >= r->end || (unsigned char)*q < 0x20)
		return false;
	struct utf8_state u = {0};
	if (*q == '"') {
		if (!utf8_feed(&u, (const uint8_t *)start, (size_t)(q - start)) || !utf8_complete(&u))
			return false;
		*out = start;
		*len = (size_t)(q - start);
		r->p = q + 1;
		return true;
	}
	/* escapes: decode into scratch (never longer than the input) */
	size_t need = (size_t)(r->end - start);
	if (need > r->scratch_cap) {
		char *s = realloc(r->scratch, need);
		if (!s) {
			r->err = JSONR_ENOMEM;
			return false;
		}
		r->scratch = s;
		r->scratch_cap = need;
	}
	char *o = r->scratch;
	const char *p = start;
	while (p < r->end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20)
			return false;
		if (c != '\\') {
			const char *run = p;
			p += plain_run(p, r->end);
			if (!utf8_feed(&u, (const uint8_t *)run, (size_t)(p - run)))
				return false;
			memcpy(o, run, (size_t)(p - run));
			o += p - run;
			continue;
		}
		if (!utf8_complete(&u) || ++p >= r->end)
			return false;
		switch (*p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			if (r->end - p < 5)
				return false;
			int cp = hex4(p + 1);
			if (cp < 0)
				return false;
			p += 4;
			uint32_t code = (uint32_t)cp;
			if (code >= 0xdc00 && code <= 0xdfff)
				return false; /* a lone low surrogate */
			if (code >= 0xd800 && code <= 0xdbff) {
				if (r->end - p < 7 || p[1] != '\\' || p[2] != 'u')
					return false;
				int lo = hex4(p + 3);
				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				code = 0x10000 + ((code - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
				p += 6;
			}
			o += put_utf8(o, code);
			break;
		}
		default:
			return false;
		}
		p++;
	}
	if (p >= r->end || !utf8_complete(&u))
		return false;
	*out = r->scratch;
	*len = (size_t)(o - r->scratch);
	r->p = p + 1;
	return true;
}

static json_t *read_value(struct reader *r);

static json_t *read_number(struct reader *r)
{
	const char *start = r->p;
	const char *p = start;
	bool real = false;
	if (p < r->end && *p == '-')
		p++;
	if (p >= r->end)
		return fail(r, JSONR_EINVAL);
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail(r, JSONR_EINVAL);
	}
	if (p < r->end && *p == '.') {
		real = true;
		p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return fail(r, JSONR_EINVAL);
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return fail(r, JSONR_EINVAL);
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	/* strtoll/strtod want a terminated string */
	size_t n = (size_t)(p - start);
	char stack[64];
	char *buf = n < sizeof(stack) ? stack : malloc(n + 1);
	if (!buf)
		return fail(r, JSONR_ENOMEM);
	memcpy(buf, start, n);
	buf[n] = '\0';
	json_t *v = NULL;
	errno = 0;
	if (!real) {
		long long ll = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			r->err = JSONR_EINVAL; /* jansson: "too big integer" */
		else
			v = json_integer((json_int_t)ll);
	} else {
		double d = strtod(buf, NULL);
		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
			r->err = JSONR_EINVAL; /* jansson: "real number overflow" */
		else
			v = json_real(d);
	}
	if (buf != stack)
		free(buf);
	if (!v)
		return fail(r, JSONR_ENOMEM);
	r->p = p;
	return v;
}

static bool literal(struct reader *r, const char *word, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

static json_t *read_array(struct reader *r)
{
	json_t *a = json_array();
	if (!a)
		return fail(r, JSONR_ENOMEM);
	r->p++; /* [ */
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return a;
	}
	for (;;) {
		json_t *v = read_value(r);
		if (!v || json_array_append_new(a, v) < 0) {
			json_decref(a);
			return fail(r, JSONR_ENOMEM);
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return a;
		}
		json_decref(a);
		return fail(r, JSONR_EINVAL);
	}
}

static json_t *read_object(struct reader *r)
{
	json_t *o = json_object();
	if (!o)
		return fail(r, JSONR_ENOMEM);
	r->p++; /* { */
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return o;
	}
	for (;;) {
		skip_ws(r);
		const char *key;
		size_t klen;
		if (r->p >= r->end || *r->p != '"')
			goto bad;
		r->p++;
		if (!read_string(r, &key, &klen))
			goto bad;
		/* jansson keeps keys NUL-terminated: a NUL in one is refused */
		if (memchr(key, '\0', klen))
			goto bad;
		char kstack[128];
		char *k = klen < sizeof(kstack) ? kstack : malloc(klen + 1);
		if (!k) {
			json_decref(o);
			return fail(r, JSONR_ENOMEM);
		}
		memcpy(k, key, klen);
		k[klen] = '\0';
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':') {
			if (k != kstack)
				free(k);
			goto bad;
		}
		r->p++;
		json_t *v = read_value(r);
		int rc = v ? json_object_set_new_nocheck(o, k, v) : -1;
		if (k != kstack)
			free(k);
		if (rc < 0) {
			json_decref(o);
			return fail(r, JSONR_ENOMEM);
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return o;
		}
		goto bad;
	}
bad:
	json_decref(o);
	return fail(r, JSONR_EINVAL);
}

/* Every value counts one level, scalars too, as in jansson's parser. */
static json_t *read_value(struct reader *r)
{
	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, JSONR_EINVAL);
	if (++r->depth > r->max_depth)
		return fail(r, JSONR_EINVAL);
	json_t *v;
	switch (*r->p) {
	case '{':
		v = read_object(r);
		break;
	case '[':
		v = read_array(r);
		break;
	case '"': {
		const char *s;
		size_t n;
		r->p++;
		if (!read_string(r, &s, &n))
			return fail(r, JSONR_EINVAL);
		v = json_stringn_nocheck(s, n); /* checked as UTF-8 above */
		if (!v)
			return fail(r, JSONR_ENOMEM);
		break;
	}
	case 't':
		v = literal(r, "true", 4) ? json_true() : fail(r, JSONR_EINVAL);
		break;
	case 'f':
		v = literal(r, "false", 5) ? json_false() : fail(r, JSONR_EINVAL);
		break;
	case 'n':
		v = literal(r, "null", 4) ? json_null() : fail(r, JSONR_EINVAL);
		break;
	default:
		v = read_number(r);
		break;
	}
	r->depth--;
	return v;
}

json_t *jsonr_parse(const char *buf, size_t len, unsigned max_depth, int *err)
{
	struct reader r = {.p = buf, .end = buf + len, .max_depth = max_depth};
	json_t *v = read_value(&r);
	if (v) {
		skip_ws(&r);
		if (r.p != r.end) {
			json_decref(v);
			v = NULL;
			r.err = JSONR_EINVAL;
		}
	}
	free(r.scratch);
	if (!v && err)
		*err = r.err ? r.err : JSONR_EINVAL;
	return v;
}

/* ---- writing -------------------------------------------------------------- */

struct writer {
	jsonr_out_fn out;
	void *data;
};

static int put(struct writer *w, const char *s, size_t n)
{
	return w->out(s, n, w->data);
}

static int put_string(struct writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	if (put(w, "\"", 1) < 0)
		return -1;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		i += plain_run(s + i, s + n);
		if (i >= n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (i > run && put(w, s + run, i - run) < 0)
			return -1;
		run = i + 1;
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t elen = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			/* jansson's form: \u00XX with capitals */
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if (put(w, esc, elen) < 0)
			return -1;
	}
	if (n > run && put(w, s + run, n - run) < 0)
		return -1;
	return put(w, "\"", 1);
}

/* jansson's real form: %.17g, ".0" when it would read as an integer, the
 * exponent without '+' or leading zeros. */
static int put_real(struct writer *w, double d)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.17g", d);
	if (n < 0 || (size_t)n >= sizeof(buf) - 3)
		return -1;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	char *start = strchr(buf, 'e');
	if (start) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, strlen(end) + 1);
			n = (int)strlen(buf);
		}
	}
	return put(w, buf, (size_t)n);
}

size_t jsonr_format_int(char *buf, long long v)
{
	/* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
	unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char digits[JSONR_INT_MAX];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	size_t len = 0;
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = digits[--n];
	return len;
}

static int write_value(struct writer *w, const json_t *v)
{
	char num[32];
	switch (json_typeof(v)) {
	case JSON_NULL: return put(w, "null", 4);
	case JSON_TRUE: return put(w, "true", 4);
	case JSON_FALSE: return put(w, "false", 5);
	case JSON_INTEGER:
		return put(w, num, jsonr_format_int(num, json_integer_value(v)));
	case JSON_REAL: return put_real(w, json_real_value(v));
	case JSON_STRING: return put_string(w, json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		if (put(w, "[", 1) < 0)
			return -1;
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			if ((i && put(w, ",", 1) < 0) || write_value(w, json_array_get(v, i)) < 0)
				return -1;
		}
		return put(w, "]", 1);
	}
	case JSON_OBJECT: {
		json_t *o = (json_t *)v; /* jansson's iterators take no const */
		if (put(w, "{", 1) < 0)
			return -1;
		bool first = true;
		for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
			const char *k = json_object_iter_key(it);
			if ((!first && put(w, ",", 1) < 0) || put_string(w, k, strlen(k)) < 0 ||
			    put(w, ":", 1) < 0 || write_value(w, json_object_iter_value(it)) < 0)
				return -1;
			first = false;
		}
		return put(w, "}", 1);
	}
	default:
		return -1;
	}
}

int jsonr_dump(const json_t *v, jsonr_out_fn out, void *data)
{
	struct writer w = {.out = out, .data = data};
	return write_value(&w, v);
}
