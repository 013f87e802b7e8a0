/*
 * The websocket transport: connections handed over by the front arrive on
 * the ws vhost, where lws does the RFC 6455 handshake, framing and UTF-8
 * validation. One Engine.IO packet per message; one lws_write() per
 * WRITEABLE callback.
 */
#include "transports/engine.h"

#include <stdio.h>
#include <string.h>

#include "transports/callbacks.h"

_Static_assert(OUTBUF_PRE >= LWS_PRE, "OUTBUF_PRE must cover LWS_PRE");

size_t ws_conn_size(void)
{
	return sizeof(struct ws_conn);
}

void ws_request_write(struct ws_conn *w)
{
	if (w->wsi)
		lws_callback_on_writable(w->wsi);
}

#define CLOSE_WAIT_S 2 /* how long a close may wait for the socket to take it */

void ws_close(struct ws_conn *w, int code)
{
	w->closing = true;
	w->close_code = code;
	ws_request_write(w);
	/* A peer that stopped reading (a slow consumer cut off for "queue
	 * full") never makes the socket writable: without this its fd, lws
	 * state and kernel send buffer would stay until it read again. */
	if (w->wsi)
		lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_WAIT_S);
}

void ws_detach(struct ws_conn *w)
{
	w->sess = NULL;
}

/* A whole message arrived. */
static void deliver(struct ws_conn *w, uint8_t *data, size_t len, bool binary)
{
	session_ws_message(w, data, len, binary);
}

#define MAX_FRAGMENTS 1024 /* frames in one message */

static int on_receive(struct ws_conn *w, struct lws *wsi, uint8_t *in, size_t len)
{
	size_t max = w->srv->opts.max_http_buffer_size;
	size_t remaining = lws_remaining_packet_payload(wsi);
	bool final = lws_is_final_fragment(wsi);
	if (lws_is_first_fragment(wsi)) {
		w->rx.len = 0;
		w->rx_binary = lws_frame_is_binary(wsi) != 0;
		w->utf8 = (struct utf8_state){0};
		w->frames = 0;
		w->frame_open = false;
	}
	/* a message cut into a flood of (empty) frames costs no memory but
	 * endless work: bound the frames */
	if (!w->frame_open && ++w->frames > MAX_FRAGMENTS) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
		return -1;
	}
	w->frame_open = remaining > 0;
	/* lws drops invalid text without a close frame: check it here, 1007 */
	if (!w->rx_binary && (!utf8_feed(&w->utf8, in, len) ||
			      (final && remaining == 0 && !utf8_complete(&w->utf8)))) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, NULL, 0);
		return -1;
	}
	/* refuse an oversize message as soon as its size is known */
	if (w->rx.len + len + remaining > max) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	if (final && remaining == 0 && w->rx.len == 0) {
		deliver(w, in, len, w->rx_binary);
		return 0;
	}
	if (buf_append(&w->rx, in, len) < 0)
		return -1;
	if (final && remaining == 0) {
		deliver(w, w->rx.data, w->rx.len, w->rx_binary);
		w->rx.len = 0;
		if (w->rx.cap > 65536)
			buf_free(&w->rx);
	}
	return 0;
}

#define BATCH_MAX 65536 /* bytes of frames gathered into one write */

/* Writes a websocket frame header for a server frame (unmasked) of len
 * bytes; returns its size (2, 4 or 10). */
static size_t frame_header(uint8_t *p, bool binary, size_t len)
{
	p[0] = (uint8_t)(0x80 | (binary ? 0x2 : 0x1));
	if (len < 126) {
		p[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		p[1] = 126;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		return 4;
	}
	p[1] = 127;
	for (int i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

static size_t packet_wire_len(const struct outbuf *o)
{
	return o->binary ? o->len : o->len + 1;
}

/*
 * Writes what the session has queued for this websocket: one packet goes
 * out as it is (lws writes the frame header into its headroom, so a shared
 * broadcast buffer is not copied); several are framed here into one buffer
 * and written with one system call. Returns -1 when the connection failed.
 */
static int ws_write_queue(struct ws_conn *w, struct lws *wsi)
{
	struct sio_eio_socket *s = w->sess;
	if (!s || s->ws != w || !s->ring_count)
		return 0;
	struct outbuf *first = session_peek(s);
	bool is_close = false;
	int n;
	if (s->ring_count == 1 || packet_wire_len(first) >= BATCH_MAX) {
		struct outbuf *o = session_pop(s);
		is_close = o->type == EIO_CLOSE;
		if (o->binary)
			n = lws_write(wsi, outbuf_data(o), o->len, LWS_WRITE_BINARY);
		else
			n = lws_write(wsi, o->mem + OUTBUF_PRE, o->len + 1, LWS_WRITE_TEXT);
		outbuf_unref(o);
	} else {
		struct buf *b = &w->srv->ws_batch;
		b->len = 0;
		if (buf_reserve(b, LWS_PRE + BATCH_MAX + 10) < 0)
			return -1;
		b->len = LWS_PRE;
		struct outbuf *o;
		while ((o = session_peek(s)) && !is_close) {
			size_t wire = packet_wire_len(o);
			if (b->len > LWS_PRE && b->len + 10 + wire > LWS_PRE + BATCH_MAX)
				break;
			if (buf_reserve(b, 10 + wire) < 0)
				return -1;
			b->len += frame_header(b->data + b->len, o->binary, wire);
			const uint8_t *src = o->binary ? outbuf_data(o) : o->mem + OUTBUF_PRE;
			memcpy(b->data + b->len, src, wire);
			b->len += wire;
			is_close = o->type == EIO_CLOSE;
			outbuf_unref(session_pop(s));
		}
		/* already framed: lws sends the bytes as they are */
		n = lws_write(wsi, b->data + LWS_PRE, b->len - LWS_PRE, LWS_WRITE_RAW);
	}
	if (n < 0)
		return -1;
	if (is_close && s->close_queued)
		session_close_written(s);
	else if (s->ring_count)
		lws_callback_on_writable(wsi);
	return 0;
}

void ws_flush(struct ws_conn *w)
{
	/* Write now rather than after a round through POLLOUT: that costs two
	 * epoll_ctl calls and a loop turn per message. When lws still holds
	 * bytes the kernel did not take, wait for WRITEABLE. */
	if (!w->wsi || w->closing || w->probe_pong || lws_partial_buffered(w->wsi)) {
		ws_request_write(w);
		return;
	}
	if (ws_write_queue(w, w->wsi) < 0)
		ws_close(w, LWS_CLOSE_STATUS_ABNORMAL_CLOSE);
}

static int on_writeable(struct ws_conn *w, struct lws *wsi)
{
	if (w->closing) {
		lws_close_reason(wsi, (enum lws_close_status)w->close_code, NULL, 0);
		return -1;
	}
	if (lws_partial_buffered(wsi)) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (w->probe_pong) {
		uint8_t frame[LWS_PRE + 6];
		memcpy(frame + LWS_PRE, "3probe", 6);
		w->probe_pong = false;
		if (lws_write(wsi, frame + LWS_PRE, 6, LWS_WRITE_TEXT) < 6)
			return -1;
		if (w->sess && w->sess->ws == w && w->sess->ring_count)
			lws_callback_on_writable(wsi);
		return 0;
	}
	return ws_write_queue(w, wsi);
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		size_t len)
{
	struct ws_conn *w = user;
	struct sio_server *srv = lws_context_user(lws_get_context(wsi));
	int rc = 0;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: {
		server_enter(srv);
		memset(w, 0, sizeof(*w));
		w->wsi = wsi;
		w->srv = srv;
		struct handover *ho = handover_take(srv, lws_get_socket_fd(wsi));
		if (ho && ho->ip_counted) {
			/* the slot the front connection held moves here */
			snprintf(w->addr, sizeof(w->addr), "%s", ho->addr);
			w->ip_counted = true;
			ho->ip_counted = false;
		}
		if (!ho || srv->stopping)
			rc = -1;
		else
			session_ws_established(srv, w, ho);
		handover_free(ho);
		server_leave(srv);
		break;
	}
	case LWS_CALLBACK_ADD_HEADERS: {
		/* the handshake response: add the hooks' and CORS headers */
		struct lws_process_html_args *args = in;
		struct handover *ho = handover_peek(srv, lws_get_socket_fd(wsi));
		if (ho && ho->headers.len && (size_t)args->max_len > ho->headers.len) {
			memcpy(args->p, ho->headers.data, ho->headers.len);
			args->p += ho->headers.len;
			args->max_len -= (int)ho->headers.len;
		}
		break;
	}
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
		/* lws 4.1.6 echoes some invalid close frames: refuse them as
		 * RFC 6455 7.4 says (1002; 1007 for a reason that is not UTF-8) */
		const uint8_t *p = in;
		int bad = 0;
		if (len == 1) {
			bad = LWS_CLOSE_STATUS_PROTOCOL_ERR;
		} else if (len >= 2) {
			unsigned code = (unsigned)p[0] << 8 | p[1];
			struct utf8_state u = {0};
			if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
			      (code >= 3000 && code <= 4999)))
				bad = LWS_CLOSE_STATUS_PROTOCOL_ERR;
			else if (!utf8_feed(&u, p + 2, len - 2) || !utf8_complete(&u))
				bad = LWS_CLOSE_STATUS_INVALID_PAYLOAD;
		}
		if (bad) {
			lws_close_reason(wsi, (enum lws_close_status)bad, NULL, 0);
			rc = -1;
		}
		break;
	}
	case LWS_CALLBACK_RECEIVE:
		if (!w->srv || w->closing)
			break;
		server_enter(srv);
		rc = on_receive(w, wsi, in, len);
		server_leave(srv);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!w->srv)
			break;
		server_enter(srv);
		rc = on_writeable(w, wsi);
		server_leave(srv);
		break;
	case LWS_CALLBACK_CLOSED:
		if (!w || !w->srv)
			break;
		server_enter(srv);
		w->wsi = NULL;
		if (w->ip_counted)
			server_ip_release(srv, w->addr);
		w->ip_counted = false;
		session_ws_closed(w);
		buf_free(&w->rx);
		server_leave(srv);
		break;
	default:
		break;
	}
	return rc;
}
