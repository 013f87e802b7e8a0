/*
 * base/log.c: the level filter and the rate limit per event name (a
 * burst, then one message per LOG_REFILL_MS), with the "N suppressed"
 * summary written before the next message of that name, or by
 * log_flush() once a token is back.
 */
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "tests/unit/unit.h"

struct record {
	int n;
	int level[64];
	char event[64][40];
	char message[64][80];
};

static void sink(int level, const char *event, const char *message, void *userdata)
{
	struct record *r = userdata;
	if (r->n < 64) {
		r->level[r->n] = level;
		snprintf(r->event[r->n], sizeof(r->event[0]), "%s", event);
		snprintf(r->message[r->n], sizeof(r->message[0]), "%s", message);
	}
	r->n++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(void)
{
	struct record rec = {0};
	struct log l;
	log_init(&l, sink, &rec, SIO_LOG_INFO);

	vectors++;
	log_msg(&l, SIO_LOG_DEBUG, "x", "dropped by level");
	check(rec.n == 0, __LINE__, "a message above the level is dropped");
	log_msg(NULL, SIO_LOG_ERROR, "x", "no log");

	vectors++;
	for (int i = 0; i < LOG_BURST + 30; i++)
		log_msg(&l, SIO_LOG_INFO, "refused.a", "n=%d", i);
	check(rec.n == LOG_BURST, __LINE__, "the burst passes, the rest is suppressed");
	check(strcmp(rec.message[0], "n=0") == 0, __LINE__, "formatted");
	log_msg(&l, SIO_LOG_WARN, "refused.b", "other name");
	check(rec.n == LOG_BURST + 1, __LINE__, "another event name has its own bucket");

	vectors++;
	log_flush(&l, now_ms());
	check(rec.n == LOG_BURST + 1, __LINE__, "no summary before a token is back");
	sleep_ms(LOG_REFILL_MS + 20);
	log_flush(&l, now_ms());
	check(rec.n == LOG_BURST + 2, __LINE__, "the summary once a token is back");
	check(strcmp(rec.event[LOG_BURST + 1], "log.suppressed") == 0, __LINE__, "summary event");
	check(strcmp(rec.message[LOG_BURST + 1], "30 \"refused.a\" messages suppressed") == 0,
	      __LINE__, "summary text");
	check(rec.level[LOG_BURST + 1] == SIO_LOG_INFO, __LINE__, "at the messages' level");
	log_flush(&l, now_ms());
	check(rec.n == LOG_BURST + 2, __LINE__, "one summary");

	vectors++;
	for (int i = 0; i < 3; i++)
		log_msg(&l, SIO_LOG_INFO, "refused.a", "again");
	sleep_ms(LOG_REFILL_MS + 20);
	log_msg(&l, SIO_LOG_INFO, "refused.a", "after");
	check(rec.n == LOG_BURST + 4, __LINE__, "summary, then the message");
	check(strcmp(rec.message[LOG_BURST + 2], "3 \"refused.a\" messages suppressed") == 0,
	      __LINE__, "summary before the next message");
	check(strcmp(rec.message[LOG_BURST + 3], "after") == 0, __LINE__, "the message");

	printf("log: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
