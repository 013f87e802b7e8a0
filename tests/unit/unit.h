/*
 * What the unit tests share: counting failed checks, exact heap copies
 * (so that the sanitizers see a read past the end), bytes from hex text,
 * transcript buffers and their comparison, and for a test that includes
 * jansson.h before this, expected JSON.
 * Each test is one file that includes this once.
 */
#ifndef SIOC_TESTS_UNIT_UNIT_H
#define SIOC_TESTS_UNIT_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* A string literal as (pointer, length); the literal may contain NULs. */
#define S(lit) lit, sizeof(lit) - 1

static int failures;
static int vectors;

/* Reports a failed check at line (of the vector, or of the check) of the
 * test's own file. */
static inline int check_in(const char *file, int ok, int line, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: %s\n", file, line, what);
		failures++;
	}
	return ok;
}

#define check(ok, line, what) check_in(__FILE__, (ok), (line), (what))

/* Exits on out of memory: the tests do not test the tests. */
static inline void out_of_memory(void)
{
	fprintf(stderr, "out of memory\n");
	exit(2);
}

/* malloc() that never returns NULL (at least 1 byte). */
static inline void *xmalloc(size_t len)
{
	void *p = malloc(len > 0 ? len : 1);

	if (!p)
		out_of_memory();
	return p;
}

static inline int bytes_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The bytes of hex text, in which (xx*n) stands for n bytes xx; a
 * malloc'd block of exactly *len bytes. */
static inline uint8_t *unhex(const char *s, size_t *len)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *b = xmalloc(cap);

	while (*s) {
		unsigned long byte, count = 1;
		char *end;

		if (*s == '(') {
			byte = strtoul(s + 1, &end, 16);
			count = strtoul(end + 1, &end, 10);
			s = end + 1;
		} else {
			char two[3] = {s[0], s[1], '\0'};

			byte = strtoul(two, NULL, 16);
			s += 2;
		}
		if (n + count > cap) {
			cap = (n + count) * 2;
			b = realloc(b, cap);
			if (!b)
				out_of_memory();
		}
		memset(b + n, (int)byte, count);
		n += count;
	}
	*len = n;
	return realloc(b, n > 0 ? n : 1);
}

/* Returns a malloc'd copy of exactly len bytes (no terminator). */
static inline uint8_t *copy_exact(const void *p, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		out_of_memory();
	if (len > 0)
		memcpy(b, p, len);
	return b;
}

/* Transcript buffers (base/util.c). */
static inline void put(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0)
		out_of_memory();
}

static inline void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Prints a transcript, indented; the middle of a long one is elided. */
static inline void print_transcript(const char *label, const char *t)
{
	size_t len = strlen(t);

	fprintf(stderr, "    %s:\n", label);
	if (len > 600) {
		fprintf(stderr, "      %.300s\n      [... %zu bytes ...]\n      %s\n", t, len - 600,
		        t + len - 300);
		return;
	}
	for (const char *p = t; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		fprintf(stderr, "      %.*s\n", (int)l, p);
		p += l + (nl ? 1 : 0);
	}
}

/* Checks that transcript got is want; on a difference reports `what` at
 * line of the test's own file and prints both. */
static inline void check_transcript_in(const char *file, int line, const char *what,
                                       const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	check_in(file, 0, line, what);
	print_transcript("got", got);
	print_transcript("want", want);
}

#define check_transcript(line, what, got, want) \
	check_transcript_in(__FILE__, (line), (what), (got), (want))

#ifdef JANSSON_H
/* Parses the expected JSON of the vector at line of the test's own file (a
 * new reference); NULL text gives NULL. Exits on bad JSON: a broken test. */
static inline json_t *json_want_in(const char *file, const char *text, int line)
{
	json_error_t error;
	json_t *j;

	if (!text)
		return NULL;
	j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (!j) {
		fprintf(stderr, "%s:%d: bad expected JSON: %s\n", file, line, error.text);
		exit(2);
	}
	return j;
}

#define json_want(text, line) json_want_in(__FILE__, (text), (line))

/* True when a and b are both NULL or equal JSON. */
static inline int json_same(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}
#endif

#ifdef SIOC_PROTOCOL_SIO_PACKET_H
/* Socket.IO packet types, short, for the codecs' vector tables. */
/* clang-format off */
#define CONNECT       SIO_PACKET_CONNECT
#define DISCONNECT    SIO_PACKET_DISCONNECT
#define EVENT         SIO_PACKET_EVENT
#define ACK           SIO_PACKET_ACK
#define CONNECT_ERROR SIO_PACKET_CONNECT_ERROR
#define BINARY_EVENT  SIO_PACKET_BINARY_EVENT
#define BINARY_ACK    SIO_PACKET_BINARY_ACK

/* A binary placeholder in a packet's JSON text. */
#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"
/* clang-format on */
#endif

#endif
