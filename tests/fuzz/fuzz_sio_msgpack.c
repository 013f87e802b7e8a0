/*
 * One socket.io-msgpack-parser message (sio_msgpack_decode), from a heap
 * block of exactly its length. A packet it accepts must satisfy the
 * contract of struct sio_pkt (sio_check_packet: the shape, placeholders
 * valid, depth) with its buffers, encode without error (everything the
 * decoder accepts the encoder must be able to send back), decode again to
 * an equal packet (type, namespace bytes, ack id, attachments, json_equal
 * data, buffer bytes), and that second packet must encode to the same
 * bytes: the encoding is a fixed point. A refused message must give a
 * known error code and leave *out all zero.
 */
#include "protocol/sio_msgpack.h"

#include "sio_check.h"

#define MAX_ATTACHMENTS SIO_PKT_MAX_ATTACHMENTS_DEFAULT

static bool pkt_is_zero(const struct sio_pkt *p)
{
	static const struct sio_pkt zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
}

/* Encodes p with `headroom` spare bytes in front; returns an exact heap
 * copy of the message. */
static uint8_t *encode(const struct sio_pkt *p, size_t headroom, size_t *len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	int r = sio_msgpack_encode(p->type, p->nsp, p->nsp_len, p->id, p->attachments, p->data,
	                           p->bufs, headroom, &out, &out_len);
	uint8_t *copy;

	if (r != 0)
		fprintf(stderr, "encode: %s\n", sio_msgpack_strerror(r));
	FUZZ_CHECK(r == 0 && out != NULL);
	copy = fuzz_copy(out + headroom, out_len);
	free(out);
	*len = out_len;
	return copy;
}

static void check_bufs(const struct sio_pkt *p)
{
	FUZZ_CHECK((p->attachments > 0) == (p->bufs != NULL));
	for (uint32_t i = 0; i < p->attachments; i++)
		FUZZ_CHECK(p->bufs[i].data != NULL);
}

static void check_same(const struct sio_pkt *a, const struct sio_pkt *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(fuzz_bytes_equal(a->nsp, a->nsp_len, b->nsp, b->nsp_len));
	FUZZ_CHECK(a->id == b->id);
	FUZZ_CHECK(a->attachments == b->attachments);
	FUZZ_CHECK((a->data == NULL) == (b->data == NULL));
	FUZZ_CHECK(a->data == NULL || json_equal(a->data, b->data));
	for (uint32_t i = 0; i < a->attachments; i++)
		FUZZ_CHECK(fuzz_bytes_equal(a->bufs[i].data, a->bufs[i].len, b->bufs[i].data,
		                            b->bufs[i].len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_pkt p, q;
	uint8_t *enc, *enc2;
	size_t len, len2;
	int r;

	memset(&p, 0xa5, sizeof(p));
	r = sio_msgpack_decode(data, size, MAX_ATTACHMENTS, &p);
	if (r != 0) {
		FUZZ_CHECK(r < 0 && pkt_is_zero(&p));
		FUZZ_CHECK(strcmp(sio_msgpack_strerror(r), "unknown error") != 0);
		return 0;
	}
	sio_check_packet(&p);
	check_bufs(&p);
	FUZZ_CHECK(p.data == NULL || p.data->refcount == 1);

	enc = encode(&p, size % 8, &len);
	r = sio_msgpack_decode(enc, len, MAX_ATTACHMENTS, &q);
	if (r != 0)
		fprintf(stderr, "re-decode: %s\n", sio_msgpack_strerror(r));
	FUZZ_CHECK(r == 0);
	sio_check_packet(&q);
	check_bufs(&q);
	check_same(&p, &q);

	enc2 = encode(&q, 0, &len2);
	FUZZ_CHECK(fuzz_bytes_equal(enc, len, enc2, len2));

	free(enc2);
	free(enc);
	sio_pkt_finish(&q);
	sio_pkt_finish(&p);
	FUZZ_CHECK(pkt_is_zero(&p));
	return 0;
}
