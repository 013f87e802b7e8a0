/*
 * The classic pub/sub adapter, byte-compatible with
 * @socket.io/redis-adapter 8.3 (createAdapter()): this node's rooms in an
 * in-memory adapter, the other nodes reached through Redis.
 *
 * Channels, for key K, namespace N and this node's uid U:
 *   K#N#        broadcasts (K#N#<room># for a single room); PSUBSCRIBE K#N#*
 *   K-request#N#           requests of every node (SUBSCRIBE)
 *   K-response#N#          answers (SUBSCRIBE)
 *   K-response#N#U#        answers to this node only (SUBSCRIBE; used by
 *                          the nodes with publishOnSpecificResponseChannel)
 *
 * A broadcast is msgpack [uid, {type:2, data, nsp}, {rooms, except,
 * flags}] (binary as bin). Requests are JSON, but a broadcast with acks
 * (type 7) and its acks (type 9) are msgpack; a message whose first byte
 * is '{' is read as JSON, any other as msgpack, as the reference does.
 *
 * Where this differs from the reference, on purpose and invisibly on the
 * wire: sockets join/leave/disconnect act on this node's sockets at once
 * (the reference waits for its own request to come back through Redis),
 * so a node whose Redis is down still acts on its own sockets; a node
 * ignores every request carrying its own uid; a broadcast with acks that
 * this node serves stops awaiting its clients after the request's
 * flags.timeout (requests_timeout when it has none), where the reference
 * keeps awaiting them forever.
 */
#include "cluster/cluster.h"
#include "cluster/redis_msg.h"
#include "cluster/requests.h"

#include <stdlib.h>
#include <string.h>

#include "base/timer.h"
#include "protocol/json.h"
#include "protocol/msgpack_value.h"
#include "server/server.h"
#include "server/sio.h"

/* The reference's request types. */
enum {
	REQ_SOCKETS = 0,
	REQ_ALL_ROOMS = 1,
	REQ_REMOTE_JOIN = 2,
	REQ_REMOTE_LEAVE = 3,
	REQ_REMOTE_DISCONNECT = 4,
	REQ_REMOTE_FETCH = 5,
	REQ_SERVER_SIDE_EMIT = 6,
	REQ_BROADCAST = 7,
	REQ_BROADCAST_CLIENT_COUNT = 8,
	REQ_BROADCAST_ACK = 9,
};

struct redis_adapter {
	struct sio_adapter base;
	struct cluster_adapter ca;
	struct redis_cluster *c;
	struct sio_adapter *local; /* this node's rooms */
	char *bcast, *pattern, *req_ch, *resp_ch, *spec_ch;
	size_t bcast_len, req_len, resp_len, spec_len;
	struct cluster_requests requests; /* ours, awaiting answers */
	struct list serving;              /* struct serving: broadcasts with acks of others */
	struct list server_acks;          /* struct rserver_ack: handed to the handler */
	struct buf scratch;               /* a message being encoded */
};

static struct redis_adapter *ra_of(const struct sio_adapter *a)
{
	return container_of(a, struct redis_adapter, base);
}

/* ---- local part: the inner in-memory adapter ------------------------------------ */

static int ra_join(struct sio_adapter *a, struct sio_socket *s, const char *room)
{
	struct sio_adapter *l = ra_of(a)->local;
	return l->ops->join(l, s, room);
}

static void ra_leave(struct sio_adapter *a, struct sio_socket *s, const char *room)
{
	struct sio_adapter *l = ra_of(a)->local;
	l->ops->leave(l, s, room);
}

static void ra_leave_all(struct sio_adapter *a, struct sio_socket *s)
{
	struct sio_adapter *l = ra_of(a)->local;
	l->ops->leave_all(l, s);
}

static bool ra_has(const struct sio_adapter *a, const struct sio_socket *s, const char *room)
{
	const struct sio_adapter *l = ra_of(a)->local;
	return l->ops->has(l, s, room);
}

static bool ra_room_at(const struct sio_adapter *a, const struct sio_socket *s, size_t i,
                       const char **room)
{
	const struct sio_adapter *l = ra_of(a)->local;
	return l->ops->room_at(l, s, i, room);
}

static void ra_select(struct sio_adapter *a, const struct sio_target *t, adapter_each_fn fn,
                      void *arg)
{
	struct sio_adapter *l = ra_of(a)->local;
	l->ops->select(l, t, fn, arg);
}

static size_t ra_rooms_count(const struct sio_adapter *a)
{
	const struct sio_adapter *l = ra_of(a)->local;
	return l->ops->rooms_count(l);
}

/* ---- sending --------------------------------------------------------------------- */

static int ra_publish_bytes(struct redis_adapter *ra, const char *ch, size_t ch_len,
                            const uint8_t *msg, size_t len)
{
	return redis_link_publish(ra->c->link, false, ch, ch_len, msg, len);
}

static int dump_out(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n);
}

/* Publishes v (borrowed) as JSON on ch. */
static int ra_publish_json(struct redis_adapter *ra, const char *ch, size_t ch_len, const json_t *v)
{
	struct buf *b = &ra->scratch;
	b->len = 0;
	if (!v || jsonr_dump(v, dump_out, b) < 0)
		return SIO_ENOMEM;
	int r = ra_publish_bytes(ra, ch, ch_len, b->data, b->len);
	if (b->cap > 65536)
		buf_free(b);
	return r;
}

/* Publishes v (borrowed; placeholders name bins) as msgpack on ch. */
static int ra_publish_msgpack(struct redis_adapter *ra, const char *ch, size_t ch_len,
                              const json_t *v, const struct sio_binary *bins, size_t nbins)
{
	struct sio_pkt_buf stack[16];
	struct sio_pkt_buf *bufs = stack;
	if (nbins > 16 && !(bufs = malloc(nbins * sizeof(*bufs))))
		return SIO_ENOMEM;
	for (size_t i = 0; i < nbins; i++)
		bufs[i] = (struct sio_pkt_buf){.data = (uint8_t *)bins[i].data, .len = bins[i].len};
	struct buf *b = &ra->scratch;
	b->len = 0;
	int r = v ? msgpack_value_encode(v, nbins ? bufs : NULL, (uint32_t)nbins,
	                                 REDIS_MSG_MAX_DEPTH + 8, b)
	          : -1;
	if (bufs != stack)
		free(bufs);
	r = r < 0 ? SIO_EINVAL : ra_publish_bytes(ra, ch, ch_len, b->data, b->len);
	if (b->cap > 65536)
		buf_free(b);
	return r;
}

/* The target's rooms and excepted rooms as arrays, each name once; extra
 * (except_socket's id, its own room) first, as socket.broadcast's
 * BroadcastOperator starts its except set with the socket's id. */
static json_t *names_json(const char *const *names, const char *extra)
{
	json_t *arr = json_array();
	if (arr && extra)
		json_array_append_new(arr, json_string(extra));
	for (size_t i = 0; arr && names && names[i]; i++) {
		bool dup = extra && strcmp(names[i], extra) == 0;
		for (size_t k = 0; k < i && !dup; k++)
			dup = strcmp(names[k], names[i]) == 0;
		if (!dup)
			json_array_append_new(arr, json_string(names[i]));
	}
	return arr;
}

static json_t *target_rooms(const struct sio_target *t)
{
	return names_json(t ? t->rooms : NULL, NULL);
}

static json_t *target_except(const struct sio_target *t)
{
	return names_json(t ? t->except : NULL,
	                  t && t->except_socket ? sio_socket_id(t->except_socket) : NULL);
}

/* {rooms, except}: the opts of a request. */
static json_t *target_opts(const struct sio_target *t)
{
	return json_pack("{s:o,s:o}", "rooms", target_rooms(t), "except", target_except(t));
}

static void ra_publish(struct sio_adapter *a, const struct sio_target *t, const json_t *data,
                       const struct sio_binary *bins, size_t nbins)
{
	struct redis_adapter *ra = ra_of(a);
	struct redis_cluster *c = ra->c;
	json_t *flags = t && t->volatile_ ? json_pack("{s:b}", "volatile", 1) : json_object();
	json_t *msg = json_pack("[s{s:i,s:O,s:s}{s:o,s:o,s:o}]", c->uid, "type", 2, "data", data,
	                        "nsp", a->nsp->name, "rooms", target_rooms(t), "except",
	                        target_except(t), "flags", flags);
	if (!msg)
		return;
	/* exactly one room: its own channel */
	size_t nrooms = json_array_size(json_object_get(json_array_get(msg, 2), "rooms"));
	if (nrooms == 1) {
		const char *room = t->rooms[0];
		size_t rl = strlen(room);
		char stack[256];
		char *ch = ra->bcast_len + rl + 1 <= sizeof(stack) ? stack
		                                                   : malloc(ra->bcast_len + rl + 1);
		if (ch) {
			memcpy(ch, ra->bcast, ra->bcast_len);
			memcpy(ch + ra->bcast_len, room, rl);
			ch[ra->bcast_len + rl] = '#';
			ra_publish_msgpack(ra, ch, ra->bcast_len + rl + 1, msg, bins, nbins);
			if (ch != stack)
				free(ch);
		}
	} else {
		ra_publish_msgpack(ra, ra->bcast, ra->bcast_len, msg, bins, nbins);
	}
	json_decref(msg);
}

/* ---- fire-and-forget requests ----------------------------------------------------- */

/* socketsJoin (join) or socketsLeave: here at once, then the other nodes. */
static int ra_sockets_room(struct sio_adapter *a, const struct sio_target *t, const char *room,
                           bool join)
{
	struct redis_adapter *ra = ra_of(a);
	int r = join ? adapter_local_sockets_join(a, t, room)
	             : adapter_local_sockets_leave(a, t, room);
	if (t && t->local)
		return r;
	json_t *req = json_pack("{s:s,s:i,s:o,s:[s]}", "uid", ra->c->uid, "type",
	                        join ? REQ_REMOTE_JOIN : REQ_REMOTE_LEAVE, "opts", target_opts(t),
	                        "rooms", room);
	ra_publish_json(ra, ra->req_ch, ra->req_len, req);
	json_decref(req);
	return r;
}

static int ra_sockets_join(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	return ra_sockets_room(a, t, room, true);
}

static int ra_sockets_leave(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	return ra_sockets_room(a, t, room, false);
}

static int ra_disconnect_sockets(struct sio_adapter *a, const struct sio_target *t, bool close)
{
	struct redis_adapter *ra = ra_of(a);
	int r = adapter_local_disconnect_sockets(a, t, close);
	if (t && t->local)
		return r;
	json_t *req = json_pack("{s:s,s:i,s:o,s:b}", "uid", ra->c->uid, "type",
	                        REQ_REMOTE_DISCONNECT, "opts", target_opts(t), "close", close);
	ra_publish_json(ra, ra->req_ch, ra->req_len, req);
	json_decref(req);
	return r;
}

/* A request or answer as the reference writes it (JSON), or, when it holds
 * binaries, as msgpack with them as bin (which the reference reads: its
 * JSON.stringify() would turn them into {type:"Buffer", data}). */
static void ra_publish_any(struct redis_adapter *ra, const char *ch, size_t ch_len, const json_t *v,
                           const struct sio_binary *bins, size_t nbins)
{
	if (nbins)
		ra_publish_msgpack(ra, ch, ch_len, v, bins, nbins);
	else
		ra_publish_json(ra, ch, ch_len, v);
}

static int ra_server_side_emit(struct sio_adapter *a, const char *event, const json_t *data,
                               const struct sio_binary *bins, size_t nbins)
{
	(void)event;
	struct redis_adapter *ra = ra_of(a);
	json_t *req = json_pack("{s:s,s:i,s:O}", "uid", ra->c->uid, "type", REQ_SERVER_SIDE_EMIT,
	                        "data", data);
	if (!req)
		return SIO_ENOMEM;
	ra_publish_any(ra, ra->req_ch, ra->req_len, req, bins, nbins);
	json_decref(req);
	return 0;
}

/* ---- requests that wait for answers ------------------------------------------------ */

/* Server count: a request without id on the wire, for the NUMSUB only. */
#define REQ_COUNT (-1)

/* The pending requests are cluster/requests.h's (ids uid2(6), as the
 * reference's): rq->cb / cb_ud the caller's callback, rq->responses the
 * sockets or answers, rq->payload the request published once the nodes
 * are counted, rq->timeout_ms its time from then (0: requests_timeout),
 * rq->arg the ack collection of a broadcast with acks. A request is
 * counted once its `expected` is no longer CLUSTER_REQUEST_UNCOUNTED. */

/* The elements of arr, each once, in the order they first come (the
 * reference's allRooms() Set; a Node node's number rooms stay numbers,
 * apart from the strings). A new reference, or NULL. */
static json_t *unique(const json_t *arr)
{
	json_t *seen = json_object();
	json_t *out = json_array();
	for (size_t i = 0; seen && out && i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		bool dup = false;
		if (json_is_string(v)) {
			dup = json_object_getn(seen, json_string_value(v), json_string_length(v));
			if (!dup)
				json_object_setn_new(seen, json_string_value(v),
				                     json_string_length(v), json_true());
		} else {
			for (size_t k = 0; k < json_array_size(out) && !dup; k++)
				dup = json_equal(json_array_get(out, k), v);
		}
		if (!dup && json_array_append(out, v) < 0) {
			json_decref(out);
			out = NULL;
		}
	}
	if (!seen) {
		json_decref(out);
		out = NULL;
	}
	json_decref(seen);
	return out;
}

static void request_done(struct cluster_request *rq, enum cluster_request_end end)
{
	struct redis_adapter *ra = container_of(rq->set, struct redis_adapter, requests);
	struct sio_namespace *nsp = ra->base.nsp;
	int err = cluster_request_error(end);
	ack_collect_end(rq->arg);
	if (err == SIO_ECLOSED) {
		json_array_clear(rq->responses);
		answer_bins_clear(&rq->bins);
	}
	switch (rq->type) {
	case REQ_REMOTE_FETCH:
		((sio_fetch_fn)rq->cb)(nsp, err, rq->responses, rq->cb_ud);
		break;
	case REQ_ALL_ROOMS: {
		json_t *rooms = unique(rq->responses);
		((sio_rooms_fn)rq->cb)(nsp, err, rooms ? rooms : rq->responses, rq->cb_ud);
		json_decref(rooms);
		break;
	}
	case REQ_SERVER_SIDE_EMIT:
	case REQ_BROADCAST:
		((sio_responses_fn)rq->cb)(nsp, err, rq->responses, rq->bins.v, rq->bins.n,
		                           rq->cb_ud);
		break;
	default:
		((sio_count_fn)rq->cb)(nsp, err, err ? 0 : rq->expected, rq->cb_ud);
		break;
	}
}

static struct cluster_request *request_new(struct redis_adapter *ra, int type, void *fn, void *ud)
{
	return cluster_request_start_uncounted(&ra->requests, type, request_done, fn, ud);
}

static bool request_counted(const struct cluster_request *rq)
{
	return rq->expected != CLUSTER_REQUEST_UNCOUNTED;
}

/* The requests' counted(): PUBSUB NUMSUB answered for rq. */
static void on_numsub(struct cluster_request *rq, int err, uint64_t count)
{
	struct redis_adapter *ra = container_of(rq->set, struct redis_adapter, requests);
	switch (rq->type) {
	case REQ_COUNT:
		rq->expected = err ? 0 : (size_t)count;
		cluster_request_end(rq, err ? CLUSTER_REQUEST_CLOSED : CLUSTER_REQUEST_COMPLETE);
		return;
	case REQ_BROADCAST:
		/* this node is one of them, counted from the start */
		cluster_request_expect(rq, err || !count ? 1 : (size_t)count);
		return;
	case REQ_REMOTE_FETCH:
	case REQ_ALL_ROOMS:
		if (err || count <= 1) {
			cluster_request_end(
			        rq, CLUSTER_REQUEST_COMPLETE); /* alone, as far as Redis tells */
			return;
		}
		cluster_request_expect(rq, (size_t)count); /* this node's answer is in */
		break;
	case REQ_SERVER_SIDE_EMIT:
		if (err || count <= 1) {
			cluster_request_end(rq, CLUSTER_REQUEST_COMPLETE);
			return;
		}
		cluster_request_expect(rq, (size_t)count - 1); /* not this node */
		break;
	}
	ra_publish_any(ra, ra->req_ch, ra->req_len, rq->payload, rq->payload_bins.v,
	               rq->payload_bins.n);
	cluster_request_arm(rq, rq->timeout_ms ? rq->timeout_ms : ra->c->opts.requests_timeout);
}

/* Asks Redis for the number of nodes; on failure ends on a later turn with
 * the result as it is. */
static void request_count(struct cluster_request *rq)
{
	struct redis_adapter *ra = container_of(rq->set, struct redis_adapter, requests);
	if (redis_link_numsub(ra->c->link, false, ra->req_ch, ra->req_len,
	                      cluster_request_numsub_answer, &ra->requests, rq->tag) == 0)
		return;
	if (rq->type == REQ_BROADCAST) {
		rq->expected = 1; /* not through expect(): the answer comes on a later turn */
		if (rq->current >= 1 && rq->acks >= rq->acks_expected)
			cluster_request_end_later(rq, CLUSTER_REQUEST_COMPLETE);
		return;
	}
	cluster_request_end_later(rq, rq->type == REQ_COUNT ? CLUSTER_REQUEST_CLOSED
	                                                    : CLUSTER_REQUEST_COMPLETE);
}

/* Sends a request whose answer starts with this node's part (local, stolen;
 * payload stolen): discarded on SIO_ENOMEM. */
static int request_start(struct cluster_request *rq, json_t *payload, json_t *local)
{
	rq->payload = payload;
	if (!local || !payload || json_array_extend(rq->responses, local) < 0) {
		json_decref(local);
		cluster_request_discard(rq);
		return SIO_ENOMEM;
	}
	json_decref(local);
	rq->current = 1; /* this node's answer */
	request_count(rq);
	return 0;
}

static int ra_fetch_sockets_async(struct sio_adapter *a, const struct sio_target *t,
                                  sio_fetch_fn fn, void *ud)
{
	struct redis_adapter *ra = ra_of(a);
	struct cluster_request *rq = request_new(ra, REQ_REMOTE_FETCH, (void *)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	json_t *payload = json_pack("{s:s,s:s,s:i,s:o}", "uid", ra->c->uid, "requestId", rq->id,
	                            "type", REQ_REMOTE_FETCH, "opts", target_opts(t));
	return request_start(rq, payload, adapter_local_fetch_json(a, t));
}

static int ra_all_rooms_async(struct sio_adapter *a, sio_rooms_fn fn, void *ud)
{
	struct redis_adapter *ra = ra_of(a);
	struct cluster_request *rq = request_new(ra, REQ_ALL_ROOMS, (void *)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	/* the reference's form: {uid, requestId, type}, as JSON */
	json_t *payload = json_pack("{s:s,s:s,s:i}", "uid", ra->c->uid, "requestId", rq->id, "type",
	                            REQ_ALL_ROOMS);
	return request_start(rq, payload, adapter_local_rooms_json(a));
}

static int ra_server_side_emit_with_ack(struct sio_adapter *a, const char *event,
                                        const json_t *data, const struct sio_binary *bins,
                                        size_t nbins, uint32_t timeout_ms, sio_responses_fn fn,
                                        void *ud)
{
	(void)event;
	struct redis_adapter *ra = ra_of(a);
	struct cluster_request *rq = request_new(ra, REQ_SERVER_SIDE_EMIT, (void *)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	rq->payload = json_pack("{s:s,s:s,s:i,s:O}", "uid", ra->c->uid, "requestId", rq->id, "type",
	                        REQ_SERVER_SIDE_EMIT, "data", data);
	if (!rq->payload || answer_bins_copy(&rq->payload_bins, bins, nbins) < 0) {
		cluster_request_discard(rq);
		return SIO_ENOMEM;
	}
	rq->timeout_ms = timeout_ms;
	request_count(rq);
	return 0;
}

static int ra_server_count(struct sio_adapter *a, sio_count_fn fn, void *ud)
{
	struct cluster_request *rq = request_new(ra_of(a), REQ_COUNT, (void *)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	request_count(rq);
	return 0;
}

static void bcast_on_ack(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins)
{
	struct cluster_request *rq = ud;
	answer_append(rq->responses, &rq->bins, arg, bins, nbins); /* lost when out of memory */
	cluster_request_acked(rq);
}

static void bcast_on_timeout(void *ud)
{
	(void)ud; /* the request's own timer answers */
}

static int ra_emit_with_ack(struct sio_adapter *a, const struct sio_target *t, const json_t *data,
                            const struct sio_binary *bins, size_t nbins, uint32_t timeout_ms,
                            sio_responses_fn fn, void *ud)
{
	struct redis_adapter *ra = ra_of(a);
	struct sio_namespace *nsp = a->nsp;
	struct cluster_request *rq = request_new(ra, REQ_BROADCAST, (void *)fn, ud);
	if (!rq)
		return SIO_ENOMEM;
	json_t *req =
	        json_pack("{s:s,s:s,s:i,s:{s:i,s:O,s:s},s:{s:o,s:o,s:{s:I}}}", "uid", ra->c->uid,
	                  "requestId", rq->id, "type", REQ_BROADCAST, "packet", "type", 2, "data",
	                  data, "nsp", nsp->name, "opts", "rooms", target_rooms(t), "except",
	                  target_except(t), "flags", "timeout", (json_int_t)timeout_ms);
	if (!req) {
		cluster_request_discard(rq);
		return SIO_ENOMEM;
	}
	/* the request goes out before the local clients get the event, as in
	 * the reference */
	ra_publish_msgpack(ra, ra->req_ch, ra->req_len, req, bins, nbins);
	json_decref(req);
	struct ack_collect *collect;
	int n = ack_collect_start(nsp, t, data, bins, nbins, timeout_ms, bcast_on_ack,
	                          bcast_on_timeout, rq, &collect);
	if (n < 0) {
		cluster_request_discard(rq);
		return n;
	}
	rq->arg = collect;
	rq->acks_expected = (size_t)n;
	rq->current = 1; /* this node told its count */
	cluster_request_arm(rq, timeout_ms);
	request_count(rq);
	return 0;
}

/* ---- answers to our requests -------------------------------------------------------- */

static void on_response(struct redis_adapter *ra, json_t *res, const struct sio_binary *bins,
                        size_t nbins)
{
	json_t *id = json_object_get(res, "requestId");
	struct cluster_request *rq =
	        json_is_string(id) ? cluster_request_find(&ra->requests, json_string_value(id),
	                                                  json_string_length(id))
	                           : NULL;
	if (!rq || rq->type == REQ_COUNT)
		return;
	json_t *type = json_object_get(res, "type");
	if (rq->type == REQ_BROADCAST) {
		if (json_is_integer(type) &&
		    json_integer_value(type) == REQ_BROADCAST_CLIENT_COUNT) {
			json_t *n = json_object_get(res, "clientCount");
			size_t more = json_is_number(n) && json_number_value(n) > 0
			                      ? (size_t)json_number_value(n)
			                      : 0;
			cluster_request_answered_with_acks(rq, more);
		} else if (json_is_integer(type) && json_integer_value(type) == REQ_BROADCAST_ACK) {
			answer_append(rq->responses, &rq->bins, json_object_get(res, "packet"),
			              bins, nbins);
			cluster_request_acked(rq);
		}
		return;
	}
	if (!request_counted(rq) || !timer_armed(&rq->timer))
		return; /* not asked yet */
	if (rq->type == REQ_REMOTE_FETCH) {
		json_t *sockets = json_object_get(res, "sockets");
		if (json_is_array(sockets))
			json_array_extend(rq->responses, sockets);
		cluster_request_answered(rq);
	} else if (rq->type == REQ_ALL_ROOMS) {
		json_t *rooms = json_object_get(res, "rooms");
		if (json_is_array(rooms))
			json_array_extend(rq->responses, rooms); /* each once at the end */
		cluster_request_answered(rq);
	} else if (rq->type == REQ_SERVER_SIDE_EMIT) {
		answer_append(rq->responses, &rq->bins, json_object_get(res, "data"), bins, nbins);
		cluster_request_answered(rq);
	}
}

/* ---- requests of other nodes -------------------------------------------------------- */

/* The channel an answer to req goes to. */
static void publish_response(struct redis_adapter *ra, const json_t *req, const json_t *res,
                             bool msgpack, const struct sio_binary *bins, size_t nbins)
{
	const char *uid = json_string_value(json_object_get(req, "uid"));
	char *ch = NULL;
	size_t ch_len = ra->resp_len;
	if (ra->c->opts.publish_on_specific_response_channel && uid) {
		size_t ul = strlen(uid);
		ch = malloc(ra->resp_len + ul + 2);
		if (!ch)
			return;
		memcpy(ch, ra->resp_ch, ra->resp_len);
		memcpy(ch + ra->resp_len, uid, ul);
		ch[ra->resp_len + ul] = '#';
		ch_len = ra->resp_len + ul + 1;
	}
	if (msgpack)
		ra_publish_msgpack(ra, ch ? ch : ra->resp_ch, ch_len, res, bins, nbins);
	else
		ra_publish_json(ra, ch ? ch : ra->resp_ch, ch_len, res);
	free(ch);
}

/* A server-side event's answer: published on the response channel. */
struct rserver_ack {
	struct sio_server_ack base;
	struct list link; /* ra->server_acks */
	struct redis_adapter *ra;
	json_t *request_id;
};

static void rserver_ack_drop(struct sio_server_ack *ack)
{
	struct rserver_ack *a = container_of(ack, struct rserver_ack, base);
	list_remove(&a->link);
	json_decref(a->request_id);
	free(a);
}

static void rserver_ack_reply(struct sio_server_ack *ack, json_t *arg,
                              const struct sio_binary *bins, size_t nbins)
{
	struct rserver_ack *a = container_of(ack, struct rserver_ack, base);
	struct redis_adapter *ra = a->ra;
	json_t *res = json_pack("{s:i,s:O,s:o}", "type", REQ_SERVER_SIDE_EMIT, "requestId",
	                        a->request_id, "data", arg);
	if (res)
		ra_publish_any(ra, ra->resp_ch, ra->resp_len, res, bins, nbins);
	json_decref(res);
	rserver_ack_drop(ack);
}

/* A broadcast with acks asked by another node, served here. */
struct serving {
	struct list link; /* ra->serving */
	struct redis_adapter *ra;
	struct ack_collect *collect;
	json_t *request;           /* {uid, requestId}: where answers go */
	size_t expected, answered; /* clients */
};

static void serving_end(struct serving *sv)
{
	list_remove(&sv->link);
	ack_collect_end(sv->collect);
	json_decref(sv->request);
	free(sv);
}

static void serving_on_ack(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins)
{
	struct serving *sv = ud;
	json_t *res = json_pack("{s:i,s:O,s:O}", "type", REQ_BROADCAST_ACK, "requestId",
	                        json_object_get(sv->request, "requestId"), "packet",
	                        arg ? arg : json_null());
	if (res)
		publish_response(sv->ra, sv->request, res, true, bins, nbins);
	json_decref(res);
	if (++sv->answered == sv->expected)
		serving_end(sv); /* every client answered: nothing more to wait for */
}

static void serving_on_timeout(void *ud)
{
	serving_end(ud);
}

static void serve_broadcast(struct redis_adapter *ra, json_t *req, const struct sio_binary *bins,
                            size_t nbins)
{
	json_t *packet = json_object_get(req, "packet");
	json_t *data = json_object_get(packet, "data");
	json_t *opts = json_object_get(req, "opts");
	if (!json_is_array(data) || !json_array_size(data))
		return;
	json_t *timeout = json_object_get(json_object_get(opts, "flags"), "timeout");
	struct redis_msg_target mt = {0};
	double ms = json_is_number(timeout) ? json_number_value(timeout)
	                                    : (double)ra->c->opts.requests_timeout;
	if (!(ms >= 1))
		ms = 1;
	if (ms > 86400000.)
		ms = 86400000.;
	struct serving *sv = calloc(1, sizeof(*sv));
	bool ok = redis_msg_target_read(opts, &mt);
	if (!sv || !ok) {
		free(sv);
		redis_msg_target_finish(&mt);
		return;
	}
	sv->ra = ra;
	sv->request = json_pack("{s:O*,s:O*}", "uid", json_object_get(req, "uid"), "requestId",
	                        json_object_get(req, "requestId"));
	list_insert_tail(&ra->serving, &sv->link);
	mt.t.volatile_ = false;
	int n = mt.none ? 0
	                : ack_collect_start(ra->base.nsp, &mt.t, data, bins, nbins, (uint32_t)ms,
	                                    serving_on_ack, serving_on_timeout, sv, &sv->collect);
	redis_msg_target_finish(&mt);
	json_t *res = json_pack("{s:i,s:O,s:i}", "type", REQ_BROADCAST_CLIENT_COUNT, "requestId",
	                        json_object_get(req, "requestId"), "clientCount", n < 0 ? 0 : n);
	if (res)
		publish_response(ra, req, res, false, NULL, 0);
	json_decref(res);
	if (n <= 0)
		serving_end(sv);
	else
		sv->expected = (size_t)n;
}

static void id_one(struct sio_socket *s, void *arg)
{
	json_array_append_new(arg, json_string(s->id));
}

static void on_request(struct redis_adapter *ra, json_t *req, const struct sio_binary *bins,
                       size_t nbins)
{
	struct sio_adapter *a = &ra->base;
	json_t *uid = json_object_get(req, "uid");
	if (json_is_string(uid) && strcmp(json_string_value(uid), ra->c->uid) == 0)
		return; /* our own */
	json_t *type = json_object_get(req, "type");
	if (!json_is_integer(type))
		return;
	json_t *rid = json_object_get(req, "requestId");
	json_t *opts = json_object_get(req, "opts");
	struct redis_msg_target mt = {0};
	json_t *res = NULL;
	switch (json_integer_value(type)) {
	case REQ_SOCKETS: {
		/* sockets in request.rooms */
		json_t *fake = json_pack("{s:O*}", "rooms", json_object_get(req, "rooms"));
		if (fake && redis_msg_target_read(fake, &mt)) {
			json_t *ids = json_array();
			if (!mt.none)
				ra_select(a, &mt.t, id_one, ids);
			res = json_pack("{s:O*,s:o}", "requestId", rid, "sockets", ids);
		}
		redis_msg_target_finish(&mt);
		json_decref(fake);
		break;
	}
	case REQ_ALL_ROOMS:
		res = json_pack("{s:O*,s:o}", "requestId", rid, "rooms",
		                adapter_local_rooms_json(a));
		break;
	case REQ_REMOTE_JOIN:
	case REQ_REMOTE_LEAVE:
	case REQ_REMOTE_DISCONNECT: {
		long long t = json_integer_value(type);
		if (json_is_object(opts)) {
			if (redis_msg_target_read(opts, &mt) && !mt.none) {
				mt.t.volatile_ = false;
				if (t == REQ_REMOTE_DISCONNECT) {
					adapter_local_disconnect_sockets(
					        a, &mt.t,
					        json_is_true(json_object_get(req, "close")));
				} else {
					/* an array, or one name (socket.join() takes both) */
					json_t *rooms = json_object_get(req, "rooms");
					size_t n =
					        json_is_string(rooms) ? 1 : json_array_size(rooms);
					for (size_t i = 0; i < n; i++) {
						const char *room = json_string_value(
						        json_is_string(rooms)
						                ? rooms
						                : json_array_get(rooms, i));
						if (!room)
							continue;
						if (t == REQ_REMOTE_JOIN)
							adapter_local_sockets_join(a, &mt.t, room);
						else
							adapter_local_sockets_leave(a, &mt.t, room);
					}
				}
			}
			redis_msg_target_finish(&mt);
			break;
		}
		/* the older form, one socket by id: answered */
		const char *sid = json_string_value(json_object_get(req, "sid"));
		struct sio_socket *s = NULL;
		struct sio_namespace *nsp = a->nsp;
		for (struct list *n = nsp->sockets.next; sid && n != &nsp->sockets; n = n->next) {
			struct sio_socket *k = container_of(n, struct sio_socket, nsp_link);
			if (strcmp(k->id, sid) == 0)
				s = k;
		}
		if (!s)
			break;
		const char *room = json_string_value(json_object_get(req, "room"));
		if (t == REQ_REMOTE_JOIN && room)
			sio_socket_join(s, room);
		else if (t == REQ_REMOTE_LEAVE && room)
			sio_socket_leave(s, room);
		else if (t == REQ_REMOTE_DISCONNECT)
			sio_socket_disconnect(s, json_is_true(json_object_get(req, "close")));
		res = json_pack("{s:O*}", "requestId", rid);
		break;
	}
	case REQ_REMOTE_FETCH:
		if (redis_msg_target_read(opts, &mt)) {
			mt.t.volatile_ = false;
			res = json_pack("{s:O*,s:o}", "requestId", rid, "sockets",
			                mt.none ? json_array()
			                        : adapter_local_fetch_json(a, &mt.t));
		}
		redis_msg_target_finish(&mt);
		break;
	case REQ_SERVER_SIDE_EMIT: {
		json_t *data = json_object_get(req, "data");
		if (!json_is_array(data))
			break;
		if (!rid) {
			namespace_server_event(a->nsp, data, bins, nbins, NULL);
			break;
		}
		struct rserver_ack *ack = calloc(1, sizeof(*ack));
		if (!ack)
			break;
		ack->base.reply = rserver_ack_reply;
		ack->base.drop = rserver_ack_drop;
		ack->ra = ra;
		ack->request_id = json_incref(rid);
		list_insert_tail(&ra->server_acks, &ack->link);
		namespace_server_event(a->nsp, data, bins, nbins, &ack->base);
		break;
	}
	case REQ_BROADCAST:
		serve_broadcast(ra, req, bins, nbins);
		break;
	default:
		break;
	}
	if (res)
		publish_response(ra, req, res, false, NULL, 0);
	json_decref(res);
}

/* ---- messages ----------------------------------------------------------------------- */

static void bins_of(const struct msgpack_value *v, struct sio_binary *out)
{
	for (uint32_t i = 0; i < v->nbufs; i++)
		out[i] = (struct sio_binary){.data = v->bufs[i].data, .len = v->bufs[i].len};
}

static void on_broadcast(struct redis_adapter *ra, const uint8_t *msg, size_t len)
{
	struct msgpack_value v;
	if (!redis_msg_decode(msg, len, &v))
		return;
	json_t *data, *opts;
	struct redis_msg_target mt = {0};
	if (redis_msg_broadcast(v.json, ra->c->uid, ra->base.nsp->name, &data, &opts) &&
	    redis_msg_target_read(opts, &mt) && !mt.none) {
		struct sio_binary bins[REDIS_MSG_MAX_BINS];
		bins_of(&v, bins);
		namespace_deliver(ra->base.nsp, &mt.t, json_incref(data), bins, v.nbufs);
	}
	redis_msg_target_finish(&mt);
	msgpack_value_finish(&v);
}

static bool ra_message(struct cluster_adapter *ca, enum redis_sub_kind kind, const char *sub,
                       size_t sub_len, const char *channel, size_t channel_len, const uint8_t *msg,
                       size_t len)
{
	struct redis_adapter *ra = container_of(ca, struct redis_adapter, ca);
	if (kind == REDIS_PSUB) {
		if (sub_len != ra->bcast_len + 1 || memcmp(sub, ra->pattern, sub_len) != 0)
			return false;
		if (channel_len < ra->bcast_len || memcmp(channel, ra->bcast, ra->bcast_len) != 0)
			return true;
		on_broadcast(ra, msg, len);
		return true;
	}
	if (kind != REDIS_SUB)
		return false;
	bool is_req = channel_len == ra->req_len && memcmp(channel, ra->req_ch, ra->req_len) == 0;
	bool is_res =
	        (channel_len == ra->resp_len && memcmp(channel, ra->resp_ch, ra->resp_len) == 0) ||
	        (channel_len == ra->spec_len && memcmp(channel, ra->spec_ch, ra->spec_len) == 0);
	if (!is_req && !is_res)
		return false;
	struct msgpack_value v;
	if (!redis_msg_decode(msg, len, &v))
		return true;
	if (json_is_object(v.json)) {
		if (is_req) {
			struct sio_binary bins[REDIS_MSG_MAX_BINS];
			bins_of(&v, bins);
			on_request(ra, v.json, bins, v.nbufs);
		} else {
			struct sio_binary bins[REDIS_MSG_MAX_BINS];
			bins_of(&v, bins);
			on_response(ra, v.json, bins, v.nbufs);
		}
	}
	msgpack_value_finish(&v);
	return true;
}

/* ---- life --------------------------------------------------------------------------- */

static void ra_destroy(struct sio_adapter *a)
{
	struct redis_adapter *ra = ra_of(a);
	struct redis_link *link = ra->c->link;
	redis_link_forget(link, &ra->requests);
	cluster_requests_finish(&ra->requests);
	while (!list_empty(&ra->serving))
		serving_end(container_of(ra->serving.next, struct serving, link));
	while (!list_empty(&ra->server_acks))
		rserver_ack_drop(
		        &container_of(ra->server_acks.next, struct rserver_ack, link)->base);
	cluster_remove_adapter(&ra->ca);
	if (ra->pattern) {
		redis_link_unsubscribe(link, REDIS_PSUB, ra->pattern, ra->bcast_len + 1);
		redis_link_unsubscribe(link, REDIS_SUB, ra->req_ch, ra->req_len);
		redis_link_unsubscribe(link, REDIS_SUB, ra->resp_ch, ra->resp_len);
		redis_link_unsubscribe(link, REDIS_SUB, ra->spec_ch, ra->spec_len);
	}
	if (ra->local)
		ra->local->ops->destroy(ra->local);
	buf_free(&ra->scratch);
	free(ra->bcast);
	free(ra->pattern);
	free(ra->req_ch);
	free(ra->resp_ch);
	free(ra->spec_ch);
	free(ra);
}

static const struct sio_adapter_ops redis_ops = {
        .destroy = ra_destroy,
        .join = ra_join,
        .leave = ra_leave,
        .leave_all = ra_leave_all,
        .has = ra_has,
        .room_at = ra_room_at,
        .select = ra_select,
        .broadcast = adapter_local_broadcast,
        .fetch_sockets = adapter_local_fetch_sockets,
        .sockets_join = ra_sockets_join,
        .sockets_leave = ra_sockets_leave,
        .disconnect_sockets = ra_disconnect_sockets,
        .server_side_emit = ra_server_side_emit,
        .rooms_count = ra_rooms_count,
        .publish = ra_publish,
        .fetch_sockets_async = ra_fetch_sockets_async,
        .server_side_emit_with_ack = ra_server_side_emit_with_ack,
        .emit_with_ack = ra_emit_with_ack,
        .server_count = ra_server_count,
        .all_rooms_async = ra_all_rooms_async,
};

/* "<a><b><c>" as a new string, its length in *len; NULL when out of
 * memory. */
static char *concat(const char *a, const char *b, const char *c, const char *d, size_t *len)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d);
	char *s = malloc(n + 1);
	if (s)
		snprintf(s, n + 1, "%s%s%s%s", a, b, c, d);
	*len = n;
	return s;
}

struct sio_adapter *adapter_redis_create(struct redis_cluster *c, struct sio_namespace *nsp)
{
	struct redis_adapter *ra = calloc(1, sizeof(*ra));
	if (!ra)
		return NULL;
	ra->base.ops = &redis_ops;
	ra->base.nsp = nsp;
	ra->c = c;
	cluster_requests_init_uid(&ra->requests, nsp->io->wheel);
	ra->requests.counted = on_numsub;
	list_init(&ra->serving);
	list_init(&ra->server_acks);
	list_init(&ra->ca.link);
	ra->ca.message = ra_message;
	const char *k = c->key, *n = nsp->name;
	size_t pl;
	ra->local = adapter_memory_create(nsp);
	ra->bcast = concat(k, "#", n, "#", &ra->bcast_len);
	ra->req_ch = concat(k, "-request#", n, "#", &ra->req_len);
	ra->resp_ch = concat(k, "-response#", n, "#", &ra->resp_len);
	char uid[CLUSTER_UID_LEN + 2];
	snprintf(uid, sizeof(uid), "%s#", c->uid);
	ra->spec_ch = ra->resp_ch ? concat(ra->resp_ch, uid, "", "", &ra->spec_len) : NULL;
	char *pattern = ra->bcast ? concat(ra->bcast, "*", "", "", &pl) : NULL;
	if (!ra->local || !ra->bcast || !ra->req_ch || !ra->resp_ch || !ra->spec_ch || !pattern) {
		free(pattern);
		ra_destroy(&ra->base);
		return NULL;
	}
	struct redis_link *link = c->link;
	if (redis_link_subscribe(link, REDIS_PSUB, pattern, pl) < 0 ||
	    redis_link_subscribe(link, REDIS_SUB, ra->req_ch, ra->req_len) < 0 ||
	    redis_link_subscribe(link, REDIS_SUB, ra->resp_ch, ra->resp_len) < 0 ||
	    redis_link_subscribe(link, REDIS_SUB, ra->spec_ch, ra->spec_len) < 0) {
		ra->pattern = pattern;
		ra_destroy(&ra->base);
		return NULL;
	}
	ra->pattern = pattern;
	cluster_add_adapter(c, &ra->ca);
	return &ra->base;
}
