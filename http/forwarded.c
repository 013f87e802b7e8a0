/*
 * Addresses, networks and the X-Forwarded-* headers (see forwarded.h).
 */
#include "http/forwarded.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#include "base/util.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void ip_from_bytes(const uint8_t *bytes, size_t len, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 16 && memcmp(bytes, v4_mapped, 12) == 0) {
		out->len = 4;
		memcpy(out->bytes, bytes + 12, 4);
	} else if (len == 4 || len == 16) {
		out->len = (uint8_t)len;
		memcpy(out->bytes, bytes, len);
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int ip_parse(const char *s, size_t n, struct ip_addr *out)
{
	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	char text[IP_TEXT_SIZE];
	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	uint8_t bytes[16];
	if (inet_pton(AF_INET, text, bytes) == 1)
		ip_from_bytes(bytes, 4, out);
	else if (inet_pton(AF_INET6, text, bytes) == 1)
		ip_from_bytes(bytes, 16, out);
	else
		return -1;
	return 0;
}

const char *ip_text(const struct ip_addr *a, char *buf)
{
	buf[0] = '\0';
	if (a->len == 4 || a->len == 16)
		inet_ntop(a->len == 4 ? AF_INET : AF_INET6, a->bytes, buf, IP_TEXT_SIZE);
	return buf;
}

int ip_net_parse(const char *s, struct ip_net *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t bytes[16];
	char text[IP_TEXT_SIZE];
	if (alen == 0 || alen >= sizeof(text))
		return -1;
	memcpy(text, s, alen);
	text[alen] = '\0';
	unsigned width;
	bool mapped = false;
	if (inet_pton(AF_INET, text, bytes) == 1) {
		width = 32;
	} else if (inet_pton(AF_INET6, text, bytes) == 1) {
		width = 128;
		mapped = memcmp(bytes, v4_mapped, 12) == 0;
	} else {
		return -1;
	}
	unsigned long bits = width;
	if (slash) {
		char *end;
		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || bits > width)
			return -1;
	}
	if (mapped) {
		if (bits < 96)
			return -1; /* spans more than the mapped addresses */
		bits -= 96;
	}
	ip_from_bytes(bytes, width / 8, &out->addr);
	out->bits = (uint8_t)bits;
	return 0;
}

static bool net_contains(const struct ip_net *net, const struct ip_addr *a)
{
	if (net->addr.len != a->len)
		return false;
	unsigned full = net->bits / 8, rest = net->bits % 8;
	if (memcmp(net->addr.bytes, a->bytes, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr.bytes[full] & mask) == (a->bytes[full] & mask);
}

bool ip_nets_match(const struct ip_net *nets, size_t n, const struct ip_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (net_contains(&nets[i], a))
			return true;
	return false;
}

/* Walks one header value's entries from right to left. Returns true when
 * the walk ends here (*client set). */
static bool walk_value(const char *v, const struct ip_net *trusted, size_t n,
                       struct ip_addr *client)
{
	size_t end = strlen(v);
	for (;;) {
		size_t start = end;
		while (start && v[start - 1] != ',')
			start--;
		struct ip_addr a;
		if (ip_parse(v + start, end - start, &a) < 0)
			return true; /* not an address: the hop before it is the client */
		*client = a;
		if (!ip_nets_match(trusted, n, &a))
			return true;
		if (start == 0)
			return false;
		end = start - 1;
	}
}

void forwarded_client(const struct sio_request *req, const struct ip_net *trusted, size_t n,
                      const struct ip_addr *peer, struct ip_addr *client)
{
	*client = *peer;
	if (!ip_nets_match(trusted, n, peer))
		return;
	const char *name, *value;
	size_t count = 0;
	while (sio_request_header_at(req, count, &name, &value))
		count++;
	for (size_t i = count; i-- > 0;) {
		sio_request_header_at(req, i, &name, &value);
		if (strcmp(name, "x-forwarded-for") == 0 && walk_value(value, trusted, n, client))
			return;
	}
}

bool forwarded_https(const struct sio_request *req)
{
	const char *v = sio_request_header(req, "x-forwarded-proto");
	if (!v)
		return false;
	while (is_blank(*v))
		v++;
	size_t len = 0;
	while (v[len] && v[len] != ',' && !is_blank(v[len]))
		len++;
	return ascii_ieqn(v, len, "https");
}
