/*
 * Namespaces: "/" and the others, dynamic ones made by a parent's accept
 * callback or glob pattern, events and connect middleware.
 */
#include "server/sio.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static struct sio_namespace *namespace_new(struct sio_layer *io, const char *name, size_t len)
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
	nsp->io = io;
	nsp->serial = ++io->nsp_serial;
	list_init(&nsp->sessions);
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
	recovery_drop_namespace(nsp->io->recovery, nsp);
	if (nsp->adapter)
		nsp->adapter->ops->destroy(nsp->adapter);
	free(nsp->mws);
	free(nsp->pattern);
	free(nsp->name);
	free(nsp);
}

/* A namespace that holds sockets: with its adapter, on io->namespaces.
 * Frees nsp and returns NULL when out of memory. */
static struct sio_namespace *namespace_add(struct sio_namespace *nsp)
{
	struct sio_layer *io = nsp->io;
	nsp->adapter = io->adapter_create ? io->adapter_create(io->adapter_ud, nsp)
	                                  : adapter_memory_create(nsp);
	if (!nsp->adapter) {
		namespace_free(nsp);
		return NULL;
	}
	list_insert_tail(&nsp->io->namespaces, &nsp->link);
	return nsp;
}

struct sio_namespace *namespace_find(struct sio_layer *io, const char *name, size_t len)
{
	for (struct list *n = io->namespaces.next; n != &io->namespaces; n = n->next) {
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

struct sio_namespace *namespace_for_connect(struct sio_layer *io, const char *name, size_t len,
					    const json_t *auth)
{
	struct sio_namespace *nsp = namespace_find(io, name, len);
	if (nsp)
		return nsp;
	if (memchr(name, '\0', len))
		return NULL; /* a name C callbacks could not see whole */
	for (struct list *n = io->parents.next; n != &io->parents; n = n->next) {
		struct sio_namespace *p = container_of(n, struct sio_namespace, link);
		if (!parent_accepts(p, name, auth))
			continue;
		/* only an accepted name costs an allocation */
		nsp = namespace_new(io, name, len);
		if (!nsp)
			return NULL;
		nsp->child = true;
		nsp->ev = p->ev;
		nsp->ev_userdata = p->ev_userdata;
		nsp->server_event = p->server_event;
		nsp->server_event_ud = p->server_event_ud;
		if (p->nmws) {
			nsp->mws = malloc(p->nmws * sizeof(*nsp->mws));
			if (!nsp->mws) {
				namespace_free(nsp);
				return NULL;
			}
			memcpy(nsp->mws, p->mws, p->nmws * sizeof(*nsp->mws));
			nsp->nmws = p->nmws;
		}
		return namespace_add(nsp);
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

struct sio_namespace *namespace_of(struct sio_layer *io, const char *name)
{
	if (!name || name[0] != '/')
		return NULL;
	struct sio_namespace *nsp = namespace_find(io, name, strlen(name));
	if (nsp)
		return nsp;
	nsp = namespace_new(io, name, strlen(name));
	return nsp ? namespace_add(nsp) : NULL;
}

struct sio_namespace *namespace_parent(struct sio_layer *io,
				       bool (*accept)(const char *name, const json_t *auth,
						      void *userdata),
				       void *userdata, const char *pattern)
{
	struct sio_namespace *p = namespace_new(io, pattern ? pattern : "", pattern ? strlen(pattern) : 0);
	if (!p || (pattern && !(p->pattern = strdup(pattern)))) {
		namespace_free(p);
		return NULL;
	}
	p->parent = true;
	p->accept = accept;
	p->accept_userdata = userdata;
	list_insert_tail(&io->parents, &p->link);
	return p;
}

SIO_API const char *sio_namespace_name(const sio_namespace *nsp)
{
	return nsp ? nsp->name : NULL;
}

SIO_API sio_server *sio_namespace_server(const sio_namespace *nsp)
{
	return nsp ? nsp->io->owner : NULL;
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

int namespace_deliver(struct sio_namespace *nsp, const struct sio_target *t, json_t *data,
                      const struct sio_binary *bins, size_t nbins)
{
	int r;
	/* stored for recovery once, with one offset, for all its recipients */
	struct recovery *rc = nsp->io->recovery;
	uint64_t seq = rc && !(t && t->volatile_) ? recovery_offset(rc, data) : 0;
	/* encoded once: every recipient shares these buffers */
	struct outbuf *bufs[1 + SIO_MAX_EMIT_BINS];
	int n = encode_packet(nsp->io, nsp->name, strlen(nsp->name), SIO_PACKET_EVENT, -1, data,
			      bins, nbins, bufs);
	json_decref(data);
	if (n < 0)
		return n;
	if (seq)
		recovery_store(rc, seq, nsp, t, NULL, bufs, (size_t)n);
	r = nsp->adapter->ops->broadcast(nsp->adapter, t, bufs, (size_t)n, seq);
	for (int i = 0; i < n; i++)
		outbuf_unref(bufs[i]);
	return r;
}

static int namespace_emit(sio_namespace *nsp, const struct sio_target *t, const char *event,
			  json_t *args, const struct sio_binary *bins, size_t nbins)
{
	json_t *data;
	int r = emit_data(nsp && !nsp->parent ? 0 : SIO_EINVAL, event, args, bins, nbins, &data);
	if (r < 0)
		return r;
	const struct sio_adapter_ops *ops = nsp->adapter->ops;
	if (ops->publish && !(t && t->local))
		ops->publish(nsp->adapter, t, data, bins, nbins);
	return namespace_deliver(nsp, t, data, bins, nbins);
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

SIO_API size_t sio_namespace_fetch_sockets(sio_namespace *nsp, const struct sio_target *t,
					   sio_socket **out, size_t max)
{
	if (!nsp || nsp->parent)
		return 0;
	return nsp->adapter->ops->fetch_sockets(nsp->adapter, t, out, max);
}

SIO_API int sio_namespace_sockets_join(sio_namespace *nsp, const struct sio_target *t,
				       const char *room)
{
	if (!nsp || !room)
		return SIO_EINVAL;
	if (nsp->parent)
		return 0; /* holds no socket */
	return nsp->adapter->ops->sockets_join(nsp->adapter, t, room);
}

SIO_API int sio_namespace_sockets_leave(sio_namespace *nsp, const struct sio_target *t,
					const char *room)
{
	if (!nsp || !room)
		return SIO_EINVAL;
	if (nsp->parent)
		return 0; /* holds no socket */
	return nsp->adapter->ops->sockets_leave(nsp->adapter, t, room);
}

SIO_API int sio_namespace_disconnect_sockets(sio_namespace *nsp, const struct sio_target *t,
					     bool close)
{
	if (!nsp)
		return SIO_EINVAL;
	if (nsp->parent)
		return 0; /* holds no socket */
	return nsp->adapter->ops->disconnect_sockets(nsp->adapter, t, close);
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
