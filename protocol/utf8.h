/*
 * Incremental UTF-8 validation (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), for text that arrives in pieces.
 */
#ifndef SIOC_PROTOCOL_UTF8_H
#define SIOC_PROTOCOL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8_state {
	uint8_t need;   /* continuation bytes still expected */
	uint8_t lo, hi; /* the range the next continuation byte must be in */
};

/* Feeds n bytes. Returns false at the first invalid byte (the state is
 * then meaningless). A zeroed state starts at a character boundary. */
bool utf8_feed(struct utf8_state *st, const uint8_t *p, size_t n);

/* True when no character is cut short. */
static inline bool utf8_complete(const struct utf8_state *st)
{
	return st->need == 0;
}

/* True when p[0..n) is whole, valid UTF-8. */
static inline bool utf8_valid(const uint8_t *p, size_t n)
{
	struct utf8_state st = {0};

	return utf8_feed(&st, p, n) && utf8_complete(&st);
}

#endif
