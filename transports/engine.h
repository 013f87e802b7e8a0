/*
 * Engine.IO v4 sessions and their transports (internal).
 *
 * A session (struct sio_eio_socket) owns one output queue of encoded
 * packets. The transport in use drains it: a held polling GET gets all of
 * it in one payload, a websocket gets one packet per frame. Closing is
 * deferred: session_fail() records the reason and the work happens in
 * session_process(), run when no callback is on the stack.
 */
#ifndef SIOC_TRANSPORTS_ENGINE_H
#define SIOC_TRANSPORTS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "protocol/eio_packet.h"
#include "protocol/utf8.h"
#include "protocol/ws_parser.h"
#include "server/server.h"
#include "server/timer.h"
#include "server/util.h"
#include "transports/request.h"

struct lws;
struct front_conn;
struct sio_eio_socket;

/* A websocket: a front connection after its upgrade (ws.c), held in its
 * memory. It begins, as the HTTP state it replaces, with wsi and srv
 * (front.c reads them through either). */
struct ws_conn {
	struct lws *wsi; /* the front connection's raw socket; NULL once closed */
	struct sio_server *srv;
	struct sio_eio_socket *sess; /* NULL once detached */
	bool probe_pong;             /* "3probe" to write */
	bool closing;                /* our close frame is queued: no more data either way */
	bool draining;               /* close frame written, write side shut */
	bool blocked;                /* the kernel took less than offered: wait for POLLOUT */
	bool out_counted;            /* counted in srv->pending_out */

	/* output, in this order: the rest of a frame cut by the kernel, then
	 * handshake and control bytes, then the session's queue */
	struct outbuf *cur;
	const uint8_t *cur_p;
	size_t cur_left;
	struct buf out;
	size_t out_off;
	struct timer timer; /* a probe's upgrade wait (session.c), then close wait, then drain */

	struct ws_parser rx;
};

/* An encoded packet shared by reference (a broadcast shares one). Layout:
 * headroom for the websocket frame header, the type digit, the data. */
struct outbuf {
	uint32_t refs;
	uint8_t type; /* enum eio_packet_type */
	bool binary;
	size_t len;   /* data length */
	uint8_t mem[]; /* [OUTBUF_PRE] type digit, then data */
};

#define OUTBUF_PRE 16 /* >= LWS_PRE; checked in ws.c */

static inline uint8_t *outbuf_data(struct outbuf *o)
{
	return o->mem + OUTBUF_PRE + 1;
}

struct outbuf *outbuf_new(enum eio_packet_type type, bool binary, const void *data, size_t len);
void outbuf_unref(struct outbuf *o);

enum session_state {
	SS_OPEN,
	SS_CLOSING, /* sio_eio_close(): a close packet is queued */
	SS_FAILED,  /* closed by an error; finishing in session_process() */
	SS_CLOSED,  /* close callback done; waiting to be freed */
};

/* Pointer-sized fields first, the small ones last: no padding holes. */
struct sio_eio_socket {
	struct sio_server *srv;
	struct sio_request *req; /* the handshake request, owned */
	void *layer;             /* the Socket.IO client on this session */
	void *data;
	void (*data_free)(void *);
	const char *close_reason;

	/* polling */
	struct front_conn *poll; /* held GET */
	struct front_conn *post; /* POST being received */

	/* websocket */
	struct ws_conn *ws;    /* the websocket transport in use */
	struct ws_conn *probe; /* a websocket upgrading this session; its timer times the upgrade */

	struct timer ping_timer;  /* the next ping, then the pong awaited */
	struct timer close_timer; /* sio_eio_close(): the close packet's deadline */

	struct list link;             /* srv->sessions */
	struct list dirty;            /* srv->dirty or srv->reap; linked when marked */
	struct sio_eio_socket *hnext; /* hash chain */

	/* output queue (ring of shared packets) */
	struct outbuf **ring;
	size_t queued_bytes;
	uint32_t ring_cap, ring_head, ring_count;

	enum session_state state;
	enum sio_transport transport;
	char sid[21];
	bool upgrading;    /* probe answered */
	bool close_queued; /* the close packet is in the queue */
	bool awaiting_pong;
	bool refreshed; /* ping timeout refreshed once by another packet */
};

/* Creates a session for a handshake over `transport`, taking ownership of
 * req (from request_keep()). Queues the open packet and runs the connection
 * callback.
 * Returns NULL on failure (req released). */
struct sio_eio_socket *session_create(struct sio_server *srv, struct sio_request *req,
				      enum sio_transport transport);
struct sio_eio_socket *session_find(struct sio_server *srv, const char *sid, size_t len);
/* Handles one received Engine.IO packet (text digit form or binary). */
void session_on_packet(struct sio_eio_socket *s, const struct eio_packet *p);
/* Closes the session with reason (deferred to session_process). */
void session_fail(struct sio_eio_socket *s, const char *reason);
/* Marks s for flushing / finishing at the end of the current callback. */
void session_mark_dirty(struct sio_eio_socket *s);
/* Runs the deferred work of every dirty session, then frees closed ones. */
void sessions_process(struct sio_server *srv);
/* Closes every session ("server shutting down") and frees them all. */
void sessions_close_all(struct sio_server *srv, const char *reason);

/* Queue access for transports. */
static inline struct outbuf *session_peek(struct sio_eio_socket *s)
{
	return s->ring_count ? s->ring[s->ring_head] : NULL;
}
struct outbuf *session_pop(struct sio_eio_socket *s);
/* Called by a transport when the close packet has been written. */
void session_close_written(struct sio_eio_socket *s);

/* A polling GET for s arrived on c (already checked: no other GET). */
void session_poll_attach(struct sio_eio_socket *s, struct front_conn *c);

/* Websocket transport events (ws.c, front.c -> session.c). */
/* A websocket upgrade for session `sid` (a probe), or with sid NULL a new
 * session for req (taken; freed on failure). */
void session_ws_established(struct sio_server *srv, struct ws_conn *w, const char *sid,
			    struct sio_request *req);
void session_ws_message(struct ws_conn *w, const uint8_t *data, size_t len, bool binary);
void session_ws_closed(struct ws_conn *w);

/* Front (front.c) services used by session.c. */
/* Answers the held GET on c with a payload made of all queued packets (or
 * a single noop when `noop`), detaching it from the session. */
void front_poll_respond(struct front_conn *c, struct sio_eio_socket *s, bool noop);
/* The session is gone: forget it (and close c when a body is pending). */
void front_detach(struct front_conn *c);

/* Websocket transport services (ws.c) used by session.c. */
void ws_request_write(struct ws_conn *w);
/* Writes the session's queue now when the socket can take it. */
void ws_flush(struct ws_conn *w);
/* Sends a close frame (code 0: none), then ends the connection. */
void ws_close(struct ws_conn *w, int code);
void ws_detach(struct ws_conn *w);

/* The websocket on a front connection (ws.c, used by front.c). */
/* Starts the websocket w (memory of the caller's) on wsi for a verified
 * upgrade request with this Sec-WebSocket-Key: takes `pending`, bytes still
 * to be written from pending_off on (left empty), then queues the 101
 * answer with the extra header lines. Returns 0, or -1 when out of memory
 * (the pending bytes are freed). */
int ws_open(struct ws_conn *w, struct sio_server *srv, struct lws *wsi, const char *key,
	    struct buf *pending, size_t pending_off, const struct buf *headers);
/* Bytes read from the socket (unmasked in place). Returns -1 when the
 * connection must close now. */
int ws_on_data(struct ws_conn *w, uint8_t *data, size_t len);
/* The socket can take more. Returns -1 when the connection must close. */
int ws_on_writeable(struct ws_conn *w);
/* The socket is closed: tells the session, frees what w holds. */
void ws_on_closed(struct ws_conn *w);

size_t front_conn_size(void);

/* Queues a packet and its attachments (shared buffers; each queued one
 * takes a new reference), all or none, under the queue limits and policy.
 * With is_volatile, drops them (returning 0) when the transport could not
 * write them now. */
int session_send_outbufs(struct sio_eio_socket *s, struct outbuf **bufs, size_t n,
			 bool is_volatile);
/* Whether `n` more packets of `bytes` fit the queue limits. */
bool session_room_for(const struct sio_eio_socket *s, size_t n, size_t bytes);
bool session_writable(const struct sio_eio_socket *s);
/* The queue is full: applies the queue_full policy; returns SIO_EFULL. */
int session_full(struct sio_eio_socket *s);

/* Random URL-safe id of 20 characters + NUL. Returns 0 or -1. */
int make_sid(char out[21]);

#endif
