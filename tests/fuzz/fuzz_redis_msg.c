/*
 * The Redis adapter's messages as a subscription hands them over
 * (cluster/redis_msg.c): JSON when the first byte is '{', else msgpack.
 * Each input is one message, given in a heap block of exactly its length.
 * A message that decodes is read as a broadcast ([uid, packet, opts]) and
 * as a request ({opts}) the way the adapter reads them: every selection
 * read is a NULL-terminated list of NUL-terminated names. Then it is
 * written back in its own format and read again: the same value (the
 * binaries too, in the same order).
 */
#include "fuzz.h"

#include "cluster/redis_msg.h"
#include "protocol/json.h"

static void check_names(const char *const *names)
{
	FUZZ_CHECK(names != NULL);
	for (size_t i = 0; names[i]; i++)
		FUZZ_CHECK(strlen(names[i]) < ((size_t)1 << 31));
}

static void check_target(const json_t *opts)
{
	struct redis_msg_target mt;
	if (redis_msg_target_read(opts, &mt)) {
		check_names(mt.t.rooms);
		check_names(mt.t.except);
	}
	redis_msg_target_finish(&mt);
}

static int dump_out(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *msg = fuzz_copy(data, size);
	struct msgpack_value v;
	bool ok = redis_msg_decode(msg, size, &v);
	if (!ok) {
		FUZZ_CHECK(v.json == NULL && v.bufs == NULL && v.nbufs == 0);
		free(msg);
		return 0;
	}
	FUZZ_CHECK(v.json != NULL);
	json_t *pdata, *opts;
	if (redis_msg_broadcast(v.json, "self", "/", &pdata, &opts)) {
		FUZZ_CHECK(json_is_array(pdata) && json_array_size(pdata) > 0);
		check_target(opts);
	}
	check_target(json_object_get(v.json, "opts"));
	check_target(v.json);

	/* written back and read again: the same value */
	struct buf out = {0};
	bool json = size && msg[0] == '{';
	int r = json ? jsonr_dump(v.json, dump_out, &out)
	             : msgpack_value_encode(v.json, v.bufs, v.nbufs, REDIS_MSG_MAX_DEPTH + 8, &out);
	FUZZ_CHECK(r == 0);
	struct msgpack_value w;
	if (json) {
		/* an object dumps to text starting with '{' */
		FUZZ_CHECK(out.len && out.data[0] == '{');
	}
	if (!json && out.len && out.data[0] == '{') {
		/* the msgpack of the integer 123 is the byte '{' (fixint): read
		 * back, it is taken for JSON, as the reference takes it; the
		 * value itself (not a message of the adapter) is not compared */
		FUZZ_CHECK(json_is_integer(v.json) && json_integer_value(v.json) == '{');
		buf_free(&out);
		msgpack_value_finish(&v);
		free(msg);
		return 0;
	}
	FUZZ_CHECK(redis_msg_decode(out.data, out.len, &w));
	FUZZ_CHECK(json_equal(v.json, w.json));
	FUZZ_CHECK(v.nbufs == w.nbufs);
	for (uint32_t i = 0; i < v.nbufs; i++)
		FUZZ_CHECK(fuzz_bytes_equal(v.bufs[i].data, v.bufs[i].len, w.bufs[i].data,
		                            w.bufs[i].len));
	msgpack_value_finish(&w);
	buf_free(&out);
	msgpack_value_finish(&v);
	free(msg);
	return 0;
}
