/*
 * One Socket.IO text packet (sio_pkt_decode), from a heap block of exactly
 * its length. A packet it accepts must satisfy the header's contract
 * (sio_check_packet), encode without error (everything the decoder accepts
 * the encoder must be able to send back), decode again to an equal packet
 * (type, namespace bytes, ack id, attachment count, json_equal data), and
 * that second packet must encode to the same bytes: the encoding is a
 * fixed point. A refused packet must leave *out all zero.
 */
#include "sio_check.h"

#define MAX_ATTACHMENTS SIO_PKT_MAX_ATTACHMENTS_DEFAULT

static bool pkt_is_zero(const struct sio_pkt *p)
{
	static const struct sio_pkt zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
}

/* Encodes p with `headroom` spare bytes in front; checks the block's
 * layout and returns an exact heap copy of the packet text. */
static char *encode(const struct sio_pkt *p, size_t headroom, size_t *len)
{
	char *out = NULL;
	size_t out_len = 0;
	int r = sio_pkt_encode(p->type, p->nsp, p->nsp_len, p->id, p->attachments, p->data,
	                       headroom, &out, &out_len);
	char *copy;

	if (r != 0)
		fprintf(stderr, "encode: %s\n", sio_pkt_strerror(r));
	FUZZ_CHECK(r == 0 && out != NULL);
	FUZZ_CHECK(out[headroom + out_len] == '\0');
	copy = (char *)fuzz_copy(out + headroom, out_len);
	free(out);
	*len = out_len;
	return copy;
}

static void check_same(const struct sio_pkt *a, const struct sio_pkt *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(fuzz_bytes_equal(a->nsp, a->nsp_len, b->nsp, b->nsp_len));
	FUZZ_CHECK(a->id == b->id);
	FUZZ_CHECK(a->attachments == b->attachments);
	FUZZ_CHECK((a->data == NULL) == (b->data == NULL));
	FUZZ_CHECK(a->data == NULL || json_equal(a->data, b->data));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_pkt p, q;
	char *enc, *enc2;
	size_t len, len2;
	int r = sio_pkt_decode((const char *)data, size, MAX_ATTACHMENTS, &p);

	if (r != 0) {
		FUZZ_CHECK(r < 0 && r >= SIO_PKT_ENOMEM && pkt_is_zero(&p));
		FUZZ_CHECK(strcmp(sio_pkt_strerror(r), "unknown error") != 0);
		return 0;
	}
	sio_check_packet(&p);
	FUZZ_CHECK(p.bufs == NULL);

	enc = encode(&p, size % 8, &len);
	r = sio_pkt_decode(enc, len, MAX_ATTACHMENTS, &q);
	if (r != 0)
		fprintf(stderr, "re-decode: %s\n", sio_pkt_strerror(r));
	FUZZ_CHECK(r == 0);
	sio_check_packet(&q);
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
