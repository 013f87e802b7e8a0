/*
 * The in-memory adapter (server/adapter_memory.c) through the adapter
 * interface, without sockets: a real server's namespace, and sockets made
 * here that are connected to it but to no client (nothing is sent).
 */
#include "server/sio.h"

#include "server/server.h"
#include "unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

#define NSOCKS 6

struct fixture {
	sio_server *srv;
	struct sio_namespace *nsp;
	struct sio_adapter *a;
	struct sio_socket *s[NSOCKS];
};

static struct sio_socket *socket_in(struct sio_namespace *nsp, int i)
{
	struct sio_socket *s = calloc(1, sizeof(*s) + 21);
	if (!s)
		out_of_memory();
	snprintf(s->id, 21, "socket-%02d-0123456789", i);
	s->nsp = nsp;
	s->connected = true;
	list_init(&s->rooms);
	list_init(&s->own_link);
	list_insert_tail(&nsp->sockets, &s->nsp_link);
	nsp->nsockets++;
	return s;
}

static void setup(struct fixture *f)
{
	f->srv = sio_server_create(NULL, NULL);
	if (!f->srv)
		out_of_memory();
	f->nsp = sio_server_of(f->srv, "/t");
	f->a = f->nsp->adapter;
	for (int i = 0; i < NSOCKS; i++) {
		f->s[i] = socket_in(f->nsp, i);
		CHECK(f->a->ops->join(f->a, f->s[i], f->s[i]->id) == 0);
	}
}

static void teardown(struct fixture *f)
{
	sio_server_destroy(f->srv); /* the adapter's rooms go; our sockets stay */
	for (int i = 0; i < NSOCKS; i++)
		free(f->s[i]);
}

/* Which sockets a selection takes: a bit per socket; a socket taken twice
 * sets bit 31. */
static void mark(struct sio_socket *s, void *arg)
{
	uint32_t *set = arg;
	uint32_t bit = 1u << (s->id[8] - '0');
	if (*set & bit)
		*set |= 1u << 31;
	*set |= bit;
}

static uint32_t selected(struct fixture *f, const char *const *rooms, const char *const *except,
                         const struct sio_socket *except_socket)
{
	struct sio_target t = {.rooms = rooms, .except = except, .except_socket = except_socket};
	uint32_t set = 0;
	f->a->ops->select(f->a, &t, mark, &set);
	return set;
}

static void test_rooms(void)
{
	struct fixture f;
	setup(&f);
	struct sio_adapter *a = f.a;
	/* s0 in red and blue, s1 in red, s2 in blue, s3 in green */
	CHECK(a->ops->join(a, f.s[0], "red") == 0);
	CHECK(a->ops->join(a, f.s[0], "blue") == 0);
	CHECK(a->ops->join(a, f.s[0], "red") == 0); /* again: nothing changes */
	CHECK(a->ops->join(a, f.s[1], "red") == 0);
	CHECK(a->ops->join(a, f.s[2], "blue") == 0);
	CHECK(a->ops->join(a, f.s[3], "green") == 0);
	CHECK(f.s[0]->nrooms == 3); /* its own, red, blue */
	CHECK(a->ops->has(a, f.s[0], "red") && a->ops->has(a, f.s[0], "blue"));
	CHECK(!a->ops->has(a, f.s[1], "blue") && a->ops->has(a, f.s[1], f.s[1]->id));
	const char *name = NULL;
	CHECK(a->ops->room_at(a, f.s[0], 0, &name) && strcmp(name, f.s[0]->id) == 0);
	CHECK(a->ops->room_at(a, f.s[0], 1, &name) && strcmp(name, "red") == 0);
	CHECK(a->ops->room_at(a, f.s[0], 2, &name) && strcmp(name, "blue") == 0);
	CHECK(!a->ops->room_at(a, f.s[0], 3, &name));

	/* several rooms: a socket in two of them is taken once */
	const char *red_blue[] = {"red", "blue", NULL};
	CHECK(selected(&f, red_blue, NULL, NULL) == 0x7);
	const char *red_red[] = {"red", "red", "nobody", NULL};
	CHECK(selected(&f, red_red, NULL, NULL) == 0x3);
	/* except rooms, several; except a socket */
	const char *except_red_green[] = {"red", "green", NULL};
	CHECK(selected(&f, NULL, except_red_green, NULL) == 0x34);
	CHECK(selected(&f, red_blue, except_red_green, NULL) == 0x4);
	const char *except_blue[] = {"blue", NULL};
	CHECK(selected(&f, red_blue, except_blue, NULL) == 0x2);
	CHECK(selected(&f, NULL, NULL, f.s[5]) == 0x1f);
	/* a room named by a socket id takes the socket, and others who joined it */
	CHECK(a->ops->join(a, f.s[4], f.s[0]->id) == 0);
	const char *own0[] = {f.s[0]->id, NULL};
	CHECK(selected(&f, own0, NULL, NULL) == 0x11);
	/* fetch: each socket once */
	struct sio_socket *out[NSOCKS];
	struct sio_target t = {.rooms = red_blue};
	CHECK(a->ops->fetch_sockets(a, &t, out, NSOCKS) == 3);
	CHECK(a->ops->fetch_sockets(a, &t, NULL, 0) == 3);

	/* leaving: a room left by its last member is gone */
	a->ops->leave(a, f.s[0], "red");
	a->ops->leave(a, f.s[1], "red");
	const char *red[] = {"red", NULL};
	CHECK(selected(&f, red, NULL, NULL) == 0);
	a->ops->leave(a, f.s[0], f.s[0]->id);
	CHECK(!a->ops->has(a, f.s[0], f.s[0]->id));
	CHECK(selected(&f, own0, NULL, NULL) == 0x10); /* s4 is still in that room */
	a->ops->leave_all(a, f.s[0]);
	CHECK(f.s[0]->nrooms == 0 && !a->ops->room_at(a, f.s[0], 0, &name));
	CHECK(selected(&f, red_blue, NULL, NULL) == 0x4);
	/* sockets_join / sockets_leave over a selection */
	const char *blue[] = {"blue", NULL};
	struct sio_target tb = {.rooms = blue};
	CHECK(a->ops->sockets_join(a, &tb, "gold") == 0);
	const char *gold[] = {"gold", NULL};
	CHECK(selected(&f, gold, NULL, NULL) == 0x4);
	CHECK(a->ops->sockets_leave(a, &tb, "gold") == 0);
	CHECK(selected(&f, gold, NULL, NULL) == 0);
	/* a socket not connected is never selected */
	f.s[2]->connected = false;
	CHECK(selected(&f, blue, NULL, NULL) == 0);
	f.s[2]->connected = true;
	teardown(&f);
	vectors++;
}

/* Many rooms: all of them freed with the namespace (LeakSanitizer checks). */
static void test_many_rooms(void)
{
	struct fixture f;
	setup(&f);
	char name[32];
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "room-%d", i);
		if (f.a->ops->join(f.a, f.s[i % NSOCKS], name) != 0) {
			CHECK(0);
			break;
		}
	}
	CHECK(f.s[0]->nrooms == 1 + 100000 / NSOCKS + (100000 % NSOCKS > 0));
	const char *one[] = {"room-99999", NULL};
	CHECK(selected(&f, one, NULL, NULL) == 1u << (99999 % NSOCKS));
	/* half of them left again */
	for (int i = 0; i < 100000; i += 2) {
		snprintf(name, sizeof(name), "room-%d", i);
		f.a->ops->leave(f.a, f.s[i % NSOCKS], name);
	}
	const char *gone[] = {"room-50000", NULL};
	CHECK(selected(&f, gone, NULL, NULL) == 0);
	teardown(&f);
	vectors++;
}

int main(void)
{
	test_rooms();
	test_many_rooms();
	printf("adapter: %d scenarios, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
