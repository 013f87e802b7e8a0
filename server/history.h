/*
 * The history of connection state recovery (internal): the events a
 * recovering socket may have missed, one record per emit however many
 * sockets it went to. A record holds references to the emit's encoded
 * buffers (the ones every recipient's queue already shares) and a copy of
 * its selection, so that a recovery can tell whether a socket was among
 * its recipients. Records are numbered by a counter of the server, their
 * offset, which is also what the client is sent as the event's last
 * argument; they leave in that order, when the history holds more than
 * max_bytes or when they are older than max_age_ms.
 *
 * Pure bookkeeping: no sockets, no loop; the caller passes the time.
 */
#ifndef SIOC_SERVER_HISTORY_H
#define SIOC_SERVER_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sioc.h>

#include "transports/queue.h"

struct hist_record {
	uint64_t seq;              /* the offset */
	uint64_t at;               /* ms when stored */
	size_t bytes;              /* counted against max_bytes: record and buffers */
	uint32_t nsp;              /* serial of the namespace */
	uint32_t nbufs;            /* bufs[0] the text, then the attachments */
	const char *to;            /* an emit to this one socket id; NULL otherwise */
	const char *except_id;     /* the sender of a socket broadcast, or NULL */
	const char *const *rooms;  /* NULL-terminated; NULL: the whole namespace */
	const char *const *except; /* NULL-terminated, or NULL */
	struct outbuf *bufs[];     /* one reference each; names copied after them */
};

struct history {
	struct hist_record **ring;
	uint32_t cap, head, count;
	size_t bytes;     /* of the records held */
	size_t max_bytes; /* 0: no bound by size */
	uint64_t max_age; /* ms */
	uint64_t last;    /* the last offset given out */
	uint64_t floor;   /* every record up to this offset is gone (or was never stored) */
};

/* An empty history; nothing allocated until the first record. */
void history_init(struct history *h, size_t max_bytes, uint64_t max_age_ms);
/* Drops every record (their buffer references included). */
void history_finish(struct history *h);

/* The offset the next record will have: history_add() must be called
 * with it before any other offset is asked for. */
static inline uint64_t history_next(const struct history *h)
{
	return h->last + 1;
}

/* Whom an emit went to: one socket id (`to`), or the sockets in any of
 * `rooms` (NULL or empty: all) but in none of `except` and not `except_id`
 * (lists NULL-terminated, everything borrowed). */
struct hist_dest {
	const char *const *rooms;
	const char *const *except;
	const char *except_id;
	const char *to;
};

/* Stores the emit numbered seq (history_next()) made at `now` in
 * namespace nsp to `dest`; the names are copied and each of bufs[0..n)
 * gets a reference. Then drops what is past the bounds. Returns 0, or
 * SIO_ENOMEM: nothing stored, and the offset counts as dropped
 * (recoveries that would need it fail). */
int history_add(struct history *h, uint64_t seq, uint64_t now, uint32_t nsp,
                const struct hist_dest *dest, struct outbuf **bufs, size_t n);

/* Drops the records older than max_age at `now`, and the oldest while the
 * history holds more than max_bytes. */
void history_expire(struct history *h, uint64_t now);

/* Whether every record after offset `seq` is still held. */
static inline bool history_complete_after(const struct history *h, uint64_t seq)
{
	return seq >= h->floor;
}

/* The index of the first record with an offset above seq (count when
 * none), for history_at(). */
uint32_t history_after(const struct history *h, uint64_t seq);
/* The i-th record from the oldest (i < h->count), borrowed. */
static inline struct hist_record *history_at(const struct history *h, uint32_t i)
{
	return h->ring[(h->head + i) & (h->cap - 1)];
}
/* The record with offset seq, or NULL when it is not held. */
struct hist_record *history_find(const struct history *h, uint64_t seq);
/* When the oldest record leaves by age (ms), or 0 when there is none. */
uint64_t history_next_expiry(const struct history *h);

/* Whether a socket of namespace nsp with id `sid` in the rooms
 * rooms[0..nrooms) was among the recipients of r. */
bool hist_record_reaches(const struct hist_record *r, uint32_t nsp, const char *sid,
                         const char *const *rooms, size_t nrooms);

#endif
