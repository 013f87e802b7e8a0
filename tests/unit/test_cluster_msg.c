/*
 * protocol/cluster_msg.c: the ClusterAdapter messages of the sharded Redis
 * adapter. The wire vectors are what @socket.io/redis-adapter 8.3's
 * sharded adapter published for the same operations
 * (gen_cluster_msg_vectors.js printed them, node id 0123456789abcdef):
 * encoding the same data must give the same bytes, and decoding them must
 * give the members back.
 */
#include "protocol/cluster_msg.h"

#include "protocol/sio_packet.h"
#include "unit.h"

#define UID "0123456789abcdef"

/* Encodes (type, data) and compares with want (JSON text, or hex: for
 * msgpack). data stolen. */
static void check_encode(int line, int type, json_t *data, const struct sio_pkt_buf *bins,
                         uint32_t nbins, const char *want)
{
	struct buf out = {0};
	int r = cluster_msg_encode(type, data, UID, "/", bins, nbins, &out);
	check(r == 0, line, "encode failed");
	vectors++;
	if (strncmp(want, "hex:", 4) == 0) {
		size_t n;
		uint8_t *w = unhex(want + 4, &n);
		if (!check(out.len == n && memcmp(out.data, w, n) == 0, line,
		           "msgpack bytes differ")) {
			fprintf(stderr, "  got  ");
			for (size_t i = 0; i < out.len; i++)
				fprintf(stderr, "%02x", (uint8_t)out.data[i]);
			fprintf(stderr, "\n  want %s\n", want + 4);
		}
		free(w);
	} else if (!check(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0, line,
	                  "JSON differs")) {
		fprintf(stderr, "  got  %.*s\n  want %s\n", (int)out.len, out.data, want);
	}
	buf_free(&out);
	json_decref(data);
}

static const char *const ROOM1[] = {"room1", NULL};
static const char *const ROOM12[] = {"room1", "room2", NULL};
static const char *const ROOM3[] = {"room3", NULL};

static json_t *bcast(json_t *args, const char *request_id, json_t *opts)
{
	json_t *d = json_pack("{s:{s:i,s:o}}", "packet", "type", 2, "data", args);
	if (request_id)
		json_object_set_new(d, "requestId", json_string(request_id));
	json_object_set_new(d, "opts", opts);
	return d;
}

static void test_encode(void)
{
	check_encode(__LINE__, CLUSTER_BROADCAST,
	             bcast(json_pack("[s,i,s,{s:[i]}]", "hello", 1, "two", "three", 3), NULL,
	                   cluster_opts_json(NULL, NULL, NULL)),
	             NULL, 0,
	             "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"hello\",1,\"two\","
	             "{\"three\":[3]}]},\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{}}},"
	             "\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(
	        __LINE__, CLUSTER_BROADCAST,
	        bcast(json_pack("[s]", "hello"), NULL, cluster_opts_json(ROOM12, ROOM3, NULL)),
	        NULL, 0,
	        "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"hello\"]},\"opts\":{"
	        "\"rooms\":[\"room1\",\"room2\"],\"except\":[\"room3\"],\"flags\":{}}},\"uid\":"
	        "\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(
	        __LINE__, CLUSTER_BROADCAST,
	        bcast(json_pack("[s,n]", "v"), NULL,
	              cluster_opts_json(NULL, NULL, json_pack("{s:b}", "volatile", 1))),
	        NULL, 0,
	        "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"v\",null]},\"opts\":{"
	        "\"rooms\":[],\"except\":[],\"flags\":{\"volatile\":true}}},\"uid\":"
	        "\"0123456789abcdef\",\"nsp\":\"/\"}");
	/* binary: notepack, the buffer a bin 8 */
	static uint8_t b123[] = {1, 2, 3};
	struct sio_pkt_buf bin = {.data = b123, .len = 3};
	check_encode(__LINE__, CLUSTER_BROADCAST,
	             bcast(json_pack("[s,o,s]", "bin", sio_pkt_placeholder_new(0), "x"), NULL,
	                   cluster_opts_json(NULL, NULL, NULL)),
	             &bin, 1,
	             "hex:84a47479706503a46461746182a67061636b657482a47479706502a46461746193a36269"
	             "6ec403010203a178a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a375"
	             "6964b030313233343536373839616263646566a36e7370a12f");
	/* a type that never carries binary stays JSON */
	check_encode(
	        __LINE__, CLUSTER_SOCKETS_JOIN,
	        json_pack("{s:o,s:[s]}", "opts", cluster_opts_json(ROOM1, NULL, NULL), "rooms",
	                  "room9"),
	        &bin, 1,
	        "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}},"
	        "\"rooms\":[\"room9\"]},\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(
	        __LINE__, CLUSTER_DISCONNECT_SOCKETS,
	        json_pack("{s:o,s:b}", "opts", cluster_opts_json(NULL, NULL, NULL), "close", 1),
	        NULL, 0,
	        "{\"type\":6,\"data\":{\"opts\":{\"rooms\":[],\"except\":[],\"flags\":{}},"
	        "\"close\":true},\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(__LINE__, CLUSTER_SERVER_SIDE_EMIT,
	             json_pack("{s:[s,i,{s:s}]}", "packet", "sse", 1, "a", "b"), NULL, 0,
	             "{\"type\":9,\"data\":{\"packet\":[\"sse\",1,{\"a\":\"b\"}]},\"uid\":"
	             "\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(
	        __LINE__, CLUSTER_BROADCAST,
	        bcast(json_pack("[s,i]", "ackme", 7), "7667c704ad9b6c00",
	              cluster_opts_json(ROOM1, NULL, json_pack("{s:i}", "timeout", 1000))),
	        NULL, 0,
	        "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"ackme\",7]},"
	        "\"requestId\":"
	        "\"7667c704ad9b6c00\",\"opts\":{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{"
	        "\"timeout\":1000}}},\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}");
	check_encode(__LINE__, CLUSTER_HEARTBEAT, NULL, NULL, 0,
	             "{\"type\":2,\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}");
}

struct dvec {
	int line;
	const char *in; /* JSON, or hex: */
	int want;       /* 0 or an error */
	int type;
	size_t nrooms, nexcept;
	uint32_t nbins;
};

static const struct dvec dvecs[] = {
        {__LINE__,
         "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"hello\"]},\"opts\":{\"rooms\":["
         "\"room1\",\"room2\"],\"except\":[\"room3\"],\"flags\":{}}},\"uid\":\"0123456789abcdef\","
         "\"nsp\":\"/\"}",
         0, 3, 2, 1, 0},
        {__LINE__,
         "hex:84a47479706503a46461746182a67061636b657482a47479706502a46461746193a362696ec40301"
         "0203a178a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b03031323334"
         "3536373839616263646566a36e7370a12f",
         0, 3, 0, 0, 1},
        {__LINE__,
         "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"room1\"],\"except\":[],\"flags\":{}},"
         "\"rooms\":[\"room9\"]},\"uid\":\"0123456789abcdef\",\"nsp\":\"/\"}",
         0, 4, 1, 0, 0},
        {__LINE__, "{\"type\":1,\"uid\":\"x\",\"nsp\":\"/\"}", 0, 1, 0, 0, 0},
        {__LINE__, "{\"type\":13,\"uid\":\"x\",\"nsp\":\"/\"}", 0, 13, 0, 0, 0},
        {__LINE__, "{\"type\":11,\"data\":{\"requestId\":\"a\",\"clientCount\":3},\"uid\":\"x\"}",
         0, 11, 0, 0, 0},
        {__LINE__, "{\"type\":8,\"data\":{\"requestId\":\"a\",\"sockets\":[]},\"uid\":\"x\"}", 0, 8,
         0, 0, 0},
        {__LINE__, "{\"type\":12,\"data\":{\"requestId\":\"a\"},\"uid\":\"x\"}", 0, 12, 0, 0, 0},
        /* numbers name rooms no sioc socket is in: left out */
        {__LINE__,
         "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"x\"]},\"opts\":{"
         "\"rooms\":[42,\"room1\",1.5],\"except\":[42]}},\"uid\":\"x\",\"nsp\":\"/\"}",
         0, 3, 1, 0, 0},
        {__LINE__,
         "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[42]},\"rooms\":[7,\"j\"]},\"uid\":\"x\","
         "\"nsp\":\"/\"}",
         0, 4, 0, 0, 0},
        /* absent rooms and except read as empty sets */
        {__LINE__, "{\"type\":6,\"data\":{\"opts\":{}},\"uid\":\"x\",\"nsp\":\"/\"}", 0, 6, 0, 0,
         0},
        /* refused */
        {__LINE__, "", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
        {__LINE__, "{\"type\":3", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
        {__LINE__, "{}", CLUSTER_MSG_ETYPE, 0, 0, 0, 0},
        {__LINE__, "{\"type\":14}", CLUSTER_MSG_ETYPE, 0, 0, 0, 0},
        {__LINE__, "{\"type\":0}", CLUSTER_MSG_ETYPE, 0, 0, 0, 0},
        {__LINE__, "{\"type\":\"3\"}", CLUSTER_MSG_ETYPE, 0, 0, 0, 0},
        {__LINE__, "{\"type\":3}", CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":{}},\"opts\":{}}}",
         CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__,
         "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[]},\"opts\":{\"rooms\":[true]}}}",
         CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[]}}}",
         CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "{\"type\":4,\"data\":{\"opts\":{},\"rooms\":\"r\"}}", CLUSTER_MSG_EFIELD, 0, 0,
         0, 0},
        {__LINE__, "{\"type\":7,\"data\":{\"opts\":{}}}", CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "{\"type\":9,\"data\":{\"packet\":[]}}", CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "{\"type\":11,\"data\":{\"requestId\":\"a\",\"clientCount\":-1}}",
         CLUSTER_MSG_EFIELD, 0, 0, 0, 0},
        {__LINE__, "[1,2]", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
        {__LINE__, "hex:93010203", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
        {__LINE__, "hex:84a474797065", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
        {__LINE__, "hex:c1", CLUSTER_MSG_EFORMAT, 0, 0, 0, 0},
};

static void test_decode(void)
{
	for (size_t i = 0; i < sizeof(dvecs) / sizeof(dvecs[0]); i++) {
		const struct dvec *v = &dvecs[i];
		size_t len;
		uint8_t *in;
		if (strncmp(v->in, "hex:", 4) == 0) {
			in = unhex(v->in + 4, &len);
		} else {
			len = strlen(v->in);
			in = copy_exact(v->in, len);
		}
		struct cluster_msg m;
		int r = cluster_msg_decode(in, len, &m);
		vectors++;
		if (check(r == v->want, v->line, "decode result") && r == 0) {
			check(m.type == v->type, v->line, "type");
			check(m.opts.nrooms == v->nrooms, v->line, "rooms");
			check(m.opts.nexcept == v->nexcept, v->line, "except");
			/* rooms of numbers only select nobody */
			check(m.opts.none == (strstr(v->in, "\"opts\":{\"rooms\":[42]}") != NULL),
			      v->line, "none");
			check(m.nbins == v->nbins, v->line, "binaries");
			if (v->nbins)
				check(m.bins[0].len == 3 && m.bins[0].data[2] == 3, v->line,
				      "binary bytes");
			if (v->nrooms)
				check(strcmp(m.opts.rooms[0], "room1") == 0 &&
				              !m.opts.rooms[v->nrooms],
				      v->line, "room names");
			if (m.type == CLUSTER_BROADCAST)
				check(json_is_array(json_object_get(m.packet, "data")), v->line,
				      "packet");
			if (m.type == CLUSTER_BROADCAST_CLIENT_COUNT)
				check(m.client_count == 3, v->line, "client count");
			if (v->nbins)
				check(sio_pkt_placeholder_num(
				              json_array_get(json_object_get(m.packet, "data"), 1),
				              1) == 0,
				      v->line, "placeholder");
		}
		cluster_msg_finish(&m);
		free(in);
	}
}

int main(void)
{
	test_encode();
	test_decode();
	printf("%d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
