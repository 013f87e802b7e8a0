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
};

static void connect_timed_out(struct timer *t)
{
	struct sio_client *c = container_of(t, struct connect_wait, timer)->client;
	if (list_empty(&c->sockets))
		client_close(c, "forced server close");
}

static void on_open(sio_eio_socket *conn, void *userdata)
{
	struct sio_server *srv = userdata;
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
	sio_pkt_decoder_init(&c->dec, srv->opts.max_attachments);
	conn->layer = c;
	w->client = c;
	list_init(&w->timer.link);
	c->wait = w;
	srv->npending++;
	timer_arm(&srv->wheel, &w->timer, now_ms() + srv->opts.connect_timeout, connect_timed_out);
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
	struct sio_server *srv = c->conn->srv;
	if (c->wait) {
		timer_cancel(&srv->wheel, &c->wait->timer);
		free(c->wait);
		c->wait = NULL;
		srv->npending--;
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

static void on_connect(struct sio_client *c, struct sio_pkt *p)
{
	struct sio_server *srv = c->conn->srv;
	uint32_t cap = srv->opts.max_namespaces_per_client;
	if (cap && c->nsockets >= cap) {
		json_t *err = json_pack("{s:s}", "message", "Too many namespaces");
		connect_error(c, p->nsp, p->nsp_len, err);
		json_decref(err);
		return;
	}
	struct sio_namespace *nsp = namespace_for_connect(srv, p->nsp, p->nsp_len, p->data);
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
		adapter_del_all(nsp, s); /* rooms joined by the middleware */
		socket_free(s);
		return;
	}
	if (c->closed || c->conn->state != SS_OPEN) {
		adapter_del_all(nsp, s);
		socket_free(s);
		return;
	}
	client_not_pending(c);
	socket_connected(s);
}

static void on_packet(struct sio_client *c, struct sio_pkt *p)
{
	struct sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
	if (!s && p->type == SIO_PACKET_CONNECT) {
		on_connect(c, p);
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
	(void)userdata;
	struct sio_client *c = conn->layer;
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
		on_packet(c, &p);
		sio_pkt_finish(&p);
	}
}

static void on_close(sio_eio_socket *conn, const char *reason, void *userdata)
{
	(void)userdata;
	struct sio_client *c = conn->layer;
	if (!c)
		return;
	conn->layer = NULL;
	client_not_pending(c);
	if (!c->closed) {
		c->closed = true;
		/* however the connection ended while the server stops, its
		 * sockets leave because of the stop, as in the reference */
		close_sockets(c, conn->srv->stopping ? "server shutting down" : reason);
	}
	sio_pkt_decoder_finish(&c->dec);
	free(c);
}

void sio_layer_install(struct sio_server *srv)
{
	srv->sio_layer = true;
	srv->eio_events = (struct sio_eio_events){
		.version = SIO_EIO_EVENTS_VERSION,
		.connection = on_open,
		.message = on_message,
		.close = on_close,
	};
	srv->eio_userdata = srv;
	srv->empty_object = json_object();
	sio_server_of(srv, "/");
}

void sio_layer_shutdown(struct sio_server *srv)
{
	for (struct list *n = srv->namespaces.next; n != &srv->namespaces; n = n->next) {
		struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		for (struct list *k = nsp->sockets.next; k != &nsp->sockets; k = k->next) {
			struct sio_socket *s = container_of(k, struct sio_socket, nsp_link);
			socket_packet(s, SIO_PACKET_DISCONNECT, -1, NULL, NULL, 0, false);
		}
	}
}

void sio_process_deferred(struct sio_server *srv)
{
	while (!list_empty(&srv->sio_deferred)) {
		struct sio_socket *s =
			container_of(srv->sio_deferred.next, struct sio_socket, defer_link);
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

void sio_reap_sockets(struct sio_server *srv)
{
	while (!list_empty(&srv->sio_reap)) {
		struct sio_socket *s = container_of(srv->sio_reap.next, struct sio_socket, defer_link);
		list_remove(&s->defer_link);
		socket_free(s);
	}
	while (!list_empty(&srv->nsp_cleanup)) {
		struct sio_namespace *nsp =
			container_of(srv->nsp_cleanup.next, struct sio_namespace, cleanup_link);
		list_remove(&nsp->cleanup_link);
		nsp->in_cleanup = false;
		if (!nsp->nsockets)
			namespace_free(nsp);
	}
}

void sio_layer_free(struct sio_server *srv)
{
	sio_reap_sockets(srv);
	json_decref(srv->empty_object);
	srv->empty_object = NULL;
	while (!list_empty(&srv->namespaces))
		namespace_free(container_of(srv->namespaces.next, struct sio_namespace, link));
	while (!list_empty(&srv->parents))
		namespace_free(container_of(srv->parents.next, struct sio_namespace, link));
}
