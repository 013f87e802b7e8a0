/*
 * Requests to the other nodes of a cluster and the answers they await,
 * as both Redis adapters keep them (the reference's `requests` maps): an
 * id (16 random hex digits, Node's randomBytes(8).toString("hex"), for the
 * sharded adapter; six uid2(6) characters for the classic one), how many
 * answers are expected, the answers so far, and a timeout. A request ends
 * once: when the expected number of answers is in (and, for a broadcast
 * with acks, every client ack the answers announced), or when its time is
 * up, or when its set is finished; its `done` callback runs then and the
 * request is freed after it returns (its responses, payload and their
 * binaries with it).
 *
 * The number of answers may not be known when a request starts (the
 * classic adapter asks Redis for PUBSUB NUMSUB first, the sharded one for
 * PUBSUB SHARDNUMSUB): start it with CLUSTER_REQUEST_UNCOUNTED and
 * CLUSTER_REQUEST_NO_TIMER, ask with cluster_request_numsub_answer as the
 * link's callback, the set as its ud and the request's tag, and the set's
 * `counted` gets the answer if the request is still there; then
 * cluster_request_expect() and cluster_request_arm().
 */
#ifndef SIOC_CLUSTER_REQUESTS_H
#define SIOC_CLUSTER_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <sioc.h>

#include "base/timer.h"
#include "base/util.h"
#include "server/adapter.h"

#define CLUSTER_REQUEST_ID_LEN 16
/* The classic adapter's request ids (its uid2(6), as CLUSTER_UID_LEN). */
#define CLUSTER_REQUEST_UID_LEN 6
/* The number of answers is not known yet: never complete by answers. */
#define CLUSTER_REQUEST_UNCOUNTED SIZE_MAX
/* A start timeout meaning: no timer until cluster_request_arm(). */
#define CLUSTER_REQUEST_NO_TIMER UINT64_MAX

struct cluster_request;

/* How a request ended. */
enum cluster_request_end {
	CLUSTER_REQUEST_COMPLETE, /* every expected answer came */
	CLUSTER_REQUEST_TIMEOUT,  /* the time was up first */
	CLUSTER_REQUEST_CLOSED,   /* the set was finished (adapter closing) */
};

/* The error a caller's callback gets for an end: 0, SIO_ETIMEDOUT or
 * SIO_ECLOSED. */
static inline int cluster_request_error(enum cluster_request_end end)
{
	return end == CLUSTER_REQUEST_COMPLETE  ? 0
	       : end == CLUSTER_REQUEST_TIMEOUT ? SIO_ETIMEDOUT
	                                        : SIO_ECLOSED;
}

/* Called once when rq ends, rq already out of its set; rq and
 * rq->responses are freed after it returns (json_incref what is kept).
 * It may start and end other requests of the set. */
typedef void (*cluster_request_done_fn)(struct cluster_request *rq, enum cluster_request_end end);
/* The number of nodes Redis counted for rq (err: SIO_E*, Redis
 * unreachable; n then 0). */
typedef void (*cluster_request_counted_fn)(struct cluster_request *rq, int err, uint64_t n);

struct cluster_requests {
	struct list list; /* struct cluster_request.link */
	struct timer_wheel *wheel;
	size_t count;
	size_t id_len;     /* CLUSTER_REQUEST_ID_LEN or CLUSTER_REQUEST_UID_LEN */
	uint64_t last_tag; /* the tag of the last request started */
	cluster_request_counted_fn counted; /* the adapter's (set after init) */
};

struct cluster_request {
	struct list link;
	struct cluster_requests *set;
	char id[CLUSTER_REQUEST_ID_LEN + 1];
	int type;                   /* the adapter's request type */
	uint64_t tag;               /* unique in the set, never reused: for callbacks that
	                               may outlive the request (cluster_request_find_tag()) */
	size_t expected;            /* answers awaited (CLUSTER_REQUEST_UNCOUNTED: not known yet) */
	size_t current;             /* answers counted */
	size_t acks_expected, acks; /* client acks announced by the answers, and come */
	bool exact;                 /* complete only when the answers and acks are exactly
	                               the counts awaited, not more (BroadcastOperator's
	                               checkCompleteness(), as the sharded adapter keeps it) */
	json_t *responses;          /* an array the adapter fills (owned by the request) */
	struct answer_bins bins;    /* the binaries of responses (answer_append()) */
	json_t *payload;            /* the adapter's (owned by the request; may be NULL) */
	struct answer_bins payload_bins; /* the binaries of payload */
	uint32_t timeout_ms;             /* the adapter's: the time to arm once counted */
	struct timer timer;
	enum cluster_request_end later; /* how a cluster_request_end_later() ends it */
	cluster_request_done_fn done;
	void *arg; /* the adapter's */
	void *cb;  /* the caller's callback the answer goes to, and its userdata */
	void *cb_ud;
};

void cluster_requests_init(struct cluster_requests *set, struct timer_wheel *wheel);
/* The same, with the classic adapter's ids: six uid2(6) characters. */
void cluster_requests_init_uid(struct cluster_requests *set, struct timer_wheel *wheel);
/* Ends every request (CLUSTER_REQUEST_CLOSED), in the order they began
 * (redis_link_forget() the set first: no count comes after). */
void cluster_requests_finish(struct cluster_requests *set);

/* Starts a request awaiting `expected` answers (or UNCOUNTED) for at most
 * timeout_ms (or NO_TIMER until cluster_request_arm()): a fresh id and
 * tag, an empty responses array. NULL when out of memory (or the random
 * source fails); done is then never called. */
struct cluster_request *cluster_request_start(struct cluster_requests *set, int type,
                                              size_t expected, uint64_t timeout_ms,
                                              cluster_request_done_fn done, void *arg);
/* A request whose count is not known yet (UNCOUNTED, NO_TIMER) for a
 * caller's callback fn and its userdata (rq->cb, rq->cb_ud). */
struct cluster_request *cluster_request_start_uncounted(struct cluster_requests *set, int type,
                                                        cluster_request_done_fn done, void *fn,
                                                        void *ud);
/* The request with this id (len bytes), or NULL. */
struct cluster_request *cluster_request_find(struct cluster_requests *set, const char *id,
                                             size_t len);
/* The request with this tag, or NULL (ended). */
struct cluster_request *cluster_request_find_tag(struct cluster_requests *set, uint64_t tag);
/* A redis_numsub_fn (cluster/redis_link.h) with the set as ud and a
 * request's tag: calls set->counted(rq, err, n) when the request is still
 * in the set, else nothing. */
void cluster_request_numsub_answer(void *set, uint64_t tag, int err, uint64_t n);
/* (Re)arms rq's timer: it ends (TIMEOUT) timeout_ms from now. */
void cluster_request_arm(struct cluster_request *rq, uint64_t timeout_ms);
/* Ends rq with `end` on a later loop turn (its timer, due now). */
void cluster_request_end_later(struct cluster_request *rq, enum cluster_request_end end);
/* A broadcast with acks: an answer came that announces n more client
 * acks / one client ack came. The request is complete when `expected` answers and
 * every announced ack are in. rq may be gone after these calls. */
void cluster_request_answered_with_acks(struct cluster_request *rq, size_t n);
void cluster_request_acked(struct cluster_request *rq);
/* Frees rq without calling done (a request the adapter could not send). */
void cluster_request_discard(struct cluster_request *rq);
/* Counts one answer; the request ends (COMPLETE) once `expected` are in.
 * rq may be gone after this call. */
void cluster_request_answered(struct cluster_request *rq);
/* Lowers what rq awaits (a node left); ends it when nothing is missing.
 * rq may be gone after this call. */
void cluster_request_expect(struct cluster_request *rq, size_t expected);
/* Ends rq now with `end`. */
void cluster_request_end(struct cluster_request *rq, enum cluster_request_end end);

#endif
