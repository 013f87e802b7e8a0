/*
 * Vectors for the Engine.IO v4 codec (protocol/eio_packet.c). Expected
 * results follow engine.io-parser 5.x, except that base64 is strict where
 * Node's Buffer.from(s, "base64") is lenient. Every input is copied into a
 * heap block of exactly its length, so that the sanitizers catch a read past
 * the length or a reliance on NUL termination.
 */
#include "protocol/eio_packet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string literal as (pointer, length); the literal may contain NULs. */
#define S(lit) lit, sizeof(lit) - 1

static int failures;
static int vectors;

/* Reports a failed check at line (of the vector, or of the check). */
static int check(int ok, int line, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: %s\n", __FILE__, line, what);
		failures++;
	}
	return ok;
}

#define CHECK(cond, line) check((cond) != 0, (line), #cond)

/* Returns a malloc'd copy of exactly len bytes (no terminator); exits on OOM. */
static uint8_t *copy_exact(const void *p, size_t len)
{
	uint8_t *b = malloc(len);

	if (!b && len > 0) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (len > 0)
		memcpy(b, p, len);
	return b;
}

static int bytes_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

struct expect {
	enum eio_packet_type type;
	bool binary;
	const char *data;
	size_t len;
};

/* clang-format off */
#define TEXT(t, lit)  { t, false, S(lit) }
#define BIN(lit)      { EIO_MESSAGE, true, S(lit) }
/* clang-format on */

static int packet_matches(const struct eio_packet *p, const struct expect *e)
{
	return p->type == e->type && p->binary == e->binary &&
	       bytes_equal(p->data, p->len, e->data, e->len);
}

/* eio_packet_decode */

struct decode_vector {
	int line;
	const char *in;
	size_t in_len;
	int result;
	struct expect want; /* when result is EIO_DECODE_OK */
};

/* clang-format off */
#define DEC_OK(in, t, data)  { __LINE__, S(in), EIO_DECODE_OK, TEXT(t, data) }
#define DEC_BIN(in, data)    { __LINE__, S(in), EIO_DECODE_OK, BIN(data) }
#define DEC_ERR(in)          { __LINE__, S(in), EIO_DECODE_ERROR, TEXT(EIO_OPEN, "") }

static const struct decode_vector decode_vectors[] = {
	DEC_OK("0", EIO_OPEN, ""),
	DEC_OK("0{\"sid\":\"x\"}", EIO_OPEN, "{\"sid\":\"x\"}"),
	DEC_OK("1", EIO_CLOSE, ""),
	DEC_OK("1bye", EIO_CLOSE, "bye"),
	DEC_OK("2", EIO_PING, ""),
	DEC_OK("2probe", EIO_PING, "probe"),
	DEC_OK("3", EIO_PONG, ""),
	DEC_OK("3probe", EIO_PONG, "probe"),
	DEC_OK("4", EIO_MESSAGE, ""),
	DEC_OK("4hello", EIO_MESSAGE, "hello"),
	DEC_OK("44", EIO_MESSAGE, "4"),
	DEC_OK("4b", EIO_MESSAGE, "b"),
	DEC_OK("4\0a\0", EIO_MESSAGE, "\0a\0"),
	DEC_OK("4\xe2\x82\xac", EIO_MESSAGE, "\xe2\x82\xac"),
	DEC_OK("5", EIO_UPGRADE, ""),
	DEC_OK("5x", EIO_UPGRADE, "x"),
	DEC_OK("6", EIO_NOOP, ""),
	DEC_OK("6x", EIO_NOOP, "x"),
	DEC_BIN("b", ""),
	DEC_BIN("bAA==", "\0"),
	DEC_BIN("bAA", "\0"),
	DEC_BIN("bAQID", "\x01\x02\x03"),
	DEC_BIN("bAQIDBA==", "\x01\x02\x03\x04"),
	DEC_BIN("bAQIDBA", "\x01\x02\x03\x04"),
	DEC_BIN("bAQIDBAU=", "\x01\x02\x03\x04\x05"),
	DEC_BIN("b/w==", "\xff"),
	DEC_BIN("b+/+/", "\xfb\xff\xbf"),
	DEC_BIN("bHh4e", "\x1e\x1e\x1e"),
	DEC_ERR(""),
	DEC_ERR("7"),
	DEC_ERR("7x"),
	DEC_ERR("8"),
	DEC_ERR("9"),
	DEC_ERR("x"),
	DEC_ERR("B"),
	DEC_ERR("/"),
	DEC_ERR(":"),
	DEC_ERR(" 4"),
	DEC_ERR("\0" "4"),
	DEC_ERR("\x1e"),
	DEC_ERR("\x1e" "4a"),
	DEC_ERR("\xff"),
	DEC_ERR("bA"),
	DEC_ERR("bA=="),
	DEC_ERR("bAA="),
	DEC_ERR("bAA=A"),
	DEC_ERR("bAQ=D"),
	DEC_ERR("b AQID"),
	DEC_ERR("bAQID\n"),
	DEC_ERR("b-_8"),
	DEC_ERR("bAQI\x1e"),
};
/* clang-format on */

static void test_packet_decode(void)
{
	size_t i;

	for (i = 0; i < sizeof(decode_vectors) / sizeof(decode_vectors[0]); i++) {
		const struct decode_vector *v = &decode_vectors[i];
		uint8_t *buf = copy_exact(v->in, v->in_len);
		struct eio_packet p;
		int r = eio_packet_decode(buf, v->in_len, &p);

		vectors++;
		if (check(r == v->result, v->line, "decode result") && r == EIO_DECODE_OK) {
			check(packet_matches(&p, &v->want), v->line, "decoded packet");
			check(p.len == 0 || p.data == buf + 1, v->line, "data points into buf");
		}
		free(buf);
	}

	/* Bytes after len are never looked at. */
	{
		uint8_t buf[] = "4abcdef";
		struct eio_packet p;

		vectors++;
		CHECK(eio_packet_decode(buf, 2, &p) == EIO_DECODE_OK, __LINE__);
		CHECK(p.type == EIO_MESSAGE && bytes_equal(p.data, p.len, "a", 1), __LINE__);
	}
	{
		uint8_t buf[] = "bAQID====";
		struct eio_packet p;

		vectors++;
		CHECK(eio_packet_decode(buf, 5, &p) == EIO_DECODE_OK, __LINE__);
		CHECK(p.binary && bytes_equal(p.data, p.len, "\x01\x02\x03", 3), __LINE__);
		CHECK(memcmp(buf + 5, "====", 4) == 0, __LINE__);
	}
}

/* eio_payload_next */

#define MAX_PACKETS 5

struct payload_vector {
	int line;
	const char *in;
	size_t in_len;
	size_t count; /* packets returned before the end */
	struct expect want[MAX_PACKETS];
	int last; /* 0 (exhausted) or EIO_DECODE_ERROR */
};

/* clang-format off */
#define PAY(in, n, last, ...) { __LINE__, S(in), n, { __VA_ARGS__ }, last }
#define NONE TEXT(EIO_OPEN, "") /* fills want[] when no packet is expected */

static const struct payload_vector payload_vectors[] = {
	PAY("4hello", 1, 0, TEXT(EIO_MESSAGE, "hello")),
	PAY("2", 1, 0, TEXT(EIO_PING, "")),
	PAY("4a\x1e" "4b", 2, 0, TEXT(EIO_MESSAGE, "a"), TEXT(EIO_MESSAGE, "b")),
	PAY("4\x1e" "4", 2, 0, TEXT(EIO_MESSAGE, ""), TEXT(EIO_MESSAGE, "")),
	PAY("2\x1e" "3\x1e" "4x\x1e" "6\x1e" "1", 5, 0, TEXT(EIO_PING, ""),
	    TEXT(EIO_PONG, ""), TEXT(EIO_MESSAGE, "x"), TEXT(EIO_NOOP, ""), TEXT(EIO_CLOSE, "")),
	PAY("4a\x1e" "bAQID\x1e" "4b", 3, 0, TEXT(EIO_MESSAGE, "a"), BIN("\x01\x02\x03"),
	    TEXT(EIO_MESSAGE, "b")),
	PAY("bAQ==\x1e" "4b", 2, 0, BIN("\x01"), TEXT(EIO_MESSAGE, "b")),
	PAY("bHh4e\x1e" "4z", 2, 0, BIN("\x1e\x1e\x1e"), TEXT(EIO_MESSAGE, "z")),
	PAY("4z\x1e" "bHh4e", 2, 0, TEXT(EIO_MESSAGE, "z"), BIN("\x1e\x1e\x1e")),
	PAY("b\x1e" "b", 2, 0, BIN(""), BIN("")),
	PAY("4\0\x1e" "4\0", 2, 0, TEXT(EIO_MESSAGE, "\0"), TEXT(EIO_MESSAGE, "\0")),
	PAY("", 0, EIO_DECODE_ERROR, NONE),
	PAY("\x1e", 0, EIO_DECODE_ERROR, NONE),
	PAY("\x1e\x1e", 0, EIO_DECODE_ERROR, NONE),
	PAY("\x1e" "4a", 0, EIO_DECODE_ERROR, NONE),
	PAY("4a\x1e", 1, EIO_DECODE_ERROR, TEXT(EIO_MESSAGE, "a")),
	PAY("4a\x1e\x1e" "4b", 1, EIO_DECODE_ERROR, TEXT(EIO_MESSAGE, "a")),
	PAY("4a\x1e" "7", 1, EIO_DECODE_ERROR, TEXT(EIO_MESSAGE, "a")),
	PAY("4a\x1e" "x\x1e" "4b", 1, EIO_DECODE_ERROR, TEXT(EIO_MESSAGE, "a")),
	PAY("4a\x1e" "b!!!!\x1e" "4b", 1, EIO_DECODE_ERROR, TEXT(EIO_MESSAGE, "a")),
	PAY("bA\x1e" "4b", 0, EIO_DECODE_ERROR, NONE),
	PAY("7\x1e" "4b", 0, EIO_DECODE_ERROR, NONE),
};
/* clang-format on */

static void test_payload_next(void)
{
	size_t i;

	for (i = 0; i < sizeof(payload_vectors) / sizeof(payload_vectors[0]); i++) {
		const struct payload_vector *v = &payload_vectors[i];
		uint8_t *buf = copy_exact(v->in, v->in_len);
		struct eio_packet p;
		size_t pos = 0;
		size_t k;
		int r = 1;

		vectors++;
		for (k = 0; k < v->count; k++) {
			r = eio_payload_next(buf, v->in_len, &pos, &p);
			if (!check(r == 1, v->line, "payload packet expected"))
				break;
			check(packet_matches(&p, &v->want[k]), v->line, "payload packet");
			check(p.len == 0 || (p.data >= buf && p.data + p.len <= buf + v->in_len),
			      v->line, "data points into buf");
		}
		if (r != 1) {
			free(buf);
			continue;
		}
		r = eio_payload_next(buf, v->in_len, &pos, &p);
		check(r == v->last, v->line, "payload end");
		if (r == 0)
			check(eio_payload_next(buf, v->in_len, &pos, &p) == 0, v->line,
			      "payload stays exhausted");
		free(buf);
	}
}

/* eio_base64_encode / eio_base64_decode */

struct base64_vector {
	int line;
	const char *text;
	size_t text_len;
	long result; /* decoded length, or -1 */
	const char *bytes;
	size_t bytes_len;
	bool canonical; /* encoding bytes gives text back */
};

/* clang-format off */
#define B64(t, b)       { __LINE__, S(t), sizeof(b) - 1, S(b), true }
#define B64_LAX(t, b)   { __LINE__, S(t), sizeof(b) - 1, S(b), false }
#define B64_ERR(t)      { __LINE__, S(t), -1, S(""), false }

static const struct base64_vector base64_vectors[] = {
	/* RFC 4648 section 10 */
	B64("", ""),
	B64("Zg==", "f"),
	B64("Zm8=", "fo"),
	B64("Zm9v", "foo"),
	B64("Zm9vYg==", "foob"),
	B64("Zm9vYmE=", "fooba"),
	B64("Zm9vYmFy", "foobar"),
	B64("AA==", "\0"),
	B64("AAAA", "\0\0\0"),
	B64("+/+/", "\xfb\xff\xbf"),
	B64("/w==", "\xff"),
	B64("AB7/gA==", "\x00\x1e\xff\x80"),
	/* padding is optional */
	B64_LAX("Zg", "f"),
	B64_LAX("Zm8", "fo"),
	B64_LAX("Zm9vYg", "foob"),
	B64_LAX("Zm9vYmE", "fooba"),
	/* unused low bits are ignored, as by Node */
	B64_LAX("Zh==", "f"),
	B64_LAX("Zm9=", "fo"),
	/* bad characters */
	B64_ERR("Zm9-"),
	B64_ERR("Zm9_"),
	B64_ERR("-_8"),
	B64_ERR("Zm9 v"),
	B64_ERR(" Zm9v"),
	B64_ERR("Zm9v "),
	B64_ERR("Zm9v\n"),
	B64_ERR("Zm\r\n9v"),
	B64_ERR("Zm9\tv"),
	B64_ERR("Zm9v\0"),
	B64_ERR("Zm\0v"),
	B64_ERR("Zm\x80v"),
	B64_ERR("Zm9\xff"),
	B64_ERR("Zm9."),
	B64_ERR("Zm9v\x1e"),
	/* length 1 mod 4 */
	B64_ERR("Z"),
	B64_ERR("Zm9vY"),
	B64_ERR("Zm9vYmFyZ"),
	/* bad padding */
	B64_ERR("="),
	B64_ERR("=="),
	B64_ERR("==="),
	B64_ERR("===="),
	B64_ERR("Z="),
	B64_ERR("Z=="),
	B64_ERR("Z==="),
	B64_ERR("Zg="),
	B64_ERR("Zg==="),
	B64_ERR("Zg===="),
	B64_ERR("Zm8=="),
	B64_ERR("Zm9v="),
	B64_ERR("Zm9v=="),
	B64_ERR("Zm9v===="),
	/* '=' in the middle */
	B64_ERR("Zm=v"),
	B64_ERR("Z=9v"),
	B64_ERR("=m9v"),
	B64_ERR("Zg==Zg=="),
	B64_ERR("Zg==Zm9v"),
	B64_ERR("Zm9=Zm9v"),
	B64_ERR("Zg=a"),
};
/* clang-format on */

static void test_base64_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(base64_vectors) / sizeof(base64_vectors[0]); i++) {
		const struct base64_vector *v = &base64_vectors[i];
		uint8_t *in = copy_exact(v->text, v->text_len);
		uint8_t out[64];
		long r;

		vectors++;
		memset(out, 0xaa, sizeof(out));
		r = eio_base64_decode((const char *)in, v->text_len, out);
		if (check(r == v->result, v->line, "base64 decode result") && r >= 0) {
			check(bytes_equal(out, (size_t)r, v->bytes, v->bytes_len), v->line,
			      "base64 decoded bytes");
			check(out[r] == 0xaa, v->line, "base64 decode wrote past its result");
		}
		/* the same in place */
		r = eio_base64_decode((const char *)in, v->text_len, in);
		if (check(r == v->result, v->line, "in-place base64 decode result") && r >= 0)
			check(bytes_equal(in, (size_t)r, v->bytes, v->bytes_len), v->line,
			      "in-place base64 decoded bytes");
		free(in);

		if (v->canonical) {
			uint8_t *b = copy_exact(v->bytes, v->bytes_len);
			char text[64];
			size_t n;

			memset(text, 0x55, sizeof(text));
			n = eio_base64_encode(b, v->bytes_len, text);
			check(n == eio_base64_encoded_len(v->bytes_len), v->line,
			      "base64 encode count");
			check(bytes_equal(text, n, v->text, v->text_len), v->line,
			      "base64 encoded text");
			check(text[n] == 0x55, v->line, "base64 encode wrote past its count");
			free(b);
		}
	}
}

/* Encode then decode (padded, unpadded, in place) for every length 0..70. */
static void test_base64_round_trips(void)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t seed = 0x12345678;
	size_t n;

	for (n = 0; n <= 70; n++) {
		uint8_t data[70];
		char text[100];
		uint8_t back[100];
		uint8_t *copy;
		size_t enc_len;
		size_t pad;
		size_t i;
		long r;
		int failures_before = failures;

		vectors++;
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			data[i] = (uint8_t)(seed >> 16);
		}
		if (n > 2) { /* make sure the extreme byte values show up */
			data[0] = 0x00;
			data[n - 1] = 0xff;
		}

		enc_len = eio_base64_encode(data, n, text);
		CHECK(enc_len == eio_base64_encoded_len(n), __LINE__);
		CHECK(enc_len == (n + 2) / 3 * 4, __LINE__);
		pad = (3 - n % 3) % 3;
		for (i = 0; i < enc_len; i++) {
			if (i >= enc_len - pad)
				CHECK(text[i] == '=', __LINE__);
			else
				CHECK(text[i] != '\0' && strchr(alphabet, text[i]) != NULL,
				      __LINE__);
		}

		copy = copy_exact(text, enc_len);
		r = eio_base64_decode((const char *)copy, enc_len, back);
		CHECK(r == (long)n && bytes_equal(back, n, data, n), __LINE__);
		r = eio_base64_decode((const char *)copy, enc_len - pad, back);
		CHECK(r == (long)n && bytes_equal(back, n, data, n), __LINE__);
		free(copy);

		copy = copy_exact(text, enc_len - pad);
		r = eio_base64_decode((const char *)copy, enc_len - pad, copy);
		CHECK(r == (long)n && bytes_equal(copy, n, data, n), __LINE__);
		free(copy);

		if (pad == 2) { /* one '=' short of two */
			copy = copy_exact(text, enc_len - 1);
			r = eio_base64_decode((const char *)copy, enc_len - 1, back);
			CHECK(r == -1, __LINE__);
			free(copy);
		}
		if (failures != failures_before)
			fprintf(stderr, "%s: (the failures above are for length %zu)\n", __FILE__,
			        n);
	}
}

/* eio_packet_payload_len / eio_packet_payload_write */

struct write_vector {
	int line;
	enum eio_packet_type type;
	bool binary;
	const char *data;
	size_t len;
	const char *want;
	size_t want_len;
};

/* clang-format off */
#define WR(t, bin, data, want) { __LINE__, t, bin, S(data), S(want) }

static const struct write_vector write_vectors[] = {
	WR(EIO_OPEN, false, "{\"sid\":\"x\"}", "0{\"sid\":\"x\"}"),
	WR(EIO_CLOSE, false, "", "1"),
	WR(EIO_PING, false, "", "2"),
	WR(EIO_PING, false, "probe", "2probe"),
	WR(EIO_PONG, false, "probe", "3probe"),
	WR(EIO_MESSAGE, false, "", "4"),
	WR(EIO_MESSAGE, false, "hello", "4hello"),
	WR(EIO_MESSAGE, false, "\0\xe2\x82\xac", "4\0\xe2\x82\xac"),
	WR(EIO_UPGRADE, false, "", "5"),
	WR(EIO_NOOP, false, "", "6"),
	WR(EIO_MESSAGE, true, "", "b"),
	WR(EIO_MESSAGE, true, "\x01\x02\x03", "bAQID"),
	WR(EIO_MESSAGE, true, "\x01\x02\x03\x04", "bAQIDBA=="),
	WR(EIO_MESSAGE, true, "\xff", "b/w=="),
	WR(EIO_MESSAGE, true, "\x1e\x1e\x1e", "bHh4e"),
	WR(EIO_MESSAGE, true, "foobar", "bZm9vYmFy"),
};
/* clang-format on */

static void test_payload_write(void)
{
	size_t i;

	for (i = 0; i < sizeof(write_vectors) / sizeof(write_vectors[0]); i++) {
		const struct write_vector *v = &write_vectors[i];
		uint8_t *data = copy_exact(v->data, v->len);
		uint8_t out[64];
		struct eio_packet p;
		size_t len = eio_packet_payload_len(v->type, v->binary, v->len);
		size_t n;

		vectors++;
		memset(out, 0xaa, sizeof(out));
		n = eio_packet_payload_write(v->type, v->binary, data, v->len, out);
		check(len == v->want_len, v->line, "payload_len");
		check(n == len, v->line, "payload_write count");
		check(bytes_equal(out, n, v->want, v->want_len), v->line, "payload_write bytes");
		check(out[n] == 0xaa, v->line, "payload_write wrote past its count");

		/* and back */
		if (check(eio_packet_decode(out, n, &p) == EIO_DECODE_OK, v->line,
		          "written packet decodes")) {
			check(p.type == v->type && p.binary == v->binary, v->line,
			      "written packet type");
			check(bytes_equal(p.data, p.len, v->data, v->len), v->line,
			      "written packet data");
		}
		free(data);
	}
}

/* eio_open_json */

struct open_vector {
	int line;
	const char *sid;
	bool upgrade;
	uint32_t ping_interval;
	uint32_t ping_timeout;
	uint64_t max_payload;
	const char *want;
};

/* clang-format off */
static const struct open_vector open_vectors[] = {
	{ __LINE__, "abc_-9", true, 25000, 20000, 1000000,
	  "{\"sid\":\"abc_-9\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
	  "\"pingTimeout\":20000,\"maxPayload\":1000000}" },
	{ __LINE__, "abc_-9", false, 25000, 20000, 1000000,
	  "{\"sid\":\"abc_-9\",\"upgrades\":[],\"pingInterval\":25000,"
	  "\"pingTimeout\":20000,\"maxPayload\":1000000}" },
	{ __LINE__, "", false, 0, 0, 0,
	  "{\"sid\":\"\",\"upgrades\":[],\"pingInterval\":0,\"pingTimeout\":0,"
	  "\"maxPayload\":0}" },
	{ __LINE__, "Xp1nGtTV2KOcONquAAAB", true, UINT32_MAX, 1, UINT64_MAX,
	  "{\"sid\":\"Xp1nGtTV2KOcONquAAAB\",\"upgrades\":[\"websocket\"],"
	  "\"pingInterval\":4294967295,\"pingTimeout\":1,"
	  "\"maxPayload\":18446744073709551615}" },
};
/* clang-format on */

static void test_open_json(void)
{
	size_t i;

	for (i = 0; i < sizeof(open_vectors) / sizeof(open_vectors[0]); i++) {
		const struct open_vector *v = &open_vectors[i];
		size_t want_len = strlen(v->want);
		char out[256];
		int r;

		vectors++;
		memset(out, 0x55, sizeof(out));
		r = eio_open_json(out, sizeof(out), v->sid, v->upgrade, v->ping_interval,
		                  v->ping_timeout, v->max_payload);
		if (check(r == (int)want_len, v->line, "open json length"))
			check(memcmp(out, v->want, want_len + 1) == 0, v->line, "open json text");

		/* exactly enough room, then one byte too little */
		memset(out, 0x55, sizeof(out));
		r = eio_open_json(out, want_len + 1, v->sid, v->upgrade, v->ping_interval,
		                  v->ping_timeout, v->max_payload);
		check(r == (int)want_len, v->line, "open json with exact cap");
		check(out[want_len + 1] == 0x55, v->line, "open json wrote past cap");
		memset(out, 0x55, sizeof(out));
		r = eio_open_json(out, want_len, v->sid, v->upgrade, v->ping_interval,
		                  v->ping_timeout, v->max_payload);
		check(r == -1, v->line, "open json with cap one short");
		check(out[want_len] == 0x55, v->line, "open json wrote past cap");
		check(eio_open_json(out, 1, v->sid, v->upgrade, v->ping_interval, v->ping_timeout,
		                    v->max_payload) == -1,
		      v->line, "open json with cap 1");
		check(eio_open_json(out, 0, v->sid, v->upgrade, v->ping_interval, v->ping_timeout,
		                    v->max_payload) == -1,
		      v->line, "open json with cap 0");
	}
}

int main(void)
{
	test_packet_decode();
	test_payload_next();
	test_base64_vectors();
	test_base64_round_trips();
	test_payload_write();
	test_open_json();

	printf("eio_packet: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
