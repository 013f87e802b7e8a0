/*
 * The in-memory adapter: rooms of a namespace and selections over them.
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
#include "server/sio.h"

#include <stdlib.h>
#include <string.h>

struct room {
	size_t hash;
	struct list members; /* struct membership.in_room */
	size_t count;
	struct room *hnext;
	char name[];
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
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static size_t pair_hash(const struct room *r, const struct sio_socket *s)
{
	uint64_t h = (uint64_t)(uintptr_t)r * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)(uintptr_t)s + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	return (size_t)(h ^ (h >> 29));
}

const char *adapter_room_name(const struct sio_socket *s, const struct list *link)
{
	if (link == &s->own_link)
		return s->id;
	return container_of(link, const struct membership, in_sock)->room->name;
}

static struct room *room_find(const struct sio_namespace *nsp, const char *name)
{
	if (!nsp->rooms_cap)
		return NULL;
	size_t h = str_hash(name);
	for (struct room *r = nsp->rooms[h & (nsp->rooms_cap - 1)]; r; r = r->hnext)
		if (r->hash == h && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* Grows a chained table of power-of-two size; `next` reads an entry's
 * chain link and `hash` its hash. Generic over the two tables below. */
#define GROW_TABLE(tab, cap, count, type, hash_expr)                                          \
	do {                                                                                  \
		if ((count) + 1 <= (cap))                                                     \
			break;                                                                \
		size_t ncap_ = (cap) ? (cap) * 2 : 16;                                        \
		type **nt_ = calloc(ncap_, sizeof(*nt_));                                     \
		if (!nt_)                                                                     \
			return -1;                                                            \
		for (size_t i_ = 0; i_ < (cap); i_++) {                                       \
			type *e_ = (tab)[i_];                                                 \
			while (e_) {                                                          \
				type *n_ = e_->hnext;                                         \
				size_t k_ = (hash_expr(e_)) & (ncap_ - 1);                    \
				e_->hnext = nt_[k_];                                          \
				nt_[k_] = e_;                                                 \
				e_ = n_;                                                      \
			}                                                                     \
		}                                                                             \
		free(tab);                                                                    \
		(tab) = nt_;                                                                  \
		(cap) = ncap_;                                                                \
	} while (0)

#define ROOM_HASH(r) ((r)->hash)
#define MEMBER_HASH(m) pair_hash((m)->room, (m)->sock)

static int rooms_grow(struct sio_namespace *nsp)
{
	GROW_TABLE(nsp->rooms, nsp->rooms_cap, nsp->nrooms, struct room, ROOM_HASH);
	return 0;
}

static int members_grow(struct sio_namespace *nsp)
{
	GROW_TABLE(nsp->members, nsp->members_cap, nsp->nmembers, struct membership, MEMBER_HASH);
	return 0;
}

static struct membership *member_find(const struct sio_namespace *nsp, const struct room *r,
				      const struct sio_socket *s)
{
	if (!nsp->members_cap)
		return NULL;
	for (struct membership *m = nsp->members[pair_hash(r, s) & (nsp->members_cap - 1)]; m;
	     m = m->hnext)
		if (m->room == r && m->sock == s)
			return m;
	return NULL;
}

#define SOCKET_HASH(s) str_hash((s)->id)

static int ids_grow(struct sio_namespace *nsp)
{
	GROW_TABLE(nsp->ids, nsp->ids_cap, nsp->nids, struct sio_socket, SOCKET_HASH);
	return 0;
}

/* The socket of this namespace that is in its own room `name`, or NULL. */
static struct sio_socket *own_find(const struct sio_namespace *nsp, const char *name)
{
	if (!nsp->ids_cap)
		return NULL;
	for (struct sio_socket *s = nsp->ids[str_hash(name) & (nsp->ids_cap - 1)]; s; s = s->hnext)
		if (strcmp(s->id, name) == 0)
			return s;
	return NULL;
}

static bool is_own(const struct sio_socket *s, const char *name)
{
	return strcmp(s->id, name) == 0;
}

static int own_join(struct sio_namespace *nsp, struct sio_socket *s)
{
	if (list_linked(&s->own_link))
		return 0;
	if (ids_grow(nsp) < 0)
		return SIO_ENOMEM;
	size_t k = str_hash(s->id) & (nsp->ids_cap - 1);
	s->hnext = nsp->ids[k];
	nsp->ids[k] = s;
	nsp->nids++;
	list_insert_tail(&s->rooms, &s->own_link);
	s->nrooms++;
	return 0;
}

static void own_leave(struct sio_namespace *nsp, struct sio_socket *s)
{
	if (!list_linked(&s->own_link))
		return;
	struct sio_socket **pp = &nsp->ids[str_hash(s->id) & (nsp->ids_cap - 1)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;
	nsp->nids--;
	list_remove(&s->own_link);
	s->nrooms--;
}

int adapter_add(struct sio_namespace *nsp, struct sio_socket *s, const char *name)
{
	if (is_own(s, name))
		return own_join(nsp, s);
	struct room *r = room_find(nsp, name);
	if (r && member_find(nsp, r, s))
		return 0;
	if (members_grow(nsp) < 0)
		return SIO_ENOMEM;
	if (!r) {
		if (rooms_grow(nsp) < 0)
			return SIO_ENOMEM;
		size_t len = strlen(name) + 1;
		r = malloc(sizeof(*r) + len);
		if (!r)
			return SIO_ENOMEM;
		memcpy(r->name, name, len);
		r->count = 0;
		r->hash = str_hash(name);
		list_init(&r->members);
		size_t k = r->hash & (nsp->rooms_cap - 1);
		r->hnext = nsp->rooms[k];
		nsp->rooms[k] = r;
		nsp->nrooms++;
	}
	struct membership *m = calloc(1, sizeof(*m));
	if (!m) {
		if (!r->count) {
			/* leave no empty room behind */
			struct room **pp = &nsp->rooms[r->hash & (nsp->rooms_cap - 1)];
			while (*pp != r)
				pp = &(*pp)->hnext;
			*pp = r->hnext;
			nsp->nrooms--;
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
	size_t k = pair_hash(r, s) & (nsp->members_cap - 1);
	m->hnext = nsp->members[k];
	nsp->members[k] = m;
	nsp->nmembers++;
	return 0;
}

static void member_remove(struct sio_namespace *nsp, struct membership *m)
{
	struct room *r = m->room;
	struct membership **pp = &nsp->members[pair_hash(r, m->sock) & (nsp->members_cap - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	nsp->nmembers--;
	list_remove(&m->in_room);
	list_remove(&m->in_sock);
	m->sock->nrooms--;
	free(m);
	if (--r->count == 0) {
		struct room **rp = &nsp->rooms[r->hash & (nsp->rooms_cap - 1)];
		while (*rp != r)
			rp = &(*rp)->hnext;
		*rp = r->hnext;
		nsp->nrooms--;
		free(r);
	}
}

void adapter_del(struct sio_namespace *nsp, struct sio_socket *s, const char *name)
{
	if (is_own(s, name)) {
		own_leave(nsp, s);
		return;
	}
	struct room *r = room_find(nsp, name);
	struct membership *m = r ? member_find(nsp, r, s) : NULL;
	if (m)
		member_remove(nsp, m);
}

void adapter_del_all(struct sio_namespace *nsp, struct sio_socket *s)
{
	own_leave(nsp, s);
	while (!list_empty(&s->rooms))
		member_remove(nsp, container_of(s->rooms.next, struct membership, in_sock));
}

bool adapter_has(const struct sio_namespace *nsp, const struct sio_socket *s, const char *name)
{
	if (is_own(s, name))
		return list_linked(&s->own_link);
	struct room *r = room_find(nsp, name);
	return r && member_find(nsp, r, s);
}

static bool has_names(const char *const *names)
{
	return names && names[0];
}

void adapter_select(struct sio_namespace *nsp, const struct sio_target *t,
		    void (*fn)(struct sio_socket *s, void *arg), void *arg)
{
	uint64_t gen = ++nsp->gen;
	/* stamp the excluded sockets first: a stamped socket is skipped */
	if (t && t->except_socket)
		((struct sio_socket *)t->except_socket)->gen = gen;
	if (t && has_names(t->except)) {
		for (const char *const *e = t->except; *e; e++) {
			struct sio_socket *own = own_find(nsp, *e);
			if (own)
				own->gen = gen;
			struct room *r = room_find(nsp, *e);
			if (!r)
				continue;
			for (struct list *n = r->members.next; n != &r->members; n = n->next)
				container_of(n, struct membership, in_room)->sock->gen = gen;
		}
	}
	if (t && has_names(t->rooms)) {
		for (const char *const *rn = t->rooms; *rn; rn++) {
			struct sio_socket *own = own_find(nsp, *rn);
			if (own && own->gen != gen && own->connected) {
				own->gen = gen;
				fn(own, arg);
			}
			struct room *r = room_find(nsp, *rn);
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

void adapter_free(struct sio_namespace *nsp)
{
	for (size_t i = 0; i < nsp->members_cap; i++) {
		struct membership *m = nsp->members[i];
		while (m) {
			struct membership *next = m->hnext;
			list_remove(&m->in_sock);
			m->sock->nrooms--;
			free(m);
			m = next;
		}
	}
	for (size_t i = 0; i < nsp->rooms_cap; i++) {
		struct room *r = nsp->rooms[i];
		while (r) {
			struct room *next = r->hnext;
			free(r);
			r = next;
		}
	}
	for (size_t i = 0; i < nsp->ids_cap; i++) {
		struct sio_socket *s = nsp->ids[i];
		while (s) {
			struct sio_socket *next = s->hnext;
			s->hnext = NULL;
			list_remove(&s->own_link);
			s->nrooms--;
			s = next;
		}
	}
	free(nsp->members);
	free(nsp->rooms);
	free(nsp->ids);
	nsp->members = NULL;
	nsp->rooms = NULL;
	nsp->ids = NULL;
	nsp->nmembers = nsp->nrooms = nsp->members_cap = nsp->rooms_cap = 0;
	nsp->nids = nsp->ids_cap = 0;
}
