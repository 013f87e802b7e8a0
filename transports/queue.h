/*
 * Encoded Engine.IO packets and the output queue of a session.
 *
 * A packet is encoded once into a reference-counted buffer (a broadcast
 * shares one among all its recipients) with headroom in front of it, so
 * that a transport can put its framing there without a copy. A session's
 * queue is a ring of such buffers, bounded by the caller's limits.
 */
#ifndef SIOC_TRANSPORTS_QUEUE_H
#define SIOC_TRANSPORTS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pool.h"
#include "protocol/eio_packet.h"

/* An encoded packet shared by reference. Layout: OUTBUF_PRE bytes of
 * headroom (a websocket frame header goes there), the type, the data. The
 * type is the digit of a text packet ('4'), and for a binary one the byte
 * itself (4): what a v3 websocket frame carries before the bytes (a v4
 * one carries the bytes alone). */
struct outbuf {
	struct pool *pool; /* its memory's, NULL: malloc's */
	uint32_t refs;
	uint8_t type; /* enum eio_packet_type */
	bool binary;
	size_t len;    /* data length */
	uint8_t mem[]; /* [OUTBUF_PRE] type, then data */
};

#define OUTBUF_PRE 16 /* >= LWS_PRE and a websocket frame header */

static inline uint8_t *outbuf_data(struct outbuf *o)
{
	return o->mem + OUTBUF_PRE + 1;
}

/* A new packet holding a copy of data (one reference, the caller's), in
 * memory from pool (NULL: malloc), or NULL when out of memory. */
struct outbuf *outbuf_new(struct pool *pool, enum eio_packet_type type, bool binary,
                          const void *data, size_t len);
static inline struct outbuf *outbuf_ref(struct outbuf *o)
{
	o->refs++;
	return o;
}
/* Drops one reference; the last frees it. NULL is a no-op. */
void outbuf_unref(struct outbuf *o);

/* A FIFO of packets; all zero is an empty queue that owns nothing. An
 * empty queue holds no ring: the ring goes when the last packet is
 * popped (idle sessions are many), and comes back as large as it was. */
struct queue {
	struct outbuf **ring; /* NULL when empty */
	uint32_t bytes;       /* data bytes of the packets queued (< 4 GiB) */
	uint32_t cap;         /* slots of ring (of the last one when NULL) */
	uint32_t head, count;
};

/* The functions below take the pool the ring's memory comes from (NULL:
 * malloc's), the same for every call on one queue. */

/* Appends o, taking over the caller's reference. Returns 0, or -1 when
 * out of memory or the queue would hold 4 GiB (o still the caller's). */
int queue_push(struct pool *pool, struct queue *q, struct outbuf *o);
/* The packet i places from the front (i < q->count), borrowed. */
static inline struct outbuf *queue_at(const struct queue *q, uint32_t i)
{
	return q->ring[(q->head + i) % q->cap];
}
/* Removes the first packet and hands its reference to the caller; NULL
 * when empty. */
struct outbuf *queue_pop(struct pool *pool, struct queue *q);
/* Drops every packet. */
void queue_clear(struct pool *pool, struct queue *q);
/* Drops every packet and frees the ring. */
void queue_free(struct pool *pool, struct queue *q);

#endif
