/*
 * The messages of socket.io-adapter 2.5's ClusterAdapter, as
 * @socket.io/redis-adapter 8.3's sharded adapter (createShardedAdapter)
 * sends them over Redis 7's SPUBLISH. Pure: no I/O, no globals; wire
 * data is (pointer, length) and never read past length.
 *
 * A message is the object {type, data, uid, nsp} (members in that order,
 * data absent for the heartbeats and ADAPTER_CLOSE), written as
 * JSON.stringify() writes it, except that a message of a type that may
 * carry binary (BROADCAST, BROADCAST_ACK, FETCH_SOCKETS_RESPONSE,
 * SERVER_SIDE_EMIT, SERVER_SIDE_EMIT_RESPONSE) and does carry some is
 * notepack's msgpack, its binary values msgpack bin. A reader takes a
 * message whose first byte is '{' as JSON, any other as msgpack.
 *
 * The data of each type, as the reference writes it (opts is
 * {rooms:[...], except:[...], flags:{...}}; requestId a string of 16 hex
 * digits, its presence alone asking for answers):
 *
 *     1 INITIAL_HEARTBEAT, 2 HEARTBEAT, 13 ADAPTER_CLOSE: none
 *     3 BROADCAST                {packet:{type, data[, nsp, id]}[, requestId], opts}
 *     4 SOCKETS_JOIN, 5 SOCKETS_LEAVE   {opts, rooms:[...]} (strings; numbers
 *                                        are let through, to be ignored)
 *     6 DISCONNECT_SOCKETS       {opts, close}
 *     7 FETCH_SOCKETS            {opts, requestId}
 *     8 FETCH_SOCKETS_RESPONSE   {requestId, sockets:[{id, handshake, rooms, data}]}
 *     9 SERVER_SIDE_EMIT         {[requestId, ]packet:[event, ...args]}
 *     10 SERVER_SIDE_EMIT_RESPONSE {requestId, packet}
 *     11 BROADCAST_CLIENT_COUNT  {requestId, clientCount}
 *     12 BROADCAST_ACK           {requestId, packet}
 *
 * Binary, both ways, as in sio_packet.h: a placeholder
 * ({"_placeholder":true,"num":k}) stands in the json_t tree for the k-th
 * buffer, which travels beside it.
 *
 * json_t ownership in jansson's words: "new", "borrowed", "stolen".
 */
#ifndef SIOC_PROTOCOL_CLUSTER_MSG_H
#define SIOC_PROTOCOL_CLUSTER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"
#include "protocol/sio_packet.h"

enum cluster_msg_type {
	CLUSTER_INITIAL_HEARTBEAT = 1,
	CLUSTER_HEARTBEAT = 2,
	CLUSTER_BROADCAST = 3,
	CLUSTER_SOCKETS_JOIN = 4,
	CLUSTER_SOCKETS_LEAVE = 5,
	CLUSTER_DISCONNECT_SOCKETS = 6,
	CLUSTER_FETCH_SOCKETS = 7,
	CLUSTER_FETCH_SOCKETS_RESPONSE = 8,
	CLUSTER_SERVER_SIDE_EMIT = 9,
	CLUSTER_SERVER_SIDE_EMIT_RESPONSE = 10,
	CLUSTER_BROADCAST_CLIENT_COUNT = 11,
	CLUSTER_BROADCAST_ACK = 12,
	CLUSTER_ADAPTER_CLOSE = 13,
};

enum cluster_msg_error {
	CLUSTER_MSG_EFORMAT = -1, /* neither JSON nor msgpack, or not an object */
	CLUSTER_MSG_ETYPE = -2,   /* type missing or not 1..13 */
	CLUSTER_MSG_EFIELD = -3,  /* a member of the wrong kind for the type */
	CLUSTER_MSG_ENOMEM = -4,
};

/* Nesting accepted in a message (the packet's data sits at depth 4). */
#define CLUSTER_MSG_MAX_DEPTH 40

/* The selection of a message (rooms and except: borrowed strings of the
 * message, NULL-terminated arrays owned by the cluster_msg). A number in
 * rooms or except names a room a Node node keys by that number, which no
 * sioc socket is in: it is left out, and rooms holding numbers only
 * select nobody (`none`). */
struct cluster_opts {
	const char **rooms;
	const char **except;
	size_t nrooms, nexcept;
	bool none;        /* rooms held only numbers: the selection is empty */
	bool local;       /* flags.local */
	bool is_volatile; /* flags.volatile present */
	bool has_timeout; /* flags.timeout a number */
	double timeout;   /* flags.timeout, ms */
};

/* A decoded message: its tree and its members, checked for their kinds. */
struct cluster_msg {
	json_t *root;    /* new: the whole message */
	int type;        /* enum cluster_msg_type */
	const char *uid; /* borrowed, NULL when absent or not a string */
	const char *nsp; /* borrowed, NULL when absent or not a string */
	size_t nsp_len;
	json_t *data;             /* borrowed, NULL for types 1, 2, 13 */
	json_t *request_id;       /* borrowed, NULL when absent (any JSON value) */
	struct cluster_opts opts; /* types 3..7 */
	json_t *packet;           /* 3: {type, data:[...]}; 9: [event, ...]; 10, 12: any */
	json_t *rooms;            /* 4, 5: array of strings */
	bool close;               /* 6 */
	json_t *sockets;          /* 8: array of objects */
	long long client_count;   /* 11 */
	struct sio_pkt_buf *bins; /* owned, with their data (msgpack messages) */
	uint32_t nbins;
};

/* Nesting and binaries accepted in a message. */
#define CLUSTER_MSG_MAX_BINS 256

/* Decodes buf[0..len) into *m (zeroed first). 0, or a negative
 * cluster_msg_error with nothing to finish. */
int cluster_msg_decode(const uint8_t *buf, size_t len, struct cluster_msg *m);
/* Frees what a decode made; safe on a zeroed message. */
void cluster_msg_finish(struct cluster_msg *m);

/* Whether messages of this type may go as msgpack (the reference's
 * mayContainBinary). */
bool cluster_msg_may_hold_binary(int type);

/* Appends to out the message {type[, data], uid, nsp}: data (borrowed,
 * NULL for none) with placeholders for bins[0..nbins). JSON when nbins is
 * 0 or the type may not carry binary (the placeholders are then written
 * as they are), msgpack otherwise. 0, CLUSTER_MSG_EFIELD (data nested
 * too deep, a placeholder out of range) or CLUSTER_MSG_ENOMEM; out may
 * hold part of it then. */
int cluster_msg_encode(int type, const json_t *data, const char *uid, const char *nsp,
                       const struct sio_pkt_buf *bins, uint32_t nbins, struct buf *out);

/* The opts object {rooms, except, flags} (new, NULL when out of memory):
 * rooms and except NULL-terminated (either NULL), each name written once,
 * where it first occurs (they are Sets in the reference); flags a new
 * reference stolen (NULL: {}). */
json_t *cluster_opts_json(const char *const *rooms, const char *const *except, json_t *flags);

const char *cluster_msg_strerror(int err);

#endif
