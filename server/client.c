/*
 * The Socket.IO client: one per Engine.IO session. Decodes packets
 * (attachments included), connects namespaces through their middleware,
 * routes packets to sockets, and closes the connection on any protocol
 * error, as the reference does.
 */
#include "server/sio.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/sio_msgpack.h"

/* Held by a client until it joins a namespace: most connections join one
 * at once, and an idle one then holds no timer. */
struct connect_wait {
	struct timer timer;
	struct sio_client *client;
	struct timer_wheel *wheel;
};

static void connect_timed_out(struct timer *t)
{
	struct sio_client *c = container_of(t, struct connect_wait, timer)->client;
	if (list_empty(&c->sockets))
		client_close(c, "forced server close");
}

static void close_sockets(struct sio_client *c, const char *reason)
{
	while (!list_empty(&c->sockets)) {
		struct sio_socket *s = container_of(c->sockets.next, struct sio_socket, client_link);
		socket_close(s, reason);
		list_remove(&s->client_link); /* in case a callback kept it linked */
	}
}

/* A namespace joined, or the connection closing: the wait ends. */
static void client_not_pending(struct sio_client *c)
{
	if (c->wait) {
		timer_cancel(c->wait->wheel, &c->wait->timer);
		free(c->wait);
		c->wait = NULL;
		eio_session_settle(c->conn);
	}
}

void client_close(struct sio_client *c, const char *reason)
{
	if (c->closed)
		return;
	c->closed = true;
	client_not_pending(c); /* a closing connection no longer holds a handshake slot */
	sio_eio_close(c->conn);
	close_sockets(c, reason);
}

static struct sio_socket *client_socket(struct sio_client *c, const char *nsp, size_t len)
{
	for (struct list *n = c->sockets.next; n != &c->sockets; n = n->next) {
		struct sio_socket *s = container_of(n, struct sio_socket, client_link);
		if (strlen(s->nsp->name) == len && memcmp(s->nsp->name, nsp, len) == 0)
			return s;
	}
	return NULL;
}

/* Sends a CONNECT_ERROR for a namespace with no socket. data borrowed. */
static void connect_error(struct sio_layer *io, struct sio_client *c, const char *nsp,
			  size_t len, const json_t *data)
{
	struct outbuf *bufs[1];
	int n = encode_packet(io, nsp, len, SIO_PACKET_CONNECT_ERROR, -1, data, NULL,
			      0, bufs);
	if (n <= 0)
		return;
	eio_session_send(c->conn, bufs, 1, false);
	outbuf_unref(bufs[0]);
}

/* A middleware's refusal as the client reads it: {message, data} (data
 * only when given; stolen), or for a v4 client (1.x/2.x) the data alone,
 * else the message string, as the reference sends err.data || err.message. */
static json_t *refusal(const struct sio_client *c, const char *message, json_t *data)
{
	if (client_v4(c))
		return data ? data : json_string(message);
	json_t *err = json_pack("{s:s}", "message", message);
	if (err && data)
		json_object_set_new(err, "data", data);
	else
		json_decref(data);
	return err;
}

static void on_connect(struct sio_layer *io, struct sio_client *c, struct sio_pkt *p)
{
	uint32_t cap = io->opts->max_namespaces_per_client;
	if (cap && c->nsockets >= cap) {
		layer_refuse(io, SIO_REFUSED_NAMESPACE_CAP, c, p->nsp, p->nsp_len, NULL);
		json_t *err = json_pack("{s:s}", "message", "Too many namespaces");
		connect_error(io, c, p->nsp, p->nsp_len, err);
		json_decref(err);
		return;
	}
	struct sio_namespace *nsp = namespace_for_connect(io, p->nsp, p->nsp_len, p->data);
	if (!nsp) {
		layer_refuse(io, SIO_REFUSED_INVALID_NAMESPACE, c, p->nsp, p->nsp_len, NULL);
		json_t *err = json_pack("{s:s}", "message", "Invalid namespace");
		connect_error(io, c, p->nsp, p->nsp_len, err);
		json_decref(err);
		return;
	}
	json_t *auth = p->data;
	p->data = NULL;
	struct sio_socket *s = socket_new(c, nsp, auth);
	if (!s) {
		client_close(c, "forced server close");
		return;
	}
	/* a session taken back: id, rooms and data before the middleware, as
	 * in the reference; it stays kept until the socket is let in */
	uint64_t from = 0;
	struct rec_session *sess = NULL;
	if (!client_v4(c)) { /* 1.x/2.x clients have no recovery */
		recovery_take_over(io->recovery, nsp, c, s->hs.auth);
		sess = recovery_find(io->recovery, nsp, s->hs.auth, &from);
	}
	if (sess && recovery_apply(io->recovery, s, sess) < 0) {
		nsp->adapter->ops->leave_all(nsp->adapter, s);
		socket_free(s);
		client_close(c, "forced server close");
		return;
	}
	char *message = NULL;
	json_t *data = NULL;
	bool skip = sess && recovery_skip_middlewares(io->recovery);
	if (!skip && namespace_run_middleware(nsp, s, &message, &data) != 0) {
		layer_refuse(io, SIO_REFUSED_MIDDLEWARE, c, p->nsp, p->nsp_len, message);
		json_t *err = refusal(c, message ? message : "", data);
		connect_error(io, c, p->nsp, p->nsp_len, err);
		json_decref(err);
		free(message);
		nsp->adapter->ops->leave_all(nsp->adapter, s); /* rooms joined by the middleware */
		socket_free(s);
		return;
	}
	if (c->closed || !eio_session_open(c->conn)) {
		nsp->adapter->ops->leave_all(nsp->adapter, s);
		socket_free(s);
		return;
	}
	client_not_pending(c);
	if (sess)
		recovery_resume(io->recovery, s, sess, from);
	socket_connected(s);
}

/* The value of a query's "%XX" escape at p (3 bytes left at least), or -1. */
static int pct_byte(const char *p)
{
	int hi = hex_digit_value((unsigned char)p[1]), lo = hex_digit_value((unsigned char)p[2]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Decodes one name or value of a query as URLSearchParams does ('+' is a
 * space, "%XX" a byte, a malformed escape stays as it is) into a new
 * string, or NULL when the bytes are not UTF-8 (the pair is then left
 * out) or out of memory. */
static json_t *query_string(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int b = p[i] == '%' && i + 2 < n ? pct_byte(p + i) : -1;
		if (b >= 0) {
			d[o++] = (char)b;
			i += 2;
		} else {
			d[o++] = p[i] == '+' ? ' ' : p[i];
		}
	}
	json_t *v = json_stringn(d, o);
	free(d);
	return v;
}

/* A v4 client's namespace query ("token=1&x=2") as the object the
 * reference hands over as auth: each name to its value, the last one of a
 * name winning. A new reference, or NULL when out of memory. */
static json_t *query_auth(const char *q, size_t len)
{
	json_t *auth = json_object();
	const char *end = q + len;
	while (auth && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		if (stop > q) {
			const char *eq = memchr(q, '=', (size_t)(stop - q));
			json_t *name = query_string(q, (size_t)((eq ? eq : stop) - q));
			json_t *value = eq ? query_string(eq + 1, (size_t)(stop - eq - 1)) : json_string("");
			if (name && value)
				json_object_set(auth, json_string_value(name), value);
			json_decref(name);
			json_decref(value);
		}
		q = stop + 1;
	}
	return auth;
}

static void on_packet(struct sio_layer *io, struct sio_client *c, struct sio_pkt *p)
{
	if (client_v4(c)) {
		/* a 1.x/2.x client's namespace may carry a query: the name is
		 * what comes before it, the query a CONNECT's auth */
		const char *q = memchr(p->nsp, '?', p->nsp_len);
		if (q) {
			size_t qlen = p->nsp_len - (size_t)(q - p->nsp) - 1;
			if (p->type == SIO_PACKET_CONNECT) {
				json_decref(p->data);
				p->data = query_auth(q + 1, qlen);
			}
			p->nsp_len = (size_t)(q - p->nsp);
			p->nsp[p->nsp_len] = '\0';
		}
	}
	struct sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
	if (!s && p->type == SIO_PACKET_CONNECT) {
		on_connect(io, c, p);
		return;
	}
	if (!s || p->type == SIO_PACKET_CONNECT || p->type == SIO_PACKET_CONNECT_ERROR) {
		/* a packet for a namespace not joined, or a second CONNECT */
		client_close(c, "forced server close");
		return;
	}
	socket_on_packet(s, p);
}

static void on_open(sio_eio_socket *conn, void *userdata)
{
	struct sio_layer *io = userdata;
	struct sio_client *c = calloc(1, sizeof(*c));
	struct connect_wait *w = malloc(sizeof(*w));
	if (!c || !w) {
		free(c);
		free(w);
		sio_eio_close(conn);
		return;
	}
	c->conn = conn;
	list_init(&c->sockets);
	sio_pkt_decoder_init(&c->dec, io->opts->max_attachments);
	eio_session_set_layer(conn, c);
	w->client = c;
	w->wheel = io->wheel;
	list_init(&w->timer.link);
	c->wait = w;
	timer_arm(io->wheel, &w->timer, now_ms() + io->opts->connect_timeout, connect_timed_out);
	if (client_v4(c)) {
		/* a 1.x/2.x client is in "/" from the start: the server connects it */
		char root[] = "/";
		struct sio_pkt p = {.type = SIO_PACKET_CONNECT, .nsp = root, .nsp_len = 1, .id = -1};
		on_connect(io, c, &p);
	}
}

static void on_message(sio_eio_socket *conn, const void *data, size_t len, bool binary,
		       void *userdata)
{
	struct sio_client *c = eio_session_layer(conn);
	if (!c || c->closed)
		return;
	struct sio_pkt p;
	memset(&p, 0, sizeof(p));
	struct sio_layer *io = userdata;
	int r;
	if (io->opts->parser == SIO_PARSER_MSGPACK)
		/* one binary message a packet; text is not msgpack */
		r = binary && sio_msgpack_decode(data, len, io->opts->max_attachments, &p) == 0 ? 1
											  : -1;
	else if (binary)
		r = sio_pkt_decoder_binary(&c->dec, data, len, &p);
	else
		r = sio_pkt_decoder_text(&c->dec, data, len, &p);
	if (r < 0) {
		/* a decode error closes this client's connection, nothing else;
		 * the reference's sockets then see the engine's "forced close" */
		client_close(c, "forced close");
		return;
	}
	if (r == 1) {
		on_packet(userdata, c, &p);
		sio_pkt_finish(&p);
	}
}

static void on_close(sio_eio_socket *conn, const char *reason, void *userdata)
{
	struct sio_layer *io = userdata;
	struct sio_client *c = eio_session_layer(conn);
	if (!c)
		return;
	eio_session_set_layer(conn, NULL);
	client_not_pending(c);
	if (!c->closed) {
		c->closed = true;
		/* however the connection ended while the server stops, its
		 * sockets leave because of the stop, as in the reference */
		close_sockets(c, io->stopping ? "server shutting down" : reason);
	}
	sio_pkt_decoder_finish(&c->dec);
	free(c);
}

struct sio_layer *sio_layer_create(sio_server *owner, const struct sio_server_options *opts,
				   struct timer_wheel *wheel, struct pool *pool)
{
	struct sio_layer *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->owner = owner;
	io->opts = opts;
	io->wheel = wheel;
	io->pool = pool;
	list_init(&io->namespaces);
	list_init(&io->parents);
	list_init(&io->deferred);
	list_init(&io->reap);
	list_init(&io->nsp_cleanup);
	list_init(&io->answers);
	list_init(&io->collecting);
	io->empty_object = json_object();
	if (opts->connection_state_recovery.enabled && !(io->recovery = recovery_create(io))) {
		sio_layer_destroy(io);
		return NULL;
	}
	if (!io->empty_object || !namespace_of(io, "/")) {
		sio_layer_destroy(io);
		return NULL;
	}
	return io;
}

void sio_layer_shutdown(struct sio_layer *io)
{
	/* No DISCONNECT, as in the reference's io.close(): the sockets leave
	 * when their connection closes (reason "server shutting down"), and
	 * the client, seeing only the transport close, reconnects. */
	io->stopping = true;
}

static void on_upgrade(sio_eio_socket *conn, void *userdata)
{
	SIO_OBSERVE((struct sio_layer *)userdata, conn_upgrade, conn);
}

/* Runs the disconnects asked for with sio_socket_disconnect() (the
 * engine's before_flush hook). */
static void process_deferred(void *userdata)
{
	struct sio_layer *io = userdata;
	while (!list_empty(&io->deferred)) {
		struct sio_socket *s = container_of(io->deferred.next, struct sio_socket, defer_link);
		list_remove(&s->defer_link);
		s->disconnect_pending = false;
		if (!s->connected)
			continue;
		struct sio_client *c = s->client;
		if (s->disconnect_close) {
			/* every namespace of the connection leaves, then it closes */
			for (struct list *n = c->sockets.next; n != &c->sockets; n = n->next) {
				struct sio_socket *o = container_of(n, struct sio_socket, client_link);
				socket_packet(o, SIO_PACKET_DISCONNECT, -1, NULL, NULL, 0, false);
			}
			close_sockets(c, "server namespace disconnect");
			client_close(c, "forced server close");
		} else {
			socket_packet(s, SIO_PACKET_DISCONNECT, -1, NULL, NULL, 0, false);
			socket_close(s, "server namespace disconnect");
		}
	}
}

/* Frees the sockets closed since the last call, and dynamic namespaces
 * left empty (the engine's after_reap hook). */
static void reap_sockets(void *userdata)
{
	struct sio_layer *io = userdata;
	while (!list_empty(&io->reap)) {
		struct sio_socket *s = container_of(io->reap.next, struct sio_socket, defer_link);
		list_remove(&s->defer_link);
		socket_free(s);
	}
	while (!list_empty(&io->nsp_cleanup)) {
		struct sio_namespace *nsp =
			container_of(io->nsp_cleanup.next, struct sio_namespace, cleanup_link);
		list_remove(&nsp->cleanup_link);
		nsp->in_cleanup = false;
		if (!nsp->nsockets)
			namespace_free(nsp);
	}
}

void sio_layer_hooks(struct sio_layer *io, struct eio_hooks *hooks)
{
	*hooks = (struct eio_hooks){
		.ev = {.version = SIO_EIO_EVENTS_VERSION,
		       .connection = on_open,
		       .message = on_message,
		       .close = on_close,
		       .upgrade = on_upgrade},
		.userdata = io,
		.before_flush = process_deferred,
		.after_reap = reap_sockets,
	};
}

void sio_layer_destroy(struct sio_layer *io)
{
	if (!io)
		return;
	reap_sockets(io);
	local_answers_close(io);
	json_decref(io->empty_object);
	buf_free(&io->scratch);
	while (!list_empty(&io->namespaces))
		namespace_free(container_of(io->namespaces.next, struct sio_namespace, link));
	while (!list_empty(&io->parents))
		namespace_free(container_of(io->parents.next, struct sio_namespace, link));
	recovery_destroy(io->recovery);
	free(io);
}
