/*
 * The in-memory adapter: rooms of a namespace and selections over them,
 * all in this process.
 * Rooms are found by name and memberships by (room, socket) in hash
 * tables, so join, leave and "is in" are O(1) per socket/room pair. A
 * selection stamps each socket with the namespace's generation counter,
 * so a socket in several target rooms is taken once, without allocating.
 *
 * A socket's own room (named by its id) costs no room and no membership:
 * the socket's own_link stands in its room list, and the namespace finds
 * the sockets in their own rooms by id. A room of the same name that other
 * sockets join is an ordinary room besides; a selection takes both.
 */
#include "server/adapter.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "server/sio.h"

struct room {
	size_t hash;
	struct list members; /* struct membership.in_room */
	size_t count;
	struct room *hnext;
	char name[];
};

/* The adapter: rooms by name, memberships by (room, socket), and the
 * sockets in their own rooms by id. */
struct mem_adapter {
	struct sio_adapter base;
	struct room **rooms;
	size_t nrooms, rooms_cap;
	struct membership **members;
	size_t nmembers, members_cap;
	struct sio_socket **ids;
	size_t nids, ids_cap;
	uint64_t gen; /* selection stamp */
	adapter_room_fn room_fn; /* told of rooms made and gone (adapter_memory_on_rooms()) */
	void *room_ud;
};

struct membership {
	struct room *room;
	struct sio_socket *sock;
	struct list in_room;
	struct list in_sock;
	struct membership *hnext;
};

static size_t str_hash(const char *s)
{
	return (size_t)hash_str(s);
}

static struct mem_adapter *mem_of(const struct sio_adapter *a)
{
	return container_of(a, struct mem_adapter, base);
}

static size_t pair_hash(const struct room *r, const struct sio_socket *s)
{
	uint64_t h = (uint64_t)(uintptr_t)r * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)(uintptr_t)s + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	return (size_t)(h ^ (h >> 29));
}

/* The name of the room at `link` in s->rooms. */
static const char *room_name(const struct sio_socket *s, const struct list *link)
{
	if (link == &s->own_link)
		return s->id;
	return container_of(link, const struct membership, in_sock)->room->name;
}

static struct room *room_find(const struct mem_adapter *ma, const char *name)
{
	if (!ma->rooms_cap)
		return NULL;
	size_t h = str_hash(name);
	for (struct room *r = ma->rooms[h & (ma->rooms_cap - 1)]; r; r = r->hnext)
		if (r->hash == h && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

#define ROOM_HASH(r) ((r)->hash)
#define MEMBER_HASH(m) pair_hash((m)->room, (m)->sock)
#define SOCKET_HASH(s) str_hash((s)->id)

static int rooms_grow(struct mem_adapter *ma)
{
	HASH_TABLE_RESERVE(ma->rooms, ma->rooms_cap, ma->nrooms, 16, struct room, ROOM_HASH,
			   return -1);
	return 0;
}

static int members_grow(struct mem_adapter *ma)
{
	HASH_TABLE_RESERVE(ma->members, ma->members_cap, ma->nmembers, 16, struct membership,
			   MEMBER_HASH, return -1);
	return 0;
}

static int ids_grow(struct mem_adapter *ma)
{
	HASH_TABLE_RESERVE(ma->ids, ma->ids_cap, ma->nids, 16, struct sio_socket, SOCKET_HASH,
			   return -1);
	return 0;
}

static struct membership *member_find(const struct mem_adapter *ma, const struct room *r,
				      const struct sio_socket *s)
{
	if (!ma->members_cap)
		return NULL;
	for (struct membership *m = ma->members[pair_hash(r, s) & (ma->members_cap - 1)]; m;
	     m = m->hnext)
		if (m->room == r && m->sock == s)
			return m;
	return NULL;
}

/* The socket of this namespace that is in its own room `name`, or NULL. */
static struct sio_socket *own_find(const struct mem_adapter *ma, const char *name)
{
	if (!ma->ids_cap)
		return NULL;
	for (struct sio_socket *s = ma->ids[str_hash(name) & (ma->ids_cap - 1)]; s; s = s->hnext)
		if (strcmp(s->id, name) == 0)
			return s;
	return NULL;
}

static bool is_own(const struct sio_socket *s, const char *name)
{
	return strcmp(s->id, name) == 0;
}

static int own_join(struct mem_adapter *ma, struct sio_socket *s)
{
	if (list_linked(&s->own_link))
		return 0;
	if (ids_grow(ma) < 0)
		return SIO_ENOMEM;
	size_t k = str_hash(s->id) & (ma->ids_cap - 1);
	s->hnext = ma->ids[k];
	ma->ids[k] = s;
	ma->nids++;
	list_insert_tail(&s->rooms, &s->own_link);
	s->nrooms++;
	SIO_OBSERVE(ma->base.nsp->io, room_join, s, s->id);
	if (ma->room_fn)
		ma->room_fn(ma->room_ud, s->id, true, true);
	return 0;
}

static void own_leave(struct mem_adapter *ma, struct sio_socket *s)
{
	if (!list_linked(&s->own_link))
		return;
	struct sio_socket **pp = &ma->ids[str_hash(s->id) & (ma->ids_cap - 1)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;
	ma->nids--;
	list_remove(&s->own_link);
	s->nrooms--;
	SIO_OBSERVE(ma->base.nsp->io, room_leave, s, s->id);
	if (ma->room_fn)
		ma->room_fn(ma->room_ud, s->id, true, false);
}

static int mem_join(struct sio_adapter *a, struct sio_socket *s, const char *name)
{
	struct mem_adapter *ma = mem_of(a);
	if (is_own(s, name))
		return own_join(ma, s);
	struct room *r = room_find(ma, name);
	if (r && member_find(ma, r, s))
		return 0;
	if (members_grow(ma) < 0)
		return SIO_ENOMEM;
	if (!r) {
		if (rooms_grow(ma) < 0)
			return SIO_ENOMEM;
		size_t len = strlen(name) + 1;
		r = malloc(sizeof(*r) + len);
		if (!r)
			return SIO_ENOMEM;
		memcpy(r->name, name, len);
		r->count = 0;
		r->hash = str_hash(name);
		list_init(&r->members);
		size_t k = r->hash & (ma->rooms_cap - 1);
		r->hnext = ma->rooms[k];
		ma->rooms[k] = r;
		ma->nrooms++;
	}
	struct membership *m = calloc(1, sizeof(*m));
	if (!m) {
		if (!r->count) {
			/* leave no empty room behind */
			struct room **pp = &ma->rooms[r->hash & (ma->rooms_cap - 1)];
			while (*pp != r)
				pp = &(*pp)->hnext;
			*pp = r->hnext;
			ma->nrooms--;
			free(r);
		}
		return SIO_ENOMEM;
	}
	m->room = r;
	m->sock = s;
	list_insert_tail(&r->members, &m->in_room);
	list_insert_tail(&s->rooms, &m->in_sock);
	s->nrooms++;
	r->count++;
	size_t k = pair_hash(r, s) & (ma->members_cap - 1);
	m->hnext = ma->members[k];
	ma->members[k] = m;
	ma->nmembers++;
	SIO_OBSERVE(ma->base.nsp->io, room_join, s, name);
	if (r->count == 1 && ma->room_fn)
		ma->room_fn(ma->room_ud, r->name, false, true);
	return 0;
}

static void member_remove(struct mem_adapter *ma, struct membership *m)
{
	struct room *r = m->room;
	struct sio_socket *s = m->sock;
	struct membership **pp = &ma->members[pair_hash(r, s) & (ma->members_cap - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	ma->nmembers--;
	list_remove(&m->in_room);
	list_remove(&m->in_sock);
	s->nrooms--;
	free(m);
	SIO_OBSERVE(ma->base.nsp->io, room_leave, s, r->name);
	if (--r->count == 0) {
		struct room **rp = &ma->rooms[r->hash & (ma->rooms_cap - 1)];
		while (*rp != r)
			rp = &(*rp)->hnext;
		*rp = r->hnext;
		ma->nrooms--;
		if (ma->room_fn)
			ma->room_fn(ma->room_ud, r->name, false, false);
		free(r);
	}
}

static void mem_leave(struct sio_adapter *a, struct sio_socket *s, const char *name)
{
	struct mem_adapter *ma = mem_of(a);
	if (is_own(s, name)) {
		own_leave(ma, s);
		return;
	}
	struct room *r = room_find(ma, name);
	struct membership *m = r ? member_find(ma, r, s) : NULL;
	if (m)
		member_remove(ma, m);
}

static void mem_leave_all(struct sio_adapter *a, struct sio_socket *s)
{
	struct mem_adapter *ma = mem_of(a);
	own_leave(ma, s);
	while (!list_empty(&s->rooms))
		member_remove(ma, container_of(s->rooms.next, struct membership, in_sock));
}

static bool mem_has(const struct sio_adapter *a, const struct sio_socket *s, const char *name)
{
	const struct mem_adapter *ma = mem_of(a);
	if (is_own(s, name))
		return list_linked(&s->own_link);
	struct room *r = room_find(ma, name);
	return r && member_find(ma, r, s);
}

static bool has_names(const char *const *names)
{
	return names && names[0];
}

static void mem_select(struct sio_adapter *a, const struct sio_target *t, adapter_each_fn fn,
		       void *arg)
{
	struct mem_adapter *ma = mem_of(a);
	struct sio_namespace *nsp = a->nsp;
	uint64_t gen = ++ma->gen;
	/* stamp the excluded sockets first: a stamped socket is skipped */
	if (t && t->except_socket)
		((struct sio_socket *)t->except_socket)->gen = gen;
	if (t && has_names(t->except)) {
		for (const char *const *e = t->except; *e; e++) {
			struct sio_socket *own = own_find(ma, *e);
			if (own)
				own->gen = gen;
			struct room *r = room_find(ma, *e);
			if (!r)
				continue;
			for (struct list *n = r->members.next; n != &r->members; n = n->next)
				container_of(n, struct membership, in_room)->sock->gen = gen;
		}
	}
	if (t && has_names(t->rooms)) {
		for (const char *const *rn = t->rooms; *rn; rn++) {
			struct sio_socket *own = own_find(ma, *rn);
			if (own && own->gen != gen && own->connected) {
				own->gen = gen;
				fn(own, arg);
			}
			struct room *r = room_find(ma, *rn);
			if (!r)
				continue;
			for (struct list *n = r->members.next; n != &r->members;) {
				struct sio_socket *s = container_of(n, struct membership, in_room)->sock;
				n = n->next;
				if (s->gen == gen || !s->connected)
					continue;
				s->gen = gen;
				fn(s, arg);
			}
		}
		return;
	}
	for (struct list *n = nsp->sockets.next; n != &nsp->sockets;) {
		struct sio_socket *s = container_of(n, struct sio_socket, nsp_link);
		n = n->next;
		if (s->gen == gen || !s->connected)
			continue;
		s->gen = gen;
		fn(s, arg);
	}
}

static void mem_destroy(struct sio_adapter *a)
{
	struct mem_adapter *ma = mem_of(a);
	for (size_t i = 0; i < ma->members_cap; i++) {
		struct membership *m = ma->members[i];
		while (m) {
			struct membership *next = m->hnext;
			list_remove(&m->in_sock);
			m->sock->nrooms--;
			free(m);
			m = next;
		}
	}
	for (size_t i = 0; i < ma->rooms_cap; i++) {
		struct room *r = ma->rooms[i];
		while (r) {
			struct room *next = r->hnext;
			free(r);
			r = next;
		}
	}
	for (size_t i = 0; i < ma->ids_cap; i++) {
		struct sio_socket *s = ma->ids[i];
		while (s) {
			struct sio_socket *next = s->hnext;
			s->hnext = NULL;
			list_remove(&s->own_link);
			s->nrooms--;
			s = next;
		}
	}
	free(ma->members);
	free(ma->rooms);
	free(ma->ids);
	free(ma);
}

static bool mem_room_at(const struct sio_adapter *a, const struct sio_socket *s, size_t i,
			const char **room)
{
	(void)a;
	for (struct list *n = s->rooms.next; n != &s->rooms; n = n->next) {
		if (i-- == 0) {
			if (room)
				*room = room_name(s, n);
			return true;
		}
	}
	return false;
}

/* No other node: nobody to tell. */
static int mem_server_side_emit(struct sio_adapter *a, const char *event, const json_t *args,
                                const struct sio_binary *bins, size_t nbins)
{
	(void)a;
	(void)event;
	(void)args;
	(void)bins;
	(void)nbins;
	return 0;
}

static size_t mem_rooms_count(const struct sio_adapter *a)
{
	const struct mem_adapter *ma = mem_of(a);
	size_t n = ma->nrooms + ma->nids;
	if (!ma->nids)
		return n;
	/* an ordinary room named as a socket's own is one room, not two */
	for (size_t i = 0; i < ma->rooms_cap; i++)
		for (const struct room *r = ma->rooms[i]; r; r = r->hnext)
			if (own_find(ma, r->name))
				n--;
	return n;
}

static const struct sio_adapter_ops mem_ops = {
	.destroy = mem_destroy,
	.join = mem_join,
	.leave = mem_leave,
	.leave_all = mem_leave_all,
	.has = mem_has,
	.room_at = mem_room_at,
	.select = mem_select,
	.broadcast = adapter_local_broadcast,
	.fetch_sockets = adapter_local_fetch_sockets,
	.sockets_join = adapter_local_sockets_join,
	.sockets_leave = adapter_local_sockets_leave,
	.disconnect_sockets = adapter_local_disconnect_sockets,
	.server_side_emit = mem_server_side_emit,
	.rooms_count = mem_rooms_count,
};

void adapter_memory_on_rooms(struct sio_adapter *a, adapter_room_fn fn, void *ud)
{
	struct mem_adapter *ma = mem_of(a);
	ma->room_fn = fn;
	ma->room_ud = ud;
}

struct sio_adapter *adapter_memory_create(struct sio_namespace *nsp)
{
	struct mem_adapter *ma = calloc(1, sizeof(*ma));
	if (!ma)
		return NULL;
	ma->base.ops = &mem_ops;
	ma->base.nsp = nsp;
	return &ma->base;
}
