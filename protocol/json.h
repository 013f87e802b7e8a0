/*
 * JSON text <-> jansson values, behaving as jansson's json_loadb(..,
 * JSON_DECODE_ANY | JSON_ALLOW_NUL) and json_dump_callback(..,
 * JSON_COMPACT | JSON_ENCODE_ANY), only faster. Pure: no I/O, no globals.
 */
#ifndef SIOC_PROTOCOL_JSON_H
#define SIOC_PROTOCOL_JSON_H

#include <stddef.h>

#include <jansson.h>

enum jsonr_error {
	JSONR_EINVAL = -1, /* not exactly one JSON value, or nested deeper than allowed */
	JSONR_ENOMEM = -2,
};

/* Parses buf[0..len) (one value, whitespace around it allowed; strings
 * must be UTF-8, may hold \u0000 but not in object keys). Every value
 * counts one nesting level, scalars too; more than max_depth fails.
 * Returns a new reference, or NULL with *err (if err) set. */
json_t *jsonr_parse(const char *buf, size_t len, unsigned max_depth, int *err);

typedef int (*jsonr_out_fn)(const char *buf, size_t len, void *data);

/* Writes v compactly through out (which returns 0, or -1 to stop).
 * Recursion follows v's nesting: check the depth first. Returns 0 or -1. */
int jsonr_dump(const json_t *v, jsonr_out_fn out, void *data);

/* Writes v in decimal into buf (JSONR_INT_MAX bytes at most, no NUL) and
 * returns the length: what printf's "%lld" writes, without its cost. */
#define JSONR_INT_MAX 20
size_t jsonr_format_int(char *buf, long long v);

#endif
