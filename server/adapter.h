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
	int (*server_side_emit)(struct sio_adapter *a, const char *event, const json_t *args);
	/* The number of rooms on this node, each socket's own room included
	 * (the reference's adapter.rooms.size). */
	size_t (*rooms_count)(const struct sio_adapter *a);
};

/* The first member of every adapter. */
struct sio_adapter {
	const struct sio_adapter_ops *ops;
	struct sio_namespace *nsp;
};

/* The in-memory adapter of nsp, or NULL when out of memory. */
struct sio_adapter *adapter_memory_create(struct sio_namespace *nsp);

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

#endif
