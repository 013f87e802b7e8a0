/*
 * struct sio_request: one parsed HTTP request (method, target, headers,
 * decoded query, peer address). All strings live in one arena owned by the
 * request; the accessors of sioc.h read it.
 */
#ifndef SIOC_TRANSPORTS_REQUEST_H
#define SIOC_TRANSPORTS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/util.h"

struct req_pair {
	uint32_t name; /* arena offsets of NUL-terminated strings */
	uint32_t value;
	uint32_t value_len; /* decoded length: a %00 makes it differ from strlen */
};

struct sio_request {
	struct buf arena;
	uint32_t method;
	uint32_t url;
	uint32_t path; /* decoded-free path part of the url (before '?') */
	struct req_pair *headers;
	size_t nheaders, cap_headers;
	struct req_pair *query;
	size_t nquery, cap_query;
	char address[64];
	bool sealed; /* offsets fixed; accessors may be used */
};

/* Builder, used by the HTTP parser. Offsets returned by req_add_string
 * stay valid when the arena grows. */
void request_reset(struct sio_request *r);
void request_free(struct sio_request *r);
int request_add_string(struct sio_request *r, const char *s, size_t n, uint32_t *off);
int request_append_to(struct sio_request *r, uint32_t off, const char *s, size_t n);
int request_add_header(struct sio_request *r, uint32_t name, uint32_t value);
/* Lower-cases header names, splits path and query, decodes the query. */
int request_seal(struct sio_request *r);
/* The decoded value of query parameter `name` with its length (it may
 * hold NUL bytes), or NULL. */
const char *request_query_n(const struct sio_request *r, const char *name, size_t *len);
/* A deep copy (for keeping the handshake request with a session). */
struct sio_request *request_clone(const struct sio_request *r);

static inline const char *request_str(const struct sio_request *r, uint32_t off)
{
	return (const char *)r->arena.data + off;
}

/* Extra response headers collected from hooks: "Name: value\r\n" lines. */
struct sio_headers {
	struct buf lines;
};

#endif
