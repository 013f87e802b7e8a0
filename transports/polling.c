/*
 * Long-polling. A session on polling has one struct polling: the GET held
 * for it and the POST being received for it, each a front connection. The
 * held GET is answered with every queued packet in one payload, or a noop
 * when the client must pause (an upgrade, a close it asked for).
 */
#include "transports/polling.h"

#include <stdlib.h>
#include <string.h>

#include "http/cors.h"
#include "http/response.h"
#include "protocol/utf8.h"
#include "transports/handshake.h"

#define MAX_PAYLOAD_PACKETS 10000 /* packets in one POST */

struct polling {
	struct eio_transport tr;
	struct front_conn *get;  /* the GET held */
	struct front_conn *post; /* the POST being received */
};

static const struct eio_transport_ops polling_ops;

static struct polling *polling_of(struct sio_eio_socket *s)
{
	if (!s->tr || s->tr->ops != &polling_ops)
		return NULL;
	return container_of(s->tr, struct polling, tr);
}

/* Answers the held GET with a payload of the queued packets (or a single
 * noop), and lets it go on with its next request. */
static void respond(struct polling *p, bool noop)
{
	struct front_conn *c = p->get;
	struct sio_eio_socket *s = p->tr.sess;
	const struct sio_request *req = h1_request(c->h1);
	struct buf h = {0};
	bool close_written = false;

	buf_append_str(&h, "cache-control: no-store\r\n");
	conn_engine_headers(c, req, &h, c->handshake);
	size_t len = 0;
	uint32_t npackets = 0;
	if (noop) {
		len = 1;
	} else {
		/* As the reference, the close packet of sio_eio_close() goes in a
		 * response of its own, after what was queued before it: a client
		 * handles the close first when both come in one payload. */
		for (uint32_t i = 0; i < s->out.count; i++) {
			struct outbuf *o = queue_at(&s->out, i);
			if (o->type == EIO_CLOSE && i > 0)
				break;
			len += (i ? 1 : 0) + eio_packet_payload_len(o->type, o->binary, o->len);
			npackets++;
		}
	}
	bool keep = h1_keep_alive(c->h1);
	int rc = http_head(&c->out, 200, "text/plain; charset=UTF-8", len, &h, keep);
	buf_free(&h);
	if (rc == 0 && buf_reserve(&c->out, len) < 0)
		rc = -1;
	if (rc == 0 && noop) {
		c->out.data[c->out.len++] = '6';
	} else if (rc == 0) {
		bool first = true;
		struct outbuf *o;
		while (npackets-- > 0 && (o = queue_pop(&s->engine->pool, &s->out))) {
			if (!first)
				c->out.data[c->out.len++] = EIO_SEPARATOR;
			first = false;
			c->out.len += eio_packet_payload_write(o->type, o->binary, outbuf_data(o),
			                                       o->len, c->out.data + c->out.len);
			if (o->type == EIO_CLOSE && s->state == SS_CLOSING)
				close_written = true;
			outbuf_unref(o);
		}
	}
	if (rc || !keep)
		c->close_after = true;
	p->get = NULL;
	conn_request_done(c);
	if (close_written)
		session_close_written(s);
}

/* c is told its session is gone; a POST still arriving is dropped, as the
 * reference destroys a data request. */
static void detach_post(struct front_conn *c, bool close)
{
	if (close) {
		c->close_after = true;
		conn_want_write(c);
	}
	c->sess = NULL;
	c->role = ROLE_NONE;
}

void polling_handshake(struct front_conn *c, struct sio_request *req)
{
	struct eio_engine *e = c->engine;
	struct polling *p = calloc(1, sizeof(*p));
	if (p)
		p->tr.ops = &polling_ops;
	struct sio_eio_socket *fresh = p ? session_alloc(req) : NULL;
	struct sio_eio_socket *s = fresh ? session_create(e, fresh, &p->tr) : NULL;
	if (!s) {
		free(p);
		conn_respond_error(c, req, EIO_ERR_BAD_REQUEST, NULL, false);
		return;
	}
	c->handshake = true;
	c->busy = true;
	c->sess = s;
	c->role = ROLE_GET;
	p->get = c;
	session_mark_dirty(s);
}

void polling_get(struct front_conn *c, struct sio_eio_socket *s, bool keep_alive)
{
	struct polling *p = polling_of(s);
	if (p->get) {
		/* a second GET: the reference answers 400 and closes the session */
		conn_respond_bare(c, 400, keep_alive);
		session_fail(s, "transport error");
		return;
	}
	c->busy = true;
	c->sess = s;
	c->role = ROLE_GET;
	p->get = c;
	session_mark_dirty(s);
}

void polling_claim_post(struct front_conn *c, struct eio_engine *e, const char *sid, size_t sid_len)
{
	struct sio_eio_socket *s = sid ? session_find(e, sid, sid_len) : NULL;
	struct polling *p = s && s->state == SS_OPEN ? polling_of(s) : NULL;
	if (p && !p->post) {
		p->post = c;
		c->sess = s;
		c->role = ROLE_POST;
	}
}

void polling_release_post(struct front_conn *c)
{
	if (c->role != ROLE_POST)
		return;
	struct polling *p = c->sess ? polling_of(c->sess) : NULL;
	if (p && p->post == c)
		p->post = NULL;
	c->sess = NULL;
	c->role = ROLE_NONE;
}

/* A POST body for session s is complete: feed its packets. Returns false
 * when the payload is refused (the session is then closed, "parse error";
 * the reference answers 200 there, we answer 400): malformed, more than
 * MAX_PAYLOAD_PACKETS packets (counted before any is handled), or text
 * that is not UTF-8 (the message callback promises UTF-8). */
static bool feed(struct front_conn *c, struct sio_eio_socket *s)
{
	uint8_t *body = c->body ? c->body->data : NULL;
	size_t len = c->body ? c->body->len : 0;
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		count += body[i] == EIO_SEPARATOR;
	bool ok = count <= MAX_PAYLOAD_PACKETS;
	size_t pos = 0;
	struct eio_packet p;
	int r = 0;
	while (ok && s->state == SS_OPEN && (r = eio_payload_next(body, len, &pos, &p)) > 0) {
		struct utf8_state u = {0};
		if (!p.binary && (!utf8_feed(&u, p.data, p.len) || !utf8_complete(&u))) {
			ok = false;
			break;
		}
		session_on_packet(s, &p);
	}
	if (!ok || r < 0) {
		session_fail(s, "parse error");
		return false;
	}
	return true;
}

void polling_post(struct front_conn *c, struct sio_eio_socket *s, const struct sio_request *req,
                  bool keep_alive)
{
	struct polling *p = polling_of(s);
	const char *ct = sio_request_header(req, "content-type");
	if (!p || p->post != c) {
		/* another POST is in flight for this session */
		conn_respond_bare(c, 400, keep_alive);
		session_fail(s, "transport error");
	} else if (ct && strcmp(ct, "application/octet-stream") == 0) {
		p->post = NULL;
		conn_respond_bare(c, 400, keep_alive);
		session_fail(s, "transport error");
	} else {
		p->post = NULL;
		if (feed(c, s)) {
			struct buf h = {0};
			buf_append_str(&h, "cache-control: no-store\r\n");
			conn_engine_headers(c, req, &h, false);
			conn_respond(c, 200, "text/html", &h, "ok", 2, keep_alive);
			buf_free(&h);
		} else {
			conn_respond_bare(c, 400, keep_alive);
		}
	}
	c->sess = NULL;
	c->role = ROLE_NONE;
}

void polling_conn_closed(struct front_conn *c)
{
	struct sio_eio_socket *s = c->sess;
	struct polling *p = s ? polling_of(s) : NULL;
	if (p && p->get == c) {
		p->get = NULL;
		session_fail(s, "transport error"); /* poll closed prematurely */
	}
	if (p && p->post == c) {
		p->post = NULL;
		session_fail(s, "transport error"); /* data request closed prematurely */
	}
	c->sess = NULL;
}

/* ---- the transport seam ------------------------------------------------- */

static void polling_flush(struct eio_transport *t)
{
	struct polling *p = container_of(t, struct polling, tr);
	if (!p->get)
		return;
	if (t->sess->out.count)
		respond(p, false);
	else if (t->sess->upgrading)
		respond(p, true);
}

static bool polling_ready(const struct eio_transport *t)
{
	return container_of(t, const struct polling, tr)->get != NULL;
}

/* Lets go of the session: the held GET answered with a noop (or, closing,
 * with the close packet), a POST still arriving dropped (when closing) or
 * left to finish on its own. */
static void polling_end(struct eio_transport *t, bool closing, bool noop)
{
	struct polling *p = container_of(t, struct polling, tr);
	struct sio_eio_socket *s = t->sess;
	if (p->get) {
		struct outbuf *o = noop ? NULL : outbuf_new(&s->engine->pool, EIO_CLOSE, false, NULL, 0);
		if (noop || (o && queue_push(&s->engine->pool, &s->out, o) == 0)) {
			respond(p, noop);
		} else {
			outbuf_unref(o);
			detach_post(p->get, false);
		}
	}
	if (p->post)
		detach_post(p->post, closing);
	free(p);
}

static void polling_close(struct eio_transport *t, bool noop)
{
	polling_end(t, true, noop);
}

static void polling_release(struct eio_transport *t)
{
	polling_end(t, false, true);
}

static const struct eio_transport_ops polling_ops = {
        .kind = SIO_TRANSPORT_POLLING,
        .flush = polling_flush,
        .ready = polling_ready,
        .close = polling_close,
        .release = polling_release,
};
