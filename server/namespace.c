/*
 * Namespaces: "/" and the others, dynamic ones made by a parent's accept
 * callback or glob pattern, events and connect middleware.
 */
#include "server/sio.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static struct sio_namespace *namespace_new(struct sio_server *srv, const char *name, size_t len)
{
	struct sio_namespace *nsp = calloc(1, sizeof(*nsp));
	if (!nsp)
		return NULL;
	nsp->name = malloc(len + 1);
	if (!nsp->name) {
		free(nsp);
		return NULL;
	}
	memcpy(nsp->name, name, len);
	nsp->name[len] = '\0';
	nsp->srv = srv;
	list_init(&nsp->sockets);
	list_init(&nsp->link);
	list_init(&nsp->cleanup_link);
	return nsp;
}

void namespace_free(struct sio_namespace *nsp)
{
	if (!nsp)
		return;
	list_remove(&nsp->link);
	list_remove(&nsp->cleanup_link);
	adapter_free(nsp);
	free(nsp->mws);
	free(nsp->pattern);
	free(nsp->name);
	free(nsp);
}

struct sio_namespace *namespace_find(struct sio_server *srv, const char *name, size_t len)
{
	for (struct list *n = srv->namespaces.next; n != &srv->namespaces; n = n->next) {
		struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		if (strlen(nsp->name) == len && memcmp(nsp->name, name, len) == 0)
			return nsp;
	}
	return NULL;
}

static bool parent_accepts(struct sio_namespace *p, const char *name, const json_t *auth)
{
	if (p->pattern)
		return fnmatch(p->pattern, name, 0) == 0;
	return p->accept && p->accept(name, auth, p->accept_userdata);
}

struct sio_namespace *namespace_for_connect(struct sio_server *srv, const char *name, size_t len,
					    const json_t *auth)
{
	struct sio_namespace *nsp = namespace_find(srv, name, len);
	if (nsp)
		return nsp;
	if (memchr(name, '\0', len))
		return NULL; /* a name C callbacks could not see whole */
	for (struct list *n = srv->parents.next; n != &srv->parents; n = n->next) {
		struct sio_namespace *p = container_of(n, struct sio_namespace, link);
		if (!parent_accepts(p, name, auth))
			continue;
		/* only an accepted name costs an allocation */
		nsp = namespace_new(srv, name, len);
		if (!nsp)
			return NULL;
		nsp->child = true;
		nsp->ev = p->ev;
		nsp->ev_userdata = p->ev_userdata;
		if (p->nmws) {
			nsp->mws = malloc(p->nmws * sizeof(*nsp->mws));
			if (!nsp->mws) {
				namespace_free(nsp);
				return NULL;
			}
			memcpy(nsp->mws, p->mws, p->nmws * sizeof(*nsp->mws));
			nsp->nmws = p->nmws;
		}
		list_insert_tail(&srv->namespaces, &nsp->link);
		return nsp;
	}
	return NULL;
}

int namespace_run_middleware(struct sio_namespace *nsp, struct sio_socket *s, char **message,
			     json_t **data)
{
	for (size_t i = 0; i < nsp->nmws; i++) {
		const char *msg = NULL;
		json_t *d = NULL;
		if (nsp->mws[i].fn(s, &msg, &d, nsp->mws[i].userdata) != 0) {
			*message = strdup(msg ? msg : "");
			*data = d;
			return -1;
		}
		json_decref(d);
	}
	return 0;
}

SIO_API sio_namespace *sio_server_of(sio_server *srv, const char *name)
{
	if (!srv || !name || name[0] != '/')
		return NULL;
	struct sio_namespace *nsp = namespace_find(srv, name, strlen(name));
	if (nsp)
		return nsp;
	nsp = namespace_new(srv, name, strlen(name));
	if (nsp)
		list_insert_tail(&srv->namespaces, &nsp->link);
	return nsp;
}

SIO_API sio_namespace *sio_server_of_dynamic(sio_server *srv,
					     bool (*accept)(const char *name, const json_t *auth,
							    void *userdata),
					     void *userdata)
{
	if (!srv || !accept)
		return NULL;
	struct sio_namespace *p = namespace_new(srv, "", 0);
	if (!p)
		return NULL;
	p->parent = true;
	p->accept = accept;
	p->accept_userdata = userdata;
	list_insert_tail(&srv->parents, &p->link);
	return p;
}

SIO_API sio_namespace *sio_server_of_pattern(sio_server *srv, const char *pattern)
{
	if (!srv || !pattern || pattern[0] != '/')
		return NULL;
	struct sio_namespace *p = namespace_new(srv, pattern, strlen(pattern));
	if (!p || !(p->pattern = strdup(pattern))) {
		namespace_free(p);
		return NULL;
	}
	p->parent = true;
	list_insert_tail(&srv->parents, &p->link);
	return p;
}

SIO_API const char *sio_namespace_name(const sio_namespace *nsp)
{
	return nsp ? nsp->name : NULL;
}

SIO_API sio_server *sio_namespace_server(const sio_namespace *nsp)
{
	return nsp ? nsp->srv : NULL;
}

SIO_API size_t sio_namespace_size(const sio_namespace *nsp)
{
	return nsp ? nsp->nsockets : 0;
}

SIO_API int sio_namespace_set_events(sio_namespace *nsp, const struct sio_namespace_events *ev,
				     void *userdata)
{
	if (!nsp || !ev || ev->version != SIO_NAMESPACE_EVENTS_VERSION)
		return SIO_EINVAL;
	nsp->ev = *ev;
	nsp->ev_userdata = userdata;
	return 0;
}

SIO_API int sio_namespace_use(sio_namespace *nsp, sio_middleware_fn fn, void *userdata)
{
	if (!nsp || !fn)
		return SIO_EINVAL;
	struct middleware *m = realloc(nsp->mws, (nsp->nmws + 1) * sizeof(*m));
	if (!m)
		return SIO_ENOMEM;
	nsp->mws = m;
	m[nsp->nmws++] = (struct middleware){.fn = fn, .userdata = userdata};
	return 0;
}

/* ---- emitting to selections and server-side operations ------------------ */

struct bcast {
	struct outbuf **bufs;
	int n;
	bool is_volatile;
	int count;
};

static void bcast_one(struct sio_socket *s, void *arg)
{
	struct bcast *b = arg;
	sio_eio_socket *conn = s->client->conn;
	/* a volatile emit the transport cannot take now is skipped, uncounted */
	if (b->is_volatile && !session_writable(conn))
		return;
	if (session_send_outbufs(conn, b->bufs, (size_t)b->n, false) == 0)
		b->count++;
}

static int namespace_emit(sio_namespace *nsp, const struct sio_target *t, const char *event,
			  json_t *args, const struct sio_binary *bins, size_t nbins)
{
	if (!nsp || !event || (nbins && !bins) || nsp->parent) {
		json_decref(args);
		return SIO_EINVAL;
	}
	if (event_reserved(event)) {
		json_decref(args);
		return SIO_ERESERVED;
	}
	if (nbins > 256) {
		json_decref(args);
		return SIO_ETOOBIG;
	}
	json_t *data = event_array(event, args);
	if (!data)
		return SIO_EINVAL;
	/* encoded once: every recipient shares these buffers */
	struct outbuf *bufs[1 + 256];
	int n = encode_packet(nsp->name, SIO_PACKET_EVENT, -1, data, bins, nbins, bufs);
	json_decref(data);
	if (n < 0)
		return n;
	struct bcast b = {.bufs = bufs, .n = n, .is_volatile = t && t->volatile_};
	adapter_select(nsp, t, bcast_one, &b);
	for (int i = 0; i < n; i++)
		outbuf_unref(bufs[i]);
	return b.count;
}

SIO_API int sio_namespace_emit(sio_namespace *nsp, const struct sio_target *t, const char *event,
			       json_t *args, const struct sio_binary *bins, size_t nbins)
{
	return namespace_emit(nsp, t, event, args, bins, nbins);
}

SIO_API int sio_socket_broadcast(sio_socket *s, const struct sio_target *t, const char *event,
				 json_t *args, const struct sio_binary *bins, size_t nbins)
{
	if (!s) {
		json_decref(args);
		return SIO_EINVAL;
	}
	struct sio_target tt = {0};
	if (t)
		tt = *t;
	tt.except_socket = s;
	return namespace_emit(s->nsp, &tt, event, args, bins, nbins);
}

struct collect {
	struct sio_socket **out;
	size_t max, count;
};

static void collect_one(struct sio_socket *s, void *arg)
{
	struct collect *c = arg;
	if (c->count < c->max)
		c->out[c->count] = s;
	c->count++;
}

SIO_API size_t sio_namespace_fetch_sockets(sio_namespace *nsp, const struct sio_target *t,
					   sio_socket **out, size_t max)
{
	if (!nsp || nsp->parent)
		return 0;
	struct collect c = {.out = out, .max = out ? max : 0};
	adapter_select(nsp, t, collect_one, &c);
	return c.count;
}

/* The selection as an array (rooms change while acting on it). */
static struct sio_socket **select_all(sio_namespace *nsp, const struct sio_target *t, size_t *n)
{
	size_t count = sio_namespace_fetch_sockets(nsp, t, NULL, 0);
	struct sio_socket **arr = malloc((count ? count : 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	*n = sio_namespace_fetch_sockets(nsp, t, arr, count);
	if (*n > count)
		*n = count;
	return arr;
}

SIO_API int sio_namespace_sockets_join(sio_namespace *nsp, const struct sio_target *t,
				       const char *room)
{
	if (!nsp || !room)
		return SIO_EINVAL;
	size_t n;
	struct sio_socket **arr = select_all(nsp, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = adapter_add(nsp, arr[i], room);
	free(arr);
	return r;
}

SIO_API int sio_namespace_sockets_leave(sio_namespace *nsp, const struct sio_target *t,
					const char *room)
{
	if (!nsp || !room)
		return SIO_EINVAL;
	size_t n;
	struct sio_socket **arr = select_all(nsp, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	for (size_t i = 0; i < n; i++)
		adapter_del(nsp, arr[i], room);
	free(arr);
	return 0;
}

SIO_API int sio_namespace_disconnect_sockets(sio_namespace *nsp, const struct sio_target *t,
					     bool close)
{
	if (!nsp)
		return SIO_EINVAL;
	size_t n;
	struct sio_socket **arr = select_all(nsp, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	for (size_t i = 0; i < n; i++)
		sio_socket_disconnect(arr[i], close);
	free(arr);
	return 0;
}

SIO_API long sio_binary_num(const json_t *v, size_t nbins)
{
	int64_t k = sio_pkt_placeholder_num(v, (uint32_t)nbins);
	return k < 0 ? -1 : (long)k;
}

SIO_API json_t *sio_binary_placeholder(size_t num)
{
	return sio_pkt_placeholder_new((uint32_t)num);
}
