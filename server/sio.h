/*
 * The Socket.IO layer (internal): clients (one per Engine.IO session),
 * namespaces, sockets, rooms through the adapter, acks. It stands on the
 * Engine.IO engine (transports/eio.h) and knows nothing of the wiring
 * (server.c) but the hooks it installs.
 */
#ifndef SIOC_SERVER_SIO_H
#define SIOC_SERVER_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "base/timer.h"
#include "base/util.h"
#include "protocol/sio_packet.h"
#include "server/adapter.h"
#include "server/recovery.h"
#include "transports/eio.h"

/* Binary attachments an emit may carry (a packet's buffers are kept on
 * the stack while it is encoded). */
#define SIO_MAX_EMIT_BINS 256
/* Event handlers one socket may have (sio_socket_on). */
#define SIO_MAX_HANDLERS 65535

/* Namespace CONNECTs the layer refuses, by cause. */
enum sio_refusal {
	SIO_REFUSED_INVALID_NAMESPACE,
	SIO_REFUSED_NAMESPACE_CAP,
	SIO_REFUSED_MIDDLEWARE,
	SIO_REFUSED_COUNT
};

struct log;

struct sio_socket;
struct sio_pkt;

/*
 * Who watches the layer (the admin UI instrumentation, server/admin.c):
 * the layer calls each member that is set, at the moment the reference's
 * events fire. A member must not free or close what it is handed.
 */
struct sio_observer {
	/* A session of the layer moved to websocket. (Sessions opened and
	 * closed, packets and bytes are the engine's counters, eio_stats.) */
	void (*conn_upgrade)(void *ud, sio_eio_socket *conn);
	/* A socket joined its namespace (before the connection callback), or
	 * is leaving it (before the disconnect callback). */
	void (*socket_connect)(void *ud, struct sio_socket *s);
	void (*socket_disconnect)(void *ud, struct sio_socket *s, const char *reason);
	/* A socket entered or left a room (its own room included). */
	void (*room_join)(void *ud, struct sio_socket *s, const char *room);
	void (*room_leave)(void *ud, struct sio_socket *s, const char *room);
	/* An EVENT packet for a socket, before its handler ([name, ...args]). */
	void (*event_in)(void *ud, struct sio_socket *s, const struct sio_pkt *p);
	/* An emit to one socket (data: [name, ...args], borrowed). */
	void (*event_out)(void *ud, struct sio_socket *s, const json_t *data,
	                  const struct sio_binary *bins, size_t nbins);
	/* A socket's data being shown to fetch-sockets (this node's part or
	 * another node's request): `data` is a copy the member may add to (the
	 * admin's _admin {clientId, transport}, which the reference's
	 * instrument() keeps in socket.data). */
	void (*socket_data)(void *ud, struct sio_socket *s, json_t *data);
	void *userdata;
};

/* Calls io's observer's `member` when it is set. */
#define SIO_OBSERVE(io, member, ...)                                                               \
	do {                                                                                       \
		const struct sio_observer *obs_ = (io)->observer;                                  \
		if (obs_ && obs_->member)                                                          \
			obs_->member(obs_->userdata, __VA_ARGS__);                                 \
	} while (0)

/* The Socket.IO layer's state: one per server. */
struct sio_layer {
	sio_server *owner;                      /* what sio_namespace_server() returns */
	const struct sio_server_options *opts; /* borrowed from the owner */
	struct timer_wheel *wheel;              /* the loop's */
	json_t *empty_object;                   /* shared {} for sockets without auth */
	struct pool *pool;                      /* the engine's, where packets are encoded */
	struct buf scratch;                     /* a packet's text before it goes to the pool */
	bool stopping;                          /* the server is shutting down */
	struct list namespaces;                 /* struct sio_namespace.link */
	struct list parents;                    /* dynamic namespace parents */
	struct list deferred;                   /* sockets with a disconnect to run */
	struct list reap;                       /* closed sockets to free */
	struct list nsp_cleanup;                /* dynamic namespaces that may have emptied */
	struct log *log;                        /* borrowed from the owner; NULL: none */
	uint64_t refused[SIO_REFUSED_COUNT];    /* CONNECTs refused */
	uint64_t events_dropped;                /* volatile broadcasts a transport could not take */
	struct recovery *recovery;              /* NULL unless connection state recovery is on */
	uint32_t nsp_serial;                    /* the last namespace serial given out */
	const struct sio_observer *observer;    /* NULL unless instrumented (admin.c) */
	adapter_factory_fn adapter_create;      /* NULL: the in-memory adapter */
	void *adapter_ud;
	struct list answers;                    /* struct local_answer: results due next turn */
	struct list collecting;                 /* struct local_emit_ack: awaiting clients */
};

/* One Engine.IO connection speaking Socket.IO. */
struct connect_wait;

struct sio_client {
	sio_eio_socket *conn;
	struct sio_pkt_decoder dec;
	struct list sockets; /* struct sio_socket.client_link */
	/* until a namespace is joined: the connect timeout (client.c); NULL
	 * after */
	struct connect_wait *wait;
	uint32_t nsockets; /* in `sockets`: one per namespace at most */
	bool closed;       /* sockets closed; nothing more is handled */
};

struct middleware {
	sio_middleware_fn fn;
	void *userdata;
};

struct sio_namespace {
	struct sio_layer *io;
	char *name;
	struct sio_namespace_events ev;
	void *ev_userdata;
	struct middleware *mws;
	size_t nmws;

	/* a parent of dynamic namespaces, or a child one made */
	bool parent;
	bool child;
	bool in_cleanup; /* on io->nsp_cleanup */
	struct list cleanup_link;
	bool (*accept)(const char *name, const json_t *auth, void *userdata);
	void *accept_userdata;
	char *pattern;

	struct list sockets; /* connected sockets (struct sio_socket.nsp_link) */
	size_t nsockets;
	struct sio_adapter *adapter; /* NULL for a parent */
	uint32_t serial;             /* unique in the layer (recovery records name it) */
	/* acknowledgement ids, one counter for the namespace (the reference's
	 * nsp._ids): a socket's own emits and broadcasts with acks */
	int64_t next_ack_id;
	sio_server_event_fn server_event; /* sio_namespace_on_server_event() */
	void *server_event_ud;
	struct list sessions;        /* recovery sessions of its sockets (recovery.c) */

	struct list link; /* io->namespaces or io->parents */
};

/* The names follow the handler array, NUL-terminated, in its order. */
struct handler {
	sio_event_fn fn;
	void *userdata;
};

/* A connected socket's index by pid, for recovery_take_over(). */
struct pid_link {
	struct pid_link *hnext;
	struct sio_socket *sock;
};

/* Connection state recovery's share of a socket (recovery.h), allocated
 * with it only when recovery is on and the client can use it (not v4):
 * the offsets last given out when it first connected and when its rooms
 * last changed, and the last record it was a recipient of. */
struct socket_rec {
	uint64_t start, rooms, last;
	struct pid_link link; /* in recovery.c's table of connected sockets by pid */
	char pid[21];         /* the private session id */
	bool recovered;
};

/* Acks, allocated when the socket first sends or receives one. */
struct socket_acks {
	struct list out; /* struct pending_ack: our emits awaiting a reply */
	struct list in;  /* struct sio_ack: client requests not answered yet */
	uint32_t nin; /* entries of `in` */
};

/* Pointer-sized fields first, the small ones last: no padding holes. What
 * not every socket uses is allocated apart (recovery, acks, onAny and
 * the events window, the JSON data): an idle socket is 200 bytes and its
 * id. */
struct sio_socket {
	struct sio_client *client;
	struct sio_namespace *nsp;
	struct sio_handshake hs; /* hs.auth is owned */
	void *data;
	void (*data_free)(void *);

	struct socket_rec *rec;   /* NULL unless recovery is on for this socket */
	struct socket_acks *acks; /* NULL until the first ack either way */

	/* one block: nhandlers handlers, then their names in the same order */
	struct handler *handlers;
	struct socket_rare *rare; /* sio_socket_on_any(), the events-per-second window,
	                           * the JSON data; NULL while none is in use */

	uint64_t gen; /* selection stamp of the in-memory adapter */

	/* the in-memory adapter's: the rooms in join order, the own room */
	struct list rooms;        /* membership.in_sock and own_link */
	struct list own_link;     /* linked while in its own room */
	struct sio_socket *hnext; /* chain of the adapter's ids table */

	struct list nsp_link;
	struct list client_link;
	struct list defer_link; /* io->deferred or io->reap */

	uint32_t nrooms;    /* rooms joined (kept by the adapter) */
	uint16_t nhandlers; /* SIO_MAX_HANDLERS at most */
	bool connected : 1;
	bool closed : 1;             /* left (or refused): joins fail from now on */
	bool disconnect_pending : 1; /* sio_socket_disconnect() to run */
	bool disconnect_close : 1;
	/* 20 random URL-safe characters; for an Engine.IO v3 client, as the
	 * reference names it: the session's id in "/", "<nsp>#<session id>"
	 * elsewhere */
	char id[];
};

/* What few sockets use, allocated apart. */
struct socket_rare {
	sio_event_fn any;
	void *any_userdata;
	json_t *json_data;      /* owned, or NULL */
	uint64_t events_window; /* start (ms) of the current one-second window */
	uint32_t events_in_window;
};

/* s's rare part, made when missing; NULL when out of memory. */
struct socket_rare *socket_rare_get(struct sio_socket *s);
/* s's acks, made when missing; NULL when out of memory. */
struct socket_acks *socket_acks_get(struct sio_socket *s);

/* Whether the client speaks Socket.IO protocol v4 (socket.io-client 1.x
 * and 2.x, always over Engine.IO v3). */
static inline bool client_v4(const struct sio_client *c)
{
	return eio_session_protocol(c->conn) == 3;
}

/* client.c */
/* The layer of a server: options, wheel and pool borrowed; "/" exists.
 * NULL when out of memory. */
struct sio_layer *sio_layer_create(sio_server *owner, const struct sio_server_options *opts,
				   struct timer_wheel *wheel, struct pool *pool);
/* The engine hooks that plug the layer in (userdata is the layer). */
void sio_layer_hooks(struct sio_layer *io, struct eio_hooks *hooks);
void sio_layer_destroy(struct sio_layer *io);
/* Shutdown: from now on the sockets leave with "server shutting down"
 * when their connection closes; no DISCONNECT is sent (the reference
 * sends none: its clients see a transport close and reconnect). */
void sio_layer_shutdown(struct sio_layer *io);
/* Closes the whole connection: sockets get `reason`, the Engine.IO
 * session is closed once its queue is written. */
void client_close(struct sio_client *c, const char *reason);

/* socket.c */
struct sio_socket *socket_new(struct sio_client *c, struct sio_namespace *nsp, json_t *auth);
void socket_free(struct sio_socket *s);
/* Marks connected, joins its own room, queues the CONNECT reply, runs the
 * connection callback. */
void socket_connected(struct sio_socket *s);
void socket_on_packet(struct sio_socket *s, struct sio_pkt *p);
/* Leaves: disconnecting callback, rooms left, pending acks fail, the
 * disconnect callback; the memory is freed later. */
void socket_close(struct sio_socket *s, const char *reason);
/* Encodes a packet (BINARY_* when nbins) with the server's parser into
 * shared buffers of io's pool: for JSON out[0] the text, then one per
 * attachment (out holds 1 + nbins); for msgpack one binary message. data
 * borrowed. Returns the number of buffers (new references) or a negative
 * SIO_E*. */
int encode_packet(struct sio_layer *io, const char *nsp, size_t nsp_len,
		  enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, struct outbuf **out);
/* Queues one packet for the socket. data borrowed. */
int socket_packet(struct sio_socket *s, enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, bool is_volatile);
/* Builds *out = [event, ...args] from args (stolen; NULL for none).
 * Returns 0, SIO_EINVAL (args not an array) or SIO_ENOMEM. */
int event_array(const char *event, json_t *args, json_t **out);
/* Notes that the rooms of s changed (for recovery). */
void socket_rooms_changed(struct sio_socket *s);
/* Checks an emit's event name and binaries: 0, SIO_EINVAL, SIO_ERESERVED
 * or SIO_ETOOBIG. */
int emit_check(const char *event, const struct sio_binary *bins, size_t nbins);
/* An emit's [event, ...args]: pre (the caller's own check, 0 or a SIO_E*
 * code) first, then emit_check(), then event_array(). args stolen;
 * returns 0 or the first error. */
int emit_data(int pre, const char *event, json_t *args, const struct sio_binary *bins,
              size_t nbins, json_t **out);
/* The namespace's next acknowledgement id. */
int64_t namespace_ack_id(struct sio_namespace *nsp);
/* Waits for the client's ACK of id on s: fn(s, 0, args...) when it comes,
 * fn(s, SIO_ECLOSED, ...) when the socket leaves first; no timeout.
 * Returns 0 or SIO_ENOMEM. */
int socket_expect_ack(struct sio_socket *s, int64_t id, sio_ack_fn fn, void *ud);
/* Forgets, without calling them, the acks awaited with fn and ud by the
 * sockets of nsp; returns how many there were. */
size_t namespace_drop_acks(struct sio_namespace *nsp, int64_t id, sio_ack_fn fn, void *ud);
/* The request's headers and query as Node reads them (req.headers,
 * querystring.parse()), and Date.prototype.toString() of ms (admin.c).
 * New references, or NULL. */
json_t *request_headers_json(const struct sio_request *req);
json_t *request_query_json(const struct sio_request *req);
json_t *js_date_string(int64_t ms);
/* adapter_cluster.c: answers every pending local result with SIO_ECLOSED
 * (the layer is being destroyed). */
void local_answers_close(struct sio_layer *io);

/* metrics.c */
/* Counts a refused CONNECT to namespace name (len bytes) and logs it
 * ("refused.<cause>", info); detail may be NULL. */
void layer_refuse(struct sio_layer *io, enum sio_refusal cause, struct sio_client *c,
                  const char *name, size_t len, const char *detail);

/* namespace.c */
/* The namespace called name, created when missing. NULL on a bad name or
 * out of memory. */
struct sio_namespace *namespace_of(struct sio_layer *io, const char *name);
struct sio_namespace *namespace_find(struct sio_layer *io, const char *name, size_t len);
/* A namespace for a CONNECT to `name`: existing, or made by a dynamic
 * parent. NULL when none accepts. */
struct sio_namespace *namespace_for_connect(struct sio_layer *io, const char *name, size_t len,
					    const json_t *auth);
/* A parent of dynamic namespaces: by accept callback, or by pattern. */
struct sio_namespace *namespace_parent(struct sio_layer *io,
				       bool (*accept)(const char *name, const json_t *auth,
						      void *userdata),
				       void *userdata, const char *pattern);
void namespace_free(struct sio_namespace *nsp);
/* Runs the middleware; 0 or the refusal (message, data new or NULL). */
int namespace_run_middleware(struct sio_namespace *nsp, struct sio_socket *s, char **message,
			     json_t **data);

#endif
