/*
 * The link to Redis (internal): two connections on the server's libev
 * loop, one for commands (PUBLISH, SPUBLISH, PUBSUB NUMSUB/SHARDNUMSUB) and
 * one for subscriptions (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE). Replies are
 * read with hiredis's RESP reader; the sockets, the output and the
 * reconnection are ours, so that nothing ever blocks the loop and the
 * output is bounded.
 *
 * - Connecting never blocks (a host name is resolved with getaddrinfo(),
 *   which may: give an address). AUTH is sent first when a password is
 *   set.
 * - A connection lost (or not made, or an AUTH refused) is retried after
 *   100 ms, doubling to 5 s; each loss is logged ("redis.down", warn, rate
 *   limited by the log), each recovery too ("redis.up", info). Once the
 *   subscription connection is back, every kept subscription is sent
 *   again.
 * - What is published while the command connection is down, or while the
 *   bytes of commands sent and not yet answered by Redis reach
 *   max_queued_bytes (a slow or stalled Redis), is dropped and counted;
 *   the first drop after a success is logged ("redis.dropped").
 * - Callbacks (hooks, numsub) run on the loop thread, from the link's
 *   I/O callbacks, between server_enter() and server_leave() when the
 *   link was given the server (see redis_link_create()).
 */
#ifndef SIOC_CLUSTER_REDIS_LINK_H
#define SIOC_CLUSTER_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct log;
struct timer_wheel;
struct sio_server;
struct redis_link;

/* The kinds of subscription. */
enum redis_sub_kind {
	REDIS_SUB = 0,  /* SUBSCRIBE channel: "message" */
	REDIS_PSUB = 1, /* PSUBSCRIBE pattern: "pmessage" */
	REDIS_SSUB = 2, /* SSUBSCRIBE shard channel (Redis 7): "smessage" */
};

struct redis_link_opts {
	const char *host; /* copied */
	int port;
	const char *password;    /* copied; NULL: no AUTH */
	size_t max_queued_bytes; /* of commands sent and not answered yet */
};

struct redis_link_hooks {
	/* A message on a subscription: for REDIS_PSUB, `sub` is the pattern
	 * that matched, else the channel; `channel` the channel it was
	 * published on. All borrowed (not NUL-terminated). */
	void (*message)(void *ud, enum redis_sub_kind kind, const char *sub, size_t sub_len,
	                const char *channel, size_t channel_len, const uint8_t *msg, size_t len);
	/* Both connections are up (again); may be NULL. */
	void (*connected)(void *ud);
};

struct redis_link_stats {
	uint64_t published;  /* PUBLISH / SPUBLISH commands sent */
	uint64_t received;   /* messages received on subscriptions */
	uint64_t dropped;    /* publishes dropped (down, queue full, lost unanswered) */
	uint64_t reconnects; /* connections made again after a loss */
	bool connected;      /* both connections up now */
	size_t queued_bytes; /* commands sent and not yet answered */
};

/* A link (not connecting yet: see redis_link_start()). `srv` (may be NULL)
 * is the server whose server_enter()/server_leave() wrap every callback;
 * wheel times the reconnections; log (may be NULL) gets the messages.
 * NULL when out of memory. */
struct redis_link *redis_link_create(const struct redis_link_opts *o,
                                     const struct redis_link_hooks *hooks, void *ud,
                                     struct sio_server *srv, struct timer_wheel *wheel,
                                     struct log *log);
/* Starts connecting on loop (once). */
void redis_link_start(struct redis_link *l, struct ev_loop *loop);
/* Closes the connections; every numsub callback still waiting is called
 * with SIO_ECLOSED first (unless forgotten). NULL is a no-op. */
void redis_link_destroy(struct redis_link *l);

/* Keeps a subscription (sent now when connected, again after every
 * reconnection). Subscribing twice to the same name of the same kind
 * keeps one. Returns 0 or SIO_ENOMEM. */
int redis_link_subscribe(struct redis_link *l, enum redis_sub_kind kind, const char *name,
                         size_t len);
/* Drops a kept subscription (and tells Redis when connected). */
void redis_link_unsubscribe(struct redis_link *l, enum redis_sub_kind kind, const char *name,
                            size_t len);

/* PUBLISH (SPUBLISH when sharded) msg on channel; the bytes are copied.
 * Returns 0, or SIO_ECLOSED (not connected) / SIO_EFULL (max_queued_bytes
 * reached) / SIO_ENOMEM: then the message was dropped and counted. */
int redis_link_publish(struct redis_link *l, bool sharded, const char *channel, size_t channel_len,
                       const uint8_t *msg, size_t len);

/* The answer of PUBSUB NUMSUB (SHARDNUMSUB when sharded) for one channel:
 * err 0 and the number of subscribers, or err SIO_ECLOSED (the connection
 * was lost or the link destroyed before the answer) / SIO_EINVAL (Redis
 * answered with an error) and count 0. */
typedef void (*redis_numsub_fn)(void *ud, uint64_t tag, int err, uint64_t count);
/* Asks; fn(ud, tag, ...) is called once, later, unless this fails:
 * returns 0, SIO_ECLOSED (not connected) or SIO_ENOMEM, and fn is never
 * called. */
int redis_link_numsub(struct redis_link *l, bool sharded, const char *channel, size_t channel_len,
                      redis_numsub_fn fn, void *ud, uint64_t tag);
/* Forgets every numsub callback waiting with ud: they are never called. */
void redis_link_forget(struct redis_link *l, void *ud);

void redis_link_stats(const struct redis_link *l, struct redis_link_stats *st);
bool redis_link_connected(const struct redis_link *l);

#endif
