/*
 * Vectors for the load generator's pure parts: WebSocket framing
 * (wsframe.c), the msgpack packets (msgpack.c) and the latency histogram
 * (hist.c). Every parsed buffer is a heap block of exactly its length, so
 * the sanitizers catch a read past it.
 */
#include "hist.h"
#include "msgpack.h"
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

/* What socket.io-client 4.8 with socket.io-msgpack-parser 3.0.2 sends for
 * emit("echo", "x" * 16, ack) (captured; its id 0 is a fixint where ours
 * are uint 32), and the bytes of our encoder with id 1234567 (0x12d687). */
static const char client_event[] = "\x85\xa4type\x02\xa4"
                                   "data\x92\xa4"
                                   "echo\xb0xxxxxxxxxxxxxxxx\xa7options\x81"
                                   "\xa8"
                                   "compress\xc3\xa2id\x00\xa3nsp\xa1/";
static const char our_event[] = "\x85\xa4type\x02\xa4"
                                "data\x92\xa4"
                                "echo\xb0xxxxxxxxxxxxxxxx\xa7options\x81"
                                "\xa8"
                                "compress\xc3\xa2id\xce\x00\x12\xd6\x87\xa3nsp\xa1/";

static void test_mp_encode(void)
{
	static const size_t lens[] = {0, 31, 32, 255, 256, 1024, 65535, 65536};
	uint8_t *out = malloc(mp_event_len(4, 70000));
	uint8_t *arg = malloc(70000);
	size_t n, id_at;

	if (!out || !arg) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	CHECK(memcmp(mp_connect_packet,
	             "\x83\xa4type\x00\xa4"
	             "data\xd4\x00\x00\xa3nsp\xa1/",
	             MP_CONNECT_LEN) == 0);
	memset(arg, 'x', 70000);
	n = mp_event_encode(out, "echo", 4, arg, 16, 1234567, &id_at);
	CHECK(n == sizeof(our_event) - 1 && n == mp_event_len(4, 16));
	CHECK(memcmp(out, our_event, sizeof(our_event) - 1) == 0);
	CHECK(id_at == 58 && out[id_at - 1] == 0xce);
	CHECK(n == sizeof(client_event) - 1 + 4); /* the same but for the id's width */

	/* string headers at their length boundaries; the packet reads back */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct mp_packet pk;
		uint8_t *exact;
		size_t at = 0;

		n = mp_event_encode(out, "echo", 4, arg, lens[i], 4000000000u, &id_at);
		CHECK(n == mp_event_len(4, lens[i]));
		exact = copy_exact(out, n);
		CHECK(mp_packet_parse(exact, n, &pk) == 0);
		CHECK(pk.type == 2 && pk.has_id && pk.id == 4000000000u);
		CHECK(pk.nsp && pk.nsp_len == 1 && pk.nsp[0] == '/');
		CHECK(pk.data && pk.data[0] == 0x92 && pk.data[1] == 0xa4);
		CHECK(mp_skip(pk.data, pk.data_len, &at) == 0 && at == pk.data_len);
		at = 6; /* past "echo": the argument's header */
		CHECK(pk.data[at] == (lens[i] < 32      ? 0xa0 | lens[i]
		                      : lens[i] < 256   ? 0xd9
		                      : lens[i] < 65536 ? 0xda
		                                        : 0xdb));
		free(exact);
	}
	free(out);
	free(arg);
}

struct mp_vector {
	int line;
	const char *in;
	size_t len;
	int want;     /* mp_packet_parse's return */
	int64_t type; /* when want == 0 */
	int has_id;
	uint64_t id;
	const char *nsp; /* NULL: absent */
	size_t data_len; /* 0: absent */
};

static const struct mp_vector mp_vectors[] = {
        /* sioc's and the reference's ack of the echo above (captured) */
        {__LINE__,
         S("\x84\xa2id\x00\xa4type\x03\xa4"
           "data\x91\xb0xxxxxxxxxxxxxxxx\xa3nsp\xa1/"),
         0, 3, 1, 0, "/", 18},
        /* the reference's CONNECT reply: {sid, pid: undefined} (captured) */
        {__LINE__,
         S("\x83\xa4type\x00\xa4"
           "data\x82\xa3sid\xb4"
           "6qnpBiCM_3fYwDBHAAAA\xa3pid\xd4\x00\x00"
           "\xa3nsp\xa1/"),
         0, 0, 0, 0, "/", 33},
        {__LINE__, S("\x82\xa4type\x01\xa3nsp\xa1/"), 0, 1, 0, 0, "/", 0},
        /* ids of every integer width; the map 16 form; keys in any order */
        {__LINE__, S("\x82\xa2id\xcc\xff\xa4type\x03"), 0, 3, 1, 255, NULL, 0},
        {__LINE__, S("\x82\xa2id\xcd\x01\x00\xa4type\x03"), 0, 3, 1, 256, NULL, 0},
        {__LINE__, S("\x82\xa2id\xce\x00\x12\xd6\x87\xa4type\x03"), 0, 3, 1, 1234567, NULL, 0},
        {__LINE__, S("\x82\xa2id\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa4type\x03"), 0, 3, 1,
         1ull << 32, NULL, 0},
        {__LINE__, S("\x82\xa2id\xd0\x05\xa4type\xd1\x00\x03"), 0, 3, 1, 5, NULL, 0},
        {__LINE__, S("\xde\x00\x01\xa4type\x03"), 0, 3, 0, 0, NULL, 0},
        {__LINE__, S("\x80"), 0, -1, 0, 0, NULL, 0},
        /* negative, non-integer or too large ids and types count as absent */
        {__LINE__, S("\x82\xa2id\xff\xa4type\xd0\xfe"), 0, -1, 0, 0, NULL, 0},
        {__LINE__,
         S("\x82\xa2id\xc0\xa4type\xa1"
           "3"),
         0, -1, 0, 0, NULL, 0},
        {__LINE__, S("\x81\xa2id\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), 0, -1, 0, 0, NULL, 0},
        {__LINE__, S("\x81\xa3nsp\x01"), 0, -1, 0, 0, NULL, 0},
        /* unknown keys of every other kind skipped */
        {__LINE__,
         S("\x88\xa1"
           "a\xc4\x01z\xa1"
           "b\xc7\x01\x05z\xa1"
           "c\xcb\x00\x00\x00\x00\x00\x00\x00\x00"
           "\xa1"
           "d\xca\x00\x00\x00\x00\xa1"
           "e\xd8\x01"
           "0123456789abcdef\xa1"
           "f\xdc\x00\x02\xc2\xc3\xa1"
           "g\xd9\x01z\xa4type\x03"),
         0, 3, 0, 0, NULL, 0},
        /* not a packet */
        {__LINE__, S(""), -1, 0, 0, 0, NULL, 0},
        {__LINE__, S("\x91\x03"), -1, 0, 0, 0, NULL, 0},     /* an array */
        {__LINE__, S("\x81\x01\x03"), -1, 0, 0, 0, NULL, 0}, /* a key not a string */
        {__LINE__,
         S("\x81\xa1"
           "a\xc1"),
         -1, 0, 0, 0, NULL, 0},                                      /* 0xc1 */
        {__LINE__, S("\x81\xa4type\x03\x00"), -1, 0, 0, 0, NULL, 0}, /* trailing bytes */
        {__LINE__,
         S("\x81\xa1"
           "a\xdd\xff\xff\xff\xff"),
         -1, 0, 0, 0, NULL, 0}, /* items missing */
        {__LINE__,
         S("\x81\xa1"
           "a\xdb\xff\xff\xff\xff"),
         -1, 0, 0, 0, NULL, 0}, /* bytes missing */
};

static void test_mp_parse(void)
{
	for (size_t i = 0; i < sizeof(mp_vectors) / sizeof(mp_vectors[0]); i++) {
		const struct mp_vector *v = &mp_vectors[i];
		uint8_t *buf = copy_exact(v->in, v->len);
		struct mp_packet pk;
		int r = mp_packet_parse(buf, v->len, &pk);

		check(r == v->want, v->line, "mp_packet_parse result");
		if (r == 0 && v->want == 0) {
			check(pk.type == v->type, v->line, "type");
			check(pk.has_id == (v->has_id != 0), v->line, "has_id");
			check(!v->has_id || pk.id == v->id, v->line, "id");
			check(v->nsp ? pk.nsp && pk.nsp_len == strlen(v->nsp) &&
			                       memcmp(pk.nsp, v->nsp, pk.nsp_len) == 0
			             : pk.nsp == NULL,
			      v->line, "nsp");
			check(pk.data_len == v->data_len && (pk.data != NULL) == (v->data_len != 0),
			      v->line, "data");
		}
		free(buf);
		/* every proper prefix of a packet is truncated */
		for (size_t k = 0; v->want == 0 && k < v->len; k++) {
			buf = copy_exact(v->in, k);
			check(mp_packet_parse(buf, k, &pk) == -1, v->line, "a prefix parsed");
			free(buf);
		}
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
	test_mp_encode();
	test_mp_parse();
	test_hist();
	printf("loadgen: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
