#include "msgpack.h"

#include <string.h>

const uint8_t mp_connect_packet[MP_CONNECT_LEN] = {
        0x83,                                        /* map of 3 */
        0xa4, 't', 'y', 'p', 'e',  0x00,             /* type: 0 */
        0xa4, 'd', 'a', 't', 'a',  0xd4, 0x00, 0x00, /* data: undefined */
        0xa3, 'n', 's', 'p', 0xa1, '/',              /* nsp: "/" */
};

/* The header of a string of len bytes, as notepack writes it. */
static size_t str_header_len(size_t len)
{
	return len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5;
}

static size_t put_str(uint8_t *out, const void *s, size_t len)
{
	size_t h = 0;

	if (len < 32) {
		out[h++] = (uint8_t)(0xa0 | len);
	} else if (len < 256) {
		out[h++] = 0xd9;
		out[h++] = (uint8_t)len;
	} else if (len < 65536) {
		out[h++] = 0xda;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0xdb;
		for (int i = 3; i >= 0; i--)
			out[h++] = (uint8_t)(len >> (8 * i));
	}
	memcpy(out + h, s, len);
	return h + len;
}

size_t mp_event_len(size_t name_len, size_t arg_len)
{
	/* 1 map, 5 "type" 1 2, 5 "data" 1 array, 8 "options" 1 map 9 "compress"
	 * 1 true, 3 "id" 5 id, 4 "nsp" 2 "/" */
	return 1 + 6 + 6 + str_header_len(name_len) + name_len + str_header_len(arg_len) + arg_len +
	       8 + 1 + 9 + 1 + 3 + 5 + 4 + 2;
}

size_t mp_event_encode(uint8_t *out, const char *name, size_t name_len, const uint8_t *arg,
                       size_t arg_len, uint32_t id, size_t *id_at)
{
	size_t n = 0;

	out[n++] = 0x85;
	n += put_str(out + n, "type", 4);
	out[n++] = 0x02;
	n += put_str(out + n, "data", 4);
	out[n++] = 0x92;
	n += put_str(out + n, name, name_len);
	n += put_str(out + n, arg, arg_len);
	n += put_str(out + n, "options", 7);
	out[n++] = 0x81;
	n += put_str(out + n, "compress", 8);
	out[n++] = 0xc3;
	n += put_str(out + n, "id", 2);
	out[n++] = 0xce;
	*id_at = n;
	for (int i = 3; i >= 0; i--)
		out[n++] = (uint8_t)(id >> (8 * i));
	n += put_str(out + n, "nsp", 3);
	n += put_str(out + n, "/", 1);
	return n;
}

/* Reads a big-endian unsigned of `bytes` bytes at p[*off]. */
static bool get_be(const uint8_t *p, size_t n, size_t *off, size_t bytes, uint64_t *v)
{
	if (n - *off < bytes)
		return false;
	*v = 0;
	for (size_t i = 0; i < bytes; i++)
		*v = *v << 8 | p[*off + i];
	*off += bytes;
	return true;
}

/* Moves *off past len more bytes; false when they are not all there. */
static bool advance(size_t n, size_t *off, uint64_t len)
{
	if (len > n - *off)
		return false;
	*off += (size_t)len;
	return true;
}

int mp_skip(const uint8_t *p, size_t n, size_t *off)
{
	uint64_t todo = 1; /* values still to skip; a container adds its items */

	while (todo > 0) {
		uint8_t b;
		uint64_t len;

		if (*off >= n)
			return -1;
		b = p[(*off)++];
		todo--;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
			continue;
		if (b <= 0x8f) {
			todo += 2u * (b & 0x0f);
		} else if (b <= 0x9f) {
			todo += b & 0x0f;
		} else if (b <= 0xbf) {
			if (!advance(n, off, b & 0x1f))
				return -1;
		} else {
			switch (b) {
			case 0xc4: /* bin 8, 16, 32 */
			case 0xc5:
			case 0xc6:
				if (!get_be(p, n, off, 1u << (b - 0xc4), &len) ||
				    !advance(n, off, len))
					return -1;
				break;
			case 0xc7: /* ext 8, 16, 32: length, type, data */
			case 0xc8:
			case 0xc9:
				if (!get_be(p, n, off, 1u << (b - 0xc7), &len) ||
				    !advance(n, off, len + 1))
					return -1;
				break;
			case 0xca:
			case 0xcb: /* float 32, 64 */
				if (!advance(n, off, b == 0xca ? 4 : 8))
					return -1;
				break;
			case 0xcc: /* uint 8..64 */
			case 0xcd:
			case 0xce:
			case 0xcf:
				if (!advance(n, off, 1u << (b - 0xcc)))
					return -1;
				break;
			case 0xd0: /* int 8..64 */
			case 0xd1:
			case 0xd2:
			case 0xd3:
				if (!advance(n, off, 1u << (b - 0xd0)))
					return -1;
				break;
			case 0xd4: /* fixext 1..16: type and data */
			case 0xd5:
			case 0xd6:
			case 0xd7:
			case 0xd8:
				if (!advance(n, off, 1 + (1u << (b - 0xd4))))
					return -1;
				break;
			case 0xd9: /* str 8, 16, 32 */
			case 0xda:
			case 0xdb:
				if (!get_be(p, n, off, 1u << (b - 0xd9), &len) ||
				    !advance(n, off, len))
					return -1;
				break;
			case 0xdc: /* array 16, 32 */
			case 0xdd:
				if (!get_be(p, n, off, b == 0xdc ? 2 : 4, &len))
					return -1;
				todo += len;
				break;
			case 0xde: /* map 16, 32 */
			case 0xdf:
				if (!get_be(p, n, off, b == 0xde ? 2 : 4, &len))
					return -1;
				todo += 2 * len;
				break;
			default: /* 0xc1: never used */
				return -1;
			}
		}
	}
	return 0;
}

/* Reads a string header at p[*off]; false when it is not a string. */
static bool get_str(const uint8_t *p, size_t n, size_t *off, const uint8_t **s, size_t *len)
{
	uint64_t v;
	uint8_t b;

	if (*off >= n)
		return false;
	b = p[*off];
	if (b >= 0xa0 && b <= 0xbf) {
		(*off)++;
		v = b & 0x1f;
	} else if (b >= 0xd9 && b <= 0xdb) {
		(*off)++;
		if (!get_be(p, n, off, 1u << (b - 0xd9), &v))
			return false;
	} else {
		return false;
	}
	if (v > n - *off)
		return false;
	*s = p + *off;
	*len = (size_t)v;
	*off += (size_t)v;
	return true;
}

/* Reads an integer at p[*off] if there is one there: 1 with *v (negative
 * values as such), 0 when the value is not an integer (*off unmoved), -1
 * when it is truncated. */
static int get_int(const uint8_t *p, size_t n, size_t *off, int64_t *v)
{
	uint64_t u;
	size_t at;
	uint8_t b;

	if (*off >= n)
		return -1;
	b = p[*off];
	if (b <= 0x7f || b >= 0xe0) {
		*v = (int8_t)b;
		(*off)++;
		return 1;
	}
	if (b < 0xcc || b > 0xd3)
		return 0;
	at = *off + 1;
	if (b <= 0xcf) {
		if (!get_be(p, n, &at, 1u << (b - 0xcc), &u))
			return -1;
		*v = u > INT64_MAX ? -1 : (int64_t)u; /* ids that large: absent */
	} else {
		size_t bytes = 1u << (b - 0xd0);

		if (!get_be(p, n, &at, bytes, &u))
			return -1;
		if (bytes < 8 && (u >> (8 * bytes - 1)))
			u |= ~(uint64_t)0 << (8 * bytes); /* sign extension */
		*v = (int64_t)u;
	}
	*off = at;
	return 1;
}

int mp_packet_parse(const uint8_t *p, size_t n, struct mp_packet *pk)
{
	size_t off = 0;
	uint64_t count;

	memset(pk, 0, sizeof(*pk));
	pk->type = -1;
	if (n == 0)
		return -1;
	if (p[0] >= 0x80 && p[0] <= 0x8f) {
		count = p[0] & 0x0f;
		off = 1;
	} else if (p[0] == 0xde || p[0] == 0xdf) {
		off = 1;
		if (!get_be(p, n, &off, p[0] == 0xde ? 2 : 4, &count))
			return -1;
	} else {
		return -1;
	}
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *key;
		size_t key_len, start;
		int64_t v;
		int r;

		if (!get_str(p, n, &off, &key, &key_len))
			return -1;
		start = off;
		if (key_len == 4 && memcmp(key, "type", 4) == 0) {
			r = get_int(p, n, &off, &v);
			if (r < 0)
				return -1;
			if (r == 1) {
				pk->type = v >= 0 ? v : -1;
				continue;
			}
			pk->type = -1;
		} else if (key_len == 2 && memcmp(key, "id", 2) == 0) {
			r = get_int(p, n, &off, &v);
			if (r < 0)
				return -1;
			if (r == 1) {
				pk->has_id = v >= 0;
				pk->id = v >= 0 ? (uint64_t)v : 0;
				continue;
			}
			pk->has_id = false;
		} else if (key_len == 3 && memcmp(key, "nsp", 3) == 0) {
			if (get_str(p, n, &off, &pk->nsp, &pk->nsp_len))
				continue;
			off = start;
			pk->nsp = NULL;
		}
		if (mp_skip(p, n, &off) < 0)
			return -1;
		if (key_len == 4 && memcmp(key, "data", 4) == 0) {
			pk->data = p + start;
			pk->data_len = off - start;
		}
	}
	return off == n ? 0 : -1;
}
