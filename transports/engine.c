/*
 * The engine object: the session table, the caps it enforces (connections
 * per address, pending handshakes), the deferred work (flushes and
 * closes run when no callback is on the stack), and the engine's part of
 * a stop.
 */
#include "transports/engine.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/id.h"
#include "base/log.h"

struct ip_count {
	struct ip_count *next;
	uint32_t n;
	char addr[];
};

static void pool_trim_due(struct timer *t)
{
	struct eio_engine *e = container_of(t, struct eio_engine, pool_timer);
	pool_trim(&e->pool);
	timer_arm(e->wheel, &e->pool_timer, now_ms() + POOL_TRIM_MS, pool_trim_due);
}

struct eio_engine *eio_engine_create(const struct sio_server_options *opts,
                                     struct timer_wheel *wheel, sio_server *owner)
{
	struct eio_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->opts = opts;
	e->path_len = strlen(opts->path);
	e->wheel = wheel;
	e->owner = owner;
	list_init(&e->sessions);
	list_init(&e->dirty);
	list_init(&e->reap);
	pool_init(&e->pool, POOL_IDLE_MAX);
	timer_arm(wheel, &e->pool_timer, now_ms() + POOL_TRIM_MS, pool_trim_due);
	return e;
}

void eio_engine_destroy(struct eio_engine *e)
{
	if (!e)
		return;
	eio_engine_close_all(e, EIO_CLOSE_SERVER_SHUTTING_DOWN);
	timer_cancel(e->wheel, &e->pool_timer);
	pool_finish(&e->pool);
	tls_shared_free(&e->tls);
	free(e->buckets);
	for (size_t i = 0; i < IP_BUCKETS; i++) {
		while (e->ips[i]) {
			struct ip_count *c = e->ips[i];
			e->ips[i] = c->next;
			free(c);
		}
	}
	free(e);
}

void eio_engine_set_hooks(struct eio_engine *e, const struct eio_hooks *hooks)
{
	e->hooks = *hooks;
}

void eio_engine_on_wakeup(struct eio_engine *e, void (*fn)(void *userdata), void *userdata)
{
	e->wakeup = fn;
	e->wakeup_userdata = userdata;
}

void eio_engine_set_static_mount(struct eio_engine *e, const struct static_mount *mount)
{
	e->mount = mount;
}

void eio_engine_count_pending(struct eio_engine *e, bool on)
{
	e->count_pending = on;
}

void eio_engine_set_in_loop(struct eio_engine *e, bool in_loop)
{
	e->in_loop = in_loop;
}

size_t eio_engine_sessions(const struct eio_engine *e)
{
	return e->nsessions;
}

struct pool *eio_engine_pool(struct eio_engine *e)
{
	return &e->pool;
}

bool eio_engine_idle(const struct eio_engine *e)
{
	return e->nsessions == 0 && e->pending_out == 0;
}

/* ---- the session table ------------------------------------------------- */

#define SID_HASH(s) hash_bytes((s)->sid, ID_LEN)

struct sio_eio_socket *session_find(struct eio_engine *e, const char *sid, size_t len)
{
	if (!e->nbuckets || len != ID_LEN)
		return NULL;
	size_t k = (size_t)hash_bytes(sid, len) & (e->nbuckets - 1);
	for (struct sio_eio_socket *s = e->buckets[k]; s; s = s->hnext)
		if (memcmp(s->sid, sid, ID_LEN) == 0)
			return s;
	return NULL;
}

int engine_reserve_session(struct eio_engine *e, struct sio_eio_socket *s)
{
	do {
		if (id_random(s->sid) < 0)
			return -1;
	} while (session_find(e, s->sid, ID_LEN));
	HASH_TABLE_RESERVE(e->buckets, e->nbuckets, e->nsessions, 256, struct sio_eio_socket,
	                   SID_HASH, return -1);
	return 0;
}

void engine_add_session(struct eio_engine *e, struct sio_eio_socket *s)
{
	size_t k = (size_t)SID_HASH(s) & (e->nbuckets - 1);
	s->hnext = e->buckets[k];
	e->buckets[k] = s;
	e->nsessions++;
	e->stats.connections++;
	list_insert_tail(&e->sessions, &s->link);
	if (e->count_pending) {
		s->pending = true;
		e->npending++;
	}
}

void engine_remove_session(struct eio_engine *e, struct sio_eio_socket *s)
{
	struct sio_eio_socket **pp = &e->buckets[(size_t)SID_HASH(s) & (e->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			e->nsessions--;
			break;
		}
	}
	eio_session_settle(s);
}

void eio_session_settle(sio_eio_socket *s)
{
	if (s->pending) {
		s->pending = false;
		s->engine->npending--;
	}
}

bool engine_accepts_handshake(const struct eio_engine *e)
{
	uint32_t cap = e->opts->max_pending_handshakes;
	return !e->stopping && !(e->count_pending && cap && e->npending >= cap);
}

/* ---- connections per address ------------------------------------------ */

static struct ip_count **ip_slot(struct eio_engine *e, const char *addr)
{
	struct ip_count **pp = &e->ips[hash_str(addr) % IP_BUCKETS];
	while (*pp && strcmp((*pp)->addr, addr) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct ip_count *engine_ip_acquire(struct eio_engine *e, const char *addr)
{
	uint32_t cap = e->opts->max_connections_per_ip;
	struct ip_count **pp = ip_slot(e, addr);
	if (!*pp) {
		size_t len = strlen(addr) + 1;
		struct ip_count *c = calloc(1, sizeof(*c) + len);
		if (!c)
			return NULL;
		memcpy(c->addr, addr, len);
		*pp = c;
	}
	struct ip_count *c = *pp;
	if (c->n >= cap) {
		if (c->n == 0) {
			*pp = c->next;
			free(c);
		}
		return NULL;
	}
	c->n++;
	return c;
}

void engine_ip_release(struct eio_engine *e, struct ip_count *c)
{
	if (--c->n > 0)
		return;
	struct ip_count **pp = ip_slot(e, c->addr);
	*pp = c->next;
	free(c);
}

const char *ip_count_addr(const struct ip_count *c)
{
	return c->addr;
}

/* ---- statistics and refusals ------------------------------------------- */

static const char *const refusal_names[EIO_REFUSED_COUNT] = {
        [EIO_REFUSED_PER_ADDRESS_CAP] = "per_address_cap",
        [EIO_REFUSED_PENDING_CAP] = "pending_cap",
        [EIO_REFUSED_SHUTTING_DOWN] = "shutting_down",
        [EIO_REFUSED_UNKNOWN_TRANSPORT] = "unknown_transport",
        [EIO_REFUSED_UNKNOWN_SID] = "unknown_sid",
        [EIO_REFUSED_BAD_HANDSHAKE_METHOD] = "bad_handshake_method",
        [EIO_REFUSED_BAD_REQUEST] = "bad_request",
        [EIO_REFUSED_BAD_ORIGIN] = "bad_origin",
        [EIO_REFUSED_FORBIDDEN] = "forbidden",
        [EIO_REFUSED_UNSUPPORTED_VERSION] = "unsupported_version",
        [EIO_REFUSED_HTTP_ERROR] = "http_error",
        [EIO_REFUSED_TIMEOUT] = "timeout",
        [EIO_REFUSED_UNAUTHORIZED] = "unauthorized",
        [EIO_REFUSED_TLS] = "tls",
};

/* The log's event names: string literals, one per cause. */
static const char *const refusal_events[EIO_REFUSED_COUNT] = {
        [EIO_REFUSED_PER_ADDRESS_CAP] = "refused.per_address_cap",
        [EIO_REFUSED_PENDING_CAP] = "refused.pending_cap",
        [EIO_REFUSED_SHUTTING_DOWN] = "refused.shutting_down",
        [EIO_REFUSED_UNKNOWN_TRANSPORT] = "refused.unknown_transport",
        [EIO_REFUSED_UNKNOWN_SID] = "refused.unknown_sid",
        [EIO_REFUSED_BAD_HANDSHAKE_METHOD] = "refused.bad_handshake_method",
        [EIO_REFUSED_BAD_REQUEST] = "refused.bad_request",
        [EIO_REFUSED_BAD_ORIGIN] = "refused.bad_origin",
        [EIO_REFUSED_FORBIDDEN] = "refused.forbidden",
        [EIO_REFUSED_UNSUPPORTED_VERSION] = "refused.unsupported_version",
        [EIO_REFUSED_HTTP_ERROR] = "refused.http_error",
        [EIO_REFUSED_TIMEOUT] = "refused.timeout",
        [EIO_REFUSED_UNAUTHORIZED] = "refused.unauthorized",
        [EIO_REFUSED_TLS] = "refused.tls",
};

static const char *const close_names[EIO_CLOSE_COUNT] = {
        [EIO_CLOSE_TRANSPORT_CLOSE] = "transport close",
        [EIO_CLOSE_TRANSPORT_ERROR] = "transport error",
        [EIO_CLOSE_PING_TIMEOUT] = "ping timeout",
        [EIO_CLOSE_PARSE_ERROR] = "parse error",
        [EIO_CLOSE_FORCED_CLOSE] = "forced close",
        [EIO_CLOSE_QUEUE_FULL] = "queue full",
        [EIO_CLOSE_SERVER_SHUTTING_DOWN] = "server shutting down",
};

const char *eio_refusal_name(enum eio_refusal cause)
{
	return cause < EIO_REFUSED_COUNT ? refusal_names[cause] : "unknown";
}

const char *eio_close_reason_name(enum eio_close_reason reason)
{
	return reason < EIO_CLOSE_COUNT ? close_names[reason] : "unknown";
}

void engine_count_close(struct eio_engine *e, enum eio_close_reason reason)
{
	e->stats.disconnections[reason < EIO_CLOSE_COUNT ? reason : EIO_CLOSE_TRANSPORT_ERROR]++;
}

void engine_refuse(struct eio_engine *e, enum eio_refusal cause, const struct sio_request *req,
                   const char *addr, const char *detail)
{
	e->stats.refused[cause]++;
	if (!log_enabled(e->log, SIO_LOG_INFO))
		return;
	if (!addr)
		addr = req ? sio_request_address(req) : "";
	if (req)
		log_msg(e->log, SIO_LOG_INFO, refusal_events[cause], "%s %s %.200s: %s", addr,
		        sio_request_method(req), sio_request_url(req),
		        detail ? detail : refusal_names[cause]);
	else
		log_msg(e->log, SIO_LOG_INFO, refusal_events[cause], "%s: %s", addr,
		        detail ? detail : refusal_names[cause]);
}

void eio_engine_stats(const struct eio_engine *e, struct eio_stats *out)
{
	*out = e->stats;
	out->clients = e->nsessions;
	out->clients_polling = out->clients_websocket = out->queued_bytes = 0;
	for (struct list *n = e->sessions.next; n != &e->sessions; n = n->next) {
		const struct sio_eio_socket *s = container_of(n, struct sio_eio_socket, link);
		if (!session_alive(s))
			continue;
		if (s->transport == SIO_TRANSPORT_WEBSOCKET)
			out->clients_websocket++;
		else
			out->clients_polling++;
		out->queued_bytes += s->out.bytes;
	}
}

void eio_engine_set_log(struct eio_engine *e, struct log *log)
{
	e->log = log;
}

void eio_engine_set_tls(struct eio_engine *e, struct ssl_ctx_st *ctx)
{
	e->tls_ctx = ctx;
}

void eio_engine_set_proxies(struct eio_engine *e, const struct ip_net *nets, size_t n)
{
	e->proxies = nets;
	e->nproxies = n;
}

void eio_engine_on_metrics(struct eio_engine *e, int (*render)(struct buf *out, void *userdata),
                           void *userdata)
{
	e->render_metrics = render;
	e->metrics_userdata = userdata;
}

void engine_count_out(struct eio_engine *e, bool *counted, bool has)
{
	if (has && !*counted)
		e->pending_out++;
	else if (!has && *counted)
		e->pending_out--;
	*counted = has;
}

/* ---- deferred work ----------------------------------------------------- */

void eio_engine_enter(struct eio_engine *e)
{
	e->depth++;
}

void eio_engine_leave(struct eio_engine *e)
{
	/* Outside the loop (listen, destroy) work is done at once; inside it,
	 * eio_engine_process() does it once per loop turn. */
	if (--e->depth == 0 && !e->in_loop)
		eio_engine_process(e);
}

void eio_engine_process(struct eio_engine *e)
{
	if (e->depth > 0)
		return;
	e->depth++; /* callbacks run from here must not recurse into this */
	for (;;) {
		if (e->hooks.before_flush)
			e->hooks.before_flush(e->hooks.userdata); /* may queue packets */
		if (list_empty(&e->dirty))
			break;
		while (!list_empty(&e->dirty)) {
			struct sio_eio_socket *s =
			        container_of(e->dirty.next, struct sio_eio_socket, dirty);
			list_remove(&s->dirty);
			session_process(s);
		}
	}
	while (!list_empty(&e->reap)) {
		struct sio_eio_socket *s = container_of(e->reap.next, struct sio_eio_socket, dirty);
		list_remove(&s->dirty);
		session_free(s);
	}
	if (e->hooks.after_reap)
		e->hooks.after_reap(e->hooks.userdata);
	e->depth--;
}

void eio_engine_stop(struct eio_engine *e)
{
	e->stopping = true;
	for (struct list *n = e->sessions.next; n != &e->sessions; n = n->next)
		sio_eio_close(container_of(n, struct sio_eio_socket, link));
}

void eio_engine_close_all(struct eio_engine *e, enum eio_close_reason reason)
{
	for (struct list *n = e->sessions.next; n != &e->sessions; n = n->next)
		session_fail(container_of(n, struct sio_eio_socket, link), reason);
	eio_engine_process(e);
}
