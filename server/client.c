/*
 * The Socket.IO client: one per Engine.IO session. Decodes packets
 * (attachments included), connects namespaces through their middleware,
 * routes packets to sockets, and closes the connection on any protocol
 * error, as the reference does.
 */
#include "server/sio.h"

#include <stdlib.h>
#include <string.h>

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
static void connect_error(struct sio_client *c, const char *nsp, size_t len, const json_t *data)
{
	char *text = NULL;
	size_t tlen = 0;
	if (sio_pkt_encode(SIO_PACKET_CONNECT_ERROR, nsp, len, -1, 0, data, 0, &text, &tlen) < 0)
		return;
	sio_eio_send(c->conn, text, tlen, false);
	free(text);
}

static void on_connect(struct sio_layer *io, struct sio_client *c, struct sio_pkt *p)
{
	uint32_t cap = io->opts->max_namespaces_per_client;
	if (cap && c->nsockets >= cap) {
		json_t *err = json_pack("{s:s}", "message", "Too many namespaces");
		connect_error(c, p->nsp, p->nsp_len, err);
		json_decref(err);
		return;
	}
	struct sio_namespace *nsp = namespace_for_connect(io, p->nsp, p->nsp_len, p->data);
	if (!nsp) {
		json_t *err = json_pack("{s:s}", "message", "Invalid namespace");
		connect_error(c, p->nsp, p->nsp_len, err);
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
	char *message = NULL;
	json_t *data = NULL;
	if (namespace_run_middleware(nsp, s, &message, &data) != 0) {
		json_t *err = json_pack("{s:s?}", "message", message ? message : "");
		if (err && data)
			json_object_set_new(err, "data", data);
		else
			json_decref(data);
		connect_error(c, p->nsp, p->nsp_len, err);
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
	socket_connected(s);
}

static void on_packet(struct sio_layer *io, struct sio_client *c, struct sio_pkt *p)
{
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

static void on_message(sio_eio_socket *conn, const void *data, size_t len, bool binary,
		       void *userdata)
{
	struct sio_client *c = eio_session_layer(conn);
	if (!c || c->closed)
		return;
	struct sio_pkt p;
	memset(&p, 0, sizeof(p));
	int r = binary ? sio_pkt_decoder_binary(&c->dec, data, len, &p)
		       : sio_pkt_decoder_text(&c->dec, data, len, &p);
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
	io->empty_object = json_object();
	if (!io->empty_object || !namespace_of(io, "/")) {
		sio_layer_destroy(io);
		return NULL;
	}
	return io;
}

void sio_layer_shutdown(struct sio_layer *io)
{
	io->stopping = true;
	for (struct list *n = io->namespaces.next; n != &io->namespaces; n = n->next) {
		struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		for (struct list *k = nsp->sockets.next; k != &nsp->sockets; k = k->next) {
			struct sio_socket *s = container_of(k, struct sio_socket, nsp_link);
			socket_packet(s, SIO_PACKET_DISCONNECT, -1, NULL, NULL, 0, false);
		}
	}
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
		       .close = on_close},
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
	json_decref(io->empty_object);
	buf_free(&io->scratch);
	while (!list_empty(&io->namespaces))
		namespace_free(container_of(io->namespaces.next, struct sio_namespace, link));
	while (!list_empty(&io->parents))
		namespace_free(container_of(io->parents.next, struct sio_namespace, link));
	free(io);
}
