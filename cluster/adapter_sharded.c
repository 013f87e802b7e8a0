/*
 * The sharded Redis adapter: @socket.io/redis-adapter 8.3's
 * createShardedAdapter(), which is socket.io-adapter 2.5's ClusterAdapter
 * over Redis 7's sharded pub/sub, byte for byte.
 *
 * Each namespace's adapter has a node id (uid: 8 random bytes in hex) and
 * SSUBSCRIBEs two channels: <key>#<nsp># (every node's messages) and
 * <key>#<nsp>#<uid># (answers to its own requests). In the dynamic
 * subscription modes it also SSUBSCRIBEs <key>#<nsp>#<room># for each
 * room it holds (dynamic: public rooms, not the sockets' own;
 * dynamic-private: every room), and a broadcast without acks to exactly
 * one such room goes there instead of the namespace channel, so that only
 * the nodes holding the room hear it. Messages are the ClusterAdapter's
 * (protocol/cluster_msg.h). Unlike the classic adapter there is no
 * heartbeat: the reference's sharded adapter extends ClusterAdapter, not
 * ClusterAdapterWithHeartbeat, and counts the nodes with
 * PUBSUB SHARDNUMSUB <key>#<nsp>#, as this one does.
 *
 * What this node asks of the others is a request of cluster/requests.h,
 * started before the server count (SHARDNUMSUB) is in: the count itself;
 * fetch sockets and server-side emit with acks, which await count - 1
 * answers; a broadcast with acks, which awaits every node's client count
 * and then every client's answer, exactly, as socket.io's
 * BroadcastOperator does.
 */
#include "cluster/cluster.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/id.h"
#include "base/log.h"
#include "cluster/requests.h"
#include "protocol/cluster_msg.h"
#include "server/adapter.h"
#include "server/sio.h"

#define UID_BYTES 8 /* randomBytes(8).toString("hex") */

struct shard_adapter;

/* A room channel this adapter is subscribed to (dynamic modes). */
struct room_sub {
	struct room_sub *hnext;
	size_t hash;
	size_t len;
	unsigned live;  /* rooms of this channel in the in-memory adapter (a room
	                   and a socket's own room may share a name) */
	unsigned holds; /* recovery sessions kept in the room (shard_hold_room()) */
	char channel[];
};

/* A server-side event from another node awaiting this node's answer. */
struct shard_server_ack {
	struct sio_server_ack base;
	struct list link; /* shard_adapter.server_acks */
	struct shard_adapter *sa;
	char *requester; /* the asking node's uid */
	json_t *request_id;
};

/* A broadcast with acks asked by another node, acked by our clients. */
struct remote_bcast {
	struct list link; /* shard_adapter.remote_bcasts */
	struct shard_adapter *sa;
	struct ack_collect *collect;
	char *requester;
	json_t *request_id;
};

struct shard_adapter {
	struct sio_adapter base;
	struct cluster_adapter ca; /* the cluster's messages come through it */
	struct sio_adapter *mem;   /* the rooms of this node */
	struct redis_cluster *cl;
	char uid[2 * UID_BYTES + 1];
	char *channel;      /* <key>#<nsp># */
	char *resp_channel; /* <key>#<nsp>#<uid># */
	struct cluster_requests requests; /* ours, awaiting answers or the server count */
	struct room_sub **subs; /* the room channels subscribed, by name */
	size_t nsubs, subs_cap;
	struct list server_acks;   /* struct shard_server_ack */
	struct list remote_bcasts; /* struct remote_bcast */
	struct buf out;            /* a message being encoded */
};

static struct shard_adapter *shard_of(const struct sio_adapter *a)
{
	return container_of(a, struct shard_adapter, base);
}

static bool dynamic_mode(const struct shard_adapter *sa)
{
	return sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC ||
	       sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC_PRIVATE;
}

/* The reference's shouldUseASeparateNamespace(). */
static bool room_has_channel(const struct shard_adapter *sa, bool own)
{
	return (sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC && !own) ||
	       sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC_PRIVATE;
}

/* <key>#<nsp>#<room># (new, NULL when out of memory). */
static char *room_channel(const struct shard_adapter *sa, const char *room)
{
	size_t a = strlen(sa->channel), b = strlen(room);
	char *c = malloc(a + b + 2);
	if (!c)
		return NULL;
	memcpy(c, sa->channel, a);
	memcpy(c + a, room, b);
	c[a + b] = '#';
	c[a + b + 1] = '\0';
	return c;
}

/* ---- publishing ---------------------------------------------------------- */

/* Encodes {type[, data], uid, nsp} and SPUBLISHes it on channel. Returns
 * 0 or a SIO_E* code (a message that Redis cannot take now is dropped by
 * the link, counted there, and is 0 here: fire-and-forget). */
static int publish_on(struct shard_adapter *sa, const char *channel, int type, const json_t *data,
                      const struct sio_pkt_buf *bins, uint32_t nbins)
{
	sa->out.len = 0;
	int r = cluster_msg_encode(type, data, sa->uid, sa->base.nsp->name, bins, nbins, &sa->out);
	if (r < 0)
		return r == CLUSTER_MSG_ENOMEM ? SIO_ENOMEM : SIO_EINVAL;
	/* a message Redis cannot take now is dropped and counted by the link */
	redis_link_publish(sa->cl->link, true, channel, strlen(channel),
	                   (const uint8_t *)sa->out.data, sa->out.len);
	return 0;
}

static int publish(struct shard_adapter *sa, int type, const json_t *data,
                   const struct sio_pkt_buf *bins, uint32_t nbins)
{
	return publish_on(sa, sa->channel, type, data, bins, nbins);
}

/* The reference's publishResponse(): on the requester's own channel. */
static int publish_response(struct shard_adapter *sa, const char *requester, int type,
                            const json_t *data, const struct sio_pkt_buf *bins, uint32_t nbins)
{
	size_t a = strlen(sa->channel), b = strlen(requester);
	char *ch = malloc(a + b + 2);
	if (!ch)
		return SIO_ENOMEM;
	memcpy(ch, sa->channel, a);
	memcpy(ch + a, requester, b);
	ch[a + b] = '#';
	ch[a + b + 1] = '\0';
	int r = publish_on(sa, ch, type, data, bins, nbins);
	free(ch);
	return r;
}

/* The binaries of an emit as the codec takes them (borrowed bytes). */
static struct sio_pkt_buf *bins_view(const struct sio_binary *bins, size_t nbins)
{
	struct sio_pkt_buf *v = malloc((nbins ? nbins : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < nbins; i++)
		v[i] = (struct sio_pkt_buf){.data = (uint8_t *)bins[i].data, .len = bins[i].len};
	return v;
}

/* The opts of a selection, the socket of sio_socket_broadcast() first
 * among the excepts (as socket.broadcast puts its id there); flags new,
 * stolen. */
static json_t *opts_of(const struct sio_target *t, json_t *flags)
{
	if (!t)
		return cluster_opts_json(NULL, NULL, flags);
	const char *const *except = t->except;
	const char **with = NULL;
	if (t->except_socket) {
		size_t n = 0;
		while (except && except[n])
			n++;
		with = malloc((n + 2) * sizeof(*with));
		if (!with) {
			json_decref(flags);
			return NULL;
		}
		/* first: socket.broadcast starts from new Set([socket.id]) */
		with[0] = sio_socket_id(t->except_socket);
		for (size_t i = 0; i < n; i++)
			with[i + 1] = except[i];
		with[n + 1] = NULL;
		except = with;
	}
	json_t *o = cluster_opts_json(t->rooms, except, flags);
	free(with);
	return o;
}

/* flags of an emit: volatile as socket.io sets it ({volatile: true}). */
static json_t *flags_of(const struct sio_target *t, long timeout)
{
	json_t *f = json_object();
	if (!f)
		return NULL;
	if ((t && t->volatile_ && json_object_set_new(f, "volatile", json_true()) < 0) ||
	    (timeout >= 0 && json_object_set_new(f, "timeout", json_integer(timeout)) < 0)) {
		json_decref(f);
		return NULL;
	}
	return f;
}

/* The length of a UTF-8 string as JavaScript counts it (UTF-16 units):
 * what the reference's looksLikeASocketId() measures. */
static size_t js_length(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			n += *p >= 0xf0 ? 2 : 1; /* a 4-byte sequence is a surrogate pair */
	}
	return n;
}

/* The reference's computeChannel(): a broadcast without acks to exactly
 * one room goes to the room's channel in the dynamic modes (not to a
 * socket's own room in "dynamic": one that looks like a socket id). */
static const char *broadcast_channel(struct shard_adapter *sa, const json_t *rooms, char **owned)
{
	*owned = NULL;
	if (json_array_size(rooms) != 1)
		return sa->channel;
	const char *room = json_string_value(json_array_get(rooms, 0));
	bool use = (sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC && js_length(room) != 20) ||
	           sa->cl->opts.subscription_mode == SIO_REDIS_DYNAMIC_PRIVATE;
	if (!use)
		return sa->channel;
	*owned = room_channel(sa, room);
	return *owned ? *owned : sa->channel;
}

/* {packet:{type:2, data}[, requestId], opts} (new, or NULL). */
static json_t *broadcast_data(const json_t *data, const char *request_id, json_t *opts)
{
	json_t *d = json_object(), *p = json_object();
	if (!d || !p || !opts)
		goto fail;
	if (json_object_set_new(p, "type", json_integer(2)) < 0 ||
	    json_object_set(p, "data", (json_t *)data) < 0)
		goto fail;
	if (json_object_set_new(d, "packet", p) < 0) {
		p = NULL;
		goto fail;
	}
	p = NULL;
	if (request_id && json_object_set_new(d, "requestId", json_string(request_id)) < 0)
		goto fail;
	if (json_object_set_new(d, "opts", opts) < 0) {
		opts = NULL;
		goto fail;
	}
	return d;
fail:
	json_decref(d);
	json_decref(p);
	json_decref(opts);
	return NULL;
}

/* ---- the adapter's operations on this node -------------------------------- */

static int shard_join(struct sio_adapter *a, struct sio_socket *s, const char *room)
{
	struct shard_adapter *sa = shard_of(a);
	return sa->mem->ops->join(sa->mem, s, room);
}

static void shard_leave(struct sio_adapter *a, struct sio_socket *s, const char *room)
{
	struct shard_adapter *sa = shard_of(a);
	sa->mem->ops->leave(sa->mem, s, room);
}

static void shard_leave_all(struct sio_adapter *a, struct sio_socket *s)
{
	struct shard_adapter *sa = shard_of(a);
	sa->mem->ops->leave_all(sa->mem, s);
}

static bool shard_has(const struct sio_adapter *a, const struct sio_socket *s, const char *room)
{
	const struct shard_adapter *sa = shard_of(a);
	return sa->mem->ops->has(sa->mem, s, room);
}

static bool shard_room_at(const struct sio_adapter *a, const struct sio_socket *s, size_t i,
                          const char **room)
{
	const struct shard_adapter *sa = shard_of(a);
	return sa->mem->ops->room_at(sa->mem, s, i, room);
}

static void shard_select(struct sio_adapter *a, const struct sio_target *t, adapter_each_fn fn,
                         void *arg)
{
	struct shard_adapter *sa = shard_of(a);
	sa->mem->ops->select(sa->mem, t, fn, arg);
}

static size_t shard_rooms_count(const struct sio_adapter *a)
{
	const struct shard_adapter *sa = shard_of(a);
	return sa->mem->ops->rooms_count(sa->mem);
}

/* ---- the room channels subscribed (dynamic modes) ------------------------ */

#define SUB_HASH(rs) ((rs)->hash)

static struct room_sub **sub_slot(struct shard_adapter *sa, const char *ch, size_t len, size_t h)
{
	struct room_sub **pp = &sa->subs[h & (sa->subs_cap - 1)];
	while (*pp &&
	       !((*pp)->hash == h && (*pp)->len == len && memcmp((*pp)->channel, ch, len) == 0))
		pp = &(*pp)->hnext;
	return pp;
}

static bool sub_has(struct shard_adapter *sa, const char *ch, size_t len)
{
	if (!sa->subs_cap)
		return false;
	return *sub_slot(sa, ch, len, (size_t)hash_bytes(ch, len)) != NULL;
}

/* Counts a room of the in-memory adapter (dlive) or a kept session's hold
 * (dhold) on the channel <key>#<nsp>#<room>#: SSUBSCRIBE when it comes to
 * be used, SUNSUBSCRIBE when neither a room nor a hold is left. */
static void sub_count(struct shard_adapter *sa, const char *room, bool own, int dlive, int dhold)
{
	if (!room_has_channel(sa, own))
		return;
	size_t a = strlen(sa->channel), b = strlen(room), len = a + b + 1;
	char stack[256];
	char *ch = len < sizeof(stack) ? stack : malloc(len + 1);
	if (!ch)
		goto oom;
	memcpy(ch, sa->channel, a);
	memcpy(ch + a, room, b);
	ch[a + b] = '#';
	ch[len] = '\0';
	size_t h = (size_t)hash_bytes(ch, len);
	struct room_sub **pp = sa->subs_cap ? sub_slot(sa, ch, len, h) : NULL;
	struct room_sub *rs = pp ? *pp : NULL;
	if (!rs) {
		if (dlive <= 0 && dhold <= 0)
			goto out;
		HASH_TABLE_RESERVE(sa->subs, sa->subs_cap, sa->nsubs, 16, struct room_sub, SUB_HASH,
		                   goto oom);
		rs = calloc(1, sizeof(*rs) + len + 1);
		if (!rs || redis_link_subscribe(sa->cl->link, REDIS_SSUB, ch, len) < 0) {
			free(rs);
			goto oom;
		}
		rs->hash = h;
		rs->len = len;
		memcpy(rs->channel, ch, len + 1);
		pp = &sa->subs[h & (sa->subs_cap - 1)];
		rs->hnext = *pp;
		*pp = rs;
		sa->nsubs++;
	}
	if (dlive < 0 && rs->live)
		rs->live--;
	else if (dlive > 0)
		rs->live++;
	if (dhold < 0 && rs->holds)
		rs->holds--;
	else if (dhold > 0)
		rs->holds++;
	if (!rs->live && !rs->holds) {
		redis_link_unsubscribe(sa->cl->link, REDIS_SSUB, ch, len);
		*sub_slot(sa, ch, len, h) = rs->hnext;
		sa->nsubs--;
		free(rs);
	}
out:
	if (ch != stack)
		free(ch);
	return;
oom:
	log_msg(sa->base.nsp->io->log, SIO_LOG_WARN, "redis.sharded",
	        "out of memory: the channel of room %s not subscribed", room);
	if (ch != stack)
		free(ch);
}

/* The room hook of the in-memory adapter: the reference's "create-room"
 * and "delete-room" listeners of the dynamic modes, SSUBSCRIBE and
 * SUNSUBSCRIBE <key>#<nsp>#<room>#. */
static void shard_room_changed(void *ud, const char *room, bool own, bool created)
{
	sub_count(ud, room, own, created ? 1 : -1, 0);
}

/* A kept recovery session keeps its rooms' channels subscribed, so that
 * what other nodes send to them while its client is away is in the
 * history when it comes back (the reference has no recovery here). */
static void shard_hold_room(struct sio_adapter *a, const char *room, bool own, bool hold)
{
	struct shard_adapter *sa = shard_of(a);
	if (dynamic_mode(sa))
		sub_count(sa, room, own, 0, hold ? 1 : -1);
}

/* ---- what this node tells the others --------------------------------------- */

/* The reference's ClusterAdapter.broadcast(): BROADCAST, then the local
 * part (which the namespace does after this). */
static void shard_publish(struct sio_adapter *a, const struct sio_target *t, const json_t *data,
                          const struct sio_binary *bins, size_t nbins)
{
	struct shard_adapter *sa = shard_of(a);
	struct sio_pkt_buf *view = bins_view(bins, nbins);
	json_t *d = view ? broadcast_data(data, NULL, opts_of(t, flags_of(t, -1))) : NULL;
	char *owned;
	int r = SIO_ENOMEM;
	if (d)
		r = publish_on(
		        sa,
		        broadcast_channel(sa, json_object_get(json_object_get(d, "opts"), "rooms"),
		                          &owned),
		        CLUSTER_BROADCAST, d, view, (uint32_t)nbins);
	if (d)
		free(owned);
	if (r < 0)
		log_msg(sa->base.nsp->io->log, SIO_LOG_WARN, "redis.sharded",
		        "broadcast not published: %s", sio_strerror(r));
	json_decref(d);
	free(view);
}

/* SOCKETS_JOIN / SOCKETS_LEAVE {opts, rooms:[room]}. */
static void publish_rooms(struct shard_adapter *sa, int type, const struct sio_target *t,
                          const char *room)
{
	json_t *d = json_object(), *opts = opts_of(t, flags_of(t, -1));
	json_t *rooms = json_array();
	int r = SIO_ENOMEM;
	if (d && opts && rooms && json_array_append_new(rooms, json_string(room)) == 0 &&
	    json_object_set(d, "opts", opts) == 0 && json_object_set(d, "rooms", rooms) == 0)
		r = publish(sa, type, d, NULL, 0);
	if (r < 0)
		log_msg(sa->base.nsp->io->log, SIO_LOG_WARN, "redis.sharded",
		        "sockets join/leave not published: %s", sio_strerror(r));
	json_decref(d);
	json_decref(opts);
	json_decref(rooms);
}

static int shard_sockets_join(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	if (!(t && t->local))
		publish_rooms(shard_of(a), CLUSTER_SOCKETS_JOIN, t, room);
	return adapter_local_sockets_join(a, t, room);
}

static int shard_sockets_leave(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	if (!(t && t->local))
		publish_rooms(shard_of(a), CLUSTER_SOCKETS_LEAVE, t, room);
	return adapter_local_sockets_leave(a, t, room);
}

static int shard_disconnect_sockets(struct sio_adapter *a, const struct sio_target *t, bool close)
{
	struct shard_adapter *sa = shard_of(a);
	if (!(t && t->local)) {
		json_t *d = json_object(), *opts = opts_of(t, flags_of(t, -1));
		int r = SIO_ENOMEM;
		if (d && opts && json_object_set(d, "opts", opts) == 0 &&
		    json_object_set_new(d, "close", json_boolean(close)) == 0)
			r = publish(sa, CLUSTER_DISCONNECT_SOCKETS, d, NULL, 0);
		if (r < 0)
			log_msg(sa->base.nsp->io->log, SIO_LOG_WARN, "redis.sharded",
			        "disconnect not published: %s", sio_strerror(r));
		json_decref(d);
		json_decref(opts);
	}
	return adapter_local_disconnect_sockets(a, t, close);
}

/* SERVER_SIDE_EMIT {[requestId, ]packet}, msgpack with its binaries. */
static int publish_sse(struct shard_adapter *sa, const char *request_id, json_t *packet,
                       const struct sio_binary *bins, size_t nbins)
{
	json_t *d = json_object();
	struct sio_pkt_buf *view = bins_view(bins, nbins);
	int r = SIO_ENOMEM;
	if (d && view &&
	    (!request_id || json_object_set_new(d, "requestId", json_string(request_id)) == 0) &&
	    json_object_set(d, "packet", packet) == 0)
		r = publish(sa, CLUSTER_SERVER_SIDE_EMIT, d, view, (uint32_t)nbins);
	json_decref(d);
	free(view);
	return r;
}

/* data: [event, ...args], as the server hands it to every adapter. */
static int shard_server_side_emit(struct sio_adapter *a, const char *event, const json_t *data,
                                  const struct sio_binary *bins, size_t nbins)
{
	(void)event;
	return publish_sse(shard_of(a), NULL, (json_t *)data, bins, nbins);
}

/* ---- requests: the server count and what waits for it ------------------- */

/* The types of the requests that are not a message's (the others are
 * CLUSTER_FETCH_SOCKETS, CLUSTER_SERVER_SIDE_EMIT, CLUSTER_BROADCAST). */
enum { REQ_COUNT = -1, REQ_LOCAL_BROADCAST = -2 };

/* The end of a request: its caller's callback. */
static void request_done(struct cluster_request *rq, enum cluster_request_end end)
{
	struct shard_adapter *sa = container_of(rq->set, struct shard_adapter, requests);
	struct sio_namespace *nsp = sa->base.nsp;
	int err = cluster_request_error(end);
	switch (rq->type) {
	case REQ_COUNT:
		((sio_count_fn)(uintptr_t)rq->cb)(nsp, err, err ? 0 : rq->expected, rq->cb_ud);
		return;
	case CLUSTER_BROADCAST:
	case REQ_LOCAL_BROADCAST:
		/* closed too with the answers that came */
		ack_collect_end(rq->arg);
		((sio_responses_fn)(uintptr_t)rq->cb)(nsp, err, rq->responses, rq->bins.v,
		                                      rq->bins.n, rq->cb_ud);
		return;
	default:
		break;
	}
	/* a fetch or a server-side emit with acks: closed, no answers */
	if (err == SIO_ECLOSED) {
		json_array_clear(rq->responses);
		answer_bins_clear(&rq->bins);
	}
	if (rq->type == CLUSTER_FETCH_SOCKETS)
		((sio_fetch_fn)(uintptr_t)rq->cb)(nsp, err, rq->responses, rq->cb_ud);
	else
		((sio_responses_fn)(uintptr_t)rq->cb)(nsp, err, rq->responses, rq->bins.v,
		                                      rq->bins.n, rq->cb_ud);
}

static struct cluster_request *request_new(struct shard_adapter *sa, int type, void *fn, void *ud)
{
	return cluster_request_start_uncounted(&sa->requests, type, request_done, fn, ud);
}

/* Asks PUBSUB SHARDNUMSUB <key>#<nsp># for rq (requests.counted answers):
 * 0, SIO_ENOMEM, or SIO_ECLOSED (Redis unreachable). */
static int request_count(struct shard_adapter *sa, struct cluster_request *rq)
{
	return redis_link_numsub(sa->cl->link, true, sa->channel, strlen(sa->channel),
	                         cluster_request_numsub_answer, &sa->requests, rq->tag);
}

/* A request that waits for the count alone: discarded on SIO_ENOMEM;
 * Redis unreachable, it ends on a later turn with `unreachable`. */
static int request_count_or(struct shard_adapter *sa, struct cluster_request *rq,
                            enum cluster_request_end unreachable)
{
	int r = request_count(sa, rq);
	if (r == SIO_ENOMEM) {
		cluster_request_discard(rq);
		return r;
	}
	if (r < 0)
		cluster_request_end_later(rq, unreachable);
	return 0;
}

/* requests.counted: the server count is in (n subscribers of the
 * namespace channel; err: Redis unreachable). */
static void counted(struct cluster_request *rq, int err, uint64_t count)
{
	struct shard_adapter *sa = container_of(rq->set, struct shard_adapter, requests);
	long long n = err ? 0 : count > INT32_MAX ? INT32_MAX : (long long)count;
	int r;
	switch (rq->type) {
	case REQ_COUNT:
		rq->expected = (size_t)n;
		cluster_request_end(rq, err ? CLUSTER_REQUEST_CLOSED : CLUSTER_REQUEST_COMPLETE);
		return;
	case CLUSTER_BROADCAST:
		/* Redis unreachable: only this node answers */
		cluster_request_expect(rq, err ? 1 : (size_t)n);
		return;
	default:
		break;
	}
	/* the reference's fetchSockets() and serverSideEmit(): this node's
	 * part alone when no other node is there, else the request to the
	 * others, awaiting count - 1 answers */
	if (err || n - 1 <= 0) {
		cluster_request_end(rq, CLUSTER_REQUEST_COMPLETE);
		return;
	}
	cluster_request_expect(rq, (size_t)(n - 1));
	if (rq->type == CLUSTER_FETCH_SOCKETS)
		r = publish(sa, CLUSTER_FETCH_SOCKETS, rq->payload, NULL, 0);
	else
		r = publish_sse(sa, rq->id, rq->payload, rq->payload_bins.v, rq->payload_bins.n);
	if (r < 0) {
		/* what this node has, as if nobody answered in time */
		cluster_request_end(rq, CLUSTER_REQUEST_TIMEOUT);
		return;
	}
	cluster_request_arm(rq, rq->timeout_ms);
}

static int shard_server_count(struct sio_adapter *a, sio_count_fn fn, void *ud)
{
	struct shard_adapter *sa = shard_of(a);
	struct cluster_request *rq = request_new(sa, REQ_COUNT, (void *)(uintptr_t)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	return request_count_or(sa, rq, CLUSTER_REQUEST_CLOSED);
}

/* ---- fetch sockets and server-side emit with acks ------------------------- */

/* The reference's sharded adapter (socket.io-adapter's ClusterAdapter) has
 * no allRooms() and no message to ask for it. */
static int shard_all_rooms_async(struct sio_adapter *a, sio_rooms_fn fn, void *ud)
{
	(void)a;
	(void)fn;
	(void)ud;
	return SIO_ESTATE;
}

/* The answers start with this node's sockets; the payload is the
 * message's {opts, requestId}, sent once the count is in. */
static int shard_fetch_sockets_async(struct sio_adapter *a, const struct sio_target *t,
                                     sio_fetch_fn fn, void *ud)
{
	struct shard_adapter *sa = shard_of(a);
	struct cluster_request *rq =
	        request_new(sa, CLUSTER_FETCH_SOCKETS, (void *)(uintptr_t)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	rq->timeout_ms = sa->cl->opts.requests_timeout;
	json_t *local = adapter_local_fetch_json(a, t);
	json_t *opts = opts_of(t, flags_of(t, -1));
	rq->payload = json_object();
	int ok = local && opts && rq->payload &&
	         json_array_extend(rq->responses, local) == 0 &&
	         json_object_set(rq->payload, "opts", opts) == 0 &&
	         json_object_set_new(rq->payload, "requestId", json_string(rq->id)) == 0;
	json_decref(local);
	json_decref(opts);
	if (!ok) {
		cluster_request_discard(rq);
		return SIO_ENOMEM;
	}
	if (t && t->local) {
		/* no question to the others: answered on a later turn */
		cluster_request_end_later(rq, CLUSTER_REQUEST_COMPLETE);
		return 0;
	}
	return request_count_or(sa, rq, CLUSTER_REQUEST_COMPLETE);
}

static int shard_server_side_emit_with_ack(struct sio_adapter *a, const char *event,
                                           const json_t *args, const struct sio_binary *bins,
                                           size_t nbins, uint32_t timeout_ms, sio_responses_fn fn,
                                           void *ud)
{
	struct shard_adapter *sa = shard_of(a);
	(void)event;
	struct cluster_request *rq =
	        request_new(sa, CLUSTER_SERVER_SIDE_EMIT, (void *)(uintptr_t)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	rq->timeout_ms = timeout_ms ? timeout_ms : sa->cl->opts.requests_timeout;
	rq->payload = json_incref((json_t *)args); /* [event, ...args] */
	if (!rq->payload || answer_bins_copy(&rq->payload_bins, bins, nbins) < 0) {
		cluster_request_discard(rq);
		return SIO_ENOMEM;
	}
	return request_count_or(sa, rq, CLUSTER_REQUEST_COMPLETE);
}

/* ---- broadcast with acks from this node ---------------------------------- */

/* The reference's ackRequests entry and BroadcastOperator's counters are
 * the request's: `expected` servers (the count), `current` that told their
 * client count, `acks_expected` clients, `acks` answers, complete when
 * exactly equal (checkCompleteness()). */

/* A client of this node answered (its first argument). */
static void bcast_on_ack(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins)
{
	struct cluster_request *rq = ud;
	if (answer_append(rq->responses, &rq->bins, arg, bins, nbins) == 0)
		cluster_request_acked(rq);
}

static void bcast_on_timeout(void *ud)
{
	(void)ud; /* the request's own timer, armed for the same time, ends it */
}

static int shard_emit_with_ack(struct sio_adapter *a, const struct sio_target *t,
                               const json_t *data, const struct sio_binary *bins, size_t nbins,
                               uint32_t timeout_ms, sio_responses_fn fn, void *ud)
{
	struct shard_adapter *sa = shard_of(a);
	bool remote = !(t && t->local); /* published: answers come from other nodes */
	struct cluster_request *rq = request_new(sa, remote ? CLUSTER_BROADCAST : REQ_LOCAL_BROADCAST,
	                                         (void *)(uintptr_t)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	rq->exact = true;
	if (remote) {
		/* the reference's broadcastWithAck(): BROADCAST with a requestId
		 * on the namespace channel (a room channel would miss the nodes
		 * the server count counts) */
		struct sio_pkt_buf *view = bins_view(bins, nbins);
		json_t *d = view ? broadcast_data(data, rq->id, opts_of(t, flags_of(t, timeout_ms)))
		                 : NULL;
		int r = d ? publish(sa, CLUSTER_BROADCAST, d, view, (uint32_t)nbins) : SIO_ENOMEM;
		json_decref(d);
		free(view);
		if (r < 0) {
			cluster_request_discard(rq);
			return r;
		}
	}
	struct ack_collect *collect;
	int count = ack_collect_start(sa->base.nsp, t, data, bins, nbins, timeout_ms, bcast_on_ack,
	                              bcast_on_timeout, rq, &collect);
	rq->arg = collect;
	/* clientCountCallback(): this node's clients */
	rq->acks_expected = count > 0 ? (size_t)count : 0;
	rq->current = 1;
	cluster_request_arm(rq, timeout_ms);
	if (remote && request_count(sa, rq) == 0)
		return 0;
	/* this node alone (or nobody else known): answered on a later turn at
	 * the earliest */
	rq->expected = 1;
	if (rq->acks == rq->acks_expected)
		cluster_request_end_later(rq, CLUSTER_REQUEST_COMPLETE);
	return 0;
}

/* ---- what the other nodes tell this one ----------------------------------- */

/* The selection of a message's opts. */
static struct sio_target target_of(const struct cluster_opts *o)
{
	return (struct sio_target){
	        .rooms = o->rooms,
	        .except = o->except,
	        .volatile_ = o->is_volatile,
	        .local = true,
	};
}

/* The binaries of a message as an emit takes them (borrowed). */
static struct sio_binary *msg_bins(const struct cluster_msg *m)
{
	struct sio_binary *b = malloc((m->nbins ? m->nbins : 1) * sizeof(*b));
	if (!b)
		return NULL;
	for (uint32_t i = 0; i < m->nbins; i++)
		b[i] = (struct sio_binary){.data = m->bins[i].data, .len = m->bins[i].len};
	return b;
}

/* A response's {requestId, <name>: value} (value borrowed). */
static json_t *response_data(const json_t *request_id, const char *name, json_t *value)
{
	json_t *d = json_object();
	if (!d || json_object_set(d, "requestId", (json_t *)request_id) < 0 ||
	    json_object_set(d, name, value ? value : json_null()) < 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

static void remote_bcast_free(struct remote_bcast *rb)
{
	list_remove(&rb->link);
	ack_collect_end(rb->collect);
	json_decref(rb->request_id);
	free(rb->requester);
	free(rb);
}

/* A client of this node answered another node's broadcast with acks:
 * BROADCAST_ACK {requestId, packet} to that node. */
static void remote_bcast_ack(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins)
{
	struct remote_bcast *rb = ud;
	struct sio_pkt_buf *view = bins_view(bins, nbins);
	json_t *d = view ? response_data(rb->request_id, "packet", arg) : NULL;
	if (d)
		publish_response(rb->sa, rb->requester, CLUSTER_BROADCAST_ACK, d, view,
		                 (uint32_t)nbins);
	json_decref(d);
	free(view);
}

/* Its time is up: the reference forgets the acks awaited then. */
static void remote_bcast_timeout(void *ud)
{
	struct remote_bcast *rb = ud;
	remote_bcast_free(rb);
}

static void on_broadcast(struct shard_adapter *sa, struct cluster_msg *m)
{
	struct sio_target t = target_of(&m->opts);
	struct sio_binary *bins = msg_bins(m);
	if (!bins)
		return;
	json_t *data = json_object_get(m->packet, "data");
	if (!m->request_id) {
		/* the packet's nsp and id, if any, are this namespace's own */
		if (!m->opts.none)
			namespace_deliver(sa->base.nsp, &t, json_incref(data), bins, m->nbins);
		free(bins);
		return;
	}
	/* the reference's broadcastWithAck() for another node */
	struct remote_bcast *rb = calloc(1, sizeof(*rb));
	if (!rb || !(rb->requester = strdup(m->uid))) {
		free(rb);
		free(bins);
		return;
	}
	rb->sa = sa;
	rb->request_id = json_incref(m->request_id);
	list_insert_tail(&sa->remote_bcasts, &rb->link);
	uint32_t timeout = m->opts.has_timeout && m->opts.timeout > 0 && m->opts.timeout < 4e9
	                           ? (uint32_t)m->opts.timeout
	                           : sa->cl->opts.requests_timeout;
	int count = m->opts.none ? 0
	                         : ack_collect_start(sa->base.nsp, &t, data, bins, m->nbins,
	                                             timeout, remote_bcast_ack,
	                                             remote_bcast_timeout, rb, &rb->collect);
	free(bins);
	json_t *n = json_integer(count > 0 ? count : 0);
	json_t *d = n ? response_data(m->request_id, "clientCount", n) : NULL;
	if (d)
		publish_response(sa, rb->requester, CLUSTER_BROADCAST_CLIENT_COUNT, d, NULL, 0);
	json_decref(d);
	json_decref(n);
	if (count <= 0)
		remote_bcast_free(rb); /* no client to wait for */
}

static void on_rooms(struct shard_adapter *sa, struct cluster_msg *m)
{
	struct sio_target t = target_of(&m->opts);
	for (size_t i = 0; i < json_array_size(m->rooms) && !m->opts.none; i++) {
		const char *room = json_string_value(json_array_get(m->rooms, i));
		if (!room)
			continue; /* a number: no sioc socket is in such a room */
		if (m->type == CLUSTER_SOCKETS_JOIN)
			adapter_local_sockets_join(&sa->base, &t, room);
		else
			adapter_local_sockets_leave(&sa->base, &t, room);
	}
}

static void on_fetch(struct shard_adapter *sa, struct cluster_msg *m)
{
	struct sio_target t = target_of(&m->opts);
	json_t *sockets = m->opts.none ? json_array() : adapter_local_fetch_json(&sa->base, &t);
	json_t *d = sockets ? response_data(m->request_id, "sockets", sockets) : NULL;
	if (d)
		publish_response(sa, m->uid, CLUSTER_FETCH_SOCKETS_RESPONSE, d, NULL, 0);
	json_decref(d);
	json_decref(sockets);
}

static void server_ack_free(struct shard_server_ack *ack)
{
	list_remove(&ack->link);
	json_decref(ack->request_id);
	free(ack->requester);
	free(ack);
}

/* The handler's answer: SERVER_SIDE_EMIT_RESPONSE {requestId, packet}. */
static void server_ack_reply(struct sio_server_ack *base, json_t *arg,
                             const struct sio_binary *bins, size_t nbins)
{
	struct shard_server_ack *ack = container_of(base, struct shard_server_ack, base);
	json_t *d = response_data(ack->request_id, "packet", arg);
	struct sio_pkt_buf *view = bins_view(bins, nbins);
	if (d && view)
		publish_response(ack->sa, ack->requester, CLUSTER_SERVER_SIDE_EMIT_RESPONSE, d,
		                 view, (uint32_t)nbins);
	free(view);
	json_decref(d);
	json_decref(arg);
	server_ack_free(ack);
}

static void server_ack_drop(struct sio_server_ack *base)
{
	server_ack_free(container_of(base, struct shard_server_ack, base));
}

static void on_server_side_emit(struct shard_adapter *sa, struct cluster_msg *m)
{
	struct sio_binary *bins = msg_bins(m); /* NULL (out of memory): none */
	if (!m->request_id) {
		namespace_server_event(sa->base.nsp, m->packet, bins, m->nbins, NULL);
		free(bins);
		return;
	}
	struct shard_server_ack *ack = calloc(1, sizeof(*ack));
	if (!ack || !(ack->requester = strdup(m->uid))) {
		free(ack);
		free(bins);
		return;
	}
	ack->base.reply = server_ack_reply;
	ack->base.drop = server_ack_drop;
	ack->sa = sa;
	ack->request_id = json_incref(m->request_id);
	list_insert_tail(&sa->server_acks, &ack->link);
	namespace_server_event(sa->base.nsp, m->packet, bins, m->nbins, &ack->base);
	free(bins);
}

/* Our request of this type with the id, or NULL. */
static struct cluster_request *request_of(struct shard_adapter *sa, const json_t *id, int type)
{
	if (!json_is_string(id))
		return NULL;
	struct cluster_request *rq =
	        cluster_request_find(&sa->requests, json_string_value(id), json_string_length(id));
	return rq && rq->type == type ? rq : NULL;
}

/* The reference's onResponse(). */
static void on_response(struct shard_adapter *sa, struct cluster_msg *m)
{
	const json_t *id = m->request_id;
	struct sio_binary *bins = msg_bins(m); /* NULL (out of memory): none */
	switch (m->type) {
	case CLUSTER_BROADCAST_CLIENT_COUNT:
	case CLUSTER_BROADCAST_ACK: {
		struct cluster_request *rq = request_of(sa, id, CLUSTER_BROADCAST);
		if (!rq)
			break;
		if (m->type == CLUSTER_BROADCAST_CLIENT_COUNT)
			/* a negative count wraps: the sum is the reference's, modulo */
			cluster_request_answered_with_acks(rq, (size_t)m->client_count);
		else if (answer_append(rq->responses, &rq->bins, m->packet, bins, m->nbins) == 0)
			cluster_request_acked(rq);
		break;
	}
	case CLUSTER_FETCH_SOCKETS_RESPONSE:
	case CLUSTER_SERVER_SIDE_EMIT_RESPONSE: {
		int want = m->type == CLUSTER_FETCH_SOCKETS_RESPONSE ? CLUSTER_FETCH_SOCKETS
		                                                     : CLUSTER_SERVER_SIDE_EMIT;
		struct cluster_request *rq = request_of(sa, id, want);
		if (!rq || rq->expected == CLUSTER_REQUEST_UNCOUNTED)
			break; /* not asked yet */
		if (want == CLUSTER_FETCH_SOCKETS)
			json_array_extend(rq->responses, m->sockets);
		else
			answer_append(rq->responses, &rq->bins, m->packet, bins, m->nbins);
		cluster_request_answered(rq);
		break;
	}
	default:
		break;
	}
	free(bins);
}

/* The reference's onMessage(). */
static void on_message(struct shard_adapter *sa, struct cluster_msg *m)
{
	if (m->uid && strcmp(m->uid, sa->uid) == 0)
		return; /* from self */
	const char *nsp = sa->base.nsp->name;
	if (!m->nsp || m->nsp_len != strlen(nsp) || memcmp(m->nsp, nsp, m->nsp_len) != 0)
		return; /* another namespace */
	switch (m->type) {
	case CLUSTER_BROADCAST:
		if (!m->request_id || m->uid)
			on_broadcast(sa, m);
		break;
	case CLUSTER_SOCKETS_JOIN:
	case CLUSTER_SOCKETS_LEAVE:
		on_rooms(sa, m);
		break;
	case CLUSTER_DISCONNECT_SOCKETS: {
		struct sio_target t = target_of(&m->opts);
		if (!m->opts.none)
			adapter_local_disconnect_sockets(&sa->base, &t, m->close);
		break;
	}
	case CLUSTER_FETCH_SOCKETS:
		if (m->uid)
			on_fetch(sa, m);
		break;
	case CLUSTER_SERVER_SIDE_EMIT:
		if (!m->request_id || m->uid)
			on_server_side_emit(sa, m);
		break;
	case CLUSTER_FETCH_SOCKETS_RESPONSE:
	case CLUSTER_SERVER_SIDE_EMIT_RESPONSE:
	case CLUSTER_BROADCAST_CLIENT_COUNT:
	case CLUSTER_BROADCAST_ACK:
		on_response(sa, m);
		break;
	default:
		break; /* heartbeats and ADAPTER_CLOSE: ClusterAdapter ignores them */
	}
}

/* ---- making and freeing ---------------------------------------------------- */

static void shard_destroy(struct sio_adapter *a)
{
	struct shard_adapter *sa = shard_of(a);
	/* the reference's close(): every channel unsubscribed */
	cluster_remove_adapter(&sa->ca);
	struct redis_link *l = sa->cl->link;
	redis_link_unsubscribe(l, REDIS_SSUB, sa->channel, strlen(sa->channel));
	redis_link_unsubscribe(l, REDIS_SSUB, sa->resp_channel, strlen(sa->resp_channel));
	for (size_t i = 0; i < sa->subs_cap; i++) {
		struct room_sub *rs = sa->subs[i];
		while (rs) {
			struct room_sub *next = rs->hnext;
			redis_link_unsubscribe(l, REDIS_SSUB, rs->channel, rs->len);
			free(rs);
			rs = next;
		}
	}
	free(sa->subs);
	redis_link_forget(l, &sa->requests);
	cluster_requests_finish(&sa->requests);
	while (!list_empty(&sa->remote_bcasts))
		remote_bcast_free(container_of(sa->remote_bcasts.next, struct remote_bcast, link));
	/* answers not given yet are freed (sioc.h: at sio_server_destroy()) */
	while (!list_empty(&sa->server_acks))
		server_ack_free(container_of(sa->server_acks.next, struct shard_server_ack, link));
	adapter_memory_on_rooms(sa->mem, NULL, NULL);
	sa->mem->ops->destroy(sa->mem);
	buf_free(&sa->out);
	free(sa->channel);
	free(sa->resp_channel);
	free(sa);
}

static const struct sio_adapter_ops shard_ops = {
        .destroy = shard_destroy,
        .join = shard_join,
        .leave = shard_leave,
        .leave_all = shard_leave_all,
        .has = shard_has,
        .room_at = shard_room_at,
        .select = shard_select,
        .broadcast = adapter_local_broadcast,
        .fetch_sockets = adapter_local_fetch_sockets,
        .sockets_join = shard_sockets_join,
        .sockets_leave = shard_sockets_leave,
        .disconnect_sockets = shard_disconnect_sockets,
        .server_side_emit = shard_server_side_emit,
        .rooms_count = shard_rooms_count,
        .publish = shard_publish,
        .fetch_sockets_async = shard_fetch_sockets_async,
        .server_side_emit_with_ack = shard_server_side_emit_with_ack,
        .emit_with_ack = shard_emit_with_ack,
        .server_count = shard_server_count,
        .all_rooms_async = shard_all_rooms_async,
        .hold_room = shard_hold_room,
};

/* "<a><b>#" (new, or NULL). */
static char *concat_hash(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *c = malloc(la + lb + 2);
	if (!c)
		return NULL;
	memcpy(c, a, la);
	memcpy(c + la, b, lb);
	c[la + lb] = '#';
	c[la + lb + 1] = '\0';
	return c;
}

/* The cluster's message hook: a message on one of this adapter's
 * channels is handled here. */
static bool shard_message(struct cluster_adapter *ca, enum redis_sub_kind kind, const char *sub,
                          size_t sub_len, const char *channel, size_t channel_len,
                          const uint8_t *msg, size_t len)
{
	struct shard_adapter *sa = container_of(ca, struct shard_adapter, ca);
	(void)sub;
	(void)sub_len;
	if (kind != REDIS_SSUB)
		return false;
	bool resp = channel_len == strlen(sa->resp_channel) &&
	            memcmp(channel, sa->resp_channel, channel_len) == 0;
	bool on_main = channel_len == strlen(sa->channel) &&
	               memcmp(channel, sa->channel, channel_len) == 0;
	if (!resp && !on_main && !sub_has(sa, channel, channel_len))
		return false;
	struct cluster_msg m;
	int r = cluster_msg_decode(msg, len, &m);
	if (r < 0) {
		log_msg(sa->base.nsp->io->log, SIO_LOG_DEBUG, "redis.invalid",
		        "invalid message on %.*s: %s", (int)channel_len, channel,
		        cluster_msg_strerror(r));
		return true;
	}
	if (resp)
		on_response(sa, &m);
	else
		on_message(sa, &m);
	cluster_msg_finish(&m);
	return true;
}

struct sio_adapter *adapter_sharded_create(struct redis_cluster *cl, struct sio_namespace *nsp)
{
	struct shard_adapter *sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->base.ops = &shard_ops;
	sa->base.nsp = nsp;
	sa->cl = cl;
	list_init(&sa->server_acks);
	list_init(&sa->remote_bcasts);
	cluster_requests_init(&sa->requests, nsp->io->wheel);
	sa->requests.counted = counted;
	char *prefix = concat_hash(cl->key, ""); /* <key># */
	sa->mem = adapter_memory_create(nsp);
	if (!prefix || !sa->mem || id_random_hex(sa->uid, UID_BYTES) < 0 ||
	    !(sa->channel = concat_hash(prefix, nsp->name)) ||
	    !(sa->resp_channel = concat_hash(sa->channel, sa->uid))) {
		free(prefix);
		if (sa->mem)
			sa->mem->ops->destroy(sa->mem);
		free(sa->channel);
		free(sa);
		return NULL;
	}
	free(prefix);
	if (dynamic_mode(sa))
		adapter_memory_on_rooms(sa->mem, shard_room_changed, sa);
	if (redis_link_subscribe(cl->link, REDIS_SSUB, sa->channel, strlen(sa->channel)) < 0 ||
	    redis_link_subscribe(cl->link, REDIS_SSUB, sa->resp_channel, strlen(sa->resp_channel)) <
	            0) {
		shard_destroy(&sa->base);
		return NULL;
	}
	sa->ca.message = shard_message;
	cluster_add_adapter(cl, &sa->ca);
	return &sa->base;
}
