/*
 * floor_server: the floor peer of the benchmarks. It answers the load
 * generator (bench/loadgen) with the bytes the sioc peer
 * (bench/peers/sioc/bench_server.c) sends, in as many writes, and does
 * nothing else: plain C on epoll, no libwebsockets, no JSON library, no
 * HTTP parser. Its CPU time is about what the kernel takes for a
 * scenario's traffic, the floor under any server; the harness shows sioc
 * against it (BENCHMARKS.md, "The floor peer").
 *
 * What it understands is what the load generator sends (bench/PROTOCOL.md):
 *   - HTTP/1.1 requests with transport=websocket in the query (the upgrade:
 *     101 and, without a sid, the Engine.IO open packet in the same write)
 *     or transport=polling (the open packet; a POST of "40", answered "ok";
 *     a GET for the CONNECT reply, which waits when there is nothing to
 *     send), then the probe on the websocket ("2probe", "3probe", "5"; a
 *     GET waiting or coming after the probe gets a noop, "6").
 *     The path is not looked at; a request it cannot use closes the
 *     connection after a 400.
 *   - Masked, unfragmented client frames of up to maxPayload (1e6) bytes:
 *     "40" (answered 40{"sid":...}), "3" (a pong: nothing to do), pings,
 *     close, and the events "echo", "join", "bcast", "stats" with or
 *     without an ack id. An echo is not parsed past its event name: the
 *     ack is "43" + the id + "[" + the rest of the frame, unmasked as it
 *     is copied (sioc re-encodes the arguments; for the load generator's
 *     strings the bytes are the same).
 *   - A ping ("2") to every websocket client every 25 s (pingInterval);
 *     pongs are not timed. A client is in at most one room.
 *   - With --parser msgpack, binary messages are socket.io-msgpack-parser
 *     packets (read with bench/loadgen/msgpack.c): the CONNECT and the
 *     "echo" with an ack id, answered with sioc's bytes, the arguments
 *     copied as they came.
 *   - Polling that never upgrades: POSTs of "40" and "echo" packets (the
 *     acks built as on the websocket), answered "ok"; the packets wait in
 *     the session for its GET (one send on the GET's connection).
 *
 * Writes, as sioc: input is read 64 KiB at a time; what one read asks for
 * is answered with one send() on that connection; a broadcast tick (every
 * burst due by then) goes to each member with one send(). What the kernel
 * does not take waits in the connection's queue, up to sioc's caps (8 MiB
 * or 8192 packets); past them the client is cut off and the cut logged as
 * the other peers log it ("DISCONNECT t_us id queue full" on stderr).
 *
 * Engine.IO and Socket.IO ids come from a xorshift generator seeded once
 * (sioc asks getrandom() for each). Polling sessions live until their
 * upgrade completes or the connection of their waiting GET closes; they
 * get no pings (the load generator's polling runs are shorter than the
 * ping interval).
 *
 *   floor_server [--port N] [--parser msgpack]
 *
 * --port 0 picks a free port; it prints "PORT <n>".
 *
 * SIGINT or SIGTERM stops it.
 */
#define _GNU_SOURCE /* accept4, memmem */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msgpack.h" /* the load generator's msgpack reader (bench/loadgen) */

#define READ_MAX (64u * 1024u)       /* bytes per recv(), as sioc reads */
#define MAX_PAYLOAD 1000000u         /* maxPayload of the open packet */
#define KEEP_MAX (MAX_PAYLOAD + 14u) /* a partial frame kept between reads */
#define MAX_REQUEST 8192u            /* HTTP request headers */
#define MAX_CONTROL_MSG 1024u        /* join, bcast, stats messages */
#define QUEUE_BYTES (8u << 20)       /* sioc's output queue caps */
#define QUEUE_PACKETS 8192u
#define PING_INTERVAL_MS 25000
#define BACKLOG 4096 /* as lws listens */
#define MAX_EVENTS 512
#define SID_LEN 20

#define OPEN_JSON_TAIL "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"
#define HTTP_200                                                                                   \
	"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"                           \
	"cache-control: no-store\r\nConnection: keep-alive\r\n\r\n"
#define TEXT_PLAIN "text/plain; charset=UTF-8"

static volatile sig_atomic_t g_stop;

/* What the kernel did not take: data[off, len). */
struct outq {
	size_t off, len, cap;
	uint32_t packets; /* packets in data[off, len), rounded up */
	uint8_t data[];
};

enum conn_kind {
	CK_FREE,
	CK_HTTP, /* requests (polling, or until the upgrade) */
	CK_WS,   /* frames */
};

/* A connection, at conns[fd]. */
struct conn {
	uint8_t *in;      /* an incomplete frame or request kept between reads */
	struct outq *out; /* NULL when nothing waits */
	struct room *room;
	int64_t ping_due; /* monotonic ms of the next ping */
	uint32_t in_len;
	uint32_t room_pos; /* index in room->fds */
	uint32_t sess;     /* polling session + 1: the one upgrading here, or whose GET waits */
	int ping_prev, ping_next; /* the ping list, by fd; -1 at the ends */
	uint8_t kind;             /* enum conn_kind */
	bool want_out;            /* EPOLLOUT registered */
	bool probing;             /* a websocket upgrading a polling session */
	bool pinged;              /* on the ping list */
};

struct room {
	struct room *next;
	int *fds;
	uint32_t n, cap;
	size_t name_len;
	char name[];
};

/* A running "bcast": `burst` emits every `period_ns`, `ticks` times. */
struct bcast {
	struct bcast *next;
	int fd; /* who asked: the ack goes there */
	struct room *room;
	int64_t start_ns;
	double period_ns;
	long burst, ticks, done, count;
	uint8_t *head; /* "42[\"b\",\"xxx...\"," */
	size_t head_len;
	size_t ack_len;
	char ack_id[24]; /* empty: no ack asked */
};

/* A polling session, until its upgrade completes or its waiting GET's
 * connection closes. */
struct session {
	char sid[SID_LEN];
	int poll_fd;   /* a GET waiting for a packet, -1 */
	int next_free; /* in the free list, -1 at its end */
	bool in_use;
	bool probed;    /* "2probe" came: a GET is answered at once */
	uint8_t *queue; /* packets waiting for a GET, joined by 0x1e */
	size_t queue_len, queue_cap;
};

struct floor {
	int epfd, lfd;
	struct conn *conns; /* by fd */
	size_t conns_cap;
	uint32_t clients; /* Engine.IO clients: websockets past the handshake, sessions */
	uint8_t *rx;      /* KEEP_MAX + READ_MAX */
	uint8_t *tx;      /* what goes out in one send */
	size_t tx_len, tx_cap;
	uint8_t *scratch; /* a msgpack message unmasked; a waiting GET's response */
	size_t scratch_cap;
	bool msgpack; /* --parser msgpack */
	uint32_t tx_packets;
	struct room *rooms;
	struct bcast *bcasts;
	struct session *sessions;
	int nsessions, sessions_cap, free_session;
	int ping_head, ping_tail;
	int64_t t0_ms;
	uint64_t rng;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes v in decimal at dst; returns the digits written. */
static size_t write_u64(uint8_t *dst, uint64_t v)
{
	uint8_t tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* dst[i] = src[i] ^ mask[(phase + i) & 3], eight bytes at a time; dst may
 * be src. */
static void unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4], size_t phase)
{
	uint8_t k[8];
	uint64_t key, w;
	size_t i = 0;

	for (int j = 0; j < 8; j++)
		k[j] = mask[(phase + (size_t)j) & 3];
	memcpy(&key, k, 8);
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= key;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ k[i & 7];
}

/* The header of an unmasked server frame of `len` bytes; returns its size. */
static size_t frame_header(uint8_t *out, uint8_t opcode, size_t len)
{
	out[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

static uint64_t rng_next(struct floor *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng * 0x2545F4914F6CDD1Dull;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* n random id characters at dst. */
static void random_id(struct floor *f, char *dst, size_t n)
{
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 10 == 0)
			r = rng_next(f);
		dst[i] = b64url[r & 63];
		r >>= 6;
	}
}

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ------------------------- */

static uint32_t rol32(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t fn, k, t;

		if (i < 20) {
			fn = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			fn = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			fn = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			fn = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = rol32(a, 5) + fn + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20])
{
	uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
	size_t total = ((len + 8) / 64 + 1) * 64;
	uint8_t block[64];

	for (size_t off = 0; off < total; off += 64) {
		for (size_t i = 0; i < 64; i++) {
			size_t k = off + i;

			block[i] = k < len ? msg[k] : k == len ? 0x80 : 0;
		}
		if (off + 64 == total)
			for (int i = 0; i < 8; i++)
				block[56 + i] = (uint8_t)((uint64_t)len * 8 >> (56 - 8 * i));
		sha1_block(h, block);
	}
	for (int i = 0; i < 20; i++)
		out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Sec-WebSocket-Accept of a 24-character key, NUL-terminated in out[29]. */
static void ws_accept(const uint8_t *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t in[24 + sizeof(guid) - 1], d[21] = {0};
	size_t k = 0;

	memcpy(in, key, 24);
	memcpy(in + 24, guid, sizeof(guid) - 1);
	sha1(in, sizeof(in), d);
	for (int i = 0; i < 21; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];

		out[k++] = b64[v >> 18];
		out[k++] = b64[(v >> 12) & 63];
		out[k++] = b64[(v >> 6) & 63];
		out[k++] = b64[v & 63];
	}
	out[27] = '='; /* 20 bytes: the last group has two */
	out[28] = '\0';
}

/* ---- output ------------------------------------------------------------- */

/* Room for n more bytes in f->tx; returns where they go. */
static uint8_t *tx_reserve(struct floor *f, size_t n)
{
	if (f->tx_cap - f->tx_len < n) {
		size_t cap = f->tx_cap * 2;
		uint8_t *p;

		while (cap - f->tx_len < n)
			cap *= 2;
		p = realloc(f->tx, cap);
		if (!p) {
			fprintf(stderr, "floor_server: out of memory\n");
			exit(1);
		}
		f->tx = p;
		f->tx_cap = cap;
	}
	return f->tx + f->tx_len;
}

/* Appends a text frame carrying s (n bytes) to f->tx. */
static void tx_text(struct floor *f, const void *s, size_t n)
{
	uint8_t *p = tx_reserve(f, n + 10);
	size_t h = frame_header(p, 0x1, n);

	memcpy(p + h, s, n);
	f->tx_len += h + n;
	f->tx_packets++;
}

static void conn_close(struct floor *f, int fd);

static void set_want_out(struct floor *f, int fd, bool on)
{
	struct conn *c = &f->conns[fd];
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u),
	                         .data.u64 = (uint64_t)fd};

	if (c->want_out != on && epoll_ctl(f->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		c->want_out = on;
}

/* Queues p (n bytes holding `packets` packets) behind what waits on fd; cuts
 * the client off past sioc's caps. Returns false when fd was closed. */
static bool out_queue(struct floor *f, int fd, const uint8_t *p, size_t n, uint32_t packets)
{
	struct conn *c = &f->conns[fd];
	struct outq *q = c->out;

	if (q && q->off > 0 && q->cap - q->len < n) {
		memmove(q->data, q->data + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (!q || q->cap - q->len < n) {
		size_t used = q ? q->len : 0, cap = q ? q->cap * 2 : 4096;

		while (cap - used < n)
			cap *= 2;
		q = realloc(q, sizeof(*q) + cap);
		if (!q) {
			conn_close(f, fd);
			return false;
		}
		if (!c->out)
			q->off = q->len = q->packets = 0;
		q->cap = cap;
		c->out = q;
	}
	memcpy(q->data + q->len, p, n);
	q->len += n;
	q->packets += packets;
	if (q->len - q->off > QUEUE_BYTES || q->packets > QUEUE_PACKETS) {
		fprintf(stderr, "DISCONNECT %lld fd%d queue full\n", (long long)realtime_us(), fd);
		conn_close(f, fd);
		return false;
	}
	set_want_out(f, fd, true);
	return true;
}

/* Sends p (n bytes, `packets` packets) on fd: now when nothing waits before
 * it, what the kernel does not take queued. Returns false when fd was
 * closed. */
static bool conn_send(struct floor *f, int fd, const uint8_t *p, size_t n, uint32_t packets)
{
	struct conn *c = &f->conns[fd];
	size_t sent = 0;

	if (!c->out) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(f, fd);
				return false;
			}
			r = 0;
		}
		sent = (size_t)r;
		if (sent == n)
			return true;
	}
	return out_queue(f, fd, p + sent, n - sent,
	                 (uint32_t)(((uint64_t)packets * (n - sent) + n - 1) / n));
}

/* Writes what waits on fd (EPOLLOUT). */
static void conn_flush(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];
	struct outq *q = c->out;
	size_t before;
	ssize_t r;

	if (!q)
		return;
	before = q->len - q->off;
	r = send(fd, q->data + q->off, before, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(f, fd);
		return;
	}
	q->off += (size_t)r;
	if (q->off < q->len) {
		q->packets = (uint32_t)(((uint64_t)q->packets * (q->len - q->off) + before - 1) /
		                        before);
		return;
	}
	free(q);
	c->out = NULL;
	set_want_out(f, fd, false);
}

/* ---- rooms, pings, sessions --------------------------------------------- */

static struct room *room_get(struct floor *f, const char *name, size_t len)
{
	struct room *r;

	for (r = f->rooms; r; r = r->next)
		if (r->name_len == len && memcmp(r->name, name, len) == 0)
			return r;
	r = calloc(1, sizeof(*r) + len);
	if (!r)
		return NULL;
	memcpy(r->name, name, len);
	r->name_len = len;
	r->next = f->rooms;
	f->rooms = r;
	return r;
}

static void room_leave(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];
	struct room *r = c->room;

	if (!r)
		return;
	r->fds[c->room_pos] = r->fds[--r->n];
	f->conns[r->fds[c->room_pos]].room_pos = c->room_pos;
	c->room = NULL;
}

static bool room_join(struct floor *f, int fd, struct room *r)
{
	struct conn *c = &f->conns[fd];

	if (c->room == r)
		return true;
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		int *p = realloc(r->fds, cap * sizeof(*p));

		if (!p)
			return false;
		r->fds = p;
		r->cap = cap;
	}
	room_leave(f, fd);
	c->room = r;
	c->room_pos = r->n;
	r->fds[r->n++] = fd;
	return true;
}

static void ping_unlink(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];

	if (!c->pinged)
		return;
	if (c->ping_prev >= 0)
		f->conns[c->ping_prev].ping_next = c->ping_next;
	else
		f->ping_head = c->ping_next;
	if (c->ping_next >= 0)
		f->conns[c->ping_next].ping_prev = c->ping_prev;
	else
		f->ping_tail = c->ping_prev;
	c->pinged = false;
}

/* Puts fd at the end of the ping list, due PING_INTERVAL_MS from now: the
 * list stays in due order, as every client has the same interval. */
static void ping_schedule(struct floor *f, int fd, int64_t now_ms)
{
	struct conn *c = &f->conns[fd];

	ping_unlink(f, fd);
	c->ping_due = now_ms + PING_INTERVAL_MS;
	c->ping_prev = f->ping_tail;
	c->ping_next = -1;
	if (f->ping_tail >= 0)
		f->conns[f->ping_tail].ping_next = fd;
	else
		f->ping_head = fd;
	f->ping_tail = fd;
	c->pinged = true;
}

static struct session *session_create(struct floor *f)
{
	struct session *s;
	int i = f->free_session;

	if (i >= 0) {
		f->free_session = f->sessions[i].next_free;
	} else {
		if (f->nsessions == f->sessions_cap) {
			int cap = f->sessions_cap ? f->sessions_cap * 2 : 1024;
			struct session *p;

			if (cap > (1 << 24)) /* the index is 4 id characters */
				return NULL;
			p = realloc(f->sessions, (size_t)cap * sizeof(*p));
			if (!p)
				return NULL;
			f->sessions = p;
			f->sessions_cap = cap;
		}
		i = f->nsessions++;
	}
	s = &f->sessions[i];
	memset(s, 0, sizeof(*s));
	s->in_use = true;
	s->poll_fd = -1;
	for (int k = 0; k < 4; k++)
		s->sid[k] = b64url[(i >> (6 * k)) & 63];
	random_id(f, s->sid + 4, SID_LEN - 4);
	f->clients++;
	return s;
}

/* The session whose sid is p (n bytes), or NULL. */
static struct session *session_find(struct floor *f, const uint8_t *p, size_t n)
{
	int i = 0;

	if (n != SID_LEN)
		return NULL;
	for (int k = 0; k < 4; k++) {
		const char *at = memchr(b64url, p[k], 64);

		if (!at || !p[k])
			return NULL;
		i |= (int)(at - b64url) << (6 * k);
	}
	if (i >= f->nsessions || !f->sessions[i].in_use ||
	    memcmp(f->sessions[i].sid, p, SID_LEN) != 0)
		return NULL;
	return &f->sessions[i];
}

static void session_free(struct floor *f, struct session *s)
{
	int i = (int)(s - f->sessions);

	free(s->queue);
	s->queue = NULL;
	s->in_use = false;
	s->next_free = f->free_session;
	f->free_session = i;
}

/* ---- Socket.IO events ---------------------------------------------------- */

/* The ack "43<id>[<args>]" of a message, its id at id (id_len digits). */
static void tx_ack(struct floor *f, const uint8_t *id, size_t id_len, const char *args)
{
	size_t n = strlen(args);
	uint8_t *p = tx_reserve(f, 2 + id_len + n + 10);
	size_t h = frame_header(p, 0x1, 2 + id_len + n);

	p[h] = '4';
	p[h + 1] = '3';
	memcpy(p + h + 2, id, id_len);
	memcpy(p + h + 2 + id_len, args, n);
	f->tx_len += h + 2 + id_len + n;
	f->tx_packets++;
}

/* "join" [room]: msg is the whole packet, NUL-terminated; at points past
 * `"join"`. */
static void on_join(struct floor *f, int fd, const char *at, const uint8_t *id, size_t id_len)
{
	const char *name, *end;
	struct room *r;
	bool ok = false;

	if (at[0] == ',' && at[1] == '"') {
		name = at + 2;
		end = strchr(name, '"');
		if (end) {
			r = room_get(f, name, (size_t)(end - name));
			ok = r && room_join(f, fd, r);
		}
	}
	if (id_len)
		tx_ack(f, id, id_len, ok ? "[true]" : "[false]");
}

/* Reads ",<number>" at *p. */
static bool next_number(const char **p, double *v)
{
	char *end;

	if (**p != ',')
		return false;
	*v = strtod(*p + 1, &end);
	if (end == *p + 1)
		return false;
	*p = end;
	return true;
}

static void bcast_free(struct floor *f, struct bcast *b)
{
	for (struct bcast **pp = &f->bcasts; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	free(b->head);
	free(b);
}

/* "bcast" [room, rate, burst, seconds, payload_bytes] (bench/PROTOCOL.md). */
static void on_bcast(struct floor *f, int fd, const char *at, const uint8_t *id, size_t id_len)
{
	static const char head[] = "42[\"b\",\"";
	const char *name, *end;
	double rate, burst, seconds, bytes;
	struct bcast *b = NULL;

	if (at[0] != ',' || at[1] != '"')
		goto refuse;
	name = at + 2;
	end = strchr(name, '"');
	if (!end)
		goto refuse;
	at = end + 1;
	if (!next_number(&at, &rate) || !next_number(&at, &burst) || !next_number(&at, &seconds) ||
	    !next_number(&at, &bytes) || !(rate > 0) || !(burst >= 1) || !(seconds > 0) ||
	    !(bytes >= 0) || bytes > 1e6)
		goto refuse;
	for (b = f->bcasts; b; b = b->next)
		if (b->fd == fd)
			goto refuse; /* one at a time per client, as the other peers */
	b = calloc(1, sizeof(*b));
	if (!b)
		goto refuse;
	b->fd = fd;
	b->room = room_get(f, name, (size_t)(end - name));
	b->burst = (long)burst;
	b->period_ns = 1e9 * (double)b->burst / rate;
	b->ticks = (long)(seconds * rate / (double)b->burst + 0.5);
	if (b->ticks < 1)
		b->ticks = 1;
	b->head_len = sizeof(head) - 1 + (size_t)bytes + 2;
	b->head = malloc(b->head_len);
	if (!b->room || !b->head) {
		free(b->head);
		free(b);
		goto refuse;
	}
	memcpy(b->head, head, sizeof(head) - 1);
	memset(b->head + sizeof(head) - 1, 'x', (size_t)bytes);
	memcpy(b->head + b->head_len - 2, "\",", 2);
	memcpy(b->ack_id, id, id_len);
	b->ack_len = id_len;
	b->start_ns = now_ns();
	b->next = f->bcasts;
	f->bcasts = b;
	return;
refuse:
	if (id_len)
		tx_ack(f, id, id_len, "[false]");
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/*
 * A Socket.IO EVENT "42[id][...]": payload (n bytes, masked with mask);
 * head is its first hn bytes unmasked. An echo is answered from the frame
 * as it is; the others are unmasked whole.
 */
static void on_event(struct floor *f, int fd, const uint8_t *payload, size_t n, const uint8_t *mask,
                     const uint8_t *head, size_t hn)
{
	size_t i = 2, id_len, j, from;
	char msg[MAX_CONTROL_MSG + 1];
	const uint8_t *id = head + 2;

	while (i < hn && head[i] >= '0' && head[i] <= '9')
		i++;
	id_len = i - 2;
	if (id_len > 20 || i + 2 > hn || head[i] != '[' || head[i + 1] != '"')
		return;
	i += 2; /* the event name */
	if (hn >= i + 6 && memcmp(head + i, "echo\"", 5) == 0) {
		j = i + 5; /* ',' before the arguments, or ']' */
		if (!id_len) {
			/* an event back: the packet as it came */
			uint8_t *p = tx_reserve(f, n + 10);
			size_t h = frame_header(p, 0x1, n);

			unmask(p + h, payload, n, mask, 0);
			f->tx_len += h + n;
			f->tx_packets++;
			return;
		}
		from = head[j] == ',' ? j + 1 : j;
		uint8_t *p = tx_reserve(f, 3 + id_len + (n - from) + 10);
		size_t len = 3 + id_len + (n - from);
		size_t h = frame_header(p, 0x1, len);

		p[h] = '4';
		p[h + 1] = '3';
		memcpy(p + h + 2, id, id_len);
		p[h + 2 + id_len] = '[';
		unmask(p + h + 3 + id_len, payload + from, n - from, mask, from);
		f->tx_len += h + len;
		f->tx_packets++;
		return;
	}
	if (n > MAX_CONTROL_MSG)
		return;
	unmask((uint8_t *)msg, payload, n, mask, 0);
	msg[n] = '\0';
	if (n >= i + 5 && memcmp(msg + i, "join\"", 5) == 0) {
		on_join(f, fd, msg + i + 5, id, id_len);
	} else if (n >= i + 6 && memcmp(msg + i, "bcast\"", 6) == 0) {
		on_bcast(f, fd, msg + i + 6, id, id_len);
	} else if (n >= i + 6 && memcmp(msg + i, "stats\"", 6) == 0 && id_len) {
		char args[96];

		snprintf(args, sizeof(args), "[{\"rss_kb\":%ld,\"clients\":%u}]", rss_kb(),
		         f->clients);
		tx_ack(f, id, id_len, args);
	}
}

/* Ends the GET waiting on s, if any, with a noop: once the probe came, the
 * client waits for it before it completes the upgrade. */
static void poll_noop(struct floor *f, struct session *s)
{
	char res[192];
	int k, w = s->poll_fd;

	if (w < 0)
		return;
	k = snprintf(res, sizeof(res), HTTP_200 "6", TEXT_PLAIN, (size_t)1);
	s->poll_fd = -1;
	f->conns[w].sess = 0;
	conn_send(f, w, (const uint8_t *)res, (size_t)k, 1);
}

/* The probe of a polling session's websocket is done ("5"). */
static void upgrade_done(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];
	struct session *s = &f->sessions[c->sess - 1];

	poll_noop(f, s);
	session_free(f, s);
	c->sess = 0;
	c->probing = false;
	ping_schedule(f, fd, now_ns() / 1000000);
}

/* A text message (n bytes, masked with mask). Returns false when fd was
 * closed. */
static bool on_message(struct floor *f, int fd, const uint8_t *payload, size_t n,
                       const uint8_t *mask)
{
	struct conn *c = &f->conns[fd];
	uint8_t head[48];
	size_t hn = n < sizeof(head) ? n : sizeof(head);

	if (n == 0)
		return true;
	unmask(head, payload, hn, mask, 0);
	switch (head[0]) {
	case '4': /* Engine.IO message: a Socket.IO packet */
		if (hn >= 2 && head[1] == '2') {
			on_event(f, fd, payload, n, mask, head, hn);
		} else if (hn >= 2 && head[1] == '0' && (hn == 2 || head[2] == '{')) {
			char r[10 + SID_LEN + 2] = "40{\"sid\":\"";

			random_id(f, r + 10, SID_LEN);
			memcpy(r + 10 + SID_LEN, "\"}", 2);
			tx_text(f, r, sizeof(r));
		}
		break;
	case '2':
		if (c->probing && n == 6 && memcmp(head, "2probe", 6) == 0) {
			tx_text(f, "3probe", 6);
			f->sessions[c->sess - 1].probed = true;
			poll_noop(f, &f->sessions[c->sess - 1]);
		}
		break;
	case '5':
		if (c->probing)
			upgrade_done(f, fd);
		break;
	case '1':
		conn_close(f, fd);
		return false;
	default:
		break; /* "3": a pong */
	}
	return true;
}

/* Writes v as msgpack's shortest unsigned at out; returns its length. */
static size_t mp_put_uint(uint8_t *out, uint64_t v)
{
	size_t n = v < 128 ? 0 : v < 256 ? 1 : v < 65536 ? 2 : v <= UINT32_MAX ? 4 : 8;

	if (n == 0) {
		out[0] = (uint8_t)v;
		return 1;
	}
	out[0] = n == 1 ? 0xcc : n == 2 ? 0xcd : n == 4 ? 0xce : 0xcf;
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 1 + n;
}

/*
 * A binary message with --parser msgpack (n bytes, masked with mask): a
 * packet map, unmasked into f->scratch and read for its type, id and data.
 * The CONNECT gets sioc's {type:0,data:{sid},nsp:"/"}; an "echo" with an
 * ack id gets sioc's ack {id,type:3,data:[args],nsp:"/"}, the arguments
 * copied as they came (sioc decodes and re-encodes them; for the load
 * generator's strings the bytes are the same). The rest is dropped.
 */
static void on_binary(struct floor *f, const uint8_t *payload, size_t n, const uint8_t *mask)
{
	static const uint8_t connect_head[] = {0x83, 0xa4, 't', 'y', 'p', 'e',
	                                       0x00, 0xa4, 'd', 'a', 't', 'a',
	                                       0x81, 0xa3, 's', 'i', 'd', 0xa0 | SID_LEN};
	static const uint8_t nsp_tail[] = {0xa3, 'n', 's', 'p', 0xa1, '/'};
	struct mp_packet pk;
	const uint8_t *d;
	size_t off, count, len, h, rest, idn;
	uint8_t id[9], *p;

	unmask(f->scratch, payload, n, mask, 0);
	if (mp_packet_parse(f->scratch, n, &pk) < 0)
		return;
	if (pk.type == 0) {
		len = sizeof(connect_head) + SID_LEN + sizeof(nsp_tail);
		p = tx_reserve(f, len + 10);
		h = frame_header(p, 0x2, len);
		memcpy(p + h, connect_head, sizeof(connect_head));
		random_id(f, (char *)p + h + sizeof(connect_head), SID_LEN);
		memcpy(p + h + len - sizeof(nsp_tail), nsp_tail, sizeof(nsp_tail));
		f->tx_len += h + len;
		f->tx_packets++;
		return;
	}
	if (pk.type != 2 || !pk.has_id || !pk.data)
		return;
	d = pk.data; /* [name, args...] */
	if (d[0] >= 0x91 && d[0] <= 0x9f) {
		count = d[0] & 0x0f;
		off = 1;
	} else if (d[0] == 0xdc && pk.data_len >= 3) {
		count = (size_t)d[1] << 8 | d[2];
		off = 3;
	} else {
		return;
	}
	if (count < 1 || pk.data_len - off < 5 ||
	    memcmp(d + off,
	           "\xa4"
	           "echo",
	           5) != 0)
		return;
	off += 5;
	rest = pk.data_len - off;
	count--;
	idn = mp_put_uint(id, pk.id);
	len = 1 + 3 + idn + 6 + 5 + (count < 16 ? 1 : 3) + rest + sizeof(nsp_tail);
	p = tx_reserve(f, len + 10);
	h = frame_header(p, 0x2, len);
	p += h;
	*p++ = 0x84;
	memcpy(p,
	       "\xa2"
	       "id",
	       3);
	memcpy(p + 3, id, idn);
	p += 3 + idn;
	memcpy(p,
	       "\xa4"
	       "type"
	       "\x03"
	       "\xa4"
	       "data",
	       11);
	p += 11;
	if (count < 16) {
		*p++ = (uint8_t)(0x90 | count);
	} else {
		*p++ = 0xdc;
		*p++ = (uint8_t)(count >> 8);
		*p++ = (uint8_t)count;
	}
	memcpy(p, d + off, rest);
	memcpy(p + rest, nsp_tail, sizeof(nsp_tail));
	f->tx_len += h + len;
	f->tx_packets++;
}

/* Handles the complete frames in buf; returns the bytes used, -1 when fd
 * was closed. */
static long ws_input(struct floor *f, int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= 2) {
		const uint8_t *p = buf + off;
		uint64_t plen = p[1] & 0x7f;
		size_t h = 2;

		if (!(p[0] & 0x80) || (p[0] & 0x70) || !(p[1] & 0x80)) {
			conn_close(f, fd); /* fragmented, an extension, or unmasked */
			return -1;
		}
		if (plen == 126) {
			if (len - off < 4)
				break;
			plen = (uint64_t)p[2] << 8 | p[3];
			h = 4;
		} else if (plen == 127) {
			if (len - off < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | p[2 + i];
			h = 10;
		}
		if (plen > MAX_PAYLOAD) {
			conn_close(f, fd);
			return -1;
		}
		if (len - off < h + 4 + plen)
			break;
		switch (p[0] & 0x0f) {
		case 0x1:
			if (!on_message(f, fd, p + h + 4, (size_t)plen, p + h))
				return -1;
			break;
		case 0x2:
			if (f->msgpack)
				on_binary(f, p + h + 4, (size_t)plen, p + h);
			break;
		case 0x8:
			conn_close(f, fd);
			return -1;
		case 0x9:
			if (plen <= 125) {
				uint8_t *q = tx_reserve(f, plen + 2);

				q[0] = 0x8a;
				q[1] = (uint8_t)plen;
				unmask(q + 2, p + h + 4, (size_t)plen, p + h, 0);
				f->tx_len += 2 + plen;
				f->tx_packets++;
			}
			break;
		default:
			break;
		}
		off += h + 4 + (size_t)plen;
	}
	return (long)off;
}

/* ---- HTTP ---------------------------------------------------------------- */

struct request {
	bool post;
	bool websocket; /* else polling */
	const uint8_t *sid, *key;
	size_t sid_len, key_len;
	size_t content_length;
};

static bool prefix_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t ch = p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch + 32);
		if (ch != (uint8_t)lit[i])
			return false;
	}
	return true;
}

/* Reads the request line's method and query and the two headers used from
 * the headers at p (n bytes, ending with the blank line). */
static bool parse_request(const uint8_t *p, size_t n, struct request *r)
{
	const uint8_t *end = p + n, *line_end = memchr(p, '\n', n), *target, *q, *target_end;
	bool have_transport = false;

	memset(r, 0, sizeof(*r));
	if (line_end - p < 6)
		return false;
	if (memcmp(p, "POST ", 5) == 0)
		r->post = true;
	else if (memcmp(p, "GET ", 4) != 0)
		return false;
	target = p + (r->post ? 5 : 4);
	q = memchr(target, '?', (size_t)(line_end - target));
	target_end = memchr(target, ' ', (size_t)(line_end - target));
	if (!q || !target_end || q > target_end)
		return false;
	for (q++; q < target_end;) {
		const uint8_t *amp = memchr(q, '&', (size_t)(target_end - q));
		const uint8_t *v_end = amp ? amp : target_end;

		if (v_end - q >= 10 && memcmp(q, "transport=", 10) == 0) {
			have_transport = true;
			r->websocket = v_end - q == 19 && memcmp(q + 10, "websocket", 9) == 0;
		} else if (v_end - q >= 4 && memcmp(q, "sid=", 4) == 0) {
			r->sid = q + 4;
			r->sid_len = (size_t)(v_end - q - 4);
		}
		q = v_end + 1;
	}
	for (const uint8_t *l = line_end + 1; l < end; l = memchr(l, '\n', (size_t)(end - l)) + 1) {
		size_t left = (size_t)(end - l);

		if (prefix_ci(l, left, "sec-websocket-key:")) {
			const uint8_t *v = l + 18;

			while (v < end && *v == ' ')
				v++;
			r->key = v;
			while (v < end && *v != '\r' && *v != ' ')
				v++;
			r->key_len = (size_t)(v - r->key);
		} else if (prefix_ci(l, left, "content-length:")) {
			r->content_length = strtoul((const char *)l + 15, NULL, 10);
		}
	}
	return have_transport;
}

/* A 200 response on the polling request of fd into f->tx. */
static void tx_http_200(struct floor *f, const char *type, const char *body, size_t n)
{
	char *p = (char *)tx_reserve(f, 256 + n);
	int k = snprintf(p, 256, HTTP_200, type, n);

	memcpy(p + k, body, n);
	f->tx_len += (size_t)k + n;
	f->tx_packets++;
}

/* The open packet's JSON ("0{...}") of s's sid at out; returns its length. */
static size_t open_packet(char *out, const char *sid, bool upgrades)
{
	return (size_t)sprintf(out, "0{\"sid\":\"%.*s\",\"upgrades\":[%s]," OPEN_JSON_TAIL, SID_LEN,
	                       sid, upgrades ? "\"websocket\"" : "");
}

/* Appends packet p (n bytes) to what waits for s's next GET; false when out
 * of memory. */
static bool poll_queue(struct session *s, const void *p, size_t n)
{
	size_t need = s->queue_len + 1 + n;

	if (need > s->queue_cap) {
		size_t cap = s->queue_cap ? s->queue_cap : 256;
		uint8_t *q;

		while (cap < need)
			cap *= 2;
		q = realloc(s->queue, cap);
		if (!q)
			return false;
		s->queue = q;
		s->queue_cap = cap;
	}
	if (s->queue_len)
		s->queue[s->queue_len++] = 0x1e;
	memcpy(s->queue + s->queue_len, p, n);
	s->queue_len += n;
	return true;
}

/*
 * One packet of a POST to s (n bytes): "40" queues the CONNECT reply; an
 * "echo" with an ack id queues "43<id>[" and the arguments as they came,
 * without one the packet itself; the rest ("3", "1", other events) are
 * dropped. False when out of memory.
 */
static bool poll_packet(struct floor *f, struct session *s, const uint8_t *p, size_t n)
{
	size_t i = 2, id_len;
	uint8_t *q;

	if (n < 2 || p[0] != '4')
		return true;
	if (p[1] == '0') {
		char r[10 + SID_LEN + 2] = "40{\"sid\":\"";

		random_id(f, r + 10, SID_LEN);
		memcpy(r + 10 + SID_LEN, "\"}", 2);
		return poll_queue(s, r, sizeof(r));
	}
	if (p[1] != '2')
		return true;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	id_len = i - 2;
	if (id_len > 20 || n - i < 7 || memcmp(p + i, "[\"echo\"", 7) != 0)
		return true;
	if (!id_len)
		return poll_queue(s, p, n);
	i += 7;
	if (i < n && p[i] == ',')
		i++;
	/* "43" id "[" rest: the packet's first bytes, patched */
	if (!poll_queue(s, p, 3 + id_len + (n - i)))
		return false;
	q = s->queue + s->queue_len - (3 + id_len + (n - i));
	q[1] = '3';
	q[2 + id_len] = '[';
	memcpy(q + 3 + id_len, p + i, n - i);
	return true;
}

/* Answers the GET waiting on s with every packet queued, one send. */
static void poll_answer(struct floor *f, struct session *s)
{
	int w = s->poll_fd, k;
	size_t need = 256 + s->queue_len;

	if (need > f->scratch_cap) {
		uint8_t *p = realloc(f->scratch, need);

		if (!p)
			return; /* left waiting */
		f->scratch = p;
		f->scratch_cap = need;
	}
	k = snprintf((char *)f->scratch, 256, HTTP_200, TEXT_PLAIN, s->queue_len);
	memcpy(f->scratch + k, s->queue, s->queue_len);
	need = (size_t)k + s->queue_len;
	s->queue_len = 0;
	s->poll_fd = -1;
	f->conns[w].sess = 0;
	conn_send(f, w, f->scratch, need, 1);
}

/*
 * Serves one request. Returns 1 when fd became a websocket, 0 when more
 * requests may follow, -1 when fd was closed.
 */
static int http_request(struct floor *f, int fd, const struct request *r, const uint8_t *body)
{
	struct conn *c = &f->conns[fd];
	struct session *s = r->sid ? session_find(f, r->sid, r->sid_len) : NULL;
	char open[160];

	if (r->sid && !s)
		goto bad;
	if (r->websocket) {
		char accept[29];
		uint8_t *p;
		int k;

		if (r->post || r->key_len != 24)
			goto bad;
		ws_accept(r->key, accept);
		p = tx_reserve(f, 256);
		k = snprintf((char *)p, 256,
		             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		             accept);
		f->tx_len += (size_t)k;
		c->kind = CK_WS;
		if (s) {
			c->probing = true;
			c->sess = (uint32_t)(s - f->sessions) + 1;
		} else {
			char sid[SID_LEN];

			random_id(f, sid, SID_LEN);
			tx_text(f, open, open_packet(open, sid, false));
			f->clients++;
			ping_schedule(f, fd, now_ns() / 1000000);
		}
		return 1;
	}
	if (!s) {
		if (r->post)
			goto bad;
		s = session_create(f);
		if (!s)
			goto bad;
		tx_http_200(f, TEXT_PLAIN, open, open_packet(open, s->sid, true));
		return 0;
	}
	if (r->post) {
		/* packets joined by the record separator */
		for (size_t i = 0, start = 0; i <= r->content_length; i++) {
			if (i < r->content_length && body[i] != 0x1e)
				continue;
			if (!poll_packet(f, s, body + start, i - start))
				goto bad;
			start = i + 1;
		}
		tx_http_200(f, "text/html", "ok", 2);
		if (s->queue_len && s->poll_fd >= 0 && s->poll_fd != fd)
			poll_answer(f, s);
		return 0;
	}
	if (s->queue_len) {
		tx_http_200(f, TEXT_PLAIN, (const char *)s->queue, s->queue_len);
		s->queue_len = 0;
	} else if (s->probed) {
		tx_http_200(f, TEXT_PLAIN, "6", 1); /* the upgrade is under way */
	} else {
		s->poll_fd = fd; /* answered when a packet comes */
		c->sess = (uint32_t)(s - f->sessions) + 1;
	}
	return 0;
bad:
	f->tx_len = 0;
	tx_reserve(f, 128);
	f->tx_len = (size_t)snprintf((char *)f->tx, 128,
	                             "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
	                             "Connection: close\r\n\r\n");
	send(fd, f->tx, f->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	f->tx_len = 0;
	conn_close(f, fd);
	return -1;
}

/* Serves the complete requests in buf (and the frames after an upgrade);
 * returns the bytes used, -1 when fd was closed. */
static long http_input(struct floor *f, int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const uint8_t *p = buf + off, *end = memmem(p, len - off, "\r\n\r\n", 4);
		struct request r;
		size_t hlen;
		int rc;

		if (!end) {
			if (len - off > MAX_REQUEST) {
				conn_close(f, fd);
				return -1;
			}
			break;
		}
		hlen = (size_t)(end + 4 - p);
		if (!parse_request(p, hlen, &r) || r.content_length > MAX_PAYLOAD) {
			r.sid = NULL;
			r.websocket = true;
			r.key_len = 0; /* answered 400 */
			r.content_length = 0;
		}
		if (len - off - hlen < r.content_length)
			break;
		off += hlen + r.content_length;
		rc = http_request(f, fd, &r, p + hlen);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			long used = ws_input(f, fd, buf + off, len - off);

			return used < 0 ? -1 : (long)off + used;
		}
	}
	return (long)off;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];
	struct bcast *b;

	if (c->kind == CK_FREE)
		return;
	room_leave(f, fd);
	ping_unlink(f, fd);
	for (b = f->bcasts; b; b = b->next)
		if (b->fd == fd)
			b->fd = -1; /* stopped at its next tick, as the others stop it */
	if (c->sess && c->kind == CK_HTTP && f->sessions[c->sess - 1].poll_fd == fd) {
		struct session *s = &f->sessions[c->sess - 1];

		s->poll_fd = -1;
		if (!s->probed) { /* a polling client gone */
			session_free(f, s);
			f->clients--;
		}
	}
	if (c->kind == CK_WS && !c->probing)
		f->clients--;
	free(c->in);
	free(c->out);
	close(fd);
	memset(c, 0, sizeof(*c));
	c->ping_prev = c->ping_next = -1;
}

/* Reads once from fd and answers what is complete with one send. */
static void conn_read(struct floor *f, int fd)
{
	struct conn *c = &f->conns[fd];
	size_t have = c->in_len, left;
	ssize_t n;
	long used;

	if (have)
		memcpy(f->rx, c->in, have);
	n = recv(fd, f->rx + have, READ_MAX, 0);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(f, fd);
		return;
	}
	have += (size_t)n;
	f->tx_len = 0;
	f->tx_packets = 0;
	used = c->kind == CK_HTTP ? http_input(f, fd, f->rx, have) : ws_input(f, fd, f->rx, have);
	if (used < 0)
		return;
	left = have - (size_t)used;
	if (left > KEEP_MAX) {
		conn_close(f, fd);
		return;
	}
	if (left) {
		uint8_t *p = realloc(c->in, left);

		if (!p) {
			conn_close(f, fd);
			return;
		}
		memcpy(p, f->rx + used, left);
		c->in = p;
	} else {
		free(c->in);
		c->in = NULL;
	}
	c->in_len = (uint32_t)left;
	if (f->tx_len)
		conn_send(f, fd, f->tx, f->tx_len, f->tx_packets);
}

static bool conns_reserve(struct floor *f, int fd)
{
	size_t cap = f->conns_cap ? f->conns_cap : 1024;
	struct conn *p;

	if ((size_t)fd < f->conns_cap)
		return true;
	while (cap <= (size_t)fd)
		cap *= 2;
	p = realloc(f->conns, cap * sizeof(*p));
	if (!p)
		return false;
	memset(p + f->conns_cap, 0, (cap - f->conns_cap) * sizeof(*p));
	f->conns = p;
	f->conns_cap = cap;
	return true;
}

static void accept_all(struct floor *f)
{
	for (;;) {
		int one = 1, fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of descriptors: the backlog waits */
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!conns_reserve(f, fd) || epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c = &f->conns[fd];
		memset(c, 0, sizeof(*c));
		c->kind = CK_HTTP;
		c->ping_prev = c->ping_next = -1;
	}
}

/* ---- timers ---------------------------------------------------------------- */

/* Emits the bursts due by now to every member, one send each; acks the
 * count after the last. */
static void bcast_tick(struct floor *f, struct bcast *b, int64_t now)
{
	long due = (long)((double)(now - b->start_ns) / b->period_ns);
	struct room *r = b->room;
	uint32_t frames = 0;

	if (b->fd < 0) {
		bcast_free(f, b); /* the client that asked is gone */
		return;
	}
	if (due > b->ticks)
		due = b->ticks;
	if (due <= b->done)
		return;
	f->tx_len = 0;
	for (; b->done < due; b->done++) {
		for (long i = 0; i < b->burst; i++) {
			size_t len = b->head_len + 20 + 1;
			uint8_t *p = tx_reserve(f, len + 10), *q;
			uint8_t digits[20];
			size_t nd = write_u64(digits, (uint64_t)realtime_us());
			size_t h;

			len = b->head_len + nd + 1;
			h = frame_header(p, 0x1, len);
			q = p + h;
			memcpy(q, b->head, b->head_len);
			memcpy(q + b->head_len, digits, nd);
			q[b->head_len + nd] = ']';
			f->tx_len += h + len;
			b->count++;
			frames++;
		}
	}
	/* backwards: a member cut off is replaced by the last, already served */
	for (uint32_t i = r->n; i-- > 0;) {
		if (i < r->n)
			conn_send(f, r->fds[i], f->tx, f->tx_len, frames);
	}
	if (b->fd < 0) {
		bcast_free(f, b);
		return;
	}
	if (b->done >= b->ticks) {
		if (b->ack_len) {
			uint8_t args[24];
			size_t k = 1;

			args[0] = '[';
			k += write_u64(args + 1, (uint64_t)b->count);
			args[k++] = ']';
			args[k] = '\0';
			f->tx_len = 0;
			f->tx_packets = 0;
			tx_ack(f, (const uint8_t *)b->ack_id, b->ack_len, (const char *)args);
			conn_send(f, b->fd, f->tx, f->tx_len, 1);
		}
		bcast_free(f, b);
	}
}

/* Runs what is due; returns the epoll timeout until the next (ms, -1: none). */
static int run_timers(struct floor *f)
{
	int64_t now, next = INT64_MAX;
	struct bcast *b, *bn;

	if (f->ping_head < 0 && !f->bcasts)
		return -1;
	now = now_ns();
	for (b = f->bcasts; b; b = bn) {
		bn = b->next;
		bcast_tick(f, b, now);
	}
	for (b = f->bcasts; b; b = b->next) {
		int64_t t = b->start_ns + (int64_t)((double)(b->done + 1) * b->period_ns);

		if (t < next)
			next = t;
	}
	while (f->ping_head >= 0 && f->conns[f->ping_head].ping_due <= now / 1000000) {
		static const uint8_t ping[] = {0x81, 0x01, '2'};
		int fd = f->ping_head;

		ping_schedule(f, fd, now / 1000000);
		conn_send(f, fd, ping, sizeof(ping), 1);
	}
	if (f->ping_head >= 0) {
		int64_t t = f->conns[f->ping_head].ping_due * 1000000;

		if (t < next)
			next = t;
	}
	if (next == INT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

/* ---- main -------------------------------------------------------------------- */

static void on_signal(int sig)
{
	g_stop = 1;
}

/* Reads the command line into *port and *msgpack; false on a usage error. */
static bool parse_args(int argc, char **argv, int *port, bool *msgpack)
{
	*port = 0;
	*msgpack = false;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return false;
		if (strcmp(argv[i], "--port") == 0) {
			char *end;
			long v;

			errno = 0;
			v = strtol(argv[i + 1], &end, 10);
			if (!*argv[i + 1] || *end || errno || v < 0 || v > 65535)
				return false;
			*port = (int)v;
		} else if (strcmp(argv[i], "--parser") == 0 &&
		           strcmp(argv[i + 1], "msgpack") == 0) {
			*msgpack = true;
		} else {
			return false;
		}
	}
	return true;
}

/* The listening socket on 127.0.0.1:port; -1 with a message on failure. */
static int listen_on(int port, int *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "floor_server: port %d: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	struct floor f = {.epfd = -1, .free_session = -1, .ping_head = -1, .ping_tail = -1};
	struct sigaction sa = {.sa_handler = on_signal};
	struct epoll_event evs[MAX_EVENTS];
	struct rlimit rl;
	int port, bound = 0;

	if (!parse_args(argc, argv, &port, &f.msgpack)) {
		fprintf(stderr, "usage: %s [--port N] [--parser msgpack]\n", argv[0]);
		return 2;
	}
	/* 10k clients need 10k descriptors */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrandom(&f.rng, sizeof(f.rng), 0) != sizeof(f.rng))
		f.rng = (uint64_t)now_ns() ^ (uint64_t)getpid() << 32;
	f.rng |= 1;
	f.tx_cap = READ_MAX;
	f.tx = malloc(f.tx_cap);
	f.rx = malloc(KEEP_MAX + READ_MAX);
	f.scratch_cap = MAX_PAYLOAD;
	f.scratch = malloc(f.scratch_cap);
	f.lfd = listen_on(port, &bound);
	f.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!f.tx || !f.rx || !f.scratch || f.lfd < 0 || f.epfd < 0 ||
	    epoll_ctl(f.epfd, EPOLL_CTL_ADD, f.lfd,
	              &(struct epoll_event){.events = EPOLLIN, .data.u64 = (uint64_t)f.lfd}) < 0) {
		fprintf(stderr, "floor_server: cannot start\n");
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("PORT %d\n", bound);
	fflush(stdout);

	while (!g_stop) {
		int n = epoll_wait(f.epfd, evs, MAX_EVENTS, run_timers(&f));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "floor_server: epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = (int)evs[i].data.u64;

			if (fd == f.lfd) {
				accept_all(&f);
				continue;
			}
			if (f.conns[fd].kind == CK_FREE)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_flush(&f, fd);
			if (f.conns[fd].kind != CK_FREE && (evs[i].events & ~(uint32_t)EPOLLOUT))
				conn_read(&f, fd);
		}
	}
	for (size_t fd = 0; fd < f.conns_cap; fd++)
		conn_close(&f, (int)fd);
	while (f.bcasts)
		bcast_free(&f, f.bcasts);
	while (f.rooms) {
		struct room *r = f.rooms;

		f.rooms = r->next;
		free(r->fds);
		free(r);
	}
	for (int i = 0; i < f.nsessions; i++)
		if (f.sessions[i].in_use)
			free(f.sessions[i].queue);
	free(f.sessions);
	free(f.conns);
	free(f.scratch);
	free(f.rx);
	free(f.tx);
	close(f.epfd);
	close(f.lfd);
	return 0;
}
