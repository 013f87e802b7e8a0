/*
 * Helpers shared by the libFuzzer targets in this folder. Each target is
 * one .c file defining LLVMFuzzerTestOneInput(); run.sh builds it with the
 * sources it tests. A broken invariant aborts, which libFuzzer reports as a
 * crash and saves the input for.
 */
#ifndef SIOC_TESTS_FUZZ_FUZZ_H
#define SIOC_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed condition when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* malloc(n), exactly n bytes (ASan flags any access to a 0-byte block).
 * Out of memory in the harness itself is not a finding: libFuzzer's
 * -malloc_limit_mb reports real blow-ups before this. */
static inline void *fuzz_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p && n == 0)
		p = malloc(1);
	if (!p) {
		fprintf(stderr, "fuzz harness: out of memory\n");
		abort();
	}
	return p;
}

/* A heap copy of exactly n bytes, so that ASan catches a read past n. */
static inline uint8_t *fuzz_copy(const void *p, size_t n)
{
	uint8_t *b = fuzz_malloc(n);

	if (n > 0)
		memcpy(b, p, n);
	return b;
}

static inline int fuzz_bytes_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A small deterministic generator, for choices derived from the input. */
static inline uint32_t fuzz_next(uint64_t *state)
{
	*state = *state * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(*state >> 33);
}

/* FNV-1a of the input: a seed that changes whenever the input does. */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* Transcripts (struct buf from base/util.c, for the targets that link it). */
static inline void put(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0) {
		fprintf(stderr, "fuzz harness: out of memory\n");
		abort();
	}
}

static inline void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Appends p[0..n) with bytes outside printable ASCII, '"' and '\' as \xNN. */
static inline void put_esc(struct buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
			put(b, &s[i], 1);
		} else {
			char e[4] = {'\\', 'x', hex[s[i] >> 4], hex[s[i] & 15]};

			put(b, e, 4);
		}
	}
}

static inline void put_num(struct buf *b, const char *fmt, unsigned long long v)
{
	char s[48];
	int n = snprintf(s, sizeof(s), fmt, v);

	put(b, s, (size_t)n);
}

/*
 * The input layout of the targets that feed bytes in pieces: byte 0 holds
 * the target's options (returned), byte 1 % 16 the number of piece sizes
 * that follow; the bytes after them are what is fed. An input shorter than
 * two bytes is all bytes to feed, with no options (-1) and no pieces.
 */
static inline int fuzz_take_pieces(const uint8_t **data, size_t *size, const uint8_t **sizes,
				   size_t *nsizes)
{
	*sizes = NULL;
	*nsizes = 0;
	if (*size < 2)
		return -1;
	int options = (*data)[0];
	*nsizes = (*data)[1] % 16;
	if (*nsizes > *size - 2)
		*nsizes = *size - 2;
	*sizes = *data + 2;
	*data += 2 + *nsizes;
	*size -= 2 + *nsizes;
	return options;
}

/* Aborts when the transcript of the bytes fed `how` differs from the one
 * of the bytes fed whole, printing both. */
static inline void fuzz_same_transcript(const struct buf *whole, const struct buf *cut,
					const char *how)
{
	if (fuzz_bytes_equal(whole->data, whole->len, cut->data, cut->len))
		return;
	fprintf(stderr, "fed whole:\n%.*s\n%s:\n%.*s\n", (int)whole->len,
		(const char *)whole->data, how, (int)cut->len, (const char *)cut->data);
	FUZZ_CHECK(!"the transcript depends on the cuts");
}

#endif
