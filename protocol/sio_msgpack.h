/*
 * Socket.IO packets in the format of socket.io-msgpack-parser 3.x (the
 * parser a socket.io 4.8 server and its clients may be given instead of the
 * JSON one). Pure: no I/O, no globals. Wire data is (pointer, length), never
 * read past length.
 *
 * Each packet is one binary Engine.IO message: the msgpack encoding, as
 * notepack.io 2.2 writes it, of the object {type, data, nsp, id}, keys
 * absent when unset. type is 0..4: an event or an ack with binary in it
 * stays type 2 or 3 and its binary values are msgpack bin wherever they
 * are in data. There are no attachments and no placeholders on the wire.
 *
 * In memory a packet is the struct sio_pkt of sio_packet.h, as the JSON
 * codec gives it, so that the rest of the server need not know which
 * parser a client uses. A decoded packet that held bin values is a
 * BINARY_EVENT or BINARY_ACK whose data holds a placeholder
 * (sio_pkt_placeholder_new()) where each bin was, numbered in the order
 * of the message, and whose bufs hold the bytes. To send, give the
 * encoder data with placeholders and the buffers they index, as for
 * sio_pkt_encode() and the attachments after it.
 *
 * notepack writes three JavaScript values as msgpack ext type 0, and they
 * are read as a client of the JSON parser would have sent them
 * (JSON.stringify()): undefined (fixext 1) is null in an array, an absent
 * member in a map, and an absent key in the packet (socket.io-client sends
 * a CONNECT without auth as data: undefined); a Date (fixext 8) is its
 * toISOString() text, or null when out of Date's range; an ArrayBuffer or
 * typed array (ext 8/16/32, which notepack writes under Node, where only a
 * Buffer is bin) is binary like bin. Any other ext is refused. NaN and
 * the infinities, which notepack writes as float64, read as null, which is
 * what JSON.stringify() writes for them.
 *
 * json_t ownership is stated in jansson's words: a "new" reference is the
 * receiver's to json_decref(), a "borrowed" one is not.
 */
#ifndef SIOC_PROTOCOL_SIO_MSGPACK_H
#define SIOC_PROTOCOL_SIO_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "protocol/msgpack_value.h"
#include "protocol/sio_packet.h"

/*
 * Errors of this codec, beside the SIO_PKT_E* codes it shares with the
 * JSON one (see sio_msgpack_decode()); sio_msgpack_strerror() names both.
 * All but SIO_MSGPACK_ENOTMAP are msgpack_value.h's codes, whose decoder
 * reads data:
 * - ETRUNCATED: a value runs past the end of the message;
 * - ETRAILING: bytes after the packet's map;
 * - EFORMAT: the byte 0xc1, which msgpack never uses;
 * - EEXT: an ext other than notepack's three (see above);
 * - ENOTMAP: the message is not a msgpack map;
 * - EKEY: a map key not a string, holding NUL, or repeated;
 * - EUTF8: a string or key that is not UTF-8;
 * - EDEPTH: data nested deeper than SIO_PKT_MAX_DEPTH;
 * - ESIZE: encode: a string, buffer or container over 2^32-1.
 */
enum sio_msgpack_error {
	SIO_MSGPACK_ETRUNCATED = MSGPACK_VALUE_ETRUNCATED,
	SIO_MSGPACK_ETRAILING = MSGPACK_VALUE_ETRAILING,
	SIO_MSGPACK_EFORMAT = MSGPACK_VALUE_EFORMAT,
	SIO_MSGPACK_EEXT = MSGPACK_VALUE_EEXT,
	SIO_MSGPACK_ENOTMAP = -24,
	SIO_MSGPACK_EKEY = MSGPACK_VALUE_EKEY,
	SIO_MSGPACK_EUTF8 = MSGPACK_VALUE_EUTF8,
	SIO_MSGPACK_EDEPTH = MSGPACK_VALUE_EDEPTH,
	SIO_MSGPACK_ESIZE = MSGPACK_VALUE_ESIZE,
};

/*
 * Decodes one binary message as the reference's Decoder.add() does
 * (notepack's decode(), then checkPacket()), with the stricter rules of
 * sio_pkt_decode() where it has them. The message must be exactly one
 * msgpack map (SIO_MSGPACK_ENOTMAP, SIO_MSGPACK_ETRAILING) whose keys are
 * strings, none of the four below twice (SIO_MSGPACK_EKEY). Other keys,
 * such as the `options` the client adds to its events, are ignored, their
 * values checked by the same rules as data.
 *
 * - type: an integer 0..4 (a float with an integral value passes, as in
 *   the reference); anything else, or no type, is SIO_PKT_ETYPE.
 * - nsp: a string, required; it must start with '/' and hold no ',' (what
 *   a JSON-parser packet's namespace always is), else SIO_PKT_ENSP.
 * - id: absent or undefined (-1), else an integer in
 *   [0, SIO_PKT_ACK_ID_MAX], else SIO_PKT_EACKID.
 * - data: absent or undefined, or any value, nested at most
 *   SIO_PKT_MAX_DEPTH deep as the JSON decoder counts
 *   (SIO_MSGPACK_EDEPTH). Then its shape is checked as in the reference:
 *   CONNECT none or an object, DISCONNECT none, CONNECT_ERROR a string
 *   or an object, EVENT and ACK an array; plus sio_pkt_payload_valid()'s
 *   rules (an event name is a number or a string that is not reserved, so
 *   bin as the event name is refused): SIO_PKT_EPAYLOAD.
 * - Binary values (bin, ext ArrayBuffer) become placeholders, their bytes
 *   copied to out->bufs, and the type is promoted to BINARY_EVENT or
 *   BINARY_ACK. More than max_attachments of them is SIO_PKT_EATTACH;
 *   any in a CONNECT or CONNECT_ERROR is SIO_PKT_EPAYLOAD; a map in data
 *   whose "_placeholder" member is true, in a packet with binary, is
 *   SIO_PKT_EPLACEHOLDER (it would read as one of the placeholders).
 *   Binary in ignored keys is not counted.
 * - Values: integers beyond int64 (uint64) become reals, as the reference
 *   reads every number as a double; float32 and float64 are reals (NaN,
 *   infinities null); strings and keys must be UTF-8 (SIO_MSGPACK_EUTF8;
 *   the reference would put U+FFFD in); a map's keys must be strings,
 *   without NUL and not repeated (SIO_MSGPACK_EKEY; the reference makes
 *   "1" of the key 1 and keeps the last of repeated keys). Strings may
 *   hold NUL, as with the JSON parser.
 *
 * Nothing is allocated in proportion to a declared count: a count larger
 * than the bytes left (SIO_MSGPACK_ETRUNCATED) is refused before
 * anything is made, and no recursion follows the nesting.
 *
 * Returns 0 with *out filled: out->data a new reference (NULL when the
 * packet has none), out->nsp a NUL-terminated copy, out->bufs
 * out->attachments malloc'd copies (NULL when none), all released by
 * sio_pkt_finish(). Or returns a negative code (SIO_PKT_E* or
 * SIO_MSGPACK_E*; SIO_PKT_ENOMEM when out of memory) with *out all zero.
 */
int sio_msgpack_decode(const uint8_t *buf, size_t len, uint32_t max_attachments,
                       struct sio_pkt *out);

/*
 * Encodes a packet as the reference's Encoder.encode() (notepack's
 * encode()) writes it, byte for byte where jansson can tell: keys in the
 * order a socket.io 4.8 Socket writes them (ACK: id, type, data, nsp;
 * the others: type, data, id, nsp), data absent when NULL, id absent
 * when -1, nsp "/" when nsp_len is 0 (nsp may then be NULL). Integers
 * take the smallest msgpack form, reals are float64 (even 1.0, which
 * notepack writes as an integer: the C side keeps 1.0 and 1 apart), and
 * strings, arrays and maps the smallest form for their size. BINARY_EVENT
 * and BINARY_ACK are written as types 2 and 3 with each placeholder in
 * data (borrowed) replaced by bin of bufs[num] (bufs borrowed, holding
 * `attachments` buffers; a buffer no placeholder names is not sent).
 *
 * Checked so that the reference decoder accepts the result: the type
 * (SIO_PKT_ETYPE); attachments >= 1 and bufs exactly for BINARY_*
 * (SIO_PKT_EATTACH); nsp starting with '/' and holding no ','
 * (SIO_PKT_ENSP); id -1 or in [0, SIO_PKT_ACK_ID_MAX] (SIO_PKT_EACKID);
 * data present for EVENT, ACK, CONNECT_ERROR and BINARY_*, absent for
 * DISCONNECT, and of sio_pkt_payload_valid()'s shape (SIO_PKT_EPAYLOAD);
 * nested at most SIO_PKT_MAX_DEPTH deep (SIO_MSGPACK_EDEPTH); for BINARY_*
 * every object whose "_placeholder" is true a valid placeholder
 * (SIO_PKT_EPLACEHOLDER); no string or buffer over 2^32-1 bytes
 * (SIO_MSGPACK_ESIZE).
 *
 * On success returns 0 and sets *out to a malloc'd block (the caller's to
 * free()) that holds headroom uninitialized bytes, then the *out_len bytes
 * of the message; headroom lets the caller put framing in front (LWS_PRE)
 * without a copy. On error returns a negative code and sets *out to NULL.
 */
int sio_msgpack_encode(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                       uint32_t attachments, const json_t *data, const struct sio_pkt_buf *bufs,
                       size_t headroom, uint8_t **out, size_t *out_len);

/* Returns a static description of a SIO_MSGPACK_E* or SIO_PKT_E* code. */
const char *sio_msgpack_strerror(int err);

#endif
