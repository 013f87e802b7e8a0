#include "http/request.h"

#include <stdlib.h>
#include <string.h>

#include <sioc.h>

void request_reset(struct sio_request *r)
{
	r->arena.len = 0;
	r->nheaders = 0;
	r->nquery = 0;
	r->secure = false;
	r->method = r->url = r->path = r->address = r->peer = 0;
	/* offset 0 is the empty string */
	uint32_t off;
	request_add_string(r, "", 0, &off);
}

void request_free(struct sio_request *r)
{
	free(r->arena.data);
	free(r->headers);
	free(r->query);
	memset(r, 0, sizeof(*r));
}

/* Makes room for `extra` more bytes in r's arena, which must stay under
 * REQ_COMMON bytes (its offsets must not reach it). Returns 0 or -1. */
static int arena_reserve(struct sio_request *r, size_t extra)
{
	struct req_arena *a = &r->arena;
	if (extra >= REQ_COMMON - a->len)
		return -1;
	if (a->cap - a->len >= extra)
		return 0;
	size_t need = a->len + extra;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > REQ_COMMON)
		cap = REQ_COMMON;
	uint8_t *p = realloc(a->data, cap);
	if (!p)
		return -1;
	a->data = p;
	a->cap = (uint32_t)cap;
	return 0;
}

int request_add_string(struct sio_request *r, const char *s, size_t n, uint32_t *off)
{
	if (n >= REQ_COMMON || arena_reserve(r, n + 1) < 0)
		return -1;
	*off = r->arena.len;
	memcpy(r->arena.data + r->arena.len, s, n);
	r->arena.data[r->arena.len + n] = '\0';
	r->arena.len += (uint32_t)n + 1;
	return 0;
}

int request_append_to(struct sio_request *r, uint32_t off, const char *s, size_t n)
{
	/* Only the last string added can grow: it ends at arena.len - 1. */
	if (n == 0)
		return 0;
	if (off >= r->arena.len || n >= REQ_COMMON || arena_reserve(r, n) < 0)
		return -1;
	r->arena.len--; /* drop the NUL */
	memcpy(r->arena.data + r->arena.len, s, n);
	r->arena.len += (uint32_t)n;
	r->arena.data[r->arena.len++] = '\0';
	return 0;
}

/* Makes room for element n of an array of `size`-byte elements. */
static int grow_array(void **p, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return 0;
	if (*cap > UINT32_MAX / 2)
		return -1;
	uint32_t ncap = *cap ? *cap * 2 : 16;
	void *np = realloc(*p, ncap * size);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

int request_add_header(struct sio_request *r, uint32_t name, uint32_t value)
{
	if (grow_array((void **)&r->headers, &r->cap_headers, r->nheaders, sizeof(*r->headers)) < 0)
		return -1;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	return 0;
}

/* Adds the form-decoded (percent escapes, '+' as space) s[0..n) to the
 * arena. Invalid escapes are kept as they are, as URLSearchParams does. */
static int add_decoded(struct sio_request *r, const char *s, size_t n, uint32_t *off,
		       uint32_t *len)
{
	if (request_add_string(r, s, n, off) < 0)
		return -1;
	char *d = (char *)r->arena.data + *off;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hex_digit_value((unsigned char)d[i + 1]) >= 0 &&
			   hex_digit_value((unsigned char)d[i + 2]) >= 0) {
			c = (char)(hex_digit_value((unsigned char)d[i + 1]) * 16 +
				   hex_digit_value((unsigned char)d[i + 2]));
			i += 2;
		}
		d[o++] = c;
	}
	d[o] = '\0';
	if (len)
		*len = (uint32_t)o;
	return 0;
}

int request_seal(struct sio_request *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		char *p = (char *)r->arena.data + r->headers[i].name;
		for (; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
	}
	/* Copy the url first: adding strings may move the arena. */
	size_t ulen = strlen(request_str(r, r->url));
	char *url = malloc(ulen + 1);
	if (!url)
		return -1;
	memcpy(url, request_str(r, r->url), ulen + 1);
	const char *q = memchr(url, '?', ulen);
	size_t plen = q ? (size_t)(q - url) : ulen;
	int rc = request_add_string(r, url, plen, &r->path);
	if (rc == 0 && q) {
		const char *p = q + 1, *end = url + ulen;
		while (p < end && rc == 0) {
			const char *amp = memchr(p, '&', (size_t)(end - p));
			const char *seg_end = amp ? amp : end;
			if (seg_end > p) {
				const char *eq = memchr(p, '=', (size_t)(seg_end - p));
				const char *name_end = eq ? eq : seg_end;
				struct req_pair pr;
				rc = grow_array((void **)&r->query, &r->cap_query, r->nquery,
						sizeof(*r->query));
				if (rc == 0)
					rc = add_decoded(r, p, (size_t)(name_end - p), &pr.name, NULL);
				pr.value_len = 0;
				if (rc == 0)
					rc = eq ? add_decoded(r, eq + 1, (size_t)(seg_end - eq - 1),
							      &pr.value, &pr.value_len)
						: request_add_string(r, "", 0, &pr.value);
				if (rc == 0)
					r->query[r->nquery++] = pr;
			}
			p = seg_end + 1;
		}
	}
	free(url);
	return rc;
}

int request_set_address(struct sio_request *r, const char *addr)
{
	if (request_add_string(r, addr, strlen(addr), &r->address) < 0)
		return -1;
	r->peer = r->address;
	return 0;
}

void request_set_secure(struct sio_request *r, bool secure)
{
	r->secure = secure;
}

int request_set_forwarded(struct sio_request *r, const char *client, bool secure)
{
	r->secure = secure;
	return request_add_string(r, client, strlen(client), &r->address);
}

_Static_assert(_Alignof(struct req_header) <= _Alignof(struct sio_request) &&
		       _Alignof(struct req_pair) <= _Alignof(struct req_header),
	       "in a kept request the header pairs follow the struct, the query pairs them");

/* Strings a kept request shares rather than copies: methods, the usual
 * header names (lower-cased, as request_seal leaves them) and values, the
 * default path and the url of a websocket-only client, the Engine.IO query
 * names and values. */
const char *const request_common[] = {
        "",
        "GET",
        "POST",
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "user-agent",
        "accept",
        "accept-encoding",
        "accept-language",
        "origin",
        "cookie",
        "cache-control",
        "pragma",
        "referer",
        "content-type",
        "content-length",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-real-ip",
        "websocket",
        "Upgrade",
        "keep-alive",
        "Keep-Alive",
        "close",
        "13",
        "*/*",
        "no-cache",
        "gzip, deflate",
        "gzip, deflate, br",
        "permessage-deflate; client_max_window_bits",
        "text/plain;charset=UTF-8",
        "/socket.io/",
        "/socket.io/?EIO=4&transport=websocket",
        "/socket.io/?EIO=3&transport=websocket",
        "EIO",
        "4",
        "3",
        "transport",
        "polling",
        "sid",
        "t",
        "b64",
        "1",
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        NULL,
};

/* The offset of s (len bytes, no NUL among them) among request_common
 * (REQ_COMMON set), or 0 when it is not one. */
static uint32_t common_of(const char *s, size_t len)
{
	for (uint32_t i = 1; request_common[i]; i++)
		if (request_common[i][0] == s[0] && strlen(request_common[i]) == len &&
		    memcmp(request_common[i], s, len) == 0)
			return REQ_COMMON | i;
	return 0;
}

/* A kept request being made: strings go to arena at len. */
struct keep_ctx {
	const struct sio_request *r;
	uint8_t *arena; /* NULL while counting */
	size_t len;
};

/* The offset in the copy of the string at off in r (n bytes and its NUL;
 * SIZE_MAX: up to its NUL): shared when common, else appended. */
static uint32_t keep_str(struct keep_ctx *k, uint32_t off, size_t n)
{
	if (off & REQ_COMMON)
		return off;
	if (off >= k->r->arena.len)
		return REQ_COMMON; /* request_common[0], "": an empty request */
	const char *s = request_str(k->r, off);
	if (n == SIZE_MAX)
		n = strlen(s);
	if (n == 0)
		return REQ_COMMON;
	uint32_t c = memchr(s, '\0', n) ? 0 : common_of(s, n);
	if (c)
		return c;
	uint32_t at = (uint32_t)k->len;
	if (k->arena)
		memcpy(k->arena + at, s, n + 1);
	k->len += n + 1;
	return at;
}

/* Copies r's strings into k (only counting when k->arena is NULL) and,
 * when `out`, its offsets into out's pairs. */
static void keep_strings(struct keep_ctx *k, struct sio_request *out)
{
	const struct sio_request *r = k->r;
	uint32_t v;
	v = keep_str(k, r->method, SIZE_MAX);
	if (out)
		out->method = v;
	v = keep_str(k, r->url, SIZE_MAX);
	if (out)
		out->url = v;
	v = keep_str(k, r->path, SIZE_MAX);
	if (out)
		out->path = v;
	v = keep_str(k, r->address, SIZE_MAX);
	if (out)
		out->address = v;
	/* the same string unless a proxy forwarded the client's address */
	if (r->peer != r->address)
		v = keep_str(k, r->peer, SIZE_MAX);
	if (out)
		out->peer = v;
	for (uint32_t i = 0; i < r->nheaders; i++) {
		const struct req_header *h = &r->headers[i];
		uint32_t n = keep_str(k, h->name, SIZE_MAX);
		uint32_t val = keep_str(k, h->value, SIZE_MAX);
		if (out)
			out->headers[i] = (struct req_header){n, val};
	}
	for (uint32_t i = 0; i < r->nquery; i++) {
		const struct req_pair *q = &r->query[i];
		uint32_t n = keep_str(k, q->name, SIZE_MAX);
		uint32_t val = keep_str(k, q->value, q->value_len);
		if (out)
			out->query[i] = (struct req_pair){n, val, q->value_len};
	}
}

struct sio_request *request_keep_with(const struct sio_request *r, size_t before)
{
	/* Exactly the size: a kept request lives as long as its session. The
	 * caller's bytes, the struct, the header pairs, the query pairs, then
	 * the strings that are not common, each once. */
	size_t hbytes = r->nheaders * sizeof(*r->headers);
	size_t qbytes = r->nquery * sizeof(*r->query);
	struct keep_ctx ctx = {.r = r, .arena = NULL, .len = 0};
	keep_strings(&ctx, NULL);
	size_t alen = ctx.len;
	char *block = malloc(before + sizeof(struct sio_request) + hbytes + qbytes + alen);
	if (!block)
		return NULL;
	struct sio_request *k = (struct sio_request *)(block + before);
	*k = *r;
	k->headers = (struct req_header *)(k + 1);
	k->query = (struct req_pair *)(k->headers + r->nheaders);
	k->cap_headers = r->nheaders;
	k->cap_query = r->nquery;
	k->arena.data = (uint8_t *)(k->query + r->nquery);
	k->arena.len = k->arena.cap = (uint32_t)alen;
	ctx.arena = k->arena.data;
	ctx.len = 0;
	keep_strings(&ctx, k);
	return k;
}

struct sio_request *request_keep(const struct sio_request *r)
{
	return request_keep_with(r, 0);
}

void request_release(struct sio_request *kept)
{
	free(kept);
}

SIO_API const char *sio_request_method(const struct sio_request *req)
{
	return request_str(req, req->method);
}

SIO_API const char *sio_request_url(const struct sio_request *req)
{
	return request_str(req, req->url);
}

SIO_API const char *sio_request_header(const struct sio_request *req, const char *name)
{
	if (!req || !name)
		return NULL;
	for (size_t i = 0; i < req->nheaders; i++)
		if (ascii_ieq(request_str(req, req->headers[i].name), name))
			return request_str(req, req->headers[i].value);
	return NULL;
}

SIO_API bool sio_request_header_at(const struct sio_request *req, size_t i, const char **name,
				   const char **value)
{
	if (!req || i >= req->nheaders)
		return false;
	if (name)
		*name = request_str(req, req->headers[i].name);
	if (value)
		*value = request_str(req, req->headers[i].value);
	return true;
}

const char *request_query_n(const struct sio_request *r, const char *name, size_t *len)
{
	for (size_t i = r->nquery; i-- > 0;) {
		if (strcmp(request_str(r, r->query[i].name), name) == 0) {
			*len = r->query[i].value_len;
			return request_str(r, r->query[i].value);
		}
	}
	return NULL;
}

SIO_API const char *sio_request_query(const struct sio_request *req, const char *name)
{
	size_t len;
	/* The last occurrence wins, as in the reference's query object. */
	return req && name ? request_query_n(req, name, &len) : NULL;
}

SIO_API bool sio_request_query_at(const struct sio_request *req, size_t i, const char **name,
				  const char **value)
{
	if (!req || i >= req->nquery)
		return false;
	if (name)
		*name = request_str(req, req->query[i].name);
	if (value)
		*value = request_str(req, req->query[i].value);
	return true;
}

SIO_API const char *sio_request_address(const struct sio_request *req)
{
	return req ? request_str(req, req->address) : NULL;
}

SIO_API const char *sio_request_peer_address(const struct sio_request *req)
{
	return req ? request_str(req, req->peer) : NULL;
}

SIO_API bool sio_request_secure(const struct sio_request *req)
{
	return req && req->secure;
}

static bool header_text_ok(const char *s, bool name)
{
	if (name && !*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' || c == '\n' || (name && (c == ':' || c <= ' ')))
			return false;
	}
	return true;
}

SIO_API int sio_headers_add(struct sio_headers *h, const char *name, const char *value)
{
	if (!h || !name || !value || !header_text_ok(name, true) || !header_text_ok(value, false))
		return SIO_EINVAL;
	if (buf_printf(&h->lines, "%s: %s\r\n", name, value) < 0)
		return SIO_ENOMEM;
	return 0;
}
