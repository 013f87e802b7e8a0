/*
 * One client connection of the load generator: non-blocking TCP, the HTTP
 * it needs (polling requests, the WebSocket upgrade), WebSocket frames,
 * and the Engine.IO v4 / Socket.IO v5 packets of the bench protocol
 * (bench/PROTOCOL.md), as JSON text or, with --parser msgpack, as
 * socket.io-msgpack-parser's binary messages (msgpack.c).
 *
 * With --transport polling a client never upgrades: after the handshake
 * its socket carries one GET at a time (a new one as soon as the last is
 * answered), and a second socket carries the POSTs, one at a time, each
 * with every packet that waited for the previous one's "ok", as
 * engine.io-client does with its write buffer.
 *
 * Receiving: a read lands in the shared scratch buffer loadgen.rx, after
 * whatever partial frame the connection kept from its last read; complete
 * frames are handled in place and the incomplete tail is copied back to
 * the connection's own buffer. Sending: frames are appended to the
 * connection's output buffer (the echo frame is a pre-masked template
 * whose ack id digits are patched in) and written once per batch.
 */
#include "loadgen.h"
#include "msgpack.h"
#include "wsframe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define ACK_ID_MIN 1000000u
#define ACK_ID_MAX 9999999u

static const char b64_table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool state_is_http(uint8_t s)
{
	return s == CS_POLL_OPEN || s == CS_POLL_CONNECT || s == CS_POLL_WAIT ||
	       s == CS_WS_UPGRADING;
}

static void conn_epoll_set(struct loadgen *lg, struct lg_conn *c, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u),
	                         .data.u64 = c->index};

	if (c->stalled || c->fd < 0 || c->want_out == out)
		return;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = out;
}

static void close_fd(struct loadgen *lg, int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(lg->epfd, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
		*fd = -1;
	}
}

void conn_close(struct loadgen *lg, struct lg_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	close_fd(lg, &c->fd);
	close_fd(lg, &c->pfd);
	c->state = CS_CLOSED;
	c->out_off = c->out_len = 0;
	c->in_len = 0;
}

/*
 * Ends c after an error: a handshake in progress counts as failed, a ready
 * client as dropped. The control client failing ends the run.
 */
static void conn_fail(struct loadgen *lg, struct lg_conn *c, enum lg_err kind, const char *detail)
{
	if (c->state == CS_CLOSED)
		return;
	lg_error(lg, kind, detail);
	if (c->control) {
		lg->control_failed = true;
	} else if (c->state == CS_READY) {
		lg->dropped++;
	} else if (c->state != CS_IDLE) {
		lg->failed++;
	}
	if (c->state != CS_READY && c->state != CS_IDLE)
		lg->pending--;
	conn_close(lg, c);
}

static void conn_fail_errno(struct loadgen *lg, struct lg_conn *c, enum lg_err kind,
                            const char *what, int err)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	conn_fail(lg, c, kind, msg);
}

static void mark_dirty(struct loadgen *lg, struct lg_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		lg->dirty[lg->ndirty++] = c->index;
	}
}

/* Room for n more bytes at the end of c->out, compacting if that helps. */
static bool out_reserve(struct loadgen *lg, struct lg_conn *c, size_t n)
{
	if (lg->out_cap - c->out_len >= n)
		return true;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	return lg->out_cap - c->out_len >= n;
}

static bool queue_raw(struct loadgen *lg, struct lg_conn *c, const void *p, size_t n)
{
	if (!out_reserve(lg, c, n))
		return false;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += (uint32_t)n;
	mark_dirty(lg, c);
	return true;
}

static bool queue_frame(struct loadgen *lg, struct lg_conn *c, enum ws_opcode op, const void *p,
                        size_t n)
{
	if (!out_reserve(lg, c, ws_header_len(n) + n))
		return false;
	c->out_len += (uint32_t)ws_frame_encode(c->out + c->out_len, op, lg->mask, p, n);
	mark_dirty(lg, c);
	return true;
}

static bool queue_text(struct loadgen *lg, struct lg_conn *c, const char *s)
{
	return queue_frame(lg, c, WS_OP_TEXT, s, strlen(s));
}

/* Like queue_text, failing the connection when there is no room (only for
 * the few control messages of a handshake, which always fit). */
static bool send_text(struct loadgen *lg, struct lg_conn *c, const char *s)
{
	if (queue_text(lg, c, s))
		return true;
	conn_fail(lg, c, LG_ERR_FULL, "no room for a control message");
	return false;
}

/* Polling: appends packet p (n bytes) to those waiting for the next POST;
 * false when there is no room. */
static bool body_append(struct loadgen *lg, struct lg_conn *c, const void *p, size_t n)
{
	if (lg->out_cap - LG_POST_HEAD - c->body_len < n + 1)
		return false;
	if (c->body_len > 0)
		c->body[c->body_len++] = 0x1e; /* the record separator */
	memcpy(c->body + c->body_len, p, n);
	c->body_len += (uint32_t)n;
	mark_dirty(lg, c);
	return true;
}

static uint32_t take_ack_id(struct lg_conn *c)
{
	uint32_t id = c->next_id;

	c->next_id = id >= ACK_ID_MAX ? ACK_ID_MIN : id + 1;
	return id;
}

/* Claims the ring slot of ack id `id`; false when it is still taken. */
static bool pending_put(struct lg_conn *c, uint32_t id, uint8_t kind, uint64_t t_ns)
{
	struct lg_pending *p = &c->ring[id & c->ring_mask];

	if (p->kind != PK_FREE)
		return false;
	p->kind = kind;
	p->id = id;
	p->t_ns = t_ns;
	return true;
}

/* send() through c's TLS session: the bytes taken, or -1 with errno
 * (EAGAIN when OpenSSL waits for the socket). */
static ssize_t tls_send(struct lg_conn *c, const void *p, size_t n)
{
	int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		break;
	default:
		errno = EPROTO;
	}
	ERR_clear_error();
	return -1;
}

void conn_flush(struct loadgen *lg, struct lg_conn *c)
{
	while (c->fd >= 0 && c->out_off < c->out_len) {
		ssize_t n = c->ssl ? tls_send(c, c->out + c->out_off, c->out_len - c->out_off)
		                   : send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                          MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_epoll_set(lg, c, true);
				return;
			}
			conn_fail_errno(lg, c, LG_ERR_IO, "send", errno);
			return;
		}
		c->out_off += (uint32_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	conn_epoll_set(lg, c, false);
}

/* Writes an HTTP request of c into dst (room bytes): the websocket upgrade,
 * or a polling GET, or a polling POST's head announcing body_len bytes and
 * then `body` when it is not NULL. Returns its length, 0 when it does not
 * fit. */
static size_t format_request(struct loadgen *lg, struct lg_conn *c, char *dst, size_t room,
                             const char *method, const char *transport, const char *body,
                             size_t body_len)
{
	int n;
	bool sid = c->sid_len > 0;

	if (strcmp(transport, "websocket") == 0) {
		uint8_t raw[16];
		char key[25];

		for (int i = 0; i < 16; i++) {
			lg->rng ^= lg->rng << 13;
			lg->rng ^= lg->rng >> 7;
			lg->rng ^= lg->rng << 17;
			raw[i] = (uint8_t)lg->rng;
		}
		for (int i = 0, k = 0; i < 15; i += 3) {
			uint32_t v =
			        (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

			key[k++] = b64_table[v >> 18];
			key[k++] = b64_table[(v >> 12) & 63];
			key[k++] = b64_table[(v >> 6) & 63];
			key[k++] = b64_table[v & 63];
		}
		key[20] = b64_table[raw[15] >> 2];
		key[21] = b64_table[(raw[15] & 3) << 4];
		key[22] = '=';
		key[23] = '=';
		key[24] = '\0';
		n = snprintf(dst, room,
		             "GET %s?EIO=4&transport=websocket%s%.*s HTTP/1.1\r\n"
		             "Host: %s\r\n"
		             "Upgrade: websocket\r\n"
		             "Connection: Upgrade\r\n"
		             "Sec-WebSocket-Key: %s\r\n"
		             "Sec-WebSocket-Version: 13\r\n\r\n",
		             lg->opt.path, sid ? "&sid=" : "", (int)c->sid_len, c->sid,
		             lg->host_hdr, key);
	} else if (strcmp(method, "POST") == 0) {
		n = snprintf(dst, room,
		             "%s %s?EIO=4&transport=polling%s%.*s HTTP/1.1\r\n"
		             "Host: %s\r\n"
		             "Content-Type: text/plain;charset=UTF-8\r\n"
		             "Content-Length: %zu\r\n\r\n",
		             method, lg->opt.path, sid ? "&sid=" : "", (int)c->sid_len, c->sid,
		             lg->host_hdr, body_len);
		if (n >= 0 && body) {
			if ((size_t)n + body_len >= room)
				return 0;
			memcpy(dst + n, body, body_len);
			n += (int)body_len;
		}
	} else {
		n = snprintf(dst, room,
		             "%s %s?EIO=4&transport=polling%s%.*s HTTP/1.1\r\n"
		             "Host: %s\r\nAccept: */*\r\n\r\n",
		             method, lg->opt.path, sid ? "&sid=" : "", (int)c->sid_len, c->sid,
		             lg->host_hdr);
	}
	if (n < 0 || (size_t)n >= room)
		return 0;
	return (size_t)n;
}

/* Writes an HTTP request (format_request's) into c's output buffer; body
 * is a NUL-terminated string or NULL. */
static bool queue_request(struct loadgen *lg, struct lg_conn *c, const char *method,
                          const char *transport, const char *body)
{
	size_t n;

	if (!out_reserve(lg, c, 512))
		return false;
	n = format_request(lg, c, (char *)c->out + c->out_len, lg->out_cap - c->out_len, method,
	                   transport, body, body ? strlen(body) : 0);
	if (n == 0)
		return false;
	c->out_len += (uint32_t)n;
	mark_dirty(lg, c);
	return true;
}

/* Opens a socket to the server for c (bound to the next source address
 * when --src is given) and starts connecting. */
static int conn_open_socket(struct loadgen *lg, struct lg_conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = c->index};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		conn_fail_errno(lg, c, LG_ERR_CONNECT, "socket", errno);
		return -1;
	}
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lg->opt.mode == LG_SLOW && c->index == 0 && lg->opt.slow_rcvbuf) {
		int sz = (int)lg->opt.slow_rcvbuf;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (lg->opt.src_count) {
		uint32_t src = lg->opt.src_first + (c->index + (c->pfd >= 0)) % lg->opt.src_count;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		sa.sin_addr.s_addr = htonl(src);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			conn_fail_errno(lg, c, LG_ERR_CONNECT, "bind", errno);
			return -1;
		}
	}
	sa.sin_addr.s_addr = htonl(lg->opt.host);
	sa.sin_port = htons(lg_conn_port(lg, c));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		conn_fail_errno(lg, c, LG_ERR_CONNECT, "connect", errno);
		return -1;
	}
	if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_fail_errno(lg, c, LG_ERR_CONNECT, "epoll_ctl", errno);
		return -1;
	}
	c->want_out = true;
	c->state = CS_TCP_CONNECTING;
	return 0;
}

int conn_start(struct loadgen *lg, struct lg_conn *c, uint64_t now)
{
	c->t_start = now;
	c->state = CS_TCP_CONNECTING; /* counted from here on */
	c->next_id = ACK_ID_MIN;
	lg->pending++;
	return conn_open_socket(lg, c);
}

/* The TCP connection is up: send the first request. */
static void conn_connected(struct loadgen *lg, struct lg_conn *c)
{
	bool ok;

	if (lg->opt.transport == LG_POLLING && c->joined) {
		lg_conn_ready(lg, c, lg_now_ns()); /* the POST socket is up */
		conn_epoll_set(lg, c, false);
		if (c->body_len)
			mark_dirty(lg, c); /* a pong waiting */
		return;
	}
	if (lg->opt.transport != LG_WEBSOCKET && !c->control && c->sid_len == 0) {
		ok = queue_request(lg, c, "GET", "polling", NULL);
		c->state = CS_POLL_OPEN;
	} else {
		ok = queue_request(lg, c, "GET", "websocket", NULL);
		c->state = CS_WS_UPGRADING;
	}
	if (!ok) {
		conn_fail(lg, c, LG_ERR_FULL, "no room for the request");
		return;
	}
	conn_flush(lg, c);
}

/* --tls: advances c's handshake; once done, the first request goes. */
static void tls_step(struct loadgen *lg, struct lg_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		conn_connected(lg, c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		conn_epoll_set(lg, c, false);
		break;
	case SSL_ERROR_WANT_WRITE:
		conn_epoll_set(lg, c, true);
		break;
	default: {
		char msg[160];
		unsigned long e = ERR_peek_last_error();

		snprintf(msg, sizeof(msg), "TLS handshake: %s",
		         e ? ERR_reason_error_string(e) : "connection closed");
		ERR_clear_error();
		conn_fail(lg, c, LG_ERR_CONNECT, msg);
	}
	}
}

/* --tls: the TCP connection is up; the TLS handshake starts. */
static void tls_start(struct loadgen *lg, struct lg_conn *c)
{
	c->ssl = SSL_new(lg->tls);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		conn_fail(lg, c, LG_ERR_CONNECT, "TLS: out of memory");
		return;
	}
	SSL_set_connect_state(c->ssl);
	c->state = CS_TLS_HANDSHAKE;
	tls_step(lg, c);
}

void conn_churn(struct loadgen *lg, struct lg_conn *c)
{
	conn_close(lg, c);
	c->joined = false;
	c->rejoining = true;
	c->back_us = 0;
	lg->churned++;
}

void conn_check_timeout(struct loadgen *lg, struct lg_conn *c, uint64_t now)
{
	if (c->state == CS_IDLE || c->state >= CS_READY)
		return;
	if (now - c->t_start > (uint64_t)(lg->opt.connect_timeout * 1e9))
		conn_fail(lg, c, LG_ERR_TIMEOUT, "handshake timed out");
}

void conn_stall(struct loadgen *lg, struct lg_conn *c)
{
	if (c->fd >= 0)
		epoll_ctl(lg->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->stalled = true;
}

/* ------------------------------------------------------------------ */
/* Small parsers over (pointer, length)                                 */
/* ------------------------------------------------------------------ */

static size_t find_crlfcrlf(const uint8_t *p, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return i + 1;
	return 0;
}

static bool ieq_prefix(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t ch = p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (ch != (uint8_t)lit[i])
			return false;
	}
	return true;
}

/* Reads decimal digits at p[*i]; returns false when there are none or
 * more than 18. */
static bool parse_u64(const uint8_t *p, size_t n, size_t *i, uint64_t *out)
{
	size_t start = *i;
	uint64_t v = 0;

	while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
		if (*i - start == 18)
			return false;
		v = v * 10 + (uint64_t)(p[*i] - '0');
		(*i)++;
	}
	*out = v;
	return *i > start;
}

/* Skips a JSON string starting at p[*i] == '"'; false when unterminated. */
static bool skip_string(const uint8_t *p, size_t n, size_t *i)
{
	size_t k = *i + 1;

	while (k < n) {
		if (p[k] == '\\')
			k += 2;
		else if (p[k] == '"')
			break;
		else
			k++;
	}
	if (k >= n)
		return false;
	*i = k + 1;
	return true;
}

/* Finds `"<name>":"` in p and copies the string value (not empty, shorter
 * than cap) to out; returns its length, 0 when there is none. */
static size_t copy_field(const uint8_t *p, size_t n, const char *name, char *out, size_t cap)
{
	char key[16];
	size_t k = (size_t)snprintf(key, sizeof(key), "\"%s\":\"", name);

	for (size_t i = 0; i + k <= n; i++) {
		if (memcmp(p + i, key, k) != 0)
			continue;
		i += k;
		for (size_t j = i; j < n; j++) {
			if (p[j] != '"')
				continue;
			if (j - i == 0 || j - i >= cap)
				return 0;
			memcpy(out, p + i, j - i);
			return j - i;
		}
		return 0;
	}
	return 0;
}

/* Finds `"sid":"` in p and copies the value to c->sid. */
static bool copy_sid(struct lg_conn *c, const uint8_t *p, size_t n)
{
	c->sid_len = (uint8_t)copy_field(p, n, "sid", c->sid, sizeof(c->sid));
	return c->sid_len > 0;
}

/* ------------------------------------------------------------------ */
/* Socket.IO packets                                                    */
/* ------------------------------------------------------------------ */

/* Churn: the CONNECT reply p (n bytes, `{"sid":...,"pid":...}`) of a
 * client that had a session. True when it recovered that session (it is
 * then ready: its rooms came back); otherwise its count starts again. */
static bool churn_back(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                       uint64_t now)
{
	char sid[sizeof(c->ssid)];
	size_t len = copy_field(p, n, "sid", sid, sizeof(sid));
	bool recovered = c->rejoining && c->pid_len && len == c->ssid_len &&
	                 memcmp(sid, c->ssid, len) == 0;

	memcpy(c->ssid, sid, len);
	c->ssid_len = (uint8_t)len;
	c->pid_len = (uint8_t)copy_field(p, n, "pid", c->pid, sizeof(c->pid));
	if (!c->rejoining)
		return false;
	if (recovered) {
		lg->recovered++;
		c->back_us = lg_realtime_us();
		c->joined = true;
		lg_conn_ready(lg, c, now);
		return true;
	}
	lg->fresh++;
	c->first = c->next = -1;
	c->offset = 0;
	c->back_us = 0;
	return false;
}

static void on_nsp_joined(struct loadgen *lg, struct lg_conn *c, uint64_t now)
{
	c->joined = true;
	if (c->state == CS_POLL_WAIT)
		return; /* the upgrade comes first */
	if (!c->control && (lg->opt.mode == LG_BROADCAST || lg->opt.mode == LG_SLOW)) {
		char msg[160];
		uint32_t id = take_ack_id(c);

		snprintf(msg, sizeof(msg), "42%u[\"join\",\"%s\"]", id, lg->opt.room);
		if (!pending_put(c, id, PK_JOIN, now)) {
			conn_fail(lg, c, LG_ERR_PROTOCOL, "ack slot taken");
			return;
		}
		if (send_text(lg, c, msg))
			c->state = CS_JOINING;
		return;
	}
	lg_conn_ready(lg, c, now);
}

/* A reply to an echo emit (ack or event) that was sent at t_ns. */
static void on_echo_reply(struct loadgen *lg, struct lg_conn *c, uint64_t t_ns, uint64_t now)
{
	c->outstanding--;
	if (lg->phase != PH_RUN)
		return;
	lg->acked += !lg->opt.no_ack;
	lg->received++;
	hist_record(&lg->latency, now > t_ns ? (now - t_ns) / 1000 : 0);
	if (lg->opt.mode == LG_ECHO && now < lg->run_deadline && conn_send_echo(lg, c, now))
		lg->sent++;
}

/* The ack of id; p (n bytes) is what follows its id in a text packet (the
 * arguments), empty for msgpack. */
static void on_ack_id(struct loadgen *lg, struct lg_conn *c, uint64_t id, const uint8_t *p,
                      size_t n, uint64_t now)
{
	size_t i = 0;
	uint64_t count;
	struct lg_pending *slot;
	uint8_t kind;

	if (id > UINT32_MAX) {
		lg->unexpected++;
		return;
	}
	slot = &c->ring[id & c->ring_mask];
	if (slot->kind == PK_FREE || slot->id != id) {
		lg->unexpected++;
		return;
	}
	kind = slot->kind;
	slot->kind = PK_FREE;
	switch (kind) {
	case PK_ECHO:
		on_echo_reply(lg, c, slot->t_ns, now);
		break;
	case PK_JOIN:
		if (c->state == CS_JOINING)
			lg_conn_ready(lg, c, now);
		break;
	case PK_BCAST:
		/* [count], or [false] when the server refused the parameters */
		if (i < n && p[i] == '[')
			i++;
		if (parse_u64(p, n, &i, &count)) {
			lg->bcast_count = count;
		} else {
			lg->bcast_refused = true;
			lg_error(lg, LG_ERR_PROTOCOL, "the server refused the bcast parameters");
		}
		lg->bcast_acked = true;
		lg->t_bcast_ack = now;
		break;
	default:
		break;
	}
}

static void on_ack(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	size_t i = 0;
	uint64_t id;

	if (!parse_u64(p, n, &i, &id)) {
		lg->unexpected++;
		return;
	}
	on_ack_id(lg, c, id, p + i, n - i, now);
}

/* Churn: what follows t_us in a numbered "b" delivery, `,index` and, with
 * recovery, `,"offset"`: counts gaps and duplicates within a session. */
static void on_numbered(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                        size_t i, uint64_t t_us)
{
	uint64_t index, offset;

	if (i >= n || p[i++] != ',' || !parse_u64(p, n, &i, &index) || index > INT64_MAX) {
		lg_error(lg, LG_ERR_PROTOCOL, "a \"b\" without its index (not numbered)");
		return;
	}
	if (c->next >= 0 && (int64_t)index != c->next) {
		if ((int64_t)index < c->next)
			lg->dups++;
		else
			lg->gaps++;
		c->bad = true;
	}
	if (c->first < 0)
		c->first = (int64_t)index;
	if ((int64_t)index >= c->next)
		c->next = (int64_t)index + 1;
	/* a recovered session's missed events come before its CONNECT reply,
	 * as the reference sends them (and the old connection is closed) */
	if (c->rejoining)
		lg->replayed++;
	if (i + 1 < n && p[i] == ',' && p[i + 1] == '"') {
		i += 2;
		if (parse_u64(p, n, &i, &offset) && i < n && p[i] == '"')
			c->offset = offset;
	}
}

/* A "b" delivery: args are [payload, t_us] (or [t_us, ...]). */
static void on_delivery(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n, size_t i,
                        uint64_t now, uint64_t *now_real)
{
	uint64_t t_us;

	c->received++;
	if (lg->phase != PH_RUN)
		return;
	lg->received++;
	if (lg_conn_port(lg, c) != lg->opt.port)
		lg->received2++;
	if (lg->t_first_delivery == 0)
		lg->t_first_delivery = now;
	lg->t_last_delivery = now;
	while (i < n && p[i] == ',')
		i++;
	if (i < n && p[i] == '"') {
		if (!skip_string(p, n, &i))
			return;
		while (i < n && p[i] == ',')
			i++;
	}
	if (!parse_u64(p, n, &i, &t_us))
		return;
	if (*now_real == 0)
		*now_real = lg_realtime_us();
	hist_record(&lg->latency, *now_real > t_us ? *now_real - t_us : 0);
	if (lg->opt.churn > 0)
		on_numbered(lg, c, p, n, i, t_us);
}

static void on_event(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                     uint64_t now, uint64_t *now_real)
{
	size_t i = 0;
	uint64_t ignored;

	parse_u64(p, n, &i, &ignored); /* an ack id the server asks for: none in the protocol */
	if (n - i >= 5 && memcmp(p + i, "[\"b\"", 4) == 0) {
		on_delivery(lg, c, p, n, i + 4, now, now_real);
	} else if (n - i >= 8 && memcmp(p + i, "[\"echo\"", 7) == 0 && lg->opt.no_ack &&
	           c->head != c->tail) {
		struct lg_pending *slot = &c->ring[c->head++ & c->ring_mask];

		on_echo_reply(lg, c, slot->t_ns, now);
	} else {
		lg->unexpected++;
	}
}

static void on_sio_packet(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                          uint64_t now, uint64_t *now_real)
{
	if (n == 0) {
		conn_fail(lg, c, LG_ERR_PROTOCOL, "empty Socket.IO packet");
		return;
	}
	switch (p[0]) {
	case '2':
		on_event(lg, c, p + 1, n - 1, now, now_real);
		break;
	case '3':
		on_ack(lg, c, p + 1, n - 1, now);
		break;
	case '0':
		if (!c->joined && !(lg->opt.churn > 0 && !c->control &&
		                    churn_back(lg, c, p + 1, n - 1, now)))
			on_nsp_joined(lg, c, now);
		break;
	case '4':
		conn_fail(lg, c, LG_ERR_CONNECT_ERROR, "connect_error from the server");
		break;
	case '1':
		conn_fail(lg, c, LG_ERR_CLOSED, "disconnected by the server");
		break;
	default:
		lg->unexpected++;
		break;
	}
}

/* A binary message with --parser msgpack: one Socket.IO packet. */
static void on_mp_message(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                          uint64_t now)
{
	struct mp_packet pk;

	if (mp_packet_parse(p, n, &pk) < 0) {
		conn_fail(lg, c, LG_ERR_PROTOCOL, "a binary message that is no msgpack packet");
		return;
	}
	switch (pk.type) {
	case 0:
		if (!c->joined)
			on_nsp_joined(lg, c, now);
		break;
	case 3:
		if (pk.has_id)
			on_ack_id(lg, c, pk.id, NULL, 0, now);
		else
			lg->unexpected++;
		break;
	case 4:
		conn_fail(lg, c, LG_ERR_CONNECT_ERROR, "connect_error from the server");
		break;
	case 1:
		conn_fail(lg, c, LG_ERR_CLOSED, "disconnected by the server");
		break;
	default:
		lg->unexpected++;
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Engine.IO packets and WebSocket frames                               */
/* ------------------------------------------------------------------ */

/* The namespace CONNECT: "40", or with the session to recover (churn)
 * `40{"pid":"...","offset":"..."}` (the offset when it got an event). */
static bool send_connect(struct loadgen *lg, struct lg_conn *c)
{
	char msg[128];

	if (!c->pid_len)
		return send_text(lg, c, "40");
	if (c->offset)
		snprintf(msg, sizeof(msg), "40{\"pid\":\"%.*s\",\"offset\":\"%llu\"}",
		         (int)c->pid_len, c->pid, (unsigned long long)c->offset);
	else
		snprintf(msg, sizeof(msg), "40{\"pid\":\"%.*s\"}", (int)c->pid_len, c->pid);
	return send_text(lg, c, msg);
}

static void on_eio_packet(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                          uint64_t now, uint64_t *now_real)
{
	if (n == 0) {
		conn_fail(lg, c, LG_ERR_PROTOCOL, "empty Engine.IO packet");
		return;
	}
	switch (p[0]) {
	case '4':
		on_sio_packet(lg, c, p + 1, n - 1, now, now_real);
		break;
	case '2':
		if (!queue_raw(lg, c, lg->pong_frame, lg->pong_len))
			conn_fail(lg, c, LG_ERR_FULL, "no room for a pong");
		break;
	case '0':
		if (c->state != CS_EIO_OPEN)
			break;
		if (lg->opt.parser == LG_PARSER_MSGPACK &&
		    !queue_frame(lg, c, WS_OP_BINARY, mp_connect_packet, MP_CONNECT_LEN)) {
			conn_fail(lg, c, LG_ERR_FULL, "no room for a control message");
			break;
		}
		if (lg->opt.parser == LG_PARSER_MSGPACK || send_connect(lg, c))
			c->state = CS_SIO_CONNECTING;
		break;
	case '3':
		if (c->state == CS_PROBING && n == 6 && memcmp(p, "3probe", 6) == 0) {
			if (!send_text(lg, c, "5"))
				return;
			close_fd(lg, &c->pfd);
			c->state = CS_SIO_CONNECTING;
			on_nsp_joined(lg, c, now);
		}
		break;
	case '6':
		break;
	case '1':
		conn_fail(lg, c, LG_ERR_CLOSED, "Engine.IO close from the server");
		break;
	default:
		lg->unexpected++;
		break;
	}
}

/* Handles the complete frames in p; returns the bytes used (the rest is
 * an incomplete frame), or -1 when c was closed. */
static long parse_frames(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                         uint64_t now, uint64_t *now_real)
{
	size_t off = 0;

	while (c->state != CS_CLOSED && off < n) {
		struct ws_frame f;
		const uint8_t *payload;
		int r = ws_frame_parse(p + off, n - off, &f);

		if (r == 0)
			break;
		if (r < 0 || (!f.fin || f.opcode == WS_OP_CONT)) {
			conn_fail(lg, c, LG_ERR_PROTOCOL,
			          r < 0 ? "invalid WebSocket frame"
			                : "fragmented message (unsupported)");
			return -1;
		}
		if (f.payload_len > n - off - f.header_len) {
			if (f.header_len + f.payload_len > lg->in_cap) {
				conn_fail(lg, c, LG_ERR_TOO_BIG,
				          "message larger than the receive buffer");
				return -1;
			}
			break;
		}
		payload = p + off + f.header_len;
		off += f.header_len + (size_t)f.payload_len;
		switch (f.opcode) {
		case WS_OP_TEXT:
			on_eio_packet(lg, c, payload, (size_t)f.payload_len, now, now_real);
			break;
		case WS_OP_BINARY:
			if (lg->opt.parser == LG_PARSER_MSGPACK)
				on_mp_message(lg, c, payload, (size_t)f.payload_len, now);
			break;
		case WS_OP_PING:
			if (!queue_frame(lg, c, WS_OP_PONG, payload, (size_t)f.payload_len))
				conn_fail(lg, c, LG_ERR_FULL, "no room for a pong");
			break;
		case WS_OP_CLOSE:
			conn_fail(lg, c, LG_ERR_CLOSED, "WebSocket close from the server");
			return -1;
		default:
			break; /* pongs: not in the protocol */
		}
	}
	return c->state == CS_CLOSED ? -1 : (long)off;
}

/* The body of a polling response (in state CS_POLL_WAIT, or any GET's with
 * --transport polling): packets joined by the record separator. */
static void on_poll_body(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                         uint64_t now)
{
	size_t start = 0;
	uint64_t now_real = 0;

	for (size_t i = 0; i <= n && c->state != CS_CLOSED; i++) {
		if (i < n && p[i] != 0x1e)
			continue;
		if (i > start && p[start] == '4') {
			on_sio_packet(lg, c, p + start + 1, i - start - 1, now, &now_real);
		} else if (i > start && p[start] == '2' && lg->opt.transport == LG_POLLING) {
			if (!body_append(lg, c, "3", 1))
				conn_fail(lg, c, LG_ERR_FULL, "no room for a pong");
		} else if (i > start && p[start] == '1') {
			conn_fail(lg, c, LG_ERR_CLOSED, "Engine.IO close from the server");
		}
		start = i + 1;
	}
}

/*
 * Reads the head of the HTTP/1.1 response at p (n bytes): 1 with its
 * length (*hdr), *status and *body_len (its Content-Length, 0 for a 101),
 * 0 when the head is not all there yet, -1 with *why when it is not a
 * response the load generator reads (not HTTP/1.1, chunked, a head of max
 * bytes or more).
 */
static int http_head(const uint8_t *p, size_t n, size_t max, size_t *hdr, uint64_t *status,
                     uint64_t *body_len, const char **why)
{
	size_t i = 9;

	*hdr = find_crlfcrlf(p, n);
	*status = *body_len = 0;
	if (*hdr == 0) {
		*why = "response headers too large";
		return n >= max ? -1 : 0;
	}
	*why = "not an HTTP/1.1 response";
	if (n < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || !parse_u64(p, *hdr, &i, status))
		return -1;
	for (size_t k = 0; k + 2 < *hdr; k++) {
		if (p[k] != '\n')
			continue;
		if (ieq_prefix(p + k + 1, *hdr - k - 1, "content-length:")) {
			size_t j = k + 1 + 15;

			while (j < *hdr && p[j] == ' ')
				j++;
			parse_u64(p, *hdr, &j, body_len);
		} else if (ieq_prefix(p + k + 1, *hdr - k - 1, "transfer-encoding:")) {
			*why = "chunked response (unsupported)";
			return -1;
		}
	}
	if (*status == 101)
		*body_len = 0;
	return 1;
}

/* Polling: sends the next GET on c's GET socket (pfd). The socket only
 * ever carries one small request at a time, so send() takes it whole. */
static bool poll_get(struct loadgen *lg, struct lg_conn *c)
{
	char req[512];
	size_t n = format_request(lg, c, req, sizeof(req), "GET", "polling", NULL, 0);
	ssize_t w;

	do
		w = n ? send(c->pfd, req, n, MSG_NOSIGNAL) : -1;
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n)
		return true;
	if (w < 0 && n)
		conn_fail_errno(lg, c, LG_ERR_IO, "send", errno);
	else
		conn_fail(lg, c, LG_ERR_IO, "a GET did not go out whole");
	return false;
}

/*
 * Polling: the namespace is joined on c's handshake socket, which becomes
 * the GET socket (pfd, epoll data tagged LG_GET_TAG) with the next GET sent
 * at once; a second socket is opened for the POSTs (fd), and c is ready
 * when it is up, as a browser keeps one connection for each. Returns -1
 * when c was closed.
 */
static int poll_settle(struct loadgen *lg, struct lg_conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = c->index | LG_GET_TAG};

	c->pfd = c->fd;
	c->fd = -1;
	c->want_out = false;
	c->out_off = c->out_len = 0;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->pfd, &ev) < 0) {
		conn_fail_errno(lg, c, LG_ERR_IO, "epoll_ctl", errno);
		return -1;
	}
	if (!poll_get(lg, c) || conn_open_socket(lg, c) < 0)
		return -1;
	return 0;
}

/*
 * Handles one HTTP response at p if it is complete. Returns its length, 0
 * when more bytes are needed, -1 when c was closed.
 */
static long parse_response(struct loadgen *lg, struct lg_conn *c, const uint8_t *p, size_t n,
                           uint64_t now)
{
	size_t hdr;
	uint64_t status, body_len;
	const uint8_t *body;
	const char *why;
	char msg[96];
	int r = http_head(p, n, lg->in_cap, &hdr, &status, &body_len, &why);

	if (r <= 0) {
		if (r < 0)
			conn_fail(lg, c, LG_ERR_HTTP, why);
		return r;
	}
	if (body_len > lg->in_cap) {
		conn_fail(lg, c, LG_ERR_TOO_BIG, "response body larger than the receive buffer");
		return -1;
	}
	if (body_len > n - hdr)
		return 0;
	body = p + hdr;

	if ((c->state == CS_WS_UPGRADING) != (status == 101) ||
	    (c->state != CS_WS_UPGRADING && status != 200)) {
		snprintf(msg, sizeof(msg), "HTTP status %u %s", (unsigned)status,
		         c->state == CS_WS_UPGRADING ? "to the upgrade" : "to a polling request");
		conn_fail(lg, c, LG_ERR_HTTP, msg);
		return -1;
	}
	switch (c->state) {
	case CS_POLL_OPEN:
		if (body_len < 2 || body[0] != '0' || !copy_sid(c, body, (size_t)body_len)) {
			conn_fail(lg, c, LG_ERR_PROTOCOL,
			          "no open packet in the polling handshake");
			return -1;
		}
		if (!queue_request(lg, c, "POST", "polling", "40"))
			break;
		c->state = CS_POLL_CONNECT;
		return (long)(hdr + body_len);
	case CS_POLL_CONNECT:
		if (!queue_request(lg, c, "GET", "polling", NULL))
			break;
		c->state = CS_POLL_WAIT;
		return (long)(hdr + body_len);
	case CS_POLL_WAIT:
		on_poll_body(lg, c, body, (size_t)body_len, now);
		if (c->state == CS_CLOSED)
			return -1;
		if (!c->joined) {
			if (!queue_request(lg, c, "GET", "polling", NULL))
				break;
			return (long)(hdr + body_len);
		}
		if (lg->opt.transport == LG_POLLING)
			return poll_settle(lg, c) < 0 ? -1 : (long)(hdr + body_len);
		/* keep the polling socket open, quiet, until the upgrade is done */
		epoll_ctl(lg->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->pfd = c->fd;
		c->fd = -1;
		c->want_out = false;
		c->out_off = c->out_len = 0;
		if (conn_open_socket(lg, c) < 0)
			return -1;
		return (long)(hdr + body_len); /* nothing follows on the old socket */
	case CS_WS_UPGRADING:
		if (c->sid_len) {
			if (!send_text(lg, c, "2probe"))
				return -1;
			c->state = CS_PROBING;
		} else {
			c->state = CS_EIO_OPEN;
		}
		return (long)hdr;
	default:
		break;
	}
	conn_fail(lg, c, LG_ERR_FULL, "no room for a request");
	return -1;
}

/* Reads once from c and handles what is complete. */
static void conn_read(struct loadgen *lg, struct lg_conn *c)
{
	uint8_t *buf = lg->rx;
	size_t have = c->in_len;
	size_t off = 0;
	uint64_t now, now_real = 0;
	ssize_t n;

	memcpy(buf, c->in, have);
	if (c->ssl) {
		/* whole records while there is room for one (none is left
		 * half-read in OpenSSL, where epoll would not see it) */
		n = 0;
		while ((size_t)n + 16384 <= LG_RX_READ) {
			int r = SSL_read(c->ssl, buf + have + n, (int)(LG_RX_READ - (size_t)n));
			int e;

			if (r > 0) {
				n += r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (n == 0) {
					n = -1;
					errno = EAGAIN;
				}
			} else if (n == 0 && e == SSL_ERROR_ZERO_RETURN) {
				n = 0;
			} else if (n == 0) {
				n = -1;
				errno = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
			}
			break;
		}
	} else {
		n = recv(c->fd, buf + have, LG_RX_READ, 0);
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_fail_errno(lg, c, errno == ECONNRESET ? LG_ERR_CLOSED : LG_ERR_IO,
			                "recv", errno);
		return;
	}
	if (n == 0) {
		conn_fail(lg, c, LG_ERR_CLOSED, "connection closed by the server");
		return;
	}
	have += (size_t)n;
	now = lg_now_ns();
	while (off < have) {
		long r;
		bool was_poll = c->state == CS_POLL_WAIT;

		if (state_is_http(c->state))
			r = parse_response(lg, c, buf + off, have - off, now);
		else
			r = parse_frames(lg, c, buf + off, have - off, now, &now_real);
		if (r < 0)
			return;
		off += (size_t)r;
		if (was_poll && c->state != CS_POLL_WAIT) {
			off = have; /* the polling socket was put aside */
			break;
		}
		if (r == 0 || c->stalled)
			break;
	}
	if (c->stalled)
		off = have; /* the slow client drops what it had read */
	if (have - off > lg->in_cap) {
		conn_fail(lg, c, LG_ERR_TOO_BIG, "message larger than the receive buffer");
		return;
	}
	memcpy(c->in, buf + off, have - off);
	c->in_len = (uint32_t)(have - off);
	if (c->out_len > c->out_off)
		conn_flush(lg, c);
}

/* Polling: the server closed c's idle POST connection (its keep-alive
 * timeout); opens another, as a browser does. c stays ready. */
static void post_reopen(struct loadgen *lg, struct lg_conn *c)
{
	close_fd(lg, &c->fd);
	c->out_off = c->out_len = 0;
	if (conn_open_socket(lg, c) < 0)
		return; /* counted as dropped */
	c->state = CS_READY;
	c->post_connecting = true;
}

/*
 * Polling: reads once from c's GET socket (get_side) or POST socket and
 * handles the complete responses: a GET's packets, then the next GET at
 * once; a POST's "ok", then the packets that waited for it, if any (on the
 * next flush).
 */
static void poll_read(struct loadgen *lg, struct lg_conn *c, bool get_side)
{
	int fd = get_side ? c->pfd : c->fd;
	uint8_t *keep = get_side ? c->in : c->pin;
	uint32_t *keep_len = get_side ? &c->in_len : &c->pin_len;
	size_t cap = get_side ? lg->in_cap : LG_PIN_CAP;
	uint8_t *buf = lg->rx;
	size_t have = *keep_len, off = 0;
	uint64_t now;
	ssize_t n;

	memcpy(buf, keep, have);
	n = recv(fd, buf + have, LG_RX_READ, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_fail_errno(lg, c, errno == ECONNRESET ? LG_ERR_CLOSED : LG_ERR_IO,
			                "recv", errno);
		return;
	}
	if (n == 0 && !get_side && !c->post_busy && *keep_len == 0) {
		post_reopen(lg, c);
		return;
	}
	if (n == 0) {
		conn_fail(lg, c, LG_ERR_CLOSED,
		          get_side ? "the server closed the GET connection"
		                   : "the server closed the POST connection");
		return;
	}
	have += (size_t)n;
	now = lg_now_ns();
	while (off < have) {
		size_t hdr;
		uint64_t status, body_len;
		const uint8_t *body;
		const char *why;
		char msg[64];
		int r = http_head(buf + off, have - off, cap, &hdr, &status, &body_len, &why);

		if (r < 0) {
			conn_fail(lg, c, LG_ERR_HTTP, why);
			return;
		}
		if (r == 0)
			break;
		if (hdr + body_len > cap) {
			conn_fail(lg, c, LG_ERR_TOO_BIG, "response larger than the receive buffer");
			return;
		}
		if (body_len > have - off - hdr)
			break;
		if (status != 200) {
			snprintf(msg, sizeof(msg), "HTTP status %u to a %s", (unsigned)status,
			         get_side ? "GET" : "POST");
			conn_fail(lg, c, LG_ERR_HTTP, msg);
			return;
		}
		body = buf + off + hdr;
		off += hdr + (size_t)body_len;
		if (get_side) {
			on_poll_body(lg, c, body, (size_t)body_len, now);
			if (c->state == CS_CLOSED || !poll_get(lg, c))
				return;
		} else {
			if (body_len != 2 || memcmp(body, "ok", 2) != 0) {
				conn_fail(lg, c, LG_ERR_PROTOCOL, "a POST not answered \"ok\"");
				return;
			}
			c->post_busy = false;
			if (c->body_len)
				mark_dirty(lg, c);
		}
	}
	memcpy(keep, buf + off, have - off);
	*keep_len = (uint32_t)(have - off);
}

void conn_on_event(struct loadgen *lg, struct lg_conn *c, uint32_t events, bool get_side)
{
	if (get_side) {
		if (c->state != CS_CLOSED && c->pfd >= 0)
			poll_read(lg, c, true);
		return;
	}
	if (c->state == CS_CLOSED || c->fd < 0)
		return;
	if (c->post_connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail_errno(lg, c, LG_ERR_CONNECT, "connect", err);
			return;
		}
		c->post_connecting = false;
		conn_epoll_set(lg, c, false);
		if (c->body_len)
			mark_dirty(lg, c);
		return;
	}
	if (c->state == CS_TCP_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail_errno(lg, c, LG_ERR_CONNECT, "connect", err);
			return;
		}
		if (lg->tls)
			tls_start(lg, c);
		else
			conn_connected(lg, c);
		return;
	}
	if (c->state == CS_TLS_HANDSHAKE) {
		tls_step(lg, c);
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(lg, c);
	if (c->state == CS_CLOSED || c->fd < 0 || c->stalled ||
	    !(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
		return;
	if (lg->opt.transport == LG_POLLING && c->state == CS_READY)
		poll_read(lg, c, false);
	else
		conn_read(lg, c);
}

/* Writes ack id `id` into the copy of the echo template at dst: seven
 * digits, or msgpack's four bytes, masked as the template is (polling's
 * is not masked). */
static void put_echo_id(const struct loadgen *lg, uint8_t *dst, uint32_t id)
{
	static const uint8_t unmasked[4];
	const uint8_t *m = lg->opt.transport == LG_POLLING ? unmasked : lg->mask;
	uint8_t *at = dst + lg->echo_id_at;
	uint32_t phase = lg->echo_id_phase;

	if (lg->opt.parser == LG_PARSER_MSGPACK) {
		for (uint32_t k = 0; k < 4; k++)
			at[k] = (uint8_t)(id >> (24 - 8 * k)) ^ m[(phase + k) & 3];
		return;
	}
	for (int k = 6; k >= 0; k--) {
		at[k] = (uint8_t)(('0' + id % 10) ^ m[(phase + (uint32_t)k) & 3]);
		id /= 10;
	}
}

bool conn_send_echo(struct loadgen *lg, struct lg_conn *c, uint64_t t_ns)
{
	bool polling = lg->opt.transport == LG_POLLING;
	uint32_t id = 0;
	uint8_t *dst;

	if (c->state != CS_READY || c->stalled)
		return false;
	if (polling) { /* 16: room kept for pongs */
		if (lg->out_cap - LG_POST_HEAD - c->body_len < lg->echo_len + 1 + 16)
			return false;
	} else if (!out_reserve(lg, c, lg->echo_len + 64)) { /* 64: room kept for pongs */
		return false;
	}
	if (lg->opt.no_ack) {
		struct lg_pending *slot;

		if (c->tail - c->head > c->ring_mask)
			return false;
		slot = &c->ring[c->tail++ & c->ring_mask];
		slot->t_ns = t_ns;
		slot->kind = PK_ECHO;
	} else {
		id = c->next_id;
		if (!pending_put(c, id, PK_ECHO, t_ns))
			return false;
		take_ack_id(c);
	}
	if (polling && c->body_len > 0)
		c->body[c->body_len++] = 0x1e;
	dst = polling ? c->body + c->body_len : c->out + c->out_len;
	memcpy(dst, lg->echo_frame, lg->echo_len);
	if (!lg->opt.no_ack)
		put_echo_id(lg, dst, id);
	if (polling)
		c->body_len += lg->echo_len;
	else
		c->out_len += lg->echo_len;
	c->outstanding++;
	mark_dirty(lg, c);
	return true;
}

void conn_post(struct loadgen *lg, struct lg_conn *c)
{
	size_t n;

	if (c->state != CS_READY || c->post_busy || c->post_connecting || c->body_len == 0 ||
	    c->fd < 0)
		return;
	n = format_request(lg, c, (char *)c->out + c->out_len, lg->out_cap - c->out_len, "POST",
	                   "polling", (const char *)c->body, c->body_len);
	if (n == 0) {
		conn_fail(lg, c, LG_ERR_FULL, "no room for a POST");
		return;
	}
	c->out_len += (uint32_t)n;
	c->body_len = 0;
	c->post_busy = true;
}

bool conn_send_bcast(struct loadgen *lg, struct lg_conn *c, uint64_t now)
{
	char msg[256];
	uint32_t id = take_ack_id(c);

	snprintf(msg, sizeof(msg), "42%u[\"bcast\",\"%s\",%.17g,%u,%.17g,%u%s]", id, lg->opt.room,
	         lg->opt.rate, lg->opt.burst, lg->opt.duration, lg->opt.payload,
	         lg->opt.churn > 0 ? ",true" : "");
	if (!pending_put(c, id, PK_BCAST, now) || !queue_text(lg, c, msg))
		return false;
	conn_flush(lg, c);
	return c->state != CS_CLOSED;
}
