/*
 * The websocket transport (internal to transports/), on sioc's own RFC
 * 6455 framing: a front connection whose upgrade passed verification
 * becomes a websocket in place (upgrade.c), in its own memory.
 */
#ifndef SIOC_TRANSPORTS_WEBSOCKET_H
#define SIOC_TRANSPORTS_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/timer.h"
#include "base/util.h"
#include "protocol/ws_parser.h"
#include "transports/engine.h"

struct lws;
struct ws_ctl;
struct ws_conn;

struct ws_timer {
	struct timer t;
	struct ws_conn *w;
};

/* A websocket. It begins, as the HTTP state it replaces, with wsi and
 * engine (front.c reads them through either). */
struct ws_conn {
	struct lws *wsi; /* the front connection's raw socket; NULL once closed */
	struct eio_engine *engine;
	struct eio_transport tr; /* tr.sess: the session served, as its transport or probe */
	bool probe_pong;         /* "3probe" to write */
	bool closing;            /* our close frame is queued: no more data either way */
	bool draining;           /* close frame written, write side shut */
	bool blocked;            /* the kernel took less than offered: wait for POLLOUT */
	bool out_counted;        /* counted in engine->pending_out */
	uint8_t protocol;        /* the session's Engine.IO protocol (3 or 4): a cut
	                          * frame is rebuilt the same way after the session left */

	/* output, in this order: the rest of a frame cut by the kernel, then
	 * handshake and control bytes, then the session's queue */
	struct outbuf *cur; /* the packet whose frame the kernel cut */
	size_t cur_off;     /* bytes of cur's frame written */
	struct ws_ctl *ctl; /* handshake and control bytes; NULL when none wait */
	struct ws_timer *timer; /* a probe's upgrade wait (upgrade.c), then close wait, then
	                         * drain; allocated when first armed (an open websocket
	                         * holds none) */

	struct ws_parser rx;
};

/* Starts the websocket w (memory of the caller's) on wsi for a verified
 * upgrade request with this Sec-WebSocket-Key: takes `pending`, bytes still
 * to be written from pending_off on (left empty), then queues the 101
 * answer with the extra header lines. Serves no session yet. Returns 0, or
 * -1 when out of memory (the pending bytes are freed). */
int ws_open(struct ws_conn *w, struct eio_engine *e, struct lws *wsi, const char *key,
            struct buf *pending, size_t pending_off, const struct buf *headers);
/* Bytes read from the socket (unmasked in place). Returns -1 when the
 * connection must close now. */
int ws_on_data(struct ws_conn *w, uint8_t *data, size_t len);
/* The socket can take more. Returns -1 when the connection must close. */
int ws_on_writeable(struct ws_conn *w);
/* The socket is closed: tells the session, frees what w holds. */
void ws_on_closed(struct ws_conn *w);

/* Arms w's timer (made when missing) for `at` (ms). Returns 0, or -1
 * when out of memory (nothing armed). */
int ws_timer_arm(struct ws_conn *w, uint64_t at, timer_fn fn);
/* The websocket whose timer t is. */
static inline struct ws_conn *ws_timer_conn(struct timer *t)
{
	return container_of(t, struct ws_timer, t)->w;
}
/* Cancels w's timer, if any, and frees it. */
void ws_timer_free(struct ws_conn *w);

/* Asks for a write when the socket can take one. */
void ws_request_write(struct ws_conn *w);
/* Sends a close frame (code 0: none), then ends the connection. */
void ws_close(struct ws_conn *w, int code);

/* The transport a session reaches w through. */
extern const struct eio_transport_ops ws_transport_ops;

#endif
