/*
 * protocol/json.c against jansson, differentially: for any input, jsonr
 * parses it exactly when jansson's json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL) does (depth aside: jansson's own limit is the same
 * 2048), to an equal value; and jsonr_dump writes exactly what
 * json_dump_callback(JSON_COMPACT | JSON_ENCODE_ANY) writes.
 *
 * Inputs with a raw NUL byte are only parsed, not compared: jansson
 * swallows one NUL right after a number ("-0.5\0" parses, "[1]\0" does
 * not), a quirk jsonr does not copy (a NUL there is trailing garbage).
 */
#include "protocol/json.h"

#include "fuzz.h"

struct sink {
	char *p;
	size_t len, cap;
};

static int sink_put(const char *buf, size_t len, void *data)
{
	struct sink *s = data;
	if (s->len + len > s->cap) {
		size_t cap = (s->len + len) * 2 + 16;
		char *p = realloc(s->p, cap);
		if (!p)
			return -1;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, buf, len);
	s->len += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = (char *)fuzz_copy(data, size);
	json_error_t error;
	json_t *ours = jsonr_parse(buf, size, 2048, NULL);
	json_t *theirs = json_loadb(buf, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (memchr(data, 0, size)) {
		json_decref(ours);
		json_decref(theirs);
		free(buf);
		return 0;
	}
	FUZZ_CHECK(!ours == !theirs);
	if (ours) {
		FUZZ_CHECK(json_equal(ours, theirs));
		struct sink a = {0}, b = {0};
		FUZZ_CHECK(jsonr_dump(ours, sink_put, &a) == 0);
		FUZZ_CHECK(json_dump_callback(theirs, sink_put, &b, JSON_COMPACT | JSON_ENCODE_ANY) == 0);
		FUZZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
		free(a.p);
		free(b.p);
	}
	json_decref(ours);
	json_decref(theirs);
	free(buf);
	return 0;
}
