/*
 * What the unit tests share: counting failed checks, exact heap copies
 * (so that the sanitizers see a read past the end) and transcript buffers.
 * Each test is one file that includes this once.
 */
#ifndef SIOC_TESTS_UNIT_UNIT_H
#define SIOC_TESTS_UNIT_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/util.h"

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

/* Transcript buffers (server/util.c). */
static inline void put(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0)
		out_of_memory();
}

static inline void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

#endif
