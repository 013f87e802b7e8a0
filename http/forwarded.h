/*
 * Requests through reverse proxies: IP addresses and networks (CIDRs),
 * and the client's address and scheme as trusted proxies tell them in
 * X-Forwarded-For and X-Forwarded-Proto. Internal; no I/O.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is taken as its IPv4
 * form everywhere, so "127.0.0.1" matches a dual-stack listener's
 * "::ffff:127.0.0.1" peer.
 */
#ifndef SIOC_HTTP_FORWARDED_H
#define SIOC_HTTP_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

/* An address: 4 bytes (IPv4) or 16 (IPv6) in network order; len 0:
 * unknown. */
struct ip_addr {
	uint8_t len;
	uint8_t bytes[16];
};

/* A network: the addresses whose first `bits` bits are addr's. */
struct ip_net {
	struct ip_addr addr;
	uint8_t bits;
};

/* Room for the text of any ip_addr. */
#define IP_TEXT_SIZE 48

/* Parses an address (n bytes at s, surrounding blanks allowed). Returns 0
 * or -1 when it is not one. */
int ip_parse(const char *s, size_t n, struct ip_addr *out);
/* Sets *out from raw bytes (4 or 16), unmapping an IPv4-mapped one. */
void ip_from_bytes(const uint8_t *bytes, size_t len, struct ip_addr *out);
/* Writes a's text ("" when unknown) into buf[IP_TEXT_SIZE]; returns buf. */
const char *ip_text(const struct ip_addr *a, char *buf);
/* Parses "addr" or "addr/bits" (NUL-terminated). Returns 0 or -1. */
int ip_net_parse(const char *s, struct ip_net *out);
/* Whether a is in any of the n networks. */
bool ip_nets_match(const struct ip_net *nets, size_t n, const struct ip_addr *a);

/*
 * The client of a request whose TCP peer is `peer`, as Express's
 * proxy-addr finds it: peer, then the X-Forwarded-For entries from right
 * to left (several headers are one list, in order), the first that is not
 * in `trusted`; the leftmost when all are. An entry that is not an
 * address stops the walk: the hop before it is the client. peer itself
 * is returned when it is not trusted.
 */
void forwarded_client(const struct sio_request *req, const struct ip_net *trusted, size_t n,
                      const struct ip_addr *peer, struct ip_addr *client);
/* Whether X-Forwarded-Proto's first value is "https". */
bool forwarded_https(const struct sio_request *req);

#endif
