/*
 * cluster/requests.c: pending cross-node requests end exactly once, when
 * their answers are in, when their time is up, or when the set is
 * finished, with what they collected; ids are 16 hex digits, found again
 * by value. And server/answers.c: answers with binaries collected into one
 * array, each one's placeholders renumbered after those before it.
 */
#include "cluster/requests.h"

#include <ctype.h>

#include "protocol/sio_packet.h"

#include "unit.h"

struct seen {
	int calls;
	enum cluster_request_end end;
	size_t current, nresponses;
	char id[CLUSTER_REQUEST_ID_LEN + 1];
};

static struct cluster_request *chained; /* started from a done callback */

static int counted_calls;
static uint64_t counted_n;
static struct cluster_request *counted_rq;

static void on_counted(struct cluster_request *rq, int err, uint64_t n)
{
	counted_calls++;
	counted_n = err ? 0 : n;
	counted_rq = rq;
}

static void done(struct cluster_request *rq, enum cluster_request_end end)
{
	struct seen *s = rq->arg;
	s->calls++;
	s->end = end;
	s->current = rq->current;
	s->nresponses = json_array_size(rq->responses);
	memcpy(s->id, rq->id, sizeof(s->id));
	check(cluster_request_find(rq->set, rq->id, CLUSTER_REQUEST_ID_LEN) == NULL, __LINE__,
	      "an ended request is out of its set");
}

static void done_uid(struct cluster_request *rq, enum cluster_request_end end)
{
	struct seen *s = rq->arg;
	s->calls++;
	s->end = end;
}

static void done_then_start(struct cluster_request *rq, enum cluster_request_end end)
{
	done(rq, end);
	static struct seen s2;
	chained = cluster_request_start(rq->set, 2, 1, 100, done, &s2);
}

/* answer_append(): three answers, binaries renumbered across them, bytes
 * copied (the callers' buffers may go). */
static void test_answers(void)
{
	json_t *arr = json_array();
	struct answer_bins b = {0};
	unsigned char x[] = {1, 2}, y[] = {3}, z[] = {4, 5, 6};
	struct sio_binary one[] = {{x, 2}}, two[] = {{y, 1}, {z, 3}};
	json_t *a1 = json_pack("{s:o}", "v", sio_pkt_placeholder_new(0));
	json_t *a2 = json_pack("[o,{s:o},i]", sio_pkt_placeholder_new(1), "w",
	                       sio_pkt_placeholder_new(0), 7);
	check(answer_append(arr, &b, a1, one, 1) == 0, __LINE__, "append 1");
	check(answer_append(arr, &b, NULL, NULL, 0) == 0, __LINE__, "append null");
	check(answer_append(arr, &b, a2, two, 2) == 0, __LINE__, "append 2");
	x[0] = y[0] = z[0] = 99; /* copies were taken */
	char *text = json_dumps(arr, JSON_COMPACT);
	check(text && strcmp(text, "[{\"v\":{\"_placeholder\":true,\"num\":0}},null,"
	                           "[{\"_placeholder\":true,\"num\":2},"
	                           "{\"w\":{\"_placeholder\":true,\"num\":1}},7]]") == 0,
	      __LINE__, "placeholders renumbered");
	free(text);
	check(b.n == 3 && b.v[0].len == 2 && ((const unsigned char *)b.v[0].data)[0] == 1 &&
	              b.v[1].len == 1 && ((const unsigned char *)b.v[1].data)[0] == 3 &&
	              b.v[2].len == 3 && ((const unsigned char *)b.v[2].data)[2] == 6,
	      __LINE__, "bins in order, copied");
	/* a placeholder past the answer's own bins is left as it is */
	json_t *a3 = json_pack("[o]", sio_pkt_placeholder_new(5));
	check(answer_append(arr, &b, a3, one, 1) == 0 && b.n == 4, __LINE__, "append 3");
	check(sio_pkt_placeholder_num(json_array_get(json_array_get(arr, 3), 0), 100) == 5,
	      __LINE__, "out of range: unchanged");
	json_decref(a1);
	json_decref(a2);
	json_decref(a3);
	json_decref(arr);
	answer_bins_clear(&b);
	check(b.n == 0 && b.v == NULL, __LINE__, "cleared");
}

int main(void)
{
	test_answers();
	struct timer_wheel w;
	uint64_t t0 = now_ms();
	timer_wheel_init(&w, t0);
	struct cluster_requests set;
	cluster_requests_init(&set, &w);

	/* complete: two answers */
	struct seen a = {0};
	struct cluster_request *rq = cluster_request_start(&set, 7, 2, 1000, done, &a);
	check(rq != NULL, __LINE__, "start");
	check(strlen(rq->id) == CLUSTER_REQUEST_ID_LEN, __LINE__, "id length");
	for (size_t i = 0; i < CLUSTER_REQUEST_ID_LEN; i++)
		check(isxdigit((unsigned char)rq->id[i]) && !isupper((unsigned char)rq->id[i]),
		      __LINE__, "id: lowercase hex");
	check(cluster_request_find(&set, rq->id, CLUSTER_REQUEST_ID_LEN) == rq, __LINE__, "find");
	check(cluster_request_find(&set, rq->id, CLUSTER_REQUEST_ID_LEN - 1) == NULL, __LINE__,
	      "find: a prefix is not the id");
	json_array_append_new(rq->responses, json_integer(1));
	cluster_request_answered(rq);
	check(a.calls == 0 && set.count == 1, __LINE__, "one answer of two: pending");
	json_array_append_new(rq->responses, json_integer(2));
	cluster_request_answered(rq);
	check(a.calls == 1 && a.end == CLUSTER_REQUEST_COMPLETE && a.current == 2 &&
	              a.nresponses == 2 && set.count == 0,
	      __LINE__, "two answers: complete");
	timer_wheel_advance(&w, t0 + 5000);
	check(a.calls == 1, __LINE__, "its timer went with it");

	/* timeout with what came (a fresh wheel: the last one ran ahead) */
	check(w.count == 0, __LINE__, "no timer armed");
	timer_wheel_init(&w, now_ms());
	struct seen b = {0};
	rq = cluster_request_start(&set, 9, 3, 200, done, &b);
	json_array_append_new(rq->responses, json_string("x"));
	cluster_request_answered(rq);
	timer_wheel_advance(&w, now_ms() + 100);
	check(b.calls == 0, __LINE__, "not yet");
	timer_wheel_advance(&w, now_ms() + 250);
	check(b.calls == 1 && b.end == CLUSTER_REQUEST_TIMEOUT && b.current == 1 &&
	              b.nresponses == 1,
	      __LINE__, "timed out with one answer");

	/* a node gone: fewer expected ends it */
	struct seen c = {0};
	rq = cluster_request_start(&set, 9, 2, 1000, done, &c);
	cluster_request_answered(rq);
	cluster_request_expect(rq, 1);
	check(c.calls == 1 && c.end == CLUSTER_REQUEST_COMPLETE, __LINE__, "expect lowered");

	/* zero expected is complete at the first check */
	struct seen z = {0};
	rq = cluster_request_start(&set, 9, 1, 1000, done, &z);
	cluster_request_expect(rq, 0);
	check(z.calls == 1, __LINE__, "nothing awaited");

	/* counted later (the classic adapter's NUMSUB): no timer, no end by
	 * answers until expect(); found by tag; armed then */
	struct seen u = {0};
	rq = cluster_request_start(&set, 5, CLUSTER_REQUEST_UNCOUNTED, CLUSTER_REQUEST_NO_TIMER,
	                           done, &u);
	check(!timer_armed(&rq->timer), __LINE__, "no timer until armed");
	uint64_t tag = rq->tag;
	check(cluster_request_find_tag(&set, tag) == rq, __LINE__, "find by tag");
	cluster_request_answered(rq);
	cluster_request_answered(rq);
	check(u.calls == 0, __LINE__, "uncounted: answers do not end it");
	cluster_request_expect(rq, 3);
	check(u.calls == 0, __LINE__, "two of three");
	cluster_request_arm(rq, 100);
	check(timer_armed(&rq->timer), __LINE__, "armed");
	cluster_request_answered(rq);
	check(u.calls == 1 && u.end == CLUSTER_REQUEST_COMPLETE && u.current == 3, __LINE__,
	      "three of three");
	check(cluster_request_find_tag(&set, tag) == NULL, __LINE__, "an ended tag is gone");

	/* acks: complete when every answer and every announced ack are in */
	struct seen k = {0};
	rq = cluster_request_start(&set, 7, CLUSTER_REQUEST_UNCOUNTED, 1000, done, &k);
	rq->current = 1;
	rq->acks_expected = 1;
	cluster_request_expect(rq, 2);
	cluster_request_answered_with_acks(rq, 2); /* 2 of 2 answers, 0 of 3 acks */
	check(k.calls == 0, __LINE__, "answers in, acks not");
	cluster_request_acked(rq);
	cluster_request_acked(rq);
	check(k.calls == 0, __LINE__, "two acks of three");
	cluster_request_acked(rq);
	check(k.calls == 1 && k.end == CLUSTER_REQUEST_COMPLETE, __LINE__, "every ack in");

	/* exact (a sharded broadcast with acks): more answers than counted
	 * never complete it; equal counts do */
	struct seen x = {0};
	rq = cluster_request_start(&set, 7, CLUSTER_REQUEST_UNCOUNTED, 1000, done, &x);
	rq->exact = true;
	rq->current = 1;
	cluster_request_answered_with_acks(rq, 1); /* another node told one client */
	cluster_request_expect(rq, 1);             /* but Redis counted one node */
	cluster_request_acked(rq);
	check(x.calls == 0, __LINE__, "exact: 2 answers of 1 is not complete");
	cluster_request_end(rq, CLUSTER_REQUEST_TIMEOUT);
	struct seen y = {0};
	rq = cluster_request_start(&set, 7, CLUSTER_REQUEST_UNCOUNTED, 1000, done, &y);
	rq->exact = true;
	rq->current = 1;
	cluster_request_answered_with_acks(rq, 1);
	cluster_request_acked(rq);
	check(y.calls == 0, __LINE__, "exact: uncounted");
	cluster_request_expect(rq, 2);
	check(y.calls == 1 && y.end == CLUSTER_REQUEST_COMPLETE, __LINE__, "exact: 2 of 2");

	/* the count as the link answers it: to set->counted while the request
	 * is there, by its tag; not after it ended */
	counted_calls = 0;
	set.counted = on_counted;
	rq = cluster_request_start(&set, 7, CLUSTER_REQUEST_UNCOUNTED, CLUSTER_REQUEST_NO_TIMER,
	                           done, &y);
	tag = rq->tag;
	cluster_request_numsub_answer(&set, tag, 0, 4);
	check(counted_calls == 1 && counted_n == 4 && counted_rq == rq, __LINE__,
	      "counted by tag");
	cluster_request_discard(rq);
	cluster_request_numsub_answer(&set, tag, SIO_ECLOSED, 0);
	check(counted_calls == 1, __LINE__, "a gone request is not counted");

	/* ended on a later turn, with the end asked for */
	timer_wheel_init(&w, now_ms());
	struct seen l = {0};
	rq = cluster_request_start(&set, 7, 9, 1000, done, &l);
	cluster_request_end_later(rq, CLUSTER_REQUEST_CLOSED);
	check(l.calls == 0, __LINE__, "not within the call");
	timer_wheel_advance(&w, now_ms() + 1);
	check(l.calls == 1 && l.end == CLUSTER_REQUEST_CLOSED, __LINE__, "on the next turn");

	/* discarded: freed, done never called */
	struct seen m = {0};
	rq = cluster_request_start(&set, 7, 1, 1000, done, &m);
	rq->payload = json_string("kept by the request");
	cluster_request_discard(rq);
	check(m.calls == 0 && set.count == 0 && w.count == 0, __LINE__, "discarded");

	/* the classic adapter's ids: six uid2 characters */
	struct cluster_requests uset;
	cluster_requests_init_uid(&uset, &w);
	struct seen v = {0};
	rq = cluster_request_start(&uset, 5, 1, 1000, done_uid, &v);
	check(strlen(rq->id) == CLUSTER_REQUEST_UID_LEN, __LINE__, "uid id length");
	check(cluster_request_find(&uset, rq->id, CLUSTER_REQUEST_UID_LEN) == rq, __LINE__,
	      "found by its six characters");
	check(cluster_request_find(&uset, "0123456789abcdef", CLUSTER_REQUEST_ID_LEN) == NULL,
	      __LINE__, "a hex id is not one of these");
	cluster_requests_finish(&uset);
	check(v.calls == 1, __LINE__, "uid set finished");

	/* finish: every request closed, in order; a callback may start another */
	struct seen d = {0}, e = {0};
	struct cluster_request *r1 = cluster_request_start(&set, 1, 5, 1000, done_then_start, &d);
	struct cluster_request *r2 = cluster_request_start(&set, 1, 5, 1000, done, &e);
	check(strcmp(r1->id, r2->id) != 0, __LINE__, "ids differ");
	cluster_requests_finish(&set);
	check(d.calls == 1 && d.end == CLUSTER_REQUEST_CLOSED && e.calls == 1 &&
	              e.end == CLUSTER_REQUEST_CLOSED,
	      __LINE__, "finish closes all");
	check(chained != NULL && set.count == 0, __LINE__,
	      "a request started while finishing is closed too");
	check(w.count == 0, __LINE__, "no timer left");
	vectors = 19;
	printf("%d cases, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
