/*
 * Socket.IO packets in the socket.io-msgpack-parser 3.x format (see
 * sio_msgpack.h), checked against socket.io-msgpack-parser 3.0.2 and the
 * notepack.io 2.2.0 it uses.
 *
 * The encoder writes with msgpack-c's packer (msgpack/pack.h), whose forms
 * are notepack's: the smallest integer form (positive values unsigned),
 * fixstr/str8/str16/str32, bin8/16/32, fixarray/array16/array32 and
 * fixmap/map16/map32 by size, float64.
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
 * The decoder below reads the message once, into json_t, following the
 * nesting with a stack of its own (no recursion), and refuses a count
 * larger than the bytes left before it makes anything.
 *
 * Where the reference accepts more (the header has the details), sioc
 * refuses: map keys that are not strings or are repeated; strings that
 * are not UTF-8; namespaces not "/..." or holding ','; ack ids below 0 or
 * above 2^53-1; what sio_pkt_payload_valid() refuses (an empty event
 * array, reserved or non-string event names, bin among them); binary in
 * CONNECT and CONNECT_ERROR, and maps like a placeholder beside binary
 * (where sio_pkt could not tell them from the placeholders); ext types
 * notepack does not write, even in ignored keys; nesting past 2048.
 */
#include "protocol/sio_msgpack.h"

#include "protocol/utf8.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/pack.h>

/* The kinds of msgpack value read_item() tells apart. */
enum item_kind {
	ITEM_NIL,
	ITEM_BOOL,
	ITEM_INT,  /* any integer form, when the value fits int64 */
	ITEM_UINT, /* uint 64 above INT64_MAX */
	ITEM_FLOAT,
	ITEM_STR,
	ITEM_BIN, /* bin, or notepack's ArrayBuffer (ext 8/16/32, type 0) */
	ITEM_ARRAY,
	ITEM_MAP,
	ITEM_UNDEFINED, /* notepack's undefined (fixext 1, type 0) */
	ITEM_DATE,      /* notepack's Date (fixext 8, type 0) */
};

/* One msgpack value's head: a scalar whole, a string or bin with its
 * bytes, an array or map with its count (its elements follow). */
struct item {
	enum item_kind kind;
	bool b;
	int64_t i;        /* ITEM_INT; ITEM_DATE: milliseconds since 1970 */
	uint64_t u;       /* ITEM_UINT */
	double f;         /* ITEM_FLOAT */
	const uint8_t *p; /* ITEM_STR, ITEM_BIN: the bytes, in the message */
	uint32_t n;       /* ITEM_STR, ITEM_BIN: length; ITEM_ARRAY, ITEM_MAP: count */
};

struct reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

static uint64_t read_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Takes n bytes at the read position; NULL when fewer are left. */
static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *p;

	if (r->len - r->pos < n)
		return NULL;
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

/* Reads a big-endian length of n bytes, then that many bytes into it. */
static int take_sized(struct reader *r, unsigned n, struct item *it)
{
	const uint8_t *h = take(r, n);

	if (!h)
		return SIO_MSGPACK_ETRUNCATED;
	it->n = (uint32_t)read_be(h, n);
	it->p = take(r, it->n);
	return it->p ? 0 : SIO_MSGPACK_ETRUNCATED;
}

/* ext 8/16/32 (length of n bytes, type, bytes): notepack's ArrayBuffer
 * when the type is 0, which is binary; other types are refused. */
static int take_ext(struct reader *r, unsigned n, struct item *it)
{
	const uint8_t *h = take(r, n + 1);

	if (!h)
		return SIO_MSGPACK_ETRUNCATED;
	if (h[n] != 0)
		return SIO_MSGPACK_EEXT;
	it->kind = ITEM_BIN;
	it->n = (uint32_t)read_be(h, n);
	it->p = take(r, it->n);
	return it->p ? 0 : SIO_MSGPACK_ETRUNCATED;
}

/* An array or map head. Every element takes at least a byte, so a count
 * beyond the bytes left cannot be right: it is refused here, before
 * anything is made for it. */
static int container(struct reader *r, enum item_kind kind, uint64_t count, struct item *it)
{
	size_t left = r->len - r->pos;

	it->kind = kind;
	it->n = (uint32_t)count;
	if (kind == ITEM_ARRAY ? count > left : count > left / 2)
		return SIO_MSGPACK_ETRUNCATED;
	return 0;
}

/* Reads the head of the value at the read position (see struct item). */
static int read_item(struct reader *r, struct item *it)
{
	const uint8_t *h = take(r, 1);
	unsigned n;
	uint8_t c;

	memset(it, 0, sizeof(*it));
	if (!h)
		return SIO_MSGPACK_ETRUNCATED;
	c = h[0];
	if (c <= 0x7f || c >= 0xe0) { /* positive and negative fixint */
		it->kind = ITEM_INT;
		it->i = c <= 0x7f ? c : (int64_t)c - 256;
		return 0;
	}
	if (c <= 0x8f)
		return container(r, ITEM_MAP, c & 0x0f, it);
	if (c <= 0x9f)
		return container(r, ITEM_ARRAY, c & 0x0f, it);
	if (c <= 0xbf) {
		it->kind = ITEM_STR;
		it->n = c & 0x1f;
		it->p = take(r, it->n);
		return it->p ? 0 : SIO_MSGPACK_ETRUNCATED;
	}
	switch (c) {
	case 0xc0:
		it->kind = ITEM_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		it->kind = ITEM_BOOL;
		it->b = c == 0xc3;
		return 0;
	case 0xc4: /* bin 8, 16, 32 */
	case 0xc5:
	case 0xc6:
		it->kind = ITEM_BIN;
		return take_sized(r, 1u << (c - 0xc4), it);
	case 0xc7: /* ext 8, 16, 32 */
	case 0xc8:
	case 0xc9:
		return take_ext(r, 1u << (c - 0xc7), it);
	case 0xca: {
		float f;
		uint32_t bits;

		if (!(h = take(r, 4)))
			return SIO_MSGPACK_ETRUNCATED;
		bits = (uint32_t)read_be(h, 4);
		memcpy(&f, &bits, sizeof(f));
		it->kind = ITEM_FLOAT;
		it->f = f;
		return 0;
	}
	case 0xcb: {
		uint64_t bits;

		if (!(h = take(r, 8)))
			return SIO_MSGPACK_ETRUNCATED;
		bits = read_be(h, 8);
		memcpy(&it->f, &bits, sizeof(it->f));
		it->kind = ITEM_FLOAT;
		return 0;
	}
	case 0xcc: /* uint 8, 16, 32, 64 */
	case 0xcd:
	case 0xce:
	case 0xcf:
		n = 1u << (c - 0xcc);
		if (!(h = take(r, n)))
			return SIO_MSGPACK_ETRUNCATED;
		it->u = read_be(h, n);
		it->kind = it->u > INT64_MAX ? ITEM_UINT : ITEM_INT;
		it->i = (int64_t)it->u;
		return 0;
	case 0xd0: /* int 8, 16, 32, 64 */
	case 0xd1:
	case 0xd2:
	case 0xd3:
		n = 1u << (c - 0xd0);
		if (!(h = take(r, n)))
			return SIO_MSGPACK_ETRUNCATED;
		it->kind = ITEM_INT;
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
			return SIO_MSGPACK_ETRUNCATED;
		if (h[0] != 0)
			return SIO_MSGPACK_EEXT;
		it->kind = ITEM_UNDEFINED;
		return 0;
	case 0xd7: /* fixext 8: type 0 is a Date, a big-endian int64 of ms */
		if (!(h = take(r, 9)))
			return SIO_MSGPACK_ETRUNCATED;
		if (h[0] != 0)
			return SIO_MSGPACK_EEXT;
		it->kind = ITEM_DATE;
		it->i = (int64_t)read_be(h + 1, 8);
		return 0;
	case 0xd5: /* fixext 2, 4, 16: never written by notepack */
	case 0xd6:
	case 0xd8:
		return SIO_MSGPACK_EEXT;
	case 0xd9: /* str 8, 16, 32 */
	case 0xda:
	case 0xdb:
		it->kind = ITEM_STR;
		return take_sized(r, 1u << (c - 0xd9), it);
	case 0xdc: /* array 16, 32; map 16, 32 */
	case 0xdd:
	case 0xde:
	case 0xdf:
		n = c & 1 ? 4 : 2;
		if (!(h = take(r, n)))
			return SIO_MSGPACK_ETRUNCATED;
		return container(r, c <= 0xdd ? ITEM_ARRAY : ITEM_MAP, read_be(h, n), it);
	}
	return SIO_MSGPACK_EFORMAT; /* 0xc1 */
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
	struct utf8_state st = {0};

	return utf8_feed(&st, p, n) && utf8_complete(&st);
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

/* A container parse_value() is filling. */
struct frame {
	json_t *node;  /* borrowed (the tree holds it); NULL when only checking */
	uint32_t left; /* values still to read (a map's: values, keys aside) */
	bool is_map;
	bool have_key; /* a map's key was read; its value comes next */
};

struct decoder {
	struct reader r;
	struct frame *stack; /* the containers open, outermost first */
	size_t depth;        /* frames in use */
	size_t stack_cap;
	char *key; /* the last map key read, NUL-terminated for jansson */
	size_t key_cap;
	struct sio_pkt_buf *bufs; /* the bytes of the bin values of data */
	uint32_t nbufs;
	uint32_t bufs_cap;
	uint32_t max_bufs;
	bool placeholder_map; /* data has a map whose "_placeholder" is true */
};

static void decoder_finish(struct decoder *d)
{
	uint32_t i;

	for (i = 0; i < d->nbufs; i++)
		free(d->bufs[i].data);
	free(d->bufs);
	free(d->stack);
	free(d->key);
}

static int push(struct decoder *d, json_t *node, const struct item *it)
{
	if (d->depth == d->stack_cap) {
		size_t cap = d->stack_cap ? d->stack_cap * 2 : 16;
		struct frame *s = realloc(d->stack, cap * sizeof(*s));

		if (!s)
			return SIO_PKT_ENOMEM;
		d->stack = s;
		d->stack_cap = cap;
	}
	d->stack[d->depth++] = (struct frame){
	        .node = node,
	        .left = it->n,
	        .is_map = it->kind == ITEM_MAP,
	};
	return 0;
}

/* Copies a bin's bytes into the next buffer; *num is its index. */
static int add_buf(struct decoder *d, const struct item *it, uint32_t *num)
{
	struct sio_pkt_buf *b;

	if (d->nbufs >= d->max_bufs)
		return SIO_PKT_EATTACH;
	if (d->nbufs == d->bufs_cap) {
		uint32_t cap = d->bufs_cap < 4 ? 4 : d->bufs_cap;

		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
		b = realloc(d->bufs, (size_t)cap * sizeof(*b));
		if (!b)
			return SIO_PKT_ENOMEM;
		d->bufs = b;
		d->bufs_cap = cap;
	}
	b = &d->bufs[d->nbufs];
	b->data = malloc(it->n > 0 ? it->n : 1);
	if (!b->data)
		return SIO_PKT_ENOMEM;
	if (it->n > 0)
		memcpy(b->data, it->p, it->n);
	b->len = it->n;
	*num = d->nbufs++;
	return 0;
}

/* Checks a map key; when building, copies it to d->key and refuses it if
 * the map already has it. */
static int read_key(struct decoder *d, struct frame *top, const struct item *it)
{
	if (it->kind != ITEM_STR || memchr(it->p, '\0', it->n))
		return SIO_MSGPACK_EKEY;
	if (!utf8_valid(it->p, it->n))
		return SIO_MSGPACK_EUTF8;
	if (top->node) {
		if (it->n >= d->key_cap) {
			size_t cap = (size_t)it->n + 1 > 64 ? (size_t)it->n + 1 : 64;
			char *k = realloc(d->key, cap);

			if (!k)
				return SIO_PKT_ENOMEM;
			d->key = k;
			d->key_cap = cap;
		}
		memcpy(d->key, it->p, it->n);
		d->key[it->n] = '\0';
		if (json_object_get(top->node, d->key))
			return SIO_MSGPACK_EKEY;
	}
	top->have_key = true;
	return 0;
}

/* The json_t for a value's head: a scalar, a string, a placeholder for a
 * bin, an empty array or map (filled later). *out is a new reference, or
 * NULL for undefined. */
static int value_new(struct decoder *d, const struct item *it, json_t **out)
{
	uint32_t num;
	json_t *v = NULL;
	int r;

	*out = NULL;
	switch (it->kind) {
	case ITEM_NIL:
		v = json_null();
		break;
	case ITEM_BOOL:
		v = json_boolean(it->b);
		break;
	case ITEM_INT:
		v = json_integer((json_int_t)it->i);
		break;
	case ITEM_UINT:
		v = json_real((double)it->u);
		break;
	case ITEM_FLOAT:
		v = isfinite(it->f) ? json_real(it->f) : json_null();
		break;
	case ITEM_STR:
		v = json_stringn_nocheck((const char *)it->p, it->n); /* UTF-8 checked */
		break;
	case ITEM_BIN:
		r = add_buf(d, it, &num);
		if (r < 0)
			return r;
		v = sio_pkt_placeholder_new(num);
		break;
	case ITEM_ARRAY:
		v = json_array();
		break;
	case ITEM_MAP:
		v = json_object();
		break;
	case ITEM_DATE:
		v = date_new(it->i);
		break;
	case ITEM_UNDEFINED:
		return 0;
	}
	if (!v)
		return SIO_PKT_ENOMEM;
	*out = v;
	return 0;
}

/* Puts v (stolen; NULL for undefined) into the container top: undefined
 * is null in an array, no member in a map, as JSON.stringify() has it. */
static int attach(struct decoder *d, struct frame *top, json_t *v)
{
	if (!top->is_map)
		return json_array_append_new(top->node, v ? v : json_null()) == 0 ? 0
		                                                                  : SIO_PKT_ENOMEM;
	if (!v)
		return 0;
	if (json_object_set_new_nocheck(top->node, d->key, v) < 0)
		return SIO_PKT_ENOMEM;
	if (json_is_true(v) && strcmp(d->key, "_placeholder") == 0)
		d->placeholder_map = true;
	return 0;
}

/*
 * Reads one whole value at the read position. With out, builds it: *out
 * is a new reference, or NULL with *undefined set when the value is
 * undefined; bin values become placeholders, their bytes in d->bufs.
 * Without out, only checks it (every rule but repeated keys) and makes
 * nothing. Values deeper than SIO_PKT_MAX_DEPTH (the value itself at 1)
 * are refused. The nesting is followed with d->stack, not recursion.
 */
static int parse_value(struct decoder *d, json_t **out, bool *undefined)
{
	json_t *root = NULL;
	int r;

	d->depth = 0;
	for (;;) {
		struct frame *top = d->depth > 0 ? &d->stack[d->depth - 1] : NULL;
		json_t *v = NULL;
		struct item it;

		r = read_item(&d->r, &it);
		if (r < 0)
			goto fail;
		if (top && top->is_map && !top->have_key) {
			r = read_key(d, top, &it);
			if (r < 0)
				goto fail;
			continue;
		}
		if (d->depth >= SIO_PKT_MAX_DEPTH) {
			r = SIO_MSGPACK_EDEPTH;
			goto fail;
		}
		if (it.kind == ITEM_STR && !utf8_valid(it.p, it.n)) {
			r = SIO_MSGPACK_EUTF8;
			goto fail;
		}
		if (out) {
			r = value_new(d, &it, &v);
			if (r < 0)
				goto fail;
			if (!top) {
				root = v;
				*undefined = it.kind == ITEM_UNDEFINED;
			} else if ((r = attach(d, top, v)) < 0) {
				goto fail;
			}
		}
		if (top) {
			top->left--;
			top->have_key = false;
		}
		if ((it.kind == ITEM_ARRAY || it.kind == ITEM_MAP) && it.n > 0 &&
		    (r = push(d, v, &it)) < 0)
			goto fail;
		while (d->depth > 0 && d->stack[d->depth - 1].left == 0)
			d->depth--;
		if (d->depth == 0)
			break;
	}
	if (out)
		*out = root;
	return 0;

fail:
	json_decref(root);
	return r;
}

/* Number.isInteger() of a number item, as an int64 in *out. A uint 64
 * above INT64_MAX is an integer too, but out of every range asked for. */
static bool item_integer(const struct item *it, int64_t *out)
{
	if (it->kind == ITEM_INT) {
		*out = it->i;
		return true;
	}
	if (it->kind == ITEM_FLOAT && it->f > -9.2e18 && it->f < 9.2e18 &&
	    (double)(int64_t)it->f == it->f) {
		*out = (int64_t)it->f;
		return true;
	}
	return false;
}

enum packet_key { KEY_TYPE, KEY_NSP, KEY_ID, KEY_DATA, KEY_OTHER };

static enum packet_key packet_key(const struct item *k)
{
	static const char *const names[] = {"type", "nsp", "id", "data"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == k->n && memcmp(names[i], k->p, k->n) == 0)
			return (enum packet_key)i;
	return KEY_OTHER;
}

/* Reads the value of one of the packet's keys into pkt (type: *type, nsp:
 * *nsp). */
static int read_field(struct decoder *d, enum packet_key key, struct sio_pkt *pkt, int64_t *type,
                      struct item *nsp)
{
	struct item it;
	bool undefined = false;
	int r;

	if (key == KEY_DATA)
		return parse_value(d, &pkt->data, &undefined);
	if (key == KEY_OTHER)
		return parse_value(d, NULL, NULL);
	r = read_item(&d->r, &it);
	if (r < 0)
		return r;
	switch (key) {
	case KEY_TYPE:
		if (!item_integer(&it, type) || *type < SIO_PACKET_CONNECT ||
		    *type > SIO_PACKET_CONNECT_ERROR)
			return SIO_PKT_ETYPE;
		return 0;
	case KEY_NSP:
		if (it.kind != ITEM_STR || it.n == 0 || it.p[0] != '/' || memchr(it.p, ',', it.n) ||
		    !utf8_valid(it.p, it.n))
			return SIO_PKT_ENSP;
		*nsp = it;
		return 0;
	case KEY_ID:
		if (it.kind == ITEM_UNDEFINED)
			return 0;
		if (!item_integer(&it, &pkt->id) || pkt->id < 0 || pkt->id > SIO_PKT_ACK_ID_MAX)
			return SIO_PKT_EACKID;
		return 0;
	default:
		return 0;
	}
}

int sio_msgpack_decode(const uint8_t *buf, size_t len, uint32_t max_attachments,
                       struct sio_pkt *out)
{
	struct decoder d = {.r = {.buf = buf, .len = len}, .max_bufs = max_attachments};
	struct sio_pkt pkt = {.id = -1};
	bool seen[KEY_OTHER] = {false};
	struct item it, key, nsp = {0};
	int64_t type = -1;
	uint32_t n;
	int r;

	memset(out, 0, sizeof(*out));
	/* the message is one map */
	if (len == 0 || !((buf[0] >= 0x80 && buf[0] <= 0x8f) || buf[0] == 0xde || buf[0] == 0xdf))
		return SIO_MSGPACK_ENOTMAP;
	r = read_item(&d.r, &it);
	if (r < 0)
		goto fail;
	for (n = it.n; n > 0; n--) {
		enum packet_key k;

		r = read_item(&d.r, &key);
		if (r < 0)
			goto fail;
		if (key.kind != ITEM_STR) {
			r = SIO_MSGPACK_EKEY;
			goto fail;
		}
		k = packet_key(&key);
		if (k != KEY_OTHER) {
			if (seen[k]) {
				r = SIO_MSGPACK_EKEY;
				goto fail;
			}
			seen[k] = true;
		}
		r = read_field(&d, k, &pkt, &type, &nsp);
		if (r < 0)
			goto fail;
	}
	if (d.r.pos != len) {
		r = SIO_MSGPACK_ETRAILING;
		goto fail;
	}
	if (!seen[KEY_TYPE] || !seen[KEY_NSP]) {
		r = seen[KEY_TYPE] ? SIO_PKT_ENSP : SIO_PKT_ETYPE;
		goto fail;
	}
	pkt.type = (enum sio_packet_type)type;
	if (pkt.data ? !sio_pkt_payload_valid(pkt.type, pkt.data)
	             : pkt.type != SIO_PACKET_CONNECT && pkt.type != SIO_PACKET_DISCONNECT) {
		r = SIO_PKT_EPAYLOAD;
		goto fail;
	}
	if (d.nbufs > 0) {
		if (pkt.type != SIO_PACKET_EVENT && pkt.type != SIO_PACKET_ACK) {
			r = SIO_PKT_EPAYLOAD;
			goto fail;
		}
		if (d.placeholder_map) {
			r = SIO_PKT_EPLACEHOLDER;
			goto fail;
		}
		pkt.type = pkt.type == SIO_PACKET_EVENT ? SIO_PACKET_BINARY_EVENT
		                                        : SIO_PACKET_BINARY_ACK;
	}

	pkt.nsp = malloc((size_t)nsp.n + 1);
	if (!pkt.nsp) {
		r = SIO_PKT_ENOMEM;
		goto fail;
	}
	memcpy(pkt.nsp, nsp.p, nsp.n);
	pkt.nsp[nsp.n] = '\0';
	pkt.nsp_len = nsp.n;
	if (d.nbufs > 0) {
		pkt.bufs = d.bufs;
		pkt.attachments = d.nbufs;
		d.bufs = NULL;
		d.nbufs = 0;
	}
	decoder_finish(&d);
	*out = pkt;
	return 0;

fail:
	json_decref(pkt.data);
	decoder_finish(&d);
	return r;
}

/* The encoder's output: a block that grows, the headroom first. */
struct out_buf {
	uint8_t *p;
	size_t len; /* bytes used, headroom included */
	size_t cap;
};

/* msgpack-c's write callback: appends len bytes; -1 when out of memory. */
static int out_write(void *data, const char *buf, size_t len)
{
	struct out_buf *ob = data;

	if (len > ob->cap - ob->len) {
		size_t cap = ob->cap;
		uint8_t *p;

		while (len > cap - ob->len) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = realloc(ob->p, cap);
		if (!p)
			return -1;
		ob->p = p;
		ob->cap = cap;
	}
	if (len > 0)
		memcpy(ob->p + ob->len, buf, len);
	ob->len += len;
	return 0;
}

struct encoder {
	msgpack_packer pk;
	const struct sio_pkt_buf *bufs;
	uint32_t attachments; /* 0 unless BINARY_*: then placeholders are bin */
};

/* The packer fails only when out_write() does: out of memory. */
#define PACK(call)                                                                                 \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			return SIO_PKT_ENOMEM;                                                     \
	} while (0)

static int pack_str(struct encoder *e, const char *s, size_t n)
{
	if (n > UINT32_MAX)
		return SIO_MSGPACK_ESIZE;
	PACK(msgpack_pack_str(&e->pk, n));
	PACK(msgpack_pack_str_body(&e->pk, s, n));
	return 0;
}

static int pack_placeholder(struct encoder *e, const json_t *v)
{
	int64_t k = sio_pkt_placeholder_num(v, e->attachments);
	const struct sio_pkt_buf *b;

	if (k < 0)
		return SIO_PKT_EPLACEHOLDER;
	b = &e->bufs[k];
	if (b->len > UINT32_MAX)
		return SIO_MSGPACK_ESIZE;
	PACK(msgpack_pack_bin(&e->pk, b->len));
	PACK(msgpack_pack_bin_body(&e->pk, b->data, b->len));
	return 0;
}

/* Writes v, at nesting depth `depth` (data at 1). Recursion is bounded by
 * SIO_PKT_MAX_DEPTH. */
static int pack_value(struct encoder *e, const json_t *v, unsigned depth)
{
	int r;

	if (depth > SIO_PKT_MAX_DEPTH)
		return SIO_MSGPACK_EDEPTH;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		json_t *obj = (json_t *)v; /* jansson's iterators take no const */
		void *it;

		if (e->attachments > 0 && json_is_true(json_object_get(v, "_placeholder")))
			return pack_placeholder(e, v);
		if (json_object_size(v) > UINT32_MAX)
			return SIO_MSGPACK_ESIZE;
		PACK(msgpack_pack_map(&e->pk, json_object_size(v)));
		for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
			const char *k = json_object_iter_key(it);

			if ((r = pack_str(e, k, strlen(k))) < 0 ||
			    (r = pack_value(e, json_object_iter_value(it), depth + 1)) < 0)
				return r;
		}
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;

		if (json_array_size(v) > UINT32_MAX)
			return SIO_MSGPACK_ESIZE;
		PACK(msgpack_pack_array(&e->pk, json_array_size(v)));
		for (i = 0; i < json_array_size(v); i++)
			if ((r = pack_value(e, json_array_get(v, i), depth + 1)) < 0)
				return r;
		return 0;
	}
	case JSON_STRING:
		return pack_str(e, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		PACK(msgpack_pack_int64(&e->pk, json_integer_value(v)));
		return 0;
	case JSON_REAL:
		PACK(msgpack_pack_double(&e->pk, json_real_value(v)));
		return 0;
	case JSON_TRUE:
		PACK(msgpack_pack_true(&e->pk));
		return 0;
	case JSON_FALSE:
		PACK(msgpack_pack_false(&e->pk));
		return 0;
	case JSON_NULL:
		PACK(msgpack_pack_nil(&e->pk));
		return 0;
	}
	return 0;
}

static bool is_binary_type(enum sio_packet_type type)
{
	return type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK;
}

/* Checks the encode arguments; see sio_msgpack_encode(). */
static int encode_check(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                        uint32_t attachments, const json_t *data, const struct sio_pkt_buf *bufs)
{
	if ((unsigned)type > SIO_PACKET_BINARY_ACK)
		return SIO_PKT_ETYPE;
	if (is_binary_type(type) != (attachments > 0) || (attachments > 0 && !bufs))
		return SIO_PKT_EATTACH;
	if (nsp_len > 0 && (nsp[0] != '/' || memchr(nsp, ',', nsp_len)))
		return SIO_PKT_ENSP;
	if (nsp_len > UINT32_MAX)
		return SIO_MSGPACK_ESIZE;
	if (id < -1 || id > SIO_PKT_ACK_ID_MAX)
		return SIO_PKT_EACKID;
	if (!data)
		return type == SIO_PACKET_CONNECT || type == SIO_PACKET_DISCONNECT
		               ? 0
		               : SIO_PKT_EPAYLOAD;
	return sio_pkt_payload_valid(type, data) ? 0 : SIO_PKT_EPAYLOAD;
}

/* Writes the packet's map, its keys in the order socket.io's Socket
 * writes them. */
static int pack_packet(struct encoder *e, enum sio_packet_type type, const char *nsp,
                       size_t nsp_len, int64_t id, const json_t *data)
{
	bool ack = type == SIO_PACKET_ACK || type == SIO_PACKET_BINARY_ACK;
	int wire_type = type == SIO_PACKET_BINARY_EVENT ? SIO_PACKET_EVENT
	                : type == SIO_PACKET_BINARY_ACK ? SIO_PACKET_ACK
	                                                : (int)type;
	int r;

	PACK(msgpack_pack_map(&e->pk, 2 + (data != NULL) + (id >= 0)));
	if (ack && id >= 0) {
		PACK(pack_str(e, "id", 2));
		PACK(msgpack_pack_int64(&e->pk, id));
	}
	PACK(pack_str(e, "type", 4));
	PACK(msgpack_pack_int(&e->pk, wire_type));
	if (data) {
		PACK(pack_str(e, "data", 4));
		if ((r = pack_value(e, data, 1)) < 0)
			return r;
	}
	if (!ack && id >= 0) {
		PACK(pack_str(e, "id", 2));
		PACK(msgpack_pack_int64(&e->pk, id));
	}
	PACK(pack_str(e, "nsp", 3));
	if (nsp_len == 0)
		return pack_str(e, "/", 1);
	return pack_str(e, nsp, nsp_len);
}

int sio_msgpack_encode(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                       uint32_t attachments, const json_t *data, const struct sio_pkt_buf *bufs,
                       size_t headroom, uint8_t **out, size_t *out_len)
{
	struct encoder e = {.bufs = bufs, .attachments = attachments};
	struct out_buf ob = {0};
	int r;

	*out = NULL;
	r = encode_check(type, nsp, nsp_len, id, attachments, data, bufs);
	if (r < 0)
		return r;
	if (headroom > SIZE_MAX / 4)
		return SIO_PKT_ENOMEM;
	ob.cap = headroom + nsp_len + 64;
	ob.p = malloc(ob.cap);
	if (!ob.p)
		return SIO_PKT_ENOMEM;
	ob.len = headroom;
	msgpack_packer_init(&e.pk, &ob, out_write);
	r = pack_packet(&e, type, nsp, nsp_len, id, data);
	if (r < 0) {
		free(ob.p);
		return r;
	}
	*out = ob.p;
	*out_len = ob.len - headroom;
	return 0;
}

const char *sio_msgpack_strerror(int err)
{
	switch (err) {
	case SIO_MSGPACK_ETRUNCATED:
		return "msgpack value runs past the end of the message";
	case SIO_MSGPACK_ETRAILING:
		return "bytes after the packet's msgpack map";
	case SIO_MSGPACK_EFORMAT:
		return "invalid msgpack byte 0xc1";
	case SIO_MSGPACK_EEXT:
		return "msgpack ext type other than notepack's undefined, Date and ArrayBuffer";
	case SIO_MSGPACK_ENOTMAP:
		return "packet is not a msgpack map";
	case SIO_MSGPACK_EKEY:
		return "map key not a string, holding NUL, or repeated";
	case SIO_MSGPACK_EUTF8:
		return "string not valid UTF-8";
	case SIO_MSGPACK_EDEPTH:
		return "data nested too deep";
	case SIO_MSGPACK_ESIZE:
		return "string, buffer or container too large for msgpack";
	}
	return sio_pkt_strerror(err);
}
