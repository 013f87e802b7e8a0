#include "transports/upgrade.h"

#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "http/response.h"
#include "transports/handshake.h"
#include "transports/websocket.h"

/* A refused websocket upgrade, as the reference's abortUpgrade. */
static void refuse(struct front_conn *c, const char *message)
{
	conn_respond(c, 400, "text/html", NULL, message, strlen(message), false);
}

void upgrade_abort(struct sio_eio_socket *s)
{
	struct ws_conn *w = s->probe;
	s->probe = NULL;
	s->upgrading = false;
	w->tr.sess = NULL;
	ws_close(w, 1000); /* its timer, the upgrade's until now, is the close's */
}

static void upgrade_expired(struct timer *t)
{
	upgrade_abort(ws_timer_conn(t)->tr.sess);
}

/* The new websocket w serves the session sid names as its probe, or with
 * sid NULL the new session `fresh` (from session_alloc(); taken, freed on
 * failure). */
static void established(struct eio_engine *e, struct ws_conn *w, const char *sid,
                        struct sio_eio_socket *fresh)
{
	if (sid) {
		struct sio_eio_socket *s = session_find(e, sid, strlen(sid));
		if (!s || s->state != SS_OPEN || s->probe ||
		    session_transport(s) != SIO_TRANSPORT_POLLING) {
			ws_close(w, 1000);
			return;
		}
		if (ws_timer_arm(w, now_ms() + e->opts->upgrade_timeout, upgrade_expired) < 0) {
			ws_close(w, 1011);
			return;
		}
		s->probe = w;
		w->tr.sess = s;
		w->protocol = s->protocol;
		return;
	}
	struct sio_eio_socket *s = session_create(e, fresh, &w->tr);
	if (s)
		w->protocol = s->protocol;
	else
		ws_close(w, 1011);
}

int upgrade_request(struct front_conn *c, size_t used)
{
	struct eio_engine *e = c->engine;
	struct sio_request *req = h1_request(c->h1);
	if (!handshake_engine_path(e, req) || !(e->opts->transports & SIO_TRANSPORT_WEBSOCKET)) {
		c->close_after = true; /* as Node, an upgrade nobody handles is dropped */
		conn_want_write(c);
		return 0;
	}
	struct sio_eio_socket *s;
	const char *message;
	enum eio_error_code code = handshake_verify(e, req, true, &s, &message);
	if (code != EIO_ERR_NONE) {
		engine_refuse(e, handshake_refusal(code, req), req, NULL, message);
		refuse(c, message ? message : eio_error_message(code));
		return 0;
	}
	const char *transport = sio_request_query(req, "transport");
	if (strcmp(transport, "websocket") != 0) {
		engine_refuse(e, EIO_REFUSED_BAD_REQUEST, req, NULL, "upgrade to polling");
		refuse(c, eio_error_message(EIO_ERR_BAD_REQUEST));
		return 0;
	}
	const char *err = handshake_ws_headers_error(req);
	if (err) {
		engine_refuse(e, EIO_REFUSED_BAD_REQUEST, req, NULL, err);
		refuse(c, err);
		return 0;
	}
	struct sio_eio_socket *fresh = NULL;
	if (!s) {
		if (!handshake_protocol_allowed(e, handshake_protocol(req))) {
			engine_refuse(e, EIO_REFUSED_UNSUPPORTED_VERSION, req, NULL, NULL);
			refuse(c, eio_error_message(EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION));
			return 0;
		}
		if (!engine_accepts_handshake(e)) {
			engine_refuse(e,
			              e->stopping ? EIO_REFUSED_SHUTTING_DOWN
			                          : EIO_REFUSED_PENDING_CAP,
			              req, NULL, NULL);
			conn_respond(c, 503, NULL, NULL, NULL, 0, false);
			return 0;
		}
		fresh = session_alloc(req);
		if (!fresh) {
			refuse(c, eio_error_message(EIO_ERR_BAD_REQUEST));
			return 0;
		}
	}
	struct buf headers = {0};
	conn_engine_headers(c, req, &headers, !s);
	char key[25];
	snprintf(key, sizeof(key), "%s", sio_request_header(req, "sec-websocket-key"));

	/* The connection becomes a websocket: the HTTP state goes. Responses
	 * to earlier requests not yet written go out first; the bytes after
	 * this request are frames. */
	struct buf pending = c->out;
	size_t pending_off = c->out_off;
	c->out = (struct buf){0};
	c->out_off = 0;
	conn_count_out(c);
	struct pool_buf rest = c->in;
	c->in = (struct pool_buf){0};
	pool_buf_consume(&e->pool, &rest, used);
	timer_cancel(e->wheel, &c->timer);
	if (c->rx_paused)
		lws_rx_flow_control(c->wsi, 1);
	h1_destroy(c->h1);
	conn_body_free(c);
	c->is_ws = true;
	int rc = ws_open(&c->ws, e, c->wsi, key, &pending, pending_off, &headers);
	buf_free(&headers);
	if (rc < 0) {
		if (fresh)
			session_discard(fresh);
		pool_buf_free(&e->pool, &rest);
		return -1;
	}
	established(e, &c->ws, s ? s->sid : NULL, fresh);
	rc = rest.len ? ws_on_data(&c->ws, rest.data, rest.len) : 0;
	pool_buf_free(&e->pool, &rest);
	ws_request_write(&c->ws);
	return rc < 0 ? -1 : 1;
}

/* The probe becomes the session's transport; the old one lets go (a
 * held GET gets a noop: the client has paused polling). */
static void complete(struct sio_eio_socket *s, struct ws_conn *w)
{
	struct eio_engine *e = s->engine;
	ws_timer_free(w);
	struct eio_transport *old = s->tr;
	s->probe = NULL;
	s->upgrading = false;
	s->tr = &w->tr;
	s->transport = SIO_TRANSPORT_WEBSOCKET;
	old->ops->release(old);
	e->stats.upgrades++;
	if (e->hooks.ev.upgrade)
		e->hooks.ev.upgrade(s, e->hooks.userdata);
	session_mark_dirty(s);
}

void upgrade_probe_packet(struct sio_eio_socket *s, const struct eio_packet *p)
{
	struct ws_conn *w = s->probe;
	if (p)
		s->engine->stats.packets_received++;
	if (!p || (s->state != SS_OPEN && s->state != SS_CLOSING))
		goto abort;
	if (p->type == EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
		w->probe_pong = true;
		ws_request_write(w);
		s->upgrading = true;
		session_mark_dirty(s); /* answers a held GET with a noop */
		return;
	}
	if (p->type == EIO_UPGRADE && s->upgrading) {
		complete(s, w);
		return;
	}
abort:
	/* anything else on a probe aborts the upgrade, as the reference */
	upgrade_abort(s);
}

void upgrade_probe_lost(struct sio_eio_socket *s)
{
	/* the probe's timer is websocket.c's again: cancelled, or timing its
	 * close */
	s->probe = NULL;
	s->upgrading = false;
	session_mark_dirty(s);
}
