/*
 * The link to Redis: two non-blocking TCP connections on the server's
 * libev loop, commands written in RESP by us, replies read with hiredis's
 * reader (redisReader), reconnection with backoff, a bounded output.
 * See redis_link.h for the contract.
 */
#include "cluster/redis_link.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sioc.h>

#include "base/log.h"
#include "base/timer.h"
#include "base/util.h"
#include "server/server.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 3000
#define READ_CHUNK 65536

/* A command of the command connection whose reply has not come yet. */
struct pending {
	redis_numsub_fn fn; /* NULL: nothing to tell (PUBLISH, AUTH) */
	void *ud;
	uint64_t tag;
	size_t bytes; /* counted in link->queued */
	bool publish; /* lost unanswered: counted as dropped */
};

/* AUTH: connected, AUTH sent, its answer awaited (nothing else is sent) */
enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_AUTH, CONN_UP };

struct conn {
	struct redis_link *l;
	bool is_sub; /* the subscription connection */
	int fd;
	enum conn_state state;
	ev_io rio, wio;
	struct buf out; /* RESP not yet written */
	size_t out_off;
	redisReader *reader;
	struct timer timer; /* connect timeout, or the next attempt */
	uint32_t backoff_ms;
	bool was_up;     /* has been up since the link started */
	bool down_noted; /* this outage was logged */
};

struct sub {
	struct sub *next;
	enum redis_sub_kind kind;
	size_t len;
	char name[];
};

struct redis_link {
	char *host, *password;
	int port;
	size_t max_queued;
	struct redis_link_hooks hooks;
	void *ud;
	struct sio_server *srv;
	struct timer_wheel *wheel;
	struct log *log;
	struct ev_loop *loop;
	struct conn cmd, sub;
	struct pending *ring; /* the command connection's pending replies, in order */
	size_t ring_cap, ring_head, ring_len;
	size_t queued; /* bytes of commands sent and not answered */
	struct sub *subs;
	uint64_t published, received, dropped, reconnects;
	bool lost;       /* both were up once and one went down since */
	bool drop_noted; /* a drop was logged since the last success */
	bool all_up;     /* both up (the connected hook ran) */
};

static void conn_connect(struct conn *c);
static void conn_lost(struct conn *c, const char *why);
static void conn_ready(struct conn *c);

static void enter(struct redis_link *l)
{
	if (l->srv)
		server_enter(l->srv);
}

static void leave(struct redis_link *l)
{
	if (l->srv)
		server_leave(l->srv);
}

/* ---- RESP out ----------------------------------------------------------------- */

static int resp_bulk(struct buf *b, const void *p, size_t n)
{
	if (buf_printf(b, "$%zu\r\n", n) < 0 || buf_append(b, p, n) < 0 ||
	    buf_append(b, "\r\n", 2) < 0)
		return -1;
	return 0;
}

/* Appends a command of argc arguments to c's output and starts writing.
 * Returns the bytes appended, or 0 when out of memory (nothing kept). */
static size_t conn_command(struct conn *c, int argc, const char *const *argv, const size_t *lens)
{
	size_t before = c->out.len;
	int r = buf_printf(&c->out, "*%d\r\n", argc);
	for (int i = 0; r == 0 && i < argc; i++)
		r = resp_bulk(&c->out, argv[i], lens[i]);
	if (r < 0) {
		c->out.len = before;
		return 0;
	}
	if (c->state >= CONN_AUTH)
		ev_io_start(c->l->loop, &c->wio);
	return c->out.len - before;
}

/* ---- the ring of pending replies ------------------------------------------------- */

static int ring_push(struct redis_link *l, const struct pending *p)
{
	if (l->ring_len == l->ring_cap) {
		size_t cap = l->ring_cap ? l->ring_cap * 2 : 64;
		struct pending *nr = malloc(cap * sizeof(*nr));
		if (!nr)
			return -1;
		for (size_t i = 0; i < l->ring_len; i++)
			nr[i] = l->ring[(l->ring_head + i) % l->ring_cap];
		free(l->ring);
		l->ring = nr;
		l->ring_cap = cap;
		l->ring_head = 0;
	}
	l->ring[(l->ring_head + l->ring_len) % l->ring_cap] = *p;
	l->ring_len++;
	l->queued += p->bytes;
	return 0;
}

static bool ring_pop(struct redis_link *l, struct pending *out)
{
	if (!l->ring_len)
		return false;
	*out = l->ring[l->ring_head];
	l->ring_head = (l->ring_head + 1) % l->ring_cap;
	l->ring_len--;
	l->queued -= out->bytes;
	return true;
}

/* Every pending reply is lost: publishes counted as dropped, numsubs told
 * SIO_ECLOSED. */
static void ring_fail(struct redis_link *l)
{
	struct pending p;
	while (ring_pop(l, &p)) {
		if (p.publish)
			l->dropped++;
		if (p.fn)
			p.fn(p.ud, p.tag, SIO_ECLOSED, 0);
	}
}

/* ---- replies -------------------------------------------------------------------- */

static bool reply_is(const redisReply *r, const char *s)
{
	size_t n = strlen(s);
	return r->type == REDIS_REPLY_STRING && r->len == n && ascii_ieqn(r->str, r->len, s);
}

static void on_cmd_reply(struct redis_link *l, redisReply *r)
{
	struct pending p;
	if (!ring_pop(l, &p))
		return; /* nothing asked: ignored */
	if (r->type == REDIS_REPLY_ERROR)
		log_msg(l->log, SIO_LOG_WARN, "redis.error", "redis: %.*s", (int)r->len, r->str);
	if (!p.fn)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer >= 0)
		p.fn(p.ud, p.tag, 0, (uint64_t)r->element[1]->integer);
	else
		p.fn(p.ud, p.tag, SIO_EINVAL, 0);
}

static void on_sub_reply(struct redis_link *l, redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR) {
		log_msg(l->log, SIO_LOG_WARN, "redis.error", "redis: %.*s", (int)r->len, r->str);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return; /* +OK of AUTH, and the like */
	redisReply **e = r->element;
	for (size_t i = 0; i < r->elements; i++)
		if (e[i]->type != REDIS_REPLY_STRING && e[i]->type != REDIS_REPLY_INTEGER)
			return;
	enum redis_sub_kind kind;
	const redisReply *sub, *ch, *msg;
	if (reply_is(e[0], "message") && r->elements == 3) {
		kind = REDIS_SUB;
		sub = ch = e[1];
		msg = e[2];
	} else if (reply_is(e[0], "smessage") && r->elements == 3) {
		kind = REDIS_SSUB;
		sub = ch = e[1];
		msg = e[2];
	} else if (reply_is(e[0], "pmessage") && r->elements == 4) {
		kind = REDIS_PSUB;
		sub = e[1];
		ch = e[2];
		msg = e[3];
	} else {
		return; /* (un)subscribe confirmations */
	}
	if (sub->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING ||
	    msg->type != REDIS_REPLY_STRING)
		return;
	l->received++;
	if (l->hooks.message)
		l->hooks.message(l->ud, kind, sub->str, sub->len, ch->str, ch->len,
		                 (const uint8_t *)msg->str, msg->len);
}

/* ---- I/O ------------------------------------------------------------------------ */

static void conn_read(struct conn *c)
{
	struct redis_link *l = c->l;
	char chunk[READ_CHUNK];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));
	if (n == 0) {
		conn_lost(c, "connection closed by Redis");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_lost(c, strerror(errno));
		return;
	}
	if (redisReaderFeed(c->reader, chunk, (size_t)n) != REDIS_OK) {
		conn_lost(c, "out of memory");
		return;
	}
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
			conn_lost(c, "protocol error");
			return;
		}
		if (!reply)
			return;
		if (c->state == CONN_AUTH) {
			redisReply *r = reply;
			if (r->type == REDIS_REPLY_ERROR) {
				char why[256];
				snprintf(why, sizeof(why), "AUTH refused: %.*s", (int)r->len,
				         r->str);
				freeReplyObject(reply);
				conn_lost(c, why);
				return;
			}
			freeReplyObject(reply);
			conn_ready(c);
			continue;
		}
		if (c->is_sub)
			on_sub_reply(l, reply);
		else
			on_cmd_reply(l, reply);
		freeReplyObject(reply);
		if (c->state != CONN_UP)
			return;
	}
}

static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* the watcher stays on */
			if (errno == EINTR)
				continue;
			conn_lost(c, strerror(errno));
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = 0;
	c->out_off = 0;
	if (c->out.cap > READ_CHUNK * 4)
		buf_free(&c->out);
	ev_io_stop(c->l->loop, &c->wio);
}

static const char *const sub_cmds[] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
static const char *const unsub_cmds[] = {"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"};

static void sub_send(struct conn *c, const char *const *cmds, const struct sub *s)
{
	const char *argv[] = {cmds[s->kind], s->name};
	size_t lens[] = {strlen(cmds[s->kind]), s->len};
	conn_command(c, 2, argv, lens);
}

/* Connected, and authenticated when a password is set: subscriptions
 * are sent again, commands may go. */
static void conn_ready(struct conn *c)
{
	struct redis_link *l = c->l;
	c->state = CONN_UP;
	c->backoff_ms = 0;
	c->was_up = true;
	c->down_noted = false;
	if (c->is_sub)
		for (const struct sub *s = l->subs; s; s = s->next)
			sub_send(c, sub_cmds, s);
	if (c->out.len)
		ev_io_start(l->loop, &c->wio);
	if (l->cmd.state == CONN_UP && l->sub.state == CONN_UP && !l->all_up) {
		l->all_up = true;
		if (l->lost) {
			l->reconnects++;
			l->lost = false;
		}
		l->drop_noted = false;
		log_msg(l->log, SIO_LOG_INFO, "redis.up", "redis: connected to %s:%d", l->host,
		        l->port);
		if (l->hooks.connected)
			l->hooks.connected(l->ud);
	}
}

/* The TCP connection is made: AUTH first when a password is set. */
static void conn_up(struct conn *c)
{
	struct redis_link *l = c->l;
	timer_cancel(l->wheel, &c->timer);
	ev_io_stop(l->loop, &c->wio);
	ev_io_start(l->loop, &c->rio);
	if (!l->password) {
		conn_ready(c);
		return;
	}
	c->state = CONN_AUTH;
	const char *argv[] = {"AUTH", l->password};
	size_t lens[] = {4, strlen(l->password)};
	if (!conn_command(c, 2, argv, lens))
		conn_lost(c, "out of memory");
}

static void conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct conn *c = w->data;
	struct redis_link *l = c->l;
	enter(l);
	if (c->state == CONN_CONNECTING && (revents & EV_WRITE)) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			conn_lost(c, strerror(err));
		else
			conn_up(c);
	} else if (c->state >= CONN_AUTH) {
		if (revents & EV_READ)
			conn_read(c);
		if (c->state >= CONN_AUTH && (revents & EV_WRITE))
			conn_flush(c);
	}
	leave(l);
}

static void conn_retry(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, timer);
	if (c->state == CONN_CONNECTING)
		conn_lost(c, "connect timeout");
	else if (c->state == CONN_DOWN)
		conn_connect(c);
}

static void conn_close_fd(struct conn *c)
{
	struct redis_link *l = c->l;
	if (l->loop) {
		ev_io_stop(l->loop, &c->rio);
		ev_io_stop(l->loop, &c->wio);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->reader)
		redisReaderFree(c->reader);
	c->reader = NULL;
	c->out.len = 0;
	c->out_off = 0;
	buf_free(&c->out);
}

/* The next attempt after a failure: 100 ms, doubling to 5 s. */
static void conn_schedule(struct conn *c)
{
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	timer_arm(c->l->wheel, &c->timer, now_ms() + c->backoff_ms, conn_retry);
}

static void conn_lost(struct conn *c, const char *why)
{
	struct redis_link *l = c->l;
	bool was = c->state == CONN_UP || (c->state == CONN_AUTH && c->was_up);
	conn_close_fd(c);
	c->state = CONN_DOWN;
	timer_cancel(l->wheel, &c->timer);
	if (l->all_up) {
		l->all_up = false;
		l->lost = true;
	}
	if (!c->is_sub)
		ring_fail(l);
	if (was || !c->down_noted)
		log_msg(l->log, SIO_LOG_WARN, "redis.down",
		        "redis: %s connection to %s:%d %s: %s; retrying",
		        c->is_sub ? "subscriber" : "command", l->host, l->port,
		        was ? "lost" : "failed", why);
	c->down_noted = true;
	conn_schedule(c);
}

static void conn_connect(struct conn *c)
{
	struct redis_link *l = c->l;
	char port[16];
	snprintf(port, sizeof(port), "%d", l->port);
	struct addrinfo hints = {
	        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(l->host, port, &hints, &ai);
	if (gr != 0 || !ai) {
		c->state = CONN_CONNECTING; /* so that conn_lost logs and schedules */
		conn_lost(c, gr ? gai_strerror(gr) : "no address");
		return;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		freeaddrinfo(ai);
		c->state = CONN_CONNECTING;
		conn_lost(c, strerror(errno));
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	int err = errno;
	freeaddrinfo(ai);
	c->reader = redisReaderCreate();
	c->state = CONN_CONNECTING;
	if (!c->reader) {
		conn_lost(c, "out of memory");
		return;
	}
	ev_io_set(&c->rio, c->fd, EV_READ);
	ev_io_set(&c->wio, c->fd, EV_WRITE);
	if (r == 0) {
		conn_up(c);
		return;
	}
	if (err != EINPROGRESS) {
		conn_lost(c, strerror(err));
		return;
	}
	ev_io_start(l->loop, &c->wio);
	timer_arm(l->wheel, &c->timer, now_ms() + CONNECT_TIMEOUT_MS, conn_retry);
}

static void conn_init(struct conn *c, struct redis_link *l, bool is_sub)
{
	c->l = l;
	c->is_sub = is_sub;
	c->fd = -1;
	ev_io_init(&c->rio, conn_io, -1, EV_READ);
	ev_io_init(&c->wio, conn_io, -1, EV_WRITE);
	c->rio.data = c;
	c->wio.data = c;
}

/* ---- public ------------------------------------------------------------------- */

struct redis_link *redis_link_create(const struct redis_link_opts *o,
                                     const struct redis_link_hooks *hooks, void *ud,
                                     struct sio_server *srv, struct timer_wheel *wheel,
                                     struct log *log)
{
	struct redis_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->host = strdup(o->host);
	l->password = o->password ? strdup(o->password) : NULL;
	if (!l->host || (o->password && !l->password)) {
		free(l->host);
		free(l->password);
		free(l);
		return NULL;
	}
	l->port = o->port;
	l->max_queued = o->max_queued_bytes;
	l->hooks = *hooks;
	l->ud = ud;
	l->srv = srv;
	l->wheel = wheel;
	l->log = log;
	conn_init(&l->cmd, l, false);
	conn_init(&l->sub, l, true);
	return l;
}

void redis_link_start(struct redis_link *l, struct ev_loop *loop)
{
	if (l->loop)
		return;
	l->loop = loop;
	conn_connect(&l->cmd);
	conn_connect(&l->sub);
}

void redis_link_destroy(struct redis_link *l)
{
	if (!l)
		return;
	timer_cancel(l->wheel, &l->cmd.timer);
	timer_cancel(l->wheel, &l->sub.timer);
	conn_close_fd(&l->cmd);
	conn_close_fd(&l->sub);
	ring_fail(l);
	free(l->ring);
	while (l->subs) {
		struct sub *s = l->subs;
		l->subs = s->next;
		free(s);
	}
	free(l->host);
	free(l->password);
	free(l);
}

int redis_link_subscribe(struct redis_link *l, enum redis_sub_kind kind, const char *name,
                         size_t len)
{
	for (const struct sub *s = l->subs; s; s = s->next)
		if (s->kind == kind && s->len == len && memcmp(s->name, name, len) == 0)
			return 0;
	struct sub *s = malloc(sizeof(*s) + len + 1);
	if (!s)
		return SIO_ENOMEM;
	s->kind = kind;
	s->len = len;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	/* at the tail: subscriptions are sent again in the order made */
	struct sub **pp = &l->subs;
	while (*pp)
		pp = &(*pp)->next;
	s->next = NULL;
	*pp = s;
	if (l->sub.state == CONN_UP)
		sub_send(&l->sub, sub_cmds, s);
	return 0;
}

void redis_link_unsubscribe(struct redis_link *l, enum redis_sub_kind kind, const char *name,
                            size_t len)
{
	for (struct sub **pp = &l->subs; *pp; pp = &(*pp)->next) {
		struct sub *s = *pp;
		if (s->kind != kind || s->len != len || memcmp(s->name, name, len) != 0)
			continue;
		if (l->sub.state == CONN_UP)
			sub_send(&l->sub, unsub_cmds, s);
		*pp = s->next;
		free(s);
		return;
	}
}

/* Counts a publish that cannot be made; logs the first since a success. */
static int drop(struct redis_link *l, int err)
{
	l->dropped++;
	if (!l->drop_noted) {
		l->drop_noted = true;
		log_msg(l->log, SIO_LOG_WARN, "redis.dropped",
		        "redis: messages dropped (%s); %llu so far",
		        err == SIO_EFULL ? "max_queued_bytes reached" : "not connected",
		        (unsigned long long)l->dropped);
	}
	return err;
}

int redis_link_publish(struct redis_link *l, bool sharded, const char *channel, size_t channel_len,
                       const uint8_t *msg, size_t len)
{
	if (l->cmd.state != CONN_UP)
		return drop(l, SIO_ECLOSED);
	/* the command's size, counted before it is written */
	size_t bytes = 40 + channel_len + len;
	if (l->queued + bytes > l->max_queued)
		return drop(l, SIO_EFULL);
	const char *argv[] = {sharded ? "SPUBLISH" : "PUBLISH", channel, (const char *)msg};
	size_t lens[] = {sharded ? 8u : 7u, channel_len, len};
	size_t made = conn_command(&l->cmd, 3, argv, lens);
	if (!made || ring_push(l, &(struct pending){.bytes = made, .publish = true}) < 0) {
		if (made)
			l->cmd.out.len -= made;
		return drop(l, SIO_ENOMEM);
	}
	l->published++;
	if (l->drop_noted && l->queued < l->max_queued / 2)
		l->drop_noted = false;
	return 0;
}

int redis_link_numsub(struct redis_link *l, bool sharded, const char *channel, size_t channel_len,
                      redis_numsub_fn fn, void *ud, uint64_t tag)
{
	if (l->cmd.state != CONN_UP)
		return SIO_ECLOSED;
	const char *argv[] = {"PUBSUB", sharded ? "SHARDNUMSUB" : "NUMSUB", channel};
	size_t lens[] = {6, sharded ? 11u : 6u, channel_len};
	size_t made = conn_command(&l->cmd, 3, argv, lens);
	if (!made ||
	    ring_push(l, &(struct pending){.fn = fn, .ud = ud, .tag = tag, .bytes = made}) < 0) {
		if (made)
			l->cmd.out.len -= made;
		return SIO_ENOMEM;
	}
	return 0;
}

void redis_link_forget(struct redis_link *l, void *ud)
{
	for (size_t i = 0; i < l->ring_len; i++) {
		struct pending *p = &l->ring[(l->ring_head + i) % l->ring_cap];
		if (p->ud == ud)
			p->fn = NULL;
	}
}

void redis_link_stats(const struct redis_link *l, struct redis_link_stats *st)
{
	st->published = l->published;
	st->received = l->received;
	st->dropped = l->dropped;
	st->reconnects = l->reconnects;
	st->connected = l->all_up;
	st->queued_bytes = l->queued;
}

bool redis_link_connected(const struct redis_link *l)
{
	return l->all_up;
}
