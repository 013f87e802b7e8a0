#include "wsframe.h"

size_t ws_header_len(size_t len)
{
	if (len < 126)
		return 2 + 4;
	if (len <= 0xffff)
		return 4 + 4;
	return 10 + 4;
}

size_t ws_frame_encode(uint8_t *out, enum ws_opcode opcode, const uint8_t mask[4],
                       const void *payload, size_t len)
{
	const uint8_t *p = payload;
	size_t h = 0;

	out[h++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		out[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		out[h++] = mask[i];
	for (size_t i = 0; i < len; i++)
		out[h + i] = p[i] ^ mask[i & 3];
	return h + len;
}

int ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame *f)
{
	size_t h = 2;
	uint64_t n;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70)
		return -1; /* RSV bits: no extension was negotiated */
	if (buf[1] & 0x80)
		return -1; /* a server must not mask */
	f->fin = buf[0] >> 7;
	f->opcode = buf[0] & 0x0f;
	switch (f->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return -1;
	}
	n = buf[1] & 0x7f;
	if (n == 126) {
		if (len < 4)
			return 0;
		n = (uint64_t)buf[2] << 8 | buf[3];
		h = 4;
	} else if (n == 127) {
		if (len < 10)
			return 0;
		n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | buf[2 + i];
		h = 10;
	}
	if ((f->opcode & 0x8) && (n > 125 || !f->fin))
		return -1;
	f->header_len = h;
	f->payload_len = n;
	return 1;
}
