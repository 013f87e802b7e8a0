/*
 * Vectors for protocol/msgpack_value.c. The VEC table is what notepack.io
 * 2.2.0 (V2, socket.io-msgpack-parser's) and 3.0.1 (V3, the Redis
 * adapter's and emitter's) write for the values of msgpack_value_peer.js
 * (its "c" mode printed them): the bytes, the value sioc must read from
 * them and the bytes sioc must write for that value. Values are written
 * "tagged": each binary as {"$bin":"<hex>"} (the test turns them into
 * placeholders and buffers). Hex strings may hold (xx*n): n bytes xx.
 * Every message is decoded from a heap block of exactly its length, so
 * that the sanitizers catch a read past it.
 *
 * With the path of msgpack_value_peer.js and of tests/node_modules as
 * arguments (meson gives them), the test also runs node live: the same
 * cases and the large ones, and then hands everything sioc encoded to both
 * notepack versions, which must read back the value sioc meant. Without
 * node or the modules that part is skipped (and says so).
 */
#include "protocol/msgpack_value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

#define V2 0u
#define V3 (MSGPACK_VALUE_INT_KEYS | MSGPACK_VALUE_TIMESTAMP)
#define ALL V3
#define DEPTH 4096
#define MAX_BUFS 100000

static char *tohex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static void print_json(const char *label, const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	fprintf(stderr, "  %s %.600s\n", label, s ? s : "(null)");
	free(s);
}

/* Growable buffers beside a tree. */
struct bufs {
	struct sio_pkt_buf *b;
	uint32_t n;
};

static void bufs_add(struct bufs *bs, const uint8_t *p, size_t n)
{
	bs->b = realloc(bs->b, (bs->n + 1) * sizeof(*bs->b));
	if (!bs->b)
		out_of_memory();
	bs->b[bs->n].data = copy_exact(p, n);
	bs->b[bs->n].len = n;
	bs->n++;
}

static void bufs_free(struct bufs *bs)
{
	msgpack_bufs_free(bs->b, bs->n);
	bs->b = NULL;
	bs->n = 0;
}

/* A copy of v in which each placeholder naming one of the n buffers is
 * {"$bin":"<hex>"}. Recursion is fine in a test. */
static json_t *tag(const json_t *v, const struct sio_pkt_buf *bufs, uint32_t n)
{
	json_t *out;

	if (json_is_object(v)) {
		int64_t k = sio_pkt_placeholder_num(v, n);
		const char *key;
		json_t *m;

		if (k >= 0) {
			char *hex = tohex(bufs[k].data, bufs[k].len);

			out = json_pack("{ss}", "$bin", hex);
			free(hex);
			return out;
		}
		out = json_object();
		json_object_foreach((json_t *)v, key, m)
		        json_object_set_new(out, key, tag(m, bufs, n));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		for (size_t i = 0; i < json_array_size(v); i++)
			json_array_append_new(out, tag(json_array_get(v, i), bufs, n));
		return out;
	}
	return json_deep_copy(v);
}

/* The reverse: each {"$bin"} a placeholder numbered in the tree's order,
 * its bytes appended to bs. */
static json_t *untag(const json_t *v, struct bufs *bs)
{
	json_t *out;

	if (json_is_object(v)) {
		const char *key;
		json_t *m;

		if (json_object_size(v) == 1 && json_is_string(json_object_get(v, "$bin"))) {
			size_t len;
			uint8_t *b = unhex(json_string_value(json_object_get(v, "$bin")), &len);

			bufs_add(bs, b, len);
			free(b);
			return sio_pkt_placeholder_new(bs->n - 1);
		}
		out = json_object();
		json_object_foreach((json_t *)v, key, m)
		        json_object_set_new(out, key, untag(m, bs));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		for (size_t i = 0; i < json_array_size(v); i++)
			json_array_append_new(out, untag(json_array_get(v, i), bs));
		return out;
	}
	return json_deep_copy(v);
}

/* Decodes a heap copy of exactly len bytes. */
static int decode_copy(const uint8_t *in, size_t len, uint32_t max_depth, uint32_t max_bufs,
                       unsigned flags, struct msgpack_value *v)
{
	uint8_t *buf = copy_exact(in, len);
	int r;

	memset(v, 0xa5, sizeof(*v));
	r = msgpack_value_decode(buf, len, max_depth, max_bufs, flags, v);
	free(buf);
	return r;
}

static int value_is_zero(const struct msgpack_value *v)
{
	return !v->json && !v->bufs && v->nbufs == 0;
}

/* Whether the placeholders of v name each buffer once, in the tree's
 * order: as the decoder numbers them. */
static void placeholders_in_order(const json_t *v, uint32_t n, uint32_t *next, int *ok)
{
	if (json_is_object(v)) {
		int64_t k = sio_pkt_placeholder_num(v, n);
		const char *key;
		json_t *m;

		if (k >= 0) {
			*ok &= k == (int64_t)(*next)++;
			return;
		}
		json_object_foreach((json_t *)v, key, m) placeholders_in_order(m, n, next, ok);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			placeholders_in_order(json_array_get(v, i), n, next, ok);
	}
}

/* Decodes wire (with flags) and compares with want (tagged): the value,
 * buffers numbered in order, a new reference. Returns the decode result. */
static int check_decode_to(int line, const uint8_t *wire, size_t len, unsigned flags,
                           const json_t *want)
{
	struct msgpack_value v;
	int r = decode_copy(wire, len, DEPTH, MAX_BUFS, flags, &v);

	if (!check(r == 0, line, "decode")) {
		fprintf(stderr, "  %s\n", msgpack_value_strerror(r));
		CHECK(value_is_zero(&v));
		return r;
	}
	json_t *got = tag(v.json, v.bufs, v.nbufs);
	uint32_t next = 0;
	int ok = 1;

	if (!check(json_equal(got, want), line, "decoded value")) {
		print_json("got ", got);
		print_json("want", want);
	}
	/* jansson's null, true and false are shared, their count unused */
	check(v.json->refcount == 1 || json_is_null(v.json) || json_is_boolean(v.json), line,
	      "a new reference");
	placeholders_in_order(v.json, v.nbufs, &next, &ok);
	check(ok && next == v.nbufs, line, "buffers numbered in the message's order");
	check((v.nbufs == 0) == (v.bufs == NULL), line, "bufs NULL exactly when none");
	for (uint32_t i = 0; i < v.nbufs; i++)
		check(v.bufs[i].data != NULL, line, "buffer data");
	json_decref(got);
	msgpack_value_finish(&v);
	check(value_is_zero(&v), line, "finish zeroes");
	return 0;
}

/* Every proper prefix is cut short; one byte more is trailing. */
static void check_cuts(int line, const uint8_t *wire, size_t len, unsigned flags)
{
	struct msgpack_value v;
	size_t step = len > 4096 ? 509 : 1;
	uint8_t *more;

	for (size_t cut = 0; cut < len; cut = cut + step < len ? cut + step
	                                      : cut + 1 < len  ? len - 1
	                                                       : len) {
		int r = decode_copy(wire, cut, DEPTH, MAX_BUFS, flags, &v);

		if (!check(r == MSGPACK_VALUE_ETRUNCATED, line, "a prefix is truncated"))
			fprintf(stderr, "  cut %zu of %zu: %d\n", cut, len, r);
		check(value_is_zero(&v), line, "zeroed on error");
	}
	more = xmalloc(len + 1);
	memcpy(more, wire, len);
	more[len] = 0xc0;
	check(decode_copy(more, len + 1, DEPTH, MAX_BUFS, flags, &v) == MSGPACK_VALUE_ETRAILING,
	      line, "a byte more is trailing");
	free(more);
}

/* Encodes want (tagged) after a few bytes already in the buffer: they
 * stay, and the bytes after them are want_wire. Returns the encoding (a
 * malloc'd copy) in *out. */
static void check_encode_to(int line, const json_t *want, const uint8_t *want_wire, size_t want_len,
                            uint8_t **out, size_t *out_len)
{
	struct bufs bs = {0};
	json_t *v = untag(want, &bs);
	struct buf b = {0};
	int r;

	CHECK(buf_append(&b, "pre", 3) == 0);
	r = msgpack_value_encode(v, bs.b, bs.n, DEPTH, &b);
	if (check(r == 0, line, "encode") && check(b.len >= 3 && memcmp(b.data, "pre", 3) == 0,
	                                           line, "what was in the buffer stays")) {
		if (want_wire && !check(bytes_equal(b.data + 3, b.len - 3, want_wire, want_len),
		                        line, "encoded bytes")) {
			char *hex = tohex(b.data + 3, b.len - 3 < 300 ? b.len - 3 : 300);

			fprintf(stderr, "  got %s\n", hex);
			free(hex);
		}
		if (out) {
			*out = copy_exact(b.data + 3, b.len - 3);
			*out_len = b.len - 3;
		}
	} else {
		fprintf(stderr, "  %s\n", msgpack_value_strerror(r));
		if (out) {
			*out = NULL;
			*out_len = 0;
		}
	}
	buf_free(&b);
	bufs_free(&bs);
	json_decref(v);
}

/* Lines "<hex>\t<tagged JSON>" of what sioc encoded, for notepack to read
 * back (run_peer_check()). */
static struct buf encoded;

static void note_encoded(const uint8_t *p, size_t n, const json_t *tagged)
{
	char *hex = tohex(p, n), *json = json_dumps(tagged, JSON_ENCODE_ANY | JSON_COMPACT);

	puts_(&encoded, hex);
	puts_(&encoded, "\t");
	puts_(&encoded, json);
	puts_(&encoded, "\n");
	free(hex);
	free(json);
}

/*
 * One case that notepack wrote: wire decodes (with flags, and with every
 * flag) to want; its cuts are refused; want encodes to again (the bytes
 * notepack writes for the value as JSON holds it), which decodes to want
 * too.
 */
static void check_case(int line, unsigned flags, const char *want_json, const uint8_t *wire,
                       size_t len, const uint8_t *again, size_t again_len)
{
	json_t *want = json_want(want_json, line);
	uint8_t *enc;
	size_t enc_len;

	vectors++;
	check_decode_to(line, wire, len, flags, want);
	if (flags != ALL)
		check_decode_to(line, wire, len, ALL, want);
	if (len < 70000)
		check_cuts(line, wire, len, flags);
	check_encode_to(line, want, again, again_len, &enc, &enc_len);
	if (enc) {
		check_decode_to(line, enc, enc_len, V2, want);
		note_encoded(enc, enc_len, want);
		free(enc);
	}
	json_decref(want);
}

struct vec {
	int line;
	unsigned flags;
	const char *json;  /* the value sioc reads, tagged */
	const char *wire;  /* what notepack wrote */
	const char *again; /* what sioc writes for json; NULL: wire */
};

#define VEC(flags, json, wire, again)                                                              \
	{                                                                                          \
		__LINE__, flags, json, wire, again                                                 \
	}
#define SAME NULL

/* clang-format off */
static const struct vec notepack_vectors[] = {
	/* from msgpack_value_peer.js c */
	VEC(V2, "[\"aB3dE6\",{\"type\":2,\"data\":[\"chat message\",\"hello\",1,{\"a\":[true,false,null]}],\"nsp\":\"/\"},{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}}]",
	    "93a661423364453683a47479706502a46461746194ac63686174206d657373616765a568656c6c6f0181a16193c3c2c0a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380",
	    SAME),
	VEC(V3, "[\"aB3dE6\",{\"type\":2,\"data\":[\"chat message\",\"hello\",1,{\"a\":[true,false,null]}],\"nsp\":\"/\"},{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}}]",
	    "93a661423364453683a47479706502a46461746194ac63686174206d657373616765a568656c6c6f0181a16193c3c2c0a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380",
	    SAME),
	VEC(V2, "[\"aB3dE6\",{\"type\":2,\"data\":[\"file\",{\"$bin\":\"010203\"},{\"nested\":{\"$bin\":\"\"}}],\"nsp\":\"/chat\"},{\"rooms\":[],\"except\":[\"sid1\",\"sid2\"],\"flags\":{\"volatile\":true,\"compress\":false,\"timeout\":5000}}]",
	    "93a661423364453683a47479706502a46461746193a466696c65c40301020381a66e6573746564c400a36e7370a52f6368617483a5726f6f6d7390a665786365707492a473696431a473696432a5666c61677383a8766f6c6174696c65c3a8636f6d7072657373c2a774696d656f7574cd1388",
	    SAME),
	VEC(V3, "[\"aB3dE6\",{\"type\":2,\"data\":[\"file\",{\"$bin\":\"010203\"},{\"nested\":{\"$bin\":\"\"}}],\"nsp\":\"/chat\"},{\"rooms\":[],\"except\":[\"sid1\",\"sid2\"],\"flags\":{\"volatile\":true,\"compress\":false,\"timeout\":5000}}]",
	    "93a661423364453683a47479706502a46461746193a466696c65c40301020381a66e6573746564c400a36e7370a52f6368617483a5726f6f6d7390a665786365707492a473696431a473696432a5666c61677383a8766f6c6174696c65c3a8636f6d7072657373c2a774696d656f7574cd1388",
	    SAME),
	VEC(V2, "[\"aB3dE6\",{\"type\":2,\"data\":[\"x\",null,{\"d\":\"2024-02-29T12:34:56.789Z\"}],\"nsp\":\"/\"},{\"rooms\":[\"a\",\"b\"],\"except\":[],\"flags\":{\"binary\":true}}]",
	    "93a661423364453683a47479706502a46461746193a178d4000082a175d40000a164d7000000018df4dc5495a36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677382a56c6f63616cd40000a662696e617279c3",
	    "93a661423364453683a47479706502a46461746193a178c081a164b8323032342d30322d32395431323a33343a35362e3738395aa36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677381a662696e617279c3"),
	VEC(V3, "[\"aB3dE6\",{\"type\":2,\"data\":[\"x\",null,{\"d\":\"2024-02-29T12:34:56.789Z\"}],\"nsp\":\"/\"},{\"rooms\":[\"a\",\"b\"],\"except\":[],\"flags\":{\"binary\":true}}]",
	    "93a661423364453683a47479706502a46461746193a178c081a164d7ffbc1cbd0065e079f0a36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677381a662696e617279c3",
	    "93a661423364453683a47479706502a46461746193a178c081a164b8323032342d30322d32395431323a33343a35362e3738395aa36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677381a662696e617279c3"),
	VEC(V2, "{\"uid\":\"aB3dE6\",\"requestId\":\"xyz789\",\"type\":7,\"packet\":{\"type\":2,\"data\":[\"ping\",{\"$bin\":\"6279746573\"}],\"nsp\":\"/\",\"id\":3},\"opts\":{\"rooms\":[\"r\"],\"except\":[],\"flags\":{\"timeout\":1000}}}",
	    "85a3756964a6614233644536a9726571756573744964a678797a373839a47479706507a67061636b657484a47479706502a46461746192a470696e67c4056279746573a36e7370a12fa2696403a46f70747383a5726f6f6d7391a172a665786365707490a5666c61677381a774696d656f7574cd03e8",
	    SAME),
	VEC(V3, "{\"uid\":\"aB3dE6\",\"requestId\":\"xyz789\",\"type\":7,\"packet\":{\"type\":2,\"data\":[\"ping\",{\"$bin\":\"6279746573\"}],\"nsp\":\"/\",\"id\":3},\"opts\":{\"rooms\":[\"r\"],\"except\":[],\"flags\":{\"timeout\":1000}}}",
	    "85a3756964a6614233644536a9726571756573744964a678797a373839a47479706507a67061636b657484a47479706502a46461746192a470696e67c4056279746573a36e7370a12fa2696403a46f70747383a5726f6f6d7391a172a665786365707490a5666c61677381a774696d656f7574cd03e8",
	    SAME),
	VEC(V2, "{\"type\":8,\"requestId\":\"xyz789\",\"packet\":[{\"$bin\":\"61636b\"},\"x\",42]}",
	    "83a47479706508a9726571756573744964a678797a373839a67061636b657493c40361636ba1782a",
	    SAME),
	VEC(V3, "{\"type\":8,\"requestId\":\"xyz789\",\"packet\":[{\"$bin\":\"61636b\"},\"x\",42]}",
	    "83a47479706508a9726571756573744964a678797a373839a67061636b657493c40361636ba1782a",
	    SAME),
	VEC(V2, "{\"type\":6,\"requestId\":\"req\",\"data\":[\"event\",{\"a\":1},{\"$bin\":\"090909\"}]}",
	    "83a47479706506a9726571756573744964a3726571a46461746193a56576656e7481a16101c403090909",
	    SAME),
	VEC(V3, "{\"type\":6,\"requestId\":\"req\",\"data\":[\"event\",{\"a\":1},{\"$bin\":\"090909\"}]}",
	    "83a47479706506a9726571756573744964a3726571a46461746193a56576656e7481a16101c403090909",
	    SAME),
	VEC(V2, "null",
	    "c0",
	    SAME),
	VEC(V3, "null",
	    "c0",
	    SAME),
	VEC(V2, "true",
	    "c3",
	    SAME),
	VEC(V3, "true",
	    "c3",
	    SAME),
	VEC(V2, "false",
	    "c2",
	    SAME),
	VEC(V3, "false",
	    "c2",
	    SAME),
	VEC(V2, "0",
	    "00",
	    SAME),
	VEC(V3, "0",
	    "00",
	    SAME),
	VEC(V2, "-1",
	    "ff",
	    SAME),
	VEC(V3, "-1",
	    "ff",
	    SAME),
	VEC(V2, "1.5",
	    "cb3ff8000000000000",
	    SAME),
	VEC(V3, "1.5",
	    "cb3ff8000000000000",
	    SAME),
	VEC(V2, "\"\"",
	    "a0",
	    SAME),
	VEC(V3, "\"\"",
	    "a0",
	    SAME),
	VEC(V2, "\"text\"",
	    "a474657874",
	    SAME),
	VEC(V3, "\"text\"",
	    "a474657874",
	    SAME),
	VEC(V2, "{\"$bin\":\"ff\"}",
	    "c401ff",
	    SAME),
	VEC(V3, "{\"$bin\":\"ff\"}",
	    "c401ff",
	    SAME),
	VEC(V2, "[]",
	    "90",
	    SAME),
	VEC(V3, "[]",
	    "90",
	    SAME),
	VEC(V2, "{}",
	    "80",
	    SAME),
	VEC(V3, "{}",
	    "80",
	    SAME),
	VEC(V2, "[0,1,127,128,255,256,65535,65536,4294967295,4294967296,9007199254740991]",
	    "9b00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf001fffffffffffff",
	    SAME),
	VEC(V3, "[0,1,127,128,255,256,65535,65536,4294967295,4294967296,9007199254740991]",
	    "9b00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf001fffffffffffff",
	    SAME),
	VEC(V2, "[-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9007199254740991]",
	    "9affe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000001",
	    SAME),
	VEC(V3, "[-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9007199254740991]",
	    "9affe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000001",
	    SAME),
	VEC(V2, "[1.5,-2.25,0.1,123456.789,-1e-300,5e-324,0]",
	    "97cb3ff8000000000000cbc002000000000000cb3fb999999999999acb40fe240c9fbe76c9cb81a56e1fc2f8f359cb0000000000000001cf0000000000000000",
	    "97cb3ff8000000000000cbc002000000000000cb3fb999999999999acb40fe240c9fbe76c9cb81a56e1fc2f8f359cb000000000000000100"),
	VEC(V3, "[1.5,-2.25,0.1,123456.789,-1e-300,5e-324,0]",
	    "97cb3ff8000000000000cbc002000000000000cb3fb999999999999acb40fe240c9fbe76c9cb81a56e1fc2f8f359cb0000000000000001cf0000000000000000",
	    "97cb3ff8000000000000cbc002000000000000cb3fb999999999999acb40fe240c9fbe76c9cb81a56e1fc2f8f359cb000000000000000100"),
	VEC(V2, "[null,null,null,0]",
	    "94cb7ff8000000000000cb7ff0000000000000cbfff000000000000000",
	    "94c0c0c000"),
	VEC(V3, "[null,null,null,0]",
	    "94cb7ff8000000000000cb7ff0000000000000cbfff000000000000000",
	    "94c0c0c000"),
	VEC(V2, "[\"é\",\"😀\",\"a\\u0000b\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\",\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\",\"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\"]",
	    "97a2c3a9a4f09f9880a3610062bf(78*31)d920(79*32)d9ff(7a*255)da0100(77*256)",
	    SAME),
	VEC(V3, "[\"é\",\"😀\",\"a\\u0000b\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\",\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\",\"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\"]",
	    "97a2c3a9a4f09f9880a3610062bf(78*31)d920(79*32)d9ff(7a*255)da0100(77*256)",
	    SAME),
	VEC(V2, "[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],[[[]]]]",
	    "939f000000000000000000000000000000dc0010(01*16)919190",
	    SAME),
	VEC(V3, "[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],[[[]]]]",
	    "939f000000000000000000000000000000dc0010(01*16)919190",
	    SAME),
	VEC(V2, "[{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14},{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15},{\"z\":1,\"a\":2}]",
	    "938fa26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ede0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f82a17a01a16102",
	    SAME),
	VEC(V3, "[{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14},{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15},{\"z\":1,\"a\":2}]",
	    "938fa26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ede0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f82a17a01a16102",
	    SAME),
	VEC(V2, "{\"1\":\"one\",\"2\":\"two\",\"b\":1,\"é\":3,\"\":4,\"😀\":5}",
	    "86a131a36f6e65a132a374776fa16201a2c3a903a004a4f09f988005",
	    SAME),
	VEC(V3, "{\"1\":\"one\",\"2\":\"two\",\"b\":1,\"é\":3,\"\":4,\"😀\":5}",
	    "86a131a36f6e65a132a374776fa16201a2c3a903a004a4f09f988005",
	    SAME),
	VEC(V2, "{\"a\":[1,{\"b\":[[{\"$bin\":\"64656570\"}]]}],\"c\":{\"$bin\":\"797a\"}}",
	    "82a161920181a1629191c40464656570a163c402797a",
	    SAME),
	VEC(V3, "{\"a\":[1,{\"b\":[[{\"$bin\":\"64656570\"}]]}],\"c\":{\"$bin\":\"797a\"}}",
	    "82a161920181a1629191c40464656570a163c402797a",
	    SAME),
	VEC(V2, "{\"_placeholder\":true,\"num\":0}",
	    "82ac5f706c616365686f6c646572c3a36e756d00",
	    SAME),
	VEC(V3, "{\"_placeholder\":true,\"num\":0}",
	    "82ac5f706c616365686f6c646572c3a36e756d00",
	    SAME),
	VEC(V2, "[null,{\"b\":1},[null]]",
	    "93d4000082a161d40000a1620191d40000",
	    "93c081a1620191c0"),
	VEC(V3, "[null,{\"b\":1},[null]]",
	    "93c081a1620191c0",
	    SAME),
	VEC(V2, "[\"2024-01-01T00:00:00.000Z\",\"2024-02-29T12:34:56.789Z\",\"1970-01-01T00:00:00.000Z\"]",
	    "93d7000000018cc251f400d7000000018df4dc5495d7000000000000000000",
	    "93b8323032342d30312d30315430303a30303a30302e3030305ab8323032342d30322d32395431323a33343a35362e3738395ab8313937302d30312d30315430303a30303a30302e3030305a"),
	VEC(V3, "[\"2024-01-01T00:00:00.000Z\",\"2024-02-29T12:34:56.789Z\",\"1970-01-01T00:00:00.000Z\"]",
	    "93d6ff65920080d7ffbc1cbd0065e079f0d6ff00000000",
	    "93b8323032342d30312d30315430303a30303a30302e3030305ab8323032342d30322d32395431323a33343a35362e3738395ab8313937302d30312d30315430303a30303a30302e3030305a"),
	VEC(V2, "[\"1969-12-31T23:59:59.999Z\",\"-000001-01-01T00:00:00.000Z\",\"+010000-01-01T00:00:00.000Z\"]",
	    "93d700ffffffffffffffffd700ffffc76e394a7400d7000000e677d21fdc00",
	    "93b8313936392d31322d33315432333a35393a35392e3939395abb2d3030303030312d30312d30315430303a30303a30302e3030305abb2b3031303030302d30312d30315430303a30303a30302e3030305a"),
	VEC(V3, "[\"1969-12-31T23:59:59.999Z\",\"-000001-01-01T00:00:00.000Z\",\"+010000-01-01T00:00:00.000Z\"]",
	    "93c70cff3b8b87c0ffffffffffffffffc70cff00000000fffffff184aa5080c70cff000000000000003afff44180",
	    "93b8313936392d31322d33315432333a35393a35392e3939395abb2d3030303030312d30312d30315430303a30303a30302e3030305abb2b3031303030302d30312d30315430303a30303a30302e3030305a"),
	VEC(V2, "[\"+275760-09-13T00:00:00.000Z\",\"-271821-04-20T00:00:00.000Z\",\"2106-02-07T06:28:15.000Z\"]",
	    "93d700001eb208c2dc0000d700ffe14df73d240000d700000003e7fffffc18",
	    "93bb2b3237353736302d30392d31335430303a30303a30302e3030305abb2d3237313832312d30342d32305430303a30303a30302e3030305ab8323130362d30322d30375430363a32383a31352e3030305a"),
	VEC(V3, "[\"+275760-09-13T00:00:00.000Z\",\"-271821-04-20T00:00:00.000Z\",\"2106-02-07T06:28:15.000Z\"]",
	    "93c70cff00000000000007dba8218000c70cff00000000fffff82457de8000d6ffffffffff",
	    "93bb2b3237353736302d30392d31335430303a30303a30302e3030305abb2d3237313832312d30342d32305430303a30303a30302e3030305ab8323130362d30322d30375430363a32383a31352e3030305a"),
	VEC(V2, "[\"2106-02-07T06:28:16.000Z\",\"2514-05-30T01:53:04.000Z\",\"2514-05-30T01:53:03.999Z\"]",
	    "93d700000003e800000000d70000000fa000000000d70000000f9fffffffff",
	    "93b8323130362d30322d30375430363a32383a31362e3030305ab8323531342d30352d33305430313a35333a30342e3030305ab8323531342d30352d33305430313a35333a30332e3939395a"),
	VEC(V3, "[\"2106-02-07T06:28:16.000Z\",\"2514-05-30T01:53:04.000Z\",\"2514-05-30T01:53:03.999Z\"]",
	    "93d7ff0000000100000000c70cff000000000000000400000000d7ffee2e1f03ffffffff",
	    "93b8323130362d30322d30375430363a32383a31362e3030305ab8323531342d30352d33305430313a35333a30342e3030305ab8323531342d30352d33305430313a35333a30332e3939395a"),
	VEC(V2, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	    "(91*499)90",
	    SAME),
	VEC(V3, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	    "(91*499)90",
	    SAME),
};
/* clang-format on */

static void test_notepack_vectors(void)
{
	for (size_t i = 0; i < sizeof(notepack_vectors) / sizeof(notepack_vectors[0]); i++) {
		const struct vec *v = &notepack_vectors[i];
		size_t len, again_len;
		uint8_t *wire = unhex(v->wire, &len);
		uint8_t *again = v->again ? unhex(v->again, &again_len) : NULL;

		check_case(v->line, v->flags, v->json, wire, len, again ? again : wire,
		           again ? again_len : len);
		free(again);
		free(wire);
	}
}

/* Hand-written messages: what sioc reads, or refuses. */
struct hand {
	int line;
	unsigned flags;
	const char *wire;
	int result;
	const char *json; /* tagged, when result is 0 */
};

#define OK(flags, wire, json)                                                                      \
	{                                                                                          \
		__LINE__, flags, wire, 0, json                                                     \
	}
#define ERR(flags, wire, e)                                                                        \
	{                                                                                          \
		__LINE__, flags, wire, e, NULL                                                     \
	}
#define ETRUNC MSGPACK_VALUE_ETRUNCATED
#define EKEY MSGPACK_VALUE_EKEY
#define EEXT MSGPACK_VALUE_EEXT
#define EUTF8 MSGPACK_VALUE_EUTF8
#define PH_MAP "82ac5f706c616365686f6c646572c3a36e756d00" /* {"_placeholder":true,"num":0} */

/* clang-format off */
static const struct hand hand_vectors[] = {
	/* the frame */
	ERR(ALL, "", ETRUNC),
	ERR(ALL, "c1", MSGPACK_VALUE_EFORMAT),
	ERR(ALL, "9201c1", MSGPACK_VALUE_EFORMAT),
	ERR(ALL, "c0c0", MSGPACK_VALUE_ETRAILING),
	ERR(ALL, "9101c0", MSGPACK_VALUE_ETRAILING),
	/* huge declared counts and lengths with nothing behind them */
	ERR(ALL, "ddffffffff", ETRUNC),
	ERR(ALL, "dfffffffff", ETRUNC),
	ERR(ALL, "dbffffffff", ETRUNC),
	ERR(ALL, "c6ffffffff", ETRUNC),
	ERR(ALL, "c9ffffffff00", ETRUNC),
	ERR(ALL, "dc0003c0c0", ETRUNC),
	ERR(ALL, "de0002c0c0c0", ETRUNC), /* a map of 2 needs 4 bytes */
	/* ext types notepack does not write; notepack: [type, <Buffer>] */
	ERR(ALL, "c7010500", EEXT),
	ERR(ALL, "d5000000", EEXT),
	ERR(ALL, "d40100", EEXT),
	ERR(ALL, "d7010000000000000000", EEXT),
	ERR(ALL, "d800(00*16)", EEXT),
	ERR(ALL, "d60000000000", EEXT),
	ERR(ALL, "c70bff(00*11)", EEXT),   /* a timestamp 96 is 12 bytes */
	ERR(ALL, "c8000cff(00*12)", EEXT), /* and an ext 8 */
	/* notepack 3's timestamps only with MSGPACK_VALUE_TIMESTAMP */
	ERR(V2, "d6ff00000000", EEXT),
	ERR(V2, "d7ff0000000000000000", EEXT),
	ERR(V2, "c70cff(00*12)", EEXT),
	OK(ALL, "d6ff00000000", "\"1970-01-01T00:00:00.000Z\""),
	OK(ALL, "d6ffffffffff", "\"2106-02-07T06:28:15.000Z\""),
	OK(ALL, "d7ff0000000000000000", "\"1970-01-01T00:00:00.000Z\""),
	/* 999999 ns: notepack's 0.999999 ms, truncated */
	OK(ALL, "d7ff003d08fc00000000", "\"1970-01-01T00:00:00.000Z\""),
	/* 2^30-1 ns, past a second: 1073.741823 ms */
	OK(ALL, "d7fffffffffc00000000", "\"1970-01-01T00:00:01.073Z\""),
	OK(ALL, "d7ff00000003ffffffff", "\"2514-05-30T01:53:03.000Z\""),
	OK(ALL, "c70cff00000000ffffffffffffffff", "\"1969-12-31T23:59:59.000Z\""),
	OK(ALL, "c70cff0000000000000000(00*4)", "\"1970-01-01T00:00:00.000Z\""),
	/* Date's range: 8.64e15 ms passes, 1 ms more is an invalid Date */
	OK(ALL, "c70cff00000000000007dba8218000", "\"+275760-09-13T00:00:00.000Z\""),
	OK(ALL, "c70cff000f4240000007dba8218000", "null"),
	OK(ALL, "c70cff00000000fffff82457de8000", "\"-271821-04-20T00:00:00.000Z\""),
	OK(ALL, "c70cff000f4240fffff82457de7fff", "null"),
	OK(ALL, "c70cff000000007fffffffffffffff", "null"),
	/* notepack 2.2's Date past the range */
	OK(V2, "d700001eb208c2dc0001", "null"),
	/* undefined: null in an array and as the whole value, absent in a map */
	OK(V2, "d40000", "null"),
	OK(V2, "d400ff", "null"),
	OK(V2, "92d40000d40000", "[null,null]"),
	OK(V2, "82a161d40000a16202", "{\"b\":2}"),
	/* a repeated key whose first value was undefined is not seen */
	OK(V2, "82a161d40000a16102", "{\"a\":2}"),
	/* map keys */
	ERR(V2, "810102", EKEY),
	OK(ALL, "810102", "{\"1\":2}"),
	OK(ALL, "81ff02", "{\"-1\":2}"),
	OK(ALL, "83d08001d1800003a178c0", "{\"-128\":1,\"-32768\":3,\"x\":null}"),
	OK(ALL, "81cf001fffffffffffffc0", "{\"9007199254740991\":null}"),
	OK(ALL, "81d3ffe0000000000001c0", "{\"-9007199254740991\":null}"),
	ERR(ALL, "81cf0020000000000000c0", EKEY),
	ERR(ALL, "81d3ffe0000000000000c0", EKEY),
	ERR(ALL, "81cfffffffffffffffffc0", EKEY),
	ERR(ALL, "81cb3ff0000000000000c0", EKEY), /* notepack: "1" */
	ERR(ALL, "81c0c0", EKEY),                 /* notepack: "null" */
	ERR(ALL, "81c3c0", EKEY),
	ERR(ALL, "8190c0", EKEY),
	ERR(ALL, "8180c0", EKEY),
	ERR(ALL, "81c401aac0", EKEY),
	ERR(ALL, "82a131010102", EKEY), /* "1" and 1: the same key */
	ERR(ALL, "82a16101a16102", EKEY), /* notepack keeps the last */
	ERR(ALL, "81a2610001", EKEY),
	ERR(ALL, "81a1ff01", EUTF8),
	ERR(ALL, "9181a1ff01", EUTF8),
	/* strings */
	ERR(ALL, "a1ff", EUTF8),
	ERR(ALL, "a3eda080", EUTF8),
	ERR(ALL, "a1c3", EUTF8),
	ERR(ALL, "92a161d901c3", EUTF8),
	OK(ALL, "a46100c3a9", "\"a\\u0000\xc3\xa9\""),
	/* numbers: beyond int64 reals, as in JavaScript; float 32; NaN null */
	OK(ALL, "cfffffffffffffffff", "18446744073709551615.0"),
	OK(ALL, "cf8000000000000000", "9223372036854775808.0"),
	OK(ALL, "cf7fffffffffffffff", "9223372036854775807"),
	OK(ALL, "d38000000000000000", "-9223372036854775808"),
	OK(ALL, "94ca3fc00000ca80000000ca7fc00000ca7f800000", "[1.5,-0.0,null,null]"),
	OK(ALL, "93cb7ff8000000000000cbfff0000000000000cb8000000000000000", "[null,null,-0.0]"),
	OK(ALL, "98d0ffd080d18000d280000000ccffcdffffceffffffffd3ffffffffffffffff",
	   "[-1,-128,-32768,-2147483648,255,65535,4294967295,-1]"),
	/* forms larger than needed */
	OK(ALL, "99d90161da000162db0000000163dc000101dd0000000102de0001a16b03df00000001a16b04c50000cc05",
	   "[\"a\",\"b\",\"c\",[1],[2],{\"k\":3},{\"k\":4},{\"$bin\":\"\"},5]"),
	/* binary: bin and notepack 2.2's ArrayBuffer, numbered in order */
	OK(ALL, "93c40101c702000203c8000100ff", "[{\"$bin\":\"01\"},{\"$bin\":\"0203\"},{\"$bin\":\"ff\"}]"),
	/* a map like a placeholder beside binary would read as one */
	ERR(ALL, "92c40101" PH_MAP, SIO_PKT_EPLACEHOLDER),
	ERR(ALL, "92" PH_MAP "c40101", SIO_PKT_EPLACEHOLDER),
	ERR(ALL, "9281a7616e6f7468657282ac5f706c616365686f6c646572c3a36e756d05c400",
	    SIO_PKT_EPLACEHOLDER),
	OK(ALL, PH_MAP, "{\"_placeholder\":true,\"num\":0}"),
	OK(ALL, "92c4010182ac5f706c616365686f6c646572c2a36e756d00",
	   "[{\"$bin\":\"01\"},{\"_placeholder\":false,\"num\":0}]"),
};
/* clang-format on */

static void test_hand_vectors(void)
{
	for (size_t i = 0; i < sizeof(hand_vectors) / sizeof(hand_vectors[0]); i++) {
		const struct hand *h = &hand_vectors[i];
		struct msgpack_value v;
		size_t len;
		uint8_t *wire;
		int r;

		if (h->result == 0 && !h->json)
			continue;
		wire = unhex(h->wire, &len);
		vectors++;
		if (h->result == 0) {
			json_t *want = json_want(h->json, h->line);

			check_decode_to(h->line, wire, len, h->flags, want);
			check_cuts(h->line, wire, len, h->flags);
			json_decref(want);
		} else {
			r = decode_copy(wire, len, DEPTH, MAX_BUFS, h->flags, &v);
			if (!check(r == h->result, h->line, "decode result"))
				fprintf(stderr, "  got %d (%s), want %d (%s)\n", r,
				        msgpack_value_strerror(r), h->result,
				        msgpack_value_strerror(h->result));
			check(value_is_zero(&v), h->line, "zeroed on error");
		}
		free(wire);
	}
}

/* Encoding what notepack never writes: sioc's own values. */
struct enc {
	int line;
	const char *json; /* tagged, or with placeholders when bufs */
	const char *bufs; /* hex, '|' between buffers; NULL: json is tagged */
	const char *wire; /* NULL: only notepack reads it back (see below) */
	int result;
	const char *read; /* tagged: what notepack must read; NULL: json */
};

#define ENC(json, wire)                                                                            \
	{                                                                                          \
		__LINE__, json, NULL, wire, 0, NULL                                                \
	}
#define ENC_BUFS(json, bufs, wire, read)                                                           \
	{                                                                                          \
		__LINE__, json, bufs, wire, 0, read                                                \
	}
#define ENC_ERR(json, bufs, e)                                                                     \
	{                                                                                          \
		__LINE__, json, bufs, NULL, e, NULL                                                \
	}
#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"

/* clang-format off */
static const struct enc encode_vectors[] = {
	/* reals are float 64, even integral ones (notepack writes 1.0 and
	 * -0.0 as integers: JavaScript has no other 1) */
	ENC("[1.0,-0.0,1e300,-1.5]",
	    "94cb3ff0000000000000cb8000000000000000cb7e37e43c8800759ccbbff8000000000000"),
	/* int64 beyond 2^53, which JavaScript reads rounded */
	ENC("[9223372036854775807,-9223372036854775808,9007199254740993]",
	    "93cf7fffffffffffffffd38000000000000000cf0020000000000001"),
	/* the Redis adapter's message, as sioc builds it */
	ENC_BUFS("[\"uid\",{\"type\":2,\"data\":[\"ev\"," PH(0) ",{\"x\":" PH(1) "}],\"nsp\":\"/\"},"
	         "{\"rooms\":[\"r1\",\"r2\"],\"except\":[],\"flags\":{\"volatile\":true}}]",
	         "0102|",
	         "93a375696483a47479706502a46461746193a26576c402010281a178c400a36e7370a12f83a5726f6f6d7392a27231a27232a665786365707490a5666c61677381a8766f6c6174696c65c3",
	         NULL),
	/* a buffer named twice is written twice, one named never is not */
	ENC_BUFS("[" PH(1) "," PH(1) "]", "aa|bbbb|cc", "92c402bbbbc402bbbb",
	         "[{\"$bin\":\"bbbb\"},{\"$bin\":\"bbbb\"}]"),
	/* a placeholder's other members are not sent */
	ENC_BUFS("{\"a\":{\"_placeholder\":true,\"num\":0,\"extra\":1}}", "01", "81a161c40101",
	         "{\"a\":{\"$bin\":\"01\"}}"),
	/* without buffers nothing is a placeholder */
	ENC_BUFS("[" PH(0) "]", "", "9182ac5f706c616365686f6c646572c3a36e756d00",
	         "[{\"_placeholder\":true,\"num\":0}]"),
	/* with buffers, an object whose _placeholder is true must be one */
	ENC_ERR("[" PH(1) "]", "01", SIO_PKT_EPLACEHOLDER),
	ENC_ERR("[{\"_placeholder\":true}]", "01", SIO_PKT_EPLACEHOLDER),
	ENC_ERR("{\"k\":[1,{\"_placeholder\":true,\"num\":-1}]}", "01", SIO_PKT_EPLACEHOLDER),
	ENC_ERR("[{\"_placeholder\":true,\"num\":\"0\"}]", "01", SIO_PKT_EPLACEHOLDER),
	/* strings with NUL, keys of every UTF-8 length */
	ENC("{\"\":\"a\\u0000b\",\"\xc3\xa9\":[],\"\xf0\x9f\x98\x80\":{}}", "83a0a3610062a2c3a990a4f09f988080"),
};
/* clang-format on */

/* Buffers from hex text with '|' between them ("" is no buffer). */
static void bufs_parse(struct bufs *bs, const char *text)
{
	while (*text) {
		const char *bar = strchr(text, '|');
		size_t l = bar ? (size_t)(bar - text) : strlen(text), len;
		char *one = xmalloc(l + 1);
		uint8_t *b;

		memcpy(one, text, l);
		one[l] = '\0';
		b = unhex(one, &len);
		bufs_add(bs, b, len);
		free(b);
		free(one);
		text += l;
		if (bar && !*++text)
			bufs_add(bs, (const uint8_t *)"", 0); /* a trailing '|': an empty buffer */
	}
}

static void test_encode(void)
{
	for (size_t i = 0; i < sizeof(encode_vectors) / sizeof(encode_vectors[0]); i++) {
		const struct enc *e = &encode_vectors[i];
		json_t *j = json_want(e->json, e->line), *v, *read;
		struct bufs bs = {0};
		struct buf b = {0};
		uint8_t *want = NULL;
		size_t want_len = 0;
		int r;

		vectors++;
		if (e->bufs) {
			bufs_parse(&bs, e->bufs);
			v = json_incref(j);
		} else {
			v = untag(j, &bs);
		}
		CHECK(buf_append(&b, "pre", 3) == 0);
		r = msgpack_value_encode(v, bs.b, bs.n, DEPTH, &b);
		if (!check(r == e->result, e->line, "encode result"))
			fprintf(stderr, "  got %d (%s)\n", r, msgpack_value_strerror(r));
		if (r == 0) {
			want = unhex(e->wire, &want_len);
			if (!check(bytes_equal(b.data + 3, b.len - 3, want, want_len), e->line,
			           "encoded bytes")) {
				char *hex = tohex(b.data + 3, b.len - 3);

				fprintf(stderr, "  got %s\n", hex);
				free(hex);
			}
			read = e->read   ? json_want(e->read, e->line)
			       : e->bufs ? tag(j, bs.b, bs.n)
			                 : json_incref(j);
			note_encoded(b.data + 3, b.len - 3, read);
			/* and sioc reads back what it wrote */
			if (!e->read || e->bufs)
				check_decode_to(e->line, b.data + 3, b.len - 3, V2, read);
			json_decref(read);
		} else {
			check(b.len == 3 && memcmp(b.data, "pre", 3) == 0, e->line,
			      "the buffer as it was");
		}
		free(want);
		buf_free(&b);
		bufs_free(&bs);
		json_decref(v);
		json_decref(j);
	}
}

/* A message of hex head, n copies of the byte `fill`, hex tail. */
static uint8_t *build(const char *head, uint8_t fill, size_t n, const char *tail, size_t *len)
{
	size_t hl, tl;
	uint8_t *h = unhex(head, &hl), *t = unhex(tail, &tl);
	uint8_t *b = xmalloc(hl + n + tl);

	memcpy(b, h, hl);
	memset(b + hl, fill, n);
	memcpy(b + hl + n, t, tl);
	*len = hl + n + tl;
	free(h);
	free(t);
	return b;
}

static void test_limits(void)
{
	struct msgpack_value v;
	struct buf b = {0};
	uint8_t *m;
	size_t len;

	/* binaries: max_bufs of them pass; bin and ext ArrayBuffer alike */
	m = unhex("93c40101c702000203c400", &len);
	vectors++;
	CHECK(decode_copy(m, len, DEPTH, 2, V2, &v) == SIO_PKT_EATTACH && value_is_zero(&v));
	vectors++;
	CHECK(decode_copy(m, len, DEPTH, 3, V2, &v) == 0 && v.nbufs == 3 && v.bufs[2].len == 0);
	msgpack_value_finish(&v);
	free(m);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x91\x01", 2, DEPTH, 0, V2, &v) == 0 && !v.bufs);
	msgpack_value_finish(&v);

	/* depth: the value itself at 1 */
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\xc0", 1, 1, 0, V2, &v) == 0);
	msgpack_value_finish(&v);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x90", 1, 1, 0, V2, &v) == 0);
	msgpack_value_finish(&v);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x91\x90", 2, 1, 0, V2, &v) == MSGPACK_VALUE_EDEPTH);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x91\x90", 2, 2, 0, V2, &v) == 0);
	msgpack_value_finish(&v);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x81\xa0\x80", 3, 1, 0, V2, &v) ==
	      MSGPACK_VALUE_EDEPTH);
	vectors++;
	CHECK(decode_copy((const uint8_t *)"\x81\xa0\x80", 3, 2, 0, V2, &v) == 0);
	msgpack_value_finish(&v);

	/*
	 * Deep: 10000 nested arrays, then maps, read and written without
	 * recursion (jansson's json_decref() does recurse, which bounds what
	 * a test may build; the decoder's max_depth bounds it in use). One
	 * more level than the limit is refused both ways, and 10^6 levels are
	 * refused without a stack growing.
	 */
	for (int maps = 0; maps < 2; maps++) {
		const size_t d = 10000;
		uint8_t *deep;
		size_t dl = 0;

		deep = xmalloc(2 * d);
		for (size_t k = 1; k < d; k++) {
			if (maps) {
				deep[dl++] = 0x81;
				deep[dl++] = 0xa0;
			} else {
				deep[dl++] = 0x91;
			}
		}
		deep[dl++] = maps ? 0x80 : 0x90;
		vectors++;
		CHECK(decode_copy(deep, dl, (uint32_t)d - 1, 0, V2, &v) == MSGPACK_VALUE_EDEPTH);
		vectors++;
		if (CHECK(decode_copy(deep, dl, (uint32_t)d, 0, V2, &v) == 0)) {
			b.len = 0;
			CHECK(msgpack_value_encode(v.json, NULL, 0, (uint32_t)d, &b) == 0 &&
			      bytes_equal(b.data, b.len, deep, dl));
			b.len = 0;
			CHECK(msgpack_value_encode(v.json, NULL, 0, (uint32_t)d - 1, &b) ==
			              MSGPACK_VALUE_EDEPTH &&
			      b.len == 0);
		}
		msgpack_value_finish(&v);
		free(deep);
	}
	m = build("", 0x91, 1000000, "90", &len);
	vectors++;
	CHECK(decode_copy(m, len, DEPTH, 0, V2, &v) == MSGPACK_VALUE_EDEPTH);
	{
		/* only checked (nothing built), 10^6 + 1 levels pass: the walk
		 * keeps its stack on the heap */
		struct msgpack_reader r;

		msgpack_reader_init(&r, m, len, UINT32_MAX, 0, 0);
		vectors++;
		CHECK(msgpack_reader_value(&r, NULL, NULL) == 0 && r.pos == len);
		msgpack_reader_finish(&r);
	}
	free(m);
	buf_free(&b);

	/* Bytes after len are never looked at. */
	vectors++;
	CHECK(msgpack_value_decode((const uint8_t *)"\x92\x01\x02", 2, DEPTH, 0, V2, &v) ==
	      MSGPACK_VALUE_ETRUNCATED);

	/* placeholders without their buffers */
	{
		json_t *j = json_pack("[o]", sio_pkt_placeholder_new(0));

		vectors++;
		CHECK(msgpack_value_encode(j, NULL, 1, DEPTH, &b) == SIO_PKT_EATTACH && b.len == 0);
		json_decref(j);
		buf_free(&b);
	}

	msgpack_value_finish(NULL);
	memset(&v, 0, sizeof(v));
	msgpack_value_finish(&v);
	msgpack_bufs_free(NULL, 3);
}

/* The reader on its own: values in turn, built or only checked. */
static void test_reader(void)
{
	static const uint8_t msg[] = {0x01, 0x91, 0xc4, 0x01, 0xaa, 0xc4, 0x01, 0xbb,
	                              0xd4, 0x00, 0x00, 0x82, 0xa1, 0x61, 0x01, 0xa1,
	                              0x61, 0x02, 0xdc, 0x00, 0x03, 0xc0};
	struct msgpack_reader r;
	struct msgpack_item it;
	bool undefined = true;
	json_t *j;

	msgpack_reader_init(&r, msg, sizeof(msg), 8, 1, 0);
	vectors++;
	CHECK(msgpack_reader_value(&r, &j, &undefined) == 0 && json_integer_value(j) == 1 &&
	      !undefined);
	json_decref(j);
	/* checked only: its binary is not counted against max_bufs (1) */
	vectors++;
	CHECK(msgpack_reader_value(&r, NULL, NULL) == 0 && r.nbufs == 0 && r.pos == 5);
	vectors++;
	CHECK(msgpack_reader_value(&r, &j, &undefined) == 0 && r.nbufs == 1 &&
	      sio_pkt_placeholder_num(j, 1) == 0 && r.bufs[0].data[0] == 0xbb);
	json_decref(j);
	vectors++;
	CHECK(msgpack_reader_value(&r, &j, &undefined) == 0 && !j && undefined);
	/* repeated keys are seen only when building */
	vectors++;
	CHECK(msgpack_reader_value(&r, NULL, NULL) == 0);
	r.pos -= 7;
	vectors++;
	CHECK(msgpack_reader_value(&r, &j, &undefined) == MSGPACK_VALUE_EKEY && !j);
	/* a count the bytes left cannot hold, refused at its head */
	r.pos = sizeof(msg) - 4;
	vectors++;
	CHECK(msgpack_reader_item(&r, &it) == MSGPACK_VALUE_ETRUNCATED && it.kind == MSGPACK_ARRAY);
	/* the buffer taken before stays the reader's until finish */
	CHECK(r.nbufs == 1);
	msgpack_reader_finish(&r);
	CHECK(r.bufs == NULL && r.nbufs == 0);
}

static void test_strerror(void)
{
	for (int e = MSGPACK_VALUE_ETRUNCATED; e >= MSGPACK_VALUE_ESIZE; e--) {
		if (e == -24)
			continue;
		vectors++;
		CHECK(strcmp(msgpack_value_strerror(e), "unknown error") != 0);
	}
	CHECK(strcmp(msgpack_value_strerror(SIO_PKT_ENOMEM), sio_pkt_strerror(SIO_PKT_ENOMEM)) ==
	      0);
	CHECK(strcmp(msgpack_value_strerror(-24), "unknown error") == 0);
	CHECK(strcmp(msgpack_value_strerror(1), "unknown error") == 0);
}

/* Reads node's output line by line; NULL at the end. */
static char *read_line(FILE *f, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, f);

	if (n < 0)
		return NULL;
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return *line;
}

/* The cases of msgpack_value_peer.js, from notepack itself. Returns 0
 * when node was not there to ask (skipped). */
static int run_peer_vectors(const char *script)
{
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	int n = 0, done = 0, status;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "node '%s' vectors", script);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (read_line(f, &line, &cap)) {
		char *ver = line, *wire_hex, *again_hex, *json;
		int before = failures;
		size_t len, again_len;
		uint8_t *wire, *again;

		if (strncmp(line, "skip ", 5) == 0) {
			printf("msgpack_value: node cross-check skipped: %s\n", line + 5);
			pclose(f);
			free(line);
			return 0;
		}
		if (strcmp(line, "done") == 0) {
			done = 1;
			continue;
		}
		if (!(wire_hex = strchr(ver, '\t')) || !(again_hex = strchr(wire_hex + 1, '\t')) ||
		    !(json = strchr(again_hex + 1, '\t'))) {
			CHECK(!"a vectors line of four fields");
			continue;
		}
		*wire_hex++ = *again_hex++ = *json++ = '\0';
		wire = unhex(wire_hex, &len);
		again = unhex(again_hex, &again_len);
		check_case(__LINE__, strcmp(ver, "3.0.1") == 0 ? V3 : V2, json, wire, len, again,
		           again_len);
		if (failures > before)
			fprintf(stderr, "  (peer vector %d, notepack %s: %.200s)\n", n, ver, json);
		free(again);
		free(wire);
		n++;
	}
	free(line);
	status = pclose(f);
	if (status != 0 && n == 0 && !done) {
		printf("msgpack_value: node cross-check skipped: `%s` exited with %d\n", cmd,
		       status);
		return 0;
	}
	CHECK(status == 0 && done && n > 0);
	printf("msgpack_value: %d vectors from notepack 2.2.0 and 3.0.1 (node)\n", n);
	return 1;
}

/* Everything sioc encoded, read back by both notepack versions. */
static void run_peer_check(const char *script)
{
	const char *tmp = getenv("TMPDIR");
	char path[2048], cmd[4096], *line = NULL;
	size_t cap = 0;
	int fd, ok = 0, done = 0, lines = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test_msgpack_value.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (!CHECK(fd >= 0))
		return;
	for (size_t i = 0; i < encoded.len; i++)
		lines += encoded.data[i] == '\n';
	CHECK(write(fd, encoded.data, encoded.len) == (ssize_t)encoded.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "node '%s' check '%s'", script, path);
	f = popen(cmd, "r");
	if (CHECK(f != NULL)) {
		while (read_line(f, &line, &cap)) {
			if (strncmp(line, "ok ", 3) == 0)
				ok++;
			else if (strcmp(line, "done") == 0)
				done = 1;
			else if (!check(0, __LINE__, "notepack reads back what sioc wrote"))
				fprintf(stderr, "  %.400s\n", line);
		}
		CHECK(pclose(f) == 0 && done);
	}
	CHECK(ok == lines);
	printf("msgpack_value: notepack 2.2.0 and 3.0.1 read back %d of %d encodings\n", ok, lines);
	free(line);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc >= 3)
		setenv("NODE_PATH", argv[2], 1);
	test_notepack_vectors();
	test_hand_vectors();
	test_encode();
	test_limits();
	test_reader();
	test_strerror();
	if (argc >= 2 && run_peer_vectors(argv[1]))
		run_peer_check(argv[1]);
	else if (argc < 2)
		printf("msgpack_value: node cross-check skipped: no script argument\n");
	buf_free(&encoded);

	printf("msgpack_value: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
