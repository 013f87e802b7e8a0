/*
 * The operations on a selection of this node's sockets, for every
 * adapter: built on its select(), so they work whatever keeps the rooms.
 */
#include "server/adapter.h"

#include <stdlib.h>

#include "server/sio.h"

struct bcast {
	struct outbuf **bufs;
	size_t n;
	uint64_t offset;
	bool is_volatile;
	int count;
};

static void bcast_one(struct sio_socket *s, void *arg)
{
	struct bcast *b = arg;
	sio_eio_socket *conn = s->client->conn;
	if (b->offset && s->rec)
		s->rec->last = b->offset; /* a recipient, whether its queue took it or not */
	/* a volatile emit the transport cannot take now is skipped, uncounted */
	if (b->is_volatile && !eio_session_writable(conn)) {
		s->nsp->io->events_dropped++;
		return;
	}
	if (eio_session_send(conn, b->bufs, b->n, false) == 0)
		b->count++;
}

int adapter_local_broadcast(struct sio_adapter *a, const struct sio_target *t, struct outbuf **bufs,
                            size_t n, uint64_t offset)
{
	struct bcast b = {.bufs = bufs, .n = n, .offset = offset, .is_volatile = t && t->volatile_};
	a->ops->select(a, t, bcast_one, &b);
	return b.count;
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

size_t adapter_local_fetch_sockets(struct sio_adapter *a, const struct sio_target *t,
                                   struct sio_socket **out, size_t max)
{
	struct collect c = {.out = out, .max = out ? max : 0};
	a->ops->select(a, t, collect_one, &c);
	return c.count;
}

/* The selection as an array (rooms change while acting on it); NULL when
 * out of memory. */
static struct sio_socket **select_all(struct sio_adapter *a, const struct sio_target *t, size_t *n)
{
	size_t count = adapter_local_fetch_sockets(a, t, NULL, 0);
	struct sio_socket **arr = malloc((count ? count : 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	*n = adapter_local_fetch_sockets(a, t, arr, count);
	if (*n > count)
		*n = count;
	return arr;
}

int adapter_local_sockets_join(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	size_t n;
	struct sio_socket **arr = select_all(a, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		bool had = a->ops->has(a, arr[i], room);
		r = a->ops->join(a, arr[i], room);
		if (r == 0 && !had)
			socket_rooms_changed(arr[i]);
	}
	free(arr);
	return r;
}

int adapter_local_sockets_leave(struct sio_adapter *a, const struct sio_target *t, const char *room)
{
	size_t n;
	struct sio_socket **arr = select_all(a, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!a->ops->has(a, arr[i], room))
			continue;
		a->ops->leave(a, arr[i], room);
		socket_rooms_changed(arr[i]);
	}
	free(arr);
	return 0;
}

int adapter_local_disconnect_sockets(struct sio_adapter *a, const struct sio_target *t, bool close)
{
	size_t n;
	struct sio_socket **arr = select_all(a, t, &n);
	if (!arr)
		return SIO_ENOMEM;
	for (size_t i = 0; i < n; i++)
		sio_socket_disconnect(arr[i], close);
	free(arr);
	return 0;
}
