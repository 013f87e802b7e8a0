/*
 * msgpack values as notepack.io writes and reads them, to and from jansson
 * values: the messages of the Redis adapter (@socket.io/redis-adapter 8.3
 * and @socket.io/redis-emitter 5.1 publish notepack.io 3.0.1's encoding
 * of [uid, packet, opts] and of request objects) and, under
 * sio_msgpack.c, socket.io-msgpack-parser 3's packets (notepack.io
 * 2.2.0). Pure: no I/O, no globals. Wire data is (pointer, length), never
 * read past length.
 *
 * The two notepack versions write the same bytes for everything JSON
 * holds; they differ in three JavaScript values. 2.2 writes undefined as
 * fixext 1 of type 0, an ArrayBuffer or typed array as ext 8/16/32 of
 * type 0 and a Date as fixext 8 of type 0 (int64 milliseconds). 3.0
 * writes undefined as nil (and leaves undefined members out), an
 * ArrayBuffer or typed array as bin, and a Date as a msgpack timestamp
 * (ext type -1: timestamp 32, 64 or 96); it still reads 2.2's forms.
 * Decoding takes 2.2's forms always and the timestamps with
 * MSGPACK_VALUE_TIMESTAMP, so that sio_msgpack, whose peers run 2.2,
 * refuses what they never send.
 *
 * Binary values (msgpack bin; notepack 2.2 also writes an ArrayBuffer or
 * a typed array as ext 8/16/32 of type 0) are, in memory, Socket.IO
 * placeholders {"_placeholder":true,"num":k} (sio_pkt_placeholder_new())
 * indexing an array of struct sio_pkt_buf that travels beside the tree,
 * as for packets (sio_packet.h). Decoding numbers the binaries in the
 * order of the message, from 0.
 *
 * Decoding, msgpack to json_t:
 * - nil null; true, false; integers that fit int64 integers; uint 64
 *   above INT64_MAX reals (JavaScript reads every number as a double);
 *   float 32 and 64 reals, NaN and the infinities null (what
 *   JSON.stringify() writes for them; jansson cannot hold them).
 * - str a string, which must be UTF-8 (MSGPACK_VALUE_EUTF8; notepack would
 *   put U+FFFD in) and may hold NUL (use json_string_length()).
 * - bin, ext 8/16/32 of type 0: a placeholder, the bytes copied.
 * - notepack 2.2's undefined (fixext 1, type 0, its data byte ignored):
 *   null in an array and as the whole value, no member in a map (as
 *   JSON.stringify() has them).
 * - A Date: notepack 2.2's (fixext 8, type 0, a big-endian int64 of
 *   milliseconds) and, with MSGPACK_VALUE_TIMESTAMP, a timestamp 32
 *   (fixext 4), 64 (fixext 8) or 96 (ext 8 of 12 bytes), type -1, made
 *   into milliseconds as notepack 3 does (seconds * 1e3 + nanoseconds /
 *   1e6 in doubles, truncated toward zero): its toISOString() text, or
 *   null outside Date's range (+-8.64e15 ms), an invalid Date.
 * - Any other ext, which notepack would read as [type, Buffer], is
 *   MSGPACK_VALUE_EEXT; the byte 0xc1 is MSGPACK_VALUE_EFORMAT.
 * - map a JSON object, its members in the message's order. Keys are
 *   strings, UTF-8 (MSGPACK_VALUE_EUTF8) without NUL; with
 *   MSGPACK_VALUE_INT_KEYS an integer key in [-(2^53-1), 2^53-1] becomes
 *   its decimal text, the property name notepack's JavaScript object gets
 *   (String(1) is "1"); any other key, or one repeated (notepack keeps
 *   the last), is MSGPACK_VALUE_EKEY. A key whose value is undefined is
 *   not there, so it may come again.
 * - A map whose "_placeholder" member is true, in a value that holds
 *   binary, is SIO_PKT_EPLACEHOLDER: it would read as one of the
 *   placeholders. Without binary it stays a map, which nothing takes for
 *   a placeholder (sio_pkt_placeholder_num() with a count of 0).
 *
 * Encoding, json_t to msgpack, the forms notepack writes: integers the
 * smallest (non-negative ones unsigned: fixint, uint 8/16/32/64; negative
 * ones fixint, int 8/16/32/64); reals float 64, even 1.0, which notepack
 * writes as the integer 1 (the C side keeps 1.0 and 1 apart; JavaScript
 * reads both as 1); strings fixstr, str 8/16/32; a buffer bin 8/16/32;
 * arrays fixarray, array 16/32; objects fixmap, map 16/32, their keys in
 * iteration order (insertion order, jansson >= 2.8). With binary
 * (nbufs > 0) an object whose "_placeholder" is true must be a placeholder
 * naming one of the buffers (SIO_PKT_EPLACEHOLDER) and is written as bin
 * of that buffer; its other members are not sent. With nbufs 0 it is a
 * map like any other.
 *
 * Nothing is allocated in proportion to a declared count: a count or
 * length larger than the bytes left is MSGPACK_VALUE_ETRUNCATED before
 * anything is made, and neither direction recurses along the nesting.
 * jansson does (json_decref(), json_equal(), json_dumps()), so max_depth
 * also bounds the stack those take on a decoded value: the packet codecs
 * allow SIO_PKT_MAX_DEPTH (2048) for a packet's data; a frame around data
 * adds its own levels (the Redis adapter's [uid, {data}, opts] and
 * {packet: {data}} two: SIO_PKT_MAX_DEPTH + 2).
 *
 * json_t ownership is stated in jansson's words: a "new" reference is the
 * receiver's to json_decref(), a "borrowed" one is not.
 */
#ifndef SIOC_PROTOCOL_MSGPACK_VALUE_H
#define SIOC_PROTOCOL_MSGPACK_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"
#include "protocol/sio_packet.h"

/*
 * Errors of this codec, beside SIO_PKT_ENOMEM, SIO_PKT_EATTACH (more
 * binaries than allowed) and SIO_PKT_EPLACEHOLDER (see above), which it
 * shares with the packet codecs; msgpack_value_strerror() names them all.
 * sio_msgpack.h's SIO_MSGPACK_E* codes are these numbers.
 */
#define MSGPACK_VALUE_ERROR_MAP(XX)                                                           \
	/* a value runs past the end of the bytes */                                          \
	XX(MSGPACK_VALUE_ETRUNCATED, -20, "msgpack value runs past the end of the message")   \
	XX(MSGPACK_VALUE_ETRAILING, -21, "bytes after the msgpack value")                     \
	/* the byte 0xc1, which msgpack never uses */                                         \
	XX(MSGPACK_VALUE_EFORMAT, -22, "invalid msgpack byte 0xc1")                           \
	/* an ext other than notepack's three */                                              \
	XX(MSGPACK_VALUE_EEXT, -23,                                                           \
	   "msgpack ext type other than notepack's undefined, Date and ArrayBuffer")          \
	/* -24 is sio_msgpack's SIO_MSGPACK_ENOTMAP */                                        \
	/* map key not a string (or integer), holding NUL, or repeated */                     \
	XX(MSGPACK_VALUE_EKEY, -25, "map key not a string, holding NUL, or repeated")         \
	/* a string or key that is not UTF-8 */                                               \
	XX(MSGPACK_VALUE_EUTF8, -26, "string not valid UTF-8")                                \
	/* nested deeper than the limit */                                                    \
	XX(MSGPACK_VALUE_EDEPTH, -27, "data nested too deep")                                 \
	/* encode: a string, buffer or container over 2^32-1 */                               \
	XX(MSGPACK_VALUE_ESIZE, -28, "string, buffer or container too large for msgpack")

enum msgpack_value_error {
	MSGPACK_VALUE_ERROR_MAP(SIO_CODEC_ERROR_ENUM)
};

/* Decode flags. INT_KEYS: integer map keys become their decimal text;
 * TIMESTAMP: msgpack timestamps (notepack 3's Dates) are read (see above).
 * The Redis adapter's messages want both. */
#define MSGPACK_VALUE_INT_KEYS 1u
#define MSGPACK_VALUE_TIMESTAMP 2u

/*
 * A decoded value: json a new reference (never NULL after a successful
 * decode), bufs a malloc'd array of nbufs buffers whose data are malloc'd
 * (non-NULL even when empty); bufs NULL when nbufs is 0. The holder may
 * take json or bufs over by setting the member to NULL (and nbufs to 0).
 * An all-zero struct is a valid empty value.
 */
struct msgpack_value {
	json_t *json;
	struct sio_pkt_buf *bufs;
	uint32_t nbufs;
};

/* Releases what v holds (json_decref, the buffers) and zeroes it. NULL
 * and an all-zero value are no-ops. */
void msgpack_value_finish(struct msgpack_value *v);

/* Frees n buffers' data and the array; bufs may be NULL. */
void msgpack_bufs_free(struct sio_pkt_buf *bufs, uint32_t n);

/*
 * Decodes exactly one msgpack value from buf[0..len) as notepack's
 * decode() does, by the stricter rules above: bytes after it are
 * MSGPACK_VALUE_ETRAILING, an empty or cut input MSGPACK_VALUE_ETRUNCATED.
 * Values nested deeper than max_depth (the value itself at 1, so [[1]] is
 * 3 deep; at least 1) are MSGPACK_VALUE_EDEPTH, more than max_bufs
 * binaries SIO_PKT_EATTACH. flags: MSGPACK_VALUE_INT_KEYS,
 * MSGPACK_VALUE_TIMESTAMP or'd, or 0.
 *
 * Returns 0 with *out filled (release with msgpack_value_finish()), or a
 * negative code (MSGPACK_VALUE_E*, SIO_PKT_EATTACH, SIO_PKT_EPLACEHOLDER,
 * SIO_PKT_ENOMEM) with *out all zero.
 */
int msgpack_value_decode(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t max_bufs,
                         unsigned flags, struct msgpack_value *out);

/*
 * Appends the msgpack encoding of json (borrowed, any type, not NULL) to
 * out, as described above; bufs (borrowed) holds the nbufs buffers that
 * placeholders name (NULL when nbufs is 0; NULL with nbufs > 0 is
 * SIO_PKT_EATTACH). Values nested deeper than max_depth (json itself at
 * 1) are MSGPACK_VALUE_EDEPTH; a string, buffer, array or object over
 * 2^32-1 MSGPACK_VALUE_ESIZE; a bad placeholder SIO_PKT_EPLACEHOLDER;
 * SIO_PKT_ENOMEM. Returns 0, or a negative code with out->len as it was
 * (its contents past len undefined).
 */
int msgpack_value_encode(const json_t *json, const struct sio_pkt_buf *bufs, uint32_t nbufs,
                         uint32_t max_depth, struct buf *out);

/* Returns a static description of a MSGPACK_VALUE_E* or SIO_PKT_E* code. */
const char *msgpack_value_strerror(int err);

/*
 * The pieces msgpack_value_decode() and _encode() are made of, for codecs
 * of a msgpack frame around values (sio_msgpack.c reads a packet's map
 * key by key and hands its "data" to msgpack_reader_value()).
 */

/* The kinds of msgpack value msgpack_reader_item() tells apart. */
enum msgpack_kind {
	MSGPACK_NIL,
	MSGPACK_BOOL,
	MSGPACK_INT,  /* any integer form, when the value fits int64 */
	MSGPACK_UINT, /* uint 64 above INT64_MAX */
	MSGPACK_FLOAT,
	MSGPACK_STR,
	MSGPACK_BIN, /* bin, or notepack's ArrayBuffer (ext 8/16/32, type 0) */
	MSGPACK_ARRAY,
	MSGPACK_MAP,
	MSGPACK_UNDEFINED, /* notepack's undefined (fixext 1, type 0) */
	MSGPACK_DATE,      /* notepack's Date (fixext 8, type 0), a timestamp (type -1) */
};

/* One msgpack value's head: a scalar whole, a string or bin with its
 * bytes, an array or map with its count (its elements follow). */
struct msgpack_item {
	enum msgpack_kind kind;
	bool b;           /* MSGPACK_BOOL */
	int64_t i;        /* MSGPACK_INT; MSGPACK_DATE: milliseconds since 1970,
	                   * beyond +-8.64e15 for an invalid Date */
	uint64_t u;       /* MSGPACK_UINT */
	double f;         /* MSGPACK_FLOAT */
	const uint8_t *p; /* MSGPACK_STR, MSGPACK_BIN: the bytes, in the message */
	uint32_t n;       /* MSGPACK_STR, MSGPACK_BIN: length; MSGPACK_ARRAY, MSGPACK_MAP: count */
};

struct msgpack_frame; /* a container being read (msgpack_value.c) */

/*
 * Reads values from buf[0..len) in turn. The binaries of every value it
 * builds collect in bufs (the reader owns them until taken: set bufs to
 * NULL and nbufs to 0). Initialize with msgpack_reader_init(), release
 * with msgpack_reader_finish().
 */
struct msgpack_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos; /* the read position */
	uint32_t max_depth;
	uint32_t max_bufs;
	unsigned flags;
	struct sio_pkt_buf *bufs; /* the bytes of the binaries built so far */
	uint32_t nbufs;
	bool placeholder_map; /* a map built so far has "_placeholder": true */
	/* private */
	uint32_t bufs_cap;
	struct msgpack_frame *stack; /* the containers open, outermost first */
	size_t depth;                /* frames in use */
	size_t stack_cap;
	char *key; /* the last map key read, NUL-terminated for jansson */
	size_t key_cap;
};

void msgpack_reader_init(struct msgpack_reader *r, const uint8_t *buf, size_t len,
                         uint32_t max_depth, uint32_t max_bufs, unsigned flags);
/* Frees the buffers not taken and the working memory. */
void msgpack_reader_finish(struct msgpack_reader *r);

/*
 * Reads the head of the value at the read position into *it (see struct
 * msgpack_item): a scalar, a string or binary with its bytes (not checked
 * for UTF-8), or an array or map count, which is refused
 * (MSGPACK_VALUE_ETRUNCATED) when larger than the bytes left could hold.
 * Returns 0 or MSGPACK_VALUE_ETRUNCATED, _EFORMAT, _EEXT.
 */
int msgpack_reader_item(struct msgpack_reader *r, struct msgpack_item *it);

/*
 * Reads one whole value at the read position by the rules above. With
 * out, builds it: *out a new reference, or NULL with *undefined set when
 * the value is notepack's undefined; binaries become placeholders
 * numbered after those already in r->bufs. Without out (and undefined),
 * only checks it and makes nothing: every rule holds but repeated keys,
 * and binaries are neither counted nor kept. Values deeper than
 * r->max_depth (this value at 1) are MSGPACK_VALUE_EDEPTH. Returns 0 or a
 * negative code (then *out NULL; buffers taken before the error stay in
 * r->bufs).
 */
int msgpack_reader_value(struct msgpack_reader *r, json_t **out, bool *undefined);

/*
 * The encoder's heads, appended to out: an array or map of n elements, a
 * string of n bytes (head and bytes), an integer in its smallest form.
 * Return 0, MSGPACK_VALUE_ESIZE (n over 2^32-1), or SIO_PKT_ENOMEM.
 */
int msgpack_write_array(struct buf *out, size_t n);
int msgpack_write_map(struct buf *out, size_t n);
int msgpack_write_str(struct buf *out, const char *s, size_t n);
int msgpack_write_int(struct buf *out, int64_t v);

#endif
