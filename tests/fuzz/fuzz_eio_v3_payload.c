/*
 * Engine.IO v3 polling payloads (protocol/eio_v3.c): every input goes
 * through both decoders, the text one (eio3_payload_next) and the XHR2
 * binary one (eio3_binary_payload_next), each on a heap copy of exactly its
 * length (base64 is decoded in place).
 *
 * For each decoder:
 *  - each packet lies in its own segment of the block, after the end of the
 *    previous one, and stays intact while later ones are decoded; the
 *    iteration ends with 0 exactly at the end of the block, or stops at an
 *    error;
 *  - the packets returned re-encode (eio3_packet_len/_write) to a text
 *    payload that decodes to the same packets, and, when their text is
 *    UTF-8, to a binary payload that does too, and to a JSONP answer whose
 *    string literal is valid JSON holding exactly the text payload;
 *  - the decoders are whole-buffer, so "fed in pieces" is: decoding a
 *    prefix of the input (the body cut short) never crashes, and every
 *    packet it returns that ends before the cut is the one the whole input
 *    returns at that place (one that reaches the cut may differ: a UTF-8
 *    character or a frame cut short reads differently, as in the
 *    reference). For the binary decoder this holds when the whole input's
 *    framing is sound (a framing error anywhere rejects it all).
 */
#include "protocol/eio_v3.h"
#include "protocol/json.h"
#include "protocol/utf8.h"

#include "fuzz.h"

/* Prefixes decoded per input and decoder, at most. */
#define MAX_CUTS 24

typedef int (*next_fn)(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

struct seen {
	struct eio_packet p;
	uint8_t *copy; /* p.data's bytes when the packet was returned */
	size_t end;    /* *pos after it */
};

struct run {
	struct seen *s; /* room for len + 1 */
	size_t n;
	int result; /* 0 or EIO_DECODE_ERROR */
};

/* Iterates buf[0..len) with next, checking the layout invariants. */
static void iterate(next_fn next, uint8_t *buf, size_t len, struct run *out)
{
	size_t pos = 0, prev = 0;
	struct eio_packet p;
	int r;

	out->s = fuzz_malloc((len + 1) * sizeof(*out->s));
	out->n = 0;
	while ((r = next(buf, len, &pos, &p)) == 1) {
		FUZZ_CHECK(out->n < len);
		FUZZ_CHECK(pos > prev && pos <= len);
		FUZZ_CHECK((unsigned)p.type <= EIO_NOOP);
		FUZZ_CHECK(p.len == 0 || (p.data >= buf + prev && p.data + p.len <= buf + pos));
		out->s[out->n].p = p;
		out->s[out->n].copy = fuzz_copy(p.data, p.len);
		out->s[out->n].end = pos;
		out->n++;
		prev = pos;
	}
	FUZZ_CHECK(r == 0 || r == EIO_DECODE_ERROR);
	if (r == 0) {
		FUZZ_CHECK(pos == len);
		FUZZ_CHECK(next(buf, len, &pos, &p) == 0);
	}
	out->result = r;
	for (size_t i = 0; i < out->n; i++)
		FUZZ_CHECK(fuzz_bytes_equal(out->s[i].p.data, out->s[i].p.len, out->s[i].copy,
		                            out->s[i].p.len));
}

static void release(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->s[i].copy);
	free(r->s);
}

static bool same_packet(const struct seen *a, const struct seen *b)
{
	return a->p.type == b->p.type && a->p.binary == b->p.binary &&
	       fuzz_bytes_equal(a->copy, a->p.len, b->copy, b->p.len);
}

static bool is_utf8(const uint8_t *p, size_t n)
{
	struct utf8_state u = {0};

	return utf8_feed(&u, p, n) && utf8_complete(&u);
}

/* Encodes the packets of r as kind into an exact heap block; *len its
 * length. No packet is EIO3_EMPTY_PAYLOAD for text and JSONP. */
static uint8_t *encode(const struct run *r, enum eio3_payload_kind kind, size_t *len)
{
	size_t n = 0, o = 0;
	uint8_t *out;

	if (r->n == 0 && kind != EIO3_PAYLOAD_BINARY) {
		*len = strlen(EIO3_EMPTY_PAYLOAD);
		return fuzz_copy(EIO3_EMPTY_PAYLOAD, *len);
	}
	for (size_t i = 0; i < r->n; i++)
		n += eio3_packet_len(kind, r->s[i].p.type, r->s[i].p.binary, r->s[i].copy,
		                     r->s[i].p.len);
	out = fuzz_malloc(n);
	for (size_t i = 0; i < r->n; i++)
		o += eio3_packet_write(kind, r->s[i].p.type, r->s[i].p.binary, r->s[i].copy,
		                       r->s[i].p.len, out + o);
	FUZZ_CHECK(o == n);
	*len = n;
	return out;
}

/* Decoding the encoding of r with next gives r's packets back. */
static void round_trip(const struct run *r, enum eio3_payload_kind kind, next_fn next)
{
	size_t len;
	uint8_t *enc = encode(r, kind, &len);
	struct run back;

	iterate(next, enc, len, &back);
	FUZZ_CHECK(back.result == 0 && back.n == r->n);
	for (size_t i = 0; i < r->n; i++)
		FUZZ_CHECK(same_packet(&back.s[i], &r->s[i]));
	release(&back);
	free(enc);
}

/* The JSONP answer for r's packets, parsed as JSON between the head and
 * the foot, is the text payload. */
static void check_jsonp(const struct run *r)
{
	size_t text_len, body_len;
	uint8_t *text = encode(r, EIO3_PAYLOAD_TEXT, &text_len);
	uint8_t *body = encode(r, EIO3_PAYLOAD_JSONP, &body_len);

	/* no raw control character, U+2028 or U+2029 */
	for (size_t i = 0; i < body_len; i++) {
		FUZZ_CHECK(body[i] >= 0x20);
		if (i + 2 < body_len && body[i] == 0xe2 && body[i + 1] == 0x80)
			FUZZ_CHECK(body[i + 2] != 0xa8 && body[i + 2] != 0xa9);
	}
	if (is_utf8(text, text_len)) {
		size_t head = eio3_jsonp_head_len("", 0);
		size_t n = head + body_len + strlen(EIO3_JSONP_FOOT);
		uint8_t *js = fuzz_malloc(n);
		int err = 0;

		FUZZ_CHECK(eio3_jsonp_head_write("", 0, js) == head);
		memcpy(js + head, body, body_len);
		memcpy(js + head + body_len, EIO3_JSONP_FOOT, strlen(EIO3_JSONP_FOOT));
		FUZZ_CHECK(memcmp(js, "___eio[](\"", head) == 0);
		/* the string literal: from the head's quote to the foot's */
		json_t *v = jsonr_parse((const char *)js + head - 1, body_len + 2, 4, &err);
		FUZZ_CHECK(v && json_is_string(v));
		FUZZ_CHECK(fuzz_bytes_equal(json_string_value(v), json_string_length(v), text,
		                            text_len));
		json_decref(v);
		free(js);
	}
	free(body);
	free(text);
}

/* Decodes prefixes of data with next and compares their packets with the
 * whole's (see the top of this file). */
static void check_prefixes(next_fn next, const uint8_t *data, size_t size, const struct run *whole,
                           bool comparable)
{
	uint64_t rng = fuzz_hash(data, size);
	size_t cuts = size < MAX_CUTS ? size : MAX_CUTS;

	for (size_t c = 0; c < cuts; c++) {
		size_t k = size <= MAX_CUTS ? c : fuzz_next(&rng) % size;
		uint8_t *buf = fuzz_copy(data, k);
		struct run part;

		iterate(next, buf, k, &part);
		for (size_t i = 0; comparable && i < part.n && part.s[i].end < k; i++) {
			FUZZ_CHECK(i < whole->n);
			FUZZ_CHECK(same_packet(&part.s[i], &whole->s[i]));
			FUZZ_CHECK(part.s[i].end == whole->s[i].end);
		}
		release(&part);
		free(buf);
	}
}

static void run_decoder(next_fn next, const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct run r;
	bool text_utf8 = true;

	iterate(next, buf, size, &r);
	for (size_t i = 0; i < r.n; i++)
		if (!r.s[i].p.binary && !is_utf8(r.s[i].copy, r.s[i].p.len))
			text_utf8 = false;

	round_trip(&r, EIO3_PAYLOAD_TEXT, eio3_payload_next);
	if (text_utf8)
		round_trip(&r, EIO3_PAYLOAD_BINARY, eio3_binary_payload_next);
	check_jsonp(&r);
	check_prefixes(next, data, size, &r, next == eio3_payload_next || r.result == 0 || r.n > 0);
	release(&r);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_decoder(eio3_payload_next, data, size);
	run_decoder(eio3_binary_payload_next, data, size);
	return 0;
}
