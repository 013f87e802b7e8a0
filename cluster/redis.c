/*
 * sio_server_use_redis(): the cluster of one server, plugged into it
 * through server_set_cluster(). It owns the link and hands the link's
 * messages to the adapters of the namespaces.
 */
#include "cluster/cluster.h"

#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "server/server.h"

SIO_API void sio_redis_options_init(struct sio_redis_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 6379;
	o->key = "socket.io";
	o->requests_timeout = 5000;
	o->subscription_mode = SIO_REDIS_DYNAMIC;
	o->max_queued_bytes = 16u << 20;
}

int cluster_uid(char out[CLUSTER_UID_LEN + 1])
{
	char id[ID_LEN + 1];
	if (id_random(id) < 0)
		return -1;
	memcpy(out, id, CLUSTER_UID_LEN);
	out[CLUSTER_UID_LEN] = '\0';
	return 0;
}

void cluster_add_adapter(struct redis_cluster *c, struct cluster_adapter *ca)
{
	list_insert_tail(&c->adapters, &ca->link);
}

void cluster_remove_adapter(struct cluster_adapter *ca)
{
	list_remove(&ca->link);
}

static void on_message(void *ud, enum redis_sub_kind kind, const char *sub, size_t sub_len,
                       const char *channel, size_t channel_len, const uint8_t *msg, size_t len)
{
	struct redis_cluster *c = ud;
	for (struct list *n = c->adapters.next; n != &c->adapters; n = n->next) {
		struct cluster_adapter *ca = container_of(n, struct cluster_adapter, link);
		if (ca->message(ca, kind, sub, sub_len, channel, channel_len, msg, len))
			return;
	}
}

static void on_connected(void *ud)
{
	struct redis_cluster *c = ud;
	for (struct list *n = c->adapters.next; n != &c->adapters;) {
		struct cluster_adapter *ca = container_of(n, struct cluster_adapter, link);
		n = n->next;
		if (ca->connected)
			ca->connected(ca);
	}
}

static struct sio_adapter *cluster_adapter_create(void *ud, struct sio_namespace *nsp)
{
	struct redis_cluster *c = ud;
	if (c->opts.sharded)
		return adapter_sharded_create(c, nsp);
	return adapter_redis_create(c, nsp);
}

static int cluster_start(void *ud, struct ev_loop *loop)
{
	struct redis_cluster *c = ud;
	redis_link_start(c->link, loop);
	return 0;
}

static void cluster_stats(void *ud, struct sio_server_stats *st)
{
	struct redis_cluster *c = ud;
	struct redis_link_stats ls;
	redis_link_stats(c->link, &ls);
	st->redis_published = ls.published;
	st->redis_received = ls.received;
	st->redis_dropped = ls.dropped;
	st->redis_reconnects = ls.reconnects;
	st->redis_connected = ls.connected;
	st->redis_queued_bytes = ls.queued_bytes;
}

static void cluster_free(struct redis_cluster *c)
{
	if (!c)
		return;
	redis_link_destroy(c->link);
	free(c->host);
	free(c->password);
	free(c->key);
	free(c);
}

static void cluster_destroy(void *ud)
{
	cluster_free(ud);
}

SIO_API int sio_server_use_redis(sio_server *srv, const struct sio_redis_options *opts)
{
	struct sio_redis_options defaults;
	if (!opts) {
		sio_redis_options_init(&defaults);
		opts = &defaults;
	}
	if (!srv || opts->port <= 0 || opts->port > 65535 || !opts->host || !opts->host[0] ||
	    !opts->key || !opts->key[0] || !opts->requests_timeout || !opts->max_queued_bytes ||
	    (unsigned)opts->subscription_mode > SIO_REDIS_STATIC)
		return SIO_EINVAL;
	if (srv->listening || srv->has_cluster)
		return SIO_ESTATE;
	struct redis_cluster *c = calloc(1, sizeof(*c));
	if (!c)
		return SIO_ENOMEM;
	list_init(&c->adapters);
	c->srv = srv;
	c->opts = *opts;
	c->host = strdup(opts->host);
	c->key = strdup(opts->key);
	c->password = opts->password ? strdup(opts->password) : NULL;
	if (!c->host || !c->key || (opts->password && !c->password) || cluster_uid(c->uid) < 0) {
		cluster_free(c);
		return SIO_ENOMEM;
	}
	c->opts.host = c->host;
	c->opts.key = c->key;
	c->opts.password = c->password;
	c->key_len = strlen(c->key);
	struct redis_link_opts lo = {.host = c->host,
	                             .port = opts->port,
	                             .password = c->password,
	                             .max_queued_bytes = opts->max_queued_bytes};
	struct redis_link_hooks hooks = {.message = on_message, .connected = on_connected};
	c->link = redis_link_create(&lo, &hooks, c, srv, &srv->wheel, &srv->log);
	if (!c->link) {
		cluster_free(c);
		return SIO_ENOMEM;
	}
	struct server_cluster sc = {.adapter_create = cluster_adapter_create,
	                            .start = cluster_start,
	                            .stats = cluster_stats,
	                            .destroy = cluster_destroy,
	                            .ud = c};
	int rc = server_set_cluster(srv, &sc);
	if (rc < 0)
		cluster_free(c);
	return rc;
}
