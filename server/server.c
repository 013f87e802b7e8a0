/*
 * The server: options, the lws context on a libev loop, the front and ws
 * vhosts, the one-shot tick that drives the timing wheel, stop and
 * destroy.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/sio.h"
#include "transports/callbacks.h"
#include "transports/engine.h"

/* While stopping, how often the tick checks whether the drain is over. */
#define STOP_CHECK_MS 20
/* The longest the tick is set for, in seconds: a deadline further away is
 * re-read then. */
#define TICK_MAX_S 86400.

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void tick_update(struct sio_server *srv);
static void tick_earlier(struct timer_wheel *w, uint64_t at);

SIO_API const char *sio_strerror(int err)
{
	switch (err) {
	case SIO_OK: return "success";
	case SIO_EINVAL: return "invalid argument";
	case SIO_ENOMEM: return "out of memory";
	case SIO_ECLOSED: return "connection closed";
	case SIO_EFULL: return "output queue full";
	case SIO_ELISTEN: return "cannot listen";
	case SIO_ESTATE: return "invalid state for this call";
	case SIO_EEVLIB: return "event library unavailable (install libwebsockets-evlib-ev)";
	case SIO_ETOOBIG: return "message too large";
	case SIO_ETIMEDOUT: return "operation has timed out";
	case SIO_ERESERVED: return "reserved event name";
	case SIO_ENOTFOUND: return "not found";
	default: return "unknown error";
	}
}

SIO_API void sio_server_options_init(struct sio_server_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->path = "/socket.io/";
	o->ping_interval = 25000;
	o->ping_timeout = 20000;
	o->upgrade_timeout = 10000;
	o->max_http_buffer_size = 1000000;
	o->transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
	o->allow_upgrades = true;
	o->cors.max_age = -1;
	o->max_queue_bytes = 8u << 20;
	o->max_queue_packets = 8192;
	o->queue_full = SIO_QUEUE_FULL_CLOSE;
	o->connect_timeout = 45000;
	o->max_attachments = 10;
	o->serve_client = true;
	o->keep_alive_timeout = 5000;
	o->headers_timeout = 60000;
	o->body_timeout = 30000;
	o->max_header_size = 16384;
	o->max_connections_per_ip = 1000;
	o->max_pending_handshakes = 8192;
	o->max_namespaces_per_client = 64;
	o->max_rooms_per_socket = 1024;
	o->max_pending_acks = 1024;
	o->max_events_per_second = 0;
	o->shutdown_timeout = 5000;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void options_free(struct sio_server *srv)
{
	free(srv->path);
	if (srv->cors_origins) {
		for (char **o = srv->cors_origins; *o; o++)
			free(*o);
		free(srv->cors_origins);
	}
	free(srv->cors_methods);
	free(srv->cors_allowed_headers);
	free(srv->cors_exposed_headers);
	free(srv->static_dir);
}

/* Copies the options, owning every string. Returns 0 or an SIO_E* code. */
static int options_copy(struct sio_server *srv, const struct sio_server_options *in)
{
	struct sio_server_options *o = &srv->opts;
	*o = *in;
	if (!o->transports || (o->transports & ~3u) || !o->ping_interval || !o->ping_timeout ||
	    !o->max_http_buffer_size || !o->max_queue_packets || !o->max_queue_bytes ||
	    !o->max_header_size)
		return SIO_EINVAL;
	const char *p = in->path ? in->path : "/socket.io";
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	srv->path = malloc(n + 2);
	if (!srv->path)
		return SIO_ENOMEM;
	memcpy(srv->path, p, n);
	srv->path[n] = '/';
	srv->path[n + 1] = '\0';
	srv->path_len = n + 1;
	o->path = srv->path;

	if (in->cors.origins) {
		size_t k = 0;
		while (in->cors.origins[k])
			k++;
		srv->cors_origins = calloc(k + 1, sizeof(char *));
		if (!srv->cors_origins)
			return SIO_ENOMEM;
		for (size_t i = 0; i < k; i++)
			if (!(srv->cors_origins[i] = strdup(in->cors.origins[i])))
				return SIO_ENOMEM;
	}
	srv->cors_methods = strdup(in->cors.methods ? in->cors.methods
						    : "GET,HEAD,PUT,PATCH,POST,DELETE");
	srv->cors_allowed_headers = dup_or_null(in->cors.allowed_headers);
	srv->cors_exposed_headers = dup_or_null(in->cors.exposed_headers);
	if (!srv->cors_methods || (in->cors.allowed_headers && !srv->cors_allowed_headers) ||
	    (in->cors.exposed_headers && !srv->cors_exposed_headers))
		return SIO_ENOMEM;
	o->cors.origins = (const char *const *)srv->cors_origins;
	o->cors.methods = srv->cors_methods;
	o->cors.allowed_headers = srv->cors_allowed_headers;
	o->cors.exposed_headers = srv->cors_exposed_headers;
	if (in->static_dir && !(srv->static_dir = strdup(in->static_dir)))
		return SIO_ENOMEM;
	o->static_dir = srv->static_dir;
	return 0;
}

SIO_API sio_server *sio_server_create(const struct sio_server_options *opts, int *err)
{
	struct sio_server_options defaults;
	if (!opts) {
		sio_server_options_init(&defaults);
		opts = &defaults;
	}
	int rc = SIO_ENOMEM;
	struct sio_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		goto fail;
	srv->port = -1;
	list_init(&srv->sessions);
	list_init(&srv->dirty);
	list_init(&srv->reap);
	list_init(&srv->namespaces);
	list_init(&srv->parents);
	list_init(&srv->sio_deferred);
	list_init(&srv->sio_reap);
	list_init(&srv->nsp_cleanup);
	list_init(&srv->timers);
	list_init(&srv->calls);
	pthread_mutex_init(&srv->calls_lock, NULL);
	timer_wheel_init(&srv->wheel, now_ms());
	timer_wheel_set_hook(&srv->wheel, tick_earlier);
	ev_timer_init(&srv->tick, tick_cb, 0., 0.);
	srv->tick.data = srv;
	srv->tick_at = UINT64_MAX;
	rc = options_copy(srv, opts);
	if (rc)
		goto fail;
	sio_layer_install(srv);
	if (err)
		*err = 0;
	return srv;
fail:
	if (srv) {
		options_free(srv);
		pthread_mutex_destroy(&srv->calls_lock);
		free(srv);
	}
	if (err)
		*err = rc;
	return NULL;
}

/* ---- connections per address ------------------------------------------ */

struct ip_count {
	struct ip_count *next;
	uint32_t n;
	char addr[];
};

static struct ip_count **ip_slot(struct sio_server *srv, const char *addr)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = addr; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 1099511628211ull;
	}
	struct ip_count **pp = &srv->ips[h % IP_BUCKETS];
	while (*pp && strcmp((*pp)->addr, addr) != 0)
		pp = &(*pp)->next;
	return pp;
}

bool server_ip_acquire(struct sio_server *srv, const char *addr)
{
	uint32_t cap = srv->opts.max_connections_per_ip;
	struct ip_count **pp = ip_slot(srv, addr);
	if (!*pp) {
		size_t len = strlen(addr) + 1;
		struct ip_count *e = calloc(1, sizeof(*e) + len);
		if (!e)
			return false;
		memcpy(e->addr, addr, len);
		*pp = e;
	}
	if ((*pp)->n >= cap)
		return false;
	(*pp)->n++;
	return true;
}

void server_count_out(struct sio_server *srv, bool *counted, bool has)
{
	if (has && !*counted)
		srv->pending_out++;
	else if (!has && *counted)
		srv->pending_out--;
	*counted = has;
}

void server_ip_release(struct sio_server *srv, const char *addr)
{
	struct ip_count **pp = ip_slot(srv, addr);
	struct ip_count *e = *pp;
	if (e && --e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

void server_enter(struct sio_server *srv)
{
	srv->depth++;
}

void server_leave(struct sio_server *srv)
{
	/* Outside the loop (listen, destroy) work is done at once; inside it,
	 * the prepare watcher does it once per loop turn. */
	if (--srv->depth == 0 && !srv->in_loop)
		sessions_process(srv);
}

/* Runs when the loop has handled every ready event and is about to wait:
 * output queued by all of them is written now, one write per connection
 * (a read of six messages answers with one send, not six). */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sio_server *srv = w->data;
	sessions_process(srv);
}

/* Runs on the loop after sio_server_stop(): every socket is told
 * (DISCONNECT) and every session closed gracefully; the loop goes on until
 * that output is written or shutdown_timeout passes. */
static void server_check_stop(struct sio_server *srv)
{
	if (!srv->stop_requested)
		return;
	if (!srv->stopping) {
		srv->stopping = true;
		pthread_mutex_lock(&srv->calls_lock);
		srv->calls_closed = true;
		pthread_mutex_unlock(&srv->calls_lock);
		loop_drain_calls(srv); /* every call accepted before the stop runs */
		srv->shutdown_deadline = now_ms() + srv->opts.shutdown_timeout;
		if (srv->sio_layer)
			sio_layer_shutdown(srv);
		for (struct list *n = srv->sessions.next; n != &srv->sessions; n = n->next)
			sio_eio_close(container_of(n, struct sio_eio_socket, link));
		tick_update(srv); /* checks the drain from now on */
	}
	if ((srv->nsessions == 0 && srv->pending_out == 0) || now_ms() >= srv->shutdown_deadline) {
		sessions_close_all(srv, "server shutting down");
		ev_break(srv->loop, EVBREAK_ALL);
	}
}

void server_wakeup(struct sio_server *srv)
{
	server_enter(srv);
	if (!srv->stopping)
		loop_drain_calls(srv);
	server_check_stop(srv);
	server_leave(srv);
}

/*
 * The tick: one ev_timer set for the wheel's next deadline, moved earlier
 * by the wheel's hook. Not an lws_sul: lws 4.1's libev backend re-arms its
 * one ev_timer for its suls without stopping it, so a sul scheduled
 * earlier than the one lws waits for runs late (a periodic tick hid that,
 * to within its period).
 */
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sio_server *srv = w->data;
	srv->tick_at = UINT64_MAX;
	server_enter(srv);
	timer_wheel_advance(&srv->wheel, now_ms());
	server_check_stop(srv);
	server_leave(srv);
	tick_update(srv);
}

/* Sets the tick for `at` (ms), or stops it for UINT64_MAX. */
static void tick_set(struct sio_server *srv, uint64_t at)
{
	if (at == srv->tick_at)
		return;
	srv->tick_at = at;
	ev_timer_stop(srv->loop, &srv->tick);
	if (at == UINT64_MAX)
		return;
	/* libev counts from its loop time: brought to now, the delay is
	 * measured on the same clock as now_ms(), to the microsecond */
	ev_now_update(srv->loop);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	double delay = (double)at / 1e3 - now;
	if (delay > TICK_MAX_S)
		delay = TICK_MAX_S; /* re-read then */
	ev_timer_set(&srv->tick, delay > 0. ? delay : 0., 0.);
	ev_timer_start(srv->loop, &srv->tick);
}

/* Sets the tick for the wheel's next deadline and, while stopping, for the
 * next check of the drain. */
static void tick_update(struct sio_server *srv)
{
	if (!srv->listening || srv->destroying)
		return;
	uint64_t at = timer_wheel_next(&srv->wheel);
	if (srv->stopping && now_ms() + STOP_CHECK_MS < at)
		at = now_ms() + STOP_CHECK_MS;
	tick_set(srv, at);
}

/* The wheel's hook: a timer was armed for earlier than the tick. */
static void tick_earlier(struct timer_wheel *w, uint64_t at)
{
	struct sio_server *srv = container_of(w, struct sio_server, wheel);
	if (srv->listening && !srv->destroying && at < srv->tick_at)
		tick_set(srv, at);
}

static struct lws_protocols front_protocols[] = {
	{"sioc-front", front_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

SIO_API int sio_server_listen(sio_server *srv, const char *host, int port)
{
	if (!srv || port < 0 || port > 65535)
		return SIO_EINVAL;
	if (srv->listening || srv->ctx)
		return SIO_ESTATE;

	front_protocols[0].per_session_data_size = front_conn_size();

	lws_set_log_level(LLL_ERR, NULL);
	srv->loop = ev_loop_new(EVFLAG_AUTO);
	if (!srv->loop)
		return SIO_EEVLIB;
	ev_prepare_init(&srv->prepare, prepare_cb);
	srv->prepare.data = srv;
	ev_prepare_start(srv->loop, &srv->prepare);
	ev_unref(srv->loop); /* the prepare watcher alone does not keep the loop running */
	void *loops[1] = {srv->loop};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = loops;
	info.user = srv;
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	/* lws reads each socket into this one buffer (one per service
	 * thread, not per connection): 4 KiB by default, so a client with a
	 * few kilobytes in flight took several reads and loop turns */
	info.pt_serv_buf_size = 64 * 1024;
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx) {
		ev_loop_destroy(srv->loop);
		srv->loop = NULL;
		lwsl_err("sioc: cannot create the libwebsockets context on libev; is the Debian "
			 "package libwebsockets-evlib-ev installed?\n");
		return SIO_EEVLIB;
	}

	struct lws_context_creation_info v;
	memset(&v, 0, sizeof(v));
	v.vhost_name = "sioc-front";
	v.port = port;
	v.iface = (host && *host) ? host : NULL;
	v.protocols = front_protocols;
	v.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
	/* lws binds an IPv6 socket to every address unless told the host is
	 * an IPv4 one: keep "127.0.0.1" meaning loopback only */
	struct in_addr v4;
	if (v.iface && inet_pton(AF_INET, v.iface, &v4) == 1)
		v.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	v.listen_accept_role = "raw-skt";
	v.listen_accept_protocol = "sioc-front";
	srv->front_vh = lws_create_vhost(srv->ctx, &v);
	if (!srv->front_vh) {
		lws_context_destroy(srv->ctx);
		srv->ctx = NULL;
		ev_loop_destroy(srv->loop);
		srv->loop = NULL;
		srv->front_vh = NULL;
		return SIO_ELISTEN;
	}
	srv->port = lws_get_vhost_listen_port(srv->front_vh);
	loop_start_timers(srv);
	srv->listening = true;
	tick_update(srv);
	return 0;
}

SIO_API int sio_server_port(const sio_server *srv)
{
	return srv ? srv->port : -1;
}

SIO_API int sio_server_run(sio_server *srv)
{
	if (!srv || !srv->listening)
		return SIO_ESTATE;
	if (!srv->stop_requested) {
		srv->in_loop = true;
		ev_run(srv->loop, 0);
		srv->in_loop = false;
	}
	server_enter(srv);
	server_check_stop(srv);
	server_leave(srv);
	return 0;
}

SIO_API void sio_server_stop(sio_server *srv)
{
	if (!srv)
		return;
	srv->stop_requested = 1;
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
}

SIO_API void sio_server_destroy(sio_server *srv)
{
	if (!srv)
		return;
	srv->destroying = true;
	sessions_close_all(srv, "server shutting down");
	loop_free(srv);
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	sessions_process(srv);
	sio_layer_free(srv);
	pthread_mutex_destroy(&srv->calls_lock);
	if (srv->loop) {
		ev_timer_stop(srv->loop, &srv->tick);
		ev_ref(srv->loop);
		ev_prepare_stop(srv->loop, &srv->prepare);
		ev_loop_destroy(srv->loop);
	}
	free(srv->buckets);
	for (size_t i = 0; i < IP_BUCKETS; i++) {
		while (srv->ips[i]) {
			struct ip_count *e = srv->ips[i];
			srv->ips[i] = e->next;
			free(e);
		}
	}
	options_free(srv);
	free(srv);
}
