/*
 * The websocket transport, on our own RFC 6455 framing. A front
 * connection whose upgrade request passed verification becomes a
 * websocket in place: the 101 answer goes out on the same socket, and the
 * bytes after the request are frames. Frames are parsed as they arrive,
 * however they are cut; one Engine.IO packet per message. Output leaves
 * with one sendmsg() per batch: each frame header is written into the
 * headroom of its packet buffer (the same bytes for every recipient of a
 * shared broadcast buffer), so no packet is copied on the way out. Over
 * TLS the same batch is encrypted into records of up to 16 KB
 * (transports/tls.c) and sent with one send() instead.
 */
#include "transports/websocket.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <libwebsockets.h>

#include "protocol/ws_parser.h"
#include "transports/front.h"
#include "transports/upgrade.h"

#define CLOSE_WAIT_MS 2000   /* a close frame the peer does not read */
#define DRAIN_MS 2000        /* reading after our close frame, until the peer's FIN */
#define MAX_IOV 64           /* frames per sendmsg() */
#define MAX_CONTROL_OUT 4096 /* pongs waiting behind a peer that does not read */

/* Handshake and control bytes waiting: allocated while there are some,
 * so that an idle websocket holds none. */
struct ws_ctl {
	struct buf out;
	size_t off; /* bytes of out written */
};

/* Bytes of w's control output not yet written. */
static size_t ctl_left(const struct ws_conn *w)
{
	return w->ctl ? w->ctl->out.len - w->ctl->off : 0;
}

/* w's control output, made when missing; NULL when out of memory. */
static struct ws_ctl *ctl_get(struct ws_conn *w)
{
	if (!w->ctl)
		w->ctl = calloc(1, sizeof(*w->ctl));
	return w->ctl;
}

static void ctl_drop(struct ws_conn *w)
{
	if (w->ctl) {
		buf_free(&w->ctl->out);
		free(w->ctl);
		w->ctl = NULL;
	}
}

static void count_out(struct ws_conn *w)
{
	engine_count_out(w->engine, &w->out_counted, w->cur || ctl_left(w) > 0);
}

/* Closes the socket from outside its callbacks. lws does it when it next
 * looks at its own timers, which is after a socket event: one is made. */
static void kill_now(struct ws_conn *w)
{
	if (w->wsi) {
		lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		lws_cancel_service(lws_get_context(w->wsi));
	}
}

static void kill_conn(struct timer *t)
{
	kill_now(ws_timer_conn(t));
}

int ws_timer_arm(struct ws_conn *w, uint64_t at, timer_fn fn)
{
	if (!w->timer) {
		w->timer = calloc(1, sizeof(*w->timer));
		if (!w->timer)
			return -1;
		w->timer->w = w;
	}
	timer_arm(w->engine->wheel, &w->timer->t, at, fn);
	return 0;
}

void ws_timer_free(struct ws_conn *w)
{
	if (w->timer) {
		timer_cancel(w->engine->wheel, &w->timer->t);
		free(w->timer);
		w->timer = NULL;
	}
}

void ws_request_write(struct ws_conn *w)
{
	if (w->wsi)
		lws_callback_on_writable(w->wsi);
}

/* ---- output ------------------------------------------------------------- */

_Static_assert(OUTBUF_PRE >= 10, "OUTBUF_PRE must hold a frame header");

/* The frame of a queued packet: header (written into the headroom) and
 * payload, as one contiguous span. A binary packet is its bytes alone in
 * v4, its type byte then its bytes in v3. */
static struct iovec packet_frame(struct outbuf *o, int protocol)
{
	bool bare = o->binary && protocol != 3;
	uint8_t *payload = bare ? outbuf_data(o) : o->mem + OUTBUF_PRE;
	size_t len = bare ? o->len : o->len + 1;
	size_t h = ws_frame_header_before(payload, o->binary ? WS_OP_BINARY : WS_OP_TEXT, len);
	return (struct iovec){.iov_base = payload - h, .iov_len = h + len};
}

/* Appends a whole frame to the control output. Returns 0 or -1. */
static int out_frame(struct ws_conn *w, uint8_t opcode, const void *p, size_t len)
{
	uint8_t h[14];
	size_t n = ws_frame_header_before(h + 10, opcode, len);
	struct ws_ctl *c = ctl_get(w);
	if (!c || buf_append(&c->out, h + 10 - n, n) < 0 || buf_append(&c->out, p, len) < 0)
		return -1;
	return 0;
}

/*
 * Sends what is pending: the rest of a cut frame, control bytes, then
 * (unless closing) the session's queue, up to MAX_IOV frames per system
 * call, until the kernel takes less than offered. A frame the kernel cut
 * is kept by reference (w->cur), not copied. Returns -1 when the socket
 * failed.
 */
static int ws_send(struct ws_conn *w)
{
	if (!w->wsi || w->blocked)
		return 0;
	struct front_conn *fc = ws_front(w);
	struct tls_conn *tls = fc->tls;
	if (tls) {
		/* records from before wait for the socket: nothing more yet */
		if (conn_tls_flush(fc) < 0)
			return -1;
		if (tls_conn_blocked(tls)) {
			w->blocked = true;
			return 0;
		}
	}
	if (lws_partial_buffered(w->wsi)) {
		/* a response of the front's, from before the upgrade */
		w->blocked = true;
		lws_callback_on_writable(w->wsi);
		return 0;
	}
	if (w->probe_pong && !w->closing) {
		w->probe_pong = false;
		if (out_frame(w, WS_OP_TEXT, "3probe", 6) < 0)
			return -1;
		w->engine->stats.packets_sent++;
	}
	int fd = lws_get_socket_fd(w->wsi);
	for (;;) {
		struct iovec iov[MAX_IOV];
		int niov = 0, first_packet;
		size_t total = 0;
		uint32_t npackets = 0;
		size_t cur_left = 0;
		if (w->cur) {
			struct iovec f = packet_frame(w->cur, w->protocol);
			cur_left = f.iov_len - w->cur_off;
			iov[niov++] = (struct iovec){.iov_base = (uint8_t *)f.iov_base + w->cur_off,
			                             .iov_len = cur_left};
		}
		struct ws_ctl *ctl = w->ctl;
		if (ctl_left(w))
			iov[niov++] = (struct iovec){.iov_base = ctl->out.data + ctl->off,
			                             .iov_len = ctl->out.len - ctl->off};
		struct sio_eio_socket *s = w->tr.sess;
		first_packet = niov;
		if (!w->closing && s && s->tr == &w->tr) {
			while (niov < MAX_IOV && npackets < s->out.count) {
				struct outbuf *o = queue_at(&s->out, npackets);
				iov[niov++] = packet_frame(o, w->protocol);
				npackets++;
				if (o->type == EIO_CLOSE)
					break; /* nothing goes after the close packet */
			}
		}
		if (niov == 0)
			break;
		for (int i = 0; i < niov; i++)
			total += iov[i].iov_len;
		ssize_t sent;
		if (tls) {
			sent = conn_tls_sendv(fc, iov, niov); /* counts the bytes on the wire */
		} else {
			struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
			sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				w->blocked = true;
				break;
			}
			count_out(w);
			return -1;
		}
		/* take off what the kernel took, in the order offered */
		size_t k = (size_t)sent;
		if (!tls)
			w->engine->stats.bytes_sent += k;
		if (w->cur) {
			size_t t = k < cur_left ? k : cur_left;
			w->cur_off += t;
			k -= t;
			if (t == cur_left) {
				outbuf_unref(w->cur);
				w->cur = NULL;
				w->cur_off = 0;
			}
		}
		if (ctl_left(w)) {
			size_t left = ctl_left(w);
			size_t t = k < left ? k : left;
			ctl->off += t;
			k -= t;
			if (t == left)
				ctl_drop(w); /* the handshake and control frames: kept no longer */
		}
		for (int i = first_packet; i < niov && k > 0; i++) {
			struct outbuf *o = queue_pop(&s->engine->pool, &s->out);
			struct iovec f = iov[i];
			w->engine->stats.packets_sent++;
			bool is_close = o->type == EIO_CLOSE;
			if (k >= f.iov_len) {
				k -= f.iov_len;
				outbuf_unref(o);
			} else {
				w->cur = o; /* the reference moves from the queue */
				w->cur_off = k;
				k = 0;
			}
			if (is_close && s->state == SS_CLOSING)
				session_close_written(s);
		}
		/* TLS takes at most TLS_BATCH_MAX at once: more is taken while
		 * the socket takes the records */
		if (tls ? tls_conn_blocked(tls) : (size_t)sent < total) {
			w->blocked = true;
			break;
		}
	}
	count_out(w);
	if (w->blocked) {
		lws_callback_on_writable(w->wsi);
		return 0;
	}
	if (w->closing && !w->draining && !w->cur && !ctl_left(w)) {
		/* our close frame is out: stop writing, read until the peer's
		 * FIN (so that unread input does not turn into a reset that
		 * loses the close frame), for DRAIN_MS at most */
		w->draining = true;
		conn_shutdown_write(fc);
		if (ws_timer_arm(w, now_ms() + DRAIN_MS, kill_conn) < 0)
			kill_now(w);
	}
	return 0;
}

static void ws_flush(struct ws_conn *w)
{
	/* Written now rather than after a round through POLLOUT, which costs
	 * two epoll_ctl calls and a loop turn per message. */
	if (ws_send(w) < 0)
		kill_now(w);
}

void ws_close(struct ws_conn *w, int code)
{
	if (w->closing)
		return;
	w->closing = true;
	uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	if (out_frame(w, WS_OP_CLOSE, p, code ? 2 : 0) < 0)
		kill_now(w);
	/* A peer that stopped reading (a slow consumer cut off for "queue
	 * full") never takes the close frame: its socket goes after a while. */
	if (ws_timer_arm(w, now_ms() + CLOSE_WAIT_MS, kill_conn) < 0)
		kill_now(w);
	count_out(w);
	ws_request_write(w);
}

/* The session learns that w is gone: the transport it used, or the probe
 * of its upgrade. */
static void ws_lost(struct ws_conn *w)
{
	struct sio_eio_socket *s = w->tr.sess;
	if (!s)
		return;
	w->tr.sess = NULL;
	if (s->probe == w)
		upgrade_probe_lost(s);
	else if (s->tr == &w->tr)
		session_transport_lost(s, EIO_CLOSE_TRANSPORT_CLOSE);
}

/* The peer broke the protocol (or closed): no more input is read; the
 * session learns now that its transport is gone. */
static void ws_fail(struct ws_conn *w, int code)
{
	ws_close(w, code);
	ws_lost(w);
}

/* One message: an Engine.IO packet (a binary message is a binary one). */
static void ws_message(struct ws_conn *w, uint8_t *data, size_t len, bool binary)
{
	struct sio_eio_socket *s = w->tr.sess;
	if (!s)
		return;
	struct eio_packet p;
	bool ok = true;
	if (binary && s->protocol == 3) {
		/* v3: the type byte, then the bytes */
		ok = len > 0 && data[0] <= EIO_NOOP;
		if (ok)
			p = (struct eio_packet){.type = (enum eio_packet_type)data[0],
						.binary = true,
						.data = data + 1,
						.len = len - 1};
	} else if (binary) {
		p = (struct eio_packet){.type = EIO_MESSAGE, .binary = true, .data = data, .len = len};
	} else {
		ok = eio_packet_decode(data, len, &p) == EIO_DECODE_OK;
	}
	if (s->probe == w)
		upgrade_probe_packet(s, ok ? &p : NULL);
	else if (!ok)
		session_fail(s, EIO_CLOSE_PARSE_ERROR);
	else
		session_on_packet(s, &p);
}

/* ---- input -------------------------------------------------------------- */

int ws_on_data(struct ws_conn *w, uint8_t *data, size_t len)
{
	while (len && !w->closing) {
		struct ws_event ev;
		size_t used = ws_parse(&w->rx, &w->engine->pool, data, len, &ev);
		data += used;
		len -= used;
		switch (ev.type) {
		case WS_EV_NONE:
			break;
		case WS_EV_MESSAGE:
			ws_message(w, (uint8_t *)ev.data, ev.len, ev.binary);
			break;
		case WS_EV_PING:
			/* answered unless pongs pile up behind a peer that does not read */
			if (ctl_left(w) < MAX_CONTROL_OUT &&
			    out_frame(w, WS_OP_PONG, ev.data, ev.len) == 0)
				ws_request_write(w);
			break;
		case WS_EV_PONG:
			break;
		case WS_EV_CLOSE:
			ws_fail(w, ev.code); /* answered in kind (no code: none) */
			break;
		case WS_EV_ERROR:
			ws_fail(w, ev.code);
			break;
		}
	}
	ws_parser_shrink(&w->rx, &w->engine->pool);
	return 0;
}

/* ---- the connection ----------------------------------------------------- */

int ws_open(struct ws_conn *w, struct eio_engine *e, struct lws *wsi, const char *key,
	    struct buf *pending, size_t pending_off, const struct buf *headers)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char in[24 + sizeof(guid)];
	uint8_t digest[20];
	char accept[29];
	memset(w, 0, sizeof(*w));
	w->wsi = wsi;
	w->engine = e;
	w->tr.ops = &ws_transport_ops;
	w->rx.max_message = e->opts->max_http_buffer_size;
	memcpy(in, key, 24);
	memcpy(in + 24, guid, sizeof(guid) - 1);
	lws_SHA1((const unsigned char *)in, 24 + sizeof(guid) - 1, digest);
	accept[eio_base64_encode(digest, 20, accept)] = '\0';
	struct ws_ctl *c = ctl_get(w);
	if (!c) {
		buf_free(pending);
		return -1;
	}
	/* what is still to be written goes first, moved, not copied */
	c->out = *pending;
	c->off = pending_off;
	*pending = (struct buf){0};
	int rc = buf_printf(&c->out,
	                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
	                    accept);
	if (headers)
		rc |= buf_append(&c->out, headers->data, headers->len);
	rc |= buf_append_str(&c->out, "\r\n");
	if (rc) {
		ctl_drop(w);
		return -1;
	}
	count_out(w);
	return 0;
}

int ws_on_writeable(struct ws_conn *w)
{
	w->blocked = false;
	return ws_send(w);
}

void ws_on_closed(struct ws_conn *w)
{
	w->wsi = NULL;
	ws_timer_free(w);
	ws_lost(w);
	if (w->cur)
		outbuf_unref(w->cur);
	w->cur = NULL;
	ctl_drop(w);
	count_out(w);
	ws_parser_free(&w->rx, &w->engine->pool);
}

/* ---- the transport seam ------------------------------------------------- */

static struct ws_conn *ws_of(const struct eio_transport *t)
{
	return container_of(t, struct ws_conn, tr);
}

static void ws_t_flush(struct eio_transport *t)
{
	struct ws_conn *w = ws_of(t);
	if (t->sess && t->sess->out.count)
		ws_flush(w);
}

static bool ws_t_ready(const struct eio_transport *t)
{
	(void)t;
	return true; /* an open websocket takes what is queued at once */
}

static void ws_t_close(struct eio_transport *t, bool noop)
{
	(void)noop;
	t->sess = NULL;
	ws_close(ws_of(t), 1000);
}

static void ws_t_release(struct eio_transport *t)
{
	t->sess = NULL;
}

const struct eio_transport_ops ws_transport_ops = {
	.kind = SIO_TRANSPORT_WEBSOCKET,
	.flush = ws_t_flush,
	.ready = ws_t_ready,
	.close = ws_t_close,
	.release = ws_t_release,
};
