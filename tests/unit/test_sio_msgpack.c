/*
 * Vectors for the msgpack codec (protocol/sio_msgpack.c). The messages of
 * the ENC and DEC tables are what socket.io-msgpack-parser 3.0.2 writes for
 * the packets a socket.io 4.8 server and a socket.io-client 4.8 build:
 * gen_sio_msgpack_vectors.js printed them, and the verdicts of its Decoder
 * on the hand-written messages, noted "ref:" where sioc differs. Hex
 * strings may hold (xx*n): n bytes xx. Every message is decoded from a heap
 * block of exactly its length, so that the sanitizers catch a read past it.
 */
#include "protocol/sio_msgpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

#define MAX_ATT SIO_PKT_MAX_ATTACHMENTS_DEFAULT

/* A list of buffers: hex text with '|' between them. */
struct bufs {
	struct sio_pkt_buf b[16];
	uint32_t n;
};

static void bufs_parse(struct bufs *bs, const char *text, uint32_t n)
{
	bs->n = 0;
	while (bs->n < n && bs->n < 16) {
		const char *bar = strchr(text, '|');
		size_t l = bar ? (size_t)(bar - text) : strlen(text);
		char *one = xmalloc(l + 1);

		memcpy(one, text, l);
		one[l] = '\0';
		bs->b[bs->n].data = unhex(one, &bs->b[bs->n].len);
		bs->n++;
		free(one);
		text += l + (bar ? 1 : 0);
	}
}

static void bufs_free(struct bufs *bs)
{
	for (uint32_t i = 0; i < bs->n; i++)
		free(bs->b[i].data);
	bs->n = 0;
}

static int pkt_equal(const struct sio_pkt *a, const struct sio_pkt *b)
{
	if (a->type != b->type || !bytes_equal(a->nsp, a->nsp_len, b->nsp, b->nsp_len) ||
	    a->id != b->id || a->attachments != b->attachments || !json_same(a->data, b->data))
		return 0;
	for (uint32_t i = 0; i < a->attachments; i++)
		if (!bytes_equal(a->bufs[i].data, a->bufs[i].len, b->bufs[i].data, b->bufs[i].len))
			return 0;
	return 1;
}

/* Decodes a heap copy of exactly len bytes. */
static int decode_copy(const uint8_t *in, size_t len, uint32_t max, struct sio_pkt *p)
{
	uint8_t *buf = copy_exact(in, len);
	int r;

	memset(p, 0xa5, sizeof(*p));
	r = sio_msgpack_decode(buf, len, max, p);
	free(buf);
	return r;
}

static int decode_hex(const char *hex, uint32_t max, struct sio_pkt *p)
{
	size_t len;
	uint8_t *b = unhex(hex, &len);
	int r = decode_copy(b, len, max, p);

	free(b);
	return r;
}

static int pkt_is_zero(const struct sio_pkt *p)
{
	static const struct sio_pkt zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
}

static int encode_pkt(const struct sio_pkt *p, size_t headroom, uint8_t **out, size_t *len)
{
	return sio_msgpack_encode(p->type, p->nsp, p->nsp_len, p->id, p->attachments, p->data,
	                          p->bufs, headroom, out, len);
}

/*
 * A decoded packet encodes, decodes back to itself (buffers included) and
 * the second encoding is the first: the encoding is a fixed point.
 */
static void check_round_trip(const struct sio_pkt *p, int line)
{
	struct sio_pkt again;
	uint8_t *out, *out2;
	size_t len, len2;
	int r;

	r = encode_pkt(p, 0, &out, &len);
	if (!check(r == 0, line, "re-encode")) {
		fprintf(stderr, "  %s\n", sio_msgpack_strerror(r));
		return;
	}
	r = decode_copy(out, len, UINT32_MAX, &again);
	if (check(r == 0, line, "decode of the re-encoding")) {
		check(pkt_equal(p, &again), line, "round trip");
		if (check(encode_pkt(&again, 0, &out2, &len2) == 0, line, "second encode")) {
			check(bytes_equal(out, len, out2, len2), line, "encoding a fixed point");
			free(out2);
		}
	}
	sio_pkt_finish(&again);
	free(out);
}

struct vec {
	int line;
	enum sio_packet_type type;
	const char *nsp;
	size_t nsp_len;
	int64_t id;
	uint32_t attachments;
	const char *data; /* JSON with placeholders, NULL for none */
	const char *bufs; /* hex, '|' between the buffers */
	const char *wire; /* hex; NULL for an encode error */
	int result;
	bool one_way; /* encode only: the message decodes to another packet */
};

/* Checks a decoded packet against v. */
static void check_decoded(const struct sio_pkt *p, const struct vec *v)
{
	json_t *want = json_want(v->data, v->line);
	struct bufs bs;

	check(p->type == v->type, v->line, "type");
	check(bytes_equal(p->nsp, p->nsp_len, v->nsp, v->nsp_len), v->line, "namespace");
	check(p->nsp && p->nsp[p->nsp_len] == '\0', v->line, "namespace NUL-terminated");
	check(p->id == v->id, v->line, "ack id");
	check(p->attachments == v->attachments, v->line, "attachments");
	if (!check(json_same(p->data, want), v->line, "data") && p->data) {
		char *got = json_dumps(p->data, JSON_ENCODE_ANY);

		fprintf(stderr, "  got %s\n", got);
		free(got);
	}
	check(!p->data || p->data->refcount == 1, v->line, "data is a new reference");
	bufs_parse(&bs, v->bufs, v->attachments);
	if (v->attachments == 0) {
		check(p->bufs == NULL, v->line, "no buffers");
	} else if (check(p->bufs != NULL, v->line, "buffers")) {
		for (uint32_t i = 0; i < v->attachments; i++)
			check(p->bufs[i].data && bytes_equal(p->bufs[i].data, p->bufs[i].len,
			                                     bs.b[i].data, bs.b[i].len),
			      v->line, "buffer bytes");
	}
	bufs_free(&bs);
	json_decref(want);
}

/* Decodes v's message: the result v wants, the packet, the round trip;
 * and every proper prefix is refused, as is the message with a byte more. */
static void check_decode(const struct vec *v)
{
	struct sio_pkt p;
	size_t len, cut;
	uint8_t *b = unhex(v->wire, &len);
	int r = decode_copy(b, len, MAX_ATT, &p);

	vectors++;
	if (!check(r == v->result, v->line, "decode result"))
		fprintf(stderr, "  got %d (%s), want %d (%s)\n", r, sio_msgpack_strerror(r),
		        v->result, sio_msgpack_strerror(v->result));
	if (r == 0) {
		check_decoded(&p, v);
		check_round_trip(&p, v->line);
		sio_pkt_finish(&p);
		check(pkt_is_zero(&p), v->line, "finish zeroes");

		for (cut = 0; cut<len; cut += len> 4096 && cut >= 64 && cut < len - 64 ? 509 : 1) {
			r = decode_copy(b, cut, MAX_ATT, &p);
			check(r == (cut == 0 ? SIO_MSGPACK_ENOTMAP : SIO_MSGPACK_ETRUNCATED),
			      v->line, "a prefix is truncated");
			check(pkt_is_zero(&p), v->line, "zeroed on error");
		}
		b = realloc(b, len + 1);
		if (!b)
			out_of_memory();
		b[len] = 0xc0;
		check(decode_copy(b, len + 1, MAX_ATT, &p) == SIO_MSGPACK_ETRAILING, v->line,
		      "trailing byte");
	} else {
		check(pkt_is_zero(&p), v->line, "zeroed on error");
	}
	free(b);
}

/* Encodes v's packet: the bytes v wants (with and without headroom), then
 * decodes them back to v. */
static void check_encode(const struct vec *v)
{
	json_t *data = json_want(v->data, v->line);
	char *nsp = (char *)copy_exact(v->nsp, v->nsp_len);
	uint8_t *out = (uint8_t *)1, *want = NULL;
	size_t len = 0, want_len = 0;
	struct bufs bs;
	int r;

	vectors++;
	bufs_parse(&bs, v->bufs, v->attachments);
	r = sio_msgpack_encode(v->type, nsp, v->nsp_len, v->id, v->attachments, data,
	                       v->attachments ? bs.b : NULL, 0, &out, &len);
	if (!check(r == v->result, v->line, "encode result"))
		fprintf(stderr, "  got %d (%s), want %d\n", r, sio_msgpack_strerror(r), v->result);
	if (r == 0) {
		want = unhex(v->wire, &want_len);
		if (!check(bytes_equal(out, len, want, want_len), v->line, "encoded bytes")) {
			fprintf(stderr, "  got  ");
			for (size_t i = 0; i < len && i < 200; i++)
				fprintf(stderr, "%02x", out[i]);
			fprintf(stderr, "\n");
		}
		free(out);
		r = sio_msgpack_encode(v->type, nsp, v->nsp_len, v->id, v->attachments, data,
		                       v->attachments ? bs.b : NULL, 17, &out, &len);
		if (check(r == 0, v->line, "encode with headroom")) {
			check(bytes_equal(out + 17, len, want, want_len), v->line,
			      "encoded bytes after headroom");
			memset(out, 0, 17);
			free(out);
		}
		free(want);
		if (!v->one_way)
			check_decode(v);
	} else {
		check(out == NULL, v->line, "no output on error");
	}
	bufs_free(&bs);
	json_decref(data);
	free(nsp);
}

/* clang-format off */
/* A packet and its message, both ways. */
#define ENC(t, nsp, id, att, data, bufs, wire) { __LINE__, t, S(nsp), id, att, data, bufs, wire, 0, false }
/* The same, but the message decodes to another packet. */
#define ENC1(t, nsp, id, att, data, bufs, wire) { __LINE__, t, S(nsp), id, att, data, bufs, wire, 0, true }
/* A message and the packet it decodes to. */
#define DEC(t, nsp, id, att, data, bufs, wire) { __LINE__, t, S(nsp), id, att, data, bufs, wire, 0, false }
/* A message refused. */
#define ERR(wire, e) { __LINE__, CONNECT, S(""), 0, 0, NULL, "", wire, e, false }
/* A packet the encoder refuses. */
#define ENC_ERR(t, nsp, id, att, data, bufs, e) { __LINE__, t, S(nsp), id, att, data, bufs, NULL, e, false }

static const struct vec encode_vectors[] = {
	/* from gen_sio_msgpack_vectors.js: what a socket.io 4.8 Socket writes */
	ENC(CONNECT, "/", -1, 0, "{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\"}", "",
	    "83a47479706500a46461746181a3736964b4(41*20)a36e7370a12f"),
	ENC(CONNECT, "/admin", -1, 0, "{\"sid\":\"s\",\"pid\":\"p\"}", "",
	    "83a47479706500a46461746182a3736964a173a3706964a170a36e7370a62f61646d696e"),
	ENC(CONNECT, "/", -1, 0, NULL, "",
	    "82a47479706500a36e7370a12f"),
	ENC(DISCONNECT, "/admin", -1, 0, NULL, "",
	    "82a47479706501a36e7370a62f61646d696e"),
	ENC(EVENT, "/", -1, 0, "[\"hello\"]", "",
	    "83a47479706502a46461746191a568656c6c6fa36e7370a12f"),
	ENC(EVENT, "/chat", -1, 0, "[\"hello\",\"world\",1,{\"a\":[true,false,null]}]", "",
	    "83a47479706502a46461746194a568656c6c6fa5776f726c640181a16193c3c2c0a36e7370a52f63686174"),
	ENC(EVENT, "/", 5, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a2696405a36e7370a12f"),
	ENC(EVENT, "/", 9007199254740991, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a26964cf001fffffffffffffa36e7370a12f"),
	ENC(ACK, "/", 0, 0, "[]", "",
	    "84a2696400a47479706503a46461746190a36e7370a12f"),
	ENC(ACK, "/admin", 300, 0, "[\"ok\",{\"n\":1}]", "",
	    "84a26964cd012ca47479706503a46461746192a26f6b81a16e01a36e7370a62f61646d696e"),
	ENC(CONNECT_ERROR, "/", -1, 0, "{\"message\":\"Not authorized\"}", "",
	    "83a47479706504a46461746181a76d657373616765ae4e6f7420617574686f72697a6564a36e7370a12f"),
	ENC(CONNECT_ERROR, "/admin", -1, 0, "{\"message\":\"x\",\"data\":{\"code\":7}}", "",
	    "83a47479706504a46461746182a76d657373616765a178a46461746181a4636f646507a36e7370a62f61646d696e"),
	ENC(CONNECT_ERROR, "/nope", -1, 0, "\"Invalid namespace\"", "",
	    "83a47479706504a464617461b1496e76616c6964206e616d657370616365a36e7370a52f6e6f7065"),
	ENC(EVENT, "/", -1, 0, "[\"ints\",0,1,127,128,255,256,65535,65536,4294967295,4294967296,9007199254740991]", "",
	    "83a47479706502a4646174619ca4696e747300017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf001fffffffffffffa36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"negative\",-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9007199254740991]", "",
	    "83a47479706502a4646174619ba86e65676174697665ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000001a36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"reals\",1.5,-2.25,0.1,123456.789,-1e-300,5e-324]", "",
	    "83a47479706502a46461746197a57265616c73cb3ff8000000000000cbc002000000000000cb3fb999999999999acb40fe240c9fbe76c9cb81a56e1fc2f8f359cb0000000000000001a36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"strings\",\"\",\"é\",\"😀\",\"a\\u0000b\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\",\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"]", "",
	    "83a47479706502a46461746198a7737472696e6773a0a2c3a9a4f09f9880a3610062bf(78*31)d920(79*32)d9ff(7a*255)a36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"str16\",\"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww\"]", "",
	    "83a47479706502a46461746192a57374723136da0100(77*256)a36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"arrays\",[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],[[[]]]]", "",
	    "83a47479706502a46461746194a66172726179739f000000000000000000000000000000dc0010(01*16)919190a36e7370a12f"),
	ENC(EVENT, "/", -1, 0, "[\"maps\",{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14},{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15},{\"z\":1,\"a\":2}]", "",
	    "83a47479706502a46461746194a46d6170738fa26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ede0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f82a17a01a16102a36e7370a12f"),
	ENC(BINARY_EVENT, "/", -1, 1, "[\"file\",{\"_placeholder\":true,\"num\":0}]", "010203",
	    "83a47479706502a46461746192a466696c65c403010203a36e7370a12f"),
	ENC(BINARY_EVENT, "/up", -1, 3, "[\"bins\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},{\"deep\":[{\"_placeholder\":true,\"num\":2}]}]", "|(55*255)|(07*256)",
	    "83a47479706502a46461746194a462696e73c400c4ff(55*255)81a46465657091c50100(07*256)a36e7370a32f7570"),
	ENC(BINARY_EVENT, "/", 1, 1, "[\"bin16max\",{\"_placeholder\":true,\"num\":0}]", "(aa*65535)",
	    "84a47479706502a46461746192a862696e31366d6178c5ffff(aa*65535)a2696401a36e7370a12f"),
	ENC(BINARY_EVENT, "/", -1, 1, "[\"bin32\",{\"_placeholder\":true,\"num\":0}]", "(bb*65536)",
	    "83a47479706502a46461746192a562696e3332c600010000(bb*65536)a36e7370a12f"),
	ENC(BINARY_ACK, "/", 2, 1, "[null,{\"_placeholder\":true,\"num\":0}]", "6f6b",
	    "84a2696402a47479706503a46461746192c0c4026f6ba36e7370a12f"),
	/* Where sioc writes other bytes than notepack. Reals are float64:
	 * notepack writes 1.0 and -0.0 as the integer 0x01, 0x00 (JavaScript
	 * has no other 1), and an integral real beyond 2^64 (1e300) as
	 * garbage (cf 00 00 00 00 00 00 00 00). */
	ENC(EVENT, "/", -1, 0, "[\"x\",1.0,-0.0,1e300]", "",
	    "83a47479706502a46461746194a178cb3ff0000000000000cb8000000000000000cb7e37e43c8800759ca36e7370a12f"),
	/* int64 beyond 2^53, which JavaScript cannot hold exactly */
	ENC(EVENT, "/", -1, 0, "[\"x\",9223372036854775807,-9223372036854775808]", "",
	    "83a47479706502a46461746193a178cf7fffffffffffffffd38000000000000000a36e7370a12f"),
	/* without binary nothing is a placeholder: an object like one is a map */
	ENC(EVENT, "/", -1, 0, "[\"x\"," PH(0) "]", "",
	    "83a47479706502a46461746192a17882ac5f706c616365686f6c646572c3a36e756d00a36e7370a12f"),
	/* a buffer named twice is written twice, one named never is not written */
	ENC1(BINARY_EVENT, "/", -1, 3, "[\"x\"," PH(1) "," PH(1) "]", "aa|bbbb|cc",
	    "83a47479706502a46461746193a178c402bbbbc402bbbba36e7370a12f"),
	/* a placeholder's other members are not sent (nor by the JSON codec's peers) */
	ENC1(BINARY_EVENT, "/", -1, 1, "[\"x\",{\"_placeholder\":true,\"num\":0,\"extra\":1}]", "01",
	    "83a47479706502a46461746192a178c40101a36e7370a12f"),
	/* nsp with NUL */
	ENC(CONNECT, "/a\0b", -1, 0, NULL, "", "82a47479706500a36e7370a42f610062"),

	ENC_ERR((enum sio_packet_type)7, "/", -1, 0, NULL, "", SIO_PKT_ETYPE),
	ENC_ERR((enum sio_packet_type)-1, "/", -1, 0, NULL, "", SIO_PKT_ETYPE),
	ENC_ERR(EVENT, "/", -1, 1, "[\"x\"]", "01", SIO_PKT_EATTACH),
	ENC_ERR(BINARY_EVENT, "/", -1, 0, "[\"x\"]", "", SIO_PKT_EATTACH),
	ENC_ERR(CONNECT, "admin", -1, 0, NULL, "", SIO_PKT_ENSP),
	ENC_ERR(EVENT, "/a,b", -1, 0, "[\"x\"]", "", SIO_PKT_ENSP),
	ENC_ERR(EVENT, "/", -2, 0, "[\"x\"]", "", SIO_PKT_EACKID),
	ENC_ERR(EVENT, "/", 9007199254740992, 0, "[\"x\"]", "", SIO_PKT_EACKID),
	/* the reference decoder refuses these: data missing or of the wrong shape */
	ENC_ERR(EVENT, "/", -1, 0, NULL, "", SIO_PKT_EPAYLOAD),
	ENC_ERR(ACK, "/", 1, 0, NULL, "", SIO_PKT_EPAYLOAD),
	ENC_ERR(CONNECT_ERROR, "/", -1, 0, NULL, "", SIO_PKT_EPAYLOAD),
	ENC_ERR(BINARY_EVENT, "/", -1, 1, NULL, "01", SIO_PKT_EPAYLOAD),
	ENC_ERR(DISCONNECT, "/", -1, 0, "{}", "", SIO_PKT_EPAYLOAD),
	ENC_ERR(CONNECT, "/", -1, 0, "[]", "", SIO_PKT_EPAYLOAD),
	ENC_ERR(CONNECT_ERROR, "/", -1, 0, "1", "", SIO_PKT_EPAYLOAD),
	ENC_ERR(ACK, "/", 1, 0, "\"x\"", "", SIO_PKT_EPAYLOAD),
	/* and sioc's JSON encoder these */
	ENC_ERR(EVENT, "/", -1, 0, "[]", "", SIO_PKT_EPAYLOAD),
	ENC_ERR(EVENT, "/", -1, 0, "[\"disconnect\"]", "", SIO_PKT_EPAYLOAD),
	ENC_ERR(BINARY_EVENT, "/", -1, 1, "[" PH(0) "]", "01", SIO_PKT_EPAYLOAD),
	ENC_ERR(BINARY_EVENT, "/", -1, 1, "[\"x\"," PH(1) "]", "01", SIO_PKT_EPLACEHOLDER),
	ENC_ERR(BINARY_ACK, "/", 1, 1, "[{\"_placeholder\":true}]", "01", SIO_PKT_EPLACEHOLDER),
	ENC_ERR(BINARY_ACK, "/", 1, 1, "[{\"k\":{\"_placeholder\":true,\"num\":-1}}]", "01",
	        SIO_PKT_EPLACEHOLDER),
};

static const struct vec decode_vectors[] = {
	/* from gen_sio_msgpack_vectors.js: what a socket.io-client 4.8 writes */
	DEC(CONNECT, "/", -1, 0, NULL, "",
	    "83a47479706500a464617461d40000a36e7370a12f"),
	DEC(CONNECT, "/admin", -1, 0, "{\"token\":\"abc\"}", "",
	    "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a62f61646d696e"),
	DEC(CONNECT, "/", -1, 0, "{\"pid\":\"p\",\"offset\":\"o\"}", "",
	    "83a47479706500a46461746182a3706964a170a66f6666736574a16fa36e7370a12f"),
	DEC(DISCONNECT, "/admin", -1, 0, NULL, "",
	    "82a47479706501a36e7370a62f61646d696e"),
	DEC(EVENT, "/", -1, 0, "[\"hello\",1]", "",
	    "84a47479706502a46461746192a568656c6c6f01a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f"),
	DEC(EVENT, "/chat", 0, 0, "[\"hello\"]", "",
	    "85a47479706502a46461746191a568656c6c6fa76f7074696f6e7381a8636f6d7072657373c2a2696400a36e7370a52f63686174"),
	DEC(EVENT, "/", -1, 0, "[42,\"numeric event name\"]", "",
	    "84a47479706502a464617461922ab26e756d65726963206576656e74206e616d65a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f"),
	DEC(ACK, "/", 7, 0, "[\"done\",{\"ok\":true}]", "",
	    "84a47479706503a2696407a46461746192a4646f6e6581a26f6bc3a36e7370a12f"),
	DEC(ACK, "/", 8, 0, "[]", "",
	    "84a47479706503a2696408a46461746190a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"undefined\",null,{\"b\":1}]", "",
	    "84a47479706502a46461746193a9756e646566696e6564d4000082a161d40000a16201a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"date\",\"2024-02-29T12:34:56.789Z\",\"1970-01-01T00:00:00.000Z\",\"1969-12-31T23:59:59.999Z\"]", "",
	    "84a47479706502a46461746194a464617465d7000000018df4dc5495d7000000000000000000d700ffffffffffffffffa76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"dates\",\"-000001-01-01T00:00:00.000Z\",\"+010000-01-01T00:00:00.000Z\",\"+275760-09-13T00:00:00.000Z\",\"-271821-04-20T00:00:00.000Z\"]", "",
	    "83a47479706502a46461746195a56461746573d700ffffc76e394a7400d7000000e677d21fdc00d700001eb208c2dc0000d700ffe14df73d240000a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"nan\",null,null,null,0]", "",
	    "83a47479706502a46461746195a36e616ecb7ff8000000000000cb7ff0000000000000cbfff000000000000000a36e7370a12f"),
	DEC(BINARY_EVENT, "/", -1, 1, "[\"upload\",{\"_placeholder\":true,\"num\":0}]", "deadbeef",
	    "84a47479706502a46461746192a675706c6f6164c404deadbeefa76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f"),
	DEC(BINARY_EVENT, "/", 3, 3, "[\"views\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":2}]", "010203|0000|",
	    "85a47479706502a46461746194a57669657773c70300010203c702000000c400a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f"),
	DEC(BINARY_EVENT, "/", -1, 2, "[\"nested\",{\"a\":[1,{\"b\":{\"_placeholder\":true,\"num\":0}}],\"c\":{\"_placeholder\":true,\"num\":1}}]", "78|797a",
	    "83a47479706502a46461746192a66e657374656482a161920181a162c40178a163c402797aa36e7370a12f"),
	DEC(BINARY_ACK, "/", 4, 1, "[{\"_placeholder\":true,\"num\":0}]", "61636b206279746573",
	    "84a47479706503a2696404a46461746191c40961636b206279746573a36e7370a12f"),
	/* hand-written; the reference Decoder's verdict after "ref:" where it differs */
	ERR("", SIO_MSGPACK_ENOTMAP),
	ERR("c0", SIO_MSGPACK_ENOTMAP),
	ERR("90", SIO_MSGPACK_ENOTMAP),
	ERR("a474797065", SIO_MSGPACK_ENOTMAP),
	ERR("c1", SIO_MSGPACK_ENOTMAP),
	ERR("81", SIO_MSGPACK_ETRUNCATED),
	ERR("80", SIO_PKT_ETYPE),
	ERR("de0000", SIO_PKT_ETYPE),
	ERR("810102", SIO_MSGPACK_EKEY), /* ref: "invalid packet type" (reads key "1") */
	ERR("82a47479706502a36e7370a22f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	/* ref: the last "type" wins */
	ERR("83a47479706502a47479706502a36e7370a12f", SIO_MSGPACK_EKEY),
	ERR("84a47479706502a46461746191a178a36e7370a12fa46461746191a179", SIO_MSGPACK_EKEY),
	ERR("83a47479706502a46461746191a178a36e7370a12fc0", SIO_MSGPACK_ETRAILING),
	/* ext types notepack does not write; ref: [type, <Buffer>] */
	ERR("83a47479706502a46461746192a178c7010500a36e7370a12f", SIO_MSGPACK_EEXT),
	ERR("83a47479706502a46461746192a178d5000000a36e7370a12f", SIO_MSGPACK_EEXT),
	ERR("83a47479706502a46461746192a178d40100a36e7370a12f", SIO_MSGPACK_EEXT),
	ERR("83a47479706502a46461746192a178d7010000000000000000a36e7370a12f", SIO_MSGPACK_EEXT),
	ERR("83a47479706502a46461746192a178d80000000000000000000000000000000000a36e7370a12f",
	    SIO_MSGPACK_EEXT),
	ERR("84a47479706502a46461746191a178a56f74686572c7010500a36e7370a12f", SIO_MSGPACK_EEXT),
	/* huge declared counts and lengths, nothing behind them */
	ERR("83a47479706502a46461746192a178ddffffffffa36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178dfffffffffa36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178dbffffffffa36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178c6ffffffffa36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178c9ffffffff00a36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("84a47479706502a46461746191a178a56f74686572dfffffffffa36e7370a12f",
	    SIO_MSGPACK_ETRUNCATED),
	ERR("dfffffffff", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178dc0003c0c0a36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178cb00a36e7370a12f", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a36e7370a12fa46461746192a178cd00", SIO_MSGPACK_ETRUNCATED),
	ERR("83a47479706502a46461746192a178c1a36e7370a12f", SIO_MSGPACK_EFORMAT),
	/* namespace */
	ERR("82a47479706502a46461746191a178", SIO_PKT_ENSP),
	ERR("83a47479706502a46461746191a178a36e737001", SIO_PKT_ENSP),
	ERR("83a47479706502a46461746191a178a36e7370a561646d696e", SIO_PKT_ENSP), /* ref: ok */
	ERR("83a47479706502a46461746191a178a36e7370a42f612c62", SIO_PKT_ENSP), /* ref: ok */
	ERR("83a47479706502a46461746191a178a36e7370a22fff", SIO_PKT_ENSP), /* ref: ok, "/\ufffd" */
	ERR("83a47479706502a46461746191a178a36e7370a0", SIO_PKT_ENSP), /* ref: ok */
	ERR("83a47479706502a46461746191a178a36e7370d40000", SIO_PKT_ENSP),
	DEC(EVENT, "/a\0b", -1, 0, "[\"x\"]", "", "83a47479706502a46461746191a178a36e7370a42f610062"),
	/* type */
	ERR("83a47479706505a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a47479706507a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065ffa46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065a132a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065cb4004000000000000a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065c0a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065d40000a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a474797065cfffffffffffffffffa46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("83a47479706591a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	ERR("82a46461746191a178a36e7370a12f", SIO_PKT_ETYPE),
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "",
	    "83a474797065cb4000000000000000a46461746191a178a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "", "83a474797065ca40000000a46461746191a178a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "", "83a474797065d002a46461746191a178a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "",
	    "83a474797065cf0000000000000002a46461746191a178a36e7370a12f"),
	/* ack id */
	ERR("84a47479706502a46461746191a178a26964ffa36e7370a12f", SIO_PKT_EACKID), /* ref: ok */
	ERR("84a47479706502a46461746191a178a26964cf0020000000000000a36e7370a12f",
	    SIO_PKT_EACKID), /* ref: ok */
	ERR("84a47479706502a46461746191a178a26964cfffffffffffffffffa36e7370a12f",
	    SIO_PKT_EACKID), /* ref: ok, id 18446744073709552000 */
	ERR("84a47479706502a46461746191a178a26964cb3ff8000000000000a36e7370a12f", SIO_PKT_EACKID),
	ERR("84a47479706502a46461746191a178a26964a131a36e7370a12f", SIO_PKT_EACKID),
	ERR("84a47479706502a46461746191a178a26964c0a36e7370a12f", SIO_PKT_EACKID),
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a26964d40000a36e7370a12f"),
	DEC(EVENT, "/", 5, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a26964cb4014000000000000a36e7370a12f"),
	DEC(EVENT, "/", 9007199254740991, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a26964cf001fffffffffffffa36e7370a12f"),
	/* data shape */
	ERR("83a47479706501a46461746180a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706501a464617461c0a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("82a47479706502a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706502a464617461d40000a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706502a46461746180a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706502a46461746190a36e7370a12f", SIO_PKT_EPAYLOAD), /* ref: ok */
	ERR("83a47479706502a46461746191a7636f6e6e656374a36e7370a12f", SIO_PKT_EPAYLOAD), /* ref: ok */
	ERR("83a47479706502a46461746191c0a36e7370a12f", SIO_PKT_EPAYLOAD), /* ref: ok */
	/* bin as the event name; ref: ok */
	ERR("83a47479706502a46461746191c40101a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706503a464617461a178a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706500a46461746190a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706500a464617461a178a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("82a47479706504a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706504a46461746101a36e7370a12f", SIO_PKT_EPAYLOAD),
	DEC(CONNECT_ERROR, "/", -1, 0, "\"msg\"", "", "83a47479706504a464617461a36d7367a36e7370a12f"),
	DEC(CONNECT, "/", -1, 0, "{}", "", "83a47479706500a46461746180a36e7370a12f"),
	/* binary: eleven buffers, over the limit of ten */
	ERR("83a47479706502a4646174619ca178c40101c40101c40101c40101c40101c40101c40101c40101c40101"
	    "c40101c40101a36e7370a12f", SIO_PKT_EATTACH),
	DEC(BINARY_EVENT, "/", -1, 10, "[\"x\"," PH(0) "," PH(1) "," PH(2) "," PH(3) "," PH(4) ","
	    PH(5) "," PH(6) "," PH(7) "," PH(8) "," PH(9) "]", "01|02|03|04|05|06|07|08|09|0a",
	    "83a47479706502a4646174619ba178c40101c40102c40103c40104c40105c40106c40107c40108c40109"
	    "c4010aa36e7370a12f"),
	/* binary where no attachments go; ref: ok */
	ERR("83a47479706500a46461746181a161c40101a36e7370a12f", SIO_PKT_EPAYLOAD),
	ERR("83a47479706504a46461746181a161c40101a36e7370a12f", SIO_PKT_EPAYLOAD),
	/* binary in keys that are ignored is not counted */
	DEC(EVENT, "/", -1, 0, "[\"x\"]", "",
	    "84a47479706502a46461746191a178a56f7468657291c40101a36e7370a12f"),
	/* an object like a placeholder beside binary would read as one; ref: ok */
	ERR("83a47479706502a46461746193a178c4010182ac5f706c616365686f6c646572c3a36e756d00a36e7370a12f",
	    SIO_PKT_EPLACEHOLDER),
	DEC(EVENT, "/", -1, 0, "[\"x\"," PH(0) "]", "",
	    "83a47479706502a46461746192a17882ac5f706c616365686f6c646572c3a36e756d00a36e7370a12f"),
	DEC(BINARY_EVENT, "/", -1, 1, "[\"x\",{\"_placeholder\":false,\"num\":0}," PH(0) "]", "01",
	    "83a47479706502a46461746193a17882ac5f706c616365686f6c646572c2a36e756d00c40101a36e7370a12f"),
	/* map keys; ref: ok, {"1":2}, {"a\u0000":1}, {"a":2} */
	ERR("83a47479706502a46461746192a178810102a36e7370a12f", SIO_MSGPACK_EKEY),
	ERR("83a47479706502a46461746192a17881a2610001a36e7370a12f", SIO_MSGPACK_EKEY),
	ERR("83a47479706502a46461746192a17882a16101a16102a36e7370a12f", SIO_MSGPACK_EKEY),
	ERR("83a47479706502a46461746192a1788190c0a36e7370a12f", SIO_MSGPACK_EKEY),
	/* a repeated key whose first value was undefined is not seen */
	DEC(EVENT, "/", -1, 0, "[\"x\",{\"a\":2}]", "",
	    "83a47479706502a46461746192a17882a161d40000a16102a36e7370a12f"),
	/* UTF-8; ref: ok, with U+FFFD */
	ERR("83a47479706502a46461746192a178a1ffa36e7370a12f", SIO_MSGPACK_EUTF8),
	ERR("83a47479706502a46461746192a17881a1ff01a36e7370a12f", SIO_MSGPACK_EUTF8),
	ERR("83a47479706502a46461746192a178a3eda080a36e7370a12f", SIO_MSGPACK_EUTF8),
	ERR("83a47479706502a46461746192a178a1c3a36e7370a12f", SIO_MSGPACK_EUTF8),
	DEC(EVENT, "/", -1, 0, "[\"x\",\"a\\u0000\xc3\xa9\"]", "",
	    "83a47479706502a46461746192a178a46100c3a9a36e7370a12f"),
	/* values: a Date past the range is null (an invalid Date); integers
	 * beyond int64 are reals, as numbers in JavaScript; float32 */
	DEC(EVENT, "/", -1, 0, "[\"x\",null]", "",
	    "83a47479706502a46461746192a178d700001eb208c2dc0001a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",18446744073709551615.0]", "",
	    "83a47479706502a46461746192a178cfffffffffffffffffa36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",9223372036854775808.0]", "",
	    "83a47479706502a46461746192a178cf8000000000000000a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",-9223372036854775808]", "",
	    "83a47479706502a46461746192a178d38000000000000000a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",1.5,-0.0,null]", "",
	    "83a47479706502a46461746194a178ca3fc00000ca80000000ca7fc00000a36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",-1,-128,-32768,-2147483648,255,65535,4294967295]", "",
	    "83a47479706502a46461746198a178d0ffd080d18000d280000000ccffcdffffceffffffffa36e7370a12f"),
	DEC(EVENT, "/", -1, 0, "[\"x\",true,false,null,\"\",[],{}]", "",
	    "83a47479706502a46461746197a178c3c2c0a09080a36e7370a12f"),
	/* str 8/16/32, bin 8/16/32, array 16/32 and map 16/32 forms even when small */
	DEC(BINARY_EVENT, "/", -1, 3, "[\"x\",\"ab\",\"c\",\"\"," PH(0) "," PH(1) "," PH(2) ",[1],{\"k\":2}]",
	    "01|0203|",
	    "83a47479706502a46461746199a178d9026162da000163db00000000c40101c5000202"
	    "03c600000000dd0000000101de0001a16b02a36e7370a12f"),
};
/* clang-format on */

static void test_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(encode_vectors) / sizeof(encode_vectors[0]); i++)
		check_encode(&encode_vectors[i]);
	for (i = 0; i < sizeof(decode_vectors) / sizeof(decode_vectors[0]); i++)
		check_decode(&decode_vectors[i]);
}

/* Messages built at run time: large, deep, or limit-dependent. */

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

/* Encodes data (stolen) in an EVENT to "/" and compares with want (hex,
 * or the want_bytes given); then decodes it back. */
static void check_big_event(int line, json_t *data, const char *want_hex, const uint8_t *want_bytes,
                            size_t want_len)
{
	uint8_t *out, *want = NULL;
	size_t len;
	struct sio_pkt p;

	vectors++;
	if (want_hex)
		want = unhex(want_hex, &want_len);
	if (check(sio_msgpack_encode(SIO_PACKET_EVENT, "/", 1, -1, 0, data, NULL, 0, &out, &len) ==
	                  0,
	          line, "encode")) {
		check(bytes_equal(out, len, want ? want : want_bytes, want_len), line,
		      "encoded bytes");
		if (check(decode_copy(out, len, MAX_ATT, &p) == 0, line, "decode"))
			check(json_equal(p.data, data), line, "decoded data");
		sio_pkt_finish(&p);
		free(out);
	}
	free(want);
	json_decref(data);
}

static json_t *repeated_string(char c, size_t n)
{
	char *s = xmalloc(n);
	json_t *j;

	memset(s, c, n);
	j = json_stringn(s, n);
	free(s);
	return j;
}

static void test_large(void)
{
	json_t *data;
	size_t i, len;
	uint8_t *want, *w;

	/* From gen_sio_msgpack_vectors.js (its "large" section). */
	check_big_event(__LINE__, json_pack("[so]", "str16max", repeated_string('v', 65535)),
	                "83a47479706502a46461746192a873747231366d6178daffff(76*65535)a36e7370a12f",
	                NULL, 0);
	check_big_event(__LINE__, json_pack("[so]", "str32", repeated_string('u', 65536)),
	                "83a47479706502a46461746192a57374723332db00010000(75*65536)a36e7370a12f",
	                NULL, 0);
	data = json_pack("[s[]]", "array32");
	for (i = 0; i < 65536; i++)
		json_array_append_new(json_array_get(data, 1), json_integer(0));
	check_big_event(__LINE__, data,
	                "83a47479706502a46461746192a761727261793332dd0001(00*65538)a36e7370a12f",
	                NULL, 0);
	/* map 16 of 65535 keys "k<i>" -> i is even; the generator printed its
	 * head, the rest follows the same pattern; then map 32 with one more */
	for (int keys = 65535; keys <= 65536; keys++) {
		size_t head_len;
		uint8_t *head =
		        unhex(keys == 65535 ? "83a47479706502a46461746192a56d61703136deffff"
		                            : "83a47479706502a46461746192a56d61703136df00010000",
		              &head_len);

		data = json_pack("[s{}]", "map16");
		want = xmalloc(head_len + (size_t)keys * 8 + 16);
		memcpy(want, head, head_len);
		w = want + head_len;
		for (i = 0; i < (size_t)keys; i++) {
			char k[16];
			int kl = snprintf(k, sizeof(k), "k%zu", i);

			json_object_set_new(json_array_get(data, 1), k, json_boolean(i % 2 == 0));
			*w++ = (uint8_t)(0xa0 | kl);
			memcpy(w, k, (size_t)kl);
			w += kl;
			*w++ = i % 2 == 0 ? 0xc3 : 0xc2;
		}
		memcpy(w, "\xa3nsp\xa1/", 6);
		w += 6;
		check_big_event(__LINE__, data, NULL, want, (size_t)(w - want));
		free(want);
		free(head);
	}

	/* Bytes after len are never looked at. */
	{
		struct sio_pkt p;
		uint8_t *b = unhex("83a47479706502a46461746191a178a36e7370a12fc0c0c0", &len);

		vectors++;
		CHECK(sio_msgpack_decode(b, len - 3, MAX_ATT, &p) == 0);
		sio_pkt_finish(&p);
		free(b);
	}
}

static void test_depth(void)
{
	static const size_t depths[] = {1, 2048, 2049, 100000};
	struct sio_pkt p;
	uint8_t *b;
	size_t len, i;
	int r;

	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		size_t d = depths[i];
		int want = d <= SIO_PKT_MAX_DEPTH ? 0 : SIO_MSGPACK_EDEPTH;

		/* an ACK whose data is d nested arrays: [[...[]...]] */
		b = build("83a47479706503a464617461", 0x91, d - 1, "90a36e7370a12f", &len);
		vectors++;
		r = decode_copy(b, len, MAX_ATT, &p);
		CHECK(r == want);
		if (r == 0) {
			CHECK(p.type == SIO_PACKET_ACK);
			check_round_trip(&p, __LINE__);
		}
		sio_pkt_finish(&p);
		free(b);

		/* a CONNECT whose data is d nested maps: {"":{"":...{}...}} */
		{
			size_t hl, tl, n;
			uint8_t *h = unhex("83a47479706500a464617461", &hl);
			uint8_t *t = unhex("a36e7370a12f", &tl);

			b = xmalloc(hl + 2 * d + tl);
			memcpy(b, h, hl);
			n = hl;
			for (size_t k = 1; k < d; k++) {
				b[n++] = 0x81;
				b[n++] = 0xa0;
			}
			b[n++] = 0x80;
			memcpy(b + n, t, tl);
			n += tl;
			vectors++;
			r = decode_copy(b, n, MAX_ATT, &p);
			CHECK(r == want);
			if (r == 0)
				check_round_trip(&p, __LINE__);
			sio_pkt_finish(&p);
			free(b);
			free(h);
			free(t);
		}

		/* in a key that is ignored */
		b = build("84a47479706502a46461746191a178a56f74686572", 0x91, d - 1,
		          "90a36e7370a12f", &len);
		vectors++;
		CHECK(decode_copy(b, len, MAX_ATT, &p) == want);
		sio_pkt_finish(&p);
		free(b);
	}

	/* Encoding: SIO_PKT_MAX_DEPTH passes, one more is refused. */
	for (i = 0; i < 3; i++) {
		size_t d = i == 0 ? SIO_PKT_MAX_DEPTH : i == 1 ? SIO_PKT_MAX_DEPTH + 1 : 5000;
		json_t *root = json_array(), *cur = root;
		uint8_t *out;

		json_array_append_new(root, json_string("deep"));
		for (size_t k = 1; k < d; k++) {
			json_t *next = k % 2 ? json_array() : json_object();

			if (json_is_array(cur))
				json_array_append_new(cur, next);
			else
				json_object_set_new(cur, "k", next);
			cur = next;
		}
		vectors++;
		r = sio_msgpack_encode(SIO_PACKET_EVENT, "/", 1, -1, 0, root, NULL, 0, &out, &len);
		if (d <= SIO_PKT_MAX_DEPTH) {
			if (CHECK(r == 0)) {
				CHECK(decode_copy(out, len, MAX_ATT, &p) == 0 &&
				      json_equal(p.data, root));
				sio_pkt_finish(&p);
				free(out);
			}
		} else {
			CHECK(r == SIO_MSGPACK_EDEPTH && out == NULL);
		}
		json_decref(root);
	}
}

static void test_limits(void)
{
	struct sio_pkt p;
	const char *one_bin = "83a47479706502a46461746192a178c40101a36e7370a12f";

	vectors++;
	CHECK(decode_hex(one_bin, 0, &p) == SIO_PKT_EATTACH && pkt_is_zero(&p));
	vectors++;
	CHECK(decode_hex(one_bin, 1, &p) == 0 && p.attachments == 1);
	sio_pkt_finish(&p);
	/* the limit does not apply to packets without binary */
	vectors++;
	CHECK(decode_hex("83a47479706502a46461746191a178a36e7370a12f", 0, &p) == 0);
	sio_pkt_finish(&p);

	/* An empty bin gives a buffer with data. */
	vectors++;
	if (CHECK(decode_hex("83a47479706502a46461746192a178c400a36e7370a12f", 1, &p) == 0))
		CHECK(p.bufs && p.bufs[0].data && p.bufs[0].len == 0);
	sio_pkt_finish(&p);

	/* Encoding: BINARY_* needs its buffers; a NULL nsp with length 0 is "/". */
	{
		json_t *data = json_pack("[so]", "x", sio_pkt_placeholder_new(0));
		uint8_t *out = (uint8_t *)1;
		size_t len;

		vectors++;
		CHECK(sio_msgpack_encode(SIO_PACKET_BINARY_EVENT, "/", 1, -1, 1, data, NULL, 0,
		                         &out, &len) == SIO_PKT_EATTACH &&
		      out == NULL);
		json_decref(data);
		vectors++;
		CHECK(sio_msgpack_encode(SIO_PACKET_DISCONNECT, NULL, 0, -1, 0, NULL, NULL, 0, &out,
		                         &len) == 0);
		CHECK(len == 13 && memcmp(out, "\x82\xa4type\x01\xa3nsp\xa1/", 13) == 0);
		free(out);
	}

	sio_pkt_finish(NULL);
	memset(&p, 0, sizeof(p));
	sio_pkt_finish(&p);
}

static void test_strerror(void)
{
	int e;

	for (e = SIO_PKT_OK; e >= SIO_PKT_ENOMEM; e--) {
		vectors++;
		CHECK(strcmp(sio_msgpack_strerror(e), "unknown error") != 0);
	}
	for (e = SIO_MSGPACK_ETRUNCATED; e >= SIO_MSGPACK_ESIZE; e--) {
		vectors++;
		CHECK(strcmp(sio_msgpack_strerror(e), "unknown error") != 0);
	}
	CHECK(strcmp(sio_msgpack_strerror(SIO_MSGPACK_ESIZE - 1), "unknown error") == 0);
	CHECK(strcmp(sio_msgpack_strerror(1), "unknown error") == 0);
}

int main(void)
{
	test_vectors();
	test_large();
	test_depth();
	test_limits();
	test_strerror();

	printf("sio_msgpack: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
