/*
 * Loop services for applications: timers (on the server's timing wheel,
 * to the millisecond), and sio_server_call(), the one thread-safe way into
 * the loop.
 */
#include "server/server.h"

#include <stdlib.h>

#include <libwebsockets.h>

/* Application timers are on the timing wheel with the server's own; one
 * started before the server listens is armed when it does. */
struct sio_timer {
	struct timer timer;
	struct sio_server *srv;
	void (*fn)(sio_timer *t, void *userdata);
	void *userdata;
	uint32_t delay;
	uint32_t repeat;
	bool running; /* inside fn */
	bool stopped; /* stopped inside fn: free after it */
	struct list link;
};

struct call {
	void (*fn)(sio_server *srv, void *userdata);
	void *userdata;
	struct list link;
};

static void timer_free(struct sio_timer *t)
{
	timer_cancel(&t->srv->wheel, &t->timer);
	list_remove(&t->link);
	free(t);
}

static void timer_fired(struct timer *w)
{
	struct sio_timer *t = container_of(w, struct sio_timer, timer);
	t->running = true;
	t->fn(t, t->userdata);
	t->running = false;
	if (t->stopped || !t->repeat)
		timer_free(t);
	else
		timer_arm(&t->srv->wheel, &t->timer, now_ms() + t->repeat, timer_fired);
}

void loop_start_timers(struct sio_server *srv)
{
	uint64_t now = now_ms();
	for (struct list *n = srv->timers.next; n != &srv->timers; n = n->next) {
		struct sio_timer *t = container_of(n, struct sio_timer, link);
		if (!timer_armed(&t->timer))
			timer_arm(&srv->wheel, &t->timer, now + t->delay, timer_fired);
	}
}

SIO_API sio_timer *sio_timer_start(sio_server *srv, uint32_t delay_ms, uint32_t repeat_ms,
				   void (*fn)(sio_timer *t, void *userdata), void *userdata)
{
	if (!srv || !fn)
		return NULL;
	struct sio_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->srv = srv;
	t->fn = fn;
	t->userdata = userdata;
	t->delay = delay_ms;
	t->repeat = repeat_ms;
	list_insert_tail(&srv->timers, &t->link);
	if (srv->ctx)
		timer_arm(&srv->wheel, &t->timer, now_ms() + delay_ms, timer_fired);
	return t;
}

SIO_API void sio_timer_stop(sio_timer *t)
{
	if (!t)
		return;
	if (t->running) {
		t->stopped = true;
		return;
	}
	timer_free(t);
}

SIO_API int sio_server_call(sio_server *srv, void (*fn)(sio_server *srv, void *userdata),
			    void *userdata)
{
	if (!srv || !fn)
		return SIO_EINVAL;
	struct call *c = malloc(sizeof(*c));
	if (!c)
		return SIO_ENOMEM;
	c->fn = fn;
	c->userdata = userdata;
	pthread_mutex_lock(&srv->calls_lock);
	bool closed = srv->calls_closed;
	if (!closed)
		list_insert_tail(&srv->calls, &c->link);
	pthread_mutex_unlock(&srv->calls_lock);
	if (closed) {
		free(c);
		return SIO_ECLOSED;
	}
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
	return 0;
}

void loop_drain_calls(struct sio_server *srv)
{
	struct list todo;
	list_init(&todo);
	pthread_mutex_lock(&srv->calls_lock);
	if (!list_empty(&srv->calls)) {
		/* move the whole queue out; run it unlocked */
		todo.next = srv->calls.next;
		todo.prev = srv->calls.prev;
		todo.next->prev = &todo;
		todo.prev->next = &todo;
		list_init(&srv->calls);
	}
	pthread_mutex_unlock(&srv->calls_lock);
	while (!list_empty(&todo)) {
		struct call *c = container_of(todo.next, struct call, link);
		list_remove(&c->link);
		c->fn(srv, c->userdata);
		free(c);
	}
}

void loop_free(struct sio_server *srv)
{
	while (!list_empty(&srv->timers))
		timer_free(container_of(srv->timers.next, struct sio_timer, link));
	pthread_mutex_lock(&srv->calls_lock);
	srv->calls_closed = true;
	while (!list_empty(&srv->calls)) {
		struct call *c = container_of(srv->calls.next, struct call, link);
		list_remove(&c->link);
		free(c);
	}
	pthread_mutex_unlock(&srv->calls_lock);
}
