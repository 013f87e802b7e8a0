/*
 * Front connections (internal to transports/): every accepted socket is a
 * raw lws connection speaking HTTP/1.1 (http/http1.c) until an upgrade
 * turns it into a websocket in place. front.c runs their life and routes
 * requests; polling.c serves long-polling on them; upgrade.c turns one
 * into a websocket (websocket.c).
 */
#ifndef SIOC_TRANSPORTS_FRONT_H
#define SIOC_TRANSPORTS_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/timer.h"
#include "base/util.h"
#include "http/http1.h"
#include "http/request.h"
#include "transports/engine.h"
#include "transports/websocket.h"

struct lws;

enum conn_role { ROLE_NONE, ROLE_GET, ROLE_POST };
enum conn_timer { CT_NONE, CT_IDLE, CT_HEADERS, CT_BODY, CT_DRAIN, CT_TLS };

/* The peer's address in binary (network order; 4 bytes used for
 * AF_INET). Its text is made when needed, by peer_text. */
struct peer_addr {
	sa_family_t family; /* AF_INET, AF_INET6, or AF_UNSPEC when unknown */
	uint8_t bytes[16];
};

/* An accepted connection: HTTP/1.1 until an upgrade makes it a websocket,
 * whose state then takes the place of the HTTP state (the socket's
 * per-connection memory, allocated by lws, holds the larger of the two).
 * Both states begin with the socket and the engine, so c->wsi and
 * c->engine are the websocket's own after the upgrade (a common initial
 * sequence, C11 6.5.2.3). */
struct front_conn {
	union {
		struct {
			struct lws *wsi;
			struct eio_engine *engine;
			struct h1 *h1;
			/* received, not yet parsed; and the current request's body:
			 * the engine's pool blocks, held only while they hold bytes */
			struct pool_buf in, body;
			struct buf out; /* response bytes not yet written */
			size_t out_off;
			struct sio_eio_socket *sess; /* the session served (held GET or POST) */
			uint8_t role;                /* enum conn_role */
			uint8_t timer_kind;          /* enum conn_timer */
			/* a POST to the engine: its body may reach max_http_buffer_size
			 * (else MAX_OTHER_BODY) */
			bool engine_post : 1;
			bool busy : 1;        /* a request is held: parse nothing more */
			bool close_after : 1; /* close once out is written */
			bool rx_paused : 1;
			bool draining : 1;  /* write side shut: reading until EOF or DRAIN_MS */
			bool handshake : 1; /* the held GET opens its session */
			bool out_counted;   /* counted in engine->pending_out */
			struct timer timer;
		};
		struct ws_conn ws;
	};
	struct ip_count *ip;  /* the address counted in max_connections_per_ip, or NULL */
	struct tls_conn *tls; /* the TLS session when the listener speaks TLS, or NULL */
	struct peer_addr peer;
	bool is_ws;          /* upgraded: `ws` is in use, the HTTP state is gone */
	bool proxied;        /* the peer is a trusted proxy: counted per request's client */
};

/* Asks for a write of c->out (and counts c's pending output). */
void conn_want_write(struct front_conn *c);
/* Keeps engine->pending_out in step with c's output. */
void conn_count_out(struct front_conn *c);
/* Appends a whole response to c->out; with !keep_alive (or out of
 * memory) the connection closes once it is written. */
void conn_respond(struct front_conn *c, int status, const char *ctype, const struct buf *extra,
                  const void *body, size_t len, bool keep_alive);
/* 400 (403 for EIO_ERR_FORBIDDEN) with {"code":N,"message":"..."}, as
 * the reference's abortRequest; message NULL: the code's own. */
void conn_respond_error(struct front_conn *c, const struct sio_request *req, int code,
                        const char *message, bool keep_alive);
/* A response with no body and only the CORS headers (the 400 answering a
 * second GET or POST). */
void conn_respond_bare(struct front_conn *c, int status, bool keep_alive);
/* The headers every Engine.IO response carries: CORS, then the hooks
 * (initial_headers too when `initial`). */
void conn_engine_headers(struct front_conn *c, const struct sio_request *req, struct buf *h,
                         bool initial);
/* The front connection a websocket is the state of. */
static inline struct front_conn *ws_front(struct ws_conn *w)
{
	return container_of(w, struct front_conn, ws);
}
/* Encrypts up to TLS_BATCH_MAX bytes of iov on c's TLS session and sends
 * what it can: as sendmsg(), the plaintext bytes taken, or -1 with errno
 * (EAGAIN while earlier records still wait for the socket). */
ssize_t conn_tls_sendv(struct front_conn *c, const struct iovec *iov, int niov);
/* Sends c's waiting records; returns -1 when the socket failed. */
int conn_tls_flush(struct front_conn *c);
/* Shuts c's write side: a close_notify first over TLS (and then only
 * when the socket took it: else the caller's deadline closes c). */
int conn_shutdown_write(struct front_conn *c);
/* Frees c's request body (a block taken when its first bytes came). */
void conn_body_free(struct front_conn *c);
/* The request is answered: c goes on with the next one. */
void conn_request_done(struct front_conn *c);

#endif
