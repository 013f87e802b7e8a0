/*
 * The Engine.IO engine as the layer above sees it: an object that owns the
 * sessions and everything about them (the sid table, the per-address and
 * pending-handshake caps, the deferred closes), serves the listener's
 * connections, and reports upward only through struct eio_hooks.
 *
 * The engine never calls into the layers above by name: the Socket.IO
 * layer (server/) plugs its work in through the hooks, and the wiring
 * (server/server.c) owns the loop and hands the engine its timing wheel.
 */
#ifndef SIOC_TRANSPORTS_EIO_H
#define SIOC_TRANSPORTS_EIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "base/timer.h"
#include "transports/queue.h"

struct lws_protocols;
struct eio_engine;
struct ip_net;
struct log;
struct buf;

/* What the engine reports upward: the public callbacks, plus what a
 * layer above needs to run its deferred work in step with the engine. */
struct eio_hooks {
	struct sio_eio_events ev; /* connection, message, close, upgrade */
	void *userdata;           /* passed to every member */
	/* Before queued output is flushed (once per loop turn, and at the
	 * end of a callback run outside the loop): deferred work that may
	 * queue packets. */
	void (*before_flush)(void *userdata);
	/* After closed sessions were freed: free what the layer closed. */
	void (*after_reap)(void *userdata);
};

/* An engine serving opts (borrowed; they must outlive it), its timers on
 * wheel (borrowed). owner is what sio_eio_server() returns. NULL when
 * out of memory. */
struct eio_engine *eio_engine_create(const struct sio_server_options *opts,
                                     struct timer_wheel *wheel, sio_server *owner);
/* Closes what is left ("server shutting down", close hooks run) and frees
 * the engine. NULL is a no-op. */
void eio_engine_destroy(struct eio_engine *e);
void eio_engine_set_hooks(struct eio_engine *e, const struct eio_hooks *hooks);
/* fn(userdata) runs when another thread woke the loop
 * (lws_cancel_service()): the loop's owner, not a layer, handles that. */
void eio_engine_on_wakeup(struct eio_engine *e, void (*fn)(void *userdata), void *userdata);
/* Serves another static folder under a path (http/static.h; borrowed, it
 * must outlive the engine; NULL: none). */
struct static_mount;
void eio_engine_set_static_mount(struct eio_engine *e, const struct static_mount *mount);
/* With `on`, a new session counts against max_pending_handshakes until
 * eio_session_settle() (the Socket.IO layer: until it joins a namespace). */
void eio_engine_count_pending(struct eio_engine *e, bool on);

/* The lws protocols (one, and the terminating entry) the listener's raw
 * connections are served with; the lws context's user must be the
 * engine. */
const struct lws_protocols *eio_front_protocols(void);

/* Callbacks nest: work the engine defers (flushes, frees) runs when the
 * outermost one leaves. Inside the loop it waits for eio_engine_process()
 * (once per loop turn) instead. */
void eio_engine_enter(struct eio_engine *e);
void eio_engine_leave(struct eio_engine *e);
void eio_engine_set_in_loop(struct eio_engine *e, bool in_loop);
/* Runs the deferred work: hooks.before_flush, every dirty session's
 * flush or close, the frees, hooks.after_reap. */
void eio_engine_process(struct eio_engine *e);

/* A graceful stop: new sessions are refused (503) from now on, and every
 * session gets a close packet after its queued output. */
void eio_engine_stop(struct eio_engine *e);
enum eio_close_reason;
/* Closes every session now with reason and frees them. */
void eio_engine_close_all(struct eio_engine *e, enum eio_close_reason reason);
/* Whether no session is open and no connection has output to write. */
bool eio_engine_idle(const struct eio_engine *e);
/* Open sessions. */
size_t eio_engine_sessions(const struct eio_engine *e);
/* The memory pool of the server's packets (borrowed, as long as the
 * engine lives): the layer above encodes its packets there. */
struct pool *eio_engine_pool(struct eio_engine *e);

/* ---- proxies, statistics, logs -------------------------------------- */

/* Requests the engine refuses, by cause (see sioc.h's sio_server_stats). */
enum eio_refusal {
	EIO_REFUSED_PER_ADDRESS_CAP,
	EIO_REFUSED_PENDING_CAP,
	EIO_REFUSED_SHUTTING_DOWN,
	EIO_REFUSED_UNKNOWN_TRANSPORT,
	EIO_REFUSED_UNKNOWN_SID,
	EIO_REFUSED_BAD_HANDSHAKE_METHOD,
	EIO_REFUSED_BAD_REQUEST,
	EIO_REFUSED_BAD_ORIGIN,
	EIO_REFUSED_FORBIDDEN,
	EIO_REFUSED_UNSUPPORTED_VERSION,
	EIO_REFUSED_HTTP_ERROR,
	EIO_REFUSED_TIMEOUT,
	EIO_REFUSED_UNAUTHORIZED,
	EIO_REFUSED_TLS, /* a TLS handshake failed, timed out, or a renegotiation */
	EIO_REFUSED_COUNT
};

/* Why sessions closed: the reasons the close callback is given. */
enum eio_close_reason {
	EIO_CLOSE_TRANSPORT_CLOSE,
	EIO_CLOSE_TRANSPORT_ERROR,
	EIO_CLOSE_PING_TIMEOUT,
	EIO_CLOSE_PARSE_ERROR,
	EIO_CLOSE_FORCED_CLOSE,
	EIO_CLOSE_QUEUE_FULL,
	EIO_CLOSE_SERVER_SHUTTING_DOWN,
	EIO_CLOSE_COUNT
};

/* The cause's metric label ("per_address_cap", ...). */
const char *eio_refusal_name(enum eio_refusal cause);
/* The reason's text ("transport close", ...). */
const char *eio_close_reason_name(enum eio_close_reason reason);

/* The engine's numbers. The counters are plain increments where things
 * happen; the gauges are computed by eio_engine_stats(). */
struct eio_stats {
	uint64_t connections;      /* sessions opened */
	uint64_t packets_received; /* Engine.IO packets, probes included */
	uint64_t packets_sent;
	uint64_t bytes_received; /* on every socket, HTTP included */
	uint64_t bytes_sent;
	uint64_t upgrades;
	uint64_t queue_full;     /* sends refused by a full queue */
	uint64_t events_dropped; /* volatile sends not queued */
	uint64_t disconnections[EIO_CLOSE_COUNT];
	uint64_t refused[EIO_REFUSED_COUNT];
	/* gauges */
	uint64_t clients;
	uint64_t clients_polling;
	uint64_t clients_websocket;
	uint64_t queued_bytes;
};

/* Copies the counters and computes the gauges (a walk of the sessions). */
void eio_engine_stats(const struct eio_engine *e, struct eio_stats *out);
/* Refusals and errors are written to log (borrowed; NULL: none). */
void eio_engine_set_log(struct eio_engine *e, struct log *log);
/* The trusted proxies (borrowed, n of them; see opts.trust_proxy). */
/* The TLS context new connections use (borrowed: the caller keeps it
 * alive while the engine may accept; connections keep their own
 * reference), or NULL for plain TCP. */
struct ssl_ctx_st;
void eio_engine_set_tls(struct eio_engine *e, struct ssl_ctx_st *ctx);
void eio_engine_set_proxies(struct eio_engine *e, const struct ip_net *nets, size_t n);
/* With opts->metrics_path set, the front answers it with what render
 * appends to out (Prometheus text; returns 0, or -1 for a 500). */
void eio_engine_on_metrics(struct eio_engine *e, int (*render)(struct buf *out, void *userdata),
                           void *userdata);

/* ---- sessions, for the layer above ---------------------------------- */

/* The layer above's object for the session (NULL until set). */
void *eio_session_layer(const sio_eio_socket *s);
void eio_session_set_layer(sio_eio_socket *s, void *layer);
/* Whether packets can still be queued (not closing nor closed). */
bool eio_session_open(const sio_eio_socket *s);
/* The Engine.IO protocol the session speaks: 3 (clients 1.x/2.x, with
 * allow_eio3) or 4. */
int eio_session_protocol(const sio_eio_socket *s);
/* The session is no longer a pending handshake (see
 * eio_engine_count_pending()). Idempotent. */
void eio_session_settle(sio_eio_socket *s);
/* Whether a packet queued now would be written at once (nothing queued,
 * and the transport can take it: a held GET, an open websocket). */
bool eio_session_writable(const sio_eio_socket *s);
/* Queues n shared packets (each queued one takes a reference), all or
 * none, under the queue limits and policy. With is_volatile they are
 * dropped (returning 0) unless eio_session_writable(). Returns 0,
 * SIO_ECLOSED, SIO_EFULL or SIO_ENOMEM. */
int eio_session_send(sio_eio_socket *s, struct outbuf **bufs, size_t n, bool is_volatile);
/* For how many ms a ping has gone without its pong (0 when none is
 * awaited): a session silent that long may be gone without a close seen. */
uint64_t eio_session_unanswered_ms(const sio_eio_socket *s);

#endif
