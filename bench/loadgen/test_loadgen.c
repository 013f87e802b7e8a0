/*
 * Vectors for the load generator's pure parts: WebSocket framing
 * (wsframe.c) and the latency histogram (hist.c). Every parsed buffer is a
 * heap block of exactly its length, so the sanitizers catch a read past it.
 */
#include "hist.h"
#include "wsframe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string literal as (pointer, length); the literal may contain NULs. */
#define S(lit) lit, sizeof(lit) - 1

static int failures;
static int checks;

static void check(int ok, int line, const char *what)
{
	checks++;
	if (!ok) {
		fprintf(stderr, "%s:%d: %s\n", __FILE__, line, what);
		failures++;
	}
}

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

static uint8_t *copy_exact(const void *p, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	if (!b) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (len > 0)
		memcpy(b, p, len);
	return b;
}

struct parse_vector {
	int line;
	const char *in;
	size_t len;
	int want;          /* ws_frame_parse's return */
	uint8_t opcode;    /* when want == 1 */
	size_t header_len; /* when want == 1 */
	uint64_t payload_len;
};

static const struct parse_vector parse_vectors[] = {
        {__LINE__, S(""), 0, 0, 0, 0},
        {__LINE__, S("\x81"), 0, 0, 0, 0},
        {__LINE__, S("\x81\x00"), 1, WS_OP_TEXT, 2, 0},
        {__LINE__,
         S("\x81\x01"
           "3"),
         1, WS_OP_TEXT, 2, 1},
        {__LINE__,
         S("\x81\x05"
           "4"),
         1, WS_OP_TEXT, 2, 5}, /* payload not all there: still 1 */
        {__LINE__, S("\x82\x7d"), 1, WS_OP_BINARY, 2, 125},
        {__LINE__, S("\x81\x7e"), 0, 0, 0, 0},
        {__LINE__, S("\x81\x7e\x01"), 0, 0, 0, 0},
        {__LINE__, S("\x81\x7e\x01\x00"), 1, WS_OP_TEXT, 4, 256},
        {__LINE__, S("\x81\x7f\x00\x00\x00\x00\x00\x01\x00"), 0, 0, 0, 0},
        {__LINE__, S("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"), 1, WS_OP_TEXT, 10, 65536},
        {__LINE__, S("\x89\x00"), 1, WS_OP_PING, 2, 0},
        {__LINE__, S("\x88\x02\x03\xe8"), 1, WS_OP_CLOSE, 2, 2},
        {__LINE__,
         S("\x01\x01"
           "a"),
         1, WS_OP_TEXT, 2, 1}, /* not final: parsed, caller refuses */
        {__LINE__,
         S("\x81\x81\x00\x00\x00\x00"
           "3"),
         -1, 0, 0, 0},                                  /* masked by a server */
        {__LINE__, S("\xc1\x00"), -1, 0, 0, 0},         /* RSV1 */
        {__LINE__, S("\x83\x00"), -1, 0, 0, 0},         /* reserved opcode */
        {__LINE__, S("\x89\x7e\x00\x7e"), -1, 0, 0, 0}, /* control frame > 125 */
        {__LINE__, S("\x09\x00"), -1, 0, 0, 0},         /* fragmented control frame */
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_vectors) / sizeof(parse_vectors[0]); i++) {
		const struct parse_vector *v = &parse_vectors[i];
		uint8_t *buf = copy_exact(v->in, v->len);
		struct ws_frame f = {0};
		int r = ws_frame_parse(buf, v->len, &f);

		check(r == v->want, v->line, "ws_frame_parse result");
		if (r == 1 && v->want == 1) {
			check(f.opcode == v->opcode, v->line, "opcode");
			check(f.header_len == v->header_len, v->line, "header_len");
			check(f.payload_len == v->payload_len, v->line, "payload_len");
		}
		free(buf);
	}
}

/* Encodes payloads around the length-field boundaries, then checks the
 * header bytes and that unmasking gives the payload back. */
static void test_encode(void)
{
	static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
	static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		size_t h = ws_header_len(len);
		uint8_t *payload = malloc(len ? len : 1);
		uint8_t *frame = malloc(h + len);
		size_t n, off;
		int ok = 1;

		if (!payload || !frame) {
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
		for (size_t k = 0; k < len; k++)
			payload[k] = (uint8_t)(k * 7 + 3);
		n = ws_frame_encode(frame, WS_OP_TEXT, mask, payload, len);
		CHECK(n == h + len);
		CHECK(frame[0] == 0x81);
		CHECK(frame[1] & 0x80);
		if (len < 126) {
			CHECK(h == 6 && (frame[1] & 0x7f) == len);
		} else if (len <= 0xffff) {
			CHECK(h == 8 && (frame[1] & 0x7f) == 126);
			CHECK(((size_t)frame[2] << 8 | frame[3]) == len);
		} else {
			uint64_t v = 0;

			CHECK(h == 14 && (frame[1] & 0x7f) == 127);
			for (int k = 0; k < 8; k++)
				v = v << 8 | frame[2 + k];
			CHECK(v == len);
		}
		off = h - 4;
		CHECK(memcmp(frame + off, mask, 4) == 0);
		for (size_t k = 0; k < len; k++)
			ok &= (frame[h + k] ^ mask[k & 3]) == payload[k];
		CHECK(ok);
		free(payload);
		free(frame);
	}
}

static void test_hist(void)
{
	struct hist *h = malloc(sizeof(*h));

	if (!h) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	hist_init(h);
	CHECK(hist_quantile(h, 0.5) == 0 && hist_mean(h) == 0);

	/* exact below 128 */
	for (uint64_t v = 1; v <= 100; v++)
		hist_record(h, v);
	CHECK(h->total == 100 && h->min == 1 && h->max == 100);
	CHECK(hist_quantile(h, 0.5) == 50);
	CHECK(hist_quantile(h, 0.99) == 99);
	CHECK(hist_quantile(h, 1.0) == 100);
	CHECK(hist_quantile(h, 0.0) == 1);
	CHECK(hist_mean(h) == 50.5);

	/* above: within 1/64 of the value, never below it, capped at max */
	for (uint64_t v = 128; v < (1ull << 40); v = v * 3 / 2 + 1) {
		uint64_t q;

		hist_init(h);
		hist_record(h, v);
		hist_record(h, v + v / 2); /* max, in a higher bucket */
		q = hist_quantile(h, 0.5);
		CHECK(q >= v && q - v <= v / 64);
		CHECK(hist_quantile(h, 1.0) == v + v / 2);
	}

	/* 1% of large values moves p99.9 but not p99 */
	hist_init(h);
	for (int i = 0; i < 990; i++)
		hist_record(h, 1000);
	for (int i = 0; i < 10; i++)
		hist_record(h, 1000000);
	CHECK(hist_quantile(h, 0.5) >= 1000 && hist_quantile(h, 0.5) <= 1000 + 1000 / 64);
	CHECK(hist_quantile(h, 0.99) <= 1000 + 1000 / 64);
	CHECK(hist_quantile(h, 0.999) >= 1000000);

	/* values past the last bucket are counted in it, max stays exact */
	hist_init(h);
	hist_record(h, UINT64_MAX);
	CHECK(h->total == 1 && hist_quantile(h, 0.5) == UINT64_MAX);
	free(h);
}

int main(void)
{
	test_parse();
	test_encode();
	test_hist();
	printf("loadgen: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
