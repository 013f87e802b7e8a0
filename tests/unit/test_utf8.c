/*
 * Vectors for the incremental UTF-8 validator (protocol/utf8.c), which
 * follows RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Each vector is fed whole, in every split into two pieces and
 * byte by byte; the verdict must not depend on how the text was cut. Every
 * piece is copied into a heap block of exactly its length, so that the
 * sanitizers catch a read past it. An exhaustive pass then compares the
 * validator with an independent decoder on every sequence of up to three
 * bytes and on a sample of four-byte ones.
 */
#include "protocol/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define CHECK(cond, line) check((cond) != 0, (line), #cond)

enum verdict {
	V_OK,    /* valid and complete */
	V_TRUNC, /* valid so far, but a character is cut short */
	V_BAD,   /* utf8_feed returned false */
};

static const char *verdict_name(enum verdict v)
{
	return v == V_OK ? "ok" : v == V_TRUNC ? "truncated" : "invalid";
}

/* Feeds in[0..n) cut at the offsets in cuts[0..ncuts) (increasing), each
 * piece from its own exact heap copy, and returns the verdict. */
static enum verdict feed_pieces(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts)
{
	struct utf8_state st;
	size_t from = 0;

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : n;
		uint8_t *piece = copy_exact(in + from, to - from);
		bool ok = utf8_feed(&st, piece, to - from);

		free(piece);
		if (!ok)
			return V_BAD;
		from = to;
	}
	return utf8_complete(&st) ? V_OK : V_TRUNC;
}

struct utf8_vector {
	int line;
	const char *in;
	size_t len;
	enum verdict want;
};

/* clang-format off */
#define OK(in)    { __LINE__, S(in), V_OK }
#define TRUNC(in) { __LINE__, S(in), V_TRUNC }
#define BAD(in)   { __LINE__, S(in), V_BAD }

static const struct utf8_vector utf8_vectors[] = {
	/* ASCII */
	OK(""),
	OK("a"),
	OK("hello, world"),
	OK("\0"),
	OK("a\0b"),
	OK("\x7f"),                      /* U+007F, last 1-byte */
	/* 2 bytes */
	OK("\xc2\x80"),                  /* U+0080, first 2-byte */
	OK("\xc3\xa9"),                  /* U+00E9 */
	OK("\xdf\xbf"),                  /* U+07FF, last 2-byte */
	/* 3 bytes */
	OK("\xe0\xa0\x80"),              /* U+0800, first 3-byte */
	OK("\xe2\x82\xac"),              /* U+20AC */
	OK("\xed\x9f\xbf"),              /* U+D7FF, just below the surrogates */
	OK("\xee\x80\x80"),              /* U+E000, just above them */
	OK("\xef\xbb\xbf"),              /* U+FEFF (BOM is a valid character) */
	OK("\xef\xbf\xbd"),              /* U+FFFD */
	OK("\xef\xbf\xbf"),              /* U+FFFF, last 3-byte */
	/* 4 bytes */
	OK("\xf0\x90\x80\x80"),          /* U+10000, first 4-byte */
	OK("\xf0\x9f\x98\x80"),          /* U+1F600 */
	OK("\xf3\xbf\xbf\xbf"),          /* U+FFFFF */
	OK("\xf4\x80\x80\x80"),          /* U+100000 */
	OK("\xf4\x8f\xbf\xbf"),          /* U+10FFFF, the last code point */
	/* mixed */
	OK("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d"),
	OK("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"),
	OK("\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\x7f"),

	/* overlong forms */
	BAD("\xc0\x80"),                 /* U+0000 in 2 bytes */
	BAD("\xc0\xaf"),                 /* '/' in 2 bytes */
	BAD("\xc1\xbf"),                 /* U+007F in 2 bytes */
	BAD("\xe0\x80\x80"),             /* U+0000 in 3 bytes */
	BAD("\xe0\x80\xaf"),
	BAD("\xe0\x9f\xbf"),             /* U+07FF in 3 bytes */
	BAD("\xf0\x80\x80\x80"),         /* U+0000 in 4 bytes */
	BAD("\xf0\x80\x80\xaf"),
	BAD("\xf0\x8f\xbf\xbf"),         /* U+FFFF in 4 bytes */
	BAD("\xf8\x80\x80\x80\x80"),     /* 5-byte form */
	BAD("\xfc\x80\x80\x80\x80\x80"), /* 6-byte form */
	/* surrogates */
	BAD("\xed\xa0\x80"),             /* U+D800 */
	BAD("\xed\xad\xbf"),             /* U+DB7F */
	BAD("\xed\xb0\x80"),             /* U+DC00 */
	BAD("\xed\xbf\xbf"),             /* U+DFFF */
	BAD("\xed\xa0\xbd\xed\xb8\x80"), /* a CESU-8 pair */
	/* above U+10FFFF */
	BAD("\xf4\x90\x80\x80"),         /* U+110000 */
	BAD("\xf4\xbf\xbf\xbf"),
	BAD("\xf5\x80\x80\x80"),
	BAD("\xf6\x80\x80\x80"),
	BAD("\xf7\xbf\xbf\xbf"),
	BAD("\xf8"), BAD("\xf9"), BAD("\xfa"), BAD("\xfb"),
	BAD("\xfc"), BAD("\xfd"), BAD("\xfe"), BAD("\xff"),
	BAD("\xf5"),
	BAD("a\xff" "b"),
	/* stray continuation bytes */
	BAD("\x80"),
	BAD("\xbf"),
	BAD("a\x80"),
	BAD("\x80" "a"),
	BAD("\xc2\x80\x80"),             /* one too many */
	BAD("\xe2\x82\xac\xac"),
	BAD("\xf0\x9f\x98\x80\x80"),
	/* a non-continuation byte where a continuation is due */
	BAD("\xc2" "a"),
	BAD("\xc2\xc2\x80"),
	BAD("\xc2\xc0"),
	BAD("\xc2\xff"),
	BAD("\xe2\x82" "a"),
	BAD("\xe2\x28\xa1"),
	BAD("\xf0\x9f\x98" "a"),
	BAD("\xf0\x9f\x98\xf0\x9f\x98\x80"),
	/* truncated: valid so far, incomplete at the end */
	TRUNC("\xc2"),
	TRUNC("\xdf"),
	TRUNC("\xe0"),
	TRUNC("\xe0\xa0"),
	TRUNC("\xe2\x82"),
	TRUNC("\xed"),
	TRUNC("\xed\x9f"),
	TRUNC("\xf0"),
	TRUNC("\xf0\x90"),
	TRUNC("\xf0\x9f\x98"),
	TRUNC("\xf4\x8f\xbf"),
	TRUNC("hello\xe2\x82"),
	TRUNC("\xc3\xa9\xf0\x9f"),
	/* a truncated prefix that can never become valid is refused at once */
	BAD("\xe0\x80"),
	BAD("\xed\xa0"),
	BAD("\xf0\x80"),
	BAD("\xf4\x90"),
	BAD("\xc0"),
	BAD("\xc1"),
};
/* clang-format on */

/* Feeds v whole, in every two-piece split, and byte by byte. */
static void test_vector(const struct utf8_vector *v)
{
	const uint8_t *in = (const uint8_t *)v->in;
	size_t n = v->len;
	char msg[160];
	enum verdict got;

	vectors++;
	got = feed_pieces(in, n, NULL, 0);
	snprintf(msg, sizeof(msg), "whole: got %s, want %s", verdict_name(got),
	         verdict_name(v->want));
	check(got == v->want, v->line, msg);

	for (size_t cut = 0; cut <= n; cut++) {
		got = feed_pieces(in, n, &cut, 1);
		snprintf(msg, sizeof(msg), "split at %zu: got %s, want %s", cut, verdict_name(got),
		         verdict_name(v->want));
		check(got == v->want, v->line, msg);
	}

	if (n > 1) {
		size_t cuts[16];

		if (n - 1 > sizeof(cuts) / sizeof(cuts[0])) {
			check(0, v->line, "vector too long for the byte-by-byte pass");
			return;
		}
		for (size_t i = 0; i < n - 1; i++)
			cuts[i] = i + 1;
		got = feed_pieces(in, n, cuts, n - 1);
		snprintf(msg, sizeof(msg), "byte by byte: got %s, want %s", verdict_name(got),
		         verdict_name(v->want));
		check(got == v->want, v->line, msg);
	}
}

/* Two pieces fed into one state reach the same verdict as their
 * concatenation; every vector fed after a valid vector keeps its verdict
 * (the state carries nothing over a character boundary). */
static void test_concatenations(void)
{
	size_t nv = sizeof(utf8_vectors) / sizeof(utf8_vectors[0]);

	for (size_t i = 0; i < nv; i++) {
		const struct utf8_vector *a = &utf8_vectors[i];

		if (a->want != V_OK)
			continue;
		for (size_t j = 0; j < nv; j++) {
			const struct utf8_vector *b = &utf8_vectors[j];
			uint8_t joined[64];
			size_t cut = a->len;
			enum verdict got;

			if (a->len + b->len > sizeof(joined))
				continue;
			memcpy(joined, a->in, a->len);
			memcpy(joined + a->len, b->in, b->len);
			got = feed_pieces(joined, a->len + b->len, &cut, 1);
			if (got != b->want) {
				char msg[160];

				snprintf(msg, sizeof(msg),
				         "after the vector of line %d: got %s, want %s", a->line,
				         verdict_name(got), verdict_name(b->want));
				check(0, b->line, msg);
			}
		}
	}
}

/*
 * An independent oracle: decodes by bit patterns and checks the resulting
 * code point, rather than using byte ranges as utf8.c does. A truncated
 * last character is V_TRUNC when some continuation could still make it
 * valid, V_BAD when none could (the validator must refuse it at once).
 */
static enum verdict oracle(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b = p[i];
		size_t len;
		uint32_t cp, min;

		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xe0) == 0xc0) {
			len = 2, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			len = 3, cp = b & 0x0f, min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			len = 4, cp = b & 0x07, min = 0x10000;
		} else {
			return V_BAD;
		}
		size_t have = n - i < len ? n - i : len;
		for (size_t k = 1; k < have; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return V_BAD;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* the range of code points the bytes present allow */
		uint32_t lo = cp, hi = cp;
		for (size_t k = have; k < len; k++) {
			lo = lo << 6;
			hi = hi << 6 | 0x3f;
		}
		if (lo < min)
			lo = min;
		if (hi > 0x10ffff)
			hi = 0x10ffff;
		if (lo > hi || (lo >= 0xd800 && hi <= 0xdfff))
			return V_BAD;
		if (have < len)
			return V_TRUNC; /* only possible for the last character */
		i += len;
	}
	return V_OK;
}

/* Every sequence of one to three bytes, fed whole and split, against the
 * oracle; then the four-byte sequences with a 0xF0..0xFF lead, an
 * arbitrary second byte and boundary values in the last two. */
static void test_exhaustive(void)
{
	static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	                               0x9f, 0xa0, 0xbf, 0xc0, 0xff};
	long mismatches = 0;
	long checked = 0;
	uint8_t s[4];

	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 257; b++) {
			for (unsigned c = 0; c < 257; c++) {
				size_t n;

				if (b == 256 && c != 256)
					continue;
				s[0] = (uint8_t)a;
				s[1] = (uint8_t)b;
				s[2] = (uint8_t)c;
				n = b == 256 ? 1 : c == 256 ? 2 : 3;
				enum verdict want = oracle(s, n);
				for (size_t cut = 0; cut < n; cut++) {
					struct utf8_state st = {0};
					bool ok = utf8_feed(&st, s, cut) &&
					          utf8_feed(&st, s + cut, n - cut);
					enum verdict got = !ok                  ? V_BAD
					                   : utf8_complete(&st) ? V_OK
					                                        : V_TRUNC;

					checked++;
					if (got != want && mismatches++ < 10)
						fprintf(stderr,
						        "%s:%d: %02x %02x %02x (len %zu, cut %zu): "
						        "got %s, want %s\n",
						        __FILE__, __LINE__, s[0], s[1], s[2], n,
						        cut, verdict_name(got), verdict_name(want));
				}
			}
		}
	}
	for (unsigned a = 0xf0; a < 0x100; a++) {
		for (unsigned b = 0; b < 256; b++) {
			for (size_t c = 0; c < sizeof(edge); c++) {
				for (size_t d = 0; d < sizeof(edge); d++) {
					s[0] = (uint8_t)a;
					s[1] = (uint8_t)b;
					s[2] = edge[c];
					s[3] = edge[d];
					struct utf8_state st = {0};
					bool ok = utf8_feed(&st, s, 4);
					enum verdict got = !ok                  ? V_BAD
					                   : utf8_complete(&st) ? V_OK
					                                        : V_TRUNC;
					enum verdict want = oracle(s, 4);

					checked++;
					if (got != want && mismatches++ < 10)
						fprintf(stderr,
						        "%s:%d: %02x %02x %02x %02x: got %s, want "
						        "%s\n",
						        __FILE__, __LINE__, s[0], s[1], s[2], s[3],
						        verdict_name(got), verdict_name(want));
				}
			}
		}
	}
	if (mismatches) {
		fprintf(stderr, "%s:%d: %ld of %ld exhaustive sequences disagree with the oracle\n",
		        __FILE__, __LINE__, mismatches, checked);
		failures++;
	}
}

/* The oracle itself, on known code points (so a wrong oracle cannot hide
 * a wrong validator in the exhaustive pass). */
static void test_oracle(void)
{
	for (size_t i = 0; i < sizeof(utf8_vectors) / sizeof(utf8_vectors[0]); i++) {
		const struct utf8_vector *v = &utf8_vectors[i];

		check(oracle((const uint8_t *)v->in, v->len) == v->want, v->line, "oracle verdict");
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof(utf8_vectors) / sizeof(utf8_vectors[0]); i++)
		test_vector(&utf8_vectors[i]);
	test_concatenations();
	test_oracle();
	test_exhaustive();

	printf("utf8: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
