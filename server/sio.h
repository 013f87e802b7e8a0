/*
 * The Socket.IO layer (internal): clients (one per Engine.IO session),
 * namespaces, sockets, rooms through the adapter, acks, loop services.
 */
#ifndef SIOC_SERVER_SIO_H
#define SIOC_SERVER_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "protocol/sio_packet.h"
#include "server/server.h"
#include "server/timer.h"
#include "server/util.h"
#include "transports/engine.h"

/* One Engine.IO connection speaking Socket.IO. */
struct connect_wait;

struct sio_client {
	sio_eio_socket *conn; /* conn->srv is the server */
	struct sio_pkt_decoder dec;
	struct list sockets; /* struct sio_socket.client_link */
	/* until a namespace is joined: the connect timeout, and counted in
	 * srv->npending (client.c); NULL after */
	struct connect_wait *wait;
	uint32_t nsockets; /* in `sockets`: one per namespace at most */
	bool closed;       /* sockets closed; nothing more is handled */
};

struct middleware {
	sio_middleware_fn fn;
	void *userdata;
};

struct room;
struct membership;

struct sio_namespace {
	struct sio_server *srv;
	char *name;
	struct sio_namespace_events ev;
	void *ev_userdata;
	struct middleware *mws;
	size_t nmws;

	/* a parent of dynamic namespaces, or a child one made */
	bool parent;
	bool child;
	bool in_cleanup; /* on srv->nsp_cleanup */
	struct list cleanup_link;
	bool (*accept)(const char *name, const json_t *auth, void *userdata);
	void *accept_userdata;
	char *pattern;

	struct list sockets; /* connected sockets (struct sio_socket.nsp_link) */
	size_t nsockets;
	uint64_t gen; /* selection stamp, see adapter.c */

	/* in-memory adapter: rooms by name, memberships by (room, socket) */
	struct room **rooms;
	size_t nrooms, rooms_cap;
	struct membership **members;
	size_t nmembers, members_cap;
	struct sio_socket **ids; /* sockets in their own rooms, by id */
	size_t nids, ids_cap;

	struct list link; /* srv->namespaces or srv->parents */
};

struct handler {
	sio_event_fn fn;
	void *userdata;
	uint32_t event; /* offset of the name after the handler array */
};

struct sio_socket {
	struct sio_client *client;
	struct sio_namespace *nsp;
	struct sio_handshake hs; /* hs.auth is owned */
	void *data;
	void (*data_free)(void *);

	/* one block: nhandlers handlers, then their names (names_len bytes) */
	struct handler *handlers;
	sio_event_fn any;
	void *any_userdata;

	int64_t next_ack_id;
	uint64_t events_window; /* start (ms) of the current one-second window */
	uint64_t gen;
	struct list acks_out; /* struct pending_ack: our emits awaiting a reply */
	struct list acks_in;  /* struct sio_ack: client requests not answered yet */

	struct list rooms;    /* struct membership.in_sock and own_link, in join order */
	struct list own_link; /* linked while in its own room (adapter.c) */
	struct sio_socket *hnext; /* chain in nsp->ids */

	struct list nsp_link;
	struct list client_link;
	struct list defer_link; /* srv->sio_deferred or srv->sio_reap */

	uint32_t nhandlers;
	uint32_t names_len;
	uint32_t nrooms;   /* entries of rooms */
	uint32_t nacks_in; /* entries of acks_in */
	uint32_t events_in_window;
	char id[21];
	bool connected;
	bool closed; /* left (or refused): joins fail from now on */
	bool disconnect_pending; /* sio_socket_disconnect() to run */
	bool disconnect_close;
};

/* client.c */
void sio_layer_install(struct sio_server *srv);
void sio_layer_free(struct sio_server *srv);
/* Shutdown: queues a DISCONNECT for every connected socket. */
void sio_layer_shutdown(struct sio_server *srv);
/* Runs the disconnects asked for with sio_socket_disconnect(). */
void sio_process_deferred(struct sio_server *srv);
/* Frees the sockets closed since the last call. */
void sio_reap_sockets(struct sio_server *srv);
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
/* Encodes a packet (BINARY_* when nbins) into shared buffers: out[0] the
 * text, then one per attachment (out holds 1 + nbins). data borrowed.
 * Returns the number of buffers (new references) or a negative SIO_E*. */
int encode_packet(const char *nsp, enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, struct outbuf **out);
/* Queues one packet for the socket. data borrowed. */
int socket_packet(struct sio_socket *s, enum sio_packet_type type, int64_t id, const json_t *data,
		  const struct sio_binary *bins, size_t nbins, bool is_volatile);
/* Builds [event, ...args] from args (stolen). NULL on failure. */
json_t *event_array(const char *event, json_t *args);
bool event_reserved(const char *event);

/* namespace.c */
struct sio_namespace *namespace_find(struct sio_server *srv, const char *name, size_t len);
/* A namespace for a CONNECT to `name`: existing, or made by a dynamic
 * parent. NULL when none accepts. */
struct sio_namespace *namespace_for_connect(struct sio_server *srv, const char *name, size_t len,
					    const json_t *auth);
void namespace_free(struct sio_namespace *nsp);
/* Runs the middleware; 0 or the refusal (message, data new or NULL). */
int namespace_run_middleware(struct sio_namespace *nsp, struct sio_socket *s, char **message,
			     json_t **data);

/* adapter.c: rooms and selections (the in-memory adapter) */
int adapter_add(struct sio_namespace *nsp, struct sio_socket *s, const char *room);
void adapter_del(struct sio_namespace *nsp, struct sio_socket *s, const char *room);
void adapter_del_all(struct sio_namespace *nsp, struct sio_socket *s);
bool adapter_has(const struct sio_namespace *nsp, const struct sio_socket *s, const char *room);
/* Calls fn for each socket of the selection, once each. fn must not
 * change rooms. */
void adapter_select(struct sio_namespace *nsp, const struct sio_target *t,
		    void (*fn)(struct sio_socket *s, void *arg), void *arg);
void adapter_free(struct sio_namespace *nsp);
/* The name of the room at `link` in s->rooms. */
const char *adapter_room_name(const struct sio_socket *s, const struct list *link);

/* loop.c */
void loop_free(struct sio_server *srv);
/* Arms the timers started before listening. */
void loop_start_timers(struct sio_server *srv);
void loop_drain_calls(struct sio_server *srv);

#endif
