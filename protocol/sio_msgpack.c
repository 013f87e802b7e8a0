/*
 * Socket.IO packets in the socket.io-msgpack-parser 3.x format (see
 * sio_msgpack.h), checked against socket.io-msgpack-parser 3.0.2 and the
 * notepack.io 2.2.0 it uses.
 *
 * The packet's map is read and written here, key by key; its data, and the
 * values of the keys that are ignored, by msgpack_value.c, which holds the
 * msgpack forms, the walk along the nesting (no recursion) and why it is
 * not msgpack-c's.
 *
 * Where the reference accepts more (the header has the details), sioc
 * refuses: map keys that are not strings or are repeated; strings that
 * are not UTF-8; namespaces not "/..." or holding ','; ack ids below 0 or
 * above 2^53-1; what sio_pkt_payload_valid() refuses (an empty event
 * array, reserved or non-string event names, bin among them); binary in
 * CONNECT and CONNECT_ERROR, and maps like a placeholder beside binary
 * (where sio_pkt could not tell them from the placeholders); ext types
 * notepack does not write, even in ignored keys; nesting past 2048.
 */
#include "protocol/sio_msgpack.h"

#include "protocol/msgpack_value.h"
#include "protocol/utf8.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Number.isInteger() of a number item, as an int64 in *out. A uint 64
 * above INT64_MAX is an integer too, but out of every range asked for. */
static bool item_integer(const struct msgpack_item *it, int64_t *out)
{
	if (it->kind == MSGPACK_INT) {
		*out = it->i;
		return true;
	}
	if (it->kind == MSGPACK_FLOAT && it->f > -9.2e18 && it->f < 9.2e18 &&
	    (double)(int64_t)it->f == it->f) {
		*out = (int64_t)it->f;
		return true;
	}
	return false;
}

enum packet_key { KEY_TYPE, KEY_NSP, KEY_ID, KEY_DATA, KEY_OTHER };

static enum packet_key packet_key(const struct msgpack_item *k)
{
	static const char *const names[] = {"type", "nsp", "id", "data"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == k->n && memcmp(names[i], k->p, k->n) == 0)
			return (enum packet_key)i;
	return KEY_OTHER;
}

/* Reads the value of one of the packet's keys into pkt (type: *type, nsp:
 * *nsp). */
static int read_field(struct msgpack_reader *d, enum packet_key key, struct sio_pkt *pkt,
                      int64_t *type, struct msgpack_item *nsp)
{
	struct msgpack_item it;
	bool undefined = false;
	int r;

	if (key == KEY_DATA)
		return msgpack_reader_value(d, &pkt->data, &undefined);
	if (key == KEY_OTHER)
		return msgpack_reader_value(d, NULL, NULL);
	r = msgpack_reader_item(d, &it);
	if (r < 0)
		return r;
	switch (key) {
	case KEY_TYPE:
		if (!item_integer(&it, type) || *type < SIO_PACKET_CONNECT ||
		    *type > SIO_PACKET_CONNECT_ERROR)
			return SIO_PKT_ETYPE;
		return 0;
	case KEY_NSP:
		if (it.kind != MSGPACK_STR || it.n == 0 || it.p[0] != '/' ||
		    memchr(it.p, ',', it.n) || !utf8_valid(it.p, it.n))
			return SIO_PKT_ENSP;
		*nsp = it;
		return 0;
	case KEY_ID:
		if (it.kind == MSGPACK_UNDEFINED)
			return 0;
		if (!item_integer(&it, &pkt->id) || pkt->id < 0 || pkt->id > SIO_PKT_ACK_ID_MAX)
			return SIO_PKT_EACKID;
		return 0;
	default:
		return 0;
	}
}

int sio_msgpack_decode(const uint8_t *buf, size_t len, uint32_t max_attachments,
                       struct sio_pkt *out)
{
	struct msgpack_reader d;
	struct sio_pkt pkt = {.id = -1};
	bool seen[KEY_OTHER] = {false};
	struct msgpack_item it, key, nsp = {0};
	int64_t type = -1;
	uint32_t n;
	int r;

	memset(out, 0, sizeof(*out));
	msgpack_reader_init(&d, buf, len, SIO_PKT_MAX_DEPTH, max_attachments, 0);
	/* the message is one map */
	if (len == 0 || !((buf[0] >= 0x80 && buf[0] <= 0x8f) || buf[0] == 0xde || buf[0] == 0xdf))
		return SIO_MSGPACK_ENOTMAP;
	r = msgpack_reader_item(&d, &it);
	if (r < 0)
		goto fail;
	for (n = it.n; n > 0; n--) {
		enum packet_key k;

		r = msgpack_reader_item(&d, &key);
		if (r < 0)
			goto fail;
		if (key.kind != MSGPACK_STR) {
			r = SIO_MSGPACK_EKEY;
			goto fail;
		}
		k = packet_key(&key);
		if (k != KEY_OTHER) {
			if (seen[k]) {
				r = SIO_MSGPACK_EKEY;
				goto fail;
			}
			seen[k] = true;
		}
		r = read_field(&d, k, &pkt, &type, &nsp);
		if (r < 0)
			goto fail;
	}
	if (d.pos != len) {
		r = SIO_MSGPACK_ETRAILING;
		goto fail;
	}
	if (!seen[KEY_TYPE] || !seen[KEY_NSP]) {
		r = seen[KEY_TYPE] ? SIO_PKT_ENSP : SIO_PKT_ETYPE;
		goto fail;
	}
	pkt.type = (enum sio_packet_type)type;
	if (pkt.data ? !sio_pkt_payload_valid(pkt.type, pkt.data)
	             : pkt.type != SIO_PACKET_CONNECT && pkt.type != SIO_PACKET_DISCONNECT) {
		r = SIO_PKT_EPAYLOAD;
		goto fail;
	}
	if (d.nbufs > 0) {
		if (pkt.type != SIO_PACKET_EVENT && pkt.type != SIO_PACKET_ACK) {
			r = SIO_PKT_EPAYLOAD;
			goto fail;
		}
		if (d.placeholder_map) {
			r = SIO_PKT_EPLACEHOLDER;
			goto fail;
		}
		pkt.type = pkt.type == SIO_PACKET_EVENT ? SIO_PACKET_BINARY_EVENT
		                                        : SIO_PACKET_BINARY_ACK;
	}

	pkt.nsp = malloc((size_t)nsp.n + 1);
	if (!pkt.nsp) {
		r = SIO_PKT_ENOMEM;
		goto fail;
	}
	memcpy(pkt.nsp, nsp.p, nsp.n);
	pkt.nsp[nsp.n] = '\0';
	pkt.nsp_len = nsp.n;
	if (d.nbufs > 0) {
		pkt.bufs = d.bufs;
		pkt.attachments = d.nbufs;
		d.bufs = NULL;
		d.nbufs = 0;
	}
	msgpack_reader_finish(&d);
	*out = pkt;
	return 0;

fail:
	json_decref(pkt.data);
	msgpack_reader_finish(&d);
	return r;
}

static bool is_binary_type(enum sio_packet_type type)
{
	return type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK;
}

/* Checks the encode arguments; see sio_msgpack_encode(). */
static int encode_check(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                        uint32_t attachments, const json_t *data, const struct sio_pkt_buf *bufs)
{
	if ((unsigned)type > SIO_PACKET_BINARY_ACK)
		return SIO_PKT_ETYPE;
	if (is_binary_type(type) != (attachments > 0) || (attachments > 0 && !bufs))
		return SIO_PKT_EATTACH;
	if (nsp_len > 0 && (nsp[0] != '/' || memchr(nsp, ',', nsp_len)))
		return SIO_PKT_ENSP;
	if (nsp_len > UINT32_MAX)
		return SIO_MSGPACK_ESIZE;
	if (id < -1 || id > SIO_PKT_ACK_ID_MAX)
		return SIO_PKT_EACKID;
	if (!data)
		return type == SIO_PACKET_CONNECT || type == SIO_PACKET_DISCONNECT
		               ? 0
		               : SIO_PKT_EPAYLOAD;
	return sio_pkt_payload_valid(type, data) ? 0 : SIO_PKT_EPAYLOAD;
}

/* Writes the packet's map, its keys in the order socket.io's Socket
 * writes them. */
static int pack_packet(struct buf *out, enum sio_packet_type type, const char *nsp, size_t nsp_len,
                       int64_t id, uint32_t attachments, const json_t *data,
                       const struct sio_pkt_buf *bufs)
{
	bool ack = type == SIO_PACKET_ACK || type == SIO_PACKET_BINARY_ACK;
	int wire_type = type == SIO_PACKET_BINARY_EVENT ? SIO_PACKET_EVENT
	                : type == SIO_PACKET_BINARY_ACK ? SIO_PACKET_ACK
	                                                : (int)type;
	int r;

	if ((r = msgpack_write_map(out, 2 + (data != NULL) + (id >= 0))) < 0)
		return r;
	if (ack && id >= 0 &&
	    ((r = msgpack_write_str(out, "id", 2)) < 0 || (r = msgpack_write_int(out, id)) < 0))
		return r;
	if ((r = msgpack_write_str(out, "type", 4)) < 0 ||
	    (r = msgpack_write_int(out, wire_type)) < 0)
		return r;
	if (data &&
	    ((r = msgpack_write_str(out, "data", 4)) < 0 ||
	     (r = msgpack_value_encode(data, bufs, attachments, SIO_PKT_MAX_DEPTH, out)) < 0))
		return r;
	if (!ack && id >= 0 &&
	    ((r = msgpack_write_str(out, "id", 2)) < 0 || (r = msgpack_write_int(out, id)) < 0))
		return r;
	if ((r = msgpack_write_str(out, "nsp", 3)) < 0)
		return r;
	if (nsp_len == 0)
		return msgpack_write_str(out, "/", 1);
	return msgpack_write_str(out, nsp, nsp_len);
}

int sio_msgpack_encode(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                       uint32_t attachments, const json_t *data, const struct sio_pkt_buf *bufs,
                       size_t headroom, uint8_t **out, size_t *out_len)
{
	struct buf b = {0};
	int r;

	*out = NULL;
	r = encode_check(type, nsp, nsp_len, id, attachments, data, bufs);
	if (r < 0)
		return r;
	if (headroom > SIZE_MAX / 4 || buf_reserve(&b, headroom + nsp_len + 64) < 0)
		return SIO_PKT_ENOMEM;
	b.len = headroom;
	r = pack_packet(&b, type, nsp, nsp_len, id, attachments, data, bufs);
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*out = b.data;
	*out_len = b.len - headroom;
	return 0;
}

const char *sio_msgpack_strerror(int err)
{
	switch (err) {
	case SIO_MSGPACK_ETRAILING:
		return "bytes after the packet's msgpack map";
	case SIO_MSGPACK_ENOTMAP:
		return "packet is not a msgpack map";
	}
	return msgpack_value_strerror(err);
}
