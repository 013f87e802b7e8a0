/*
 * RFC 6455 frames from a client, parsed incrementally: bytes may arrive
 * cut anywhere, and what the parser reports never depends on the cuts.
 * Server side: every frame must be masked; no extension is negotiated
 * (RSV bits refused); control frames are final and at most 125 bytes;
 * fragmented messages are reassembled, text validated as UTF-8 on the way.
 * A message over the size limit is refused as soon as a frame header
 * announces it, before its payload arrives.
 */
#ifndef SIOC_PROTOCOL_WS_PARSER_H
#define SIOC_PROTOCOL_WS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pool.h"
#include "protocol/utf8.h"

/* Close codes (RFC 6455 7.4.1). */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_INVALID_PAYLOAD = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL_ERROR = 1011,
};

#define WS_MAX_FRAGMENTS 1024 /* frames in one message; more: WS_CLOSE_POLICY */

enum ws_event_type {
	WS_EV_NONE,    /* every byte given was consumed, no event */
	WS_EV_MESSAGE, /* a whole text or binary message */
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_CLOSE, /* a valid close frame: code (0 when none), reason */
	WS_EV_ERROR, /* the connection must close with `code`; nothing more is parsed */
};

struct ws_event {
	enum ws_event_type type;
	bool binary;         /* WS_EV_MESSAGE */
	uint16_t code;       /* WS_EV_CLOSE, WS_EV_ERROR */
	const uint8_t *data; /* message or control payload (close: the reason) */
	size_t len;
};

/* Fields widest first: no padding between them (64 bytes). */
struct ws_parser {
	size_t max_message; /* bytes */
	uint64_t left;      /* payload bytes of the current frame still to come */
	/* a message arriving in several frames or reads; a control frame's
	 * payload goes after it, until its event is reported (a message is
	 * under 4 GiB) */
	struct pool_buf rx;
	uint32_t ctl_at; /* where the control payload starts in rx */
	uint16_t frames; /* frames of the message so far (<= WS_MAX_FRAGMENTS + 1) */

	uint8_t hdr[14];
	uint8_t hdr_len, hdr_need;
	uint8_t opcode;
	uint8_t mask[4];
	uint8_t mask_pos;
	struct utf8_state utf8;
	/* flags in one byte: a websocket's state is kept small */
	bool failed : 1;
	bool fin : 1;
	bool in_frame : 1; /* the header is read: payload bytes follow */
	bool in_message : 1;
	bool binary : 1;
	bool ctl_in_rx : 1; /* rx ends with a reported control payload */
};

/* A zeroed parser with max_message set is ready; ws_parser_free() frees
 * what it holds. The functions below take the pool its buffer comes from
 * (NULL: malloc's), the same for every call on one parser. */
void ws_parser_free(struct ws_parser *p, struct pool *pool);

/* Frees the parser's buffer unless a message or a control frame is being
 * reassembled in it: what the last event pointed to is gone. Call it once
 * the events of a read are handled, so that an idle connection holds no
 * buffer (a message cut across reads needed one). */
void ws_parser_shrink(struct ws_parser *p, struct pool *pool);

/*
 * Parses from data[0..len), unmasking payload bytes in place, until an
 * event or the end of the bytes. Returns the number of bytes consumed;
 * *ev says what happened. Event data points into `data` or into the
 * parser, valid until the next call. After WS_EV_ERROR every later call
 * consumes everything and reports nothing.
 */
size_t ws_parse(struct ws_parser *p, struct pool *pool, uint8_t *data, size_t len,
                struct ws_event *ev);

/* Writes a server frame header (final, unmasked) for len payload bytes
 * ending just before `payload`; returns its size (2, 4 or 10). */
size_t ws_frame_header_before(uint8_t *payload, uint8_t opcode, size_t len);

#define WS_OP_CONT 0
#define WS_OP_TEXT 1
#define WS_OP_BINARY 2
#define WS_OP_CLOSE 8
#define WS_OP_PING 9
#define WS_OP_PONG 10

#endif
