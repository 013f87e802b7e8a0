/*
 * The messages of the Redis adapter as they come off a subscription
 * (internal, pure: no I/O, no globals, so that it is fuzzed):
 * @socket.io/redis-adapter 8.3 and @socket.io/redis-emitter 5.1 publish
 * either JSON (a message whose first byte is '{') or notepack's msgpack,
 * with binary as bin. Wire data is (pointer, length), never read past
 * length.
 */
#ifndef SIOC_CLUSTER_REDIS_MSG_H
#define SIOC_CLUSTER_REDIS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "protocol/msgpack_value.h"

/* Nesting a message may have. */
#define REDIS_MSG_MAX_DEPTH 64
/* Binary values a message may hold. */
#define REDIS_MSG_MAX_BINS 256
/* Entries of a rooms / except list that are read. */
#define REDIS_MSG_MAX_ROOMS 4096

/* Decodes a message: JSON when it starts with '{', else msgpack (integer
 * map keys and Dates read as the reference does). Returns true with *out
 * filled (release it with msgpack_value_finish()), false with *out all
 * zero when it is neither. */
bool redis_msg_decode(const uint8_t *msg, size_t len, struct msgpack_value *out);

/* A selection read from a message's opts ({rooms, except, flags}): the
 * names point into the message, so the message must outlive it.
 *
 * A number in rooms or except (the emitter's to(42), a Node node's
 * socket.join(42)) names a room of the reference's Map keyed by the
 * number, distinct from the string "42". A sioc socket's rooms are
 * strings, so no sioc socket is ever in a number room: a number in rooms
 * selects nobody, a number in except excludes nobody, and rooms made of
 * numbers only select nobody at all (`none`), as a Node node whose
 * sockets never joined a number does. */
struct redis_msg_target {
	struct sio_target t;
	const char **rooms, **except; /* the string entries */
	bool none;                    /* rooms held only numbers: select nobody */
};

/* Fills mt from opts (a missing or odd member reads as empty; numbers as
 * above; flags.volatile). Returns false when out of memory. Finish mt in
 * any case. */
bool redis_msg_target_read(const json_t *opts, struct redis_msg_target *mt);
void redis_msg_target_finish(struct redis_msg_target *mt);

/* A broadcast [uid, packet, opts] for namespace nsp: true when it is one
 * this node should deliver (uid not `self`, packet.nsp nsp or absent for
 * "/", packet.type EVENT or BINARY_EVENT, data a non-empty array), with
 * *data and *opts borrowed from msg. */
bool redis_msg_broadcast(const json_t *msg, const char *self, const char *nsp, json_t **data,
                         json_t **opts);

#endif
