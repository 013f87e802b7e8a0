/*
 * Vectors for the Socket.IO v5 codec (protocol/sio_packet.c). Expected
 * results follow socket.io-parser 4.2.7 (checked against it with node),
 * except where sio_packet.c lists a difference. Every input is copied into
 * a heap block of exactly its length, so that the sanitizers catch a read
 * past the length or a reliance on NUL termination.
 */
#include "protocol/sio_packet.h"
#include "protocol/json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

static int pkt_equal(const struct sio_pkt *a, const struct sio_pkt *b)
{
	return a->type == b->type && bytes_equal(a->nsp, a->nsp_len, b->nsp, b->nsp_len) &&
	       a->id == b->id && a->attachments == b->attachments && json_same(a->data, b->data);
}

/* sio_pkt_decode */

struct decode_vector {
	int line;
	const char *in;
	size_t in_len;
	int result;
	enum sio_packet_type type; /* the rest when result is 0 */
	const char *nsp;
	size_t nsp_len;
	int64_t id;
	uint32_t attachments;
	const char *data; /* expected JSON text, NULL for no payload */
};

/* clang-format off */
#define OK(in, t, nsp, id, att, data) { __LINE__, S(in), 0, t, S(nsp), id, att, data }
#define ERR(in, e)                    { __LINE__, S(in), e, CONNECT, S(""), 0, 0, NULL }

static const struct decode_vector decode_vectors[] = {
	/* CONNECT: optional auth object */
	OK("0", CONNECT, "/", -1, 0, NULL),
	OK("0{}", CONNECT, "/", -1, 0, "{}"),
	OK("0{\"token\":\"x\"}", CONNECT, "/", -1, 0, "{\"token\":\"x\"}"),
	OK("0/admin,", CONNECT, "/admin", -1, 0, NULL),
	OK("0/admin", CONNECT, "/admin", -1, 0, NULL),
	OK("0/admin,{\"token\":\"x\"}", CONNECT, "/admin", -1, 0, "{\"token\":\"x\"}"),
	OK("0/,{}", CONNECT, "/", -1, 0, "{}"),
	OK("0/", CONNECT, "/", -1, 0, NULL),
	OK("01{}", CONNECT, "/", 1, 0, "{}"),
	OK("0{\"pid\":\"p\",\"offset\":\"o\"}", CONNECT, "/", -1, 0,
	   "{\"pid\":\"p\",\"offset\":\"o\"}"),
	OK("0/a?b=c,{}", CONNECT, "/a?b=c", -1, 0, "{}"),
	OK("0/a\0b,", CONNECT, "/a\0b", -1, 0, NULL),
	ERR("0\"str\"", SIO_PKT_EPAYLOAD),
	ERR("0[]", SIO_PKT_EPAYLOAD),
	ERR("0null", SIO_PKT_EPAYLOAD),
	OK("01", CONNECT, "/", 1, 0, NULL),
	/* DISCONNECT: no payload */
	OK("1", DISCONNECT, "/", -1, 0, NULL),
	OK("1/admin,", DISCONNECT, "/admin", -1, 0, NULL),
	ERR("1{}", SIO_PKT_EPAYLOAD),
	ERR("1\"x\"", SIO_PKT_EPAYLOAD),
	ERR("1[]", SIO_PKT_EPAYLOAD),
	ERR("1null", SIO_PKT_EPAYLOAD),
	ERR("1/admin,{}", SIO_PKT_EPAYLOAD),
	/* EVENT */
	OK("2[\"a\",{\"b\":[1,2,{\"c\":null}]}]", EVENT, "/", -1, 0,
	   "[\"a\",{\"b\":[1,2,{\"c\":null}]}]"),
	OK("21[\"x\"]", EVENT, "/", 1, 0, "[\"x\"]"),
	OK("2/admin,5[\"x\",1]", EVENT, "/admin", 5, 0, "[\"x\",1]"),
	OK("2/admin,[\"x\"]", EVENT, "/admin", -1, 0, "[\"x\"]"),
	OK("2[\"x\"]", EVENT, "/", -1, 0, "[\"x\"]"),
	OK("2[1]", EVENT, "/", -1, 0, "[1]"),
	OK("2[1.5,\"x\"]", EVENT, "/", -1, 0, "[1.5,\"x\"]"),
	OK("2", EVENT, "/", -1, 0, NULL),
	OK("2/admin,", EVENT, "/admin", -1, 0, NULL),
	OK("20[\"x\"]", EVENT, "/", 0, 0, "[\"x\"]"),
	OK("2007[\"x\"]", EVENT, "/", 7, 0, "[\"x\"]"),
	OK("21", EVENT, "/", 1, 0, NULL),
	OK("29007199254740991[\"x\"]", EVENT, "/", 9007199254740991, 0, "[\"x\"]"),
	OK("2000000000000001[\"x\"]", EVENT, "/", 1, 0, "[\"x\"]"),
	OK("21 [\"x\"]", EVENT, "/", 1, 0, "[\"x\"]"),
	OK("2[\"x\"] ", EVENT, "/", -1, 0, "[\"x\"]"),
	OK("2[\"x\"]\r\n\t ", EVENT, "/", -1, 0, "[\"x\"]"),
	OK("2[ \"x\" , 1 ]", EVENT, "/", -1, 0, "[\"x\",1]"),
	OK("2[\"connected\"]", EVENT, "/", -1, 0, "[\"connected\"]"),
	OK("2[\"Connect\"]", EVENT, "/", -1, 0, "[\"Connect\"]"),
	OK("2[\"connection\"]", EVENT, "/", -1, 0, "[\"connection\"]"),
	OK("2[\"connect\\u0000\"]", EVENT, "/", -1, 0, "[\"connect\\u0000\"]"),
	OK("2[\"a\\u0000b\"]", EVENT, "/", -1, 0, "[\"a\\u0000b\"]"),
	OK("2[\"\"]", EVENT, "/", -1, 0, "[\"\"]"),
	OK("2[\"\xc3\xa9\\ud83d\\ude00\"]", EVENT, "/", -1, 0, "[\"\xc3\xa9\xf0\x9f\x98\x80\"]"),
	OK("2[\"x\",9223372036854775807,-9223372036854775808]", EVENT, "/", -1, 0,
	   "[\"x\",9223372036854775807,-9223372036854775808]"),
	OK("2[\"x\",1e-999]", EVENT, "/", -1, 0, "[\"x\",0.0]"),
	OK("2[\"x\",{\"a\":1,\"a\":2}]", EVENT, "/", -1, 0, "[\"x\",{\"a\":2}]"),
	OK("2[\"x\"," PH(0) "]", EVENT, "/", -1, 0, "[\"x\"," PH(0) "]"),
	OK("2[\"x\",{\"_placeholder\":true,\"num\":\"z\"}]", EVENT, "/", -1, 0,
	   "[\"x\",{\"_placeholder\":true,\"num\":\"z\"}]"),
	ERR("2{}", SIO_PKT_EPAYLOAD),
	ERR("2[]", SIO_PKT_EPAYLOAD),
	ERR("2[{}]", SIO_PKT_EPAYLOAD),
	ERR("2[[\"a\"]]", SIO_PKT_EPAYLOAD),
	ERR("2[null]", SIO_PKT_EPAYLOAD),
	ERR("2[true,1]", SIO_PKT_EPAYLOAD),
	ERR("2\"x\"", SIO_PKT_EPAYLOAD),
	ERR("2null", SIO_PKT_EPAYLOAD),
	ERR("2false", SIO_PKT_EPAYLOAD),
	ERR("21{}", SIO_PKT_EPAYLOAD),
	ERR("2[\"connect\"]", SIO_PKT_EPAYLOAD),
	ERR("2[\"connect_error\"]", SIO_PKT_EPAYLOAD),
	ERR("2[\"disconnect\",1]", SIO_PKT_EPAYLOAD),
	ERR("2[\"disconnecting\"]", SIO_PKT_EPAYLOAD),
	ERR("2[\"newListener\"]", SIO_PKT_EPAYLOAD),
	ERR("2/admin,3[\"removeListener\"]", SIO_PKT_EPAYLOAD),
	ERR("2[\"\\u0063onnect\"]", SIO_PKT_EPAYLOAD),
	/* ACK */
	OK("3[]", ACK, "/", -1, 0, "[]"),
	OK("31[]", ACK, "/", 1, 0, "[]"),
	OK("3/admin,12[\"ok\",{\"a\":1}]", ACK, "/admin", 12, 0, "[\"ok\",{\"a\":1}]"),
	OK("3", ACK, "/", -1, 0, NULL),
	OK("31[null]", ACK, "/", 1, 0, "[null]"),
	ERR("3{}", SIO_PKT_EPAYLOAD),
	ERR("31\"x\"", SIO_PKT_EPAYLOAD),
	ERR("31null", SIO_PKT_EPAYLOAD),
	OK("315", ACK, "/", 15, 0, NULL),
	/* CONNECT_ERROR: string or object */
	OK("4", CONNECT_ERROR, "/", -1, 0, NULL),
	OK("4\"nope\"", CONNECT_ERROR, "/", -1, 0, "\"nope\""),
	OK("4{\"message\":\"Invalid namespace\"}", CONNECT_ERROR, "/", -1, 0,
	   "{\"message\":\"Invalid namespace\"}"),
	OK("4/admin,{\"message\":\"x\",\"data\":{\"a\":1}}", CONNECT_ERROR, "/admin", -1, 0,
	   "{\"message\":\"x\",\"data\":{\"a\":1}}"),
	OK("42{}", CONNECT_ERROR, "/", 2, 0, "{}"),
	OK("41", CONNECT_ERROR, "/", 1, 0, NULL),
	ERR("4abc", SIO_PKT_EJSON),
	ERR("4[]", SIO_PKT_EPAYLOAD),
	ERR("4null", SIO_PKT_EPAYLOAD),
	ERR("41.5", SIO_PKT_EJSON),
	ERR("45[", SIO_PKT_EJSON),
	/* BINARY_EVENT, BINARY_ACK */
	/* "451-..." is how it looks inside an Engine.IO message ('4'); on its
	 * own it is a CONNECT_ERROR with ack id 51 and JSON "-[...". */
	ERR("451-[\"upload\"," PH(0) "]", SIO_PKT_EJSON),
	OK("51-[\"upload\"," PH(0) "]", BINARY_EVENT, "/", -1, 1, "[\"upload\"," PH(0) "]"),
	OK("61-/nsp,3[" PH(0) "]", BINARY_ACK, "/nsp", 3, 1, "[" PH(0) "]"),
	OK("52-[\"a\"," PH(1) "," PH(0) "]", BINARY_EVENT, "/", -1, 2,
	   "[\"a\"," PH(1) "," PH(0) "]"),
	OK("52-[\"a\"," PH(0) "]", BINARY_EVENT, "/", -1, 2, "[\"a\"," PH(0) "]"),
	OK("52-[\"a\"," PH(0) "," PH(0) "]", BINARY_EVENT, "/", -1, 2,
	   "[\"a\"," PH(0) "," PH(0) "]"),
	OK("510-[\"a\"," PH(9) "]", BINARY_EVENT, "/", -1, 10, "[\"a\"," PH(9) "]"),
	OK("501-[\"a\"]", BINARY_EVENT, "/", -1, 1, "[\"a\"]"),
	OK("51-", BINARY_EVENT, "/", -1, 1, NULL),
	OK("51-/x,", BINARY_EVENT, "/x", -1, 1, NULL),
	OK("51-7[1]", BINARY_EVENT, "/", 7, 1, "[1]"),
	OK("51-[\"a\",{\"k\":[" PH(0) "]}]", BINARY_EVENT, "/", -1, 1,
	   "[\"a\",{\"k\":[" PH(0) "]}]"),
	OK("51-[\"a\",{\"_placeholder\":false,\"num\":\"x\"}]", BINARY_EVENT, "/", -1, 1,
	   "[\"a\",{\"_placeholder\":false,\"num\":\"x\"}]"),
	OK("51-[\"a\",{\"_placeholder\":1,\"num\":-1}]", BINARY_EVENT, "/", -1, 1,
	   "[\"a\",{\"_placeholder\":1,\"num\":-1}]"),
	OK("51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":" PH(99) "}]", BINARY_EVENT, "/",
	   -1, 1, "[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":" PH(99) "}]"),
	OK("61-[]", BINARY_ACK, "/", -1, 1, "[]"),
	ERR("5", SIO_PKT_EATTACH),
	ERR("6", SIO_PKT_EATTACH),
	ERR("61", SIO_PKT_EATTACH),
	ERR("5-[\"a\"]", SIO_PKT_EATTACH),
	ERR("50-[\"a\"]", SIO_PKT_EATTACH),
	ERR("500-[\"a\"]", SIO_PKT_EATTACH),
	ERR("511-[\"a\"]", SIO_PKT_EATTACH),
	ERR("54294967297-[\"a\"]", SIO_PKT_EATTACH),
	ERR("5999999999999999999999999-[\"a\"]", SIO_PKT_EATTACH),
	ERR("51[\"a\"]", SIO_PKT_EATTACH),
	ERR("51[\"a-b\"]", SIO_PKT_EATTACH),
	ERR("5abc-[\"a\"]", SIO_PKT_EATTACH),
	ERR("5 1-[\"a\"]", SIO_PKT_EATTACH),
	ERR("5+1-[\"a\"]", SIO_PKT_EATTACH),
	ERR("51.0-[\"a\"]", SIO_PKT_EATTACH),
	ERR("50x1-[\"a\"]", SIO_PKT_EATTACH),
	ERR("5/a,1-[\"a\"]", SIO_PKT_EATTACH),
	ERR("51-{}", SIO_PKT_EPAYLOAD),
	ERR("51-[]", SIO_PKT_EPAYLOAD),
	ERR("51-[" PH(0) "]", SIO_PKT_EPAYLOAD),
	ERR("51-[\"disconnect\"," PH(0) "]", SIO_PKT_EPAYLOAD),
	ERR("61-{}", SIO_PKT_EPAYLOAD),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\"," PH(1) "]", SIO_PKT_EPLACEHOLDER),
	ERR("52-[\"a\"," PH(0) "," PH(2) "]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":0.0}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":0e0}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true,\"num\":null}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"_placeholder\":true}]", SIO_PKT_EPLACEHOLDER),
	ERR("51-[\"a\",{\"k\":{\"_placeholder\":true,\"num\":3}}]", SIO_PKT_EPLACEHOLDER),
	ERR("61-[{\"_placeholder\":true}]", SIO_PKT_EPLACEHOLDER),
	/* ack ids */
	ERR("29007199254740992[\"x\"]", SIO_PKT_EACKID),
	ERR("29999999999999999[\"x\"]", SIO_PKT_EACKID),
	ERR("200000000000000001[\"x\"]", SIO_PKT_EACKID),
	ERR("212345678901234567890[\"x\"]", SIO_PKT_EACKID),
	ERR("2-1[\"x\"]", SIO_PKT_EJSON),
	ERR("2 [\"x\"]", SIO_PKT_EACKID),
	ERR("2\t[\"x\"]", SIO_PKT_EACKID),
	ERR("2\n[\"x\"]", SIO_PKT_EACKID),
	ERR("2/a, [\"x\"]", SIO_PKT_EACKID),
	ERR("0 ", SIO_PKT_EACKID),
	ERR("21 1[\"x\"]", SIO_PKT_EJSON),
	ERR("21.5[\"x\"]", SIO_PKT_EJSON),
	/* JSON */
	ERR("2[\"x\"]x", SIO_PKT_EJSON),
	ERR("2[\"x\"][\"y\"]", SIO_PKT_EJSON),
	ERR("2[\"x\"]\0", SIO_PKT_EJSON),
	ERR("2[\"x\",]", SIO_PKT_EJSON),
	ERR("2['x']", SIO_PKT_EJSON),
	ERR("2[\"x\"", SIO_PKT_EJSON),
	ERR("2[\"a\0b\"]", SIO_PKT_EJSON),
	ERR("2[\"\xff\"]", SIO_PKT_EJSON),
	ERR("2[\"\xc3\"]", SIO_PKT_EJSON),
	ERR("2[\"\\ud800\"]", SIO_PKT_EJSON),
	ERR("2[\"x\",{\"a\\u0000\":1}]", SIO_PKT_EJSON),
	ERR("2[\"x\",1e999]", SIO_PKT_EJSON),
	ERR("2[\"x\",-1e999]", SIO_PKT_EJSON),
	ERR("2[\"x\",100000000000000000000]", SIO_PKT_EJSON),
	ERR("2[\"x\",9223372036854775808]", SIO_PKT_EJSON),
	ERR("2[\"x\",NaN]", SIO_PKT_EJSON),
	ERR("2[\"x\",Infinity]", SIO_PKT_EJSON),
	ERR("2/admin[\"x\",1]", SIO_PKT_EJSON),
	ERR("0/admin,{\"token\":\"x\"}trailing", SIO_PKT_EJSON),
	/* type */
	ERR("", SIO_PKT_ETYPE),
	ERR("7", SIO_PKT_ETYPE),
	ERR("7[\"x\"]", SIO_PKT_ETYPE),
	ERR("8", SIO_PKT_ETYPE),
	ERR("9", SIO_PKT_ETYPE),
	ERR("a", SIO_PKT_ETYPE),
	ERR("/", SIO_PKT_ETYPE),
	ERR("-1", SIO_PKT_ETYPE),
	ERR(" 2[\"x\"]", SIO_PKT_ETYPE),
	ERR("\0", SIO_PKT_ETYPE),
	ERR("[\"x\"]", SIO_PKT_ETYPE),
	ERR("\xef\xbb\xbf" "2[\"x\"]", SIO_PKT_ETYPE),
};
/* clang-format on */

static void check_decoded(const struct sio_pkt *p, const struct decode_vector *v)
{
	json_t *want = json_want(v->data, v->line);

	check(p->type == v->type, v->line, "type");
	check(bytes_equal(p->nsp, p->nsp_len, v->nsp, v->nsp_len), v->line, "namespace");
	check(p->nsp && p->nsp[p->nsp_len] == '\0', v->line, "namespace NUL-terminated");
	check(p->id == v->id, v->line, "ack id");
	check(p->attachments == v->attachments, v->line, "attachments");
	check(json_same(p->data, want), v->line, "data");
	check(p->bufs == NULL, v->line, "no buffers from sio_pkt_decode");
	json_decref(want);
}

/* Encoding a decoded packet gives text that decodes to the same packet. */
static void check_round_trip(const struct sio_pkt *p, int line)
{
	struct sio_pkt again;
	char *text = NULL;
	size_t len = 0;
	int r;

	r = sio_pkt_encode(p->type, p->nsp, p->nsp_len, p->id, p->attachments, p->data, 0, &text,
	                   &len);
	if (!check(r == 0, line, "re-encode"))
		return;
	r = sio_pkt_decode(text, len, SIO_PKT_MAX_ATTACHMENTS_DEFAULT, &again);
	if (check(r == 0, line, "decode of the re-encoding"))
		check(pkt_equal(p, &again), line, "round trip");
	sio_pkt_finish(&again);
	free(text);
}

static void test_decode_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(decode_vectors) / sizeof(decode_vectors[0]); i++) {
		const struct decode_vector *v = &decode_vectors[i];
		char *buf;
		struct sio_pkt p;
		int r;

		buf = (char *)copy_exact(v->in, v->in_len);
		memset(&p, 0xa5, sizeof(p));
		r = sio_pkt_decode(buf, v->in_len, SIO_PKT_MAX_ATTACHMENTS_DEFAULT, &p);
		vectors++;
		if (!check(r == v->result, v->line, "decode result"))
			fprintf(stderr, "  got %d (%s), want %d (%s)\n", r, sio_pkt_strerror(r),
			        v->result, sio_pkt_strerror(v->result));
		if (r == 0) {
			check_decoded(&p, v);
			check_round_trip(&p, v->line);
		} else {
			check(p.nsp == NULL && p.data == NULL && p.bufs == NULL, v->line,
			      "zeroed on error");
		}
		sio_pkt_finish(&p);
		check(p.nsp == NULL && p.data == NULL, v->line, "finish zeroes");
		free(buf);
	}
}

/* Decodes a heap copy of exactly len bytes; the packet goes to *p. */
static int decode_copy(const char *in, size_t len, uint32_t max, struct sio_pkt *p)
{
	char *buf = (char *)copy_exact(in, len);
	int r = sio_pkt_decode(buf, len, max, p);

	free(buf);
	return r;
}

/* Input built at run time: large, deep, or limit-dependent. */
static void test_decode_special(void)
{
	const size_t mib = 1024 * 1024;
	struct sio_pkt p;
	char *buf;
	size_t n;
	size_t i;

	/* Bytes after len are never looked at. */
	vectors++;
	CHECK(sio_pkt_decode("21[\"x\"]garbage", 7, 10, &p) == 0);
	CHECK(p.id == 1 && json_is_array(p.data));
	sio_pkt_finish(&p);
	vectors++;
	CHECK(sio_pkt_decode("2/admin,3", 7, 10, &p) == 0);
	CHECK(bytes_equal(p.nsp, p.nsp_len, "/admin", 6) && p.id == -1);
	sio_pkt_finish(&p);

	/* A 1 MiB namespace without ',' runs to the end, as in the reference. */
	buf = xmalloc(mib + 2);
	buf[0] = '2';
	buf[1] = '/';
	memset(buf + 2, 'a', mib);
	vectors++;
	if (CHECK(sio_pkt_decode(buf, mib + 2, 10, &p) == 0))
		CHECK(p.type == SIO_PACKET_EVENT && p.nsp_len == mib + 1 && p.data == NULL &&
		      p.id == -1);
	sio_pkt_finish(&p);
	/* The same with a comma and a payload after it. */
	memcpy(buf + mib - 6, ",4[\"x\"]", 7);
	vectors++;
	if (CHECK(sio_pkt_decode(buf, mib + 1, 10, &p) == 0))
		CHECK(p.nsp_len == mib - 7 && p.id == 4 && json_is_array(p.data));
	sio_pkt_finish(&p);
	free(buf);

	/* Nesting: 2048 levels parse, 2049 and 100000 fail cleanly. */
	{
		static const size_t depths[] = {2048, 2049, 100000};

		for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
			size_t d = depths[i];
			size_t len = 1 + 2 * d;
			int r;

			buf = xmalloc(len);
			buf[0] = '3';
			memset(buf + 1, '[', d);
			memset(buf + 1 + d, ']', d);
			vectors++;
			r = decode_copy(buf, len, 10, &p);
			if (d <= SIO_PKT_MAX_DEPTH)
				CHECK(r == 0);
			else
				CHECK(r == SIO_PKT_EJSON);
			sio_pkt_finish(&p);
			free(buf);
		}
	}

	/* A placeholder whose members are at the depth limit is checked; one
	 * level more is too deep. */
	for (i = 0; i < 2; i++) {
		static const char head[] = "51-[\"x\",";
		static const char ph[] = "{\"_placeholder\":true,\"num\":1}";
		size_t d = SIO_PKT_MAX_DEPTH - 3 + i;
		size_t len = sizeof(head) - 1 + 2 * d + sizeof(ph) - 1 + 1;
		char *w;

		buf = xmalloc(len);
		w = buf;
		memcpy(w, head, sizeof(head) - 1);
		w += sizeof(head) - 1;
		memset(w, '[', d);
		w += d;
		memcpy(w, ph, sizeof(ph) - 1);
		w += sizeof(ph) - 1;
		memset(w, ']', d + 1);
		vectors++;
		CHECK(decode_copy(buf, len, 10, &p) ==
		      (i == 0 ? SIO_PKT_EPLACEHOLDER : SIO_PKT_EJSON));
		buf[len - d - 3] = '0';
		vectors++;
		CHECK(decode_copy(buf, len, 10, &p) == (i == 0 ? 0 : SIO_PKT_EJSON));
		if (i == 0)
			check_round_trip(&p, __LINE__);
		sio_pkt_finish(&p);
		free(buf);
	}

	/* A 400-digit integer is refused (jansson: "too big integer"). */
	n = 400;
	buf = xmalloc(n + 8);
	memcpy(buf, "2[\"x\",", 6);
	memset(buf + 6, '9', n);
	buf[6 + n] = ']';
	vectors++;
	CHECK(decode_copy(buf, n + 7, 10, &p) == SIO_PKT_EJSON);
	/* So is a 400-digit attachment count, without overflow. */
	memcpy(buf, "5", 1);
	memset(buf + 1, '9', n + 5);
	buf[n + 6] = '-';
	vectors++;
	CHECK(decode_copy(buf, n + 7, 10, &p) == SIO_PKT_EATTACH);
	/* and a 400-digit ack id */
	buf[0] = '2';
	buf[n + 6] = '0';
	vectors++;
	CHECK(decode_copy(buf, n + 7, 10, &p) == SIO_PKT_EACKID);
	free(buf);

	/* The attachment limit is the caller's. */
	vectors++;
	CHECK(decode_copy(S("53-[\"a\"]"), 3, &p) == 0 && p.attachments == 3);
	sio_pkt_finish(&p);
	vectors++;
	CHECK(decode_copy(S("54-[\"a\"]"), 3, &p) == SIO_PKT_EATTACH);
	vectors++;
	CHECK(decode_copy(S("51-[\"a\"]"), 0, &p) == SIO_PKT_EATTACH);
	vectors++;
	CHECK(decode_copy(S("54294967295-[\"a\"]"), UINT32_MAX, &p) == 0 &&
	      p.attachments == UINT32_MAX);
	sio_pkt_finish(&p);
	vectors++;
	CHECK(decode_copy(S("54294967296-[\"a\"]"), UINT32_MAX, &p) == SIO_PKT_EATTACH);
	/* ... and does not apply to other types. */
	vectors++;
	CHECK(decode_copy(S("2[\"a\"]"), 0, &p) == 0);
	sio_pkt_finish(&p);

	/* sio_pkt_finish(NULL) and on a zero packet are no-ops. */
	sio_pkt_finish(NULL);
	memset(&p, 0, sizeof(p));
	sio_pkt_finish(&p);
}

/* sio_pkt_placeholder_num / sio_pkt_placeholder_new */

static void test_placeholders(void)
{
	static const struct {
		int line;
		const char *json;
		uint32_t attachments;
		int64_t want;
	} v[] = {
	        {__LINE__, PH(0), 1, 0},
	        {__LINE__, PH(0), 0, -1},
	        {__LINE__, PH(9), 10, 9},
	        {__LINE__, PH(10), 10, -1},
	        {__LINE__, PH(-1), 10, -1},
	        {__LINE__, "{\"num\":0,\"_placeholder\":true,\"x\":1}", 1, 0},
	        {__LINE__, "{\"_placeholder\":false,\"num\":0}", 1, -1},
	        {__LINE__, "{\"_placeholder\":1,\"num\":0}", 1, -1},
	        {__LINE__, "{\"_placeholder\":\"true\",\"num\":0}", 1, -1},
	        {__LINE__, "{\"_placeholder\":true,\"num\":0.0}", 1, -1},
	        {__LINE__, "{\"_placeholder\":true,\"num\":\"0\"}", 1, -1},
	        {__LINE__, "{\"_placeholder\":true}", 1, -1},
	        {__LINE__, "{\"num\":0}", 1, -1},
	        {__LINE__, "[" PH(0) "]", 1, -1},
	        {__LINE__, "\"_placeholder\"", 1, -1},
	        {__LINE__, "{\"_placeholder\":true,\"num\":4294967294}", UINT32_MAX, 4294967294},
	        {__LINE__, "{\"_placeholder\":true,\"num\":4294967295}", UINT32_MAX, -1},
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		json_t *j = json_want(v[i].json, v[i].line);

		vectors++;
		check(sio_pkt_placeholder_num(j, v[i].attachments) == v[i].want, v[i].line,
		      "placeholder num");
		json_decref(j);
	}
	vectors++;
	CHECK(sio_pkt_placeholder_num(NULL, 10) == -1);
	{
		json_t *ph = sio_pkt_placeholder_new(7);
		json_t *want = json_want(PH(7), __LINE__);

		vectors++;
		CHECK(json_equal(ph, want));
		CHECK(sio_pkt_placeholder_num(ph, 8) == 7);
		json_decref(ph);
		json_decref(want);
	}
}

/* sio_pkt_decoder */

static int feed_text(struct sio_pkt_decoder *dec, const char *in, size_t len, struct sio_pkt *p)
{
	char *buf = (char *)copy_exact(in, len);
	int r = sio_pkt_decoder_text(dec, buf, len, p);

	free(buf);
	return r;
}

static int feed_binary(struct sio_pkt_decoder *dec, const char *in, size_t len, struct sio_pkt *p)
{
	char *buf = (char *)copy_exact(in, len);
	int r = sio_pkt_decoder_binary(dec, (const uint8_t *)buf, len, p);

	free(buf);
	return r;
}

static void test_decoder(void)
{
	struct sio_pkt_decoder dec;
	struct sio_pkt p;
	size_t i;

	sio_pkt_decoder_init(&dec, SIO_PKT_MAX_ATTACHMENTS_DEFAULT);
	CHECK(!sio_pkt_decoder_pending(&dec));

	/* A text packet without attachments completes at once. */
	vectors++;
	CHECK(feed_text(&dec, S("2[\"a\"]"), &p) == 1);
	CHECK(p.type == SIO_PACKET_EVENT && p.bufs == NULL && !sio_pkt_decoder_pending(&dec));
	sio_pkt_finish(&p);

	/* One attachment. */
	vectors++;
	CHECK(feed_text(&dec, S("51-[\"upload\"," PH(0) "]"), &p) == 0);
	CHECK(p.data == NULL && p.nsp == NULL);
	CHECK(sio_pkt_decoder_pending(&dec));
	CHECK(feed_binary(&dec, S("\x01\x02\0"), &p) == 1);
	CHECK(!sio_pkt_decoder_pending(&dec));
	CHECK(p.type == SIO_PACKET_BINARY_EVENT && p.attachments == 1 && p.bufs != NULL);
	if (p.bufs) {
		int64_t k = sio_pkt_placeholder_num(json_array_get(p.data, 1), p.attachments);

		CHECK(k == 0);
		CHECK(bytes_equal(p.bufs[0].data, p.bufs[0].len, "\x01\x02\0", 3));
	}
	sio_pkt_finish(&p);

	/* Three, one of them empty, in arrival order; ack on a namespace. */
	vectors++;
	CHECK(feed_text(&dec, S("63-/nsp,9[" PH(2) "," PH(0) "," PH(1) "]"), &p) == 0);
	CHECK(feed_binary(&dec, S("zero"), &p) == 0);
	CHECK(feed_binary(&dec, S(""), &p) == 0);
	CHECK(sio_pkt_decoder_pending(&dec));
	CHECK(feed_binary(&dec, S("two"), &p) == 1);
	CHECK(p.type == SIO_PACKET_BINARY_ACK && p.id == 9 && p.attachments == 3);
	CHECK(bytes_equal(p.nsp, p.nsp_len, "/nsp", 4));
	if (p.bufs) {
		CHECK(bytes_equal(p.bufs[0].data, p.bufs[0].len, "zero", 4));
		CHECK(p.bufs[1].len == 0 && p.bufs[1].data != NULL);
		CHECK(bytes_equal(p.bufs[2].data, p.bufs[2].len, "two", 3));
		CHECK(sio_pkt_placeholder_num(json_array_get(p.data, 0), 3) == 2);
	}
	sio_pkt_finish(&p);

	/* The limit: ten attachments. */
	vectors++;
	CHECK(feed_text(&dec, S("510-[\"a\"," PH(9) "]"), &p) == 0);
	for (i = 0; i < 9; i++)
		CHECK(feed_binary(&dec, S("b"), &p) == 0);
	CHECK(feed_binary(&dec, S("last"), &p) == 1);
	if (p.bufs)
		CHECK(bytes_equal(p.bufs[9].data, p.bufs[9].len, "last", 4));
	sio_pkt_finish(&p);

	/* A binary packet without JSON still waits for its attachment. */
	vectors++;
	CHECK(feed_text(&dec, S("51-"), &p) == 0);
	CHECK(feed_binary(&dec, S("x"), &p) == 1);
	CHECK(p.data == NULL && p.attachments == 1);
	sio_pkt_finish(&p);

	/* Binary when nothing waits. */
	vectors++;
	CHECK(feed_binary(&dec, S("x"), &p) == SIO_PKT_ESTATE);
	CHECK(p.bufs == NULL && !sio_pkt_decoder_pending(&dec));

	/* Text while attachments are pending: error, and the decoder is empty. */
	vectors++;
	CHECK(feed_text(&dec, S("52-[\"a\"," PH(1) "]"), &p) == 0);
	CHECK(feed_binary(&dec, S("one"), &p) == 0);
	CHECK(feed_text(&dec, S("2[\"b\"]"), &p) == SIO_PKT_ESTATE);
	CHECK(p.data == NULL && !sio_pkt_decoder_pending(&dec));
	CHECK(feed_binary(&dec, S("two"), &p) == SIO_PKT_ESTATE);
	/* ... and usable again. */
	CHECK(feed_text(&dec, S("2[\"b\"]"), &p) == 1);
	sio_pkt_finish(&p);

	/* A malformed text packet leaves nothing pending. */
	vectors++;
	CHECK(feed_text(&dec, S("51-[\"a\"," PH(1) "]"), &p) == SIO_PKT_EPLACEHOLDER);
	CHECK(!sio_pkt_decoder_pending(&dec));
	CHECK(feed_text(&dec, S("511-[\"a\"]"), &p) == SIO_PKT_EATTACH);
	CHECK(!sio_pkt_decoder_pending(&dec));

	/* finish frees a pending packet and its buffers (LeakSanitizer). */
	vectors++;
	CHECK(feed_text(&dec, S("53-[\"a\"," PH(2) "]"), &p) == 0);
	CHECK(feed_binary(&dec, S("one"), &p) == 0);
	sio_pkt_decoder_finish(&dec);
	CHECK(!sio_pkt_decoder_pending(&dec));
	CHECK(feed_text(&dec, S("3[]"), &p) == 1);
	sio_pkt_finish(&p);
	sio_pkt_decoder_finish(&dec);
	sio_pkt_decoder_finish(&dec);

	/* A decoder that takes no attachments refuses binary packets. */
	sio_pkt_decoder_init(&dec, 0);
	vectors++;
	CHECK(feed_text(&dec, S("51-[\"a\"]"), &p) == SIO_PKT_EATTACH);
	CHECK(feed_text(&dec, S("2[\"a\"]"), &p) == 1);
	sio_pkt_finish(&p);
	sio_pkt_decoder_finish(&dec);
}

/* sio_pkt_encode */

struct encode_vector {
	int line;
	enum sio_packet_type type;
	const char *nsp;
	size_t nsp_len;
	int64_t id;
	uint32_t attachments;
	const char *data; /* JSON text, NULL for none */
	int result;
	const char *want;
	size_t want_len;
};

/* clang-format off */
#define ENC(t, nsp, id, att, data, out)  { __LINE__, t, S(nsp), id, att, data, 0, S(out) }
#define ENC_ERR(t, nsp, id, att, data, e) { __LINE__, t, S(nsp), id, att, data, e, S("") }

static const struct encode_vector encode_vectors[] = {
	ENC(CONNECT, "", -1, 0, NULL, "0"),
	ENC(CONNECT, "/", -1, 0, "{\"sid\":\"abc\"}", "0{\"sid\":\"abc\"}"),
	ENC(CONNECT, "/admin", -1, 0, "{\"sid\":\"abc\"}", "0/admin,{\"sid\":\"abc\"}"),
	ENC(DISCONNECT, "/", -1, 0, NULL, "1"),
	ENC(DISCONNECT, "/admin", -1, 0, NULL, "1/admin,"),
	ENC(EVENT, "/", -1, 0, "[\"a\",{\"b\":[1,2,{\"c\":null}]}]",
	    "2[\"a\",{\"b\":[1,2,{\"c\":null}]}]"),
	ENC(EVENT, "/", 1, 0, "[\"x\"]", "21[\"x\"]"),
	ENC(EVENT, "/admin", 5, 0, "[\"x\",1]", "2/admin,5[\"x\",1]"),
	ENC(EVENT, "/", 0, 0, "[\"x\"]", "20[\"x\"]"),
	ENC(EVENT, "/", 9007199254740991, 0, "[\"x\"]", "29007199254740991[\"x\"]"),
	ENC(EVENT, "/", -1, 0, "[7]", "2[7]"),
	ENC(EVENT, "/", -1, 0, "[\"x\",{\"z\":1,\"a\":2,\"m\":3}]", "2[\"x\",{\"z\":1,\"a\":2,\"m\":3}]"),
	ENC(EVENT, "/", -1, 0, "[\"\xc3\xa9\",\"a/b\",\"\\u0000\",\"\\n\\\"\"]",
	    "2[\"\xc3\xa9\",\"a/b\",\"\\u0000\",\"\\n\\\"\"]"),
	ENC(EVENT, "/", -1, 0, "[\"x\",1.5,-0.0,1e300,0.1]",
	    "2[\"x\",1.5,-0.0,1.0000000000000001e300,0.10000000000000001]"),
	ENC(EVENT, "/", -1, 0, "[\"x\"," PH(0) "]", "2[\"x\"," PH(0) "]"),
	ENC(ACK, "/", 3, 0, "[]", "33[]"),
	ENC(ACK, "/nsp", 12, 0, "[null,true]", "3/nsp,12[null,true]"),
	ENC(CONNECT_ERROR, "/", -1, 0, "{\"message\":\"Invalid namespace\"}",
	    "4{\"message\":\"Invalid namespace\"}"),
	ENC(CONNECT_ERROR, "/admin", -1, 0, "\"nope\"", "4/admin,\"nope\""),
	ENC(BINARY_EVENT, "/", -1, 1, "[\"upload\"," PH(0) "]", "51-[\"upload\"," PH(0) "]"),
	ENC(BINARY_ACK, "/nsp", 3, 1, "[" PH(0) "]", "61-/nsp,3[" PH(0) "]"),
	ENC(BINARY_EVENT, "/", 4, 10, "[\"a\"," PH(9) "]", "510-4[\"a\"," PH(9) "]"),
	ENC(BINARY_EVENT, "/", -1, 2, "[\"a\",{\"_placeholder\":false,\"num\":5}]",
	    "52-[\"a\",{\"_placeholder\":false,\"num\":5}]"),
	ENC_ERR((enum sio_packet_type)7, "/", -1, 0, NULL, SIO_PKT_ETYPE),
	ENC_ERR((enum sio_packet_type)-1, "/", -1, 0, NULL, SIO_PKT_ETYPE),
	ENC_ERR(EVENT, "/", -1, 1, "[\"x\"]", SIO_PKT_EATTACH),
	ENC_ERR(BINARY_EVENT, "/", -1, 0, "[\"x\"]", SIO_PKT_EATTACH),
	ENC_ERR(CONNECT, "admin", -1, 0, NULL, SIO_PKT_ENSP),
	ENC_ERR(EVENT, "/a,b", -1, 0, "[\"x\"]", SIO_PKT_ENSP),
	ENC_ERR(EVENT, ",", -1, 0, "[\"x\"]", SIO_PKT_ENSP),
	ENC_ERR(EVENT, "/", 9007199254740992, 0, "[\"x\"]", SIO_PKT_EACKID),
	ENC_ERR(EVENT, "/", -2, 0, "[\"x\"]", SIO_PKT_EACKID),
	ENC_ERR(EVENT, "/", INT64_MIN, 0, "[\"x\"]", SIO_PKT_EACKID),
	ENC_ERR(EVENT, "/", -1, 0, "[\"disconnect\"]", SIO_PKT_EPAYLOAD),
	ENC_ERR(EVENT, "/", -1, 0, "[]", SIO_PKT_EPAYLOAD),
	ENC_ERR(EVENT, "/", -1, 0, "{}", SIO_PKT_EPAYLOAD),
	ENC_ERR(DISCONNECT, "/", -1, 0, "{}", SIO_PKT_EPAYLOAD),
	ENC_ERR(CONNECT, "/", -1, 0, "[]", SIO_PKT_EPAYLOAD),
	ENC_ERR(CONNECT_ERROR, "/", -1, 0, "1", SIO_PKT_EPAYLOAD),
	ENC_ERR(ACK, "/", 1, 0, "\"x\"", SIO_PKT_EPAYLOAD),
	ENC_ERR(BINARY_EVENT, "/", -1, 1, "[\"a\"," PH(1) "]", SIO_PKT_EPLACEHOLDER),
	ENC_ERR(BINARY_ACK, "/", 1, 1, "[{\"_placeholder\":true}]", SIO_PKT_EPLACEHOLDER),
};
/* clang-format on */

static void test_encode_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(encode_vectors) / sizeof(encode_vectors[0]); i++) {
		const struct encode_vector *v = &encode_vectors[i];
		json_t *data = json_want(v->data, v->line);
		char *nsp = (char *)copy_exact(v->nsp, v->nsp_len);
		char *out = (char *)1;
		size_t len = 0;
		int r;

		vectors++;
		r = sio_pkt_encode(v->type, nsp, v->nsp_len, v->id, v->attachments, data, 0, &out,
		                   &len);
		if (!check(r == v->result, v->line, "encode result"))
			fprintf(stderr, "  got %d (%s), want %d\n", r, sio_pkt_strerror(r),
			        v->result);
		if (r == 0) {
			if (!check(bytes_equal(out, len, v->want, v->want_len), v->line,
			           "encoded text"))
				fprintf(stderr, "  got %.*s\n", (int)len, out);
			check(out[len] == '\0', v->line, "encoded text NUL-terminated");
			free(out);

			/* headroom: the same bytes after it */
			r = sio_pkt_encode(v->type, nsp, v->nsp_len, v->id, v->attachments, data,
			                   17, &out, &len);
			if (check(r == 0, v->line, "encode with headroom")) {
				check(bytes_equal(out + 17, len, v->want, v->want_len), v->line,
				      "encoded text after headroom");
				memset(out, 0, 17);
				free(out);
			}
		} else {
			check(out == NULL, v->line, "no output on error");
		}
		json_decref(data);
		free(nsp);
	}
}

static void test_encode_special(void)
{
	char *out;
	size_t len;
	size_t i;

	/* A NULL namespace with length 0 is "/". */
	vectors++;
	CHECK(sio_pkt_encode(SIO_PACKET_DISCONNECT, NULL, 0, -1, 0, NULL, 0, &out, &len) == 0);
	CHECK(bytes_equal(out, len, "1", 1));
	free(out);

	/* A namespace with a NUL byte is written as is. */
	vectors++;
	CHECK(sio_pkt_encode(SIO_PACKET_CONNECT, "/a\0b", 4, -1, 0, NULL, 0, &out, &len) == 0);
	CHECK(bytes_equal(out, len, "0/a\0b,", 6));
	free(out);

	/* Strings holding NUL and built without the parser. */
	{
		json_t *data = json_pack("[s#]", "a\0b", (size_t)3);

		vectors++;
		CHECK(sio_pkt_encode(SIO_PACKET_EVENT, "/", 1, -1, 0, data, 0, &out, &len) == 0);
		CHECK(bytes_equal(out, len, S("2[\"a\\u0000b\"]")));
		free(out);
		json_decref(data);
	}

	/* Large output grows the buffer; it round-trips. */
	{
		json_t *data = json_array();
		struct sio_pkt p;

		json_array_append_new(data, json_string("big"));
		for (i = 0; i < 20000; i++)
			json_array_append_new(data, json_integer((json_int_t)i));
		vectors++;
		CHECK(sio_pkt_encode(SIO_PACKET_EVENT, "/big", 4, 77, 0, data, 3, &out, &len) == 0);
		CHECK(decode_copy(out + 3, len, 10, &p) == 0);
		CHECK(p.id == 77 && json_equal(p.data, data));
		sio_pkt_finish(&p);
		free(out);
		json_decref(data);
	}

	/* Trees deeper than SIO_PKT_MAX_DEPTH are refused before jansson's
	 * recursive encoder sees them; exactly the limit is fine. */
	{
		static const size_t depths[] = {SIO_PKT_MAX_DEPTH, SIO_PKT_MAX_DEPTH + 1, 5000};
		size_t k;

		for (k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
			json_t *root = json_array();
			json_t *cur = json_array();
			json_t *inner;
			int r;

			json_array_append_new(root, json_string("deep"));
			json_array_append(root, cur);
			for (i = 2; i < depths[k]; i++) {
				json_t *next = i % 2 ? json_array() : json_object();

				if (json_is_array(cur))
					json_array_append(cur, next);
				else
					json_object_set(cur, "k", next);
				json_decref(cur);
				cur = next;
			}
			inner = cur; /* borrowed from here on: root holds it */
			json_decref(cur);
			vectors++;
			r = sio_pkt_encode(SIO_PACKET_EVENT, "/", 1, -1, 0, root, 0, &out, &len);
			if (depths[k] <= SIO_PKT_MAX_DEPTH) {
				struct sio_pkt p;

				CHECK(r == 0);
				CHECK(decode_copy(out, len, 10, &p) == 0);
				sio_pkt_finish(&p);
				free(out);
				/* A scalar one level further is too deep, as for jansson. */
				if (json_is_array(inner))
					json_array_append_new(inner, json_true());
				else
					json_object_set_new(inner, "k", json_true());
				vectors++;
				r = sio_pkt_encode(SIO_PACKET_EVENT, "/", 1, -1, 0, root, 0, &out,
				                   &len);
				CHECK(r == SIO_PKT_EJSON && out == NULL);
			} else {
				CHECK(r == SIO_PKT_EJSON && out == NULL);
			}
			json_decref(root);
		}
	}

	/* A placeholder built with sio_pkt_placeholder_new() encodes. */
	{
		json_t *data = json_pack("[so]", "file", sio_pkt_placeholder_new(0));

		vectors++;
		CHECK(sio_pkt_encode(SIO_PACKET_BINARY_EVENT, "/", 1, -1, 1, data, 0, &out, &len) ==
		      0);
		CHECK(bytes_equal(out, len, S("51-[\"file\"," PH(0) "]")));
		free(out);
		json_decref(data);
	}
}

static void test_strerror(void)
{
	int e;

	for (e = SIO_PKT_OK; e >= SIO_PKT_ENOMEM; e--) {
		vectors++;
		CHECK(strcmp(sio_pkt_strerror(e), "unknown error") != 0);
	}
	CHECK(strcmp(sio_pkt_strerror(SIO_PKT_ENOMEM - 1), "unknown error") == 0);
	CHECK(strcmp(sio_pkt_strerror(1), "unknown error") == 0);
}

/* The decimal writer the encoder uses for ack ids and attachment counts
 * (and the JSON writer for integers) writes what printf does. */
static void test_format_int(void)
{
	static const long long values[] = {
		0, 1, 9, 10, 99, 100, 12345, -1, -9, -10, 4294967295ll, 4294967296ll,
		9007199254740991ll, -9007199254740991ll, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1,
	};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char want[32], got[JSONR_INT_MAX + 1];
		vectors++;
		snprintf(want, sizeof(want), "%lld", values[i]);
		size_t n = jsonr_format_int(got, values[i]);
		got[n] = '\0';
		CHECK(n <= JSONR_INT_MAX && strcmp(got, want) == 0);
	}
}

/* sio_pkt_encode_buf(): the bytes of sio_pkt_encode(), appended after
 * what the buffer holds; on an error the buffer is left as it was. */
static void test_encode_buf(void)
{
	struct buf b = {0};
	char *out;
	size_t len;
	json_t *data = json_pack("[s,i,{s:b}]", "ev", 42, "k", 1);

	vectors++;
	CHECK(buf_append(&b, "xy", 2) == 0);
	CHECK(sio_pkt_encode_buf(SIO_PACKET_EVENT, "/nsp", 4, 7, 0, data, &b) == 0);
	CHECK(sio_pkt_encode(SIO_PACKET_EVENT, "/nsp", 4, 7, 0, data, 0, &out, &len) == 0);
	CHECK(b.len == len + 2 && memcmp(b.data, "xy", 2) == 0 && memcmp(b.data + 2, out, len) == 0);
	free(out);

	vectors++;
	size_t before = b.len;
	CHECK(sio_pkt_encode_buf(SIO_PACKET_CONNECT, "/nsp", 4, -1, 0, data, &b) ==
	      SIO_PKT_EPAYLOAD);
	CHECK(sio_pkt_encode_buf(SIO_PACKET_EVENT, "nsp", 3, -1, 0, data, &b) == SIO_PKT_ENSP);
	CHECK(b.len == before);
	json_decref(data);
	buf_free(&b);
}

int main(void)
{
	test_format_int();
	test_decode_vectors();
	test_decode_special();
	test_placeholders();
	test_decoder();
	test_encode_vectors();
	test_encode_special();
	test_encode_buf();
	test_strerror();

	printf("sio_packet: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
