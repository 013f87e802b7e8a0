/*
 * The adapter interface (internal): where a namespace's rooms live and
 * how a selection of its sockets is reached, as the reference's Adapter
 * class. Each namespace has one adapter; the in-memory one
 * (adapter_memory.c) keeps the rooms in this process. An adapter that
 * spans several processes implements the same operations, doing the
 * local part with the adapter_local_* forms below and telling the other
 * nodes the rest; cross-node answers are always asynchronous.
 */
#ifndef SIOC_SERVER_ADAPTER_H
#define SIOC_SERVER_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "transports/queue.h"

struct sio_socket;
struct sio_namespace;
struct sio_adapter;

/* Calls for one socket of a selection. */
typedef void (*adapter_each_fn)(struct sio_socket *s, void *arg);

struct sio_adapter_ops {
	/* Frees the adapter and every room; the sockets stay (roomless). */
	void (*destroy)(struct sio_adapter *a);
	/* Room membership of one socket. join returns 0 or SIO_ENOMEM. */
	int (*join)(struct sio_adapter *a, struct sio_socket *s, const char *room);
	void (*leave)(struct sio_adapter *a, struct sio_socket *s, const char *room);
	void (*leave_all)(struct sio_adapter *a, struct sio_socket *s);
	bool (*has)(const struct sio_adapter *a, const struct sio_socket *s, const char *room);
	/* The i-th room of s in join order (borrowed name); false past the
	 * last. */
	bool (*room_at)(const struct sio_adapter *a, const struct sio_socket *s, size_t i,
	                const char **room);
	/* Calls fn once for each connected local socket of the selection t
	 * (NULL: all). fn must not change rooms. */
	void (*select)(struct sio_adapter *a, const struct sio_target *t, adapter_each_fn fn,
	               void *arg);
	/* Queues the encoded packet bufs[0..n) (shared) for every socket of
	 * the selection. `offset` is its recovery offset (0: not stored):
	 * each local recipient's rec->last takes it. Returns how many local
	 * sockets it was queued for. */
	int (*broadcast)(struct sio_adapter *a, const struct sio_target *t, struct outbuf **bufs,
	                 size_t n, uint64_t offset);
	/* The sockets of the selection: up to max into out; returns how many
	 * there are. */
	size_t (*fetch_sockets)(struct sio_adapter *a, const struct sio_target *t,
	                        struct sio_socket **out, size_t max);
	/* Every socket of the selection joins / leaves room, or disconnects
	 * (closing its whole connection with `close`). 0 or a SIO_E* code. */
	int (*sockets_join)(struct sio_adapter *a, const struct sio_target *t, const char *room);
	int (*sockets_leave)(struct sio_adapter *a, const struct sio_target *t, const char *room);
	int (*disconnect_sockets)(struct sio_adapter *a, const struct sio_target *t, bool close);
	/* An event for the other nodes' handlers (args borrowed). The
	 * in-memory adapter has no other node: 0, nothing sent. */
	int (*server_side_emit)(struct sio_adapter *a, const char *event, const json_t *args,
	                        const struct sio_binary *bins, size_t nbins);
	/* The number of rooms on this node, each socket's own room included
	 * (the reference's adapter.rooms.size). */
	size_t (*rooms_count)(const struct sio_adapter *a);

	/* ---- the other nodes (NULL in the in-memory adapter) ---- */
	/* Tells the other nodes about an emit to t (never t->local), before
	 * its local part: data is [event, ...args] with placeholders for
	 * bins (borrowed, without a recovery offset). Fire-and-forget: a
	 * message that cannot be sent is dropped and counted. */
	void (*publish)(struct sio_adapter *a, const struct sio_target *t, const json_t *data,
	                const struct sio_binary *bins, size_t nbins);
	/* Cross-node operations, answered through fn exactly once on a later
	 * loop turn (see sioc.h), unless they return an error (then fn is
	 * never called). NULL: the server answers with this node's result.
	 * data, args borrowed. */
	int (*fetch_sockets_async)(struct sio_adapter *a, const struct sio_target *t,
	                           sio_fetch_fn fn, void *ud);
	int (*server_side_emit_with_ack)(struct sio_adapter *a, const char *event,
	                                 const json_t *args, const struct sio_binary *bins,
	                                 size_t nbins, uint32_t timeout_ms, sio_responses_fn fn,
	                                 void *ud);
	int (*emit_with_ack)(struct sio_adapter *a, const struct sio_target *t, const json_t *data,
	                     const struct sio_binary *bins, size_t nbins, uint32_t timeout_ms,
	                     sio_responses_fn fn, void *ud);
	int (*server_count)(struct sio_adapter *a, sio_count_fn fn, void *ud);
	/* Every node's rooms (sio_namespace_all_rooms_async()). */
	int (*all_rooms_async)(struct sio_adapter *a, sio_rooms_fn fn, void *ud);
	/* A recovery session kept for a socket that left is in room (own: the
	 * socket's own room) and holds it (hold), or lets it go: an adapter
	 * that subscribes per room keeps the room's subscription while it is
	 * held, as if a socket were in it. May be NULL. */
	void (*hold_room)(struct sio_adapter *a, const char *room, bool own, bool hold);
};

/* The first member of every adapter. */
struct sio_adapter {
	const struct sio_adapter_ops *ops;
	struct sio_namespace *nsp;
};

/* The in-memory adapter of nsp, or NULL when out of memory. */
struct sio_adapter *adapter_memory_create(struct sio_namespace *nsp);
/* Told when a room of an in-memory adapter comes to be (its first member
 * joined: created) or goes (its last left), the reference's "create-room"
 * and "delete-room"; own: the room is a socket's own (named by its id).
 * Not told when the adapter is destroyed. It must not change rooms. */
typedef void (*adapter_room_fn)(void *ud, const char *room, bool own, bool created);
/* Sets the in-memory adapter a's room hook (fn NULL: none). */
void adapter_memory_on_rooms(struct sio_adapter *a, adapter_room_fn fn, void *ud);

/* What makes each namespace's adapter: the in-memory one unless a cluster
 * (cluster/, through server_set_cluster()) plugs in its own. */
typedef struct sio_adapter *(*adapter_factory_fn)(void *ud, struct sio_namespace *nsp);

/* The operations on this node's sockets, built on a->ops->select: what
 * the in-memory adapter does, and the local part of any other. */
int adapter_local_broadcast(struct sio_adapter *a, const struct sio_target *t, struct outbuf **bufs,
                            size_t n, uint64_t offset);
size_t adapter_local_fetch_sockets(struct sio_adapter *a, const struct sio_target *t,
                                   struct sio_socket **out, size_t max);
int adapter_local_sockets_join(struct sio_adapter *a, const struct sio_target *t, const char *room);
int adapter_local_sockets_leave(struct sio_adapter *a, const struct sio_target *t,
                                const char *room);
int adapter_local_disconnect_sockets(struct sio_adapter *a, const struct sio_target *t, bool close);

/* ---- what every cross-node adapter shares (adapter_cluster.c) ---- */

/* Delivers an emit that came from another node to this node's sockets of
 * t, as sio_namespace_emit()'s local part (stored for recovery when that
 * is on, encoded once, queued through a->ops->broadcast). data ([event,
 * ...args], placeholders for bins) is stolen. Returns the number of
 * sockets or a SIO_E* code. */
int namespace_deliver(struct sio_namespace *nsp, const struct sio_target *t, json_t *data,
                      const struct sio_binary *bins, size_t nbins);

/* A local socket as the reference's fetchSockets answer describes it:
 * {id, handshake, rooms, data}. A new reference, or NULL. */
json_t *socket_remote_json(struct sio_socket *s);
/* This node's sockets of t (through a->ops->select) as an array of
 * those; a new reference, or NULL when out of memory. */
json_t *adapter_local_fetch_json(struct sio_adapter *a, const struct sio_target *t);
/* The names of every room of this node (a->ops->room_at of each socket,
 * in connection then join order), each once, as an array: a new reference,
 * or NULL when out of memory. */
json_t *adapter_local_rooms_json(struct sio_adapter *a);

/* The binaries of answers collected into one responses array (a
 * sio_responses_fn's bins): copies, owned. */
struct answer_bins {
	struct sio_binary *v; /* each .data malloc'd */
	size_t n, cap;
};
/* Appends arg (borrowed; NULL: null) to arr with its placeholders for
 * bins[0..nbins) renumbered after the b->n binaries already in, and copies
 * of those binaries to b. 0 or SIO_ENOMEM (nothing appended then). */
int answer_append(json_t *arr, struct answer_bins *b, const json_t *arg,
                  const struct sio_binary *bins, size_t nbins);
/* Copies bins[0..nbins) to b (after what it holds). 0 or SIO_ENOMEM. */
int answer_bins_copy(struct answer_bins *b, const struct sio_binary *bins, size_t nbins);
/* Frees the copies; b is empty (and reusable) after. */
void answer_bins_clear(struct answer_bins *b);

/* A server-side event's answer, made by the adapter that received the
 * event (the first member of its own struct). */
struct sio_server_ack {
	/* sends arg (stolen; never NULL, placeholders for bins, which are
	 * borrowed) and frees the ack */
	void (*reply)(struct sio_server_ack *ack, json_t *arg, const struct sio_binary *bins,
	              size_t nbins);
	/* frees it unanswered */
	void (*drop)(struct sio_server_ack *ack);
};
/* Calls the namespace's server-side event handler with data ([event,
 * ...args], borrowed, placeholders for bins; an event name that is not a
 * string is ignored) and ack (NULL, or the handler's to answer). Without
 * a handler, or for a data that is no event, ack is dropped. */
void namespace_server_event(struct sio_namespace *nsp, const json_t *data,
                            const struct sio_binary *bins, size_t nbins,
                            struct sio_server_ack *ack);

/*
 * Acknowledgements of one emit from many local clients (a broadcast with
 * acks): data is sent with a new namespace ack id to every socket of t,
 * and each client's first answer argument goes to on_ack(ud, arg
 * borrowed, bins of it). After timeout_ms, or ack_collect_end(), the
 * clients' answers are no longer awaited (their pending entries go).
 */
struct ack_collect;
typedef void (*ack_collect_fn)(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins);
/* Returns the number of clients it went to (>= 0; *out set, the caller
 * must end it with ack_collect_end() once it is done or timed out, which
 * it learns through on_timeout) or a SIO_E* code (*out NULL). */
int ack_collect_start(struct sio_namespace *nsp, const struct sio_target *t, const json_t *data,
                      const struct sio_binary *bins, size_t nbins, uint32_t timeout_ms,
                      ack_collect_fn on_ack, void (*on_timeout)(void *ud), void *ud,
                      struct ack_collect **out);
/* Stops awaiting answers and frees c (NULL: no-op); also from on_ack
 * and on_timeout. Call it exactly once. */
void ack_collect_end(struct ack_collect *c);

#endif
