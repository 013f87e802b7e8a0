/*
 * The output queue of a session (transports/queue.c), and the session's
 * limits around it (transports/session.c: eio_session_send, sio_eio_send,
 * sio_eio_close), without sockets: an engine with one session whose
 * transport is this test's own, which records what the session asks of
 * it.
 */
#include "transports/engine.h"

#include "unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

static struct outbuf *packet(const char *text)
{
	struct outbuf *o = outbuf_new(NULL, EIO_MESSAGE, false, text, strlen(text));
	if (!o)
		out_of_memory();
	return o;
}

static bool is(const struct outbuf *o, const char *text)
{
	return o && o->len == strlen(text) && memcmp(o->mem + OUTBUF_PRE + 1, text, o->len) == 0;
}

/* FIFO order across ring growth and wrap-around; byte accounting. */
static void test_ring(void)
{
	struct queue q = {0};
	char text[16];
	uint32_t pushed = 0, popped = 0;
	/* push 3 pop 2, many times: the head walks around rings of every size */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 3; i++) {
			snprintf(text, sizeof(text), "p%u", pushed++);
			CHECK(queue_push(NULL, &q, packet(text)) == 0);
		}
		for (int i = 0; i < 2; i++) {
			struct outbuf *o = queue_pop(NULL, &q);
			snprintf(text, sizeof(text), "p%u", popped++);
			CHECK(is(o, text));
			outbuf_unref(o);
		}
		CHECK(q.count == pushed - popped);
		CHECK(q.cap >= q.count && (q.cap & (q.cap - 1)) == 0);
	}
	size_t bytes = 0;
	for (uint32_t i = 0; i < q.count; i++) {
		snprintf(text, sizeof(text), "p%u", popped + i);
		CHECK(is(queue_at(&q, i), text));
		bytes += strlen(text);
	}
	CHECK(q.bytes == bytes);
	uint32_t cap = q.cap;
	queue_clear(NULL, &q);
	CHECK(q.count == 0 && q.bytes == 0 && queue_pop(NULL, &q) == NULL);
	CHECK(q.ring == NULL && q.cap == cap); /* an empty queue holds no ring */
	CHECK(queue_push(NULL, &q, packet("again")) == 0);
	CHECK(q.ring != NULL && q.cap == cap); /* as large as the last one */
	CHECK(is(queue_at(&q, 0), "again"));
	queue_free(NULL, &q);
	CHECK(q.ring == NULL && q.cap == 0 && q.count == 0);
	vectors++;
}

/* A shared packet lives while any queue holds it. */
static void test_shared(void)
{
	struct queue a = {0}, b = {0};
	struct outbuf *o = packet("shared");
	CHECK(queue_push(NULL, &a, outbuf_ref(o)) == 0);
	CHECK(queue_push(NULL, &b, outbuf_ref(o)) == 0);
	outbuf_unref(o); /* the queues hold it now */
	CHECK(o->refs == 2);
	queue_free(NULL, &a);
	CHECK(o->refs == 1 && is(queue_at(&b, 0), "shared"));
	queue_free(NULL, &b);
	vectors++;
}

/* ---- a session on a transport of the test's ------------------------ */

struct test_transport {
	struct eio_transport tr;
	bool ready; /* what ready() answers: a held GET, say */
	int flushes, closes;
	bool close_noop;
	uint32_t seen; /* packets in the queue at the last flush */
};

static void t_flush(struct eio_transport *t)
{
	struct test_transport *x = container_of(t, struct test_transport, tr);
	x->flushes++;
	x->seen = t->sess->out.count;
}

static bool t_ready(const struct eio_transport *t)
{
	return container_of(t, const struct test_transport, tr)->ready;
}

static void t_close(struct eio_transport *t, bool noop)
{
	struct test_transport *x = container_of(t, struct test_transport, tr);
	x->closes++;
	x->close_noop = noop;
	t->sess = NULL;
}

static void t_release(struct eio_transport *t)
{
	t->sess = NULL;
}

static const struct eio_transport_ops test_ops = {
        .kind = SIO_TRANSPORT_WEBSOCKET,
        .flush = t_flush,
        .ready = t_ready,
        .close = t_close,
        .release = t_release,
};

static const char *closed_reason;
static int closes;

static void on_close(sio_eio_socket *s, const char *reason, void *ud)
{
	(void)s;
	(void)ud;
	closed_reason = reason;
	closes++;
}

struct fixture {
	struct sio_server_options opts;
	struct timer_wheel wheel;
	struct eio_engine *e;
	struct test_transport t;
	sio_eio_socket *s;
};

static void setup(struct fixture *f, enum sio_queue_full_policy policy)
{
	memset(f, 0, sizeof(*f));
	sio_server_options_init(&f->opts);
	f->opts.path = "/engine.io/";
	f->opts.max_queue_packets = 3;
	f->opts.max_queue_bytes = 64;
	f->opts.queue_full = policy;
	timer_wheel_init(&f->wheel, now_ms());
	f->e = eio_engine_create(&f->opts, &f->wheel, NULL);
	struct eio_hooks h = {.ev = {.version = SIO_EIO_EVENTS_VERSION, .close = on_close}};
	eio_engine_set_hooks(f->e, &h);
	f->t.tr.ops = &test_ops;
	struct sio_request empty = {0};
	request_reset(&empty);
	if (request_seal(&empty) < 0)
		out_of_memory();
	f->s = session_create(f->e, session_alloc(&empty), &f->t.tr);
	request_free(&empty);
	if (!f->e || !f->s)
		out_of_memory();
	/* the open packet is flushed to the transport, which takes it */
	CHECK(f->s->out.count == 1 && queue_at(&f->s->out, 0)->type == EIO_OPEN);
	eio_engine_process(f->e);
	CHECK(f->t.flushes == 1 && f->t.seen == 1);
	queue_clear(&f->s->engine->pool, &f->s->out);
	closed_reason = NULL;
	closes = 0;
}

static void teardown(struct fixture *f)
{
	eio_engine_destroy(f->e);
}

/* The limits: packets and bytes, each policy; what gets to the transport. */
static void test_limits(void)
{
	struct fixture f;
	setup(&f, SIO_QUEUE_FULL_REJECT);
	CHECK(sio_eio_send(f.s, "a", 1, false) == 0);
	CHECK(sio_eio_send(f.s, "b", 1, true) == 0);
	CHECK(sio_eio_send(f.s, "c", 1, false) == 0);
	CHECK(sio_eio_send(f.s, "d", 1, false) == SIO_EFULL); /* 4 packets */
	CHECK(sio_eio_queued_bytes(f.s) == 3);
	eio_engine_process(f.e);
	CHECK(f.t.flushes == 2 && f.t.seen == 3);
	CHECK(closes == 0); /* rejecting keeps the session */
	/* the transport takes them all */
	queue_clear(&f.s->engine->pool, &f.s->out);
	char big[65] = {0};
	CHECK(sio_eio_send(f.s, big, 65, false) == SIO_ETOOBIG);
	CHECK(sio_eio_send(f.s, big, 40, false) == 0);
	CHECK(sio_eio_send(f.s, big, 30, false) == SIO_EFULL); /* 70 bytes */
	CHECK(sio_eio_send(f.s, big, 24, false) == 0);         /* 64 bytes */
	teardown(&f);
	CHECK(closes == 1 && strcmp(closed_reason, "server shutting down") == 0);

	setup(&f, SIO_QUEUE_FULL_CLOSE);
	for (int i = 0; i < 3; i++)
		CHECK(sio_eio_send(f.s, "x", 1, false) == 0);
	CHECK(sio_eio_send(f.s, "x", 1, false) == SIO_EFULL);
	CHECK(sio_eio_send(f.s, "x", 1, false) == SIO_ECLOSED);
	eio_engine_process(f.e);
	CHECK(closes == 1 && strcmp(closed_reason, "queue full") == 0);
	CHECK(f.t.closes == 1 && !f.t.close_noop);
	teardown(&f);
	vectors++;
}

/* Volatile packets go only where the transport takes them at once. */
static void test_volatile(void)
{
	struct fixture f;
	setup(&f, SIO_QUEUE_FULL_REJECT);
	struct outbuf *o = packet("v");
	f.t.ready = true;
	CHECK(sio_eio_send(f.s, "first", 5, false) == 0);
	CHECK(!eio_session_writable(f.s)); /* a packet waits already */
	CHECK(eio_session_send(f.s, &o, 1, true) == 0 && f.s->out.count == 1);
	queue_clear(&f.s->engine->pool, &f.s->out);
	CHECK(eio_session_writable(f.s));
	CHECK(eio_session_send(f.s, &o, 1, true) == 0 && f.s->out.count == 1);
	CHECK(o->refs == 2);
	queue_clear(&f.s->engine->pool, &f.s->out);
	f.t.ready = false; /* no GET held, say */
	CHECK(!eio_session_writable(f.s));
	CHECK(eio_session_send(f.s, &o, 1, true) == 0 && f.s->out.count == 0);
	CHECK(eio_session_send(f.s, &o, 1, false) == 0 && f.s->out.count == 1);
	outbuf_unref(o);
	teardown(&f);
	vectors++;
}

/* sio_eio_close: the close packet after what is queued; nothing after it. */
static void test_close(void)
{
	struct fixture f;
	setup(&f, SIO_QUEUE_FULL_REJECT);
	CHECK(sio_eio_send(f.s, "last", 4, false) == 0);
	sio_eio_close(f.s);
	CHECK(f.s->out.count == 2 && queue_at(&f.s->out, 1)->type == EIO_CLOSE);
	CHECK(sio_eio_send(f.s, "late", 4, false) == SIO_ECLOSED);
	CHECK(!eio_session_open(f.s));
	session_close_written(f.s); /* the transport wrote it */
	eio_engine_process(f.e);
	CHECK(closes == 1 && strcmp(closed_reason, "forced close") == 0);
	teardown(&f);
	CHECK(closes == 1);

	/* a client's close packet: the transport is told to answer with a noop */
	setup(&f, SIO_QUEUE_FULL_REJECT);
	struct eio_packet p = {.type = EIO_CLOSE};
	session_on_packet(f.s, &p);
	eio_engine_process(f.e);
	CHECK(closes == 1 && strcmp(closed_reason, "transport close") == 0);
	CHECK(f.t.closes == 1 && f.t.close_noop);
	teardown(&f);
	vectors++;
}

int main(void)
{
	test_ring();
	test_shared();
	test_limits();
	test_volatile();
	test_close();
	printf("queue: %d scenarios, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
