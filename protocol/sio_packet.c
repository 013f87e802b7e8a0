/*
 * Socket.IO v5 packet codec (see sio_packet.h).
 *
 * Where socket.io-parser 4.2.7 accepts more than this decoder, on purpose
 * (the reference reads these fields with JavaScript's Number()):
 *
 * - The empty packet: charAt(0) is "", Number("") is 0, so the reference
 *   reads it as a CONNECT to "/". Here it is SIO_PKT_ETYPE.
 * - Attachment counts other than ASCII digits ("0x1", "1e0", " 1", "+1",
 *   "1.0"). Here only digits.
 * - Ack ids: the reference takes any run of digits and whitespace, so
 *   "2 [..]" has id 0, "21 1[..]" id NaN and 20 digits a rounded id. Here
 *   an id is at most 16 ASCII digits and at most 2^53-1, and whitespace
 *   where an id could start is SIO_PKT_EACKID (letting it reach the JSON
 *   parser would read "2 [..]" without an id; other whitespace there, such
 *   as U+00A0 or \v, fails as JSON).
 * - Placeholder num: the reference takes any number in range, a fraction
 *   included (it then hands over `undefined`). Here num must be a JSON
 *   integer ("1.0" and "1e0" are refused), and it is checked when the
 *   text arrives rather than after the last attachment.
 *
 * And where jansson refuses JSON that JSON.parse() takes:
 *
 * - numbers out of range: an integer beyond int64 (a 20-digit or 400-digit
 *   integer; note JSON.stringify writes 1e20 as 21 digits) or a real that
 *   overflows a double (1e999) is SIO_PKT_EJSON, where JSON.parse gives a
 *   rounded number or Infinity. Underflow (1e-999) gives 0.0 in both;
 * - nesting deeper than SIO_PKT_MAX_DEPTH (2048);
 * - "\u0000" in an object key (allowed in strings: JSON_ALLOW_NUL);
 * - escaped lone surrogates ("\ud800"), which JSON.parse keeps.
 *
 * Encoding writes reals with 17 significant digits (0.1 is written
 * 0.10000000000000001); JavaScript reads back the same double.
 */
#include "protocol/sio_packet.h"

#include "protocol/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event names a peer may not use (socket.io-parser RESERVED_EVENTS). */
static const char *const reserved_events[] = {
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_binary_type(enum sio_packet_type type)
{
	return type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK;
}

bool sio_pkt_event_reserved(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(reserved_events) / sizeof(reserved_events[0]); i++)
		if (strlen(reserved_events[i]) == len && memcmp(reserved_events[i], name, len) == 0)
			return true;
	return false;
}

static bool is_reserved_event(const json_t *name)
{
	return sio_pkt_event_reserved(json_string_value(name), json_string_length(name));
}

bool sio_pkt_payload_valid(enum sio_packet_type type, const json_t *data)
{
	const json_t *first;

	switch (type) {
	case SIO_PACKET_CONNECT:
		return json_is_object(data);
	case SIO_PACKET_DISCONNECT:
		return false;
	case SIO_PACKET_CONNECT_ERROR:
		return json_is_string(data) || json_is_object(data);
	case SIO_PACKET_EVENT:
	case SIO_PACKET_BINARY_EVENT:
		first = json_array_get(data, 0);
		return json_is_array(data) &&
		       (json_is_number(first) ||
		        (json_is_string(first) && !is_reserved_event(first)));
	case SIO_PACKET_ACK:
	case SIO_PACKET_BINARY_ACK:
		return json_is_array(data);
	}
	return false;
}

/*
 * Walks v, which sits at nesting depth `depth` (1 for the whole payload;
 * counted for every value, as jansson's parser does): fails with
 * SIO_PKT_EJSON when a value is deeper than SIO_PKT_MAX_DEPTH, and, when
 * check_placeholders, with SIO_PKT_EPLACEHOLDER at an object whose
 * "_placeholder" is true but whose num is not a valid index. Like the
 * reference's _reconstructPacket(), it does not look inside placeholders.
 * Recursion is bounded by the depth check.
 */
static int check_tree(const json_t *v, uint32_t attachments, bool check_placeholders,
                      unsigned depth)
{
	int r;

	if (depth > SIO_PKT_MAX_DEPTH)
		return SIO_PKT_EJSON;
	if (json_is_object(v)) {
		json_t *obj = (json_t *)v; /* jansson's iterators take no const */
		void *it;

		if (check_placeholders && json_is_true(json_object_get(v, "_placeholder")))
			return sio_pkt_placeholder_num(v, attachments) >= 0 ? 0
			                                                    : SIO_PKT_EPLACEHOLDER;
		for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
			r = check_tree(json_object_iter_value(it), attachments, check_placeholders,
			               depth + 1);
			if (r < 0)
				return r;
		}
	} else if (json_is_array(v)) {
		size_t i;

		for (i = 0; i < json_array_size(v); i++) {
			r = check_tree(json_array_get(v, i), attachments, check_placeholders,
			               depth + 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void sio_pkt_finish(struct sio_pkt *pkt)
{
	uint32_t i;

	if (!pkt)
		return;
	if (pkt->bufs)
		for (i = 0; i < pkt->attachments; i++)
			free(pkt->bufs[i].data);
	free(pkt->bufs);
	json_decref(pkt->data);
	free(pkt->nsp);
	memset(pkt, 0, sizeof(*pkt));
}

/*
 * The reference reads the count as the text up to the first '-' and
 * requires an integer in [1, maxAttachments]; here it is digits then '-'.
 * The value saturates, so a long run of digits costs no more than a scan.
 */
static int decode_attachments(const char *buf, size_t len, size_t *pos, uint32_t max, uint32_t *out)
{
	size_t start = *pos;
	size_t i = start;
	uint64_t n = 0;

	for (; i < len && is_digit(buf[i]); i++)
		if (n <= UINT32_MAX)
			n = n * 10 + (uint64_t)(buf[i] - '0');
	if (i == start || i == len || buf[i] != '-' || n < 1 || n > max)
		return SIO_PKT_EATTACH;
	*out = (uint32_t)n;
	*pos = i + 1;
	return 0;
}

/* Reads an ack id at *pos, if digits start there; leaves *id at -1 if not. */
static int decode_ack_id(const char *buf, size_t len, size_t *pos, int64_t *id)
{
	size_t start = *pos;
	size_t i = start;
	int64_t n = 0;

	if (i < len && is_json_space(buf[i]))
		return SIO_PKT_EACKID;
	for (; i < len && is_digit(buf[i]); i++) {
		if (i - start == 16)
			return SIO_PKT_EACKID;
		n = n * 10 + (buf[i] - '0');
	}
	if (i == start)
		return 0;
	if (n > SIO_PKT_ACK_ID_MAX)
		return SIO_PKT_EACKID;
	*id = n;
	*pos = i;
	return 0;
}

int sio_pkt_decode(const char *buf, size_t len, uint32_t max_attachments, struct sio_pkt *out)
{
	struct sio_pkt pkt = {.id = -1};
	const char *nsp = "/";
	size_t nsp_len = 1;
	size_t pos = 1;
	int r;

	memset(out, 0, sizeof(*out));
	if (len == 0 || buf[0] < '0' || buf[0] > '6')
		return SIO_PKT_ETYPE;
	pkt.type = (enum sio_packet_type)(buf[0] - '0');

	if (is_binary_type(pkt.type)) {
		r = decode_attachments(buf, len, &pos, max_attachments, &pkt.attachments);
		if (r < 0)
			return r;
	}

	if (pos < len && buf[pos] == '/') {
		const char *comma = memchr(buf + pos, ',', len - pos);
		size_t end = comma ? (size_t)(comma - buf) : len;

		nsp = buf + pos;
		nsp_len = end - pos;
		pos = comma ? end + 1 : len;
	}

	r = decode_ack_id(buf, len, &pos, &pkt.id);
	if (r < 0)
		return r;

	if (pos < len) {
		int jerr = 0;

		pkt.data = jsonr_parse(buf + pos, len - pos, SIO_PKT_MAX_DEPTH, &jerr);
		if (!pkt.data)
			return jerr == JSONR_ENOMEM ? SIO_PKT_ENOMEM : SIO_PKT_EJSON;
		if (!sio_pkt_payload_valid(pkt.type, pkt.data)) {
			r = SIO_PKT_EPAYLOAD;
			goto fail;
		}
		if (is_binary_type(pkt.type)) {
			r = check_tree(pkt.data, pkt.attachments, true, 1);
			if (r < 0)
				goto fail;
		}
	}

	pkt.nsp = malloc(nsp_len + 1);
	if (!pkt.nsp) {
		r = SIO_PKT_ENOMEM;
		goto fail;
	}
	memcpy(pkt.nsp, nsp, nsp_len);
	pkt.nsp[nsp_len] = '\0';
	pkt.nsp_len = nsp_len;
	*out = pkt;
	return 0;

fail:
	json_decref(pkt.data);
	return r;
}

int64_t sio_pkt_placeholder_num(const json_t *v, uint32_t attachments)
{
	const json_t *num;
	json_int_t k;

	if (!json_is_object(v) || !json_is_true(json_object_get(v, "_placeholder")))
		return -1;
	num = json_object_get(v, "num");
	if (!json_is_integer(num))
		return -1;
	k = json_integer_value(num);
	if (k < 0 || k >= (json_int_t)attachments)
		return -1;
	return (int64_t)k;
}

json_t *sio_pkt_placeholder_new(uint32_t num)
{
	return json_pack("{sbsI}", "_placeholder", 1, "num", (json_int_t)num);
}

void sio_pkt_decoder_init(struct sio_pkt_decoder *dec, uint32_t max_attachments)
{
	memset(dec, 0, sizeof(*dec));
	dec->max_attachments = max_attachments;
}

void sio_pkt_decoder_finish(struct sio_pkt_decoder *dec)
{
	sio_pkt_finish(dec->pending);
	free(dec->pending);
	dec->pending = NULL;
	dec->received = 0;
}

bool sio_pkt_decoder_pending(const struct sio_pkt_decoder *dec)
{
	return dec->pending != NULL;
}

int sio_pkt_decoder_text(struct sio_pkt_decoder *dec, const char *buf, size_t len,
                         struct sio_pkt *out)
{
	struct sio_pkt pkt;
	int r;

	memset(out, 0, sizeof(*out));
	if (sio_pkt_decoder_pending(dec)) {
		sio_pkt_decoder_finish(dec);
		return SIO_PKT_ESTATE;
	}
	r = sio_pkt_decode(buf, len, dec->max_attachments, &pkt);
	if (r < 0)
		return r;
	if (pkt.attachments == 0) {
		*out = pkt;
		return 1;
	}
	pkt.bufs = calloc(pkt.attachments, sizeof(*pkt.bufs));
	dec->pending = malloc(sizeof(*dec->pending));
	if (!pkt.bufs || !dec->pending) {
		free(dec->pending);
		dec->pending = NULL;
		sio_pkt_finish(&pkt);
		return SIO_PKT_ENOMEM;
	}
	*dec->pending = pkt;
	dec->received = 0;
	return 0;
}

int sio_pkt_decoder_binary(struct sio_pkt_decoder *dec, const uint8_t *buf, size_t len,
                           struct sio_pkt *out)
{
	struct sio_pkt_buf *slot;

	memset(out, 0, sizeof(*out));
	if (!sio_pkt_decoder_pending(dec))
		return SIO_PKT_ESTATE;
	slot = &dec->pending->bufs[dec->received];
	slot->data = malloc(len > 0 ? len : 1);
	if (!slot->data) {
		sio_pkt_decoder_finish(dec);
		return SIO_PKT_ENOMEM;
	}
	if (len > 0)
		memcpy(slot->data, buf, len);
	slot->len = len;
	if (++dec->received < dec->pending->attachments)
		return 0;
	*out = *dec->pending;
	free(dec->pending);
	dec->pending = NULL;
	dec->received = 0;
	return 1;
}

/* A growing output block; the first `headroom` bytes are left alone. */
struct out_buf {
	char *p;
	size_t len; /* bytes used, headroom included */
	size_t cap;
	bool nomem;
};

/* Appends n bytes, keeping room for a NUL. Also jansson's dump callback. */
static int out_append(const char *s, size_t n, void *data)
{
	struct out_buf *ob = data;

	if (ob->nomem)
		return -1;
	if (n >= SIZE_MAX / 2 - ob->len) {
		ob->nomem = true;
		return -1;
	}
	if (ob->len + n >= ob->cap) {
		size_t cap = ob->cap;
		char *p;

		while (ob->len + n >= cap)
			cap *= 2;
		p = realloc(ob->p, cap);
		if (!p) {
			ob->nomem = true;
			return -1;
		}
		ob->p = p;
		ob->cap = cap;
	}
	memcpy(ob->p + ob->len, s, n);
	ob->len += n;
	return 0;
}

/* Checks the encode arguments; see sio_pkt_encode(). */
static int encode_check(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                        uint32_t attachments, const json_t *data)
{
	if ((unsigned)type > SIO_PACKET_BINARY_ACK)
		return SIO_PKT_ETYPE;
	if (is_binary_type(type) != (attachments > 0))
		return SIO_PKT_EATTACH;
	if (nsp_len > 0 && (nsp[0] != '/' || memchr(nsp, ',', nsp_len)))
		return SIO_PKT_ENSP;
	if (id < -1 || id > SIO_PKT_ACK_ID_MAX)
		return SIO_PKT_EACKID;
	if (!data)
		return 0;
	if (!sio_pkt_payload_valid(type, data))
		return SIO_PKT_EPAYLOAD;
	return check_tree(data, attachments, is_binary_type(type), 1);
}

/* Writes the packet (checked) through out: the type digit, the
 * attachments, the namespace, the ack id, the JSON. Returns 0, or -1 when
 * out or the JSON writer failed. */
static int encode_parts(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                        uint32_t attachments, const json_t *data, jsonr_out_fn out, void *ctx)
{
	char num[32];
	int n;

	/* the type digit, "<attachments>-" for binary types */
	num[0] = (char)('0' + (int)type);
	n = 1;
	if (is_binary_type(type)) {
		n += (int)jsonr_format_int(num + n, attachments);
		num[n++] = '-';
	}
	if (out(num, (size_t)n, ctx) < 0)
		return -1;
	if (nsp_len > 0 && !(nsp_len == 1 && nsp[0] == '/')) {
		if (out(nsp, nsp_len, ctx) < 0 || out(",", 1, ctx) < 0)
			return -1;
	}
	if (id >= 0 && out(num, jsonr_format_int(num, id), ctx) < 0)
		return -1;
	if (data && jsonr_dump(data, out, ctx) < 0)
		return -1;
	return 0;
}

int sio_pkt_encode(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                   uint32_t attachments, const json_t *data, size_t headroom, char **out,
                   size_t *out_len)
{
	struct out_buf ob = {0};
	int r;

	*out = NULL;
	r = encode_check(type, nsp, nsp_len, id, attachments, data);
	if (r < 0)
		return r;
	if (headroom > SIZE_MAX / 4 || nsp_len > SIZE_MAX / 4)
		return SIO_PKT_ENOMEM;
	ob.cap = headroom + nsp_len + 64;
	ob.p = malloc(ob.cap);
	if (!ob.p)
		return SIO_PKT_ENOMEM;
	ob.len = headroom;
	if (encode_parts(type, nsp, nsp_len, id, attachments, data, out_append, &ob) < 0 ||
	    ob.nomem) {
		free(ob.p);
		return ob.nomem ? SIO_PKT_ENOMEM : SIO_PKT_EJSON;
	}
	ob.p[ob.len] = '\0';
	*out = ob.p;
	*out_len = ob.len - headroom;
	return 0;
}

struct buf_out {
	struct buf *b;
	bool nomem;
};

static int buf_out_append(const char *s, size_t n, void *data)
{
	struct buf_out *bo = data;
	if (buf_append(bo->b, s, n) < 0) {
		bo->nomem = true;
		return -1;
	}
	return 0;
}

int sio_pkt_encode_buf(enum sio_packet_type type, const char *nsp, size_t nsp_len, int64_t id,
                       uint32_t attachments, const json_t *data, struct buf *out)
{
	size_t start = out->len;
	struct buf_out bo = {out, false};
	int r = encode_check(type, nsp, nsp_len, id, attachments, data);
	if (r < 0)
		return r;
	if (encode_parts(type, nsp, nsp_len, id, attachments, data, buf_out_append, &bo) < 0) {
		out->len = start;
		return bo.nomem ? SIO_PKT_ENOMEM : SIO_PKT_EJSON;
	}
	return 0;
}

const char *sio_pkt_strerror(int err)
{
	switch (err) {
	case SIO_PKT_OK:
		return "success";
		SIO_PKT_ERROR_MAP(SIO_CODEC_ERROR_CASE)
	}
	return "unknown error";
}
