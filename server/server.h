/*
 * The server object (internal): the wiring. It owns the options, the loop
 * (libev, the lws context and its listening vhost, the timing wheel and
 * its tick, application timers, calls from other threads), one Engine.IO
 * engine and one Socket.IO layer, and is the only place that knows both.
 */
#ifndef SIOC_SERVER_SERVER_H
#define SIOC_SERVER_SERVER_H

#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <sioc.h>

#include "base/log.h"
#include "base/timer.h"
#include "base/util.h"

struct ssl_ctx_st;

struct lws_context;
struct lws_vhost;
struct eio_engine;
struct sio_layer;
struct ip_net;
struct sio_admin;

/* A cluster plugged in by cluster/ (sio_server_use_redis()): server/
 * knows it only through these. */
struct server_cluster {
	struct sio_adapter *(*adapter_create)(void *ud, struct sio_namespace *nsp);
	/* The server listens: its loop exists. 0 or a SIO_E* code, which
	 * sio_server_listen() then returns. */
	int (*start)(void *ud, struct ev_loop *loop);
	/* Fills the redis_* numbers. */
	void (*stats)(void *ud, struct sio_server_stats *st);
	/* sio_server_destroy(): after every namespace (and its adapter) is
	 * gone, before the loop. */
	void (*destroy)(void *ud);
	void *ud;
};

struct sio_server {
	struct sio_server_options opts; /* strings point into the owned copies below */
	char *path;                     /* normalised, ends with '/' */
	char **cors_origins;            /* owned copy of opts.cors.origins */
	char *cors_methods, *cors_allowed_headers, *cors_exposed_headers;
	char *static_dir;
	char *metrics_path, *metrics_token;
	struct ip_net *proxies; /* opts.trusted_proxies parsed (loopback by default) */
	char *tls_cert, *tls_key, *tls_ca; /* owned copies of opts.tls's files */
	struct ssl_ctx_st *tls_ctx;        /* the TLS context in use (also the engine's), or NULL */
	size_t nproxies;
	struct log log;          /* opts.log, or stderr */
	struct timer log_timer;  /* writes the "N suppressed" summaries while some wait */

	struct eio_engine *engine;
	struct sio_layer *io; /* the Socket.IO layer */
	bool sio_layer;       /* plugged into the engine (off after sio_eio_set_events()) */
	struct sio_admin *admin; /* sio_admin_instrument()'s state (admin.c), or NULL */
	struct server_cluster cluster; /* server_set_cluster()'s; zero when none */
	bool has_cluster;

	struct ev_loop *loop;
	ev_prepare prepare; /* flushes output once per loop turn */
	ev_check check;     /* a loop turn starts: its time is measured */
	uint64_t turn_start_us;
	uint64_t loop_turns[SIO_STATS_LOOP_BUCKETS]; /* the loop-turn histogram */
	uint64_t loop_turn_us_sum;
	struct lws_context *ctx;
	struct lws_vhost *front_vh;
	int port;
	bool listening;
	volatile sig_atomic_t stop_requested;
	bool stopping;
	bool destroying; /* sio_server_destroy() runs: the tick is not set again */
	uint64_t shutdown_deadline; /* ms; connections still open then are closed */

	struct timer_wheel wheel;
	ev_timer tick;      /* one-shot at the wheel's next deadline */
	uint64_t tick_at;   /* ms the tick is set for; UINT64_MAX when it is not */
	struct list timers; /* struct sio_timer.link */

	/* sio_server_call() and sio_server_reload_tls(): the only state other
	 * threads touch */
	pthread_mutex_t calls_lock;
	struct list calls;
	bool calls_closed;
	struct ssl_ctx_st *tls_next; /* reloaded, for the loop to take, or NULL */
	char tls_error[320];         /* a failed reload's cause, for the loop to log, or "" */
};

/* A callback of the loop's own (timers) runs between these, so that the
 * engine's deferred work happens after it. */
void server_enter(struct sio_server *srv);
void server_leave(struct sio_server *srv);

/* Plugs a cluster in (c copied): every namespace's adapter is made by it
 * from now on, those that exist are replaced. Before listening. Returns
 * 0, SIO_EINVAL (a server speaking plain Engine.IO), SIO_ESTATE
 * (listening, or a cluster set already) or SIO_ENOMEM (nothing
 * changed). */
int server_set_cluster(struct sio_server *srv, const struct server_cluster *c);

/* metrics.c */
/* Appends the Prometheus page (the engine's render hook; userdata is the
 * server). Returns 0 or -1. */
int metrics_render(struct buf *out, void *userdata);
/* Counts a loop turn of us microseconds in the histogram. */
void metrics_loop_turn(struct sio_server *srv, uint64_t us);

/* loop.c */
void loop_free(struct sio_server *srv);
/* Hands the timers started before listening to lws. */
void loop_start_timers(struct sio_server *srv);
void loop_drain_calls(struct sio_server *srv);

#endif
