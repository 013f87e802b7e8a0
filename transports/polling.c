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
#include "protocol/eio_v3.h"
#include "protocol/utf8.h"
#include "transports/handshake.h"

#define MAX_PAYLOAD_PACKETS 10000 /* packets in one POST */

#define JSONP_INDEX_MAX 31 /* bytes of the j parameter kept */

struct polling {
	struct eio_transport tr;
	struct front_conn *get;  /* the GET held */
	struct front_conn *post; /* the POST being received */
	/* Engine.IO v3, from the handshake request as the reference takes them */
	bool b64;                    /* binary as base64 in text payloads (a b64 parameter) */
	bool jsonp;                  /* JSONP polling (a j parameter) */
	char j[JSONP_INDEX_MAX + 1]; /* the j parameter, cut to JSONP_INDEX_MAX bytes */
};

static const struct eio_transport_ops polling_ops;

static struct polling *polling_of(struct sio_eio_socket *s)
{
	if (!s->tr || s->tr->ops != &polling_ops)
		return NULL;
	return container_of(s->tr, struct polling, tr);
}

/* How the packets of a v3 response are framed for this client. */
static enum eio3_payload_kind v3_kind(const struct polling *p, const struct queue *q, uint32_t n)
{
	if (p->jsonp)
		return EIO3_PAYLOAD_JSONP;
	for (uint32_t i = 0; !p->b64 && i < n; i++)
		if (queue_at(q, i)->binary)
			return EIO3_PAYLOAD_BINARY;
	return EIO3_PAYLOAD_TEXT;
}

/* One packet's length in the response's framing. */
static size_t packet_len(int protocol, enum eio3_payload_kind kind, struct outbuf *o, bool first)
{
	if (protocol == 3)
		return eio3_packet_len(kind, (enum eio_packet_type)o->type, o->binary,
		                       outbuf_data(o), o->len);
	return (first ? 0 : 1) + eio_packet_payload_len(o->type, o->binary, o->len);
}

/* Writes it; returns the count. */
static size_t packet_write(int protocol, enum eio3_payload_kind kind, struct outbuf *o, bool first,
                           uint8_t *out)
{
	if (protocol == 3)
		return eio3_packet_write(kind, (enum eio_packet_type)o->type, o->binary,
		                         outbuf_data(o), o->len, out);
	size_t n = 0;
	if (!first)
		out[n++] = EIO_SEPARATOR;
	return n + eio_packet_payload_write(o->type, o->binary, outbuf_data(o), o->len, out + n);
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
	int protocol = s->protocol;

	buf_append_str(&h, "cache-control: no-store\r\n");
	conn_engine_headers(c, req, &h, c->handshake);
	uint32_t npackets = 0;
	if (!noop) {
		/* As the reference, the close packet of sio_eio_close() goes in a
		 * response of its own, after what was queued before it: a client
		 * handles the close first when both come in one payload. */
		while (npackets < s->out.count &&
		       !(npackets > 0 && queue_at(&s->out, npackets)->type == EIO_CLOSE))
			npackets++;
	}
	enum eio3_payload_kind kind = v3_kind(p, &s->out, npackets);
	bool jsonp = protocol == 3 && kind == EIO3_PAYLOAD_JSONP;
	size_t len = 0;
	if (noop)
		len = protocol == 3 ? eio3_packet_len(kind, EIO_NOOP, false, NULL, 0) : 1;
	for (uint32_t i = 0; i < npackets; i++)
		len += packet_len(protocol, kind, queue_at(&s->out, i), i == 0);
	size_t jlen = strlen(p->j);
	if (jsonp)
		len += eio3_jsonp_head_len(p->j, jlen) + strlen(EIO3_JSONP_FOOT);
	bool keep = h1_keep_alive(c->h1);
	const char *ctype = protocol == 3 && kind == EIO3_PAYLOAD_BINARY
	                            ? "application/octet-stream"
	                            : "text/plain; charset=UTF-8";
	int rc = http_head(&c->out, 200, ctype, len, &h, keep);
	buf_free(&h);
	if (rc == 0 && buf_reserve(&c->out, len) < 0)
		rc = -1;
	uint8_t *w = rc == 0 ? c->out.data + c->out.len : NULL;
	if (w)
		c->engine->stats.packets_sent += noop ? 1 : npackets;
	if (w && jsonp)
		w += eio3_jsonp_head_write(p->j, jlen, w);
	if (w && noop && protocol == 3) {
		w += eio3_packet_write(kind, EIO_NOOP, false, NULL, 0, w);
	} else if (w && noop) {
		*w++ = '6';
	} else if (w) {
		struct outbuf *o;
		for (uint32_t i = 0; i < npackets && (o = queue_pop(&s->engine->pool, &s->out)); i++) {
			w += packet_write(protocol, kind, o, i == 0, w);
			if (o->type == EIO_CLOSE && s->state == SS_CLOSING)
				close_written = true;
			outbuf_unref(o);
		}
	}
	if (w && jsonp) {
		memcpy(w, EIO3_JSONP_FOOT, strlen(EIO3_JSONP_FOOT));
		w += strlen(EIO3_JSONP_FOOT);
	}
	if (w)
		c->out.len = (size_t)(w - c->out.data);
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
	if (p) {
		p->tr.ops = &polling_ops;
		/* v3: base64 binary when b64 is set to anything, JSONP with a j */
		size_t len = 0;
		const char *v = request_query_n(req, "b64", &len);
		p->b64 = v && len > 0;
		v = request_query_n(req, "j", &len);
		p->jsonp = v != NULL;
		if (v)
			memcpy(p->j, v, len < JSONP_INDEX_MAX ? len : JSONP_INDEX_MAX);
	}
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
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR);
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
/* The payload decoders, one per framing. */
typedef int (*payload_next_fn)(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

static bool feed(struct sio_eio_socket *s, payload_next_fn next, uint8_t *body, size_t len)
{
	bool ok = true;
	if (s->protocol != 3) {
		size_t count = 1;
		for (size_t i = 0; i < len; i++)
			count += body[i] == EIO_SEPARATOR;
		ok = count <= MAX_PAYLOAD_PACKETS;
	}
	size_t pos = 0, n = 0;
	struct eio_packet p;
	int r = 0;
	while (ok && s->state == SS_OPEN && (r = next(body, len, &pos, &p)) > 0) {
		struct utf8_state u = {0};
		/* v3 payloads are not counted first: the packets before the
		 * MAX_PAYLOAD_PACKETS-th are handled */
		if (++n > MAX_PAYLOAD_PACKETS ||
		    (!p.binary && (!utf8_feed(&u, p.data, p.len) || !utf8_complete(&u)))) {
			ok = false;
			break;
		}
		session_on_packet(s, &p);
	}
	if (!ok || r < 0) {
		session_fail(s, EIO_CLOSE_PARSE_ERROR);
		return false;
	}
	return true;
}

void polling_post(struct front_conn *c, struct sio_eio_socket *s, const struct sio_request *req,
                  bool keep_alive)
{
	struct polling *p = polling_of(s);
	const char *ct = sio_request_header(req, "content-type");
	bool binary = ct && strcmp(ct, "application/octet-stream") == 0;
	payload_next_fn next = eio_payload_next;
	uint8_t *body = c->body.data;
	size_t len = c->body.len;
	int jsonp = EIO3_JSONP_PAYLOAD;
	if (s->protocol == 3) {
		/* v3: XHR2 binary payloads, JSONP form bodies, text payloads */
		next = binary ? eio3_binary_payload_next : eio3_payload_next;
		if (p && p->jsonp && !binary)
			jsonp = eio3_jsonp_body_decode(body, len, &body, &len);
		binary = false;
	}
	if (!p || p->post != c) {
		/* another POST is in flight for this session */
		conn_respond_bare(c, 400, keep_alive);
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR);
	} else if (binary) {
		/* v4 has no binary payload: the reference's "invalid content" */
		p->post = NULL;
		conn_respond_bare(c, 400, keep_alive);
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR);
	} else {
		p->post = NULL;
		bool ok = jsonp == EIO3_JSONP_NONE ||
		          (jsonp == EIO3_JSONP_PAYLOAD && feed(s, next, body, len));
		if (jsonp == EIO3_JSONP_ERROR)
			session_fail(s, EIO_CLOSE_PARSE_ERROR);
		if (ok) {
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
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR); /* poll closed prematurely */
	}
	if (p && p->post == c) {
		p->post = NULL;
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR); /* data request closed prematurely */
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
