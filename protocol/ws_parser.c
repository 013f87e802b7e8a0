#include "protocol/ws_parser.h"

#include <string.h>

void ws_parser_free(struct ws_parser *p, struct pool *pool)
{
	pool_buf_free(pool, &p->rx);
}

void ws_parser_shrink(struct ws_parser *p, struct pool *pool)
{
	if (p->ctl_in_rx) {
		p->rx.len = p->ctl_at;
		p->ctl_in_rx = false;
	}
	if (!p->in_message && !p->in_frame)
		pool_buf_free(pool, &p->rx);
}

size_t ws_frame_header_before(uint8_t *payload, uint8_t opcode, size_t len)
{
	uint8_t h[10];
	size_t n;
	h[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		h[1] = (uint8_t)len;
		n = 2;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	memcpy(payload - n, h, n);
	return n;
}

/* XORs n bytes with the mask, starting at mask byte *pos. */
static void unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint8_t *pos)
{
	size_t i = 0;
	unsigned k = *pos;
	for (; i < n && (k & 3); i++, k++)
		p[i] ^= mask[k & 3];
	if (n - i >= 8) {
		uint8_t m8[8] = {mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]};
		uint64_t m;
		memcpy(&m, m8, 8);
		for (; n - i >= 8; i += 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			v ^= m;
			memcpy(p + i, &v, 8);
		}
	}
	for (; i < n; i++, k++)
		p[i] ^= mask[k & 3];
	*pos = (uint8_t)(k & 3);
}

static bool fail(struct ws_parser *p, struct ws_event *ev, uint16_t code)
{
	p->failed = true;
	ev->type = WS_EV_ERROR;
	ev->code = code;
	return false;
}

/* The close codes a peer may send: RFC 6455 7.4 and IANA's registry
 * (1012-1014), as the reference's `ws` accepts them. */
static bool close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* A control frame is complete: its payload is at the end of rx. */
static void control(struct ws_parser *p, struct ws_event *ev)
{
	const uint8_t *c = p->rx.data ? p->rx.data + p->ctl_at : (const uint8_t *)"";
	size_t n = p->rx.len - p->ctl_at;
	p->ctl_in_rx = true;
	if (p->opcode != WS_OP_CLOSE) {
		ev->type = p->opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
		ev->data = c;
		ev->len = n;
		return;
	}
	if (n == 1) {
		fail(p, ev, WS_CLOSE_PROTOCOL_ERROR);
		return;
	}
	unsigned code = n ? (unsigned)c[0] << 8 | c[1] : 0;
	struct utf8_state u = {0};
	if (n && !close_code_valid(code)) {
		fail(p, ev, WS_CLOSE_PROTOCOL_ERROR);
		return;
	}
	if (n && (!utf8_feed(&u, c + 2, n - 2) || !utf8_complete(&u))) {
		fail(p, ev, WS_CLOSE_INVALID_PAYLOAD);
		return;
	}
	ev->type = WS_EV_CLOSE;
	ev->code = (uint16_t)code;
	ev->data = c + (n ? 2 : 0);
	ev->len = n ? n - 2 : 0;
	p->failed = true; /* nothing after a close frame is read */
}

/* The first two header bytes are here: refuse what RFC 6455 forbids as
 * early as possible. */
static bool header_start(struct ws_parser *p, struct ws_event *ev)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	uint8_t op = b0 & 0x0f;
	unsigned len7 = b1 & 0x7f;
	bool ok;
	p->opcode = op;
	p->fin = (b0 & 0x80) != 0;
	if (b0 & 0x70)
		ok = false; /* RSV bits: no extension is negotiated */
	else if (!(b1 & 0x80))
		ok = false; /* a client frame must be masked (5.1) */
	else if (op & 8)
		ok = (op == WS_OP_CLOSE || op == WS_OP_PING || op == WS_OP_PONG) && p->fin &&
		     len7 <= 125;
	else if (op == WS_OP_CONT)
		ok = p->in_message;
	else
		ok = (op == WS_OP_TEXT || op == WS_OP_BINARY) && !p->in_message;
	if (!ok)
		return fail(p, ev, WS_CLOSE_PROTOCOL_ERROR);
	p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
	return true;
}

/* The whole header is here. */
static bool header_done(struct ws_parser *p, struct ws_event *ev)
{
	unsigned len7 = p->hdr[1] & 0x7f;
	uint64_t len = len7;
	const uint8_t *m = p->hdr + 2;
	if (len7 == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		m += 2;
	} else if (len7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p->hdr[2 + i];
		m += 8;
		if (len >> 63)
			return fail(p, ev, WS_CLOSE_PROTOCOL_ERROR);
	}
	memcpy(p->mask, m, 4);
	p->mask_pos = 0;
	p->left = len;
	p->hdr_len = 0;
	p->in_frame = true;
	if (p->opcode & 8) {
		/* a control frame amid a message of 4 GiB or more: refused (its
		 * place in rx is kept in 32 bits) */
		if (p->rx.len > UINT32_MAX - 125)
			return fail(p, ev, WS_CLOSE_TOO_BIG);
		p->ctl_at = (uint32_t)p->rx.len;
		return true;
	}
	if (p->opcode != WS_OP_CONT) {
		p->in_message = true;
		p->binary = p->opcode == WS_OP_BINARY;
		p->utf8 = (struct utf8_state){0};
		p->frames = 0;
		p->rx.len = 0;
	}
	/* a message cut into a flood of (empty) frames costs no memory but
	 * endless work: bound the frames */
	if (++p->frames > WS_MAX_FRAGMENTS)
		return fail(p, ev, WS_CLOSE_POLICY);
	/* refuse an oversize message as soon as its size is known */
	if (len > p->max_message || p->rx.len > p->max_message - len ||
	    len > UINT32_MAX - p->rx.len)
		return fail(p, ev, WS_CLOSE_TOO_BIG);
	return true;
}

/* The current data frame is complete: a message when it is the last. */
static void data_done(struct ws_parser *p, struct ws_event *ev, const uint8_t *whole, size_t n)
{
	if (!p->fin)
		return;
	p->in_message = false;
	if (!p->binary && !utf8_complete(&p->utf8)) {
		fail(p, ev, WS_CLOSE_INVALID_PAYLOAD);
		return;
	}
	ev->type = WS_EV_MESSAGE;
	ev->binary = p->binary;
	if (whole) {
		ev->data = whole; /* the message came in one read: not copied */
		ev->len = n;
	} else {
		ev->data = p->rx.data ? p->rx.data : (const uint8_t *)"";
		ev->len = p->rx.len;
	}
}

/* The current frame is complete (a data frame's payload at `whole` when
 * the message came in one read). Returns true when there is an event. */
static bool frame_done(struct ws_parser *p, struct ws_event *ev, const uint8_t *whole, size_t n)
{
	p->in_frame = false;
	if (p->opcode & 8)
		control(p, ev);
	else
		data_done(p, ev, whole, n);
	return ev->type != WS_EV_NONE;
}

size_t ws_parse(struct ws_parser *p, struct pool *pool, uint8_t *data, size_t len,
                struct ws_event *ev)
{
	size_t used = 0;
	*ev = (struct ws_event){.type = WS_EV_NONE};
	if (p->failed)
		return len;
	/* what was reported last time is gone */
	if (p->ctl_in_rx) {
		p->rx.len = p->ctl_at;
		p->ctl_in_rx = false;
	}
	if (!p->in_message && !p->in_frame && p->rx.len)
		pool_buf_free(pool, &p->rx);
	while (used < len) {
		if (!p->in_frame) {
			if (p->hdr_len < 2) {
				p->hdr[p->hdr_len++] = data[used++];
				if (p->hdr_len == 2 && !header_start(p, ev))
					return len;
				continue;
			}
			size_t t = (size_t)(p->hdr_need - p->hdr_len);
			if (t > len - used)
				t = len - used;
			memcpy(p->hdr + p->hdr_len, data + used, t);
			p->hdr_len = (uint8_t)(p->hdr_len + t);
			used += t;
			if (p->hdr_len < p->hdr_need)
				continue;
			if (!header_done(p, ev))
				return len;
			if (p->left > 0)
				continue;
			/* an empty frame is complete at once */
			if (frame_done(p, ev, NULL, 0))
				return ev->type == WS_EV_ERROR ? len : used;
			continue;
		}
		size_t n = p->left < len - used ? (size_t)p->left : len - used;
		uint8_t *q = data + used;
		bool ends = n == p->left;
		bool whole = ends && p->fin && p->rx.len == 0 && !(p->opcode & 8);
		unmask(q, n, p->mask, &p->mask_pos);
		p->left -= n;
		used += n;
		if (p->opcode & 8) {
			if (pool_buf_append(pool, &p->rx, q, n) < 0) {
				fail(p, ev, WS_CLOSE_INTERNAL_ERROR);
				return len;
			}
		} else {
			if (!p->binary && !utf8_feed(&p->utf8, q, n)) {
				fail(p, ev, WS_CLOSE_INVALID_PAYLOAD);
				return len;
			}
			if (!whole && pool_buf_append(pool, &p->rx, q, n) < 0) {
				fail(p, ev, WS_CLOSE_INTERNAL_ERROR);
				return len;
			}
		}
		if (ends && frame_done(p, ev, whole ? q : NULL, n))
			return ev->type == WS_EV_ERROR ? len : used;
	}
	return used;
}
