/*
 * http/forwarded.c: addresses and networks (IPv4, IPv6, IPv4-mapped forms
 * taken as IPv4), and the client a request names through trusted proxies
 * in X-Forwarded-For (walked right to left; several headers are one list)
 * and X-Forwarded-Proto.
 */
#include "http/forwarded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#include "tests/unit/unit.h"

struct net_vector {
	int line;
	const char *net;  /* ip_net_parse input */
	int rc;           /* its result */
	const char *addr; /* an address to match against it (NULL: none) */
	bool match;
};

static const struct net_vector net_vectors[] = {
        {__LINE__, "127.0.0.1", 0, "127.0.0.1", true},
        {__LINE__, "127.0.0.1", 0, "127.0.0.2", false},
        {__LINE__, "127.0.0.0/8", 0, "127.255.1.2", true},
        {__LINE__, "127.0.0.0/8", 0, "128.0.0.1", false},
        {__LINE__, "127.0.0.0/8", 0, "::ffff:127.0.0.1", true},
        {__LINE__, "127.0.0.0/8", 0, "::1", false},
        {__LINE__, "10.1.2.0/23", 0, "10.1.3.255", true},
        {__LINE__, "10.1.2.0/23", 0, "10.1.4.0", false},
        {__LINE__, "0.0.0.0/0", 0, "203.0.113.9", true},
        {__LINE__, "0.0.0.0/0", 0, "2001:db8::1", false},
        {__LINE__, "::1", 0, "::1", true},
        {__LINE__, "::1", 0, "::2", false},
        {__LINE__, "fd00::/8", 0, "fdab:cd::1", true},
        {__LINE__, "fd00::/8", 0, "fe80::1", false},
        {__LINE__, "2001:db8::/33", 0, "2001:db8:7fff::1", true},
        {__LINE__, "2001:db8::/33", 0, "2001:db8:8000::1", false},
        {__LINE__, "::ffff:10.0.0.0/104", 0, "10.9.9.9", true},
        {__LINE__, "::ffff:10.0.0.0/104", 0, "11.0.0.1", false},
        {__LINE__, "::ffff:10.0.0.1", 0, "10.0.0.1", true},
        {__LINE__, "::ffff:0.0.0.0/95", -1, NULL, false},
        {__LINE__, "127.0.0.1/33", -1, NULL, false},
        {__LINE__, "127.0.0.1/", -1, NULL, false},
        {__LINE__, "127.0.0.1/-1", -1, NULL, false},
        {__LINE__, "127.0.0.1/8x", -1, NULL, false},
        {__LINE__, "::1/129", -1, NULL, false},
        {__LINE__, "localhost", -1, NULL, false},
        {__LINE__, "", -1, NULL, false},
        {__LINE__, "/8", -1, NULL, false},
        {__LINE__, "1.2.3", -1, NULL, false},
};

static void test_nets(void)
{
	for (size_t i = 0; i < sizeof(net_vectors) / sizeof(net_vectors[0]); i++) {
		const struct net_vector *v = &net_vectors[i];
		struct ip_net net;
		vectors++;
		int rc = ip_net_parse(v->net, &net);
		if (!check(rc == v->rc, v->line, "ip_net_parse result") || rc < 0 || !v->addr)
			continue;
		struct ip_addr a;
		if (!check(ip_parse(v->addr, strlen(v->addr), &a) == 0, v->line, "ip_parse"))
			continue;
		check(ip_nets_match(&net, 1, &a) == v->match, v->line, "match");
	}
}

struct text_vector {
	int line;
	const char *in;
	const char *text; /* NULL: not an address */
};

static const struct text_vector text_vectors[] = {
        {__LINE__, "1.2.3.4", "1.2.3.4"},
        {__LINE__, "  1.2.3.4\t", "1.2.3.4"},
        {__LINE__, "::ffff:1.2.3.4", "1.2.3.4"},
        {__LINE__, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {__LINE__, "::1", "::1"},
        {__LINE__, "1.2.3.4:80", NULL},
        {__LINE__, "[::1]", NULL},
        {__LINE__, "unknown", NULL},
        {__LINE__, "", NULL},
        {__LINE__, "1.2.3.4 5", NULL},
        {__LINE__, "0123456789012345678901234567890123456789012345678901234567890", NULL},
};

static void test_text(void)
{
	for (size_t i = 0; i < sizeof(text_vectors) / sizeof(text_vectors[0]); i++) {
		const struct text_vector *v = &text_vectors[i];
		struct ip_addr a;
		char buf[IP_TEXT_SIZE];
		vectors++;
		int rc = ip_parse(v->in, strlen(v->in), &a);
		if (!check((rc == 0) == (v->text != NULL), v->line, "ip_parse result") || rc < 0)
			continue;
		check(strcmp(ip_text(&a, buf), v->text) == 0, v->line, "text");
	}
}

#define MAX_HEADERS 4

struct fwd_vector {
	int line;
	const char *trusted; /* comma-separated networks */
	const char *peer;
	const char *headers[MAX_HEADERS][2]; /* ends at a NULL name */
	const char *client;
	bool https;
};

static const struct fwd_vector fwd_vectors[] = {
        /* an untrusted peer: its X-Forwarded-For is not read (the front asks
         * forwarded_https() only of trusted peers) */
        {__LINE__,
         "127.0.0.1",
         "203.0.113.1",
         {{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-Proto", "https"}},
         "203.0.113.1",
         true},
        /* a trusted proxy: the last hop it added */
        {__LINE__,
         "127.0.0.1",
         "127.0.0.1",
         {{"X-Forwarded-For", "198.51.100.7"}},
         "198.51.100.7",
         false},
        /* a forged first entry: the rightmost untrusted one wins */
        {__LINE__,
         "127.0.0.1",
         "127.0.0.1",
         {{"X-Forwarded-For", "10.9.9.9, 198.51.100.7"}},
         "198.51.100.7",
         false},
        /* two proxies in a row, both trusted */
        {__LINE__,
         "127.0.0.1,10.0.0.0/8",
         "127.0.0.1",
         {{"X-Forwarded-For", "6.6.6.6, 198.51.100.7,10.0.0.2"}},
         "198.51.100.7",
         false},
        /* all trusted: the leftmost */
        {__LINE__,
         "127.0.0.0/8",
         "127.0.0.1",
         {{"X-Forwarded-For", "127.0.0.9,127.0.0.3"}},
         "127.0.0.9",
         false},
        /* garbage stops the walk at the hop before it */
        {__LINE__,
         "127.0.0.1,10.0.0.0/8",
         "127.0.0.1",
         {{"X-Forwarded-For", "6.6.6.6, unknown, 10.0.0.2"}},
         "10.0.0.2",
         false},
        {__LINE__, "127.0.0.1", "127.0.0.1", {{"X-Forwarded-For", ""}}, "127.0.0.1", false},
        /* several headers are one list, in order */
        {__LINE__,
         "127.0.0.1,10.0.0.0/8",
         "127.0.0.1",
         {{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-For", "10.0.0.2"}},
         "198.51.100.7",
         false},
        /* a mapped peer and IPv6 clients */
        {__LINE__,
         "127.0.0.1",
         "::ffff:127.0.0.1",
         {{"X-Forwarded-For", "2001:db8::7"}},
         "2001:db8::7",
         false},
        {__LINE__,
         "::1",
         "::1",
         {{"X-Forwarded-For", "::ffff:198.51.100.7"}},
         "198.51.100.7",
         false},
        /* no header: the proxy itself */
        {__LINE__, "127.0.0.1", "127.0.0.1", {{NULL, NULL}}, "127.0.0.1", false},
        /* X-Forwarded-Proto: its first value */
        {__LINE__, "127.0.0.1", "127.0.0.1", {{"X-Forwarded-Proto", "HTTPS"}}, "127.0.0.1", true},
        {__LINE__,
         "127.0.0.1",
         "127.0.0.1",
         {{"X-Forwarded-Proto", " https, http"}},
         "127.0.0.1",
         true},
        {__LINE__,
         "127.0.0.1",
         "127.0.0.1",
         {{"X-Forwarded-Proto", "http, https"}},
         "127.0.0.1",
         false},
        {__LINE__, "127.0.0.1", "127.0.0.1", {{"X-Forwarded-Proto", "httpsx"}}, "127.0.0.1", false},
};

static void build(struct sio_request *r, const struct fwd_vector *v)
{
	uint32_t name, value;
	request_reset(r);
	for (int i = 0; i < MAX_HEADERS && v->headers[i][0]; i++) {
		const char *n = v->headers[i][0], *val = v->headers[i][1];
		if (request_add_string(r, n, strlen(n), &name) < 0 ||
		    request_add_string(r, val, strlen(val), &value) < 0 ||
		    request_add_header(r, name, value) < 0)
			out_of_memory();
	}
	if (request_add_string(r, "/", 1, &r->url) < 0 ||
	    request_add_string(r, "GET", 3, &r->method) < 0 || request_seal(r) < 0)
		out_of_memory();
}

static void test_forwarded(void)
{
	struct sio_request r;
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(fwd_vectors) / sizeof(fwd_vectors[0]); i++) {
		const struct fwd_vector *v = &fwd_vectors[i];
		struct ip_net nets[8];
		size_t n = 0;
		char list[256];
		vectors++;
		snprintf(list, sizeof(list), "%s", v->trusted);
		for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < 8;
		     t = strtok_r(NULL, ",", &save))
			if (check(ip_net_parse(t, &nets[n]) == 0, v->line, "trusted network"))
				n++;
		build(&r, v);
		struct ip_addr peer, client;
		char buf[IP_TEXT_SIZE];
		if (!check(ip_parse(v->peer, strlen(v->peer), &peer) == 0, v->line, "peer"))
			continue;
		forwarded_client(&r, nets, n, &peer, &client);
		if (!check(strcmp(ip_text(&client, buf), v->client) == 0, v->line, "client")) {
			fprintf(stderr, "  got %s, want %s\n", buf, v->client);
		}
		check(forwarded_https(&r) == v->https, v->line, "https");
	}
	request_free(&r);
}

int main(void)
{
	test_nets();
	test_text();
	test_forwarded();
	printf("forwarded: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
