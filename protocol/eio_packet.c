/*
 * Engine.IO v4 packet and payload codec (see eio_packet.h).
 */
#include "protocol/eio_packet.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char base64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 character, or -1 for anything outside the alphabet
 * (including '='). */
static int base64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t eio_base64_encoded_len(size_t n)
{
	return (n / 3 + (n % 3 != 0)) * 4;
}

size_t eio_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;
	size_t o = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = base64_alphabet[v >> 18 & 0x3f];
		out[o++] = base64_alphabet[v >> 12 & 0x3f];
		out[o++] = base64_alphabet[v >> 6 & 0x3f];
		out[o++] = base64_alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = base64_alphabet[v >> 18 & 0x3f];
		out[o++] = base64_alphabet[v >> 12 & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = base64_alphabet[v >> 18 & 0x3f];
		out[o++] = base64_alphabet[v >> 12 & 0x3f];
		out[o++] = base64_alphabet[v >> 6 & 0x3f];
		out[o++] = '=';
	}
	return o;
}

/*
 * Each group of four characters is read before its three bytes are written,
 * and output never overtakes input, so out == in is safe. Unused low bits in
 * the last character are ignored, as Node's Buffer.from(s, "base64") does.
 */
long eio_base64_decode(const char *in, size_t n, uint8_t *out)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t o = 0;
	size_t i;

	if (n > LONG_MAX)
		return -1;
	/* Padding is stripped only from a whole last group; any other '='
	 * (too many, misplaced, wrong length) fails the alphabet check below. */
	if (n % 4 == 0 && n > 0 && s[n - 1] == '=')
		n -= s[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return -1;

	for (i = 0; i < n; i += 4) {
		size_t k = n - i < 4 ? n - i : 4;
		uint32_t v = 0;
		size_t j;

		for (j = 0; j < k; j++) {
			int d = base64_value(s[i + j]);

			if (d < 0)
				return -1;
			v |= (uint32_t)d << (18 - 6 * j);
		}
		out[o++] = (uint8_t)(v >> 16);
		if (k > 2)
			out[o++] = (uint8_t)(v >> 8);
		if (k > 3)
			out[o++] = (uint8_t)v;
	}
	return (long)o;
}

int eio_packet_decode(uint8_t *buf, size_t len, struct eio_packet *out)
{
	long n;

	if (len == 0)
		return EIO_DECODE_ERROR;
	if (buf[0] >= '0' && buf[0] <= '6') {
		out->type = (enum eio_packet_type)(buf[0] - '0');
		out->binary = false;
		out->data = buf + 1;
		out->len = len - 1;
		return EIO_DECODE_OK;
	}
	if (buf[0] != 'b')
		return EIO_DECODE_ERROR;
	n = eio_base64_decode((const char *)buf + 1, len - 1, buf + 1);
	if (n < 0)
		return EIO_DECODE_ERROR;
	out->type = EIO_MESSAGE;
	out->binary = true;
	out->data = buf + 1;
	out->len = (size_t)n;
	return EIO_DECODE_OK;
}

/*
 * *pos is 0 before the first packet and otherwise the end of the previous
 * packet: either len or the index of the separator that follows it. Packets
 * are never empty, so the two cases cannot be confused. Like the reference's
 * split(), a trailing separator yields an empty, hence invalid, last packet.
 */
int eio_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out)
{
	size_t start = *pos;
	const uint8_t *sep;
	size_t end;

	if (start > len)
		return EIO_DECODE_ERROR;
	if (start == 0) {
		if (len == 0)
			return EIO_DECODE_ERROR;
	} else {
		if (start == len)
			return 0;
		if (buf[start] != EIO_SEPARATOR)
			return EIO_DECODE_ERROR;
		start++;
	}
	sep = memchr(buf + start, EIO_SEPARATOR, len - start);
	end = sep ? (size_t)(sep - buf) : len;
	if (eio_packet_decode(buf + start, end - start, out) != EIO_DECODE_OK)
		return EIO_DECODE_ERROR;
	*pos = end;
	return 1;
}

size_t eio_packet_payload_len(enum eio_packet_type type, bool binary, size_t len)
{
	(void)type;
	return 1 + (binary ? eio_base64_encoded_len(len) : len);
}

size_t eio_packet_payload_write(enum eio_packet_type type, bool binary, const uint8_t *data,
                                size_t len, uint8_t *out)
{
	if (binary) {
		out[0] = 'b';
		return 1 + eio_base64_encode(data, len, (char *)out + 1);
	}
	out[0] = (uint8_t)('0' + type);
	if (len > 0)
		memcpy(out + 1, data, len);
	return 1 + len;
}

int eio_open_json(char *out, size_t cap, const char *sid, bool upgrade_to_websocket,
                  uint32_t ping_interval, uint32_t ping_timeout, uint64_t max_payload)
{
	int n = snprintf(out, cap,
	                 "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%" PRIu32
	                 ",\"pingTimeout\":%" PRIu32 ",\"maxPayload\":%" PRIu64 "}",
	                 sid, upgrade_to_websocket ? "\"websocket\"" : "", ping_interval,
	                 ping_timeout, max_payload);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
