/*
 * Engine.IO v3 polling codec (socket.io-client 1.x/2.x): the text payload
 * ("<length>:<packet>" repeated), the XHR2 binary payload, and the JSONP
 * forms of both directions. Pure: no I/O, no globals, no allocation. Wire
 * data is (pointer, length) and never read past length; packets are
 * struct eio_packet (eio_packet.h).
 *
 * The reference is engine.io 6.6: its bundled v3 parser
 * (build/parser-v3/index.js, engine.io-parser 2.2.x) and
 * build/transports/polling.js and polling-jsonp.js. Each function below
 * says what it mirrors and where it departs from it.
 *
 * Text. The reference decodes a POST body to a string (UTF-8, each invalid
 * sequence becoming one U+FFFD) and counts lengths in UTF-16 code units, as
 * JavaScript's string.length. Here text stays UTF-8 bytes: lengths are
 * counted as the reference counts them (eio3_utf16_len), and invalid bytes
 * are passed through as they are, not replaced: the caller refuses text
 * that is not UTF-8, as it does for v4 (the reference would deliver the
 * U+FFFD).
 *
 * Base64 is strict, as in eio_packet.c (eio_base64_decode): the reference's
 * Buffer.from(s, "base64") skips characters outside the alphabet and stops
 * at '='; real clients send canonical padded base64, which both accept.
 *
 * The v3 open packet: the reference sends v3 clients the same JSON as v4
 * clients (sid, upgrades, pingInterval, pingTimeout and maxPayload), so
 * eio_open_json() writes it for both.
 */
#ifndef SIOC_PROTOCOL_EIO_V3_H
#define SIOC_PROTOCOL_EIO_V3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/eio_packet.h"

/* How a GET response's payload is framed. */
enum eio3_payload_kind {
	/* "<length>:<packet>" repeated, binary packets as "b<type><base64>";
	 * Content-Type text/plain; charset=UTF-8. For clients that asked b64
	 * (any non-empty b64 query value), and for any response holding no
	 * binary packet. */
	EIO3_PAYLOAD_TEXT,
	/* XHR2: per packet a byte 0 (text) or 1 (binary), the length's decimal
	 * digits one per byte (values 0-9), a byte 255, then the packet: a text
	 * packet's type character and UTF-8 data, or a binary packet's type
	 * byte (4, not '4') and bytes. Content-Type application/octet-stream.
	 * The reference uses it when the client did not ask b64 and the
	 * response holds a binary packet. */
	EIO3_PAYLOAD_BINARY,
	/* The text payload with each packet escaped as JSON.stringify escapes
	 * a string (and U+2028, U+2029 as \u2028, \u2029), to go between
	 * eio3_jsonp_head_write() and EIO3_JSONP_FOOT. For JSONP clients
	 * (the j query parameter), which always ask b64. */
	EIO3_PAYLOAD_JSONP,
};

/* The text payload of a response holding no packet. */
#define EIO3_EMPTY_PAYLOAD "0:"

/* Ends a JSONP response: the string's closing quote, the call's closing
 * parenthesis, the statement's semicolon. */
#define EIO3_JSONP_FOOT "\");"

/* UTF-16 length of text as the reference counts it once Node has decoded
 * the bytes as UTF-8: 2 for a character above U+FFFF, 1 for any other, and
 * 1 for each invalid sequence (each maximal subpart of a sequence, which
 * the WHATWG decoder Node uses turns into one U+FFFD). */
size_t eio3_utf16_len(const uint8_t *p, size_t n);

/*
 * Iterates the packets of a v3 text payload: <length>:<packet> repeated.
 * *pos starts at 0. Returns 1 with *out filled, 0 when the payload is
 * exhausted, EIO_DECODE_ERROR on a malformed payload (iteration stops; the
 * packets returned before it stand, as the reference delivers each packet
 * as it goes). A packet is a type digit '0'..'6' then UTF-8 data, or 'b',
 * a type character and base64, decoded in place (buf is modified;
 * out->data points into buf; out->binary is set, and the type can be any
 * of 0-6: the reference acts on a binary ping or close as on a text one).
 *
 * As the reference:
 *  - an empty payload is an error; so is text after the last packet with
 *    no ':' (trailing garbage), and an empty length (":");
 *  - the length is read as JavaScript's Number() reads a string: leading
 *    and trailing white space (JavaScript's set, U+FEFF and U+2028
 *    included), leading zeros, a sign, a fraction, an exponent and 0x, 0o,
 *    0b prefixes are all allowed, and white space alone is 0; the value
 *    must be an integer no greater than the UTF-16 units left (so "-0" and
 *    "1e-400" are 0, "0x2" and "2.0" are 2; "2.5", "-1", "Infinity" and a
 *    length past the end, "3:4a", are errors; huge numbers never wrap); a
 *    length shorter than its packet cuts it, and what follows must parse
 *    as the next length ("1:4a" gives "4", then fails on "a");
 *  - a zero length is no packet, not an error ("0:" is an empty payload);
 *  - a packet whose first character is not '0'..'6' or 'b' is an error;
 *  - "b" alone, or 'b' followed by anything but '0'..'6', is skipped
 *    without a word (the reference delivers a packet of no type, which
 *    nothing acts on).
 * Departures: bad base64 is an error (see the top of this file); a length
 * ending between the two halves of a surrogate pair is an error at once
 * (the reference delivers the packet cut in the middle of the character,
 * then fails on the next length, which starts with the other half).
 * After a close packet the caller stops: the reference does not look at
 * the rest of the payload.
 */
int eio3_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

/*
 * Iterates the packets of an XHR2 binary payload (a POST with Content-Type
 * application/octet-stream; see EIO3_PAYLOAD_BINARY). Same contract as
 * eio3_payload_next(); an empty buffer holds no packet and is not an
 * error. Mirrors the reference's decodePayloadAsBinary(), whose framing is
 * checked over the whole buffer before any packet is delivered (a framing
 * error returns EIO_DECODE_ERROR from the first call):
 *  - a frame is a first byte (0: text; anything else: binary), length
 *    bytes up to a byte 255, then the packet; no 255 before the end, or
 *    more than 310 characters of length, is a framing error;
 *  - the length is the length bytes' values written in decimal one after
 *    the other (a byte 12 adds "12"), leading zeros allowed; the reference
 *    skips as many bytes as that text has characters, so the packet starts
 *    right after the 255 only when each length byte is 0-9;
 *  - a length beyond the end is cut to the end (not an error); no length
 *    digits at all ([type, 255]) gives an empty packet and the next frame
 *    starts at the 255;
 *  - a text packet is UTF-8 (lengths in bytes): empty, not UTF-8, or a
 *    type other than '0'..'6' is an error (packets before it stand); an
 *    encoded surrogate (ED A0..BF xx) is rewritten in place as U+FFFD, as
 *    the reference's utf8.js does; 'b' + type + base64 as in the text
 *    payload;
 *  - a binary packet is a type byte 0-6 then bytes (out->binary set);
 *    empty or with a type byte above 6 it is skipped.
 */
int eio3_binary_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

/*
 * Length of one packet framed for a payload of the given kind (the type
 * digit or byte and the data, or for a binary packet in a text or JSONP
 * payload 'b', the type digit and base64, all behind the length), as the
 * reference's encodePayload() and encodePayloadAsBinary() write it. The
 * payload is the concatenation of its packets (EIO3_EMPTY_PAYLOAD when
 * there are none). data is UTF-8 for a text packet; invalid bytes are
 * copied as they are and counted as eio3_utf16_len() counts them, as the
 * client will see them.
 */
size_t eio3_packet_len(enum eio3_payload_kind kind, enum eio_packet_type type, bool binary,
                       const uint8_t *data, size_t len);
/* Writes that framing to out (eio3_packet_len() bytes); returns the count. */
size_t eio3_packet_write(enum eio3_payload_kind kind, enum eio_packet_type type, bool binary,
                         const uint8_t *data, size_t len, uint8_t *out);

/*
 * Length of the start of a JSONP response, ___eio[<n>](" where n is the
 * ASCII digits of j[0..jlen) (the j query parameter, decoded), everything
 * else dropped, as the reference does (j "abc" gives ___eio[](").
 */
size_t eio3_jsonp_head_len(const char *j, size_t jlen);
/* Writes it to out (eio3_jsonp_head_len() bytes); returns the count. */
size_t eio3_jsonp_head_write(const char *j, size_t jlen, uint8_t *out);

enum eio3_jsonp_result {
	EIO3_JSONP_PAYLOAD = 1, /* *payload holds the text payload */
	EIO3_JSONP_NONE = 0,    /* no payload: the reference answers "ok" and
	                         * does nothing */
	EIO3_JSONP_ERROR = -1,  /* the body is not UTF-8 */
};

/*
 * Decodes the body of a JSONP POST (application/x-www-form-urlencoded, the
 * text payload in the field d) in place, as the reference's onData(): the
 * body parsed as Node's querystring.parse() parses it, then its value of d
 * with "\n" (backslash, n) turned into a newline and "\\n" into "\n".
 * Returns EIO3_JSONP_PAYLOAD with *payload, *payload_len (inside buf) set
 * to the text payload for eio3_payload_next(); it can be empty (which
 * eio3_payload_next() refuses, as the reference does).
 *
 * As the reference: pairs split on '&', the name from the value on the
 * first '='; '+' is a space; only the pairs before the 1000th '&' count;
 * the name "d" may be written "%64"; a value holding a valid %XX is
 * percent-decoded when it decodes to UTF-8 (decodeURIComponent), otherwise
 * each %XX becomes its byte and any other character the low byte of its
 * UTF-16 code unit(s) (Node's unescapeBuffer()); no d, or d given twice,
 * is EIO3_JSONP_NONE.
 * Departure: a body that is not UTF-8 is EIO3_JSONP_ERROR (the reference
 * would read U+FFFD for each bad sequence; browsers percent-encode all
 * that is not ASCII).
 */
int eio3_jsonp_body_decode(uint8_t *buf, size_t len, uint8_t **payload, size_t *payload_len);

#endif
