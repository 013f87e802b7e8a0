/*
 * msgpack_value_decode() and the reader under it. Byte 0 holds the
 * options: bits 0-1 the flags (MSGPACK_VALUE_INT_KEYS, _TIMESTAMP); bit 2
 * a small max_depth (1 + the high nibble) instead of 2048; bit 3 a small
 * max_bufs (the high nibble) instead of 256. The rest is the message,
 * decoded from a heap block of exactly its length.
 *
 * A value it accepts must satisfy the contract (a new reference; buffers
 * present, at most max_bufs, each named by one placeholder in the
 * message's order; no map like a placeholder beside binary; nested at
 * most max_depth), encode without error, decode again to an equal value
 * (json_equal, buffer bytes) whose encoding is the same bytes (a fixed
 * point); each of a few of its proper prefixes is MSGPACK_VALUE_ETRUNCATED
 * and one byte more MSGPACK_VALUE_ETRAILING. A refused message must give a
 * known error code and leave *out all zero.
 *
 * Then the message is split into the values it is a sequence of, read in
 * turn with the reader both building and only checking at each position:
 * the two modes must end at the same place, and fail alike but for what
 * checking cannot see (a repeated key, more binaries than allowed).
 */
#include "protocol/msgpack_value.h"

#include "fuzz.h"

static bool value_is_zero(const struct msgpack_value *v)
{
	return !v->json && !v->bufs && v->nbufs == 0;
}

/* Walks v: placeholders numbered 0, 1, ... in order (*next), no other
 * object with "_placeholder": true when there are buffers. Returns the
 * depth of v's deepest value (v at 1). */
static unsigned check_tree(const json_t *v, uint32_t nbufs, uint32_t *next)
{
	unsigned deepest = 0, d;

	if (json_is_object(v)) {
		json_t *obj = (json_t *)v;

		if (nbufs > 0 && json_is_true(json_object_get(v, "_placeholder"))) {
			FUZZ_CHECK(sio_pkt_placeholder_num(v, nbufs) == (int64_t)*next);
			FUZZ_CHECK(json_object_size(v) == 2);
			(*next)++;
			return 1;
		}
		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
			const char *k = json_object_iter_key(it);

			FUZZ_CHECK(strlen(k) == json_object_iter_key_len(it));
			if ((d = check_tree(json_object_iter_value(it), nbufs, next)) > deepest)
				deepest = d;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((d = check_tree(json_array_get(v, i), nbufs, next)) > deepest)
				deepest = d;
	}
	return deepest + 1;
}

/* Encodes v; returns an exact heap copy of the bytes. */
static uint8_t *encode(const struct msgpack_value *v, uint32_t max_depth, size_t *len)
{
	struct buf b = {0};
	int r = msgpack_value_encode(v->json, v->bufs, v->nbufs, max_depth, &b);
	uint8_t *copy;

	if (r != 0)
		fprintf(stderr, "encode: %s\n", msgpack_value_strerror(r));
	FUZZ_CHECK(r == 0);
	copy = fuzz_copy(b.data, b.len);
	*len = b.len;
	buf_free(&b);
	return copy;
}

static int decode(const uint8_t *p, size_t n, uint32_t max_depth, uint32_t max_bufs, unsigned flags,
                  struct msgpack_value *v)
{
	uint8_t *copy = fuzz_copy(p, n);
	int r;

	memset(v, 0xa5, sizeof(*v));
	r = msgpack_value_decode(copy, n, max_depth, max_bufs, flags, v);
	free(copy);
	if (r != 0) {
		FUZZ_CHECK(r < 0 && value_is_zero(v));
		FUZZ_CHECK(strcmp(msgpack_value_strerror(r), "unknown error") != 0);
	}
	return r;
}

static void check_accepted(const uint8_t *msg, size_t len, const struct msgpack_value *v,
                           uint32_t max_depth, uint32_t max_bufs, unsigned flags)
{
	struct msgpack_value w;
	uint32_t next = 0;
	uint8_t *enc, *enc2, *more;
	size_t elen, elen2;
	uint64_t seed = fuzz_hash(msg, len);

	FUZZ_CHECK(v->json != NULL);
	FUZZ_CHECK(v->json->refcount == 1 || json_is_null(v->json) || json_is_boolean(v->json));
	FUZZ_CHECK(v->nbufs <= max_bufs);
	FUZZ_CHECK((v->nbufs > 0) == (v->bufs != NULL));
	for (uint32_t i = 0; i < v->nbufs; i++)
		FUZZ_CHECK(v->bufs[i].data != NULL);
	FUZZ_CHECK(check_tree(v->json, v->nbufs, &next) <= max_depth);
	FUZZ_CHECK(next == v->nbufs);

	/* everything the decoder accepts the encoder writes back */
	enc = encode(v, max_depth, &elen);
	FUZZ_CHECK(decode(enc, elen, max_depth, max_bufs, flags, &w) == 0);
	FUZZ_CHECK(json_equal(v->json, w.json));
	FUZZ_CHECK(w.nbufs == v->nbufs);
	for (uint32_t i = 0; i < v->nbufs; i++)
		FUZZ_CHECK(fuzz_bytes_equal(v->bufs[i].data, v->bufs[i].len, w.bufs[i].data,
		                            w.bufs[i].len));
	enc2 = encode(&w, max_depth, &elen2);
	FUZZ_CHECK(fuzz_bytes_equal(enc, elen, enc2, elen2));
	msgpack_value_finish(&w);
	FUZZ_CHECK(value_is_zero(&w));
	free(enc2);
	free(enc);

	/* a few proper prefixes are cut short; a byte more is trailing */
	for (int i = 0; i < 4 && len > 0; i++) {
		size_t cut = i == 0 ? len - 1 : fuzz_next(&seed) % len;

		FUZZ_CHECK(decode(msg, cut, max_depth, max_bufs, flags, &w) ==
		           MSGPACK_VALUE_ETRUNCATED);
	}
	more = fuzz_malloc(len + 1);
	memcpy(more, msg, len);
	more[len] = (uint8_t)fuzz_next(&seed);
	FUZZ_CHECK(decode(more, len + 1, max_depth, max_bufs, flags, &w) ==
	           MSGPACK_VALUE_ETRAILING);
	free(more);
}

/* The message as a sequence of values, each read building and checking. */
static void check_split(const uint8_t *msg, size_t len, uint32_t max_depth, uint32_t max_bufs,
                        unsigned flags)
{
	struct msgpack_reader build, only;
	size_t pos = 0;

	msgpack_reader_init(&build, msg, len, max_depth, max_bufs, flags);
	msgpack_reader_init(&only, msg, len, max_depth, max_bufs, flags);
	while (pos < len) {
		bool undefined = false;
		json_t *j = (json_t *)1;
		int rb, rc;

		build.pos = only.pos = pos;
		rb = msgpack_reader_value(&build, &j, &undefined);
		rc = msgpack_reader_value(&only, NULL, NULL);
		if (rb == 0) {
			FUZZ_CHECK(rc == 0 && build.pos == only.pos);
			FUZZ_CHECK((j == NULL) == undefined);
			json_decref(j);
		} else {
			FUZZ_CHECK(j == NULL);
			/* checking goes on past what it cannot see, maybe to
			 * another error further on */
			FUZZ_CHECK(rc == rb || rb == MSGPACK_VALUE_EKEY || rb == SIO_PKT_EATTACH);
		}
		if (rc != 0 || rb != 0)
			break;
		FUZZ_CHECK(build.pos > pos && build.pos <= len);
		pos = build.pos;
	}
	FUZZ_CHECK(only.nbufs == 0 && build.nbufs <= max_bufs);
	msgpack_reader_finish(&build);
	msgpack_reader_finish(&only);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgpack_value v;
	unsigned opt, flags;
	uint32_t max_depth, max_bufs;
	const uint8_t *msg;
	size_t len;

	if (size == 0)
		return 0;
	opt = data[0];
	flags = opt & 3;
	max_depth = opt & 4 ? 1 + (opt >> 4) : SIO_PKT_MAX_DEPTH;
	max_bufs = opt & 8 ? opt >> 4 : 256;
	msg = data + 1;
	len = size - 1;

	if (decode(msg, len, max_depth, max_bufs, flags, &v) == 0) {
		check_accepted(msg, len, &v, max_depth, max_bufs, flags);
		msgpack_value_finish(&v);
		FUZZ_CHECK(value_is_zero(&v));
	}
	check_split(msg, len, max_depth, max_bufs, flags);
	return 0;
}
