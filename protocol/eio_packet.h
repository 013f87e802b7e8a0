/*
 * Engine.IO v4 packet and payload codec. Pure: no I/O, no globals, no
 * allocation. Wire data is (pointer, length) and never read past length.
 */
#ifndef SIOC_PROTOCOL_EIO_PACKET_H
#define SIOC_PROTOCOL_EIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum eio_packet_type {
	EIO_OPEN = 0,
	EIO_CLOSE = 1,
	EIO_PING = 2,
	EIO_PONG = 3,
	EIO_MESSAGE = 4,
	EIO_UPGRADE = 5,
	EIO_NOOP = 6,
};

/* Record separator between packets of a polling payload. */
#define EIO_SEPARATOR 0x1e

struct eio_packet {
	enum eio_packet_type type;
	bool binary;         /* binary data (v4: type is EIO_MESSAGE; v3: any, eio_v3.h) */
	const uint8_t *data; /* payload after the type character; borrowed */
	size_t len;
};

enum eio_decode_result {
	EIO_DECODE_OK = 0,
	EIO_DECODE_ERROR = -1, /* empty, unknown type, bad base64 */
};

/* Decodes one text packet: a type digit '0'..'6' then the data, or 'b'
 * then base64 of a binary message. For 'b' the bytes are decoded in place
 * (buf is modified; out->data points into buf). */
int eio_packet_decode(uint8_t *buf, size_t len, struct eio_packet *out);

/* Iterates the packets of a v4 polling payload (packets joined by 0x1e).
 * *pos starts at 0. Returns 1 with *out filled, 0 when the payload is
 * exhausted, EIO_DECODE_ERROR on a malformed packet (iteration stops). An
 * empty payload is an error. Decodes base64 in place, like
 * eio_packet_decode(). */
int eio_payload_next(uint8_t *buf, size_t len, size_t *pos, struct eio_packet *out);

/* Base64 (standard alphabet, '=' padding written; on decode padding is
 * optional and any other byte is an error). */
size_t eio_base64_encoded_len(size_t n);
/* Writes eio_base64_encoded_len(n) bytes to out; returns that count. */
size_t eio_base64_encode(const uint8_t *in, size_t n, char *out);
/* Decodes n characters to out (which may equal in). Returns the number of
 * bytes written, or -1 on invalid input. */
long eio_base64_decode(const char *in, size_t n, uint8_t *out);

/* Length of a packet encoded for a polling payload: 1 + len for text
 * (type digit then data), 1 + base64 length for binary ('b' then base64). */
size_t eio_packet_payload_len(enum eio_packet_type type, bool binary, size_t len);
/* Writes that encoding to out (eio_packet_payload_len() bytes); returns
 * the count. */
size_t eio_packet_payload_write(enum eio_packet_type type, bool binary, const uint8_t *data,
				size_t len, uint8_t *out);

/* Writes the open packet's JSON (without the leading '0') into out, at
 * most cap bytes including a NUL. The same for v3 clients: the reference
 * sends them maxPayload too. Returns the length written (without the
 * NUL), or -1 when cap is too small. */
int eio_open_json(char *out, size_t cap, const char *sid, bool upgrade_to_websocket,
		  uint32_t ping_interval, uint32_t ping_timeout, uint64_t max_payload);

#endif
