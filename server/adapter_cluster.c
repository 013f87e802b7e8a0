/*
 * What every adapter that spans nodes shares, and the cluster-wide calls
 * of the public API: fetching sockets as JSON, server-side events, a
 * broadcast whose clients' acknowledgements are collected, and the answers
 * the in-memory adapter gives on a later loop turn.
 */
#include "server/adapter.h"

#include <stdlib.h>
#include <string.h>

#include "server/sio.h"

/* ---- fetch ----------------------------------------------------------------- */

json_t *socket_remote_json(struct sio_socket *s)
{
	const struct sio_request *req = s->hs.request;
	json_t *rooms = json_array();
	const char *room;
	for (size_t i = 0; rooms && sio_socket_room_at(s, i, &room); i++)
		json_array_append_new(rooms, json_string(room));
	/* the reference's handshake, in its key order */
	json_t *hs = json_pack("{s:o*,s:o*,s:s?,s:b,s:b,s:I,s:s?,s:o*,s:O*}", "headers",
	                       request_headers_json(req), "time", js_date_string(s->hs.issued),
	                       "address", sio_request_address(req), "xdomain", s->hs.xdomain,
	                       "secure", s->hs.secure, "issued", (json_int_t)s->hs.issued, "url",
	                       sio_request_url(req), "query", request_query_json(req), "auth",
	                       (json_t *)s->hs.auth);
	json_t *own = sio_socket_json_data(s);
	json_t *data;
	const struct sio_observer *obs = s->nsp->io->observer;
	if (obs && obs->socket_data && (!own || json_is_object(own))) {
		/* a copy: the hook adds to it, the socket's own stays as set */
		data = own ? json_copy(own) : json_object();
		if (data)
			obs->socket_data(obs->userdata, s, data);
	} else {
		data = own ? json_incref(own) : json_object();
	}
	return json_pack("{s:s,s:o*,s:o*,s:o*}", "id", s->id, "handshake", hs, "rooms", rooms,
	                 "data", data);
}

static void fetch_one(struct sio_socket *s, void *arg)
{
	json_t *arr = arg;
	json_array_append_new(arr, socket_remote_json(s));
}

json_t *adapter_local_fetch_json(struct sio_adapter *a, const struct sio_target *t)
{
	json_t *arr = json_array();
	if (arr)
		a->ops->select(a, t, fetch_one, arr);
	return arr;
}

json_t *adapter_local_rooms_json(struct sio_adapter *a)
{
	json_t *seen = json_object();
	json_t *arr = json_array();
	struct sio_namespace *nsp = a->nsp;
	for (struct list *n = nsp->sockets.next; seen && arr && n != &nsp->sockets; n = n->next) {
		struct sio_socket *s = container_of(n, struct sio_socket, nsp_link);
		const char *room;
		for (size_t i = 0; a->ops->room_at(a, s, i, &room); i++) {
			if (json_object_get(seen, room))
				continue;
			if (json_object_set_new(seen, room, json_true()) < 0 ||
			    json_array_append_new(arr, json_string(room)) < 0) {
				json_decref(arr);
				arr = NULL;
				break;
			}
		}
	}
	if (!seen) {
		json_decref(arr);
		arr = NULL;
	}
	json_decref(seen);
	return arr;
}

/* ---- server-side events ----------------------------------------------------- */

void namespace_server_event(struct sio_namespace *nsp, const json_t *data,
                            const struct sio_binary *bins, size_t nbins, struct sio_server_ack *ack)
{
	json_t *name = json_array_get(data, 0);
	if (!nsp->server_event || !json_is_string(name) ||
	    memchr(json_string_value(name), '\0', json_string_length(name))) {
		if (ack)
			ack->drop(ack);
		return;
	}
	json_t *args = json_array();
	for (size_t i = 1; args && i < json_array_size(data); i++)
		json_array_append(args, json_array_get(data, i));
	if (!args) {
		if (ack)
			ack->drop(ack);
		return;
	}
	json_t *held = json_incref(name);
	nsp->server_event(nsp, json_string_value(held), args, bins, bins ? nbins : 0, ack,
	                  nsp->server_event_ud);
	json_decref(held);
	json_decref(args);
}

SIO_API void sio_server_ack_reply(sio_server_ack *ack, json_t *arg, const struct sio_binary *bins,
                                  size_t nbins)
{
	if (!ack) {
		json_decref(arg);
		return;
	}
	if (nbins && !bins) {
		json_decref(arg);
		arg = NULL;
		nbins = 0;
	}
	ack->reply(ack, arg ? arg : json_null(), bins, nbins);
}

SIO_API int sio_namespace_on_server_event(sio_namespace *nsp, sio_server_event_fn fn,
                                          void *userdata)
{
	if (!nsp)
		return SIO_EINVAL;
	nsp->server_event = fn;
	nsp->server_event_ud = userdata;
	return 0;
}

/* [event, ...args] for a server-side emit; args stolen. */
static int sse_data(sio_namespace *nsp, const char *event, json_t *args,
                    const struct sio_binary *bins, size_t nbins, json_t **data)
{
	return emit_data(nsp && !nsp->parent ? 0 : SIO_EINVAL, event, args, bins, nbins, data);
}

SIO_API int sio_namespace_server_side_emit(sio_namespace *nsp, const char *event, json_t *args,
                                           const struct sio_binary *bins, size_t nbins)
{
	json_t *data;
	int r = sse_data(nsp, event, args, bins, nbins, &data);
	if (r < 0)
		return r;
	r = nsp->adapter->ops->server_side_emit(nsp->adapter, event, data, bins, nbins);
	json_decref(data);
	return r;
}

/* ---- answers on a later loop turn ------------------------------------------ */

enum answer_kind { ANSWER_FETCH, ANSWER_RESPONSES, ANSWER_COUNT };

/* A result known now, given on the next loop turn (a timer due now). */
struct local_answer {
	struct timer timer;
	struct list link; /* io->answers */
	struct sio_namespace *nsp;
	enum answer_kind kind;
	union {
		sio_fetch_fn fetch;
		sio_responses_fn responses;
		sio_count_fn count;
	} fn;
	void *ud;
	json_t *result;          /* owned: the sockets or responses */
	struct answer_bins bins; /* owned: the responses' */
	size_t count;
	int err;
};

static void answer_call(struct local_answer *a, int err)
{
	list_remove(&a->link);
	timer_cancel(a->nsp->io->wheel, &a->timer);
	if (err == SIO_ECLOSED && a->result) {
		json_array_clear(a->result);
		answer_bins_clear(&a->bins);
	}
	switch (a->kind) {
	case ANSWER_FETCH:
		a->fn.fetch(a->nsp, err, a->result, a->ud);
		break;
	case ANSWER_RESPONSES:
		a->fn.responses(a->nsp, err, a->result, a->bins.v, a->bins.n, a->ud);
		break;
	case ANSWER_COUNT:
		a->fn.count(a->nsp, err, err == SIO_ECLOSED ? 0 : a->count, a->ud);
		break;
	}
	json_decref(a->result);
	answer_bins_clear(&a->bins);
	free(a);
}

static void answer_due(struct timer *t)
{
	struct local_answer *a = container_of(t, struct local_answer, timer);
	answer_call(a, a->err);
}

/* Queues the answer (result stolen; bins, NULL or the responses'
 * binaries, moved: empty after). Returns 0 or SIO_ENOMEM (then nothing is
 * called, result and bins are freed). */
static int answer_later(struct sio_namespace *nsp, enum answer_kind kind, void *fn, void *ud,
                        json_t *result, struct answer_bins *bins, size_t count, int err)
{
	struct local_answer *a = calloc(1, sizeof(*a));
	if (!a || (kind != ANSWER_COUNT && !result)) {
		free(a);
		json_decref(result);
		if (bins)
			answer_bins_clear(bins);
		return SIO_ENOMEM;
	}
	if (bins) {
		a->bins = *bins;
		memset(bins, 0, sizeof(*bins));
	}
	a->nsp = nsp;
	a->kind = kind;
	if (kind == ANSWER_FETCH)
		a->fn.fetch = (sio_fetch_fn)fn;
	else if (kind == ANSWER_RESPONSES)
		a->fn.responses = (sio_responses_fn)fn;
	else
		a->fn.count = (sio_count_fn)fn;
	a->ud = ud;
	a->result = result;
	a->count = count;
	a->err = err;
	list_insert_tail(&nsp->io->answers, &a->link);
	timer_arm(nsp->io->wheel, &a->timer, now_ms(), answer_due);
	return 0;
}

struct local_emit_ack;
static void local_emit_finish(struct local_emit_ack *e, int err);
static struct local_emit_ack *local_emit_of(struct list *link);

void local_answers_close(struct sio_layer *io)
{
	while (!list_empty(&io->collecting))
		local_emit_finish(local_emit_of(io->collecting.next), SIO_ECLOSED);
	while (!list_empty(&io->answers))
		answer_call(container_of(io->answers.next, struct local_answer, link), SIO_ECLOSED);
}

SIO_API int sio_namespace_fetch_sockets_async(sio_namespace *nsp, const struct sio_target *t,
                                              sio_fetch_fn fn, void *userdata)
{
	if (!nsp || !fn || nsp->parent)
		return SIO_EINVAL;
	struct sio_adapter *a = nsp->adapter;
	if (a->ops->fetch_sockets_async && !(t && t->local))
		return a->ops->fetch_sockets_async(a, t, fn, userdata);
	return answer_later(nsp, ANSWER_FETCH, (void *)fn, userdata, adapter_local_fetch_json(a, t),
	                    NULL, 0, 0);
}

SIO_API int sio_namespace_all_rooms_async(sio_namespace *nsp, sio_rooms_fn fn, void *userdata)
{
	if (!nsp || !fn || nsp->parent)
		return SIO_EINVAL;
	struct sio_adapter *a = nsp->adapter;
	if (a->ops->all_rooms_async)
		return a->ops->all_rooms_async(a, fn, userdata);
	/* the same prototype as a fetch's callback */
	return answer_later(nsp, ANSWER_FETCH, (void *)fn, userdata, adapter_local_rooms_json(a),
	                    NULL, 0, 0);
}

SIO_API int sio_namespace_server_side_emit_with_ack(sio_namespace *nsp, const char *event,
                                                    json_t *args, const struct sio_binary *bins,
                                                    size_t nbins, uint32_t timeout_ms,
                                                    sio_responses_fn fn, void *userdata)
{
	if (!fn) {
		json_decref(args);
		return SIO_EINVAL;
	}
	json_t *data;
	int r = sse_data(nsp, event, args, bins, nbins, &data);
	if (r < 0)
		return r;
	struct sio_adapter *a = nsp->adapter;
	if (a->ops->server_side_emit_with_ack)
		r = a->ops->server_side_emit_with_ack(a, event, data, bins, nbins, timeout_ms, fn,
		                                      userdata);
	else
		r = answer_later(nsp, ANSWER_RESPONSES, (void *)fn, userdata, json_array(), NULL, 0,
		                 0);
	json_decref(data);
	return r;
}

SIO_API int sio_namespace_server_count(sio_namespace *nsp, sio_count_fn fn, void *userdata)
{
	if (!nsp || !fn)
		return SIO_EINVAL;
	struct sio_adapter *a = nsp->adapter;
	if (a && a->ops->server_count)
		return a->ops->server_count(a, fn, userdata);
	return answer_later(nsp, ANSWER_COUNT, (void *)fn, userdata, NULL, NULL, 1, 0);
}

/* ---- a broadcast's acknowledgements ------------------------------------------ */

struct ack_collect {
	struct sio_namespace *nsp;
	int64_t id;
	ack_collect_fn on_ack;
	void (*on_timeout)(void *ud);
	void *ud;
	struct timer timer;
	size_t pending;   /* sockets whose answer is awaited */
	bool ended;       /* ack_collect_end() was called */
	bool in_callback; /* on_ack or on_timeout runs */
};

static void collect_free_if_done(struct ack_collect *c)
{
	if (c->ended && !c->pending && !c->in_callback)
		free(c);
}

static void collect_socket_ack(sio_socket *s, int err, json_t *args, const struct sio_binary *bins,
                               size_t nbins, void *ud)
{
	(void)s;
	struct ack_collect *c = ud;
	c->pending--;
	if (err == 0 && !c->ended) {
		c->in_callback = true;
		c->on_ack(c->ud, json_array_get(args, 0), bins, nbins);
		c->in_callback = false;
	}
	collect_free_if_done(c);
}

/* Stops awaiting the clients that did not answer. */
static void collect_drop(struct ack_collect *c)
{
	if (c->pending)
		c->pending -= namespace_drop_acks(c->nsp, c->id, collect_socket_ack, c);
}

static void collect_timed_out(struct timer *t)
{
	struct ack_collect *c = container_of(t, struct ack_collect, timer);
	collect_drop(c);
	if (!c->ended) {
		c->in_callback = true;
		c->on_timeout(c->ud);
		c->in_callback = false;
	}
	collect_free_if_done(c);
}

struct collect_send {
	struct ack_collect *c;
	struct outbuf **bufs;
	size_t n;
	int count;
	int err;
};

static void collect_send_one(struct sio_socket *s, void *arg)
{
	struct collect_send *cs = arg;
	if (socket_expect_ack(s, cs->c->id, collect_socket_ack, cs->c) < 0) {
		cs->err = SIO_ENOMEM;
		return;
	}
	cs->c->pending++;
	cs->count++;
	eio_session_send(s->client->conn, cs->bufs, cs->n, false);
}

int ack_collect_start(struct sio_namespace *nsp, const struct sio_target *t, const json_t *data,
                      const struct sio_binary *bins, size_t nbins, uint32_t timeout_ms,
                      ack_collect_fn on_ack, void (*on_timeout)(void *ud), void *ud,
                      struct ack_collect **out)
{
	*out = NULL;
	struct ack_collect *c = calloc(1, sizeof(*c));
	if (!c)
		return SIO_ENOMEM;
	c->nsp = nsp;
	c->id = namespace_ack_id(nsp);
	c->on_ack = on_ack;
	c->on_timeout = on_timeout;
	c->ud = ud;
	struct outbuf *bufs[1 + SIO_MAX_EMIT_BINS];
	int n = encode_packet(nsp->io, nsp->name, strlen(nsp->name), SIO_PACKET_EVENT, c->id, data,
	                      bins, nbins, bufs);
	if (n < 0) {
		free(c);
		return n;
	}
	struct collect_send cs = {.c = c, .bufs = bufs, .n = (size_t)n};
	nsp->adapter->ops->select(nsp->adapter, t, collect_send_one, &cs);
	for (int i = 0; i < n; i++)
		outbuf_unref(bufs[i]);
	timer_arm(nsp->io->wheel, &c->timer, now_ms() + timeout_ms, collect_timed_out);
	*out = c;
	return cs.count;
}

void ack_collect_end(struct ack_collect *c)
{
	if (!c)
		return;
	c->ended = true;
	timer_cancel(c->nsp->io->wheel, &c->timer);
	collect_drop(c);
	collect_free_if_done(c);
}

/* sio_namespace_emit_with_ack() on this node alone. */
struct local_emit_ack {
	struct sio_namespace *nsp;
	struct ack_collect *c;
	sio_responses_fn fn;
	void *ud;
	json_t *responses;
	struct answer_bins bins;
	size_t expected, answered;
	struct list link; /* io->collecting */
};

static void local_emit_finish(struct local_emit_ack *e, int err)
{
	/* answered on a later turn: through the queue of local answers */
	list_remove(&e->link);
	ack_collect_end(e->c);
	if (answer_later(e->nsp, ANSWER_RESPONSES, (void *)e->fn, e->ud, e->responses, &e->bins, 0,
	                 err) < 0)
		e->fn(e->nsp, SIO_ENOMEM, NULL, NULL, 0,
		      e->ud); /* fn must hear once: at once, then */
	free(e);
}

static struct local_emit_ack *local_emit_of(struct list *link)
{
	return container_of(link, struct local_emit_ack, link);
}

static void local_emit_on_ack(void *ud, json_t *arg, const struct sio_binary *bins, size_t nbins)
{
	struct local_emit_ack *e = ud;
	answer_append(e->responses, &e->bins, arg, bins, nbins); /* lost when out of memory */
	if (++e->answered == e->expected)
		local_emit_finish(e, 0);
}

static void local_emit_timeout(void *ud)
{
	local_emit_finish(ud, SIO_ETIMEDOUT);
}

SIO_API int sio_namespace_emit_with_ack(sio_namespace *nsp, const struct sio_target *t,
                                        const char *event, json_t *args,
                                        const struct sio_binary *bins, size_t nbins,
                                        uint32_t timeout_ms, sio_responses_fn fn, void *userdata)
{
	json_t *data;
	int r = emit_data(nsp && !nsp->parent && fn && timeout_ms ? 0 : SIO_EINVAL, event, args,
	                  bins, nbins, &data);
	if (r < 0)
		return r;
	struct sio_adapter *a = nsp->adapter;
	if (a->ops->emit_with_ack && !(t && t->local)) {
		r = a->ops->emit_with_ack(a, t, data, bins, nbins, timeout_ms, fn, userdata);
		json_decref(data);
		return r;
	}
	struct local_emit_ack *e = calloc(1, sizeof(*e));
	if (!e || !(e->responses = json_array())) {
		free(e);
		json_decref(data);
		return SIO_ENOMEM;
	}
	e->nsp = nsp;
	e->fn = fn;
	e->ud = userdata;
	list_init(&e->link);
	r = ack_collect_start(nsp, t, data, bins, nbins, timeout_ms, local_emit_on_ack,
	                      local_emit_timeout, e, &e->c);
	json_decref(data);
	if (r < 0) {
		json_decref(e->responses);
		free(e);
		return r;
	}
	e->expected = (size_t)r;
	list_insert_tail(&nsp->io->collecting, &e->link);
	if (r == 0)
		local_emit_finish(e, 0);
	return 0;
}
