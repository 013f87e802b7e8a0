/*
 * The HTTP front: every accepted connection is a raw socket whose bytes
 * go through http1.c. Requests under the Engine.IO path are verified as
 * the reference does, then served as long-polling (GET held until output
 * is queued, POST carrying packets) or turned into a websocket in place
 * (ws.c).
 */
#include "transports/engine.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "transports/callbacks.h"
#include "transports/http1.h"
#include "transports/static.h"

#define OUT_CHUNK 65536
#define MAX_BUFFERED_INPUT 65536 /* read ahead while a request is held */
#define MAX_OTHER_BODY 65536     /* body of a request that is not a POST to us */

enum conn_role { ROLE_NONE, ROLE_GET, ROLE_POST };
enum conn_timer { CT_NONE, CT_IDLE, CT_HEADERS, CT_BODY, CT_DRAIN };

#define DRAIN_MS 2000 /* how long a closing connection's input is read and dropped */

/* The peer's address in binary (network order; 4 bytes used for
 * AF_INET). Its text is made when needed, by peer_text. */
struct peer_addr {
	sa_family_t family; /* AF_INET, AF_INET6, or AF_UNSPEC when unknown */
	uint8_t bytes[16];
};

/* Room for the text of any peer_addr. */
#define PEER_TEXT_SIZE 64

/* An accepted connection: HTTP/1.1 until an upgrade makes it a websocket,
 * whose state then takes the place of the HTTP state (the socket's
 * per-connection memory, allocated by lws, holds the larger of the two).
 * Both states begin with the socket and the server, so c->wsi and c->srv
 * are the websocket's own w->wsi and w->srv after the upgrade (a common
 * initial sequence, C11 6.5.2.3). */
struct front_conn {
	union {
		struct {
			struct lws *wsi;
			struct sio_server *srv;
			struct h1 *h1;
			struct buf in;  /* received, not yet parsed */
			struct buf out; /* response bytes not yet written */
			size_t out_off;
			struct buf body; /* the current request's body */
			size_t body_limit;
			struct sio_eio_socket *sess; /* the session served (held GET or POST) */
			enum conn_role role;
			bool busy;        /* a request is held: parse nothing more */
			bool close_after; /* close once out is written */
			bool rx_paused;
			bool draining;    /* write side shut: reading until EOF or DRAIN_MS */
			bool handshake;   /* the held GET opens its session */
			bool out_counted; /* counted in srv->pending_out */
			struct timer timer;
			enum conn_timer timer_kind;
		};
		struct ws_conn ws;
	};
	struct peer_addr peer;
	bool is_ws;      /* upgraded: `ws` is in use, the HTTP state is gone */
	bool ip_counted; /* counted in max_connections_per_ip (set only with a cap) */
};

_Static_assert(offsetof(struct front_conn, wsi) == offsetof(struct front_conn, ws.wsi) &&
		       offsetof(struct front_conn, srv) == offsetof(struct front_conn, ws.srv),
	       "the HTTP and websocket states must begin alike");

size_t front_conn_size(void)
{
	return sizeof(struct front_conn);
}

/* ---- the peer's address ------------------------------------------------- */

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

/* ---- responses ---------------------------------------------------------- */

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Tracks connections with output to write (a graceful stop waits for
 * them). */
static void conn_count_out(struct front_conn *c)
{
	server_count_out(c->srv, &c->out_counted, c->out_off < c->out.len);
}

static void conn_want_write(struct front_conn *c)
{
	conn_count_out(c);
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/* Appends a whole response to c->out. `extra` holds header lines. */
static void respond(struct front_conn *c, int status, const char *ctype, const struct buf *extra,
		    const void *body, size_t len, bool keep_alive)
{
	struct buf *o = &c->out;
	int rc = buf_printf(o, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	if (ctype)
		rc |= buf_printf(o, "Content-Type: %s\r\n", ctype);
	rc |= buf_printf(o, "Content-Length: %zu\r\n", len);
	if (extra)
		rc |= buf_append(o, extra->data, extra->len);
	rc |= buf_append_str(o, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
	rc |= buf_append(o, body, len);
	if (rc)
		c->close_after = true; /* out of memory: give up on this connection */
	if (!keep_alive)
		c->close_after = true;
	conn_want_write(c);
}

/* Adds the CORS headers the reference's `cors` middleware would. */
static void cors_headers(struct front_conn *c, const struct sio_request *req, struct buf *h,
			 bool preflight)
{
	const struct sio_server *srv = c->srv;
	const struct sio_cors_options *co = &srv->opts.cors;
	if (!co->enabled)
		return;
	const char *origin = sio_request_header(req, "origin");
	bool any = !co->origin_allowed && !srv->cors_origins;
	if (!co->origin_allowed && srv->cors_origins)
		for (char **o = srv->cors_origins; *o; o++)
			if (strcmp(*o, "*") == 0)
				any = true;
	if (any) {
		buf_append_str(h, "Access-Control-Allow-Origin: *\r\n");
	} else {
		bool ok = false;
		if (origin && co->origin_allowed)
			ok = co->origin_allowed(origin, co->origin_userdata);
		else if (origin)
			for (char **o = srv->cors_origins; *o; o++)
				ok = ok || strcmp(*o, origin) == 0;
		if (ok)
			buf_printf(h, "Access-Control-Allow-Origin: %s\r\n", origin);
		buf_append_str(h, "Vary: Origin\r\n");
	}
	if (co->credentials)
		buf_append_str(h, "Access-Control-Allow-Credentials: true\r\n");
	if (preflight) {
		buf_printf(h, "Access-Control-Allow-Methods: %s\r\n", srv->cors_methods);
		const char *ah = srv->cors_allowed_headers;
		if (!ah) {
			ah = sio_request_header(req, "access-control-request-headers");
			buf_append_str(h, "Vary: Access-Control-Request-Headers\r\n");
		}
		if (ah && *ah)
			buf_printf(h, "Access-Control-Allow-Headers: %s\r\n", ah);
		if (co->max_age >= 0)
			buf_printf(h, "Access-Control-Max-Age: %d\r\n", co->max_age);
	} else if (srv->cors_exposed_headers) {
		buf_printf(h, "Access-Control-Expose-Headers: %s\r\n", srv->cors_exposed_headers);
	}
}

/* The headers every Engine.IO response carries: CORS, then the hooks. */
static void engine_headers(struct front_conn *c, const struct sio_request *req, struct buf *h,
			   bool initial)
{
	const struct sio_server *srv = c->srv;
	cors_headers(c, req, h, false);
	struct sio_headers hooks = {.lines = *h};
	if (initial && srv->opts.initial_headers)
		srv->opts.initial_headers(req, &hooks, srv->opts.hooks_userdata);
	if (srv->opts.headers)
		srv->opts.headers(req, &hooks, srv->opts.hooks_userdata);
	*h = hooks.lines;
}

static const char *const error_messages[] = {
	"Transport unknown", "Session ID unknown", "Bad handshake method",
	"Bad request",       "Forbidden",          "Unsupported protocol version",
};

/* 400/403 with {"code":N,"message":"..."}, as the reference's abortRequest. */
static void respond_error(struct front_conn *c, const struct sio_request *req, int code,
			  const char *message, bool keep_alive)
{
	struct buf h = {0}, body = {0};
	cors_headers(c, req, &h, false);
	json_t *msg = json_string(message ? message : error_messages[code]);
	char *m = msg ? json_dumps(msg, JSON_ENCODE_ANY) : NULL;
	buf_printf(&body, "{\"code\":%d,\"message\":%s}", code, m ? m : "\"\"");
	free(m);
	json_decref(msg);
	respond(c, code == 4 ? 403 : 400, "application/json", &h, body.data, body.len, keep_alive);
	buf_free(&h);
	buf_free(&body);
}

/* A refused websocket upgrade, as the reference's abortUpgrade. */
static void respond_upgrade_error(struct front_conn *c, const char *message)
{
	buf_printf(&c->out,
		   "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n"
		   "Content-Length: %zu\r\n\r\n%s",
		   strlen(message), message);
	c->close_after = true;
	conn_want_write(c);
}

/* ---- polling ------------------------------------------------------------ */

void front_poll_respond(struct front_conn *c, struct sio_eio_socket *s, bool noop)
{
	struct sio_server *srv = c->srv;
	const struct sio_request *req = h1_request(c->h1);
	struct buf h = {0};
	bool close_written = false;

	buf_append_str(&h, "cache-control: no-store\r\n");
	engine_headers(c, req, &h, c->handshake);
	size_t len = 0;
	uint32_t npackets = 0;
	if (noop) {
		len = 1;
	} else {
		/* As the reference, the close packet of sio_eio_close() goes in a
		 * response of its own, after what was queued before it: a client
		 * handles the close first when both come in one payload. */
		for (uint32_t i = 0; i < s->ring_count; i++) {
			struct outbuf *o = s->ring[(s->ring_head + i) % s->ring_cap];
			if (o->type == EIO_CLOSE && i > 0)
				break;
			len += (i ? 1 : 0) + eio_packet_payload_len(o->type, o->binary, o->len);
			npackets++;
		}
	}
	int rc = buf_printf(&c->out,
			    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n"
			    "Content-Length: %zu\r\n",
			    len);
	rc |= buf_append(&c->out, h.data, h.len);
	bool keep = h1_keep_alive(c->h1);
	rc |= buf_append_str(&c->out, keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
	buf_free(&h);
	if (rc == 0 && buf_reserve(&c->out, len) < 0)
		rc = -1;
	if (rc == 0 && noop) {
		c->out.data[c->out.len++] = '6';
	} else if (rc == 0) {
		bool first = true;
		struct outbuf *o;
		while (npackets-- > 0 && (o = session_pop(s))) {
			if (!first)
				c->out.data[c->out.len++] = EIO_SEPARATOR;
			first = false;
			c->out.len += eio_packet_payload_write(o->type, o->binary, outbuf_data(o),
							       o->len, c->out.data + c->out.len);
			if (o->type == EIO_CLOSE && s->close_queued)
				close_written = true;
			outbuf_unref(o);
		}
	}
	if (rc || !keep)
		c->close_after = true;
	/* the request is answered: detach and go on with the next one */
	s->poll = NULL;
	c->sess = NULL;
	c->role = ROLE_NONE;
	c->busy = false;
	c->handshake = false;
	h1_next(c->h1);
	conn_want_write(c);
	if (close_written)
		session_close_written(s);
	(void)srv;
}

void front_detach(struct front_conn *c)
{
	if (c->role == ROLE_POST) {
		/* the reference destroys a data request still arriving */
		c->close_after = true;
		conn_want_write(c);
	}
	c->sess = NULL;
	c->role = ROLE_NONE;
}

#define MAX_PAYLOAD_PACKETS 10000 /* packets in one POST */

/* A POST body for session s is complete: feed its packets. Returns false
 * when the payload is refused (the session is then closed, "parse error";
 * the reference answers 200 there, we answer 400): malformed, more than
 * MAX_PAYLOAD_PACKETS packets (counted before any is handled), or text
 * that is not UTF-8 (the message callback promises UTF-8). */
static bool poll_data(struct front_conn *c, struct sio_eio_socket *s)
{
	size_t count = 1;
	for (size_t i = 0; i < c->body.len; i++)
		count += c->body.data[i] == EIO_SEPARATOR;
	bool ok = count <= MAX_PAYLOAD_PACKETS;
	size_t pos = 0;
	struct eio_packet p;
	int r = 0;
	while (ok && s->state == SS_OPEN &&
	       (r = eio_payload_next(c->body.data, c->body.len, &pos, &p)) > 0) {
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

/* ---- request routing ---------------------------------------------------- */

static bool is_engine_path(const struct sio_server *srv, const struct sio_request *req)
{
	return strncmp(sio_request_url(req), srv->path, srv->path_len) == 0;
}

/* The reference refuses an Origin holding characters invalid in a header. */
static bool origin_invalid(const struct sio_request *req)
{
	const char *o = sio_request_header(req, "origin");
	if (!o)
		return false;
	for (const unsigned char *p = (const unsigned char *)o; *p; p++)
		if (*p != '\t' && (*p < 0x20 || *p == 0x7f))
			return true;
	return false;
}

/* EIO=4, compared with its decoded length ("4%00" is not "4"). */
static bool eio_v4(const struct sio_request *req)
{
	size_t len = 0;
	const char *eio = request_query_n(req, "EIO", &len);
	return eio && len == 1 && eio[0] == '4';
}

/*
 * The reference's verify(): returns -1 when the request may go on, or an
 * error code 0..5 with *message set for 4. *sess is the session named by
 * sid, if any.
 */
static int verify(struct front_conn *c, const struct sio_request *req, bool upgrade,
		  struct sio_eio_socket **sess, const char **message)
{
	struct sio_server *srv = c->srv;
	/* compared with their decoded lengths: "polling%00x" is not "polling" */
	size_t tlen = 0, slen = 0;
	const char *transport = request_query_n(req, "transport", &tlen);
	unsigned t = 0;
	if (transport && tlen == 7 && memcmp(transport, "polling", 7) == 0)
		t = SIO_TRANSPORT_POLLING;
	else if (transport && tlen == 9 && memcmp(transport, "websocket", 9) == 0)
		t = SIO_TRANSPORT_WEBSOCKET;
	*sess = NULL;
	*message = NULL;
	if (!(t & srv->opts.transports))
		return 0;
	if (origin_invalid(req))
		return 3;
	const char *sid = request_query_n(req, "sid", &slen);
	if (sid) {
		struct sio_eio_socket *s = session_find(srv, sid, slen);
		if (!s || s->state == SS_FAILED || s->state == SS_CLOSED)
			return 1;
		if (!upgrade && s->transport != t)
			return 3;
		if (!eio_v4(req))
			return 3;
		*sess = s;
		return -1;
	}
	if (strcmp(sio_request_method(req), "GET") != 0)
		return 2;
	if (t == SIO_TRANSPORT_WEBSOCKET && !upgrade)
		return 3;
	if (srv->opts.allow_request &&
	    !srv->opts.allow_request(req, message, srv->opts.hooks_userdata))
		return 4;
	return -1;
}

/* max_pending_handshakes: sessions that joined no namespace yet. */
static bool handshakes_full(const struct sio_server *srv)
{
	uint32_t cap = srv->opts.max_pending_handshakes;
	return srv->sio_layer && cap && srv->npending >= cap;
}

static void dispatch_request(struct front_conn *c)
{
	struct sio_server *srv = c->srv;
	struct sio_request *req = h1_request(c->h1);
	bool keep = h1_keep_alive(c->h1);
	const char *method = sio_request_method(req);

	if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	    static_serve(srv, req, &c->out, keep)) {
		if (!keep)
			c->close_after = true;
		conn_want_write(c);
		return;
	}
	if (!is_engine_path(srv, req)) {
		respond(c, 404, NULL, NULL, NULL, 0, keep);
		return;
	}
	if (srv->opts.cors.enabled && strcmp(method, "OPTIONS") == 0) {
		struct buf h = {0};
		cors_headers(c, req, &h, true);
		respond(c, 204, NULL, &h, NULL, 0, keep);
		buf_free(&h);
		return;
	}
	struct sio_eio_socket *s;
	const char *message;
	int code = verify(c, req, false, &s, &message);
	if (code >= 0) {
		if (c->sess && c->sess->post == c)
			c->sess->post = NULL;
		c->sess = NULL;
		c->role = ROLE_NONE;
		respond_error(c, req, code, message, keep);
		return;
	}
	if (!s) {
		/* handshake */
		if (!eio_v4(req)) {
			respond_error(c, req, 5, NULL, keep);
			return;
		}
		if (handshakes_full(srv) || srv->stopping) {
			respond(c, 503, NULL, NULL, NULL, 0, false);
			return;
		}
		struct sio_request *copy = request_keep(req);
		s = copy ? session_create(srv, copy, SIO_TRANSPORT_POLLING) : NULL;
		if (!s) {
			respond_error(c, req, 3, NULL, false);
			return;
		}
		c->handshake = true;
		c->busy = true;
		c->sess = s;
		c->role = ROLE_GET;
		session_poll_attach(s, c);
		return;
	}
	if (strcmp(method, "GET") == 0) {
		if (s->poll) {
			/* a second GET: the reference answers 400 and closes the session */
			struct buf h = {0};
			cors_headers(c, req, &h, false);
			respond(c, 400, NULL, &h, NULL, 0, keep);
			buf_free(&h);
			session_fail(s, "transport error");
			return;
		}
		c->busy = true;
		c->sess = s;
		c->role = ROLE_GET;
		session_poll_attach(s, c);
		return;
	}
	if (strcmp(method, "POST") == 0) {
		struct buf h = {0};
		const char *ct = sio_request_header(req, "content-type");
		if (s->post != c) {
			/* another POST is in flight for this session */
			cors_headers(c, req, &h, false);
			respond(c, 400, NULL, &h, NULL, 0, keep);
			session_fail(s, "transport error");
		} else if (ct && strcmp(ct, "application/octet-stream") == 0) {
			s->post = NULL;
			cors_headers(c, req, &h, false);
			respond(c, 400, NULL, &h, NULL, 0, keep);
			session_fail(s, "transport error");
		} else {
			s->post = NULL;
			if (poll_data(c, s)) {
				buf_append_str(&h, "cache-control: no-store\r\n");
				engine_headers(c, req, &h, false);
				respond(c, 200, "text/html", &h, "ok", 2, keep);
			} else {
				cors_headers(c, req, &h, false);
				respond(c, 400, NULL, &h, NULL, 0, keep);
			}
		}
		c->sess = NULL;
		c->role = ROLE_NONE;
		buf_free(&h);
		return;
	}
	respond(c, 500, NULL, NULL, NULL, 0, keep);
}

/* Checks the websocket handshake headers, as the `ws` package does. */
static const char *ws_headers_error(const struct sio_request *req)
{
	if (strcmp(sio_request_method(req), "GET") != 0)
		return "Invalid HTTP method";
	const char *up = sio_request_header(req, "upgrade");
	if (!up || !ascii_ieq(up, "websocket"))
		return "Invalid Upgrade header";
	const char *key = sio_request_header(req, "sec-websocket-key");
	if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return "Missing or invalid Sec-WebSocket-Key header";
	for (int i = 0; i < 22; i++) {
		char ch = key[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '+' || ch == '/'))
			return "Missing or invalid Sec-WebSocket-Key header";
	}
	const char *ver = sio_request_header(req, "sec-websocket-version");
	if (!ver || (strcmp(ver, "13") != 0 && strcmp(ver, "8") != 0))
		return "Missing or invalid Sec-WebSocket-Version header";
	return NULL;
}

/* An upgrade request (whose bytes end at c->in + used): verify, then turn
 * the connection into a websocket. Returns 1 when it is one now, 0 when an
 * error response was queued, -1 when the connection must close now. */
static int dispatch_upgrade(struct front_conn *c, size_t used)
{
	struct sio_server *srv = c->srv;
	struct sio_request *req = h1_request(c->h1);
	if (!is_engine_path(srv, req) || !(srv->opts.transports & SIO_TRANSPORT_WEBSOCKET)) {
		c->close_after = true; /* as Node, an upgrade nobody handles is dropped */
		conn_want_write(c);
		return 0;
	}
	struct sio_eio_socket *s;
	const char *message;
	int code = verify(c, req, true, &s, &message);
	if (code >= 0) {
		respond_upgrade_error(c, message ? message : error_messages[code]);
		return 0;
	}
	const char *transport = sio_request_query(req, "transport");
	if (strcmp(transport, "websocket") != 0) {
		respond_upgrade_error(c, error_messages[3]);
		return 0;
	}
	const char *err = ws_headers_error(req);
	if (err) {
		respond_upgrade_error(c, err);
		return 0;
	}
	struct sio_request *copy = NULL;
	if (!s) {
		if (!eio_v4(req)) {
			respond_upgrade_error(c, error_messages[5]);
			return 0;
		}
		if (handshakes_full(srv) || srv->stopping) {
			buf_append_str(&c->out, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
						"Content-Length: 0\r\n\r\n");
			c->close_after = true;
			conn_want_write(c);
			return 0;
		}
		copy = request_keep(req);
		if (!copy) {
			respond_upgrade_error(c, error_messages[3]);
			return 0;
		}
	}
	struct buf headers = {0};
	engine_headers(c, req, &headers, !s);
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
	struct buf rest = c->in;
	c->in = (struct buf){0};
	buf_consume(&rest, used);
	timer_cancel(&srv->wheel, &c->timer);
	if (c->rx_paused)
		lws_rx_flow_control(c->wsi, 1);
	h1_destroy(c->h1);
	buf_free(&c->body);
	c->is_ws = true;
	int rc = ws_open(&c->ws, srv, c->wsi, key, &pending, pending_off, &headers);
	buf_free(&headers);
	if (rc < 0) {
		request_release(copy);
		buf_free(&rest);
		return -1;
	}
	session_ws_established(srv, &c->ws, s ? s->sid : NULL, copy);
	rc = rest.len ? ws_on_data(&c->ws, rest.data, rest.len) : 0;
	buf_free(&rest);
	ws_request_write(&c->ws);
	return rc < 0 ? -1 : 1;
}

/* ---- the connection ----------------------------------------------------- */

static void conn_timer_fired(struct timer *t)
{
	struct front_conn *c = container_of(t, struct front_conn, timer);
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
	struct sio_server *srv = c->srv;
	if (c->draining)
		return;
	if (c->busy) {
		timer_cancel(&srv->wheel, &c->timer);
		c->timer_kind = CT_NONE;
	} else if (h1_in_body(c->h1)) {
		/* one deadline for the whole body: a trickle does not extend it */
		if (c->timer_kind != CT_BODY) {
			timer_arm(&srv->wheel, &c->timer, now_ms() + srv->opts.body_timeout,
				  conn_timer_fired);
			c->timer_kind = CT_BODY;
		}
	} else if (h1_idle(c->h1) && c->in.len == 0) {
		timer_arm(&srv->wheel, &c->timer, now_ms() + srv->opts.keep_alive_timeout,
			  conn_timer_fired);
		c->timer_kind = CT_IDLE;
	} else if (c->timer_kind != CT_HEADERS) {
		timer_arm(&srv->wheel, &c->timer, now_ms() + srv->opts.headers_timeout,
			  conn_timer_fired);
		c->timer_kind = CT_HEADERS;
	}
}

static int on_headers(void *ud, struct sio_request *req, const struct h1_info *info)
{
	struct front_conn *c = ud;
	struct sio_server *srv = c->srv;
	buf_free(&c->body);
	c->body_limit = MAX_OTHER_BODY;
	char addr[PEER_TEXT_SIZE];
	if (request_set_address(req, peer_text(&c->peer, addr)) < 0)
		return 500;
	if (!is_engine_path(srv, req) || strcmp(sio_request_method(req), "POST") != 0)
		return 0;
	c->body_limit = srv->opts.max_http_buffer_size;
	if (info->has_length && info->content_length > c->body_limit)
		return 413; /* before any of the body is read */
	/* claim the session's data slot now, so a second POST is seen */
	size_t slen = 0;
	const char *sid = request_query_n(req, "sid", &slen);
	struct sio_eio_socket *s = sid ? session_find(srv, sid, slen) : NULL;
	if (s && s->state == SS_OPEN && !s->post && s->transport == SIO_TRANSPORT_POLLING) {
		s->post = c;
		c->sess = s;
		c->role = ROLE_POST;
	}
	return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t n)
{
	struct front_conn *c = ud;
	if (c->body.len + n > c->body_limit)
		return 413;
	return buf_append(&c->body, p, n) < 0 ? 500 : 0;
}

static const struct h1_events h1_events = {
	.on_headers = on_headers,
	.on_body = on_body,
};

/* Releases the session slot a POST claimed. */
static void conn_release_post(struct front_conn *c)
{
	if (c->role == ROLE_POST && c->sess && c->sess->post == c)
		c->sess->post = NULL;
	if (c->role == ROLE_POST) {
		c->sess = NULL;
		c->role = ROLE_NONE;
	}
}

/* Parses and serves what c->in holds. Returns -1 when the raw connection
 * must close now. */
static int conn_process(struct front_conn *c)
{
	while (!c->busy && !c->close_after && c->in.len) {
		size_t used;
		int status;
		enum h1_result r = h1_feed(c->h1, c->in.data, c->in.len, &used, &status);
		if (r == H1_NEED_MORE) {
			buf_consume(&c->in, used);
			break;
		}
		if (r == H1_UPGRADE) {
			conn_release_post(c);
			int up = dispatch_upgrade(c, used);
			if (up != 0)
				return up < 0 ? -1 : 0; /* a websocket now, or closing */
			break;
		}
		if (r == H1_ERROR) {
			conn_release_post(c); /* 413 keeps the session open, as the reference */
			c->in.len = 0;
			respond(c, status, NULL, NULL, NULL, 0, false);
			break;
		}
		buf_consume(&c->in, used);
		dispatch_request(c);
		buf_free(&c->body);
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

static void conn_closed(struct front_conn *c)
{
	struct sio_server *srv = c->srv;
	if (c->ip_counted) {
		char addr[PEER_TEXT_SIZE];
		server_ip_release(srv, peer_text(&c->peer, addr));
	}
	c->ip_counted = false;
	if (c->is_ws) {
		ws_on_closed(&c->ws);
		c->wsi = NULL;
		return;
	}
	timer_cancel(&srv->wheel, &c->timer);
	c->out_off = c->out.len = 0;
	conn_count_out(c);
	struct sio_eio_socket *s = c->sess;
	if (s) {
		if (s->poll == c) {
			s->poll = NULL;
			session_fail(s, "transport error"); /* poll closed prematurely */
		}
		if (s->post == c) {
			s->post = NULL;
			session_fail(s, "transport error"); /* data request closed prematurely */
		}
	}
	c->sess = NULL;
	c->wsi = NULL;
	h1_destroy(c->h1);
	c->h1 = NULL;
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->body);
}

static int conn_writeable(struct front_conn *c)
{
	if (lws_partial_buffered(c->wsi)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		if (n > OUT_CHUNK)
			n = OUT_CHUNK;
		if (lws_write(c->wsi, c->out.data + c->out_off, n, LWS_WRITE_RAW) < (int)n)
			return -1;
		c->out_off += n;
		if (c->out_off < c->out.len) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
		c->out.len = c->out_off = 0;
		conn_count_out(c);
		if (lws_partial_buffered(c->wsi)) {
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
		if (shutdown(lws_get_socket_fd(c->wsi), SHUT_WR) < 0)
			return -1;
		if (c->rx_paused)
			lws_rx_flow_control(c->wsi, 1);
		timer_arm(&c->srv->wheel, &c->timer, now_ms() + DRAIN_MS, conn_timer_fired);
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

int front_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct front_conn *c = user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct sio_server *srv = lws_context_user(ctx);
	int rc = 0;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT: {
		server_enter(srv);
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->srv = srv;
		c->h1 = h1_create(&h1_events, c, srv->opts.max_header_size);
		if (!c->h1)
			rc = -1;
		else
			peer_read(lws_get_socket_fd(wsi), &c->peer);
		/* Over the per-address cap: closed at once. While stopping new
		 * connections are still taken: polling clients send each request
		 * on a fresh one, and must get their DISCONNECT; new sessions are
		 * refused with 503 instead. */
		char addr[PEER_TEXT_SIZE];
		if (rc == 0 && srv->opts.max_connections_per_ip) {
			if (server_ip_acquire(srv, peer_text(&c->peer, addr)))
				c->ip_counted = true;
			else
				rc = -1;
		}
		if (rc == 0)
			conn_update_timer(c);
		server_leave(srv);
		break;
	}
	case LWS_CALLBACK_RAW_RX:
		if (c->is_ws) {
			server_enter(srv);
			rc = ws_on_data(&c->ws, in, len);
			server_leave(srv);
			break;
		}
		if (!c->h1 || c->close_after)
			break; /* draining after an error response */
		server_enter(srv);
		if (buf_append(&c->in, in, len) < 0)
			rc = -1;
		else
			rc = conn_process(c);
		if (rc == 0 && !c->is_ws && c->out.len)
			lws_callback_on_writable(wsi);
		server_leave(srv);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (c->is_ws) {
			server_enter(srv);
			rc = ws_on_writeable(&c->ws);
			server_leave(srv);
			break;
		}
		if (!c->h1)
			break;
		server_enter(srv);
		rc = conn_writeable(c);
		server_leave(srv);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		server_wakeup(srv);
		break;
	case LWS_CALLBACK_RAW_CLOSE:
		if (!c || !c->srv)
			break;
		server_enter(srv);
		conn_closed(c);
		server_leave(srv);
		break;
	default:
		break;
	}
	return rc;
}
