/*
 * The Redis cluster of one server (internal): the options, this node's
 * uid, the link (redis_link.h) and the adapters of its namespaces, which
 * the link's messages are handed to. sio_server_use_redis() (redis.c)
 * makes it and plugs it into the server (server_set_cluster()); the
 * classic adapter (adapter_redis.c) and the sharded one
 * (adapter_sharded.c) are made by it for each namespace.
 */
#ifndef SIOC_CLUSTER_CLUSTER_H
#define SIOC_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "base/util.h"
#include "cluster/redis_link.h"
#include "server/adapter.h"

/* Characters of a node's uid and of a request id: the reference's
 * uid2(6), six URL-safe characters. */
#define CLUSTER_UID_LEN 6

/* What each adapter of the cluster embeds. */
struct cluster_adapter {
	struct list link; /* redis_cluster.adapters */
	/* A message from the link: returns true when it was this adapter's
	 * (the others are not asked then). */
	bool (*message)(struct cluster_adapter *ca, enum redis_sub_kind kind, const char *sub,
	                size_t sub_len, const char *channel, size_t channel_len, const uint8_t *msg,
	                size_t len);
	/* The link is up (again); may be NULL. */
	void (*connected)(struct cluster_adapter *ca);
};

struct redis_cluster {
	struct sio_server *srv;
	struct sio_redis_options opts; /* strings point to the owned copies below */
	char *host, *password, *key;
	size_t key_len;
	char uid[CLUSTER_UID_LEN + 1]; /* this node's */
	struct redis_link *link;
	struct list adapters; /* struct cluster_adapter.link */
};

/* Adds / removes an adapter from those the link's messages go to. */
void cluster_add_adapter(struct redis_cluster *c, struct cluster_adapter *ca);
void cluster_remove_adapter(struct cluster_adapter *ca);

/* Writes CLUSTER_UID_LEN random URL-safe characters and a NUL (uid2(6)).
 * Returns 0 or -1 (no random source). */
int cluster_uid(char out[CLUSTER_UID_LEN + 1]);

/* The sharded adapter of nsp (adapter_sharded.c), or NULL. */
struct sio_adapter *adapter_sharded_create(struct redis_cluster *c, struct sio_namespace *nsp);

/* The classic pub/sub adapter of nsp (adapter_redis.c), or NULL. */
struct sio_adapter *adapter_redis_create(struct redis_cluster *c, struct sio_namespace *nsp);

#endif
