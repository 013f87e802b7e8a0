/*
 * Requests to the other nodes of a cluster and the answers they await,
 * as both Redis adapters keep them (the reference's `requests` maps): an
 * id (16 random hex digits, Node's randomBytes(8).toString("hex")), how
 * many answers are expected, the answers so far, and a timeout. A
 * request ends once: when the expected number of answers is in, or when
 * its time is up, or when its set is finished; its `done` callback runs
 * then and the request is freed after it returns.
 */
#ifndef SIOC_CLUSTER_REQUESTS_H
#define SIOC_CLUSTER_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/timer.h"
#include "base/util.h"

#define CLUSTER_REQUEST_ID_LEN 16

struct cluster_request;

/* How a request ended. */
enum cluster_request_end {
	CLUSTER_REQUEST_COMPLETE, /* every expected answer came */
	CLUSTER_REQUEST_TIMEOUT,  /* the time was up first */
	CLUSTER_REQUEST_CLOSED,   /* the set was finished (adapter closing) */
};

/* Called once when rq ends, rq already out of its set; rq and
 * rq->responses are freed after it returns (json_incref what is kept).
 * It may start and end other requests of the set. */
typedef void (*cluster_request_done_fn)(struct cluster_request *rq, enum cluster_request_end end);

struct cluster_requests {
	struct list list; /* struct cluster_request.link */
	struct timer_wheel *wheel;
	size_t count;
};

struct cluster_request {
	struct list link;
	struct cluster_requests *set;
	char id[CLUSTER_REQUEST_ID_LEN + 1];
	int type;          /* the adapter's request type */
	size_t expected;   /* answers awaited */
	size_t current;    /* answers counted */
	json_t *responses; /* an array the adapter fills (owned by the request) */
	struct timer timer;
	cluster_request_done_fn done;
	void *arg; /* the adapter's */
	void *cb;  /* the caller's callback the answer goes to, and its userdata */
	void *cb_ud;
};

void cluster_requests_init(struct cluster_requests *set, struct timer_wheel *wheel);
/* Ends every request (CLUSTER_REQUEST_CLOSED), in the order they began. */
void cluster_requests_finish(struct cluster_requests *set);

/* Starts a request awaiting `expected` answers for at most timeout_ms:
 * a fresh id, an empty responses array. NULL when out of memory (or the
 * random source fails); done is then never called. */
struct cluster_request *cluster_request_start(struct cluster_requests *set, int type,
                                              size_t expected, uint64_t timeout_ms,
                                              cluster_request_done_fn done, void *arg);
/* The request with this id (len bytes), or NULL. */
struct cluster_request *cluster_request_find(struct cluster_requests *set, const char *id,
                                             size_t len);
/* Counts one answer; the request ends (COMPLETE) once `expected` are in.
 * rq may be gone after this call. */
void cluster_request_answered(struct cluster_request *rq);
/* Lowers what rq awaits (a node left); ends it when nothing is missing.
 * rq may be gone after this call. */
void cluster_request_expect(struct cluster_request *rq, size_t expected);
/* Ends rq now with `end`. */
void cluster_request_end(struct cluster_request *rq, enum cluster_request_end end);

#endif
