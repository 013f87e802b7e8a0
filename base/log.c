/*
 * The log's filter and rate limit (see log.h).
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

void log_init(struct log *l, log_sink_fn sink, void *userdata, int level)
{
	memset(l, 0, sizeof(*l));
	l->sink = sink;
	l->userdata = userdata;
	l->level = level;
}

const char *log_level_name(int level)
{
	switch (level) {
	case SIO_LOG_ERROR:
		return "error";
	case SIO_LOG_WARN:
		return "warn";
	case SIO_LOG_INFO:
		return "info";
	case SIO_LOG_DEBUG:
		return "debug";
	default:
		return "none";
	}
}

static struct log_bucket *bucket_of(struct log *l, const char *event, uint64_t now)
{
	for (uint32_t i = 0; i < l->nbuckets; i++)
		if (strcmp(l->buckets[i].event, event) == 0)
			return &l->buckets[i];
	if (l->nbuckets == LOG_EVENTS)
		return &l->buckets[LOG_EVENTS - 1];
	struct log_bucket *b = &l->buckets[l->nbuckets++];
	*b = (struct log_bucket){.event = event, .last_ms = now, .tokens = LOG_BURST};
	return b;
}

static void refill(struct log_bucket *b, uint64_t now)
{
	if (now <= b->last_ms)
		return;
	uint64_t n = (now - b->last_ms) / LOG_REFILL_MS;
	if (b->tokens + n >= LOG_BURST) {
		b->tokens = LOG_BURST;
		b->last_ms = now;
	} else {
		b->tokens += (uint32_t)n;
		b->last_ms += n * LOG_REFILL_MS;
	}
}

static void summary(struct log *l, int level, struct log_bucket *b)
{
	char msg[LOG_MESSAGE_MAX];
	snprintf(msg, sizeof(msg), "%u \"%s\" messages suppressed", b->suppressed, b->event);
	b->suppressed = 0;
	l->sink(level, "log.suppressed", msg, l->userdata);
}

void log_msg(struct log *l, int level, const char *event, const char *fmt, ...)
{
	if (!log_enabled(l, level))
		return;
	uint64_t now = now_ms();
	struct log_bucket *b = bucket_of(l, event, now);
	refill(b, now);
	if (!b->tokens) {
		b->suppressed++;
		b->level = level;
		l->any_suppressed = true;
		return;
	}
	b->tokens--;
	if (b->suppressed)
		summary(l, level, b);
	char msg[LOG_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->sink(level, event, msg, l->userdata);
}

void log_flush(struct log *l, uint64_t now)
{
	if (!l || !l->any_suppressed || !l->sink)
		return;
	l->any_suppressed = false;
	for (uint32_t i = 0; i < l->nbuckets; i++) {
		struct log_bucket *b = &l->buckets[i];
		if (!b->suppressed)
			continue;
		refill(b, now);
		if (!b->tokens) {
			l->any_suppressed = true;
			continue;
		}
		b->tokens--;
		summary(l, b->level, b);
	}
}
