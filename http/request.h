/*
 * struct sio_request: one parsed HTTP request (method, target, headers,
 * decoded query, peer address). All strings live in one arena owned by the
 * request; the accessors of sioc.h read it.
 *
 * A request is either a builder, caller-owned and growable, which the HTTP
 * parser reuses for every request of a connection (request_reset,
 * request_add_*, request_seal, request_free), or a kept copy, one heap
 * block holding the struct, its pairs and its arena, made by request_keep
 * for a session and freed by request_release. A kept request is read-only.
 */
#ifndef SIOC_HTTP_REQUEST_H
#define SIOC_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* A string offset with this bit set is not in the arena but the common
 * string request_common[off & ~REQ_COMMON] (a kept request shares the
 * usual header names and values, such as "sec-websocket-key", instead of
 * holding copies). */
#define REQ_COMMON 0x80000000u
extern const char *const request_common[];

struct req_header {
	uint32_t name; /* arena offsets of NUL-terminated strings */
	uint32_t value;
};

struct req_pair {
	uint32_t name; /* arena offsets of NUL-terminated strings */
	uint32_t value;
	uint32_t value_len; /* decoded length: a %00 makes it differ from strlen */
};

/* The strings of a request (under REQ_COMMON bytes). */
struct req_arena {
	uint8_t *data;
	uint32_t len, cap;
};

struct sio_request {
	struct req_arena arena;
	struct req_header *headers; /* values hold no NUL (the parser refuses them) */
	struct req_pair *query;
	uint32_t nheaders, cap_headers;
	uint32_t nquery, cap_query;
	uint32_t method; /* arena offsets of NUL-terminated strings */
	uint32_t url;
	uint32_t path;    /* decoded-free path part of the url (before '?') */
	uint32_t address; /* the client's address, "" until request_set_address */
	uint32_t peer;    /* the TCP peer's (a proxy's), "" until request_set_address */
	bool secure;      /* https, as a trusted proxy said */
};

/* Builder, used by the HTTP parser. Offsets returned by request_add_string
 * stay valid when the arena grows. */
void request_reset(struct sio_request *r);
void request_free(struct sio_request *r);
int request_add_string(struct sio_request *r, const char *s, size_t n, uint32_t *off);
int request_append_to(struct sio_request *r, uint32_t off, const char *s, size_t n);
int request_add_header(struct sio_request *r, uint32_t name, uint32_t value);
/* Lower-cases header names, splits path and query, decodes the query. */
int request_seal(struct sio_request *r);
/* Stores the peer's address (copied) that sio_request_address and
 * sio_request_peer_address return. Returns -1 when out of memory. */
int request_set_address(struct sio_request *r, const char *addr);
/* Stores the client's address (copied) a trusted proxy forwarded, and
 * whether it came over https: sio_request_address returns it from now on.
 * Returns -1 when out of memory. */
/* Marks the request as received over TLS (or not). */
void request_set_secure(struct sio_request *r, bool secure);
int request_set_forwarded(struct sio_request *r, const char *client, bool secure);
/* The decoded value of query parameter `name` with its length (it may
 * hold NUL bytes), or NULL. */
const char *request_query_n(const struct sio_request *r, const char *name, size_t *len);
/* A read-only copy of r in one heap block of exactly the size it needs
 * (the handshake request a session keeps for its lifetime), or NULL when
 * out of memory: common strings (method, usual header names and values,
 * the Engine.IO query) are not copied but shared, and only the strings
 * the accessors can return are kept. r is not changed and may be reused.
 * Free it with request_release, never with request_free. */
struct sio_request *request_keep(const struct sio_request *r);
/* request_keep, in a heap block that begins with `before` bytes of the
 * caller's (a multiple of 8; the request follows them): the block, at
 * (char *)kept - before, is the caller's to free() as a whole, never with
 * request_release. */
struct sio_request *request_keep_with(const struct sio_request *r, size_t before);
/* Frees a request made by request_keep. NULL is a no-op. */
void request_release(struct sio_request *kept);

static inline const char *request_str(const struct sio_request *r, uint32_t off)
{
	if (off & REQ_COMMON)
		return request_common[off & ~REQ_COMMON];
	return (const char *)r->arena.data + off;
}

/* Extra response headers collected from hooks: "Name: value\r\n" lines. */
struct sio_headers {
	struct buf lines;
};

#endif
