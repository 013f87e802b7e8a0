/*
 * The server object: options, the lws context and its two vhosts, the
 * timing wheel, the session table and the deferred-work lists. Internal.
 */
#ifndef SIOC_SERVER_SERVER_H
#define SIOC_SERVER_SERVER_H

#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <sioc.h>

#include "server/timer.h"
#include "server/util.h"

struct lws_context;
struct lws_vhost;
struct ev_loop;
struct ip_count;

#define IP_BUCKETS 1024

struct sio_server {
	struct sio_server_options opts; /* strings point into owned copies below */
	char *path;                     /* normalised, ends with '/' */
	size_t path_len;
	char **cors_origins; /* owned copy of opts.cors.origins */
	char *cors_methods, *cors_allowed_headers, *cors_exposed_headers;
	char *static_dir;

	struct ev_loop *loop;
	ev_prepare prepare; /* flushes output once per loop turn */
	bool in_loop;       /* inside ev_run() */
	struct lws_context *ctx;
	struct lws_vhost *front_vh;
	int port;
	bool listening;
	volatile sig_atomic_t stop_requested;
	bool stopping;
	bool destroying;
	uint64_t shutdown_deadline; /* ms; connections still open then are closed */
	size_t pending_out;         /* connections with bytes to write */

	struct timer_wheel wheel;
	ev_timer tick;    /* one-shot at the wheel's next deadline */
	uint64_t tick_at; /* ms the tick is set for; UINT64_MAX when it is not */

	struct sio_eio_events eio_events;
	void *eio_userdata;

	/* sessions by sid */
	struct sio_eio_socket **buckets;
	size_t nbuckets;
	size_t nsessions;
	struct list sessions; /* every session not yet freed */
	struct list dirty;    /* sessions with output to flush or a close to finish */
	struct list reap;     /* closed sessions to free */
	int depth;            /* nesting of lws callbacks being handled */

	/* the Socket.IO layer (off when sio_eio_set_events() was used) */
	bool sio_layer;
	struct json_t *empty_object; /* shared {} for sockets without auth */
	struct list namespaces;   /* struct sio_namespace.link */
	struct list parents;      /* dynamic namespace parents */
	struct list sio_deferred; /* sockets with a disconnect to run */
	struct list sio_reap;     /* closed sockets to free */
	struct list nsp_cleanup;  /* dynamic namespaces that may have emptied */
	struct list timers;       /* struct sio_timer.link */

	/* sio_server_call(): the only state other threads touch */
	pthread_mutex_t calls_lock;
	struct list calls;
	bool calls_closed;

	struct ip_count *ips[IP_BUCKETS]; /* open connections per peer address */
	size_t npending;                  /* sessions not yet in a namespace */
};

/* Called at the end of every lws callback: flushes dirty sessions and
 * frees closed ones, when not nested inside another callback. */
void server_enter(struct sio_server *srv);
void server_leave(struct sio_server *srv);
/* Counts a connection from addr against max_connections_per_ip (only
 * called while that cap is set): false when over it (nothing counted).
 * Release undoes one acquire. */
bool server_ip_acquire(struct sio_server *srv, const char *addr);
void server_ip_release(struct sio_server *srv, const char *addr);
/* Keeps srv->pending_out (connections with bytes to write, which a
 * graceful stop waits for) in step with one connection's `has` output;
 * *counted records whether it is counted. */
void server_count_out(struct sio_server *srv, bool *counted, bool has);
/* The loop was woken by lws_cancel_service(): act on a stop request. */
void server_wakeup(struct sio_server *srv);

#endif
