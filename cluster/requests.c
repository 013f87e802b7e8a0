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
}

void cluster_requests_finish(struct cluster_requests *set)
{
	while (!list_empty(&set->list)) {
		struct cluster_request *rq =
		        container_of(set->list.next, struct cluster_request, link);
		cluster_request_end(rq, CLUSTER_REQUEST_CLOSED);
	}
}

static void request_timed_out(struct timer *t)
{
	struct cluster_request *rq = container_of(t, struct cluster_request, timer);
	cluster_request_end(rq, CLUSTER_REQUEST_TIMEOUT);
}

struct cluster_request *cluster_request_start(struct cluster_requests *set, int type,
                                              size_t expected, uint64_t timeout_ms,
                                              cluster_request_done_fn done, void *arg)
{
	struct cluster_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->responses = json_array();
	if (!rq->responses || id_random_hex(rq->id, CLUSTER_REQUEST_ID_LEN / 2) < 0) {
		json_decref(rq->responses);
		free(rq);
		return NULL;
	}
	rq->set = set;
	rq->type = type;
	rq->expected = expected;
	rq->done = done;
	rq->arg = arg;
	list_insert_tail(&set->list, &rq->link);
	set->count++;
	timer_arm(set->wheel, &rq->timer, now_ms() + timeout_ms, request_timed_out);
	return rq;
}

struct cluster_request *cluster_request_find(struct cluster_requests *set, const char *id,
                                             size_t len)
{
	if (len != CLUSTER_REQUEST_ID_LEN)
		return NULL;
	for (struct list *n = set->list.next; n != &set->list; n = n->next) {
		struct cluster_request *rq = container_of(n, struct cluster_request, link);
		if (memcmp(rq->id, id, len) == 0)
			return rq;
	}
	return NULL;
}

void cluster_request_answered(struct cluster_request *rq)
{
	rq->current++;
	if (rq->current >= rq->expected)
		cluster_request_end(rq, CLUSTER_REQUEST_COMPLETE);
}

void cluster_request_expect(struct cluster_request *rq, size_t expected)
{
	rq->expected = expected;
	if (rq->current >= rq->expected)
		cluster_request_end(rq, CLUSTER_REQUEST_COMPLETE);
}

void cluster_request_end(struct cluster_request *rq, enum cluster_request_end end)
{
	timer_cancel(rq->set->wheel, &rq->timer);
	list_remove(&rq->link);
	rq->set->count--;
	rq->done(rq, end);
	json_decref(rq->responses);
	free(rq);
}
