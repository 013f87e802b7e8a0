/*
 * struct sio_request (http/request.c): a request made with the
 * builder, as the HTTP parser makes it, and its kept copy (request_keep)
 * must answer every accessor of sioc.h alike. The kept copy is one block
 * of exactly the size it needs, holding everything it points to; it stays
 * intact when the builder is reused, and one request_release frees it
 * (LeakSanitizer sees anything else).
 */
#include "http/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#include "tests/unit/unit.h"

#define MAX_HEADERS 40

struct req_vector {
	int line;
	const char *method;
	const char *url;
	const char *headers[MAX_HEADERS][2]; /* name, value; ends at a NULL name */
	const char *address;                 /* NULL: request_set_address not called */
	const char *const *names;            /* more query / header names to look up */
};

static const char *const no_names[] = {NULL};
static const char *const some_names[] = {"EIO", "sid", "a", "b", "", "x y", "nope", NULL};

static const struct req_vector req_vectors[] = {
        {__LINE__,
         "GET",
         "/socket.io/?EIO=4&transport=websocket",
         {{"Host", "127.0.0.1:3000"},
          {"Upgrade", "websocket"},
          {"Connection", "Upgrade"},
          {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
          {"Sec-WebSocket-Version", "13"}},
         "::ffff:127.0.0.1",
         some_names},
        {__LINE__, "GET", "/", {{NULL, NULL}}, NULL, no_names},
        {__LINE__,
         "POST",
         "/socket.io/?EIO=4&transport=polling&sid=abc",
         {{"Host", "h"}},
         "127.0.0.1",
         some_names},
        /* repeated names (the last wins), decoding, %00 in a value, no '=' */
        {__LINE__,
         "GET",
         "/p?a=1&a=2&b=%41%00z&x+y=%zz&&c&=v",
         {{"X-A", "1"}, {"x-a", "2"}},
         "::1",
         some_names},
        /* more pairs than the builder's first allocation holds */
        {__LINE__,
         "GET",
         "/q?k0=0&k1=1&k2=2&k3=3&k4=4&k5=5&k6=6&k7=7&k8=8&k9=9&k10=10&k11=11&k12=12&k13=13&"
         "k14=14&k15=15&k16=16&k17=17&k18=18&k19=19",
         {{"h0", "0"},   {"h1", "1"},   {"h2", "2"},   {"h3", "3"},   {"h4", "4"},
          {"h5", "5"},   {"h6", "6"},   {"h7", "7"},   {"h8", "8"},   {"h9", "9"},
          {"h10", "10"}, {"h11", "11"}, {"h12", "12"}, {"h13", "13"}, {"h14", "14"},
          {"h15", "15"}, {"h16", "16"}, {"h17", "17"}, {"h18", "18"}, {"h19", "19"}},
         "2001:db8::1:0:0:0:1",
         some_names},
        {__LINE__, "GET", "/", {{"Host", ""}}, "", no_names},
};

static void build(struct sio_request *r, const struct req_vector *v)
{
	uint32_t name, value;

	request_reset(r);
	if (request_add_string(r, v->url, strlen(v->url), &r->url) < 0)
		out_of_memory();
	for (size_t i = 0; i < MAX_HEADERS && v->headers[i][0]; i++) {
		const char *n = v->headers[i][0], *val = v->headers[i][1];
		if (request_add_string(r, n, strlen(n), &name) < 0 ||
		    request_add_string(r, val, strlen(val), &value) < 0 ||
		    request_add_header(r, name, value) < 0)
			out_of_memory();
	}
	if (request_add_string(r, v->method, strlen(v->method), &r->method) < 0 ||
	    request_seal(r) < 0)
		out_of_memory();
	if (v->address && request_set_address(r, v->address) < 0)
		out_of_memory();
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Everything the accessors say about r, one line each. */
static void describe(struct buf *out, const struct sio_request *r, const struct req_vector *v)
{
	const char *name, *value;
	size_t len;

	if (buf_printf(out, "method=%s url=%s address=[%s]\n", sio_request_method(r),
	               sio_request_url(r), sio_request_address(r)) < 0)
		out_of_memory();
	for (size_t i = 0; sio_request_header_at(r, i, &name, &value); i++)
		if (buf_printf(out, "header %s: %s (lookup %s)\n", name, value,
		               sio_request_header(r, name)) < 0)
			out_of_memory();
	for (size_t i = 0; sio_request_query_at(r, i, &name, &value); i++) {
		const char *q = request_query_n(r, name, &len);
		if (buf_printf(out, "query %s=%s (lookup %s, %zu bytes)\n", name, value, q, len) <
		    0)
			out_of_memory();
	}
	for (const char *const *n = v->names; *n; n++) {
		const char *q = sio_request_query(r, *n), *h = sio_request_header(r, *n);
		if (buf_printf(out, "lookup %s: query %s header %s\n", *n, q ? q : "NULL",
		               h ? h : "NULL") < 0)
			out_of_memory();
	}
}

static void run_vector(const struct req_vector *v)
{
	struct sio_request b = {0};
	struct buf want = {0}, got = {0};

	vectors++;
	build(&b, v);
	struct sio_request *k = request_keep(&b);
	if (!k)
		out_of_memory();

	/* the accessors agree */
	describe(&want, &b, v);
	describe(&got, k, v);
	check(want.len == got.len && memcmp(want.data, got.data, want.len) == 0, v->line,
	      "the kept request answers as the builder");
	check(str_eq(sio_request_address(k), v->address ? v->address : ""), v->line,
	      "sio_request_address gives the address set, \"\" when none");
	check(!sio_request_header_at(k, k->nheaders, NULL, NULL) &&
	              !sio_request_query_at(k, k->nquery, NULL, NULL),
	      v->line, "nothing past the last pair");

	/* one block of exactly the size needed, holding all it points to but
	 * the common strings it shares */
	size_t pairs = b.nheaders * sizeof(struct req_header) + b.nquery * sizeof(struct req_pair);
	const uint8_t *start = (const uint8_t *)k, *end = start + sizeof(*k) + pairs + k->arena.len;
	check(k->arena.len <= b.arena.len, v->line,
	      "the kept strings are no more than the builder's");
	for (uint32_t i = 0; i < k->nheaders; i++) {
		const char *name = request_str(k, k->headers[i].name);
		if (strcmp(name, "host") == 0 || strcmp(name, "sec-websocket-key") == 0)
			check((k->headers[i].name & REQ_COMMON) &&
			              name != request_str(&b, b.headers[i].name),
			      v->line, "a usual header name is shared, not copied");
	}
	check((const uint8_t *)k->headers == start + sizeof(*k) &&
	              (const uint8_t *)k->query ==
	                      start + sizeof(*k) + b.nheaders * sizeof(struct req_header) &&
	              k->arena.data == start + sizeof(*k) + pairs &&
	              k->arena.data + k->arena.len == end,
	      v->line, "struct, header pairs, query pairs and arena in one block");

	/* the builder is reused: the kept request is not touched */
	build(&b, &req_vectors[0] == v ? &req_vectors[1] : &req_vectors[0]);
	buf_free(&got);
	describe(&got, k, v);
	check(want.len == got.len && memcmp(want.data, got.data, want.len) == 0, v->line,
	      "the kept request outlives the builder's next request");

	request_release(k);
	request_free(&b);
	buf_free(&want);
	buf_free(&got);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(req_vectors) / sizeof(req_vectors[0]); i++)
		run_vector(&req_vectors[i]);
	request_release(NULL);
	check(sio_request_address(NULL) == NULL, __LINE__, "sio_request_address(NULL) is NULL");

	printf("request: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
