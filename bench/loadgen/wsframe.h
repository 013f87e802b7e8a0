/*
 * The client side of RFC 6455 framing, as much as a load generator needs:
 * masked frames out, unmasked frames in. Pure functions over (pointer,
 * length); no allocation.
 */
#ifndef LOADGEN_WSFRAME_H
#define LOADGEN_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Largest header a client frame can have: 2 + 8 (length) + 4 (mask). */
#define WS_MAX_HEADER 14

/* The header length of a masked client frame carrying len bytes. */
size_t ws_header_len(size_t len);

/*
 * Writes a final, masked frame of `opcode` carrying `payload` (len bytes)
 * into out, which must hold ws_header_len(len) + len bytes. The payload is
 * masked with `mask` as it is copied. Returns the frame length.
 */
size_t ws_frame_encode(uint8_t *out, enum ws_opcode opcode, const uint8_t mask[4],
                       const void *payload, size_t len);

struct ws_frame {
	uint8_t opcode;
	uint8_t fin;
	size_t header_len; /* bytes before the payload */
	uint64_t payload_len;
};

/*
 * Reads the header of a server frame at buf (len bytes). Returns 1 and fills
 * f when the whole header is there (the payload may not be), 0 when more
 * bytes are needed, -1 when the frame is invalid for a server (masked,
 * reserved bits set, unknown opcode, oversized control frame).
 */
int ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame *f);

#endif
