/*
 * The server, the wiring of the layers: options, the lws context on a
 * libev loop with its one listening vhost, the one-shot tick that drives
 * the timing wheel, one Engine.IO engine and one Socket.IO layer plugged
 * into it, stop and destroy.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "server/admin.h"
#include "http/forwarded.h"
#include "server/sio.h"
#include "transports/eio.h"
#include "transports/tls.h"

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
#define SIO_STRERROR_CASE(name, value, text) \
	case SIO_##name: return text;
		SIO_ERRNO_MAP(SIO_STRERROR_CASE)
#undef SIO_STRERROR_CASE
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
	o->log_level = SIO_LOG_WARN;
	o->connection_state_recovery.enabled = false;
	o->connection_state_recovery.max_disconnection_duration = 120000;
	o->connection_state_recovery.skip_middlewares = true;
	o->connection_state_recovery.max_history_bytes = 32u << 20;
	o->tls.handshake_timeout = 10000;
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
	free(srv->metrics_path);
	free(srv->metrics_token);
	free(srv->proxies);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv->tls_ca);
	tls_context_free(srv->tls_ctx);
	tls_context_free(srv->tls_next);
}

/* Parses opts.trusted_proxies (loopback when NULL or empty) into
 * srv->proxies. Returns 0 or an SIO_E* code. */
static int proxies_parse(struct sio_server *srv, const char *const *list)
{
	static const char *const loopback[] = {"127.0.0.0/8", "::1", NULL};
	if (!list || !list[0])
		list = loopback;
	size_t n = 0;
	while (list[n])
		n++;
	srv->proxies = calloc(n, sizeof(*srv->proxies));
	if (!srv->proxies)
		return SIO_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ip_net_parse(list[i], &srv->proxies[i]) < 0)
			return SIO_EINVAL;
	srv->nproxies = n;
	return 0;
}

/* Copies the options, owning every string. Returns 0 or an SIO_E* code. */
static int options_copy(struct sio_server *srv, const struct sio_server_options *in)
{
	struct sio_server_options *o = &srv->opts;
	*o = *in;
	if (!o->transports || (o->transports & ~3u) || !o->ping_interval || !o->ping_timeout ||
	    !o->max_http_buffer_size || !o->max_queue_packets || !o->max_queue_bytes ||
	    !o->max_header_size ||
	    (o->connection_state_recovery.enabled &&
	     !o->connection_state_recovery.max_disconnection_duration))
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
	if (in->metrics_path && in->metrics_path[0] != '/')
		return SIO_EINVAL;
	if ((in->metrics_path && !(srv->metrics_path = strdup(in->metrics_path))) ||
	    (in->metrics_token && !(srv->metrics_token = strdup(in->metrics_token))))
		return SIO_ENOMEM;
	o->metrics_path = srv->metrics_path;
	o->metrics_token = srv->metrics_token;
	const struct sio_tls_options *t = &in->tls;
	if (!t->cert_file != !t->key_file || (t->ca_file && !t->cert_file) ||
	    (t->cert_file && !t->handshake_timeout))
		return SIO_EINVAL;
	if (t->cert_file &&
	    (!(srv->tls_cert = strdup(t->cert_file)) || !(srv->tls_key = strdup(t->key_file)) ||
	     (t->ca_file && !(srv->tls_ca = strdup(t->ca_file)))))
		return SIO_ENOMEM;
	o->tls.cert_file = srv->tls_cert;
	o->tls.key_file = srv->tls_key;
	o->tls.ca_file = srv->tls_ca;
	int rc = proxies_parse(srv, in->trusted_proxies);
	o->trusted_proxies = NULL; /* parsed: the caller's list is not kept */
	return rc;
}

/* The log's default sink: one line on stderr. */
static void log_to_stderr(int level, const char *event, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "sioc: %s: %s: %s\n", log_level_name(level), event, message);
}

/* libwebsockets' log is process-wide: it goes to the log of the server
 * that listened last (and is not destroyed yet). */
static struct sio_server *lws_log_server;

static void lws_log_emit(int level, const char *line)
{
	struct sio_server *srv = lws_log_server;
	if (!srv)
		return;
	int lv = level & LLL_ERR ? SIO_LOG_ERROR : level & LLL_WARN ? SIO_LOG_WARN : SIO_LOG_DEBUG;
	/* "[date time] E: text\n", in case lws prefixed it */
	if (line[0] == '[') {
		const char *p = strstr(line, "] ");
		if (p && p[2] && p[3] == ':' && p[4] == ' ')
			line = p + 5;
	}
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(&srv->log, lv, "lws", "%.*s", (int)n, line);
}

/* The lws levels shown at our level: its notices are per event (in its
 * libev plugin), so they are debug. */
static int lws_levels(int level)
{
	int m = 0;
	if (level >= SIO_LOG_ERROR)
		m |= LLL_ERR;
	if (level >= SIO_LOG_WARN)
		m |= LLL_WARN;
	if (level >= SIO_LOG_DEBUG)
		m |= LLL_NOTICE | LLL_INFO | LLL_USER;
	return m;
}

/* The engine's hooks: the Socket.IO layer's, or the application's
 * sio_eio_set_events() ones. */
static void server_wakeup(void *userdata);

static void install_hooks(struct sio_server *srv, const struct sio_eio_events *app,
			  void *app_userdata)
{
	struct eio_hooks h;
	if (app) {
		h = (struct eio_hooks){.ev = *app, .userdata = app_userdata};
		srv->sio_layer = false;
	} else {
		sio_layer_hooks(srv->io, &h);
		srv->sio_layer = true;
	}
	eio_engine_set_hooks(srv->engine, &h);
	eio_engine_count_pending(srv->engine, srv->sio_layer);
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
	rc = SIO_ENOMEM;
	srv->engine = eio_engine_create(&srv->opts, &srv->wheel, srv);
	if (srv->engine)
		srv->io = sio_layer_create(srv, &srv->opts, &srv->wheel,
					   eio_engine_pool(srv->engine));
	if (!srv->engine || !srv->io)
		goto fail;
	install_hooks(srv, NULL, NULL);
	eio_engine_on_wakeup(srv->engine, server_wakeup, srv);
	log_init(&srv->log, opts->log ? opts->log : log_to_stderr,
	         opts->log ? opts->log_userdata : NULL, opts->log_level);
	eio_engine_set_log(srv->engine, &srv->log);
	srv->io->log = &srv->log;
	eio_engine_set_proxies(srv->engine, srv->proxies, srv->nproxies);
	eio_engine_on_metrics(srv->engine, metrics_render, srv);
	if (srv->tls_cert) {
		char why[320];
		srv->tls_ctx = tls_context_load(srv->tls_cert, srv->tls_key, srv->tls_ca, why,
		                                sizeof(why));
		if (!srv->tls_ctx) {
			log_msg(&srv->log, SIO_LOG_ERROR, "tls.load", "%s", why);
			rc = SIO_ETLS;
			goto fail;
		}
		eio_engine_set_tls(srv->engine, srv->tls_ctx);
	}
	if (err)
		*err = 0;
	return srv;
fail:
	if (srv) {
		eio_engine_destroy(srv->engine);
		sio_layer_destroy(srv->io);
		options_free(srv);
		pthread_mutex_destroy(&srv->calls_lock);
		free(srv);
	}
	if (err)
		*err = rc;
	return NULL;
}

int server_set_cluster(struct sio_server *srv, const struct server_cluster *c)
{
	if (!srv->sio_layer)
		return SIO_EINVAL;
	if (srv->listening || srv->has_cluster)
		return SIO_ESTATE;
	/* every new adapter made first: nothing changes unless all are */
	struct sio_layer *io = srv->io;
	size_t n = 0;
	for (struct list *k = io->namespaces.next; k != &io->namespaces; k = k->next)
		n++;
	struct sio_adapter **made = calloc(n ? n : 1, sizeof(*made));
	if (!made)
		return SIO_ENOMEM;
	size_t i = 0;
	for (struct list *k = io->namespaces.next; k != &io->namespaces; k = k->next, i++) {
		made[i] = c->adapter_create(c->ud, container_of(k, struct sio_namespace, link));
		if (!made[i]) {
			while (i--)
				made[i]->ops->destroy(made[i]);
			free(made);
			return SIO_ENOMEM;
		}
	}
	i = 0;
	for (struct list *k = io->namespaces.next; k != &io->namespaces; k = k->next, i++) {
		struct sio_namespace *nsp = container_of(k, struct sio_namespace, link);
		nsp->adapter->ops->destroy(nsp->adapter); /* no socket yet: nothing is lost */
		nsp->adapter = made[i];
	}
	free(made);
	srv->cluster = *c;
	srv->has_cluster = true;
	io->adapter_create = c->adapter_create;
	io->adapter_ud = c->ud;
	return 0;
}

SIO_API int sio_eio_set_events(sio_server *srv, const struct sio_eio_events *events,
			       void *userdata)
{
	if (!srv || !events || events->version != SIO_EIO_EVENTS_VERSION)
		return SIO_EINVAL;
	install_hooks(srv, events, userdata);
	return 0;
}

SIO_API size_t sio_server_clients_count(const sio_server *srv)
{
	return srv ? eio_engine_sessions(srv->engine) : 0;
}

SIO_API sio_namespace *sio_server_of(sio_server *srv, const char *name)
{
	return srv ? namespace_of(srv->io, name) : NULL;
}

SIO_API sio_namespace *sio_server_of_dynamic(sio_server *srv,
					     bool (*accept)(const char *name, const json_t *auth,
							    void *userdata),
					     void *userdata)
{
	if (!srv || !accept)
		return NULL;
	return namespace_parent(srv->io, accept, userdata, NULL);
}

SIO_API sio_namespace *sio_server_of_pattern(sio_server *srv, const char *pattern)
{
	if (!srv || !pattern || pattern[0] != '/')
		return NULL;
	return namespace_parent(srv->io, NULL, NULL, pattern);
}

void server_enter(struct sio_server *srv)
{
	eio_engine_enter(srv->engine);
}

void server_leave(struct sio_server *srv)
{
	eio_engine_leave(srv->engine);
}

/* Runs when the loop has handled every ready event and is about to wait:
 * output queued by all of them is written now, one write per connection
 * (a read of six messages answers with one send, not six). */
static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Writes the log's "N suppressed" summaries due by now; again later while
 * some are still held back. */
static void log_summaries(struct timer *t)
{
	struct sio_server *srv = container_of(t, struct sio_server, log_timer);
	log_flush(&srv->log, now_ms());
	if (srv->log.any_suppressed)
		timer_arm(&srv->wheel, t, now_ms() + LOG_REFILL_MS, log_summaries);
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sio_server *srv = w->data;
	eio_engine_process(srv->engine);
	if (srv->log.any_suppressed && !timer_armed(&srv->log_timer))
		timer_arm(&srv->wheel, &srv->log_timer, now_ms() + LOG_REFILL_MS, log_summaries);
	if (srv->turn_start_us) {
		metrics_loop_turn(srv, now_us() - srv->turn_start_us);
		srv->turn_start_us = 0;
	}
}

/* The loop woke up: a turn starts. */
static void check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sio_server *srv = w->data;
	srv->turn_start_us = now_us();
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
			sio_layer_shutdown(srv->io);
		eio_engine_stop(srv->engine);
		tick_update(srv); /* checks the drain from now on */
	}
	if (eio_engine_idle(srv->engine) || now_ms() >= srv->shutdown_deadline) {
		eio_engine_close_all(srv->engine, EIO_CLOSE_SERVER_SHUTTING_DOWN);
		ev_break(srv->loop, EVBREAK_ALL);
	}
}

/* On the loop: takes what sio_server_reload_tls() left (a new context, or
 * the cause of a failure to log). */
static void tls_reload_take(struct sio_server *srv)
{
	pthread_mutex_lock(&srv->calls_lock);
	struct ssl_ctx_st *ctx = srv->tls_next;
	srv->tls_next = NULL;
	char why[sizeof(srv->tls_error)];
	memcpy(why, srv->tls_error, sizeof(why));
	srv->tls_error[0] = '\0';
	pthread_mutex_unlock(&srv->calls_lock);
	if (why[0])
		log_msg(&srv->log, SIO_LOG_ERROR, "tls.load", "reload: %s", why);
	if (ctx) {
		tls_context_free(srv->tls_ctx); /* open connections hold their own reference */
		srv->tls_ctx = ctx;
		eio_engine_set_tls(srv->engine, ctx);
		log_msg(&srv->log, SIO_LOG_INFO, "tls.reload", "certificate reloaded from %s",
		        srv->tls_cert);
	}
}

SIO_API int sio_server_reload_tls(sio_server *srv)
{
	if (!srv)
		return SIO_EINVAL;
	if (!srv->tls_cert)
		return SIO_ESTATE;
	char why[sizeof(srv->tls_error)];
	struct ssl_ctx_st *ctx =
	        tls_context_load(srv->tls_cert, srv->tls_key, srv->tls_ca, why, sizeof(why));
	pthread_mutex_lock(&srv->calls_lock);
	bool closed = srv->calls_closed;
	struct ssl_ctx_st *old = NULL;
	if (!closed) {
		if (ctx) {
			old = srv->tls_next; /* a reload not taken yet: replaced */
			srv->tls_next = ctx;
		} else {
			memcpy(srv->tls_error, why, sizeof(why));
		}
	}
	pthread_mutex_unlock(&srv->calls_lock);
	tls_context_free(old);
	if (closed) {
		tls_context_free(ctx);
		return SIO_ECLOSED;
	}
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
	else
		tls_reload_take(srv); /* not listening yet: this is the server's thread */
	return ctx ? 0 : SIO_ETLS;
}

static void server_wakeup(void *userdata)
{
	struct sio_server *srv = userdata;
	tls_reload_take(srv);
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

SIO_API int sio_server_listen(sio_server *srv, const char *host, int port)
{
	if (!srv || port < 0 || port > 65535)
		return SIO_EINVAL;
	if (srv->listening || srv->ctx)
		return SIO_ESTATE;

	lws_log_server = srv;
	lws_set_log_level(lws_levels(srv->opts.log_level), lws_log_emit);
	srv->loop = ev_loop_new(EVFLAG_AUTO);
	if (!srv->loop)
		return SIO_EEVLIB;
	ev_prepare_init(&srv->prepare, prepare_cb);
	srv->prepare.data = srv;
	ev_prepare_start(srv->loop, &srv->prepare);
	ev_unref(srv->loop); /* the prepare watcher alone does not keep the loop running */
	ev_check_init(&srv->check, check_cb);
	srv->check.data = srv;
	ev_check_start(srv->loop, &srv->check);
	ev_unref(srv->loop);
	void *loops[1] = {srv->loop};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = loops;
	info.user = srv->engine; /* the front connections' callback reads it */
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
	v.protocols = eio_front_protocols();
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
	if (srv->has_cluster) {
		int rc = srv->cluster.start(srv->cluster.ud, srv->loop);
		if (rc < 0)
			return rc;
	}
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
		eio_engine_set_in_loop(srv->engine, true);
		ev_run(srv->loop, 0);
		eio_engine_set_in_loop(srv->engine, false);
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
	timer_cancel(&srv->wheel, &srv->log_timer);
	eio_engine_close_all(srv->engine, EIO_CLOSE_SERVER_SHUTTING_DOWN);
	loop_free(srv);
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	eio_engine_process(srv->engine); /* frees what the closes left, the layer's sockets too */
	/* The layer goes before the engine: the packets it keeps (the recovery
	 * history) are the engine's pool's. The engine reports to it no more. */
	struct eio_hooks none = {0};
	eio_engine_set_hooks(srv->engine, &none);
	sio_layer_destroy(srv->io);
	if (srv->has_cluster)
		srv->cluster.destroy(srv->cluster.ud); /* after every adapter, before the loop */
	admin_free(srv->admin); /* after the layer it observes, and the timers */
	eio_engine_destroy(srv->engine);
	pthread_mutex_destroy(&srv->calls_lock);
	if (srv->loop) {
		ev_timer_stop(srv->loop, &srv->tick);
		ev_ref(srv->loop);
		ev_prepare_stop(srv->loop, &srv->prepare);
		ev_ref(srv->loop);
		ev_check_stop(srv->loop, &srv->check);
		ev_loop_destroy(srv->loop);
	}
	if (lws_log_server == srv) {
		lws_log_server = NULL;
		lws_set_log_level(LLL_ERR, lwsl_emit_stderr);
	}
	options_free(srv);
	free(srv);
}
