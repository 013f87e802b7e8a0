/*
 * Engine.IO sessions: creation, the output queue and its limits,
 * heartbeat, received packets, close, and the sio_eio_* API. A session
 * reaches its transport only through struct eio_transport_ops.
 */
#include "transports/engine.h"

#include <stdlib.h>
#include <string.h>

#include "transports/handshake.h"
#include "transports/upgrade.h"

#define CLOSE_TIMEOUT_MS 30000 /* the reference's polling closeTimeout */

/* A closing session's deadline (sio_eio_close()). */
struct session_close {
	struct timer timer;
	struct sio_eio_socket *sess;
};

/* What sio_eio_set_data() stores. */
struct session_data {
	void *data;
	void (*free_fn)(void *);
};

static void close_cancel(struct sio_eio_socket *s)
{
	if (s->closing) {
		timer_cancel(s->engine->wheel, &s->closing->timer);
		free(s->closing);
		s->closing = NULL;
	}
}

/* Queues a packet of our own (open, ping, close...): not bounded by the
 * queue limits. Returns 0 or -1. */
static int queue_control(struct sio_eio_socket *s, enum eio_packet_type type, const char *data)
{
	struct outbuf *o = outbuf_new(&s->engine->pool, type, false, data, data ? strlen(data) : 0);
	if (!o || queue_push(&s->engine->pool, &s->out, o) < 0) {
		outbuf_unref(o);
		return -1;
	}
	session_mark_dirty(s);
	return 0;
}

/* ---- deferred work ------------------------------------------------------ */

void session_mark_dirty(struct sio_eio_socket *s)
{
	if (list_linked(&s->dirty) || s->state == SS_CLOSED)
		return;
	list_insert_tail(&s->engine->dirty, &s->dirty);
}

bool session_alive(const struct sio_eio_socket *s)
{
	return s->state == SS_OPEN || s->state == SS_CLOSING;
}

void session_fail(struct sio_eio_socket *s, enum eio_close_reason reason)
{
	if (!session_alive(s))
		return;
	s->state = SS_FAILED;
	s->close_reason = (uint8_t)reason;
	session_mark_dirty(s);
}

void session_transport_lost(struct sio_eio_socket *s, enum eio_close_reason reason)
{
	s->tr = NULL;
	session_fail(s, reason);
}

void session_close_written(struct sio_eio_socket *s)
{
	session_fail(s,
	             s->engine->stopping ? EIO_CLOSE_SERVER_SHUTTING_DOWN : EIO_CLOSE_FORCED_CLOSE);
}

/* Tears the session down: transport, probe, timers, table; runs the close
 * hook; queues the memory for freeing. */
static void session_finish(struct sio_eio_socket *s)
{
	struct eio_engine *e = s->engine;
	s->state = SS_CLOSED;
	timer_cancel(e->wheel, &s->ping_timer);
	close_cancel(s);
	queue_clear(&s->engine->pool, &s->out);
	if (s->tr) {
		/* as the reference: a held GET gets the close packet, or a noop
		 * when the client asked for the close */
		struct eio_transport *tr = s->tr;
		s->tr = NULL;
		tr->ops->close(tr, s->client_closed);
	}
	if (s->probe)
		upgrade_abort(s);
	engine_remove_session(e, s);
	engine_count_close(e, s->close_reason);
	if (e->hooks.ev.close)
		e->hooks.ev.close(s, eio_close_reason_name(s->close_reason), e->hooks.userdata);
	queue_clear(&s->engine->pool, &s->out);
	list_insert_tail(&e->reap, &s->dirty);
}

void session_free(struct sio_eio_socket *s)
{
	list_remove(&s->link);
	close_cancel(s);
	if (s->data && s->data->free_fn)
		s->data->free_fn(s->data->data);
	free(s->data);
	queue_free(&s->engine->pool, &s->out);
	free(s);
}

void session_process(struct sio_eio_socket *s)
{
	if (s->state == SS_FAILED)
		session_finish(s);
	else if (s->state != SS_CLOSED && s->tr)
		s->tr->ops->flush(s->tr);
}

/* ---- heartbeat ---------------------------------------------------------- */

static void pong_missing(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct sio_eio_socket, ping_timer);
	session_fail(s, EIO_CLOSE_PING_TIMEOUT);
}

/* v3: the client pings; it must within ping_interval + ping_timeout. */
static void client_ping_wait(struct sio_eio_socket *s)
{
	const struct sio_server_options *o = s->engine->opts;
	timer_arm(s->engine->wheel, &s->ping_timer,
		  now_ms() + (uint64_t)o->ping_interval + o->ping_timeout, pong_missing);
}

static void ping_due(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct sio_eio_socket, ping_timer);
	struct eio_engine *e = s->engine;
	if (queue_control(s, EIO_PING, NULL) < 0) {
		session_fail(s, EIO_CLOSE_TRANSPORT_ERROR);
		return;
	}
	s->awaiting_pong = true;
	s->refreshed = false;
	s->ping_sent = now_ms();
	timer_arm(e->wheel, &s->ping_timer, now_ms() + e->opts->ping_timeout, pong_missing);
}

/* ---- creation ----------------------------------------------------------- */

struct sio_eio_socket *session_alloc(const struct sio_request *req)
{
	struct sio_request *k = request_keep_with(req, SESSION_SIZE);
	if (!k)
		return NULL;
	struct sio_eio_socket *s = (struct sio_eio_socket *)((char *)k - SESSION_SIZE);
	memset(s, 0, sizeof(*s));
	return s;
}

void session_discard(struct sio_eio_socket *s)
{
	free(s);
}

struct sio_eio_socket *session_create(struct eio_engine *e, struct sio_eio_socket *s,
                                      struct eio_transport *tr)
{
	const struct sio_server_options *o = e->opts;
	if (!s || engine_reserve_session(e, s) < 0)
		goto fail;
	s->engine = e;
	s->state = SS_OPEN;
	s->protocol = (uint8_t)handshake_protocol(session_request(s));
	list_init(&s->dirty);

	char json[256];
	bool upgrades = tr->ops->kind == SIO_TRANSPORT_POLLING && o->allow_upgrades &&
			(o->transports & SIO_TRANSPORT_WEBSOCKET);
	if (eio_open_json(json, sizeof(json), s->sid, upgrades, o->ping_interval, o->ping_timeout,
			  o->max_http_buffer_size) < 0 ||
	    queue_control(s, EIO_OPEN, json) < 0)
		goto fail;

	s->tr = tr;
	s->transport = tr->ops->kind;
	tr->sess = s;
	engine_add_session(e, s);
	if (s->protocol == 3)
		client_ping_wait(s);
	else
		timer_arm(e->wheel, &s->ping_timer, now_ms() + o->ping_interval, ping_due);
	if (e->hooks.ev.connection)
		e->hooks.ev.connection(s, e->hooks.userdata);
	return s;
fail:
	if (s) {
		list_remove(&s->dirty);
		queue_free(&e->pool, &s->out);
		free(s);
	}
	return NULL;
}

/* ---- received packets --------------------------------------------------- */

void session_on_packet(struct sio_eio_socket *s, const struct eio_packet *p)
{
	struct eio_engine *e = s->engine;
	e->stats.packets_received++;
	if (s->state != SS_OPEN)
		return;
	if (s->protocol != 3 && s->awaiting_pong && !s->refreshed && p->type != EIO_PONG) {
		/* as the reference: another packet while waiting for the pong
		 * refreshes the ping timeout once */
		timer_arm(e->wheel, &s->ping_timer, now_ms() + e->opts->ping_timeout, pong_missing);
		s->refreshed = true;
	}
	switch (p->type) {
	case EIO_PING:
		/* v3: the client's heartbeat, answered; v4: the wrong direction */
		if (s->protocol != 3 || queue_control(s, EIO_PONG, NULL) < 0)
			session_fail(s, EIO_CLOSE_TRANSPORT_ERROR);
		else
			client_ping_wait(s);
		break;
	case EIO_PONG:
		if (s->protocol == 3)
			session_fail(s, EIO_CLOSE_TRANSPORT_ERROR); /* the wrong direction in v3 */
		else if (s->awaiting_pong) {
			s->awaiting_pong = false;
			timer_arm(e->wheel, &s->ping_timer, now_ms() + e->opts->ping_interval,
				  ping_due);
		}
		break;
	case EIO_MESSAGE:
		if (e->hooks.ev.message)
			e->hooks.ev.message(s, p->data, p->len, p->binary, e->hooks.userdata);
		break;
	case EIO_CLOSE:
		s->client_closed = true;
		session_fail(s, EIO_CLOSE_TRANSPORT_CLOSE);
		break;
	default:
		break; /* open, upgrade, noop: ignored as the reference does */
	}
}

/* ---- for the layer above ------------------------------------------------- */

void *eio_session_layer(const sio_eio_socket *s)
{
	return s->layer;
}

void eio_session_set_layer(sio_eio_socket *s, void *layer)
{
	s->layer = layer;
}

bool eio_session_open(const sio_eio_socket *s)
{
	return s->state == SS_OPEN;
}

int eio_session_protocol(const sio_eio_socket *s)
{
	return s->protocol;
}

/* Whether `n` more packets of `bytes` fit the queue limits. */
static bool room_for(const struct sio_eio_socket *s, size_t n, size_t bytes)
{
	const struct sio_server_options *o = s->engine->opts;
	return s->out.count + n <= o->max_queue_packets && s->out.bytes + bytes <= o->max_queue_bytes;
}

/* The queue is full: applies the queue_full policy; returns SIO_EFULL. */
static int queue_full(struct sio_eio_socket *s)
{
	s->engine->stats.queue_full++;
	if (s->engine->opts->queue_full == SIO_QUEUE_FULL_CLOSE)
		session_fail(s, EIO_CLOSE_QUEUE_FULL);
	return SIO_EFULL;
}

uint64_t eio_session_unanswered_ms(const sio_eio_socket *s)
{
	uint64_t now = now_ms();
	return s->awaiting_pong && now > s->ping_sent ? now - s->ping_sent : 0;
}

bool eio_session_writable(const sio_eio_socket *s)
{
	return s->state == SS_OPEN && !s->out.count && s->tr && s->tr->ops->ready(s->tr);
}

int eio_session_send(sio_eio_socket *s, struct outbuf **bufs, size_t n, bool is_volatile)
{
	if (s->state != SS_OPEN)
		return SIO_ECLOSED;
	if (is_volatile && !eio_session_writable(s)) {
		s->engine->stats.events_dropped++;
		return 0;
	}
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += bufs[i]->len;
	if (!room_for(s, n, bytes))
		return queue_full(s);
	for (size_t i = 0; i < n; i++) {
		if (queue_push(&s->engine->pool, &s->out, bufs[i]) < 0)
			return SIO_ENOMEM;
		outbuf_ref(bufs[i]);
	}
	session_mark_dirty(s);
	return 0;
}

/* ---- public API --------------------------------------------------------- */

SIO_API int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, bool binary)
{
	if (!s || (!data && len))
		return SIO_EINVAL;
	if (s->state != SS_OPEN)
		return SIO_ECLOSED;
	if (len > s->engine->opts->max_queue_bytes)
		return SIO_ETOOBIG;
	if (!room_for(s, 1, len))
		return queue_full(s);
	struct outbuf *ob = outbuf_new(&s->engine->pool, EIO_MESSAGE, binary, data, len);
	if (!ob || queue_push(&s->engine->pool, &s->out, ob) < 0) {
		outbuf_unref(ob);
		return SIO_ENOMEM;
	}
	session_mark_dirty(s);
	return 0;
}

static void close_expired(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct session_close, timer)->sess;
	close_cancel(s);
	session_fail(s,
	             s->engine->stopping ? EIO_CLOSE_SERVER_SHUTTING_DOWN : EIO_CLOSE_FORCED_CLOSE);
}

SIO_API void sio_eio_close(sio_eio_socket *s)
{
	if (!s || s->state != SS_OPEN)
		return;
	struct session_close *c = malloc(sizeof(*c));
	if (!c || queue_control(s, EIO_CLOSE, NULL) < 0) {
		free(c);
		session_fail(s, EIO_CLOSE_FORCED_CLOSE);
		return;
	}
	s->state = SS_CLOSING;
	c->sess = s;
	list_init(&c->timer.link);
	s->closing = c;
	timer_arm(s->engine->wheel, &c->timer, now_ms() + CLOSE_TIMEOUT_MS, close_expired);
}

SIO_API const char *sio_eio_id(const sio_eio_socket *s)
{
	return s ? s->sid : NULL;
}

SIO_API enum sio_transport sio_eio_transport(const sio_eio_socket *s)
{
	return session_transport(s);
}

SIO_API const struct sio_request *sio_eio_request(const sio_eio_socket *s)
{
	return s ? session_request(s) : NULL;
}

SIO_API size_t sio_eio_queued_bytes(const sio_eio_socket *s)
{
	return s ? s->out.bytes : 0;
}

SIO_API sio_server *sio_eio_server(const sio_eio_socket *s)
{
	return s ? s->engine->owner : NULL;
}

SIO_API void sio_eio_set_data(sio_eio_socket *s, void *data, void (*free_fn)(void *))
{
	if (!s)
		return;
	struct session_data *d = s->data;
	if (d && d->free_fn && d->data != data)
		d->free_fn(d->data);
	if (!d && !data && !free_fn)
		return;
	if (!d) {
		d = malloc(sizeof(*d));
		if (!d) {
			/* nowhere to keep it: as if the session were freed now */
			if (free_fn)
				free_fn(data);
			return;
		}
		s->data = d;
	}
	d->data = data;
	d->free_fn = free_fn;
}

SIO_API void *sio_eio_data(const sio_eio_socket *s)
{
	return s && s->data ? s->data->data : NULL;
}
