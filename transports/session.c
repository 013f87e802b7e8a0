/*
 * Engine.IO sessions: handshake, output queue, heartbeat, upgrade, close,
 * and the sio_eio_* API.
 */
#include "transports/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "protocol/eio_packet.h"
#include "server/sio.h"

#define CLOSE_TIMEOUT_MS 30000 /* the reference's polling closeTimeout */

/* ---- shared packets ---------------------------------------------------- */

struct outbuf *outbuf_new(enum eio_packet_type type, bool binary, const void *data, size_t len)
{
	if (len > SIZE_MAX - sizeof(struct outbuf) - OUTBUF_PRE - 1)
		return NULL;
	struct outbuf *o = malloc(sizeof(*o) + OUTBUF_PRE + 1 + len);
	if (!o)
		return NULL;
	o->refs = 1;
	o->type = (uint8_t)type;
	o->binary = binary;
	o->len = len;
	o->mem[OUTBUF_PRE] = (uint8_t)('0' + type);
	if (len)
		memcpy(outbuf_data(o), data, len);
	return o;
}

void outbuf_unref(struct outbuf *o)
{
	if (o && --o->refs == 0)
		free(o);
}

/* ---- ids and the session table ------------------------------------------ */

int make_sid(char out[21])
{
	uint8_t raw[15];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	char b64[21];
	eio_base64_encode(raw, sizeof(raw), b64);
	for (int i = 0; i < 20; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[20] = '\0';
	return 0;
}

static size_t sid_hash(const char *sid, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)sid[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static int table_grow(struct sio_server *srv)
{
	size_t n = srv->nbuckets ? srv->nbuckets * 2 : 256;
	struct sio_eio_socket **b = calloc(n, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < srv->nbuckets; i++) {
		struct sio_eio_socket *s = srv->buckets[i];
		while (s) {
			struct sio_eio_socket *next = s->hnext;
			size_t k = sid_hash(s->sid, 20) & (n - 1);
			s->hnext = b[k];
			b[k] = s;
			s = next;
		}
	}
	free(srv->buckets);
	srv->buckets = b;
	srv->nbuckets = n;
	return 0;
}

struct sio_eio_socket *session_find(struct sio_server *srv, const char *sid, size_t len)
{
	if (!srv->nbuckets || len != 20)
		return NULL;
	for (struct sio_eio_socket *s = srv->buckets[sid_hash(sid, len) & (srv->nbuckets - 1)]; s;
	     s = s->hnext)
		if (memcmp(s->sid, sid, 20) == 0)
			return s;
	return NULL;
}

static void table_remove(struct sio_server *srv, struct sio_eio_socket *s)
{
	struct sio_eio_socket **pp = &srv->buckets[sid_hash(s->sid, 20) & (srv->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			srv->nsessions--;
			return;
		}
	}
}

/* ---- output queue ------------------------------------------------------- */

static int ring_push(struct sio_eio_socket *s, struct outbuf *o)
{
	if (s->ring_count == s->ring_cap) {
		uint32_t ncap = s->ring_cap ? s->ring_cap * 2 : 2;
		struct outbuf **r = malloc(ncap * sizeof(*r));
		if (!r)
			return -1;
		for (uint32_t i = 0; i < s->ring_count; i++)
			r[i] = s->ring[(s->ring_head + i) % s->ring_cap];
		free(s->ring);
		s->ring = r;
		s->ring_cap = ncap;
		s->ring_head = 0;
	}
	s->ring[(s->ring_head + s->ring_count) % s->ring_cap] = o;
	s->ring_count++;
	s->queued_bytes += o->len;
	return 0;
}

struct outbuf *session_pop(struct sio_eio_socket *s)
{
	if (!s->ring_count)
		return NULL;
	struct outbuf *o = s->ring[s->ring_head];
	s->ring_head = (s->ring_head + 1) % s->ring_cap;
	s->ring_count--;
	s->queued_bytes -= o->len;
	return o;
}

static void ring_clear(struct sio_eio_socket *s)
{
	struct outbuf *o;
	while ((o = session_pop(s)))
		outbuf_unref(o);
}

/* Queues a packet of our own (open, ping, close...): not bounded by the
 * queue limits. Returns 0 or -1. */
static int queue_control(struct sio_eio_socket *s, enum eio_packet_type type, const char *data)
{
	struct outbuf *o = outbuf_new(type, false, data, data ? strlen(data) : 0);
	if (!o || ring_push(s, o) < 0) {
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
	list_insert_tail(&s->srv->dirty, &s->dirty);
}

void session_fail(struct sio_eio_socket *s, const char *reason)
{
	if (s->state == SS_FAILED || s->state == SS_CLOSED)
		return;
	s->state = SS_FAILED;
	s->close_reason = reason;
	session_mark_dirty(s);
}

void session_close_written(struct sio_eio_socket *s)
{
	s->close_queued = false;
	session_fail(s, s->srv->stopping ? "server shutting down" : "forced close");
}

/* Ends an upgrade attempt: the probe is detached and closed, and its timer
 * (the upgrade timeout until now) is ws.c's again, for the close. */
static void probe_drop(struct sio_eio_socket *s)
{
	struct ws_conn *w = s->probe;
	s->probe = NULL;
	s->upgrading = false;
	ws_detach(w);
	ws_close(w, 1000);
}

/* Tears the session down: transports, timers, table; runs the close
 * callback; queues the memory for freeing. */
static void session_finish(struct sio_eio_socket *s)
{
	struct sio_server *srv = s->srv;
	s->state = SS_CLOSED;
	timer_cancel(&srv->wheel, &s->ping_timer);
	timer_cancel(&srv->wheel, &s->close_timer);
	ring_clear(s);
	if (s->poll) {
		/* as the reference: a held GET gets the close packet */
		struct outbuf *o = outbuf_new(EIO_CLOSE, false, NULL, 0);
		if (o && ring_push(s, o) == 0)
			front_poll_respond(s->poll, s, false);
		else
			outbuf_unref(o);
		if (s->poll)
			front_detach(s->poll);
		s->poll = NULL;
	}
	if (s->post) {
		front_detach(s->post);
		s->post = NULL;
	}
	if (s->ws) {
		struct ws_conn *w = s->ws;
		s->ws = NULL;
		ws_detach(w);
		ws_close(w, 1000);
	}
	if (s->probe)
		probe_drop(s);
	table_remove(srv, s);
	if (srv->eio_events.close)
		srv->eio_events.close(s, s->close_reason, srv->eio_userdata);
	ring_clear(s);
	list_insert_tail(&srv->reap, &s->dirty);
}

static void session_free(struct sio_eio_socket *s)
{
	list_remove(&s->link);
	if (s->data_free)
		s->data_free(s->data);
	request_release(s->req);
	free(s->ring);
	free(s);
}

/* Hands queued output to the transport in use. */
static void session_flush(struct sio_eio_socket *s)
{
	if (s->state == SS_FAILED) {
		session_finish(s);
		return;
	}
	if (s->state == SS_CLOSED)
		return;
	if (s->transport == SIO_TRANSPORT_POLLING) {
		if (s->poll && s->ring_count)
			front_poll_respond(s->poll, s, false);
		else if (s->poll && s->upgrading)
			front_poll_respond(s->poll, s, true);
	} else if (s->ws && s->ring_count) {
		ws_flush(s->ws);
	}
}

void sessions_process(struct sio_server *srv)
{
	if (srv->depth > 0)
		return;
	srv->depth++; /* callbacks run from here must not recurse into this */
	for (;;) {
		if (srv->sio_layer)
			sio_process_deferred(srv); /* may queue packets: before the flush */
		if (list_empty(&srv->dirty))
			break;
		while (!list_empty(&srv->dirty)) {
			struct sio_eio_socket *s =
				container_of(srv->dirty.next, struct sio_eio_socket, dirty);
			list_remove(&s->dirty);
			session_flush(s);
		}
	}
	while (!list_empty(&srv->reap)) {
		struct sio_eio_socket *s = container_of(srv->reap.next, struct sio_eio_socket, dirty);
		list_remove(&s->dirty);
		session_free(s);
	}
	if (srv->sio_layer)
		sio_reap_sockets(srv);
	srv->depth--;
}

void sessions_close_all(struct sio_server *srv, const char *reason)
{
	for (struct list *n = srv->sessions.next; n != &srv->sessions; n = n->next) {
		struct sio_eio_socket *s = container_of(n, struct sio_eio_socket, link);
		session_fail(s, reason);
	}
	sessions_process(srv);
}

/* ---- heartbeat ---------------------------------------------------------- */

static void pong_missing(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct sio_eio_socket, ping_timer);
	session_fail(s, "ping timeout");
}

static void ping_due(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct sio_eio_socket, ping_timer);
	struct sio_server *srv = s->srv;
	if (queue_control(s, EIO_PING, NULL) < 0) {
		session_fail(s, "transport error");
		return;
	}
	s->awaiting_pong = true;
	s->refreshed = false;
	timer_arm(&srv->wheel, &s->ping_timer, now_ms() + srv->opts.ping_timeout, pong_missing);
}

/* ---- creation ----------------------------------------------------------- */

struct sio_eio_socket *session_create(struct sio_server *srv, struct sio_request *req,
				      enum sio_transport transport)
{
	struct sio_eio_socket *s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->srv = srv;
	s->req = req;
	s->transport = transport;
	s->state = SS_OPEN;
	list_init(&s->dirty);
	do {
		if (make_sid(s->sid) < 0)
			goto fail;
	} while (session_find(srv, s->sid, 20));
	if (srv->nsessions + 1 > srv->nbuckets && table_grow(srv) < 0)
		goto fail;

	char json[256];
	bool upgrades = transport == SIO_TRANSPORT_POLLING && srv->opts.allow_upgrades &&
			(srv->opts.transports & SIO_TRANSPORT_WEBSOCKET);
	if (eio_open_json(json, sizeof(json), s->sid, upgrades, srv->opts.ping_interval,
			  srv->opts.ping_timeout, srv->opts.max_http_buffer_size) < 0)
		goto fail;
	struct outbuf *o = outbuf_new(EIO_OPEN, false, json, strlen(json));
	if (!o || ring_push(s, o) < 0) {
		outbuf_unref(o);
		goto fail;
	}

	size_t k = sid_hash(s->sid, 20) & (srv->nbuckets - 1);
	s->hnext = srv->buckets[k];
	srv->buckets[k] = s;
	srv->nsessions++;
	list_insert_tail(&srv->sessions, &s->link);
	timer_arm(&srv->wheel, &s->ping_timer, now_ms() + srv->opts.ping_interval, ping_due);
	session_mark_dirty(s);
	if (srv->eio_events.connection)
		srv->eio_events.connection(s, srv->eio_userdata);
	return s;
fail:
	if (s) {
		ring_clear(s);
		free(s->ring);
		free(s);
	}
	request_release(req);
	return NULL;
}

/* ---- received packets --------------------------------------------------- */

void session_on_packet(struct sio_eio_socket *s, const struct eio_packet *p)
{
	struct sio_server *srv = s->srv;
	if (s->state != SS_OPEN)
		return;
	if (s->awaiting_pong && !s->refreshed && p->type != EIO_PONG) {
		/* as the reference: another packet while waiting for the pong
		 * refreshes the ping timeout once */
		timer_arm(&srv->wheel, &s->ping_timer, now_ms() + srv->opts.ping_timeout,
			  pong_missing);
		s->refreshed = true;
	}
	switch (p->type) {
	case EIO_PING:
		session_fail(s, "transport error"); /* invalid heartbeat direction in v4 */
		break;
	case EIO_PONG:
		if (s->awaiting_pong) {
			s->awaiting_pong = false;
			timer_arm(&srv->wheel, &s->ping_timer, now_ms() + srv->opts.ping_interval,
				  ping_due);
		}
		break;
	case EIO_MESSAGE:
		if (srv->eio_events.message)
			srv->eio_events.message(s, p->data, p->len, p->binary, srv->eio_userdata);
		break;
	case EIO_CLOSE:
		session_fail(s, "transport close");
		break;
	default:
		break; /* open, upgrade, noop: ignored as the reference does */
	}
}

void session_poll_attach(struct sio_eio_socket *s, struct front_conn *c)
{
	s->poll = c;
	session_mark_dirty(s);
}

/* ---- websocket transport and upgrade ------------------------------------ */

static void upgrade_expired(struct timer *t)
{
	probe_drop(container_of(t, struct ws_conn, timer)->sess);
}

void session_ws_established(struct sio_server *srv, struct ws_conn *w, const char *sid,
			    struct sio_request *req)
{
	struct ws_conn *v = w;
	if (sid) {
		struct sio_eio_socket *s = session_find(srv, sid, strlen(sid));
		if (!s || s->state != SS_OPEN || s->probe ||
		    s->transport != SIO_TRANSPORT_POLLING) {
			ws_close(w, 1000);
			return;
		}
		s->probe = w;
		v->sess = s;
		timer_arm(&srv->wheel, &w->timer, now_ms() + srv->opts.upgrade_timeout,
			  upgrade_expired);
		return;
	}
	struct sio_eio_socket *s = session_create(srv, req, SIO_TRANSPORT_WEBSOCKET);
	if (!s) {
		ws_close(w, 1011);
		return;
	}
	s->ws = w;
	v->sess = s;
}

static void upgrade_complete(struct sio_eio_socket *s, struct ws_conn *w)
{
	struct sio_server *srv = s->srv;
	timer_cancel(&srv->wheel, &w->timer);
	s->probe = NULL;
	s->ws = w;
	s->upgrading = false;
	s->transport = SIO_TRANSPORT_WEBSOCKET;
	if (s->poll) {
		/* release a GET still held: the client has paused polling */
		front_poll_respond(s->poll, s, true);
	}
	if (srv->eio_events.upgrade)
		srv->eio_events.upgrade(s, srv->eio_userdata);
	session_mark_dirty(s);
}

void session_ws_message(struct ws_conn *w, const uint8_t *data, size_t len, bool binary)
{
	struct ws_conn *v = w;
	struct sio_eio_socket *s = v->sess;
	if (!s)
		return;
	struct eio_packet p;
	if (binary) {
		p = (struct eio_packet){.type = EIO_MESSAGE, .binary = true, .data = data, .len = len};
	} else if (eio_packet_decode((uint8_t *)data, len, &p) != EIO_DECODE_OK) {
		if (w == s->probe)
			goto drop_probe;
		session_fail(s, "parse error");
		return;
	}
	if (w != s->probe) {
		session_on_packet(s, &p);
		return;
	}
	if (s->state != SS_OPEN && s->state != SS_CLOSING)
		goto drop_probe;
	if (p.type == EIO_PING && p.len == 5 && memcmp(p.data, "probe", 5) == 0) {
		v->probe_pong = true;
		ws_request_write(w);
		s->upgrading = true;
		session_mark_dirty(s); /* answers a held GET with a noop */
		return;
	}
	if (p.type == EIO_UPGRADE && s->upgrading) {
		upgrade_complete(s, w);
		return;
	}
drop_probe:
	/* anything else on a probe aborts the upgrade, as the reference */
	probe_drop(s);
}

void session_ws_closed(struct ws_conn *w)
{
	struct ws_conn *v = w;
	struct sio_eio_socket *s = v->sess;
	if (!s)
		return;
	v->sess = NULL;
	if (s->probe == w) {
		/* w's timer is ws.c's again: cancelled, or timing w's close */
		s->probe = NULL;
		s->upgrading = false;
		session_mark_dirty(s);
	} else if (s->ws == w) {
		s->ws = NULL;
		session_fail(s, "transport close");
	}
}

/* ---- public API --------------------------------------------------------- */

SIO_API int sio_eio_set_events(sio_server *srv, const struct sio_eio_events *events,
			       void *userdata)
{
	if (!srv || !events || events->version != SIO_EIO_EVENTS_VERSION)
		return SIO_EINVAL;
	srv->eio_events = *events;
	srv->eio_userdata = userdata;
	srv->sio_layer = false;
	return 0;
}

bool session_room_for(const struct sio_eio_socket *s, size_t n, size_t bytes)
{
	const struct sio_server_options *o = &s->srv->opts;
	return s->ring_count + n <= o->max_queue_packets &&
	       s->queued_bytes + bytes <= o->max_queue_bytes;
}

int session_full(struct sio_eio_socket *s)
{
	if (s->srv->opts.queue_full == SIO_QUEUE_FULL_CLOSE)
		session_fail(s, "queue full");
	return SIO_EFULL;
}

bool session_writable(const struct sio_eio_socket *s)
{
	if (s->state != SS_OPEN || s->ring_count)
		return false;
	return s->transport == SIO_TRANSPORT_POLLING ? s->poll != NULL : s->ws != NULL;
}

int session_send_outbufs(struct sio_eio_socket *s, struct outbuf **bufs, size_t n,
			 bool is_volatile)
{
	if (s->state != SS_OPEN)
		return SIO_ECLOSED;
	if (is_volatile && !session_writable(s))
		return 0;
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += bufs[i]->len;
	if (!session_room_for(s, n, bytes))
		return session_full(s);
	for (size_t i = 0; i < n; i++) {
		if (ring_push(s, bufs[i]) < 0)
			return SIO_ENOMEM;
		bufs[i]->refs++;
	}
	session_mark_dirty(s);
	return 0;
}

SIO_API int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, bool binary)
{
	if (!s || (!data && len))
		return SIO_EINVAL;
	if (s->state != SS_OPEN)
		return SIO_ECLOSED;
	if (len > s->srv->opts.max_queue_bytes)
		return SIO_ETOOBIG;
	if (!session_room_for(s, 1, len))
		return session_full(s);
	struct outbuf *ob = outbuf_new(EIO_MESSAGE, binary, data, len);
	if (!ob || ring_push(s, ob) < 0) {
		outbuf_unref(ob);
		return SIO_ENOMEM;
	}
	session_mark_dirty(s);
	return 0;
}

static void close_expired(struct timer *t)
{
	struct sio_eio_socket *s = container_of(t, struct sio_eio_socket, close_timer);
	session_fail(s, s->srv->stopping ? "server shutting down" : "forced close");
}

SIO_API void sio_eio_close(sio_eio_socket *s)
{
	if (!s || s->state != SS_OPEN)
		return;
	s->state = SS_CLOSING;
	if (queue_control(s, EIO_CLOSE, NULL) < 0) {
		s->state = SS_OPEN;
		session_fail(s, "forced close");
		return;
	}
	s->close_queued = true;
	timer_arm(&s->srv->wheel, &s->close_timer, now_ms() + CLOSE_TIMEOUT_MS, close_expired);
}

SIO_API const char *sio_eio_id(const sio_eio_socket *s)
{
	return s ? s->sid : NULL;
}

SIO_API enum sio_transport sio_eio_transport(const sio_eio_socket *s)
{
	return s->transport;
}

SIO_API const struct sio_request *sio_eio_request(const sio_eio_socket *s)
{
	return s ? s->req : NULL;
}

SIO_API size_t sio_eio_queued_bytes(const sio_eio_socket *s)
{
	return s ? s->queued_bytes : 0;
}

SIO_API sio_server *sio_eio_server(const sio_eio_socket *s)
{
	return s ? s->srv : NULL;
}

SIO_API void sio_eio_set_data(sio_eio_socket *s, void *data, void (*free_fn)(void *))
{
	if (!s)
		return;
	if (s->data_free && s->data != data)
		s->data_free(s->data);
	s->data = data;
	s->data_free = free_fn;
}

SIO_API void *sio_eio_data(const sio_eio_socket *s)
{
	return s ? s->data : NULL;
}

SIO_API size_t sio_server_clients_count(const sio_server *srv)
{
	return srv ? srv->nsessions : 0;
}
