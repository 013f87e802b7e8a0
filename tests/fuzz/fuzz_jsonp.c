/*
 * The body of an Engine.IO v3 JSONP POST (eio3_jsonp_body_decode), on a
 * heap copy of exactly its length, decoded in place:
 *  - the input as a body: refused exactly when it is not UTF-8; a payload
 *    lies inside the block and is iterated (eio3_payload_next) with the
 *    packets inside it;
 *  - the input as a text payload P: the body engine.io-client 3.x posts for
 *    it (P with "\n", backslash n, turned into backslash newline, then each
 *    newline into "\n", then form-encoded) decodes back to P. Not when P
 *    holds a backslash then a newline: the client writes "\\n" for it,
 *    which the reference reads back as "\n" (the scheme cannot tell them
 *    apart);
 *  - the decoder is whole-buffer, so "fed in pieces" is: the body cut short
 *    anywhere decodes without a crash, refused exactly when the cut leaves
 *    it not UTF-8.
 */
#include "protocol/eio_v3.h"
#include "protocol/utf8.h"

#include "fuzz.h"

/* Prefixes decoded per input, at most. */
#define MAX_CUTS 16

static bool is_utf8(const uint8_t *p, size_t n)
{
	struct utf8_state u = {0};

	return utf8_feed(&u, p, n) && utf8_complete(&u);
}

/* Decodes an exact copy of body[0..len); checks what holds for any body.
 * Returns the result; *payload (malloc'd, the caller frees) and *plen are
 * the payload for EIO3_JSONP_PAYLOAD. */
static int decode(const uint8_t *body, size_t len, uint8_t **payload, size_t *plen)
{
	uint8_t *buf = fuzz_copy(body, len);
	uint8_t *p = NULL;
	size_t n = 0;
	int r = eio3_jsonp_body_decode(buf, len, &p, &n);

	*payload = NULL;
	*plen = 0;
	FUZZ_CHECK(r == EIO3_JSONP_PAYLOAD || r == EIO3_JSONP_NONE || r == EIO3_JSONP_ERROR);
	FUZZ_CHECK((r == EIO3_JSONP_ERROR) == !is_utf8(body, len));
	if (r == EIO3_JSONP_PAYLOAD) {
		FUZZ_CHECK(n <= len && p >= buf && p + n <= buf + len);
		*payload = fuzz_copy(p, n);
		*plen = n;

		/* the payload iterates inside itself */
		struct eio_packet pk;
		size_t pos = 0, prev = 0, count = 0;
		int k;

		while ((k = eio3_payload_next(p, n, &pos, &pk)) == 1) {
			FUZZ_CHECK(count++ < n);
			FUZZ_CHECK(pos > prev && pos <= n);
			FUZZ_CHECK(pk.len == 0 ||
			           (pk.data >= p + prev && pk.data + pk.len <= p + pos));
			prev = pos;
		}
		FUZZ_CHECK(k == 0 || k == EIO_DECODE_ERROR);
	}
	free(buf);
	return r;
}

/* The body engine.io-client 3.x's JSONP transport posts for payload p
 * (see the top of this file), with every byte but letters and digits
 * percent-encoded, between two other fields. */
static uint8_t *client_body(const uint8_t *p, size_t n, size_t *len)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t *esc = fuzz_malloc(3 * n);
	uint8_t *body;
	size_t e = 0, o = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n && p[i + 1] == 'n') {
			memcpy(esc + e, "\\\\n", 3); /* backslash newline, newline escaped */
			e += 3;
			i++;
		} else if (p[i] == '\n') {
			memcpy(esc + e, "\\n", 2);
			e += 2;
		} else {
			esc[e++] = p[i];
		}
	}
	body = fuzz_malloc(sizeof("x=1&d=&y=2") - 1 + 3 * e);
	memcpy(body, "x=1&d=", 6);
	o = 6;
	for (size_t i = 0; i < e; i++) {
		uint8_t c = esc[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			body[o++] = c;
		} else {
			body[o++] = '%';
			body[o++] = (uint8_t)hex[c >> 4];
			body[o++] = (uint8_t)hex[c & 15];
		}
	}
	memcpy(body + o, "&y=2", 4);
	*len = o + 4;
	free(esc);
	return body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *payload;
	size_t plen;

	/* the input as a body, whole and cut short */
	decode(data, size, &payload, &plen);
	free(payload);
	uint64_t rng = fuzz_hash(data, size);
	size_t cuts = size < MAX_CUTS ? size : MAX_CUTS;
	for (size_t c = 0; c < cuts; c++) {
		size_t k = size <= MAX_CUTS ? c : fuzz_next(&rng) % size;

		decode(data, k, &payload, &plen);
		free(payload);
	}

	/* the input as a payload, posted as the client posts it */
	bool hole = false;
	for (size_t i = 0; i + 1 < size; i++)
		hole |= data[i] == '\\' && data[i + 1] == '\n';
	size_t blen;
	uint8_t *body = client_body(data, size, &blen);
	FUZZ_CHECK(decode(body, blen, &payload, &plen) == EIO3_JSONP_PAYLOAD);
	if (!hole)
		FUZZ_CHECK(fuzz_bytes_equal(payload, plen, data, size));
	free(payload);
	free(body);
	return 0;
}
