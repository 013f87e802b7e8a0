/*
 * Front connections: every accepted socket is a raw lws connection whose
 * bytes go through http/http1.c. This file runs their life (accept,
 * timers, reads, writes, close) and routes each request: static files,
 * CORS preflights, and Engine.IO requests, checked (handshake.c) then
 * served as long-polling (polling.c) or turned into a websocket
 * (upgrade.c, websocket.c).
 */
#include "transports/front.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "base/log.h"
#include "http/cors.h"
#include "http/forwarded.h"
#include "http/response.h"
#include "http/static.h"
#include "transports/handshake.h"
#include "transports/polling.h"
#include "transports/tls.h"
#include "transports/upgrade.h"

#define OUT_CHUNK 65536
#define MAX_BUFFERED_INPUT 65536 /* read ahead while a request is held */
#define MAX_OTHER_BODY 65536     /* body of a request that is not a POST to us */
#define DRAIN_MS 2000 /* how long a closing connection's input is read and dropped */

_Static_assert(offsetof(struct front_conn, wsi) == offsetof(struct front_conn, ws.wsi) &&
		       offsetof(struct front_conn, engine) == offsetof(struct front_conn, ws.engine),
	       "the HTTP and websocket states must begin alike");

/* ---- the peer's address ------------------------------------------------- */

/* Room for the text of any peer_addr. */
#define PEER_TEXT_SIZE 64

/* Reads the peer's address of fd into *p (AF_UNSPEC when getpeername
 * fails or the socket is neither IPv4 nor IPv6). */
static void peer_read(int fd, struct peer_addr *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(p, 0, sizeof(*p));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		p->family = AF_INET;
		memcpy(p->bytes, &sin->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		p->family = AF_INET6;
		memcpy(p->bytes, &sin6->sin6_addr, 16);
	}
}

/*
 * Writes p as text into buf[PEER_TEXT_SIZE] and returns buf: the text
 * lws_get_peer_simple() gives, as lws 4.1.6 writes it with
 * lws_write_numeric_address() (which differs from inet_ntop() for some
 * IPv6 addresses: it elides the first run of zero groups, not the
 * longest). An IPv4 peer of a dual-stack listener is "::ffff:a.b.c.d".
 * An unknown address is "".
 */
static const char *peer_text(const struct peer_addr *p, char buf[PEER_TEXT_SIZE])
{
	buf[0] = '\0';
	if (p->family == AF_INET || p->family == AF_INET6)
		lws_write_numeric_address(p->bytes, p->family == AF_INET ? 4 : 16, buf,
		                          PEER_TEXT_SIZE);
	return buf;
}

/* Whether the peer is one of the trusted proxies. */
static bool peer_is_proxy(const struct eio_engine *e, const struct peer_addr *p)
{
	struct ip_addr a;
	ip_from_bytes(p->bytes, p->family == AF_INET ? 4 : p->family == AF_INET6 ? 16 : 0, &a);
	return a.len && ip_nets_match(e->proxies, e->nproxies, &a);
}

/* ---- responses ---------------------------------------------------------- */

void conn_count_out(struct front_conn *c)
{
	engine_count_out(c->engine, &c->out_counted, c->out_off < c->out.len);
}

void conn_want_write(struct front_conn *c)
{
	conn_count_out(c);
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

void conn_respond(struct front_conn *c, int status, const char *ctype, const struct buf *extra,
		  const void *body, size_t len, bool keep_alive)
{
	if (http_response(&c->out, status, ctype, extra, body, len, keep_alive) < 0 || !keep_alive)
		c->close_after = true; /* out of memory: give up on this connection */
	conn_want_write(c);
}

void conn_respond_bare(struct front_conn *c, int status, bool keep_alive)
{
	struct buf h = {0};
	cors_headers(&c->engine->opts->cors, h1_request(c->h1), &h, false);
	conn_respond(c, status, NULL, &h, NULL, 0, keep_alive);
	buf_free(&h);
}

void conn_engine_headers(struct front_conn *c, const struct sio_request *req, struct buf *h,
			 bool initial)
{
	const struct sio_server_options *o = c->engine->opts;
	cors_headers(&o->cors, req, h, false);
	struct sio_headers hooks = {.lines = *h};
	if (initial && o->initial_headers)
		o->initial_headers(req, &hooks, o->hooks_userdata);
	if (o->headers)
		o->headers(req, &hooks, o->hooks_userdata);
	*h = hooks.lines;
}

void conn_respond_error(struct front_conn *c, const struct sio_request *req, int code,
			const char *message, bool keep_alive)
{
	struct buf h = {0}, body = {0};
	cors_headers(&c->engine->opts->cors, req, &h, false);
	json_t *msg = json_string(message ? message : eio_error_message(code));
	char *m = msg ? json_dumps(msg, JSON_ENCODE_ANY) : NULL;
	buf_printf(&body, "{\"code\":%d,\"message\":%s}", code, m ? m : "\"\"");
	free(m);
	json_decref(msg);
	conn_respond(c, code == EIO_ERR_FORBIDDEN ? 403 : 400, "application/json", &h, body.data,
		     body.len, keep_alive);
	buf_free(&h);
	buf_free(&body);
}

void conn_body_free(struct front_conn *c)
{
	pool_buf_free(&c->engine->pool, &c->body);
}

void conn_request_done(struct front_conn *c)
{
	c->sess = NULL;
	c->role = ROLE_NONE;
	c->busy = false;
	c->handshake = false;
	h1_next(c->h1);
	conn_want_write(c);
}

/* ---- request routing ---------------------------------------------------- */

/* Whether req is for the metrics path (the query aside). */
static bool metrics_request(const struct eio_engine *e, const struct sio_request *req)
{
	const char *path = e->opts->metrics_path;
	if (!path || !e->render_metrics)
		return false;
	const char *url = sio_request_url(req);
	size_t n = strlen(path);
	return strncmp(url, path, n) == 0 && (url[n] == '\0' || url[n] == '?');
}

/* Whether the Authorization header holds the metrics token, compared in
 * time independent of where they differ. */
static bool metrics_authorized(const struct eio_engine *e, const struct sio_request *req)
{
	const char *token = e->opts->metrics_token;
	if (!token)
		return true;
	const char *auth = sio_request_header(req, "authorization");
	if (!auth || strlen(auth) < 7 || !ascii_ieqn(auth, 7, "bearer "))
		return false;
	auth += 7;
	size_t n = strlen(token);
	if (strlen(auth) != n)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(auth[i] ^ token[i]);
	return diff == 0;
}

/* The metrics page: served whatever the caps and the shutdown say. */
static void serve_metrics(struct front_conn *c, const struct sio_request *req, bool keep)
{
	struct eio_engine *e = c->engine;
	const char *method = sio_request_method(req);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		conn_respond(c, 405, NULL, NULL, NULL, 0, keep);
		return;
	}
	if (!metrics_authorized(e, req)) {
		engine_refuse(e, EIO_REFUSED_UNAUTHORIZED, req, NULL, "metrics token");
		struct buf h = {0};
		buf_append_str(&h, "www-authenticate: Bearer\r\n");
		conn_respond(c, 401, NULL, &h, NULL, 0, keep);
		buf_free(&h);
		return;
	}
	struct buf body = {0};
	if (e->render_metrics(&body, e->metrics_userdata) < 0) {
		buf_free(&body);
		conn_respond(c, 500, NULL, NULL, NULL, 0, keep);
		return;
	}
	struct buf h = {0};
	buf_append_str(&h, "cache-control: no-store\r\n");
	bool head = strcmp(method, "HEAD") == 0;
	if (head) {
		if (http_head(&c->out, 200, "text/plain; version=0.0.4; charset=utf-8", body.len,
		              &h, keep) < 0 ||
		    !keep)
			c->close_after = true;
		conn_want_write(c);
	} else {
		conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", &h, body.data,
		             body.len, keep);
	}
	buf_free(&h);
	buf_free(&body);
}

static void dispatch_request(struct front_conn *c)
{
	struct eio_engine *e = c->engine;
	struct sio_request *req = h1_request(c->h1);
	bool keep = h1_keep_alive(c->h1);
	const char *method = sio_request_method(req);

	if (metrics_request(e, req)) {
		serve_metrics(c, req, keep);
		return;
	}
	if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	    static_serve(e->opts, e->mount, req, &c->out, keep)) {
		if (!keep)
			c->close_after = true;
		conn_want_write(c);
		return;
	}
	if (!handshake_engine_path(e, req)) {
		conn_respond(c, 404, NULL, NULL, NULL, 0, keep);
		return;
	}
	if (e->opts->cors.enabled && strcmp(method, "OPTIONS") == 0) {
		struct buf h = {0};
		cors_headers(&e->opts->cors, req, &h, true);
		conn_respond(c, 204, NULL, &h, NULL, 0, keep);
		buf_free(&h);
		return;
	}
	struct sio_eio_socket *s;
	const char *message;
	enum eio_error_code code = handshake_verify(e, req, false, &s, &message);
	if (code != EIO_ERR_NONE) {
		engine_refuse(e, handshake_refusal(code, req), req, NULL, message);
		polling_release_post(c);
		conn_respond_error(c, req, code, message, keep);
		return;
	}
	if (!s) {
		if (!handshake_protocol_allowed(e, handshake_protocol(req))) {
			engine_refuse(e, EIO_REFUSED_UNSUPPORTED_VERSION, req, NULL, NULL);
			conn_respond_error(c, req, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, NULL, keep);
			return;
		}
		if (!engine_accepts_handshake(e)) {
			engine_refuse(e,
			              e->stopping ? EIO_REFUSED_SHUTTING_DOWN
			                          : EIO_REFUSED_PENDING_CAP,
			              req, NULL, NULL);
			conn_respond(c, 503, NULL, NULL, NULL, 0, false);
			return;
		}
		polling_handshake(c, req);
		return;
	}
	if (strcmp(method, "GET") == 0) {
		polling_get(c, s, keep);
		return;
	}
	if (strcmp(method, "POST") == 0) {
		polling_post(c, s, req, keep);
		return;
	}
	conn_respond(c, 500, NULL, NULL, NULL, 0, keep);
}

/* ---- the connection ----------------------------------------------------- */

static void conn_timer_fired(struct timer *t)
{
	struct front_conn *c = container_of(t, struct front_conn, timer);
	if (c->timer_kind == CT_HEADERS || c->timer_kind == CT_BODY) {
		char addr[PEER_TEXT_SIZE];
		engine_refuse(c->engine, EIO_REFUSED_TIMEOUT, NULL, peer_text(&c->peer, addr),
		              c->timer_kind == CT_BODY ? "request body too slow"
		                                       : "request headers too slow");
	}
	if (c->timer_kind == CT_TLS && c->tls) {
		char addr[PEER_TEXT_SIZE];
		c->tls->refused = true;
		engine_refuse(c->engine, EIO_REFUSED_TLS, NULL, peer_text(&c->peer, addr),
		              "handshake timeout");
	}
	c->timer_kind = CT_NONE;
	if (c->wsi) {
		/* lws kills it when it next looks at its own timers, which is
		 * after a socket event: one is made */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
		lws_cancel_service(lws_get_context(c->wsi));
	}
}

static void conn_update_timer(struct front_conn *c)
{
	struct eio_engine *e = c->engine;
	if (c->draining)
		return;
	if (c->tls && !c->tls->established) {
		/* one deadline for the whole handshake */
		if (c->timer_kind != CT_TLS) {
			timer_arm(e->wheel, &c->timer, now_ms() + e->opts->tls.handshake_timeout,
			          conn_timer_fired);
			c->timer_kind = CT_TLS;
		}
		return;
	}
	if (c->busy) {
		timer_cancel(e->wheel, &c->timer);
		c->timer_kind = CT_NONE;
	} else if (h1_in_body(c->h1)) {
		/* one deadline for the whole body: a trickle does not extend it */
		if (c->timer_kind != CT_BODY) {
			timer_arm(e->wheel, &c->timer, now_ms() + e->opts->body_timeout,
				  conn_timer_fired);
			c->timer_kind = CT_BODY;
		}
	} else if (h1_idle(c->h1) && c->in.len == 0) {
		timer_arm(e->wheel, &c->timer, now_ms() + e->opts->keep_alive_timeout,
			  conn_timer_fired);
		c->timer_kind = CT_IDLE;
	} else if (c->timer_kind != CT_HEADERS) {
		timer_arm(e->wheel, &c->timer, now_ms() + e->opts->headers_timeout,
			  conn_timer_fired);
		c->timer_kind = CT_HEADERS;
	}
}

/* A request from a trusted proxy, with trust_proxy: its client's address
 * and scheme from X-Forwarded-*, and the connection counted for that
 * client while it serves it. Returns 0 or the status to refuse with. */
static int conn_forwarded(struct front_conn *c, struct sio_request *req)
{
	struct eio_engine *e = c->engine;
	struct ip_addr peer, client;
	ip_from_bytes(c->peer.bytes, c->peer.family == AF_INET ? 4 : 16, &peer);
	forwarded_client(req, e->proxies, e->nproxies, &peer, &client);
	char text[IP_TEXT_SIZE];
	if (request_set_forwarded(req, ip_text(&client, text), c->tls || forwarded_https(req)) < 0)
		return 500;
	if (!e->opts->max_connections_per_ip)
		return 0;
	if (c->ip && strcmp(ip_count_addr(c->ip), text) == 0)
		return 0;
	if (c->ip)
		engine_ip_release(e, c->ip);
	c->ip = engine_ip_acquire(e, text);
	if (!c->ip) {
		engine_refuse(e, EIO_REFUSED_PER_ADDRESS_CAP, req, NULL, "max_connections_per_ip");
		return 429;
	}
	return 0;
}

static int on_headers(void *ud, struct sio_request *req, const struct h1_info *info)
{
	struct front_conn *c = ud;
	struct eio_engine *e = c->engine;
	conn_body_free(c);
	c->engine_post = false;
	char addr[PEER_TEXT_SIZE];
	if (request_set_address(req, peer_text(&c->peer, addr)) < 0)
		return 500;
	if (c->tls)
		request_set_secure(req, true);
	if (c->proxied && e->opts->trust_proxy) {
		int st = conn_forwarded(c, req);
		if (st)
			return st;
	}
	if (!handshake_engine_path(e, req) || strcmp(sio_request_method(req), "POST") != 0)
		return 0;
	c->engine_post = true;
	if (info->has_length && info->content_length > e->opts->max_http_buffer_size)
		return 413; /* before any of the body is read */
	size_t slen = 0;
	const char *sid = request_query_n(req, "sid", &slen);
	polling_claim_post(c, e, sid, slen);
	return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t n)
{
	struct front_conn *c = ud;
	size_t limit = c->engine_post ? c->engine->opts->max_http_buffer_size : MAX_OTHER_BODY;
	if (c->body.len + n > limit)
		return 413;
	return pool_buf_append(&c->engine->pool, &c->body, p, n) < 0 ? 500 : 0;
}

static const struct h1_events h1_events = {
	.on_headers = on_headers,
	.on_body = on_body,
};

/* Parses and serves what c->in holds. Returns -1 when the raw connection
 * must close now. */
static int conn_process(struct front_conn *c)
{
	while (!c->busy && !c->close_after && c->in.len) {
		size_t used;
		int status;
		enum h1_result r = h1_feed(c->h1, c->in.data, c->in.len, &used, &status);
		if (r == H1_NEED_MORE) {
			pool_buf_consume(&c->engine->pool, &c->in, used);
			break;
		}
		if (r == H1_UPGRADE) {
			polling_release_post(c);
			int up = upgrade_request(c, used);
			if (up != 0)
				return up < 0 ? -1 : 0; /* a websocket now, or closing */
			break;
		}
		if (r == H1_ERROR) {
			if (status != 429) {
				char addr[PEER_TEXT_SIZE];
				char detail[32];
				snprintf(detail, sizeof(detail), "HTTP %d", status);
				engine_refuse(c->engine, EIO_REFUSED_HTTP_ERROR, NULL,
				              peer_text(&c->peer, addr), detail);
			}
			polling_release_post(c); /* 413 keeps the session open, as the reference */
			pool_buf_free(&c->engine->pool, &c->in);
			conn_respond(c, status, NULL, NULL, NULL, 0, false);
			break;
		}
		pool_buf_consume(&c->engine->pool, &c->in, used);
		dispatch_request(c);
		conn_body_free(c);
		if (!c->busy)
			h1_next(c->h1);
	}
	if (c->busy && c->in.len > MAX_BUFFERED_INPUT && !c->rx_paused) {
		c->rx_paused = true;
		lws_rx_flow_control(c->wsi, 0);
	}
	conn_update_timer(c);
	return 0;
}

/* The TLS session goes last, when nothing can write on c any more. A
 * peer that hung up during the handshake is a refusal too. */
static void conn_tls_closed(struct front_conn *c)
{
	struct tls_conn *t = c->tls;
	if (!t)
		return;
	if (t->fed && !t->established && !t->refused) {
		char addr[PEER_TEXT_SIZE];
		engine_refuse(c->engine, EIO_REFUSED_TLS, NULL, peer_text(&c->peer, addr),
		              "closed during the handshake");
	}
	tls_conn_destroy(t);
	c->tls = NULL;
}

static void conn_closed(struct front_conn *c)
{
	struct eio_engine *e = c->engine;
	if (c->ip)
		engine_ip_release(e, c->ip);
	c->ip = NULL;
	if (c->is_ws) {
		ws_on_closed(&c->ws);
		c->wsi = NULL;
		conn_tls_closed(c);
		return;
	}
	timer_cancel(e->wheel, &c->timer);
	c->out_off = c->out.len = 0;
	conn_count_out(c);
	polling_conn_closed(c);
	c->wsi = NULL;
	h1_destroy(c->h1);
	c->h1 = NULL;
	pool_buf_free(&e->pool, &c->in);
	buf_free(&c->out);
	conn_body_free(c);
	conn_tls_closed(c);
}

/* Whether bytes written earlier still wait for the socket (lws's, or
 * TLS records). */
static bool conn_out_blocked(struct front_conn *c)
{
	return lws_partial_buffered(c->wsi) || (c->tls && tls_conn_blocked(c->tls));
}

static int conn_writeable(struct front_conn *c)
{
	if (c->tls && conn_tls_flush(c) < 0)
		return -1;
	if (conn_out_blocked(c)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		if (n > OUT_CHUNK)
			n = OUT_CHUNK;
		if (c->tls) {
			struct iovec v = {.iov_base = c->out.data + c->out_off, .iov_len = n};
			ssize_t k = conn_tls_sendv(c, &v, 1);
			if (k < 0)
				return -1;
			n = (size_t)k;
		} else {
			if (lws_write(c->wsi, c->out.data + c->out_off, n, LWS_WRITE_RAW) < (int)n)
				return -1;
			c->engine->stats.bytes_sent += n;
		}
		c->out_off += n;
		if (c->out_off < c->out.len) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
		c->out.len = c->out_off = 0;
		conn_count_out(c);
		if (conn_out_blocked(c)) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
	}
	if (c->close_after) {
		/* Shut the write side and read until the peer closes, so that
		 * the response is not lost to a reset from unread input. */
		if (c->draining)
			return 0;
		c->draining = true;
		if (conn_shutdown_write(c) < 0)
			return -1;
		if (c->rx_paused)
			lws_rx_flow_control(c->wsi, 1);
		timer_arm(c->engine->wheel, &c->timer, now_ms() + DRAIN_MS, conn_timer_fired);
		c->timer_kind = CT_DRAIN;
		return 0;
	}
	if (c->rx_paused && !c->busy) {
		c->rx_paused = false;
		lws_rx_flow_control(c->wsi, 1);
	}
	if (!c->busy && c->in.len)
		return conn_process(c);
	conn_update_timer(c);
	return 0;
}

/* ---- TLS ----------------------------------------------------------------- */

/* The answer to plain HTTP on the TLS port, sent as is before closing. */
static const char plain_http_answer[] =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
        "Connection: close\r\n\r\nThis port speaks HTTPS (HTTP over TLS).\n";
_Static_assert(sizeof("This port speaks HTTPS (HTTP over TLS).\n") - 1 == 40,
               "the answer's length");

int conn_tls_flush(struct front_conn *c)
{
	if (!c->wsi)
		return 0;
	ssize_t n = tls_conn_flush(c->tls, lws_get_socket_fd(c->wsi));
	if (n < 0)
		return -1;
	c->engine->stats.bytes_sent += (uint64_t)n;
	if (tls_conn_blocked(c->tls))
		lws_callback_on_writable(c->wsi);
	return 0;
}

ssize_t conn_tls_sendv(struct front_conn *c, const struct iovec *iov, int niov)
{
	if (conn_tls_flush(c) < 0) {
		errno = EPIPE;
		return -1;
	}
	if (tls_conn_blocked(c->tls)) {
		errno = EAGAIN;
		return -1;
	}
	ssize_t n = tls_conn_encrypt(c->tls, iov, niov);
	if (n < 0) {
		errno = EPROTO;
		return -1;
	}
	if (conn_tls_flush(c) < 0) {
		errno = EPIPE;
		return -1;
	}
	return n;
}

int conn_shutdown_write(struct front_conn *c)
{
	if (c->tls) {
		tls_conn_close_notify(c->tls);
		if (conn_tls_flush(c) < 0)
			return -1;
		if (tls_conn_blocked(c->tls))
			return 0; /* the socket is full: the drain deadline closes it */
	}
	return shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
}

/* Received bytes on a TLS connection: decrypted, then handled as the
 * plain ones are. Records the handshake makes are sent at once (before
 * the plaintext is handled: its handling may write on other connections,
 * which share the output buffer). Returns -1 when c must close. */
static int conn_tls_rx(struct front_conn *c, uint8_t *in, size_t len)
{
	struct tls_conn *t = c->tls;
	bool was_established = t->established;
	int r = tls_conn_feed(t, in, len);
	if (r < 0) {
		char addr[PEER_TEXT_SIZE];
		if (!t->refused)
			engine_refuse(c->engine, EIO_REFUSED_TLS, NULL, peer_text(&c->peer, addr),
			              t->plain_http ? "plain HTTP on the TLS port" : t->cause);
		t->refused = true;
		if (t->plain_http && !c->is_ws)
			tls_conn_raw(t, plain_http_answer, sizeof(plain_http_answer) - 1);
		conn_tls_flush(c);
		return -1;
	}
	if (conn_tls_flush(c) < 0)
		return -1;
	if (!was_established && t->established && !c->is_ws)
		conn_update_timer(c);
	struct buf *pl = &c->engine->tls.plain;
	int rc = 0;
	if (pl->len && c->is_ws) {
		rc = ws_on_data(&c->ws, pl->data, pl->len);
	} else if (pl->len && c->h1 && !c->close_after) {
		if (pool_buf_append(&c->engine->pool, &c->in, pl->data, pl->len) < 0)
			rc = -1;
		else
			rc = conn_process(c);
		if (rc == 0 && !c->is_ws && c->out.len)
			lws_callback_on_writable(c->wsi);
	}
	pl->len = 0;
	return r == 1 ? -1 : rc; /* close_notify: the peer is done */
}

static int front_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct front_conn *c = user;
	struct eio_engine *e = lws_context_user(lws_get_context(wsi));
	int rc = 0;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT: {
		eio_engine_enter(e);
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->engine = e;
		c->h1 = h1_create(&h1_events, c, e->opts->max_header_size);
		if (!c->h1)
			rc = -1;
		else
			peer_read(lws_get_socket_fd(wsi), &c->peer);
		/* Over the per-address cap: closed at once. While stopping new
		 * connections are still taken: polling clients send each request
		 * on a fresh one, and must get their DISCONNECT; new sessions are
		 * refused with 503 instead. */
		char addr[PEER_TEXT_SIZE];
		if (rc == 0)
			c->proxied = peer_is_proxy(e, &c->peer);
		if (rc == 0 && e->opts->max_connections_per_ip && !c->proxied) {
			c->ip = engine_ip_acquire(e, peer_text(&c->peer, addr));
			if (!c->ip) {
				engine_refuse(e, EIO_REFUSED_PER_ADDRESS_CAP, NULL, addr,
				              "max_connections_per_ip");
				rc = -1;
			}
		}
		if (rc == 0 && e->tls_ctx && !(c->tls = tls_conn_create(e->tls_ctx, &e->tls)))
			rc = -1;
		if (rc == 0)
			conn_update_timer(c);
		eio_engine_leave(e);
		break;
	}
	case LWS_CALLBACK_RAW_RX:
		e->stats.bytes_received += len;
		if (c->tls) {
			eio_engine_enter(e);
			rc = conn_tls_rx(c, in, len);
			eio_engine_leave(e);
			break;
		}
		if (c->is_ws) {
			eio_engine_enter(e);
			rc = ws_on_data(&c->ws, in, len);
			eio_engine_leave(e);
			break;
		}
		if (!c->h1 || c->close_after)
			break; /* draining after an error response */
		eio_engine_enter(e);
		if (pool_buf_append(&e->pool, &c->in, in, len) < 0)
			rc = -1;
		else
			rc = conn_process(c);
		if (rc == 0 && !c->is_ws && c->out.len)
			lws_callback_on_writable(wsi);
		eio_engine_leave(e);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (c->is_ws) {
			eio_engine_enter(e);
			rc = ws_on_writeable(&c->ws);
			eio_engine_leave(e);
			break;
		}
		if (!c->h1)
			break;
		eio_engine_enter(e);
		rc = conn_writeable(c);
		eio_engine_leave(e);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (e->wakeup)
			e->wakeup(e->wakeup_userdata);
		break;
	case LWS_CALLBACK_RAW_CLOSE:
		if (!c || !c->engine)
			break;
		eio_engine_enter(e);
		conn_closed(c);
		eio_engine_leave(e);
		break;
	default:
		break;
	}
	return rc;
}

static struct lws_protocols front_protocols[] = {
	{"sioc-front", front_callback, sizeof(struct front_conn), 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *eio_front_protocols(void)
{
	return front_protocols;
}
