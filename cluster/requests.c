/*
 * Pending cross-node requests: ids, answer counts, timeouts.
 */
#include "cluster/requests.h"

#include <stdlib.h>
#include <string.h>

#include "base/id.h"

void cluster_requests_init(struct cluster_requests *set, struct timer_wheel *wheel)
{
	list_init(&set->list);
	set->wheel = wheel;
	set->count = 0;
	set->id_len = CLUSTER_REQUEST_ID_LEN;
	set->last_tag = 0;
	set->counted = NULL;
}

void cluster_requests_init_uid(struct cluster_requests *set, struct timer_wheel *wheel)
{
	cluster_requests_init(set, wheel);
	set->id_len = CLUSTER_REQUEST_UID_LEN;
}

void cluster_requests_finish(struct cluster_requests *set)
{
	while (!list_empty(&set->list)) {
		struct cluster_request *rq =
		        container_of(set->list.next, struct cluster_request, link);
		cluster_request_end(rq, CLUSTER_REQUEST_CLOSED);
	}
}

/* uid2(6): six URL-safe random characters. */
static int uid_id(char *out)
{
	char id[ID_LEN + 1];
	if (id_random(id) < 0)
		return -1;
	memcpy(out, id, CLUSTER_REQUEST_UID_LEN);
	out[CLUSTER_REQUEST_UID_LEN] = '\0';
	return 0;
}

static void request_timed_out(struct timer *t)
{
	struct cluster_request *rq = container_of(t, struct cluster_request, timer);
	cluster_request_end(rq, rq->later);
}

/* Ends rq when every expected answer and every announced ack are in. */
static void request_check(struct cluster_request *rq)
{
	if (rq->exact ? rq->current == rq->expected && rq->acks == rq->acks_expected
	              : rq->current >= rq->expected && rq->acks >= rq->acks_expected)
		cluster_request_end(rq, CLUSTER_REQUEST_COMPLETE);
}

struct cluster_request *cluster_request_start(struct cluster_requests *set, int type,
                                              size_t expected, uint64_t timeout_ms,
                                              cluster_request_done_fn done, void *arg)
{
	struct cluster_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->responses = json_array();
	int idr = set->id_len == CLUSTER_REQUEST_UID_LEN
	                  ? uid_id(rq->id)
	                  : id_random_hex(rq->id, CLUSTER_REQUEST_ID_LEN / 2);
	if (!rq->responses || idr < 0) {
		json_decref(rq->responses);
		free(rq);
		return NULL;
	}
	rq->set = set;
	rq->type = type;
	rq->tag = ++set->last_tag;
	rq->expected = expected;
	rq->later = CLUSTER_REQUEST_TIMEOUT;
	rq->done = done;
	rq->arg = arg;
	list_init(&rq->timer.link);
	list_insert_tail(&set->list, &rq->link);
	set->count++;
	if (timeout_ms != CLUSTER_REQUEST_NO_TIMER)
		cluster_request_arm(rq, timeout_ms);
	return rq;
}

struct cluster_request *cluster_request_start_uncounted(struct cluster_requests *set, int type,
                                                        cluster_request_done_fn done, void *fn,
                                                        void *ud)
{
	struct cluster_request *rq = cluster_request_start(
	        set, type, CLUSTER_REQUEST_UNCOUNTED, CLUSTER_REQUEST_NO_TIMER, done, NULL);
	if (rq) {
		rq->cb = fn;
		rq->cb_ud = ud;
	}
	return rq;
}

struct cluster_request *cluster_request_find(struct cluster_requests *set, const char *id,
                                             size_t len)
{
	if (len != set->id_len)
		return NULL;
	for (struct list *n = set->list.next; n != &set->list; n = n->next) {
		struct cluster_request *rq = container_of(n, struct cluster_request, link);
		if (memcmp(rq->id, id, len) == 0)
			return rq;
	}
	return NULL;
}

struct cluster_request *cluster_request_find_tag(struct cluster_requests *set, uint64_t tag)
{
	for (struct list *n = set->list.next; n != &set->list; n = n->next) {
		struct cluster_request *rq = container_of(n, struct cluster_request, link);
		if (rq->tag == tag)
			return rq;
	}
	return NULL;
}

void cluster_request_numsub_answer(void *set, uint64_t tag, int err, uint64_t n)
{
	struct cluster_requests *s = set;
	struct cluster_request *rq = cluster_request_find_tag(s, tag);
	if (rq)
		s->counted(rq, err, n);
}

void cluster_request_arm(struct cluster_request *rq, uint64_t timeout_ms)
{
	timer_cancel(rq->set->wheel, &rq->timer);
	rq->later = CLUSTER_REQUEST_TIMEOUT;
	timer_arm(rq->set->wheel, &rq->timer, now_ms() + timeout_ms, request_timed_out);
}

void cluster_request_end_later(struct cluster_request *rq, enum cluster_request_end end)
{
	timer_cancel(rq->set->wheel, &rq->timer);
	rq->later = end;
	timer_arm(rq->set->wheel, &rq->timer, now_ms(), request_timed_out);
}

void cluster_request_answered(struct cluster_request *rq)
{
	rq->current++;
	request_check(rq);
}

void cluster_request_expect(struct cluster_request *rq, size_t expected)
{
	rq->expected = expected;
	request_check(rq);
}

void cluster_request_answered_with_acks(struct cluster_request *rq, size_t n)
{
	rq->acks_expected += n;
	rq->current++;
	request_check(rq);
}

void cluster_request_discard(struct cluster_request *rq)
{
	timer_cancel(rq->set->wheel, &rq->timer);
	list_remove(&rq->link);
	rq->set->count--;
	json_decref(rq->responses);
	json_decref(rq->payload);
	answer_bins_clear(&rq->bins);
	answer_bins_clear(&rq->payload_bins);
	free(rq);
}

void cluster_request_acked(struct cluster_request *rq)
{
	rq->acks++;
	request_check(rq);
}

void cluster_request_end(struct cluster_request *rq, enum cluster_request_end end)
{
	timer_cancel(rq->set->wheel, &rq->timer);
	list_remove(&rq->link);
	rq->set->count--;
	rq->done(rq, end);
	json_decref(rq->responses);
	json_decref(rq->payload);
	answer_bins_clear(&rq->bins);
	answer_bins_clear(&rq->payload_bins);
	free(rq);
}
