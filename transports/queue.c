#include "transports/queue.h"

#include <stdlib.h>
#include <string.h>

/* The bytes of an outbuf of len data bytes. */
static size_t outbuf_size(size_t len)
{
	return sizeof(struct outbuf) + OUTBUF_PRE + 1 + len;
}

struct outbuf *outbuf_new(struct pool *pool, enum eio_packet_type type, bool binary,
                          const void *data, size_t len)
{
	if (len > SIZE_MAX - sizeof(struct outbuf) - OUTBUF_PRE - 1)
		return NULL;
	struct outbuf *o = pool ? pool_alloc(pool, outbuf_size(len)) : malloc(outbuf_size(len));
	if (!o)
		return NULL;
	o->pool = pool;
	o->refs = 1;
	o->type = (uint8_t)type;
	o->binary = binary;
	o->len = len;
	o->mem[OUTBUF_PRE] = (uint8_t)(binary ? type : '0' + type);
	if (len)
		memcpy(outbuf_data(o), data, len);
	return o;
}

void outbuf_unref(struct outbuf *o)
{
	if (!o || --o->refs > 0)
		return;
	if (o->pool)
		pool_free(o->pool, o, outbuf_size(o->len));
	else
		free(o);
}

/* A ring of cap slots from pool (NULL: malloc). */
static struct outbuf **ring_new(struct pool *pool, uint32_t cap)
{
	size_t n = (size_t)cap * sizeof(struct outbuf *);
	return pool ? pool_alloc(pool, n) : malloc(n);
}

static void ring_free(struct pool *pool, struct outbuf **ring, uint32_t cap)
{
	if (pool)
		pool_free(pool, ring, (size_t)cap * sizeof(*ring));
	else
		free(ring);
}

int queue_push(struct pool *pool, struct queue *q, struct outbuf *o)
{
	if (o->len > UINT32_MAX - q->bytes)
		return -1;
	if (!q->ring) {
		/* empty: a ring as large as the last one (cap is its size) */
		uint32_t ncap = q->cap ? q->cap : 2;
		q->ring = ring_new(pool, ncap);
		if (!q->ring)
			return -1;
		q->cap = ncap;
		q->head = 0;
	} else if (q->count == q->cap) {
		uint32_t ncap = q->cap * 2;
		struct outbuf **r = ring_new(pool, ncap);
		if (!r)
			return -1;
		for (uint32_t i = 0; i < q->count; i++)
			r[i] = queue_at(q, i);
		ring_free(pool, q->ring, q->cap);
		q->ring = r;
		q->cap = ncap;
		q->head = 0;
	}
	q->ring[(q->head + q->count) % q->cap] = o;
	q->count++;
	q->bytes += (uint32_t)o->len;
	return 0;
}

struct outbuf *queue_pop(struct pool *pool, struct queue *q)
{
	if (!q->count)
		return NULL;
	struct outbuf *o = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	q->bytes -= (uint32_t)o->len;
	if (!q->count) {
		/* an idle session holds no ring; the next push makes one */
		ring_free(pool, q->ring, q->cap);
		q->ring = NULL;
	}
	return o;
}

void queue_clear(struct pool *pool, struct queue *q)
{
	struct outbuf *o;
	while ((o = queue_pop(pool, q)))
		outbuf_unref(o);
}

void queue_free(struct pool *pool, struct queue *q)
{
	queue_clear(pool, q);
	if (q->ring)
		ring_free(pool, q->ring, q->cap);
	*q = (struct queue){0};
}
