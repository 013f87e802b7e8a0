/*
 * Vectors for the Redis adapter's messages (cluster/redis_msg.c): JSON or
 * msgpack by the first byte, the selections read from opts (numbers as
 * their text), and which broadcasts a node delivers. The msgpack inputs
 * are what notepack.io 3.0.1 writes (the bytes of
 * msgpack.encode([...]) in Node). Every input is copied into a heap block
 * of exactly its length.
 */
#include "cluster/redis_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) (const uint8_t *)lit, sizeof(lit) - 1

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static bool decode(const uint8_t *p, size_t n, struct msgpack_value *v)
{
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		exit(2);
	memcpy(b, p, n);
	bool ok = redis_msg_decode(b, n, v);
	free(b);
	return ok;
}

static void test_formats(void)
{
	struct msgpack_value v;
	/* JSON by its first byte */
	CHECK(decode(S("{\"uid\":\"abcdef\",\"type\":6,\"data\":[\"ev\",1]}"), &v));
	CHECK(json_integer_value(json_object_get(v.json, "type")) == 6);
	msgpack_value_finish(&v);
	/* not JSON, not msgpack: refused, nothing held */
	CHECK(!decode(S("{\"uid\":"), &v));
	CHECK(v.json == NULL && v.nbufs == 0);
	CHECK(!decode(S(""), &v));
	/* msgpack: ["a", {type: 2, data: ["e", <Buffer 01 02>], nsp: "/"}, {rooms: [], except: [],
	 * flags: {}}] */
	CHECK(decode(S("\x93\xa1"
	               "a\x83\xa4type\x02\xa4"
	               "data\x92\xa1"
	               "e\xc4\x02\x01\x02\xa3nsp\xa1/"
	               "\x83\xa5rooms\x90\xa6"
	               "except\x90\xa5"
	               "flags\x80"),
	             &v));
	CHECK(json_is_array(v.json) && v.nbufs == 1 && v.bufs[0].len == 2 &&
	      v.bufs[0].data[1] == 2);
	json_t *data, *opts;
	CHECK(redis_msg_broadcast(v.json, "self", "/", &data, &opts));
	CHECK(sio_pkt_placeholder_num(json_array_get(data, 1), 1) == 0);
	/* the same message is ours, or of another namespace: not delivered */
	CHECK(!redis_msg_broadcast(v.json, "a", "/", &data, &opts));
	CHECK(!redis_msg_broadcast(v.json, "self", "/other", &data, &opts));
	msgpack_value_finish(&v);
}

static void test_broadcasts(void)
{
	static const struct {
		const char *msg; /* JSON stands for the decoded value */
		const char *nsp;
		bool deliver;
	} cases[] = {
	        {"[\"u\",{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/\"},{}]", "/", true},
	        /* no nsp: "/" (the emitter of old) */
	        {"[\"u\",{\"type\":2,\"data\":[\"e\"]},{}]", "/", true},
	        {"[\"u\",{\"type\":2,\"data\":[\"e\"]},{}]", "/x", false},
	        {"[\"u\",{\"type\":5,\"data\":[\"e\"],\"nsp\":\"/x\"},{}]", "/x", true},
	        {"[\"emitter\",{\"type\":2,\"data\":[\"e\",1],\"nsp\":\"/\"},{}]", "/", true},
	        /* not an event, no data, empty data, odd shapes */
	        {"[\"u\",{\"type\":3,\"data\":[\"e\"],\"nsp\":\"/\"},{}]", "/", false},
	        {"[\"u\",{\"type\":2,\"nsp\":\"/\"},{}]", "/", false},
	        {"[\"u\",{\"type\":2,\"data\":[],\"nsp\":\"/\"},{}]", "/", false},
	        {"[\"u\",{\"type\":\"2\",\"data\":[\"e\"],\"nsp\":\"/\"},{}]", "/", false},
	        {"[\"u\",[2],{}]", "/", false},
	        {"{\"uid\":\"u\"}", "/", false},
	        {"[\"self\",{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/\"},{}]", "/", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = json_loads(cases[i].msg, 0, NULL);
		json_t *data, *opts;
		bool got = m && redis_msg_broadcast(m, "self", cases[i].nsp, &data, &opts);
		if (got != cases[i].deliver) {
			fprintf(stderr, "%s:%d: broadcast case %zu\n", __FILE__, __LINE__, i);
			failures++;
		}
		json_decref(m);
	}
}

static size_t count(const char *const *names)
{
	size_t n = 0;
	while (names && names[n])
		n++;
	return n;
}

static void test_targets(void)
{
	json_t *opts = json_loads("{\"rooms\":[\"a\",42,1.5,null,{}],\"except\":[\"b\"],"
	                          "\"flags\":{\"volatile\":true}}",
	                          0, NULL);
	struct redis_msg_target mt;
	CHECK(redis_msg_target_read(opts, &mt));
	/* numbers name rooms no sioc socket is in: skipped */
	CHECK(count(mt.t.rooms) == 1);
	CHECK(strcmp(mt.t.rooms[0], "a") == 0);
	CHECK(!mt.none);
	CHECK(count(mt.t.except) == 1 && strcmp(mt.t.except[0], "b") == 0);
	CHECK(mt.t.volatile_ && !mt.t.local && !mt.t.except_socket);
	redis_msg_target_finish(&mt);
	json_decref(opts);
	/* only numbers in rooms: nobody; a number in except: excludes nobody */
	opts = json_loads("{\"rooms\":[42,1.5],\"except\":[42,\"c\"]}", 0, NULL);
	CHECK(redis_msg_target_read(opts, &mt));
	CHECK(mt.none && count(mt.t.rooms) == 0);
	CHECK(count(mt.t.except) == 1 && strcmp(mt.t.except[0], "c") == 0);
	redis_msg_target_finish(&mt);
	json_decref(opts);
	opts = json_loads("{\"rooms\":[],\"except\":[42]}", 0, NULL);
	CHECK(redis_msg_target_read(opts, &mt));
	CHECK(!mt.none && count(mt.t.rooms) == 0 && count(mt.t.except) == 0);
	redis_msg_target_finish(&mt);
	json_decref(opts);
	/* absent opts: every socket */
	CHECK(redis_msg_target_read(NULL, &mt));
	CHECK(count(mt.t.rooms) == 0 && count(mt.t.except) == 0 && !mt.t.volatile_);
	redis_msg_target_finish(&mt);
}

int main(void)
{
	test_formats();
	test_broadcasts();
	test_targets();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	return 0;
}
