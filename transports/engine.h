/*
 * The engine's insides, shared by the files of transports/ (internal to
 * the folder): the engine object, sessions, and the seam between a
 * session and its transport.
 *
 * A session (struct sio_eio_socket) owns one output queue of encoded
 * packets. The transport in use drains it (a held polling GET takes all
 * of it in one payload, a websocket one packet per frame), reached only
 * through struct eio_transport_ops. Closing is deferred: session_fail()
 * records the reason and the work happens in eio_engine_process(), when
 * no callback is on the stack.
 */
#ifndef SIOC_TRANSPORTS_ENGINE_H
#define SIOC_TRANSPORTS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "base/timer.h"
#include "base/util.h"
#include "http/request.h"
#include "protocol/eio_packet.h"
#include "transports/eio.h"
#include "transports/queue.h"
#include "transports/tls.h"

#define IP_BUCKETS 1024
#define POOL_IDLE_MAX ((size_t)8 << 20) /* bytes the packet pool keeps idle at most */
#define POOL_TRIM_MS 1000               /* how often the pool gives back idle memory */

struct ip_count;

struct eio_engine {
	const struct sio_server_options *opts; /* borrowed from the owner */
	size_t path_len;                       /* strlen(opts->path) */
	struct timer_wheel *wheel;             /* the loop's */
	sio_server *owner;
	struct eio_hooks hooks;
	const struct static_mount *mount; /* another static folder (admin UI), or NULL */
	void (*wakeup)(void *userdata);
	void *wakeup_userdata;

	int depth;          /* nesting of callbacks being handled */
	bool in_loop;       /* deferred work waits for eio_engine_process() */
	bool stopping;      /* eio_engine_stop(): new sessions refused */
	bool count_pending; /* new sessions count as pending handshakes */
	size_t pending_out; /* connections with bytes to write */
	size_t npending;    /* sessions not settled yet */

	/* sessions by sid */
	struct sio_eio_socket **buckets;
	size_t nbuckets;
	size_t nsessions;
	struct list sessions; /* every session not yet freed */
	struct list dirty;    /* sessions with output to flush or a close to finish */
	struct list reap;     /* closed sessions to free */

	struct ip_count *ips[IP_BUCKETS]; /* open connections per peer address */

	struct eio_stats stats;
	struct log *log;              /* borrowed; NULL: none */
	const struct ip_net *proxies; /* trusted proxies, borrowed */
	size_t nproxies;
	int (*render_metrics)(struct buf *out, void *userdata);
	void *metrics_userdata;
	/* encoded packets and received messages (the server's, shared with
	 * the layer above), trimmed every POOL_TRIM_MS */
	struct pool pool;
	struct timer pool_timer;
	/* TLS: the context new connections use (the server's, borrowed; NULL:
	 * plain), and the buffers its connections share */
	struct ssl_ctx_st *tls_ctx;
	struct tls_shared tls;
};

/* ---- the transport seam ------------------------------------------------ */

struct eio_transport;

/* What a session asks of its transport, without knowing which it is. */
struct eio_transport_ops {
	enum sio_transport kind;
	/* Writes what the session's queue holds if the transport can now;
	 * while the session upgrades, a held polling GET gets a noop. */
	void (*flush)(struct eio_transport *t);
	/* Whether a packet queued now would be written at once. */
	bool (*ready)(const struct eio_transport *t);
	/* The session closes: the transport ends its connections (a held
	 * GET gets the close packet at the head of the queue, or a noop when
	 * `noop`) and forgets the session. */
	void (*close)(struct eio_transport *t, bool noop);
	/* The session moved to another transport: a held GET is answered
	 * with a noop, and the transport forgets the session. */
	void (*release)(struct eio_transport *t);
};

/* The first member of every transport's state. */
struct eio_transport {
	const struct eio_transport_ops *ops;
	struct sio_eio_socket *sess; /* NULL once the session let go of it */
};

/* ---- sessions ---------------------------------------------------------- */

enum session_state {
	SS_OPEN,
	SS_CLOSING, /* sio_eio_close(): a close packet is queued */
	SS_FAILED,  /* closed by an error; finishing in eio_engine_process() */
	SS_CLOSED,  /* close callback done; waiting to be freed */
};

struct ws_conn;

struct session_close;
struct session_data;

/* Pointer-sized fields first, the small ones last: no padding holes. What
 * only some sessions need (a close deadline, sio_eio_set_data) is
 * allocated apart, when needed; the handshake request follows the session
 * in its block (session_request()): an idle session is 184 bytes. */
struct sio_eio_socket {
	struct eio_engine *engine;
	void *layer;               /* the layer above's object */
	struct session_data *data; /* sio_eio_set_data(), NULL when none */

	struct eio_transport *tr; /* the transport in use */
	struct ws_conn *probe;    /* a websocket upgrading this session; its timer times it */

	struct timer ping_timer;       /* the next ping, then the pong awaited */
	uint64_t ping_sent;            /* ms when the last ping was queued */
	struct session_close *closing; /* sio_eio_close(): the close packet's deadline */

	struct list link;             /* engine->sessions */
	struct list dirty;            /* engine->dirty or engine->reap; linked when marked */
	struct sio_eio_socket *hnext; /* hash chain */

	struct queue out;

	uint8_t state;        /* enum session_state */
	uint8_t transport;    /* enum sio_transport: tr's kind, kept when tr is gone */
	uint8_t protocol;     /* Engine.IO protocol: 3 or 4 */
	uint8_t close_reason; /* enum eio_close_reason, once failed */
	char sid[21];
	bool upgrading; /* probe answered */
	bool awaiting_pong;
	bool refreshed;     /* ping timeout refreshed once by another packet */
	bool pending;       /* counted in engine->npending */
	bool client_closed; /* the client sent a close packet */
};

/* The memory of a session for a handshake: the session, zeroed, and the
 * kept copy of req (session_request()) in one block (the session's
 * lifetime is the kept request's). NULL when out of memory. Free it with
 * session_create(), or session_discard() when it is not created. */
struct sio_eio_socket *session_alloc(const struct sio_request *req);
/* A session's size in its block, the kept request after it. */
#define SESSION_SIZE ((sizeof(struct sio_eio_socket) + 7) & ~(size_t)7)
/* The handshake request s keeps (borrowed, as long as s lives). */
static inline const struct sio_request *session_request(const struct sio_eio_socket *s)
{
	return (const struct sio_request *)((const char *)s + SESSION_SIZE);
}
void session_discard(struct sio_eio_socket *s);
/* Creates the session s (from session_alloc(), taken over) and attaches
 * tr (whose sess it sets). The protocol (3 or 4) is the request's. Queues the open packet and runs
 * the connection hook. Returns NULL on failure (s freed, tr untouched). */
struct sio_eio_socket *session_create(struct eio_engine *e, struct sio_eio_socket *s,
                                      struct eio_transport *tr);
struct sio_eio_socket *session_find(struct eio_engine *e, const char *sid, size_t len);
/* A session that may still be served (neither failed nor closed). */
bool session_alive(const struct sio_eio_socket *s);
static inline enum sio_transport session_transport(const struct sio_eio_socket *s)
{
	return (enum sio_transport)s->transport;
}
/* Handles one received Engine.IO packet. */
void session_on_packet(struct sio_eio_socket *s, const struct eio_packet *p);
/* Closes the session with reason (the work is deferred). */
void session_fail(struct sio_eio_socket *s, enum eio_close_reason reason);
/* Marks s for flushing / finishing at the end of the current callback. */
void session_mark_dirty(struct sio_eio_socket *s);
/* Runs s's deferred work: flush, or finish a failed one. */
void session_process(struct sio_eio_socket *s);
void session_free(struct sio_eio_socket *s);
/* Called by a transport when it wrote the close packet of sio_eio_close(). */
void session_close_written(struct sio_eio_socket *s);
/* The transport in use is gone (reason "transport close" or "transport
 * error"); the session closes. */
void session_transport_lost(struct sio_eio_socket *s, enum eio_close_reason reason);

/* ---- the engine's services to sessions and connections ---------------- */

/* Gives s a sid no other session has and makes room for it in the
 * table. Returns 0 or -1 (out of memory, no randomness). */
int engine_reserve_session(struct eio_engine *e, struct sio_eio_socket *s);
/* Enters s (reserved) in the table and the session list, counted as a
 * pending handshake when the engine counts them. */
void engine_add_session(struct eio_engine *e, struct sio_eio_socket *s);
/* Takes s out of the table (it stays on the list until freed). */
void engine_remove_session(struct eio_engine *e, struct sio_eio_socket *s);
/* Whether a new session may be made now (not stopping, the pending cap). */
bool engine_accepts_handshake(const struct eio_engine *e);
/* Counts a connection from addr against max_connections_per_ip: NULL
 * when over it or out of memory (nothing counted). Release undoes one
 * acquire; ip_count_addr is the address counted. */
struct ip_count *engine_ip_acquire(struct eio_engine *e, const char *addr);
void engine_ip_release(struct eio_engine *e, struct ip_count *c);
const char *ip_count_addr(const struct ip_count *c);
/* Counts a session's close by its reason. */
void engine_count_close(struct eio_engine *e, enum eio_close_reason reason);
/* Counts a refusal by cause and logs it ("refused.<cause>", info) with
 * the client's address (addr, or req's when NULL), the request (may be
 * NULL) and detail (may be NULL). */
void engine_refuse(struct eio_engine *e, enum eio_refusal cause, const struct sio_request *req,
                   const char *addr, const char *detail);
/* Keeps engine->pending_out in step with one connection's `has` output;
 * *counted records whether it is counted. */
void engine_count_out(struct eio_engine *e, bool *counted, bool has);

#endif
