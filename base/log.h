/*
 * The library's log: levels, a sink (the application's callback, or the
 * wiring's stderr writer), and a rate limit per event name so that an
 * attack repeating one refusal cannot flood it. No I/O here: the sink
 * writes.
 *
 * Each event name has a token bucket (LOG_BURST messages, then one per
 * LOG_REFILL_MS); a message finding its bucket empty is counted, not
 * written, and the next one written for that name (or log_flush(), once
 * a token is back) first says how many were suppressed, as event
 * "log.suppressed".
 */
#ifndef SIOC_BASE_LOG_H
#define SIOC_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <sioc.h>

#define LOG_EVENTS 32       /* event names limited separately; later ones share the last bucket */
#define LOG_BURST 20        /* messages of one name let through at once */
#define LOG_REFILL_MS 200   /* then one more per this many ms */
#define LOG_MESSAGE_MAX 512 /* longer messages are cut */

typedef void (*log_sink_fn)(int level, const char *event, const char *message, void *userdata);

struct log_bucket {
	const char *event; /* borrowed: event names are string literals */
	uint64_t last_ms;  /* when the last token was added */
	uint32_t tokens;
	uint32_t suppressed;
	int level; /* of the messages suppressed */
};

struct log {
	log_sink_fn sink; /* NULL: nothing is written */
	void *userdata;
	int level; /* enum sio_log_level: messages above it are dropped */
	bool any_suppressed;
	uint32_t nbuckets;
	struct log_bucket buckets[LOG_EVENTS];
};

/* A log writing to sink at most `level`. */
void log_init(struct log *l, log_sink_fn sink, void *userdata, int level);
/* Whether a message at `level` would be written (l may be NULL: no). */
static inline bool log_enabled(const struct log *l, int level)
{
	return l && l->sink && level <= l->level && level > SIO_LOG_NONE;
}
/* Writes a message (printf format) for `event` (a string literal) at
 * `level`, unless filtered or rate-limited. l may be NULL. */
void log_msg(struct log *l, int level, const char *event, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Writes the "N suppressed" summaries due by now_ms (call now and then). */
void log_flush(struct log *l, uint64_t now_ms);
/* The level's name: "error", "warn", "info", "debug". */
const char *log_level_name(int level);

#endif
