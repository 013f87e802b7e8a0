/*
 * Socket.IO v5 packet codec (socket.io-parser 4.2.x, as used by socket.io
 * 4.8). Pure: no I/O, no globals. Wire data is (pointer, length), never
 * assumed NUL-terminated and never read past length.
 *
 * A text packet is
 *
 *     <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
 *
 * and a binary packet (BINARY_EVENT, BINARY_ACK) is followed by that many
 * binary Engine.IO messages, its attachments. In the JSON each attachment
 * is stood for by a placeholder object {"_placeholder":true,"num":<k>}.
 *
 * Binary representation, both ways: placeholders stay in the json_t tree
 * as the markers of binary arguments, and the buffers travel beside the
 * tree, indexed by num. A decoded binary packet carries its buffers in
 * sio_pkt.bufs and sio_pkt_placeholder_num() maps a marker to its index;
 * to send, build markers with sio_pkt_placeholder_new() and send the
 * buffers after the text packet, in num order.
 *
 * json_t ownership is stated in jansson's words: a "new" reference is the
 * receiver's to json_decref(), a "borrowed" one is not, a "stolen" one is
 * taken over by the callee.
 */
#ifndef SIOC_PROTOCOL_SIO_PACKET_H
#define SIOC_PROTOCOL_SIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"

enum sio_packet_type {
	SIO_PACKET_CONNECT = 0,
	SIO_PACKET_DISCONNECT = 1,
	SIO_PACKET_EVENT = 2,
	SIO_PACKET_ACK = 3,
	SIO_PACKET_CONNECT_ERROR = 4,
	SIO_PACKET_BINARY_EVENT = 5,
	SIO_PACKET_BINARY_ACK = 6,
};

/*
 * A codec's errors are listed once, XX(name, code, text), as the public
 * SIO_ERRNO_MAP: its enum is made with SIO_CODEC_ERROR_ENUM and the
 * switch of its strerror() with SIO_CODEC_ERROR_CASE (msgpack_value.h's
 * list too).
 */
#define SIO_CODEC_ERROR_ENUM(name, code, text) name = code,
#define SIO_CODEC_ERROR_CASE(name, code, text) \
	case name:                             \
		return text;

/* This codec's errors; sio_pkt_strerror() names them. */
#define SIO_PKT_ERROR_MAP(XX)                                                                 \
	/* empty packet or type not '0'..'6' */                                               \
	XX(SIO_PKT_ETYPE, -1, "unknown packet type")                                          \
	/* attachment count missing, malformed, 0 or over the limit */                        \
	XX(SIO_PKT_EATTACH, -2, "invalid attachment count")                                   \
	/* namespace not "/..." or contains ',' (encode only) */                              \
	XX(SIO_PKT_ENSP, -3, "invalid namespace")                                             \
	/* ack id over 2^53-1, over 16 digits, or whitespace */                               \
	XX(SIO_PKT_EACKID, -4, "invalid ack id")                                              \
	/* not exactly one JSON value, or nested over the depth */                            \
	XX(SIO_PKT_EJSON, -5, "invalid JSON")                                                 \
	/* JSON of the wrong shape for the type, reserved event name */                       \
	XX(SIO_PKT_EPAYLOAD, -6, "invalid payload for the packet type")                       \
	/* placeholder num not an integer in [0, attachments) */                              \
	XX(SIO_PKT_EPLACEHOLDER, -7, "invalid attachment placeholder")                        \
	/* text while attachments pending, binary when none */                                \
	XX(SIO_PKT_ESTATE, -8, "packet out of order with its attachments")                    \
	XX(SIO_PKT_ENOMEM, -9, "out of memory")

enum sio_pkt_error {
	SIO_PKT_OK = 0,
	SIO_PKT_ERROR_MAP(SIO_CODEC_ERROR_ENUM)
};

/* Attachment count accepted when the caller has no other limit (the
 * reference's maxAttachments). */
#define SIO_PKT_MAX_ATTACHMENTS_DEFAULT 10
/* Largest ack id: Number.MAX_SAFE_INTEGER, so that a JavaScript peer
 * reads back the id it was given. */
#define SIO_PKT_ACK_ID_MAX INT64_C(9007199254740991)
/* Deepest JSON nesting accepted, decoding and encoding: every value
 * counts, the payload itself being at depth 1, so 2048 nested empty arrays
 * pass and [[1]] is 3 deep. This is jansson's parser limit
 * (JSON_PARSER_MAX_DEPTH); its encoder has none and recurses. */
#define SIO_PKT_MAX_DEPTH 2048

struct sio_pkt_buf {
	uint8_t *data; /* owned (malloc) */
	size_t len;
};

/*
 * A decoded packet. All members are owned by the packet and released by
 * sio_pkt_finish(); an all-zero struct is a valid empty packet.
 *
 * nsp is NUL-terminated for convenience but may hold NUL bytes: compare
 * nsp_len bytes. data is a new reference (NULL when the packet has no
 * JSON); its strings may hold NUL too (use json_string_length()). bufs
 * holds `attachments` buffers once sio_pkt_decoder completed the packet,
 * and is NULL from sio_pkt_decode().
 */
struct sio_pkt {
	enum sio_packet_type type; /* as on the wire: BINARY_* stay BINARY_* */
	char *nsp;                 /* "/" when absent */
	size_t nsp_len;
	int64_t id;           /* ack id in [0, SIO_PKT_ACK_ID_MAX], -1 when absent */
	uint32_t attachments; /* declared count: >= 1 for BINARY_*, else 0 */
	json_t *data;
	struct sio_pkt_buf *bufs;
};

/* Whether an event name (len bytes) is one a peer may not use: connect,
 * connect_error, disconnect, disconnecting, newListener, removeListener
 * (socket.io-parser's RESERVED_EVENTS). */
bool sio_pkt_event_reserved(const char *name, size_t len);

/* Releases what pkt owns (json_decref on data) and zeroes it. NULL and an
 * all-zero packet are no-ops. */
void sio_pkt_finish(struct sio_pkt *pkt);

/*
 * Decodes one text packet as the reference's decodeString() and
 * isPayloadValid() do, with the differences listed in sio_packet.c:
 * attachments (types 5 and 6 only) must be 1..max_attachments; the
 * namespace runs from '/' to the first ',' (or the end); the JSON, when
 * present, must be one value of the shape the type allows (CONNECT: object;
 * DISCONNECT: none; EVENT: array whose first element is a number or a
 * string that is not a reserved event name; ACK: array; CONNECT_ERROR:
 * string or object). The reserved names (connect, connect_error,
 * disconnect, disconnecting, newListener, removeListener) are refused here
 * because the reference parser refuses them. A number as event name is
 * accepted, as by the reference (Node then looks the listener up by the
 * number's string form); mapping it is the caller's business. For
 * BINARY_* every placeholder's num is checked against the count; the
 * buffers are not part of the text, so out->bufs is NULL (sio_pkt_decoder
 * collects them). A payload that is absent is never checked, as in the
 * reference: "2" is an EVENT without JSON.
 *
 * Returns 0 with *out filled (release with sio_pkt_finish()), or a
 * negative SIO_PKT_E* code with *out all zero.
 */
int sio_pkt_decode(const char *buf, size_t len, uint32_t max_attachments, struct sio_pkt *out);

/*
 * The reference's isPayloadValid() for a payload that is present (data
 * borrowed, not NULL), with the rules sio_pkt_decode() lists: CONNECT an
 * object; DISCONNECT never; EVENT and BINARY_EVENT an array whose first
 * element is a number or a string that is not a reserved event name; ACK
 * and BINARY_ACK an array; CONNECT_ERROR a string or an object. Shared with
 * the msgpack codec so that both parsers accept the same shapes.
 */
bool sio_pkt_payload_valid(enum sio_packet_type type, const json_t *data);

/*
 * The index of a placeholder: if v (borrowed) is an object whose
 * "_placeholder" member is true and whose "num" is an integer in
 * [0, attachments), returns num; otherwise -1. In a packet that
 * sio_pkt_decode() accepted, every object with "_placeholder": true that is
 * not inside another placeholder passes this check with the packet's
 * attachment count; with a count of 0 (EVENT, ACK) nothing is a
 * placeholder, as in the reference. Other members of a placeholder are
 * ignored (the reference replaces the whole object by the buffer).
 */
int64_t sio_pkt_placeholder_num(const json_t *v, uint32_t attachments);

/* Returns a new reference to {"_placeholder":true,"num":num}, or NULL when
 * out of memory. */
json_t *sio_pkt_placeholder_new(uint32_t num);

/*
 * Reassembles binary packets, one per connection: a text packet either
 * completes at once or, for BINARY_*, waits for its attachments; a binary
 * message is only valid while one waits. Any error leaves the decoder
 * empty (the pending packet freed), ready for reuse; the caller is expected
 * to close the connection, as the reference does. Memory held while a
 * packet waits: the packet, and at most max_attachments copies of binary
 * messages, each as large as the transport lets a message be; none while
 * no packet waits.
 */
struct sio_pkt_decoder {
	struct sio_pkt *pending; /* the packet waiting (malloc'd), or NULL */
	uint32_t max_attachments;
	uint32_t received; /* buffers received for pending */
};

/* Initializes an empty decoder that accepts up to max_attachments per
 * packet. */
void sio_pkt_decoder_init(struct sio_pkt_decoder *dec, uint32_t max_attachments);
/* Frees the pending packet, if any; the decoder stays usable (empty). */
void sio_pkt_decoder_finish(struct sio_pkt_decoder *dec);
/* True while a binary packet waits for attachments. */
bool sio_pkt_decoder_pending(const struct sio_pkt_decoder *dec);

/*
 * Feeds a text message. Returns 1 with *out a complete packet (the
 * caller's; release with sio_pkt_finish()), 0 when it is a binary packet
 * now waiting for its attachments (nothing in *out), or a negative code:
 * SIO_PKT_ESTATE when a packet was already waiting, or any error of
 * sio_pkt_decode(); *out is then all zero.
 */
int sio_pkt_decoder_text(struct sio_pkt_decoder *dec, const char *buf, size_t len,
                         struct sio_pkt *out);

/*
 * Feeds a binary message; its bytes are copied. Returns 1 with *out the
 * completed packet (the caller's; out->bufs holds the attachments in
 * arrival order, so bufs[k] is the one placeholders with num k stand for),
 * 0 when more attachments are expected, SIO_PKT_ESTATE when no packet was
 * waiting, SIO_PKT_ENOMEM. *out is all zero unless 1 is returned.
 */
int sio_pkt_decoder_binary(struct sio_pkt_decoder *dec, const uint8_t *buf, size_t len,
                           struct sio_pkt *out);

/*
 * Encodes a text packet: the type digit, "<attachments>-" for BINARY_*,
 * "<nsp>," unless nsp is "/" or empty (nsp may be NULL when nsp_len is 0),
 * the ack id unless it is -1, then data (borrowed; NULL for none) as
 * compact JSON in the objects' insertion order (jansson >= 2.8 always keeps
 * it). Checked so that the reference decoder accepts the result: the type;
 * attachments >= 1 exactly for BINARY_*; nsp starts with '/' and holds no
 * ','; id is -1 or in [0, SIO_PKT_ACK_ID_MAX]; data has the shape the type
 * allows, nests at most SIO_PKT_MAX_DEPTH deep, and for BINARY_* every
 * placeholder's num is below attachments.
 *
 * On success returns 0 and sets *out to a malloc'd block (the caller's to
 * free()) that holds headroom uninitialized bytes, then the *out_len bytes
 * of the packet, then a NUL; headroom lets the caller put framing in front
 * (LWS_PRE, the Engine.IO type '4') without a copy. On error returns a
 * negative SIO_PKT_E* code and sets *out to NULL.
 */
int sio_pkt_encode(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                   uint32_t attachments, const json_t *data, size_t headroom, char **out,
                   size_t *out_len);

/* sio_pkt_encode(), appending the packet's bytes (no NUL) to out, whose
 * memory is the caller's to reuse. On error out is as it was. */
int sio_pkt_encode_buf(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                       uint32_t attachments, const json_t *data, struct buf *out);

/* Returns a static description of a SIO_PKT_E* code. */
const char *sio_pkt_strerror(int err);

#endif
