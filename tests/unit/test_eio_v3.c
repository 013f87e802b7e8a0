/*
 * Vectors for the Engine.IO v3 polling codec (protocol/eio_v3.c). The
 * expected results are the reference's: tests/unit/eio_v3_vectors.js ran
 * them through engine.io 6.6's parser-v3 and polling/JSONP transports, and
 * its rows are pasted here. Where the codec departs from the reference
 * (eio_v3.h says where), the row is changed by hand and says so. Every
 * input is copied into a heap block of exactly its length, so that the
 * sanitizers catch a read past the length.
 */
#include "protocol/eio_v3.h"

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
	uint8_t *b = malloc(len ? len : 1);

	if (!b) {
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

/* A packet expected, or the end of a list: END (the payload is exhausted),
 * ERR (EIO_DECODE_ERROR), or STOP (after a close packet the reference reads
 * no further, and neither does the caller). */
struct expect {
	int type; /* enum eio_packet_type, or one of the two below */
	bool binary;
	const char *data;
	size_t len;
};

#define END_OF_LIST -1
#define ERR_AT_END -2
#define STOP_AT_CLOSE -3
#define MAX_PACKETS 6

/* clang-format off */
#define P(t, lit) { t, false, S(lit) }
#define B(t, lit) { t, true, S(lit) }
#define END       { END_OF_LIST, false, S("") }
#define ERR       { ERR_AT_END, false, S("") }
#define STOP      { STOP_AT_CLOSE, false, S("") }
/* clang-format on */

static int packet_matches(const struct eio_packet *p, const struct expect *e)
{
	return (int)p->type == e->type && p->binary == e->binary &&
	       bytes_equal(p->data, p->len, e->data, e->len);
}

typedef int (*payload_next_fn)(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

/* Iterates buf[0..len) with next and checks the packets and the end
 * against want[] (a list closed by END or ERR). */
static void check_iteration(payload_next_fn next, uint8_t *buf, size_t len,
                            const struct expect *want, int line)
{
	struct eio_packet p;
	size_t pos = 0;
	int k, r;

	for (k = 0; k < MAX_PACKETS && want[k].type >= 0; k++) {
		size_t before = pos;

		r = next(buf, len, &pos, &p);
		if (!check(r == 1, line, "a packet expected"))
			return;
		check(packet_matches(&p, &want[k]), line, "packet");
		check(p.len == 0 || (p.data >= buf && p.data + p.len <= buf + len), line,
		      "data points into buf");
		check(pos > before && pos <= len, line, "pos moves on");
	}
	if (want[k].type == STOP_AT_CLOSE)
		return;
	r = next(buf, len, &pos, &p);
	if (want[k].type == END_OF_LIST) {
		check(r == 0, line, "payload end expected");
		check(pos == len, line, "pos at the end");
		check(next(buf, len, &pos, &p) == 0, line, "payload stays exhausted");
	} else {
		check(r == EIO_DECODE_ERROR, line, "error expected");
	}
}

/* eio3_payload_next */

struct payload_vector {
	int line;
	const char *in;
	size_t in_len;
	struct expect want[MAX_PACKETS + 1];
};

/* clang-format off */
#define TXT(in, ...) { __LINE__, S(in), { __VA_ARGS__ } }
#define BIN TXT

static const struct payload_vector text_vectors[] = {
	TXT("", ERR),
	TXT("0:", END),
	TXT(":", ERR),
	TXT("::", ERR),
	TXT("0::", ERR),
	TXT("2:4a", P(4, "a"), END),
	TXT("2:4a2:4b", P(4, "a"), P(4, "b"), END),
	TXT("1:2", P(2, ""), END),
	TXT("1:3", P(3, ""), END),
	TXT("6:2probe", P(2, "probe"), END),
	TXT("1:6", P(6, ""), END),
	TXT("3:4a", ERR),
	TXT("1:4a", P(4, ""), ERR),
	TXT("2:4a2", P(4, "a"), ERR),
	TXT("2:4a:", P(4, "a"), ERR),
	TXT("2:4ax", P(4, "a"), ERR),
	TXT("2:4a1:", P(4, "a"), ERR),
	TXT("2:4a0:", P(4, "a"), END),
	TXT("0:0:", END),
	TXT("0:2:4a", P(4, "a"), END),
	TXT("2:7a", ERR),
	TXT("2:8a", ERR),
	TXT("1:x", ERR),
	TXT("1: ", ERR),
	TXT("1:b", END),
	TXT("2:bx", END),
	TXT("2:b7", END),
	TXT("2:b4", B(4, ""), END),
	TXT("6:b4AQID", B(4, "\x01\x02\x03"), END),
	TXT("10:b4AQIDBA==", B(4, "\x01\x02\x03\x04"), END),
	TXT("4:bxAA", END),
	TXT("6:b4AQID2:4a", B(4, "\x01\x02\x03"), P(4, "a"), END),
	TXT("6:b2AQID", B(2, "\x01\x02\x03"), END),
	TXT("2:b1", B(1, ""), STOP),
	/* departure: strict base64 (the reference's Buffer.from() reads "AQ=D" as 01) */
	TXT("6:b4AQ=D", ERR),
	TXT("6:b4AQI=", B(4, "\x01\x02"), END),
	TXT("2:4\xe2\x82\xac", P(4, "\xe2\x82\xac"), END),
	TXT("4:4\xe2\x82\xac", ERR),
	TXT("3:4\xf0\x9f\x98\x80", P(4, "\xf0\x9f\x98\x80"), END),
	/* departure: the reference delivers "4\ud83d" (the pair cut), then fails */
	TXT("2:4\xf0\x9f\x98\x80", ERR),
	TXT("5:4h\xe2\x82\xac\xf0\x9f\x98\x80", P(4, "h\xe2\x82\xac\xf0\x9f\x98\x80"), END),
	TXT("4:4\xf0\x9f\x98\x80x", P(4, "\xf0\x9f\x98\x80x"), END),
	TXT("3:4\xc3\xa9", ERR),
	TXT("2:4\xc3\xa9", P(4, "\xc3\xa9"), END),
	TXT("02:4a", P(4, "a"), END),
	TXT("002:4a", P(4, "a"), END),
	TXT("0x2:4a", P(4, "a"), END),
	TXT("0X2:4a", P(4, "a"), END),
	TXT("0b10:4a", P(4, "a"), END),
	TXT("0o2:4a", P(4, "a"), END),
	TXT("0x:4a", ERR),
	TXT("0x0:", END),
	TXT("00x2:4a", ERR),
	TXT("2.0:4a", P(4, "a"), END),
	TXT("2.:4a", P(4, "a"), END),
	TXT(".2e1:4a", P(4, "a"), END),
	TXT("0.2e1:4a", P(4, "a"), END),
	TXT("2e0:4a", P(4, "a"), END),
	TXT("20e-1:4a", P(4, "a"), END),
	TXT("2.5:4a", ERR),
	TXT("2e:4a", ERR),
	TXT("+2:4a", P(4, "a"), END),
	TXT("-2:4a", ERR),
	TXT("-0:", END),
	TXT("+0:", END),
	TXT("-0x2:4a", ERR),
	TXT("--2:4a", ERR),
	TXT("1e-400:", END),
	TXT("-1e-400:", END),
	TXT("Infinity:4a", ERR),
	TXT("-Infinity:", ERR),
	TXT("infinity:4a", ERR),
	TXT("NaN:4a", ERR),
	TXT(" 2:4a", P(4, "a"), END),
	TXT("2 :4a", P(4, "a"), END),
	TXT(" 2 :4a", P(4, "a"), END),
	TXT("\x09" "2\x0a:4a", P(4, "a"), END),
	TXT("2\x0d\x0a:4a", P(4, "a"), END),
	TXT(" :", END),
	TXT("\xc2\xa0" "2:4a", P(4, "a"), END),
	TXT("2\xef\xbb\xbf:4a", P(4, "a"), END),
	TXT("\xe2\x80\xa8" "2:4a", P(4, "a"), END),
	TXT("\xe1\xa0\x8e" "2:4a", ERR),
	TXT("2\xe3\x80\x80:4a", P(4, "a"), END),
	TXT("\xef\xbb\xbf" "2:4a", P(4, "a"), END),
	TXT(" 2 2:4a", ERR),
	TXT("2 x:4a", ERR),
	TXT("1.9999999999999999:4a", P(4, "a"), END),
	TXT("2.0000000000000001:4a", P(4, "a"), END),
	TXT("2.000000000000001:4a", ERR),
	TXT("99999999999999999999:4a", ERR),
	TXT("18446744073709551617:4a", ERR),
	TXT("18446744073709551618:4a", ERR),
	TXT("4294967298:4a", ERR),
	TXT("9007199254740994:4a", ERR),
	TXT("9007199254740993:4a", ERR),
	TXT("0x10000000000000002:4a", ERR),
	TXT("1e400:", ERR),
	TXT("1e20:4a", ERR),
	TXT("1:1garbage", P(1, ""), STOP),
	TXT("1:1", P(1, ""), STOP),
	TXT("2:4a1:12:4b", P(4, "a"), P(1, ""), STOP),
	TXT("\xff" "2:4a", ERR),
	/* Node reads each bad sequence as one U+FFFD, which the lengths count;
	 * departure: the bytes stay as they are (the caller refuses them) */
	TXT("2:4\xff", P(4, "\xff"), END),
	TXT("3:4\xff\xfe", P(4, "\xff\xfe"), END),
	TXT("2:4\xe2\x82", P(4, "\xe2\x82"), END),
	TXT("3:4\xe2\x82", ERR),
	TXT("2:4\xf0\x9f\x98", P(4, "\xf0\x9f\x98"), END),
	TXT("4:4\xed\xa0\x80", P(4, "\xed\xa0\x80"), END),
	TXT("2:4\xed\xa0\x80", P(4, "\xed"), ERR),
	TXT("2:4\xe2\x82" "1:6", P(4, "\xe2\x82"), P(6, ""), END),
	/* by hand, checked with the reference: lengths with many digits */
	TXT("0000000000000000000000000000000000000000000000000000000000000000002:4a", P(4, "a"), END),
	TXT("2.000000000000000000000000000000000000000000000000000000000000000000:4a", P(4, "a"), END),
	TXT("0x0000000000000000000000000000000000000000000000000000000000000000002:4a",
	    P(4, "a"), END),
};

static const struct payload_vector binary_vectors[] = {
	BIN("", END),
	BIN("\x00\x02\xff" "4a", P(4, "a"), END),
	BIN("\x00\x03\xff" "4a", P(4, "a"), END),
	BIN("\x00\x01\xff" "4a", ERR),
	BIN("\x00\x01\xff" "4", P(4, ""), END),
	BIN("\x00\x01\xff" "2", P(2, ""), END),
	BIN("\x01\x02\xff\x04\x09", B(4, "\x09"), END),
	BIN("\x01\x04\xff\x04\x01\x02\x03", B(4, "\x01\x02\x03"), END),
	BIN("\x02\x02\xff\x04\x09", B(4, "\x09"), END),
	BIN("\xff\x02\xff\x04\x09", B(4, "\x09"), END),
	BIN("\x01\x01\xff\x04", B(4, ""), END),
	BIN("\x01\x01\xff\x02", B(2, ""), END),
	BIN("\x01\x01\xff\x01", B(1, ""), END),
	BIN("\x01\x01\xff\x07", END),
	BIN("\x01\x01\xff\xff", END),
	BIN("\x01\x00\xff", END),
	BIN("\x00\x00\xff", ERR),
	BIN("\x00\xff", ERR),
	BIN("\x01\xff", ERR),
	BIN("\x00\xff\xff", ERR),
	BIN("\x01\xff\x00\x01\xff" "4", END),
	BIN("\x00\x00\x02\xff" "4a", P(4, "a"), END),
	BIN("\x00\x00\x00\x00\x02\xff" "4a", P(4, "a"), END),
	BIN("\x00\x0c\xff" "4abc", ERR),
	BIN("\x01\x0c\xff\x09\x09\x04\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d", ERR),
	BIN("\x00\x01\x00\xff" "4abcdefghi", P(4, "abcdefghi"), END),
	BIN("\x00\x02\xff" "4a\x00\x02\xff" "4b", P(4, "a"), P(4, "b"), END),
	BIN("\x01\x02\xff\x04\x09\x00\x02\xff" "4b", B(4, "\x09"), P(4, "b"), END),
	BIN("\x00\x02\xff" "4a\x00", ERR),
	BIN("\x00\x02\xff" "4a\x00\x02", ERR),
	BIN("\x00\x02\xff" "4a\x07", ERR),
	BIN("\x00\x02\xff" "4a\x01\x01\x01\x01", ERR),
	BIN("\x00\x09\x09\xff" "4", P(4, ""), END),
	BIN("\x00\x09\xff" "4a", P(4, "a"), END),
	BIN("\x00\x02\xff" "7a", ERR),
	BIN("\x00\x02\xff" "aa", ERR),
	BIN("\x00\x02\xff" "4a\x00\x02\xff" "7a\x00\x02\xff" "4b", P(4, "a"), ERR),
	BIN("\x00\x02\xff" "4\xff", ERR),
	BIN("\x00\x02\xff" "4\x80", ERR),
	BIN("\x00\x03\xff" "4\xc0\x80", ERR),
	BIN("\x00\x03\xff" "4\xc3\xa9", P(4, "\xc3\xa9"), END),
	BIN("\x00\x02\xff" "4\xc3", ERR),
	BIN("\x00\x04\xff" "4\xe2\x82\xac", P(4, "\xe2\x82\xac"), END),
	BIN("\x00\x04\xff" "4\xe0\x80\x80", ERR),
	BIN("\x00\x04\xff" "4\xed\x9f\xbf", P(4, "\xed\x9f\xbf"), END),
	/* utf8.js reads an encoded surrogate as U+FFFD */
	BIN("\x00\x04\xff" "4\xed\xa0\x80", P(4, "\xef\xbf\xbd"), END),
	BIN("\x00\x04\xff" "4\xed\xbf\xbf", P(4, "\xef\xbf\xbd"), END),
	BIN("\x00\x05\xff" "4\xf0\x9f\x98\x80", P(4, "\xf0\x9f\x98\x80"), END),
	BIN("\x00\x05\xff" "4\xf0\x8f\xbf\xbf", ERR),
	BIN("\x00\x05\xff" "4\xf4\x90\x80\x80", ERR),
	BIN("\x00\x05\xff" "4\xf5\x80\x80\x80", ERR),
	BIN("\x00\x05\xff" "4\xf8\x80\x80\x80", ERR),
	/* departure: strict base64 ("AQ=" and "A" read as 01 and nothing by the reference) */
	BIN("\x00\x05\xff" "b4AQ=", ERR),
	BIN("\x00\x06\xff" "b4AQ==", B(4, "\x01"), END),
	BIN("\x00\x06\xff" "b4AQID", B(4, "\x01\x02\x03"), END),
	BIN("\x00\x02\xff" "bx", END),
	BIN("\x00\x01\xff" "b", END),
	BIN("\x00\x02\xff" "b4", B(4, ""), END),
	BIN("\x00\x03\xff" "b2A", ERR),
	BIN("\x00\x02\xff" "1a", P(1, "a"), END),
	BIN("\x00\x02\xff" "4a\x00\x01\xff" "1\x00\x02\xff" "4b", P(4, "a"), P(1, ""), P(4, "b"), END),
	BIN("\x00" "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\xff" "4", ERR),
	BIN("\x00" "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\xff" "4", ERR),
};
/* clang-format on */

static void test_payloads(const struct payload_vector *v, size_t n, payload_next_fn next)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = copy_exact(v[i].in, v[i].in_len);

		vectors++;
		check_iteration(next, buf, v[i].in_len, v[i].want, v[i].line);
		free(buf);
	}
}

/* A length token of many characters, built here: the reference takes it
 * whole to Number() (or, in a binary payload, gives up past 310
 * characters). */
struct long_vector {
	int line;
	const char *head; /* before the repeated part */
	char repeat;      /* repeated count times */
	size_t count;
	const char *tail; /* after it */
	size_t tail_len;
	bool binary; /* an XHR2 payload */
	struct expect want[MAX_PACKETS + 1];
};

#define HALF "1.00000000000000011102230246251565404236316680908203125"

/* clang-format off */
static const struct long_vector long_vectors[] = {
	{ __LINE__, "2.", '0', 1000, S("1:4a"), false, { P(4, "a"), END } },
	{ __LINE__, "", '0', 5000, S("2:4a"), false, { P(4, "a"), END } },
	{ __LINE__, "1", '0', 800, S("e-800:4"), false, { P(4, ""), END } },
	{ __LINE__, "0.", '0', 400, S("1e401:4"), false, { P(4, ""), END } },
	{ __LINE__, "", '9', 800, S("e-800:4"), false, { P(4, ""), END } },
	/* halfway between 1 and the next double: to even, 1; anything more
	 * however far down rounds up, and 1 + 2^-52 is no length */
	{ __LINE__, HALF, '0', 800, S(":4"), false, { P(4, ""), END } },
	{ __LINE__, HALF, '0', 800, S("1:4"), false, { ERR } },
	{ __LINE__, "0.", '0', 100, S("1e101:4"), false, { P(4, ""), END } },
	{ __LINE__, "", ' ', 10000, S("2:4a"), false, { P(4, "a"), END } },
	{ __LINE__, "2:4a", '1', 10000, S(""), false, { P(4, "a"), ERR } },
	/* 310 length characters and one more are read, not two more */
	{ __LINE__, "\x00", 1, 310, S("\xff" "4"), true, { P(4, ""), END } },
	{ __LINE__, "\x00", 1, 311, S("\xff" "4"), true, { P(4, ""), END } },
	{ __LINE__, "\x00", 1, 312, S("\xff" "4"), true, { ERR } },
	{ __LINE__, "\x00\x02\xff" "4a\x01", 1, 400, S(""), true, { ERR } },
};
/* clang-format on */

static void test_long_lengths(void)
{
	for (size_t i = 0; i < sizeof(long_vectors) / sizeof(long_vectors[0]); i++) {
		const struct long_vector *v = &long_vectors[i];
		size_t head =
		        v->binary && v->head[0] == 0 ? 1 + strlen(v->head + 1) : strlen(v->head);
		size_t len = head + v->count + v->tail_len;
		uint8_t *buf = malloc(len);

		if (!buf)
			exit(2);
		vectors++;
		memcpy(buf, v->head, head);
		memset(buf + head, v->repeat, v->count);
		memcpy(buf + head + v->count, v->tail, v->tail_len);
		check_iteration(v->binary ? eio3_binary_payload_next : eio3_payload_next, buf, len,
		                v->want, v->line);
		free(buf);
	}
}

/* The in-place decoding leaves the bytes after a packet alone, and the
 * iterators look at nothing past len. */
static void test_bounds(void)
{
	uint8_t text[] = "6:b4AQID2:4a";
	uint8_t bin[] = "\x00\x02\xff"
	                "4a\x00\x02\xff"
	                "4b";
	struct eio_packet p;
	size_t pos = 0;

	vectors++;
	CHECK(eio3_payload_next(text, 8, &pos, &p) == 1, __LINE__);
	CHECK(p.binary && bytes_equal(p.data, p.len, "\x01\x02\x03", 3), __LINE__);
	CHECK(memcmp(text + 8, "2:4a", 4) == 0, __LINE__);
	CHECK(eio3_payload_next(text, 8, &pos, &p) == 0 && pos == 8, __LINE__);
	/* a length that would reach past len is an error, not a read */
	pos = 0;
	CHECK(eio3_payload_next(text + 8, 3, &pos, &p) == EIO_DECODE_ERROR, __LINE__);
	pos = 0;
	CHECK(eio3_binary_payload_next(bin, 5, &pos, &p) == 1, __LINE__);
	CHECK(eio3_binary_payload_next(bin, 5, &pos, &p) == 0 && pos == 5, __LINE__);
	/* a position past the end */
	pos = 6;
	CHECK(eio3_payload_next(text, 5, &pos, &p) == EIO_DECODE_ERROR, __LINE__);
	CHECK(eio3_binary_payload_next(bin, 5, &pos, &p) == EIO_DECODE_ERROR, __LINE__);
}

/* eio3_utf16_len */

struct utf16_vector {
	int line;
	const char *in;
	size_t in_len;
	size_t units;
};

/* clang-format off */
#define U16(in, n) { __LINE__, S(in), n }

static const struct utf16_vector utf16_vectors[] = {
	U16("", 0),
	U16("a", 1),
	U16("\xc3\xa9", 1),
	U16("\xe2\x82\xac", 1),
	U16("\xf0\x9f\x98\x80", 2),
	U16("\xff", 1),
	U16("\x80", 1),
	U16("\xc3", 1),
	U16("\xe2\x82", 1),
	U16("\xf0\x9f\x98", 1),
	U16("\xe2\x82" "a", 2),
	U16("\xc0\x80", 2),
	U16("\xc1\xbf", 2),
	U16("\xe0\x80\x80", 3),
	U16("\xe0\xa0\x80", 1),
	U16("\xed\x9f\xbf", 1),
	U16("\xed\xa0\x80", 3),
	U16("\xf0\x8f\xbf\xbf", 4),
	U16("\xf0\x90\x80\x80", 2),
	U16("\xf4\x8f\xbf\xbf", 2),
	U16("\xf4\x90\x80\x80", 4),
	U16("\xf5\x80\x80\x80", 4),
	U16("\xf8\x88\x80\x80\x80", 5),
	U16("\xfe\xff", 2),
	U16("\xf0\x9f\x98\x80\xf0\x9f", 3),
	U16("a\x00" "b", 3),
};
/* clang-format on */

static void test_utf16_len(void)
{
	for (size_t i = 0; i < sizeof(utf16_vectors) / sizeof(utf16_vectors[0]); i++) {
		const struct utf16_vector *v = &utf16_vectors[i];
		uint8_t *buf = copy_exact(v->in, v->in_len);

		vectors++;
		check(eio3_utf16_len(buf, v->in_len) == v->units, v->line, "utf16 length");
		free(buf);
	}
}

/* eio3_packet_len / eio3_packet_write */

struct encode_vector {
	int line;
	const char *text; /* EIO3_PAYLOAD_TEXT */
	size_t text_len;
	const char *binary; /* EIO3_PAYLOAD_BINARY */
	size_t binary_len;
	const char *jsonp; /* the whole JSONP answer, j=0 */
	size_t jsonp_len;
	struct expect packets[MAX_PACKETS + 1];
};

/* clang-format off */
#define ENC(t, b, j, ...) { __LINE__, S(t), S(b), S(j), { __VA_ARGS__ } }

static const struct encode_vector encode_vectors[] = {
	ENC("2:4a",
	    "\x00\x02\xff" "4a",
	    "___eio[0](\"2:4a\");",
	    P(4, "a"), END),
	ENC("12:0{\"sid\":\"x\"}",
	    "\x00\x01\x02\xff" "0{\"sid\":\"x\"}",
	    "___eio[0](\"12:0{\\\"sid\\\":\\\"x\\\"}\");",
	    P(0, "{\"sid\":\"x\"}"), END),
	ENC("1:2",
	    "\x00\x01\xff" "2",
	    "___eio[0](\"1:2\");",
	    P(2, ""), END),
	ENC("6:3probe",
	    "\x00\x06\xff" "3probe",
	    "___eio[0](\"6:3probe\");",
	    P(3, "probe"), END),
	ENC("1:6",
	    "\x00\x01\xff" "6",
	    "___eio[0](\"1:6\");",
	    P(6, ""), END),
	ENC("1:4",
	    "\x00\x01\xff" "4",
	    "___eio[0](\"1:4\");",
	    P(4, ""), END),
	ENC("2:4\xe2\x82\xac",
	    "\x00\x04\xff" "4\xe2\x82\xac",
	    "___eio[0](\"2:4\xe2\x82\xac\");",
	    P(4, "\xe2\x82\xac"), END),
	ENC("3:4\xf0\x9f\x98\x80",
	    "\x00\x05\xff" "4\xf0\x9f\x98\x80",
	    "___eio[0](\"3:4\xf0\x9f\x98\x80\");",
	    P(4, "\xf0\x9f\x98\x80"), END),
	ENC("6:4h\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9",
	    "\x00\x01\x01\xff" "4h\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9",
	    "___eio[0](\"6:4h\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\");",
	    P(4, "h\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9"), END),
	ENC("18:442[\"chat\",\"a\\\"b\"]",
	    "\x00\x01\x08\xff" "442[\"chat\",\"a\\\"b\"]",
	    "___eio[0](\"18:442[\\\"chat\\\",\\\"a\\\\\\\"b\\\"]\");",
	    P(4, "42[\"chat\",\"a\\\"b\"]"), END),
	ENC("11:4a\x0a" "b\x0d\x09\x08\x0c\x01\x1f\x7f",
	    "\x00\x01\x01\xff" "4a\x0a" "b\x0d\x09\x08\x0c\x01\x1f\x7f",
	    "___eio[0](\"11:4a\\nb\\r\\t\\b\\f\\u0001\\u001f\x7f\");",
	    P(4, "a\x0a" "b\x0d\x09\x08\x0c\x01\x1f\x7f"), END),
	ENC("5:4\xe2\x80\xa8\xe2\x80\xa9 x",
	    "\x00\x09\xff" "4\xe2\x80\xa8\xe2\x80\xa9 x",
	    "___eio[0](\"5:4\\u2028\\u2029 x\");",
	    P(4, "\xe2\x80\xa8\xe2\x80\xa9 x"), END),
	ENC("7:4\\n \\\\n",
	    "\x00\x07\xff" "4\\n \\\\n",
	    "___eio[0](\"7:4\\\\n \\\\\\\\n\");",
	    P(4, "\\n \\\\n"), END),
	ENC("6:b4AQID",
	    "\x01\x04\xff\x04\x01\x02\x03",
	    "___eio[0](\"6:b4AQID\");",
	    B(4, "\x01\x02\x03"), END),
	ENC("2:b4",
	    "\x01\x01\xff\x04",
	    "___eio[0](\"2:b4\");",
	    B(4, ""), END),
	ENC("6:b4/w==",
	    "\x01\x02\xff\x04\xff",
	    "___eio[0](\"6:b4/w==\");",
	    B(4, "\xff"), END),
	ENC("2:4a10:b4AQIDBA==3:4\xf0\x9f\x98\x80",
	    "\x00\x02\xff" "4a\x01\x05\xff\x04\x01\x02\x03\x04\x00\x05\xff" "4\xf0\x9f\x98\x80",
	    "___eio[0](\"2:4a10:b4AQIDBA==3:4\xf0\x9f\x98\x80\");",
	    P(4, "a"), B(4, "\x01\x02\x03\x04"), P(4, "\xf0\x9f\x98\x80"), END),
	ENC("6:b2CQ==",
	    "\x01\x02\xff\x02\x09",
	    "___eio[0](\"6:b2CQ==\");",
	    B(2, "\x09"), END),
	ENC("10:4xxxxxxxxx",
	    "\x00\x01\x00\xff" "4xxxxxxxxx",
	    "___eio[0](\"10:4xxxxxxxxx\");",
	    P(4, "xxxxxxxxx"), END),
	ENC("11:4xxxxxxxxxx",
	    "\x00\x01\x01\xff" "4xxxxxxxxxx",
	    "___eio[0](\"11:4xxxxxxxxxx\");",
	    P(4, "xxxxxxxxxx"), END),
	ENC("13:4\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
	    "\x00\x03\x07\xff" "4\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
	    "___eio[0](\"13:4\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\");",
	    P(4, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"), END),
};
/* clang-format on */

/* Encodes the packets of v as kind, with the JSONP head and foot around
 * them for EIO3_PAYLOAD_JSONP, into an exact heap block; *len its length. */
static uint8_t *encode(const struct encode_vector *v, enum eio3_payload_kind kind, size_t *len)
{
	bool jsonp = kind == EIO3_PAYLOAD_JSONP;
	size_t n = jsonp ? eio3_jsonp_head_len("0", 1) + strlen(EIO3_JSONP_FOOT) : 0;
	const struct expect *e;
	uint8_t *out;
	size_t o = 0;

	for (e = v->packets; e->type >= 0; e++)
		n += eio3_packet_len(kind, (enum eio_packet_type)e->type, e->binary,
		                     (const uint8_t *)e->data, e->len);
	out = malloc(n + 1);
	if (!out)
		exit(2);
	out[n] = 0xaa;
	if (jsonp)
		o += eio3_jsonp_head_write("0", 1, out);
	for (e = v->packets; e->type >= 0; e++) {
		uint8_t *data = copy_exact(e->data, e->len);
		size_t want = eio3_packet_len(kind, (enum eio_packet_type)e->type, e->binary, data,
		                              e->len);
		size_t got = eio3_packet_write(kind, (enum eio_packet_type)e->type, e->binary, data,
		                               e->len, out + o);

		check(got == want, v->line, "eio3_packet_write count is eio3_packet_len");
		o += got;
		free(data);
	}
	if (jsonp) {
		memcpy(out + o, EIO3_JSONP_FOOT, strlen(EIO3_JSONP_FOOT));
		o += strlen(EIO3_JSONP_FOOT);
	}
	check(o == n && out[n] == 0xaa, v->line, "encoding wrote its length exactly");
	*len = o;
	return out;
}

static void test_encode(void)
{
	for (size_t i = 0; i < sizeof(encode_vectors) / sizeof(encode_vectors[0]); i++) {
		const struct encode_vector *v = &encode_vectors[i];
		uint8_t *out;
		size_t len;

		vectors++;
		out = encode(v, EIO3_PAYLOAD_TEXT, &len);
		check(bytes_equal(out, len, v->text, v->text_len), v->line, "text payload");
		check_iteration(eio3_payload_next, out, len, v->packets, v->line);
		free(out);

		out = encode(v, EIO3_PAYLOAD_BINARY, &len);
		check(bytes_equal(out, len, v->binary, v->binary_len), v->line, "binary payload");
		check_iteration(eio3_binary_payload_next, out, len, v->packets, v->line);
		free(out);

		out = encode(v, EIO3_PAYLOAD_JSONP, &len);
		check(bytes_equal(out, len, v->jsonp, v->jsonp_len), v->line, "JSONP answer");
		free(out);
	}
}

/* eio3_jsonp_head_len / eio3_jsonp_head_write */

struct head_vector {
	int line;
	const char *j;
	size_t j_len;
	const char *head;
	size_t head_len;
};

/* clang-format off */
#define HEAD(j, h) { __LINE__, S(j), S(h) }

static const struct head_vector head_vectors[] = {
	HEAD("0", "___eio[0](\""),
	HEAD("7", "___eio[7](\""),
	HEAD("12", "___eio[12](\""),
	HEAD("", "___eio[](\""),
	HEAD("abc", "___eio[](\""),
	HEAD("1a2", "___eio[12](\""),
	HEAD("\xd9\xa3", "___eio[](\""),
	HEAD("-1", "___eio[1](\""),
	HEAD("1.5", "___eio[15](\""),
	HEAD(" 3 ", "___eio[3](\""),
	HEAD("0012", "___eio[0012](\""),
};
/* clang-format on */

static void test_jsonp_heads(void)
{
	for (size_t i = 0; i < sizeof(head_vectors) / sizeof(head_vectors[0]); i++) {
		const struct head_vector *v = &head_vectors[i];
		char *j = (char *)copy_exact(v->j, v->j_len);
		uint8_t out[64];
		size_t n;

		vectors++;
		memset(out, 0xaa, sizeof(out));
		check(eio3_jsonp_head_len(j, v->j_len) == v->head_len, v->line, "head length");
		n = eio3_jsonp_head_write(j, v->j_len, out);
		check(bytes_equal(out, n, v->head, v->head_len), v->line, "head");
		check(out[n] == 0xaa, v->line, "head written past its length");
		free(j);
	}
}

/* eio3_jsonp_body_decode */

struct jsonp_vector {
	int line;
	const char *body;
	size_t body_len;
	const char *payload; /* NULL: EIO3_JSONP_NONE */
	size_t payload_len;
	struct expect want[MAX_PACKETS + 1]; /* decoding the payload */
};

/* clang-format off */
#define JSP(b, p, ...) { __LINE__, S(b), p, { __VA_ARGS__ } }
#define NONE NULL, 0

static const struct jsonp_vector jsonp_vectors[] = {
	JSP("d=2:4a", S("2:4a"), P(4, "a"), END),
	JSP("d=", S(""), ERR),
	JSP("d", S(""), ERR),
	JSP("", NONE, END),
	JSP("x=1", NONE, END),
	JSP("d=2:4a&d=2:4b", NONE, END),
	JSP("%64=2:4a", S("2:4a"), P(4, "a"), END),
	JSP("%44=2:4a", NONE, END),
	JSP("D=2:4a", NONE, END),
	JSP("d+=2:4a", NONE, END),
	JSP("d=2%3A4a", S("2:4a"), P(4, "a"), END),
	JSP("d=2:4+", S("2:4 "), P(4, " "), END),
	JSP("d=2:4%2B", S("2:4+"), P(4, "+"), END),
	JSP("d=3:4%2B", S("3:4+"), ERR),
	JSP("d=4:4a\\nb", S("4:4a\x0a" "b"), P(4, "a\x0a" "b"), END),
	JSP("d=5:4a\\\\nb", S("5:4a\\nb"), P(4, "a\\nb"), END),
	JSP("d=4:4a%5Cnb", S("4:4a\x0a" "b"), P(4, "a\x0a" "b"), END),
	JSP("d=6:4a%5C%5Cnb", S("6:4a\\nb"), ERR),
	JSP("d=3:4\\\\\\n", S("3:4\\\\n"), P(4, "\\\\"), ERR),
	JSP("d=5:4\\\\\\nb", S("5:4\\\\nb"), P(4, "\\\\nb"), END),
	JSP("d=4:4\\\\\\\\n", S("4:4\\\\\\n"), P(4, "\\\\\\"), ERR),
	JSP("d=4:4\\n\\n", S("4:4\x0a\x0a"), ERR),
	JSP("d=2:4a&", S("2:4a"), P(4, "a"), END),
	JSP("&d=2:4a", S("2:4a"), P(4, "a"), END),
	JSP("&&d=2:4a&&", S("2:4a"), P(4, "a"), END),
	JSP("x&d=2:4a", S("2:4a"), P(4, "a"), END),
	JSP("x=%zz&d=2:4a", S("2:4a"), P(4, "a"), END),
	JSP("d=2:4a=", S("2:4a="), P(4, "a"), ERR),
	JSP("d=3:4a=", S("3:4a="), P(4, "a="), END),
	JSP("d=4:4%E2%82%AC", S("4:4\xe2\x82\xac"), ERR),
	JSP("d=2:4%E2%82%AC", S("2:4\xe2\x82\xac"), P(4, "\xe2\x82\xac"), END),
	JSP("d=2:4%e2%82%ac", S("2:4\xe2\x82\xac"), P(4, "\xe2\x82\xac"), END),
	JSP("d=2:4\xe2\x82\xac", S("2:4\xe2\x82\xac"), P(4, "\xe2\x82\xac"), END),
	JSP("d=2:4%zz", S("2:4%zz"), P(4, "%"), ERR),
	JSP("d=4:4%zz", S("4:4%zz"), P(4, "%zz"), END),
	JSP("d=2:4%41", S("2:4A"), P(4, "A"), END),
	JSP("d=4:4%41%zz", S("4:4A%zz"), P(4, "A%z"), ERR),
	/* the value is not UTF-8 once decoded: the reference reads U+FFFD for each bad
	 * sequence, the lengths count them so; departure: the bytes stay */
	JSP("d=3:4%E2%82", S("3:4\xe2\x82"), ERR),
	JSP("d=3:4\xe2\x82\xac%zz%41", S("3:4\xac%zzA"), P(4, "\xac%"), ERR),
	JSP("d=3:4\xf0\x9f\x98\x80%zz%41", S("3:4=\x00%zzA"), P(4, "=\x00"), ERR),
	JSP("d=4:4\xf0\x9f\x98\x80%41", S("4:4\xf0\x9f\x98\x80" "A"), P(4, "\xf0\x9f\x98\x80" "A"), END),
	JSP("d=2:4%C0%80", S("2:4\xc0\x80"), P(4, "\xc0"), ERR),
	JSP("d=2:4%ED%A0%80", S("2:4\xed\xa0\x80"), P(4, "\xed"), ERR),
	JSP("d=2:4%F4%90%80%80", S("2:4\xf4\x90\x80\x80"), P(4, "\xf4"), ERR),
	JSP("d=2:4%80", S("2:4\x80"), P(4, "\x80"), END),
	JSP("d=4:4%4+1", S("4:4%4 1"), P(4, "%4 "), ERR),
	JSP("d=4:4%4%41", S("4:4%4A"), P(4, "%4A"), END),
	JSP("d=3:4%%41", S("3:4%A"), P(4, "%A"), END),
	JSP("d=2:4%", S("2:4%"), P(4, "%"), END),
	JSP("d=3:4%4", S("3:4%4"), P(4, "%4"), END),
	JSP("d=1:2&d", NONE, END),
	JSP("d=1:2&&", S("1:2"), P(2, ""), END),
	JSP("d=%31%3A2", S("1:2"), P(2, ""), END),
	JSP("d=6:2probe&x=y", S("6:2probe"), P(2, "probe"), END),
	JSP("d=2:4a&%64=2:4b", NONE, END),
	JSP("x=2:4a", NONE, END),
	JSP("d=+2:4a", S(" 2:4a"), P(4, "a"), END),
	JSP("d=2:4a+", S("2:4a "), P(4, "a"), ERR),
	JSP("d=1%3A2", S("1:2"), P(2, ""), END),
	JSP("d=%32%3A%34%61", S("2:4a"), P(4, "a"), END),
	JSP("d=2:4%0A", S("2:4\x0a"), P(4, "\x0a"), END),
	JSP("d=2:4%5C", S("2:4\\"), P(4, "\\"), END),
	JSP("d=3:4%5Cn", S("3:4\x0a"), ERR),
	JSP("d=8:4%22a%22%5C%5C", S("8:4\"a\"\\\\"), ERR),
};
/* clang-format on */

static void test_jsonp_bodies(void)
{
	for (size_t i = 0; i < sizeof(jsonp_vectors) / sizeof(jsonp_vectors[0]); i++) {
		const struct jsonp_vector *v = &jsonp_vectors[i];
		uint8_t *buf = copy_exact(v->body, v->body_len);
		uint8_t *payload = NULL;
		size_t len = 0;
		int r = eio3_jsonp_body_decode(buf, v->body_len, &payload, &len);

		vectors++;
		if (!v->payload) {
			check(r == EIO3_JSONP_NONE, v->line, "no payload expected");
		} else if (check(r == EIO3_JSONP_PAYLOAD, v->line, "a payload expected")) {
			check(payload >= buf && payload + len <= buf + v->body_len, v->line,
			      "payload inside the body");
			check(bytes_equal(payload, len, v->payload, v->payload_len), v->line,
			      "payload");
			check_iteration(eio3_payload_next, payload, len, v->want, v->line);
		}
		free(buf);
	}
}

/* The pairs after the 1000th '&' are not read; raw bytes that are not
 * UTF-8 are refused (a departure: eio_v3.h). */
static void test_jsonp_limits(void)
{
	struct {
		int line;
		size_t pairs; /* "x&" repeated before "d=1:2" */
		int result;
	} v[] = {
	        {__LINE__, 0, EIO3_JSONP_PAYLOAD},   {__LINE__, 998, EIO3_JSONP_PAYLOAD},
	        {__LINE__, 999, EIO3_JSONP_PAYLOAD}, {__LINE__, 1000, EIO3_JSONP_NONE},
	        {__LINE__, 5000, EIO3_JSONP_NONE},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = v[i].pairs * 2 + 5;
		uint8_t *buf = malloc(len);
		uint8_t *payload;
		size_t plen;

		if (!buf)
			exit(2);
		vectors++;
		for (size_t k = 0; k < v[i].pairs; k++)
			memcpy(buf + 2 * k, "x&", 2);
		memcpy(buf + 2 * v[i].pairs, "d=1:2", 5);
		check(eio3_jsonp_body_decode(buf, len, &payload, &plen) == v[i].result, v[i].line,
		      "pairs limit");
		free(buf);
	}

	static const struct {
		int line;
		const char *body;
		size_t len;
	} bad[] = {
	        {__LINE__, S("d=2:4\xff")},     {__LINE__, S("x=\x80&d=2:4a")},
	        {__LINE__, S("d=2:4\xc3")},     {__LINE__, S("d=2:4\xed\xa0\x80")},
	        {__LINE__, S("d=2:4\xc0\x80")},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *buf = copy_exact(bad[i].body, bad[i].len);
		uint8_t *payload;
		size_t plen;

		vectors++;
		check(eio3_jsonp_body_decode(buf, bad[i].len, &payload, &plen) == EIO3_JSONP_ERROR,
		      bad[i].line, "a body that is not UTF-8 is refused");
		free(buf);
	}
}

/* The v3 open packet is the v4 one: the reference's answer to
 * GET /engine.io/?EIO=3&transport=polling (engine.io 6.6, default options). */
static void test_open_json(void)
{
	static const char want[] =
	        "{\"sid\":\"Qi6T4KK-3GoUvR_0AAAA\",\"upgrades\":[\"websocket\"],"
	        "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
	static const char payload[] =
	        "118:0{\"sid\":\"Qi6T4KK-3GoUvR_0AAAA\",\"upgrades\":[\"websocket\"],"
	        "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
	char json[256];
	uint8_t out[256];
	int n;

	vectors++;
	n = eio_open_json(json, sizeof(json), "Qi6T4KK-3GoUvR_0AAAA", true, 25000, 20000, 1000000);
	if (CHECK(n == (int)strlen(want) && strcmp(json, want) == 0, __LINE__)) {
		size_t len = eio3_packet_len(EIO3_PAYLOAD_TEXT, EIO_OPEN, false,
		                             (const uint8_t *)json, (size_t)n);
		CHECK(len == strlen(payload), __LINE__);
		CHECK(eio3_packet_write(EIO3_PAYLOAD_TEXT, EIO_OPEN, false, (const uint8_t *)json,
		                        (size_t)n, out) == len &&
		              memcmp(out, payload, len) == 0,
		      __LINE__);
	}
}

int main(void)
{
	test_payloads(text_vectors, sizeof(text_vectors) / sizeof(text_vectors[0]),
	              eio3_payload_next);
	test_payloads(binary_vectors, sizeof(binary_vectors) / sizeof(binary_vectors[0]),
	              eio3_binary_payload_next);
	test_long_lengths();
	test_bounds();
	test_utf16_len();
	test_encode();
	test_jsonp_heads();
	test_jsonp_bodies();
	test_jsonp_limits();
	test_open_json();

	printf("eio_v3: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
