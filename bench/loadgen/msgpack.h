/*
 * The msgpack the load generator needs to speak socket.io-msgpack-parser
 * 3.x, where every Socket.IO packet is one binary message holding a map
 * {type, data, nsp, id}: the two packets it sends, written as
 * socket.io-client 4.8 writes them, and a reader that finds the fields of
 * a packet the server sends. Pure functions over (pointer, length); no
 * allocation; nothing is read past the length given.
 */
#ifndef LOADGEN_MSGPACK_H
#define LOADGEN_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The namespace CONNECT to "/" without auth: {type:0, data:undefined,
 * nsp:"/"} (undefined is notepack's fixext 1 of type 0). */
#define MP_CONNECT_LEN 21
extern const uint8_t mp_connect_packet[MP_CONNECT_LEN];

/* The length of mp_event_encode's packet for an event name of name_len
 * bytes and one string argument of arg_len bytes. */
size_t mp_event_len(size_t name_len, size_t arg_len);

/*
 * Writes the EVENT {type:2, data:[name, arg], options:{compress:true},
 * id:<id>, nsp:"/"} into out (mp_event_len() bytes), the id as a uint 32
 * (0xce and four bytes, what notepack writes for ids from 65536 up), so
 * that it can be patched in place. Returns the length; *id_at gets the
 * offset of the id's four bytes.
 */
size_t mp_event_encode(uint8_t *out, const char *name, size_t name_len, const uint8_t *arg,
                       size_t arg_len, uint32_t id, size_t *id_at);

/*
 * Skips the value at p[*off] (n bytes in all), nested ones included;
 * returns 0 with *off past it, -1 when it is truncated or not msgpack
 * (0xc1).
 */
int mp_skip(const uint8_t *p, size_t n, size_t *off);

/* The fields of a packet map mp_packet_parse found. */
struct mp_packet {
	int64_t type; /* -1 when absent or not an integer */
	bool has_id;
	uint64_t id;
	const uint8_t *nsp; /* NULL when absent or not a string */
	size_t nsp_len;
	const uint8_t *data; /* the encoded value of "data", NULL when absent */
	size_t data_len;
};

/*
 * Reads the packet map at p (the whole message, n bytes). Returns 0 and
 * fills *pk, or -1 when p is not one map (truncated, trailing bytes, not a
 * map, keys that are not strings). Unknown keys are skipped; negative or
 * non-integer ids count as absent.
 */
int mp_packet_parse(const uint8_t *p, size_t n, struct mp_packet *pk);

#endif
