/*
 * Engine.IO v3 polling codec (see eio_v3.h).
 */
#include "protocol/eio_v3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 as Node decodes it ------------------------------------------- */

/*
 * Byte length of the character at p[0..n), n > 0, as the WHATWG UTF-8
 * decoder reads it: a valid sequence, or a maximal subpart of an invalid one
 * (which becomes one U+FFFD). With `surrogates`, an encoded surrogate
 * (ED A0..BF xx) counts as a valid sequence, as utf8.js reads it. *units
 * is its UTF-16 length.
 */
static size_t utf8_char(const uint8_t *p, size_t n, bool surrogates, unsigned *units)
{
	uint8_t b = p[0];
	uint8_t lo = 0x80, hi = 0xbf;
	size_t need;

	*units = 1;
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed && !surrogates)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xbf;
	}
	if (need == 3)
		*units = 2;
	return need + 1;
}

/* The byte length a valid sequence led by b has, 0 for no valid lead. */
static size_t utf8_want(uint8_t b)
{
	return b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 0;
}

/* Whether the character at p[0..n), n > 0, is valid UTF-8 (RFC 3629);
 * *len is its byte length either way, as utf8_char() cuts it. */
static bool utf8_valid_char(const uint8_t *p, size_t n, size_t *len)
{
	unsigned units;

	*len = utf8_char(p, n, false, &units);
	return *len == utf8_want(p[0]);
}

size_t eio3_utf16_len(const uint8_t *p, size_t n)
{
	size_t units = 0;
	size_t i = 0;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			units++;
			continue;
		}
		unsigned u;
		i += utf8_char(p + i, n - i, false, &u);
		units += u;
	}
	return units;
}

/*
 * Walks `units` UTF-16 units into p[0..n). Returns false when the text ends
 * first, or when the last unit is the first half of a surrogate pair;
 * otherwise *bytes is the byte length of those units.
 */
static bool utf16_advance(const uint8_t *p, size_t n, size_t units, size_t *bytes)
{
	size_t i = 0;

	while (units > 0) {
		if (i == n)
			return false;
		if (p[i] < 0x80) {
			i++;
			units--;
			continue;
		}
		unsigned u;
		size_t c = utf8_char(p + i, n - i, false, &u);
		if (u > units)
			return false;
		i += c;
		units -= u;
	}
	*bytes = i;
	return true;
}

/* ---- JavaScript's Number() of a length ---------------------------------- */

/* Byte length of the JavaScript white space or line terminator at p[0..n)
 * (StrWhiteSpaceChar), or 0. */
static size_t js_space(const uint8_t *p, size_t n)
{
	if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0)
		return 2;
	if (n < 3)
		return 0;
	uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	if (c == 0xe19a80 ||                    /* U+1680 */
	    (c >= 0xe28080 && c <= 0xe2808a) || /* U+2000..U+200A */
	    c == 0xe280a8 || c == 0xe280a9 ||   /* U+2028, U+2029 */
	    c == 0xe280af || c == 0xe2819f ||   /* U+202F, U+205F */
	    c == 0xe38080 || c == 0xefbbbf)     /* U+3000, U+FEFF */
		return 3;
	return 0;
}

static int digit_value(uint8_t c, unsigned base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'z')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'Z')
		d = c - 'A' + 10;
	else
		return -1;
	return (unsigned)d < base ? d : -1;
}

/* Significant digits kept for strtod(); beyond them one sticky digit
 * stands for the rest. No midpoint between two doubles needs more than 767
 * significant digits, so the rounding is the one of the whole number. */
#define MAX_SIG_DIGITS 780
/* Decimal exponents are clamped to this: far beyond the double range
 * whatever the MAX_SIG_DIGITS + 1 digits. */
#define MAX_EXPONENT 100000
/* The exponent part saturates here: beyond any count of fraction digits. */
#define EXPONENT_CAP 1000000000000000000LL

/*
 * The value of a StrUnsignedDecimalLiteral other than "Infinity" at
 * s[0..n): digits, optionally '.' and digits (at least one digit in all),
 * optionally e or E, a sign and digits. Returns false when s is not one;
 * otherwise *value is the nearest double, as JavaScript rounds it.
 */
static bool js_decimal(const uint8_t *s, size_t n, double *value)
{
	char num[MAX_SIG_DIGITS + 1 + 24];
	size_t i = 0, int_end, frac_start, frac_end;
	long long exp = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	int_end = frac_start = frac_end = i;
	if (i < n && s[i] == '.') {
		frac_start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		frac_end = i;
	}
	if (int_end == 0 && frac_end == frac_start)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		bool neg = false;
		size_t first;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			neg = s[i++] == '-';
		first = i;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			exp = exp >= EXPONENT_CAP / 10 ? EXPONENT_CAP : exp * 10 + (s[i] - '0');
		if (i == first)
			return false;
		if (neg)
			exp = -exp;
	}
	if (i != n)
		return false;

	/* The digits of int ++ frac from the first non-zero one (sig of them),
	 * the first MAX_SIG_DIGITS kept: value = digits * 10^(exp - frac). */
	size_t sig = 0, k = 0;
	bool sticky = false;

	for (size_t j = 0; j < int_end + (frac_end - frac_start); j++) {
		uint8_t c = j < int_end ? s[j] : s[frac_start + (j - int_end)];

		if (sig == 0 && c == '0')
			continue;
		sig++;
		if (k < MAX_SIG_DIGITS)
			num[k++] = (char)c;
		else if (c != '0')
			sticky = true;
	}
	if (sig == 0) {
		*value = 0;
		return true;
	}
	if (sticky)
		num[k++] = '1';
	long long e10 = exp - (long long)(frac_end - frac_start) + (long long)sig - (long long)k;
	if (e10 > MAX_EXPONENT)
		e10 = MAX_EXPONENT;
	if (e10 < -MAX_EXPONENT)
		e10 = -MAX_EXPONENT;
	snprintf(num + k, sizeof(num) - k, "e%lld", e10);

	/* strtod() reads digits and an exponent alike in every locale; its
	 * ERANGE is no concern of ours. */
	int saved = errno;
	*value = strtod(num, NULL);
	errno = saved;
	return true;
}

/* 2^53: doubles are integers from here on. */
#define MAX_SAFE_INTEGER ((size_t)1 << 53)

/*
 * Whether JavaScript's Number() of the length s[0..n) (UTF-8, as Node
 * decoded it) is an integer from 0 to max; *k is then that integer.
 */
static bool js_length(const uint8_t *s, size_t n, size_t max, size_t *k)
{
	size_t i = 0, w, start, end;

	while (i < n && (w = js_space(s + i, n - i)) > 0)
		i += w;
	start = i;
	while (i < n && s[i] < 0x80 && !js_space(s + i, n - i))
		i++;
	end = i;
	while (i < n) {
		w = js_space(s + i, n - i);
		if (w == 0)
			return false;
		i += w;
	}
	s += start;
	n = end - start;
	if (max > MAX_SAFE_INTEGER)
		max = MAX_SAFE_INTEGER; /* and no sum below overflows */
	if (n == 0) {
		*k = 0;
		return true;
	}

	/* 0x, 0o, 0b: unsigned integers, any length */
	if (n >= 2 && s[0] == '0') {
		unsigned base = 0;

		switch (s[1]) {
		case 'x':
		case 'X':
			base = 16;
			break;
		case 'o':
		case 'O':
			base = 8;
			break;
		case 'b':
		case 'B':
			base = 2;
			break;
		}
		if (base) {
			size_t v = 0;

			if (n == 2)
				return false;
			for (i = 2; i < n; i++) {
				int d = digit_value(s[i], base);
				if (d < 0)
					return false;
				if (v <= max)
					v = v * base + (size_t)d;
			}
			if (v > max)
				return false;
			*k = v;
			return true;
		}
	}

	bool neg = false;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		s++;
		n--;
	}
	double d;
	if (!js_decimal(s, n, &d))
		return false; /* "Infinity" included: never a length */
	if (neg && d != 0)
		return false;
	if (!(d <= (double)max))
		return false;
	size_t v = (size_t)d;
	if ((double)v != d)
		return false;
	*k = v;
	return true;
}

/* ---- packets ------------------------------------------------------------- */

enum { PACKET_SKIP = 1 };

/* A binary packet "b<type><base64>" at p[0..n) (p[0] is 'b'): decodes the
 * base64 in place. Returns EIO_DECODE_OK, PACKET_SKIP for a type the
 * reference does not know, or EIO_DECODE_ERROR. */
static int decode_base64_packet(uint8_t *p, size_t n, struct eio_packet *out)
{
	long len;

	if (n < 2 || p[1] < '0' || p[1] > '6')
		return PACKET_SKIP;
	len = eio_base64_decode((const char *)p + 2, n - 2, p + 2);
	if (len < 0)
		return EIO_DECODE_ERROR;
	out->type = (enum eio_packet_type)(p[1] - '0');
	out->binary = true;
	out->data = p + 2;
	out->len = (size_t)len;
	return EIO_DECODE_OK;
}

/* A text packet of a text payload (n > 0). */
static int decode_text_packet(uint8_t *p, size_t n, struct eio_packet *out)
{
	if (p[0] == 'b')
		return decode_base64_packet(p, n, out);
	if (p[0] < '0' || p[0] > '6')
		return EIO_DECODE_ERROR;
	out->type = (enum eio_packet_type)(p[0] - '0');
	out->binary = false;
	out->data = p + 1;
	out->len = n - 1;
	return EIO_DECODE_OK;
}

int eio3_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out)
{
	size_t p = *pos;

	if (p > len || (p == 0 && len == 0))
		return EIO_DECODE_ERROR;
	while (p < len) {
		const uint8_t *colon = memchr(buf + p, ':', len - p);
		size_t start, units, bytes;
		int r;

		if (!colon || colon == buf + p)
			return EIO_DECODE_ERROR;
		start = (size_t)(colon - buf) + 1;
		if (!js_length(buf + p, (size_t)(colon - buf) - p, len - start, &units) ||
		    !utf16_advance(buf + start, len - start, units, &bytes))
			return EIO_DECODE_ERROR;
		p = start + bytes;
		if (bytes == 0)
			continue;
		r = decode_text_packet(buf + start, bytes, out);
		if (r == EIO_DECODE_ERROR)
			return r;
		if (r == EIO_DECODE_OK) {
			*pos = p;
			return 1;
		}
	}
	*pos = p;
	return 0;
}

/* ---- the XHR2 binary payload --------------------------------------------- */

/* The reference gives up on a length of more than this many characters
 * ("310 = char length of Number.MAX_VALUE"). */
#define MAX_LENGTH_CHARS 310

struct frame {
	bool text;    /* first byte 0 */
	size_t start; /* the packet */
	size_t len;   /* of the packet */
	size_t next;  /* the next frame */
};

/*
 * The frame at buf[t..len), t < len, as decodePayloadAsBinary() cuts it:
 * the length is the concatenation of the bytes before the 255 written in
 * decimal, strLen; the packet is bufferTail.slice(strLen.length + 1)
 * .slice(1, parseInt(strLen) + 1), cut to the end. Returns false on a
 * framing error.
 */
static bool binary_frame(const uint8_t *buf, size_t len, size_t t, struct frame *f)
{
	size_t chars = 0;
	size_t value = 0;
	size_t i;

	for (i = t + 1;; i++) {
		if (i < len && buf[i] == 255)
			break;
		/* past the end the reference reads "undefined" until the limit */
		if (chars > MAX_LENGTH_CHARS || i >= len)
			return false;
		uint8_t b = buf[i];
		/* above len it is beyond the end: no need to know how far */
		if (value <= len)
			value = value * (b >= 100 ? 1000 : b >= 10 ? 100 : 10) + b;
		chars += b >= 100 ? 3 : b >= 10 ? 2 : 1;
	}
	f->text = buf[t] == 0;
	size_t tail = len - t < chars + 1 ? len : t + chars + 1;
	if (chars == 0) {
		/* parseInt("") is NaN: slice(1, NaN) is empty, slice(NaN) is
		 * slice(0) */
		f->start = tail;
		f->len = 0;
		f->next = tail;
		return true;
	}
	f->start = tail + 1 < len ? tail + 1 : len;
	f->len = len - f->start < value ? len - f->start : value;
	f->next = len - tail <= value ? len : tail + 1 + value;
	return true;
}

/*
 * Whether p[0..n) is UTF-8 as the reference's utf8.js decode() (strict:
 * false) reads it: no overlong forms, nothing above U+10FFFF, nothing cut
 * short, but an encoded surrogate (ED A0..BF xx) is read as U+FFFD, which
 * has the same length: it is rewritten so in place.
 */
static bool utf8js_decode(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned units;
		size_t len = utf8_char(p + i, n - i, true, &units);

		if (len != utf8_want(p[i]))
			return false;
		if (p[i] == 0xed && p[i + 1] >= 0xa0) {
			p[i] = 0xef;
			p[i + 1] = 0xbf;
			p[i + 2] = 0xbd;
		}
		i += len;
	}
	return true;
}

/* The packet of a frame; same results as decode_base64_packet(). */
static int decode_binary_frame(uint8_t *buf, const struct frame *f, struct eio_packet *out)
{
	uint8_t *p = buf + f->start;
	size_t n = f->len;

	if (f->text) {
		if (n == 0)
			return EIO_DECODE_ERROR;
		if (p[0] == 'b')
			return decode_base64_packet(p, n, out);
		if (!utf8js_decode(p, n) || p[0] < '0' || p[0] > '6')
			return EIO_DECODE_ERROR;
		out->type = (enum eio_packet_type)(p[0] - '0');
		out->binary = false;
	} else {
		if (n == 0 || p[0] > EIO_NOOP)
			return PACKET_SKIP;
		out->type = (enum eio_packet_type)p[0];
		out->binary = true;
	}
	out->data = p + 1;
	out->len = n - 1;
	return EIO_DECODE_OK;
}

int eio3_binary_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out)
{
	size_t p = *pos;
	struct frame f;

	if (p > len)
		return EIO_DECODE_ERROR;
	if (p == 0) {
		for (size_t t = 0; t < len; t = f.next)
			if (!binary_frame(buf, len, t, &f))
				return EIO_DECODE_ERROR;
	}
	while (p < len) {
		int r;

		if (!binary_frame(buf, len, p, &f))
			return EIO_DECODE_ERROR;
		p = f.next;
		r = decode_binary_frame(buf, &f, out);
		if (r == EIO_DECODE_ERROR)
			return r;
		if (r == EIO_DECODE_OK) {
			*pos = p;
			return 1;
		}
	}
	*pos = p;
	return 0;
}

/* ---- encoding ------------------------------------------------------------ */

static size_t decimal_len(size_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Writes v in decimal, one character per byte; with binary, each digit's
 * value (0-9) instead. Returns the count. */
static size_t write_decimal(size_t v, bool binary, uint8_t *out)
{
	size_t n = decimal_len(v);

	for (size_t i = n; i-- > 0; v /= 10)
		out[i] = (uint8_t)(v % 10 + (binary ? 0 : '0'));
	return n;
}

/* The bytes JSON.stringify() (then the reference's \u2028 and \u2029
 * replacements) writes for p[0..n) of a string, without the quotes. */
static size_t jsonp_escaped_len(const uint8_t *p, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
		    c == '\t')
			len += 2;
		else if (c < 0x20)
			len += 6;
		else if (c == 0xe2 && n - i >= 3 && p[i + 1] == 0x80 &&
		         (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			len += 6;
			i += 2;
		} else
			len++;
	}
	return len;
}

static size_t jsonp_escape(const uint8_t *p, size_t n, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		char e = 0;

		switch (c) {
		case '"':
			e = '"';
			break;
		case '\\':
			e = '\\';
			break;
		case '\b':
			e = 'b';
			break;
		case '\f':
			e = 'f';
			break;
		case '\n':
			e = 'n';
			break;
		case '\r':
			e = 'r';
			break;
		case '\t':
			e = 't';
			break;
		}
		if (e) {
			out[o++] = '\\';
			out[o++] = (uint8_t)e;
		} else if (c < 0x20) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = (uint8_t)hex[c >> 4];
			out[o + 5] = (uint8_t)hex[c & 15];
			o += 6;
		} else if (c == 0xe2 && n - i >= 3 && p[i + 1] == 0x80 &&
		           (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			memcpy(out + o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			o += 6;
			i += 2;
		} else {
			out[o++] = c;
		}
	}
	return o;
}

size_t eio3_packet_len(enum eio3_payload_kind kind, enum eio_packet_type type, bool binary,
                       const uint8_t *data, size_t len)
{
	(void)type;
	if (kind == EIO3_PAYLOAD_BINARY)
		return 2 + decimal_len(1 + len) + 1 + len;
	if (binary) {
		size_t n = 2 + eio_base64_encoded_len(len);
		return decimal_len(n) + 1 + n;
	}
	size_t units = 1 + eio3_utf16_len(data, len);
	size_t body = kind == EIO3_PAYLOAD_JSONP ? jsonp_escaped_len(data, len) : len;
	return decimal_len(units) + 2 + body;
}

size_t eio3_packet_write(enum eio3_payload_kind kind, enum eio_packet_type type, bool binary,
                         const uint8_t *data, size_t len, uint8_t *out)
{
	size_t o = 0;

	if (kind == EIO3_PAYLOAD_BINARY) {
		out[o++] = binary ? 1 : 0;
		o += write_decimal(1 + len, true, out + o);
		out[o++] = 255;
		out[o++] = (uint8_t)(binary ? type : '0' + type);
		if (len > 0)
			memcpy(out + o, data, len);
		return o + len;
	}
	if (binary) {
		size_t n = 2 + eio_base64_encoded_len(len);

		o += write_decimal(n, false, out);
		out[o++] = ':';
		out[o++] = 'b';
		out[o++] = (uint8_t)('0' + type);
		return o + eio_base64_encode(data, len, (char *)out + o);
	}
	o += write_decimal(1 + eio3_utf16_len(data, len), false, out);
	out[o++] = ':';
	out[o++] = (uint8_t)('0' + type);
	if (kind == EIO3_PAYLOAD_JSONP)
		return o + jsonp_escape(data, len, out + o);
	if (len > 0)
		memcpy(out + o, data, len);
	return o + len;
}

/* ---- JSONP --------------------------------------------------------------- */

#define JSONP_HEAD_START "___eio["
#define JSONP_HEAD_END "](\""

size_t eio3_jsonp_head_len(const char *j, size_t jlen)
{
	size_t n = sizeof(JSONP_HEAD_START) - 1 + sizeof(JSONP_HEAD_END) - 1;

	for (size_t i = 0; i < jlen; i++)
		n += j[i] >= '0' && j[i] <= '9';
	return n;
}

size_t eio3_jsonp_head_write(const char *j, size_t jlen, uint8_t *out)
{
	size_t o = sizeof(JSONP_HEAD_START) - 1;

	memcpy(out, JSONP_HEAD_START, o);
	for (size_t i = 0; i < jlen; i++)
		if (j[i] >= '0' && j[i] <= '9')
			out[o++] = (uint8_t)j[i];
	memcpy(out + o, JSONP_HEAD_END, sizeof(JSONP_HEAD_END) - 1);
	return o + sizeof(JSONP_HEAD_END) - 1;
}

/* querystring.parse() stops after this many pairs (its maxKeys). */
#define MAX_FORM_PAIRS 1000

static int hex_value(uint8_t c)
{
	return digit_value(c, 16);
}

/* Whether p[0..n) holds a valid %XX at i. */
static bool is_escape(const uint8_t *p, size_t n, size_t i)
{
	return p[i] == '%' && n - i >= 3 && hex_value(p[i + 1]) >= 0 && hex_value(p[i + 2]) >= 0;
}

/*
 * Whether querystring.parse() marks the value p[0..n) as encoded (its
 * valEncoded): a '%' then two hex digits, where a '+' between them (read
 * as a space) neither counts nor breaks the run.
 */
static bool form_value_encoded(const uint8_t *p, size_t n)
{
	int run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '+')
			continue;
		if (p[i] == '%')
			run = 1;
		else if (run > 0 && hex_value(p[i]) >= 0) {
			if (++run == 3)
				return true;
		} else
			run = 0;
	}
	return false;
}

/*
 * Whether decodeURIComponent() accepts p[0..n) (where '+' has become a
 * space): every '%' starts %XX, and each run of %XX above 0x7F is one
 * whole, valid UTF-8 character (ECMA-262 Decode). The text between is
 * UTF-8 already.
 */
static bool uri_decodable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] != '%') {
			i++;
			continue;
		}
		if (!is_escape(p, n, i))
			return false;
		uint8_t b = (uint8_t)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
		i += 3;
		if (b < 0x80)
			continue;
		size_t need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
		if (need == 0 || b > 0xf7)
			return false;
		uint8_t seq[4] = {b};
		for (size_t j = 1; j <= need; j++, i += 3) {
			if (i >= n || !is_escape(p, n, i))
				return false;
			seq[j] = (uint8_t)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
			if ((seq[j] & 0xc0) != 0x80)
				return false;
		}
		size_t c;
		if (!utf8_valid_char(seq, need + 1, &c))
			return false;
	}
	return true;
}

/*
 * Decodes the form value p[0..n) in place as querystring.parse() then its
 * unescape do; returns the new length. '+' is a space; an encoded value is
 * either percent-decoded (when decodeURIComponent() takes it), or goes
 * through unescapeBuffer(): %XX is its byte, any other character the low
 * byte of each of its UTF-16 code units. p is UTF-8.
 */
static size_t form_value_decode(uint8_t *p, size_t n)
{
	bool encoded = form_value_encoded(p, n);
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '+')
			p[i] = ' ';
	if (!encoded)
		return n;
	if (uri_decodable(p, n)) {
		for (size_t i = 0; i < n;) {
			if (p[i] == '%') {
				p[o++] = (uint8_t)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
				i += 3;
			} else {
				p[o++] = p[i++];
			}
		}
		return o;
	}
	for (size_t i = 0; i < n;) {
		if (is_escape(p, n, i)) {
			p[o++] = (uint8_t)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
			i += 3;
			continue;
		}
		if (p[i] < 0x80) {
			p[o++] = p[i++];
			continue;
		}
		/* valid UTF-8 (the body was checked): the code point's UTF-16 */
		unsigned u;
		size_t c = utf8_char(p + i, n - i, false, &u);
		uint32_t cp =
		        c == 2   ? (uint32_t)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3f)
		        : c == 3 ? (uint32_t)(p[i] & 0x0f) << 12 |
		                           (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f)
		                 : (uint32_t)(p[i] & 0x07) << 18 |
		                           (uint32_t)(p[i + 1] & 0x3f) << 12 |
		                           (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
		if (cp > 0xffff) {
			cp -= 0x10000;
			p[o++] = (uint8_t)(0xd800 | cp >> 10);
			p[o++] = (uint8_t)(0xdc00 | (cp & 0x3ff));
		} else {
			p[o++] = (uint8_t)cp;
		}
		i += c;
	}
	return o;
}

/*
 * The reference's two replacements, in place: /(\\)?\\n/g keeps "\\n" and
 * turns "\n" (backslash, n) into a newline; then /\\\\n/g turns "\\n" into
 * "\n". Returns the new length.
 */
static size_t jsonp_unescape_newlines(uint8_t *p, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (p[i] == '\\' && n - i >= 3 && p[i + 1] == '\\' && p[i + 2] == 'n') {
			memmove(p + o, p + i, 3);
			o += 3;
			i += 3;
		} else if (p[i] == '\\' && n - i >= 2 && p[i + 1] == 'n') {
			p[o++] = '\n';
			i += 2;
		} else {
			p[o++] = p[i++];
		}
	}
	n = o;
	o = 0;
	for (size_t i = 0; i < n;) {
		if (p[i] == '\\' && n - i >= 3 && p[i + 1] == '\\' && p[i + 2] == 'n') {
			p[o++] = '\\';
			p[o++] = 'n';
			i += 3;
		} else {
			p[o++] = p[i++];
		}
	}
	return o;
}

int eio3_jsonp_body_decode(uint8_t *buf, size_t len, uint8_t **payload, size_t *payload_len)
{
	size_t end = len, pairs = 0, value = 0, value_end = 0, found = 0;

	for (size_t i = 0, c; i < len; i += c)
		if (!utf8_valid_char(buf + i, len - i, &c))
			return EIO3_JSONP_ERROR;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '&' && ++pairs == MAX_FORM_PAIRS) {
			end = i;
			break;
		}
	}
	for (size_t start = 0; start < end;) {
		const uint8_t *amp = memchr(buf + start, '&', end - start);
		size_t stop = amp ? (size_t)(amp - buf) : end;
		const uint8_t *eq = memchr(buf + start, '=', stop - start);
		size_t key_end = eq ? (size_t)(eq - buf) : stop;
		size_t key_len = key_end - start;

		if ((key_len == 1 && buf[start] == 'd') ||
		    (key_len == 3 && memcmp(buf + start, "%64", 3) == 0)) {
			found++;
			value = eq ? key_end + 1 : stop;
			value_end = stop;
		}
		start = stop + 1;
	}
	if (found != 1)
		return EIO3_JSONP_NONE;
	size_t n = form_value_decode(buf + value, value_end - value);
	n = jsonp_unescape_newlines(buf + value, n);
	*payload = buf + value;
	*payload_len = n;
	return EIO3_JSONP_PAYLOAD;
}
