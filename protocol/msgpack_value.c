/*
 * msgpack values <-> json_t, as notepack.io 2.2.0 writes and reads them
 * (see msgpack_value.h).
 *
 * The decoder is not msgpack-c's unpacker (msgpack_unpack_next(), Debian
 * 12's libmsgpack-dev 4.0.0), which, measured:
 * - stops at 32 levels of nesting (MSGPACK_EMBED_STACK_SIZE, compiled into
 *   the library), with MSGPACK_UNPACK_NOMEM_ERROR, where the JSON parser
 *   takes SIO_PKT_MAX_DEPTH (2048);
 * - reserves each array and map for its declared count before reading a
 *   single element: the 5-byte message dd 01 00 00 00 (an array of 2^24)
 *   raises VmPeak by 512 MiB, dd 10 00 00 00 by 8 GiB, df 04 00 00 00 (a
 *   map of 2^26) by 4 GiB, address space only until the pages are touched,
 *   but a failure with overcommit off or under a memory limit;
 * - builds a tree of msgpack_object that would then be copied into json_t.
 * The decoder below reads the bytes once, into json_t, following the
 * nesting with a stack of its own (no recursion), and refuses a count
 * larger than the bytes left before it makes anything. The encoder walks
 * the json_t tree with a stack of its own too, writing the forms straight
 * into the caller's buffer.
 */
#include "protocol/msgpack_value.h"

#include "protocol/utf8.h"

#include <inttypes.h>
#include <msgpack.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest integer map key taken with MSGPACK_VALUE_INT_KEYS:
 * Number.MAX_SAFE_INTEGER, whose decimal text JavaScript writes alike. */
#define INT_KEY_MAX INT64_C(9007199254740991)

static uint64_t read_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Takes n bytes at the read position; NULL when fewer are left. */
static const uint8_t *take(struct msgpack_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->len - r->pos < n)
		return NULL;
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

/* Reads a big-endian length of n bytes, then that many bytes into it. */
static int take_sized(struct msgpack_reader *r, unsigned n, struct msgpack_item *it)
{
	const uint8_t *h = take(r, n);

	if (!h)
		return MSGPACK_VALUE_ETRUNCATED;
	it->n = (uint32_t)read_be(h, n);
	it->p = take(r, it->n);
	return it->p ? 0 : MSGPACK_VALUE_ETRUNCATED;
}

/* The milliseconds of a Date made, as notepack 3 makes it, from a
 * timestamp's seconds and nanoseconds given as doubles computed in its
 * order: new Date(t) clips t (NaN beyond +-8.64e15, which is kept here as
 * a value beyond that range) and truncates it toward zero. */
static int64_t date_ms(double t)
{
	if (!(t >= -8.64e15 && t <= 8.64e15))
		return INT64_MAX;
	return (int64_t)t;
}

/* ext 8/16/32 (length of n bytes, type, bytes): notepack's ArrayBuffer
 * when the type is 0, which is binary; with MSGPACK_VALUE_TIMESTAMP an
 * ext 8 of 12 bytes and type -1 is a timestamp 96 (nanoseconds uint32,
 * seconds int64); other types are refused. */
static int take_ext(struct msgpack_reader *r, unsigned n, struct msgpack_item *it)
{
	const uint8_t *h = take(r, n + 1), *p;

	if (!h)
		return MSGPACK_VALUE_ETRUNCATED;
	it->n = (uint32_t)read_be(h, n);
	if (h[n] == 0xff && n == 1 && it->n == 12 && (r->flags & MSGPACK_VALUE_TIMESTAMP)) {
		double ns, sec;

		if (!(p = take(r, 12)))
			return MSGPACK_VALUE_ETRUNCATED;
		ns = (double)read_be(p, 4);
		sec = (double)(int32_t)(uint32_t)read_be(p + 4, 4) * 4294967296.0 +
		      (double)read_be(p + 8, 4);
		it->kind = MSGPACK_DATE;
		it->i = date_ms(sec * 1e3 + ns / 1e6);
		return 0;
	}
	if (h[n] != 0)
		return MSGPACK_VALUE_EEXT;
	it->kind = MSGPACK_BIN;
	it->p = take(r, it->n);
	return it->p ? 0 : MSGPACK_VALUE_ETRUNCATED;
}

/* An array or map head. Every element takes at least a byte, so a count
 * beyond the bytes left cannot be right: it is refused here, before
 * anything is made for it. */
static int container(struct msgpack_reader *r, enum msgpack_kind kind, uint64_t count,
                     struct msgpack_item *it)
{
	size_t left = r->len - r->pos;

	it->kind = kind;
	it->n = (uint32_t)count;
	if (kind == MSGPACK_ARRAY ? count > left : count > left / 2)
		return MSGPACK_VALUE_ETRUNCATED;
	return 0;
}

int msgpack_reader_item(struct msgpack_reader *r, struct msgpack_item *it)
{
	const uint8_t *h = take(r, 1);
	unsigned n;
	uint8_t c;

	memset(it, 0, sizeof(*it));
	if (!h)
		return MSGPACK_VALUE_ETRUNCATED;
	c = h[0];
	if (c <= 0x7f || c >= 0xe0) { /* positive and negative fixint */
		it->kind = MSGPACK_INT;
		it->i = c <= 0x7f ? c : (int64_t)c - 256;
		return 0;
	}
	if (c <= 0x8f)
		return container(r, MSGPACK_MAP, c & 0x0f, it);
	if (c <= 0x9f)
		return container(r, MSGPACK_ARRAY, c & 0x0f, it);
	if (c <= 0xbf) {
		it->kind = MSGPACK_STR;
		it->n = c & 0x1f;
		it->p = take(r, it->n);
		return it->p ? 0 : MSGPACK_VALUE_ETRUNCATED;
	}
	switch (c) {
	case 0xc0:
		it->kind = MSGPACK_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		it->kind = MSGPACK_BOOL;
		it->b = c == 0xc3;
		return 0;
	case 0xc4: /* bin 8, 16, 32 */
	case 0xc5:
	case 0xc6:
		it->kind = MSGPACK_BIN;
		return take_sized(r, 1u << (c - 0xc4), it);
	case 0xc7: /* ext 8, 16, 32 */
	case 0xc8:
	case 0xc9:
		return take_ext(r, 1u << (c - 0xc7), it);
	case 0xca: {
		float f;
		uint32_t bits;

		if (!(h = take(r, 4)))
			return MSGPACK_VALUE_ETRUNCATED;
		bits = (uint32_t)read_be(h, 4);
		memcpy(&f, &bits, sizeof(f));
		it->kind = MSGPACK_FLOAT;
		it->f = f;
		return 0;
	}
	case 0xcb: {
		uint64_t bits;

		if (!(h = take(r, 8)))
			return MSGPACK_VALUE_ETRUNCATED;
		bits = read_be(h, 8);
		memcpy(&it->f, &bits, sizeof(it->f));
		it->kind = MSGPACK_FLOAT;
		return 0;
	}
	case 0xcc: /* uint 8, 16, 32, 64 */
	case 0xcd:
	case 0xce:
	case 0xcf:
		n = 1u << (c - 0xcc);
		if (!(h = take(r, n)))
			return MSGPACK_VALUE_ETRUNCATED;
		it->u = read_be(h, n);
		it->kind = it->u > INT64_MAX ? MSGPACK_UINT : MSGPACK_INT;
		it->i = (int64_t)it->u;
		return 0;
	case 0xd0: /* int 8, 16, 32, 64 */
	case 0xd1:
	case 0xd2:
	case 0xd3:
		n = 1u << (c - 0xd0);
		if (!(h = take(r, n)))
			return MSGPACK_VALUE_ETRUNCATED;
		it->kind = MSGPACK_INT;
		switch (n) {
		case 1:
			it->i = (int8_t)h[0];
			break;
		case 2:
			it->i = (int16_t)read_be(h, 2);
			break;
		case 4:
			it->i = (int32_t)read_be(h, 4);
			break;
		default:
			it->i = (int64_t)read_be(h, 8);
		}
		return 0;
	case 0xd4: /* fixext 1: type 0 is undefined (its byte ignored, as by notepack) */
		if (!(h = take(r, 2)))
			return MSGPACK_VALUE_ETRUNCATED;
		if (h[0] != 0)
			return MSGPACK_VALUE_EEXT;
		it->kind = MSGPACK_UNDEFINED;
		return 0;
	case 0xd6: /* fixext 4: type -1 is a timestamp 32 (seconds uint32) */
		if (!(r->flags & MSGPACK_VALUE_TIMESTAMP))
			return MSGPACK_VALUE_EEXT;
		if (!(h = take(r, 5)))
			return MSGPACK_VALUE_ETRUNCATED;
		if (h[0] != 0xff)
			return MSGPACK_VALUE_EEXT;
		it->kind = MSGPACK_DATE;
		it->i = (int64_t)read_be(h + 1, 4) * 1000;
		return 0;
	case 0xd7: /* fixext 8: type 0 is notepack 2's Date, a big-endian int64
	            * of ms; type -1 a timestamp 64 (30 bits of nanoseconds, 34
	            * of seconds) */
		if (!(h = take(r, 9)))
			return MSGPACK_VALUE_ETRUNCATED;
		it->kind = MSGPACK_DATE;
		if (h[0] == 0) {
			it->i = (int64_t)read_be(h + 1, 8);
			return 0;
		}
		if (h[0] == 0xff && (r->flags & MSGPACK_VALUE_TIMESTAMP)) {
			uint64_t hi = read_be(h + 1, 4), lo = read_be(h + 5, 4);

			it->i = date_ms((double)((hi & 3) << 32 | lo) * 1e3 +
			                (double)(hi >> 2) / 1e6);
			return 0;
		}
		return MSGPACK_VALUE_EEXT;
	case 0xd5: /* fixext 2, 16: never written by notepack */
	case 0xd8:
		return MSGPACK_VALUE_EEXT;
	case 0xd9: /* str 8, 16, 32 */
	case 0xda:
	case 0xdb:
		it->kind = MSGPACK_STR;
		return take_sized(r, 1u << (c - 0xd9), it);
	case 0xdc: /* array 16, 32; map 16, 32 */
	case 0xdd:
	case 0xde:
	case 0xdf:
		n = c & 1 ? 4 : 2;
		if (!(h = take(r, n)))
			return MSGPACK_VALUE_ETRUNCATED;
		return container(r, c <= 0xdd ? MSGPACK_ARRAY : MSGPACK_MAP, read_be(h, n), it);
	}
	return MSGPACK_VALUE_EFORMAT; /* 0xc1 */
}

/* A Date as JSON.stringify() writes it: its toISOString() text, or null
 * outside Date's range (+-8.64e15 ms), where JavaScript has an invalid
 * Date. Returns a new reference, NULL when out of memory. */
static json_t *date_new(int64_t ms)
{
	const int64_t day_ms = 86400000;
	int64_t days, rem, era, doe, yoe, doy, mp, y, m, d;
	char s[40];
	int n;

	if (ms < -8640000000000000 || ms > 8640000000000000)
		return json_null();
	days = ms / day_ms;
	rem = ms % day_ms;
	if (rem < 0) {
		rem += day_ms;
		days--;
	}
	/* civil_from_days() of H. Hinnant's "chrono-Compatible Low-Level Date
	 * Algorithms": the proleptic Gregorian date of a day count. */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	/* years outside 0..9999 have a sign and six digits */
	if (y >= 0 && y <= 9999)
		n = snprintf(s, sizeof(s), "%04d", (int)y);
	else
		n = snprintf(s, sizeof(s), "%c%06d", y < 0 ? '-' : '+', (int)(y < 0 ? -y : y));
	snprintf(s + n, sizeof(s) - (size_t)n, "-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)m, (int)d,
	         (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
	         (int)(rem % 1000));
	return json_string(s);
}

/* A container msgpack_reader_value() is filling. */
struct msgpack_frame {
	json_t *node;  /* borrowed (the tree holds it); NULL when only checking */
	uint32_t left; /* values still to read (a map's: values, keys aside) */
	bool is_map;
	bool have_key; /* a map's key was read; its value comes next */
};

void msgpack_reader_init(struct msgpack_reader *r, const uint8_t *buf, size_t len,
                         uint32_t max_depth, uint32_t max_bufs, unsigned flags)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->max_depth = max_depth;
	r->max_bufs = max_bufs;
	r->flags = flags;
}

void msgpack_bufs_free(struct sio_pkt_buf *bufs, uint32_t n)
{
	uint32_t i;

	if (!bufs)
		return;
	for (i = 0; i < n; i++)
		free(bufs[i].data);
	free(bufs);
}

void msgpack_reader_finish(struct msgpack_reader *r)
{
	msgpack_bufs_free(r->bufs, r->nbufs);
	free(r->stack);
	free(r->key);
	r->bufs = NULL;
	r->nbufs = r->bufs_cap = 0;
	r->stack = NULL;
	r->depth = r->stack_cap = 0;
	r->key = NULL;
	r->key_cap = 0;
}

static int push(struct msgpack_reader *r, json_t *node, const struct msgpack_item *it)
{
	if (r->depth == r->stack_cap) {
		size_t cap = r->stack_cap ? r->stack_cap * 2 : 16;
		struct msgpack_frame *s = realloc(r->stack, cap * sizeof(*s));

		if (!s)
			return SIO_PKT_ENOMEM;
		r->stack = s;
		r->stack_cap = cap;
	}
	r->stack[r->depth++] = (struct msgpack_frame){
	        .node = node,
	        .left = it->n,
	        .is_map = it->kind == MSGPACK_MAP,
	};
	return 0;
}

/* Copies a binary's bytes into the next buffer; *num is its index. */
static int add_buf(struct msgpack_reader *r, const struct msgpack_item *it, uint32_t *num)
{
	struct sio_pkt_buf *b;

	if (r->nbufs >= r->max_bufs)
		return SIO_PKT_EATTACH;
	if (r->nbufs == r->bufs_cap) {
		uint32_t cap = r->bufs_cap < 4 ? 4 : r->bufs_cap;

		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
		b = realloc(r->bufs, (size_t)cap * sizeof(*b));
		if (!b)
			return SIO_PKT_ENOMEM;
		r->bufs = b;
		r->bufs_cap = cap;
	}
	b = &r->bufs[r->nbufs];
	b->data = malloc(it->n > 0 ? it->n : 1);
	if (!b->data)
		return SIO_PKT_ENOMEM;
	if (it->n > 0)
		memcpy(b->data, it->p, it->n);
	b->len = it->n;
	*num = r->nbufs++;
	return 0;
}

/* Room for a key of n bytes and its NUL in r->key. */
static int key_room(struct msgpack_reader *r, size_t n)
{
	if (n >= r->key_cap) {
		size_t cap = n + 1 > 64 ? n + 1 : 64;
		char *k = realloc(r->key, cap);

		if (!k)
			return SIO_PKT_ENOMEM;
		r->key = k;
		r->key_cap = cap;
	}
	return 0;
}

/* Checks a map key; when building, copies it to r->key and refuses it if
 * the map already has it. */
static int read_key(struct msgpack_reader *r, struct msgpack_frame *top,
                    const struct msgpack_item *it)
{
	int e;

	if (it->kind == MSGPACK_INT && (r->flags & MSGPACK_VALUE_INT_KEYS)) {
		if (it->i < -INT_KEY_MAX || it->i > INT_KEY_MAX)
			return MSGPACK_VALUE_EKEY;
		if (top->node) {
			if ((e = key_room(r, 24)) < 0)
				return e;
			snprintf(r->key, r->key_cap, "%" PRId64, it->i);
		}
	} else {
		if (it->kind != MSGPACK_STR || memchr(it->p, '\0', it->n))
			return MSGPACK_VALUE_EKEY;
		if (!utf8_valid(it->p, it->n))
			return MSGPACK_VALUE_EUTF8;
		if (top->node) {
			if ((e = key_room(r, it->n)) < 0)
				return e;
			memcpy(r->key, it->p, it->n);
			r->key[it->n] = '\0';
		}
	}
	if (top->node && json_object_get(top->node, r->key))
		return MSGPACK_VALUE_EKEY;
	top->have_key = true;
	return 0;
}

/* The json_t for a value's head: a scalar, a string, a placeholder for a
 * binary, an empty array or map (filled later). *out is a new reference,
 * or NULL for undefined. */
static int value_new(struct msgpack_reader *r, const struct msgpack_item *it, json_t **out)
{
	uint32_t num;
	json_t *v = NULL;
	int e;

	*out = NULL;
	switch (it->kind) {
	case MSGPACK_NIL:
		v = json_null();
		break;
	case MSGPACK_BOOL:
		v = json_boolean(it->b);
		break;
	case MSGPACK_INT:
		v = json_integer((json_int_t)it->i);
		break;
	case MSGPACK_UINT:
		v = json_real((double)it->u);
		break;
	case MSGPACK_FLOAT:
		v = isfinite(it->f) ? json_real(it->f) : json_null();
		break;
	case MSGPACK_STR:
		v = json_stringn_nocheck((const char *)it->p, it->n); /* UTF-8 checked */
		break;
	case MSGPACK_BIN:
		e = add_buf(r, it, &num);
		if (e < 0)
			return e;
		v = sio_pkt_placeholder_new(num);
		break;
	case MSGPACK_ARRAY:
		v = json_array();
		break;
	case MSGPACK_MAP:
		v = json_object();
		break;
	case MSGPACK_DATE:
		v = date_new(it->i);
		break;
	case MSGPACK_UNDEFINED:
		return 0;
	}
	if (!v)
		return SIO_PKT_ENOMEM;
	*out = v;
	return 0;
}

/* Puts v (stolen; NULL for undefined) into the container top: undefined
 * is null in an array, no member in a map, as JSON.stringify() has it. */
static int attach(struct msgpack_reader *r, struct msgpack_frame *top, json_t *v)
{
	if (!top->is_map)
		return json_array_append_new(top->node, v ? v : json_null()) == 0 ? 0
		                                                                  : SIO_PKT_ENOMEM;
	if (!v)
		return 0;
	if (json_object_set_new_nocheck(top->node, r->key, v) < 0)
		return SIO_PKT_ENOMEM;
	if (json_is_true(v) && strcmp(r->key, "_placeholder") == 0)
		r->placeholder_map = true;
	return 0;
}

int msgpack_reader_value(struct msgpack_reader *r, json_t **out, bool *undefined)
{
	json_t *root = NULL;
	int e;

	if (out)
		*out = NULL;
	r->depth = 0;
	for (;;) {
		struct msgpack_frame *top = r->depth > 0 ? &r->stack[r->depth - 1] : NULL;
		json_t *v = NULL;
		struct msgpack_item it;

		e = msgpack_reader_item(r, &it);
		if (e < 0)
			goto fail;
		if (top && top->is_map && !top->have_key) {
			e = read_key(r, top, &it);
			if (e < 0)
				goto fail;
			continue;
		}
		if (r->depth >= r->max_depth) {
			e = MSGPACK_VALUE_EDEPTH;
			goto fail;
		}
		if (it.kind == MSGPACK_STR && !utf8_valid(it.p, it.n)) {
			e = MSGPACK_VALUE_EUTF8;
			goto fail;
		}
		if (out) {
			e = value_new(r, &it, &v);
			if (e < 0)
				goto fail;
			if (!top) {
				root = v;
				*undefined = it.kind == MSGPACK_UNDEFINED;
			} else if ((e = attach(r, top, v)) < 0) {
				goto fail;
			}
		}
		if (top) {
			top->left--;
			top->have_key = false;
		}
		if ((it.kind == MSGPACK_ARRAY || it.kind == MSGPACK_MAP) && it.n > 0 &&
		    (e = push(r, v, &it)) < 0)
			goto fail;
		while (r->depth > 0 && r->stack[r->depth - 1].left == 0)
			r->depth--;
		if (r->depth == 0)
			break;
	}
	if (out)
		*out = root;
	return 0;

fail:
	json_decref(root);
	return e;
}

void msgpack_value_finish(struct msgpack_value *v)
{
	if (!v)
		return;
	json_decref(v->json);
	msgpack_bufs_free(v->bufs, v->nbufs);
	memset(v, 0, sizeof(*v));
}

int msgpack_value_decode(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t max_bufs,
                         unsigned flags, struct msgpack_value *out)
{
	struct msgpack_reader r;
	bool undefined = false;
	json_t *json = NULL;
	int e;

	memset(out, 0, sizeof(*out));
	msgpack_reader_init(&r, buf, len, max_depth, max_bufs, flags);
	e = msgpack_reader_value(&r, &json, &undefined);
	if (e == 0 && r.pos != len)
		e = MSGPACK_VALUE_ETRAILING;
	if (e == 0 && r.nbufs > 0 && r.placeholder_map)
		e = SIO_PKT_EPLACEHOLDER;
	if (e == 0 && !json && !(json = json_null()))
		e = SIO_PKT_ENOMEM;
	if (e < 0) {
		json_decref(json);
		msgpack_reader_finish(&r);
		return e;
	}
	out->json = json;
	out->bufs = r.bufs;
	out->nbufs = r.nbufs;
	r.bufs = NULL;
	r.nbufs = 0;
	msgpack_reader_finish(&r);
	return 0;
}

/* Encoding. */

/*
 * The bytes are written by msgpack-c's packer (libmsgpack-dev), which
 * takes the smallest form of every integer, string, bin, array and map
 * head as notepack does; its write callback appends to a struct buf.
 * msgpack-c takes sizes as 32 bits, so larger ones are refused here.
 */
static int buf_write(void *data, const char *p, size_t n)
{
	return buf_append(data, p, n) < 0 ? -1 : 0;
}

/* Runs one packer call on out: 0 or SIO_PKT_ENOMEM. */
#define PACK(out, call, ...)                                                   \
	do {                                                                   \
		msgpack_packer pk_;                                            \
		msgpack_packer_init(&pk_, (out), buf_write);                   \
		return call(&pk_, __VA_ARGS__) < 0 ? SIO_PKT_ENOMEM : 0;       \
	} while (0)

int msgpack_write_array(struct buf *out, size_t n)
{
	if (n > UINT32_MAX)
		return MSGPACK_VALUE_ESIZE;
	PACK(out, msgpack_pack_array, n);
}

int msgpack_write_map(struct buf *out, size_t n)
{
	if (n > UINT32_MAX)
		return MSGPACK_VALUE_ESIZE;
	PACK(out, msgpack_pack_map, n);
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	int e = msgpack_pack_str(pk, n);

	return e < 0 ? e : msgpack_pack_str_body(pk, s, n);
}

int msgpack_write_str(struct buf *out, const char *s, size_t n)
{
	if (n > UINT32_MAX)
		return MSGPACK_VALUE_ESIZE;
	PACK(out, pack_str, s, n);
}

static int pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n)
{
	int e = msgpack_pack_bin(pk, n);

	return e < 0 ? e : msgpack_pack_bin_body(pk, p, n);
}

static int write_bin(struct buf *out, const uint8_t *p, size_t n)
{
	if (n > UINT32_MAX)
		return MSGPACK_VALUE_ESIZE;
	PACK(out, pack_bin, p, n);
}

int msgpack_write_int(struct buf *out, int64_t v)
{
	PACK(out, msgpack_pack_int64, v);
}

static int write_double(struct buf *out, double f)
{
	PACK(out, msgpack_pack_double, f);
}

static int pack_const(msgpack_packer *pk, int which)
{
	if (which == 't')
		return msgpack_pack_true(pk);
	if (which == 'f')
		return msgpack_pack_false(pk);
	return msgpack_pack_nil(pk);
}

static int write_const(struct buf *out, int which)
{
	PACK(out, pack_const, which);
}

/* A container msgpack_value_encode() is writing the members of. */
struct enc_frame {
	json_t *node; /* borrowed; jansson's iterators take no const */
	size_t index; /* an array's next element */
	void *iter;   /* an object's next member, NULL at the end */
};

struct encoder {
	struct buf *out;
	const struct sio_pkt_buf *bufs;
	uint32_t nbufs;
	struct enc_frame *stack; /* the containers open, outermost first */
	size_t depth;            /* frames in use */
	size_t cap;
	struct enc_frame local[16]; /* the stack until it outgrows this */
};

static int enc_push(struct encoder *e, json_t *node)
{
	if (e->depth == e->cap) {
		size_t cap = e->cap * 2;
		struct enc_frame *s;

		if (e->stack == e->local) {
			s = malloc(cap * sizeof(*s));
			if (s)
				memcpy(s, e->local, sizeof(e->local));
		} else {
			s = realloc(e->stack, cap * sizeof(*s));
		}
		if (!s)
			return SIO_PKT_ENOMEM;
		e->stack = s;
		e->cap = cap;
	}
	e->stack[e->depth++] = (struct enc_frame){
	        .node = node,
	        .iter = json_is_object(node) ? json_object_iter(node) : NULL,
	};
	return 0;
}

/* Writes v whole if it is a scalar, a placeholder or an empty container,
 * else its head, and opens it on the stack. */
static int enc_value(struct encoder *e, const json_t *v)
{
	int r;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (e->nbufs > 0 && json_is_true(json_object_get(v, "_placeholder"))) {
			int64_t k = sio_pkt_placeholder_num(v, e->nbufs);

			if (k < 0)
				return SIO_PKT_EPLACEHOLDER;
			return write_bin(e->out, e->bufs[k].data, e->bufs[k].len);
		}
		if ((r = msgpack_write_map(e->out, json_object_size(v))) < 0)
			return r;
		return json_object_size(v) > 0 ? enc_push(e, (json_t *)v) : 0;
	}
	case JSON_ARRAY:
		if ((r = msgpack_write_array(e->out, json_array_size(v))) < 0)
			return r;
		return json_array_size(v) > 0 ? enc_push(e, (json_t *)v) : 0;
	case JSON_STRING:
		return msgpack_write_str(e->out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return msgpack_write_int(e->out, json_integer_value(v));
	case JSON_REAL:
		return write_double(e->out, json_real_value(v));
	case JSON_TRUE:
		return write_const(e->out, 't');
	case JSON_FALSE:
		return write_const(e->out, 'f');
	case JSON_NULL:
		return write_const(e->out, 'n');
	}
	return 0;
}

/* Writes the tree under v, value by value, with e->stack for the
 * containers open. */
static int enc_tree(struct encoder *e, const json_t *v, uint32_t max_depth)
{
	int r;

	for (;;) {
		if (e->depth >= max_depth)
			return MSGPACK_VALUE_EDEPTH;
		if ((r = enc_value(e, v)) < 0)
			return r;
		/* the next value: the next member of the innermost open container */
		for (v = NULL; !v && e->depth > 0;) {
			struct enc_frame *top = &e->stack[e->depth - 1];

			if (json_is_array(top->node)) {
				if (top->index < json_array_size(top->node))
					v = json_array_get(top->node, top->index++);
				else
					e->depth--;
			} else if (top->iter) {
				const char *k = json_object_iter_key(top->iter);

				if ((r = msgpack_write_str(e->out, k, strlen(k))) < 0)
					return r;
				v = json_object_iter_value(top->iter);
				top->iter = json_object_iter_next(top->node, top->iter);
			} else {
				e->depth--;
			}
		}
		if (!v)
			return 0;
	}
}

int msgpack_value_encode(const json_t *json, const struct sio_pkt_buf *bufs, uint32_t nbufs,
                         uint32_t max_depth, struct buf *out)
{
	struct encoder e = {.out = out, .bufs = bufs, .nbufs = nbufs};
	size_t start = out->len;
	int r;

	if (nbufs > 0 && !bufs)
		return SIO_PKT_EATTACH;
	e.stack = e.local;
	e.cap = sizeof(e.local) / sizeof(e.local[0]);
	r = enc_tree(&e, json, max_depth);
	if (e.stack != e.local)
		free(e.stack);
	if (r < 0)
		out->len = start;
	return r;
}

const char *msgpack_value_strerror(int err)
{
	switch (err) {
		MSGPACK_VALUE_ERROR_MAP(SIO_CODEC_ERROR_CASE)
	}
	return sio_pkt_strerror(err);
}
