/*
 * HTTP/1.1 request parsing for the front: llhttp plus the checks llhttp
 * 8.1 lacks (header and URL size caps, bare CR/LF and obs-fold rejected
 * before the parser sees the headers). This pair is the only place that
 * includes llhttp.h; it exposes the project's own types.
 *
 * One request at a time: feeding stops at the end of each request (or
 * at the end of an upgrade request's headers) until h1_next().
 */
#ifndef SIOC_HTTP_HTTP1_H
#define SIOC_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

struct h1_info {
	bool upgrade;          /* Connection: upgrade + Upgrade: present */
	bool chunked;          /* Transfer-Encoding: chunked */
	bool has_length;       /* Content-Length present */
	uint64_t content_length;
};

struct h1_events {
	/* The headers are complete; req is sealed. Return 0 to go on, or
	 * an HTTP status (>= 400) to refuse the request. */
	int (*on_headers)(void *ud, struct sio_request *req, const struct h1_info *info);
	/* A piece of the body. Return 0, or an HTTP status to refuse. */
	int (*on_body)(void *ud, const uint8_t *p, size_t n);
};

enum h1_result {
	H1_NEED_MORE = 0, /* give more bytes: feed again from data + *used */
	H1_REQUEST,       /* a request ended at data + *used; handle it, then h1_next() */
	H1_UPGRADE,       /* an upgrade request's headers ended at data + *used */
	H1_ERROR,         /* *status says what to answer; then close */
};

struct h1;

struct h1 *h1_create(const struct h1_events *ev, void *ud, size_t max_header_size);
void h1_destroy(struct h1 *h);

/* Parses from data[0..n). The bytes in [*used, n) were not consumed and
 * must be given again (with any new bytes after them) on the next call. */
enum h1_result h1_feed(struct h1 *h, const uint8_t *data, size_t n, size_t *used, int *status);
/* After H1_REQUEST: prepare for the next request on the connection. */
void h1_next(struct h1 *h);
/* After H1_REQUEST: whether the connection may carry another request. */
bool h1_keep_alive(const struct h1 *h);
/* True between requests, before any byte of the next one. */
bool h1_idle(const struct h1 *h);
/* True while a request's body is being received (headers done). */
bool h1_in_body(const struct h1 *h);
/* The request being parsed (valid from on_headers until h1_next()). */
struct sio_request *h1_request(struct h1 *h);

#endif
