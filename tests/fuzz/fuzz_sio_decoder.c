/*
 * The Socket.IO reassembly state machine (sio_pkt_decoder), fed a
 * sequence of Engine.IO messages. Framing of the input: messages are
 * separated by 0x1e (as in a polling payload); a message that starts with
 * 'b' is binary, its bytes the ones after the 'b'; any other is a text
 * message, all of it. So "51-[\"a\",{\"_placeholder\":true,\"num\":0}]\x1ebxyz"
 * is a BINARY_EVENT and its attachment "xyz".
 *
 * Every message goes to the decoder in a heap block of exactly its length,
 * and the result is checked against a model built on sio_pkt_decode(): a
 * text message while a packet waits is SIO_PKT_ESTATE and empties the
 * decoder; otherwise it gives what sio_pkt_decode() gives (a complete
 * packet, or a wait for attachments). A binary message with nothing
 * waiting is SIO_PKT_ESTATE; otherwise it is stored, and the last one
 * completes the packet with the buffers in arrival order.
 */
#include "sio_check.h"

#define MAX_ATTACHMENTS SIO_PKT_MAX_ATTACHMENTS_DEFAULT

static bool pkt_is_zero(const struct sio_pkt *p)
{
	static const struct sio_pkt zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
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

struct model {
	struct sio_pkt want;                  /* the packet waiting, as sio_pkt_decode() gave it */
	const uint8_t *bins[MAX_ATTACHMENTS]; /* its attachments so far (into the input) */
	size_t bin_lens[MAX_ATTACHMENTS];
	uint32_t got;
};

static void feed_text(struct sio_pkt_decoder *dec, struct model *m, const uint8_t *msg, size_t len)
{
	char *copy = (char *)fuzz_copy(msg, len);
	struct sio_pkt out, ref;
	int r = sio_pkt_decoder_text(dec, copy, len, &out);

	free(copy);
	if (m->want.attachments > 0) {
		FUZZ_CHECK(r == SIO_PKT_ESTATE && pkt_is_zero(&out));
		sio_pkt_finish(&m->want);
		m->got = 0;
		return;
	}
	int rr = sio_pkt_decode((const char *)msg, len, MAX_ATTACHMENTS, &ref);

	if (rr < 0) {
		FUZZ_CHECK(r == rr && pkt_is_zero(&out));
		return;
	}
	if (ref.attachments == 0) {
		FUZZ_CHECK(r == 1);
		sio_check_packet(&out);
		check_same(&out, &ref);
		FUZZ_CHECK(out.bufs == NULL);
		sio_pkt_finish(&out);
		sio_pkt_finish(&ref);
		return;
	}
	FUZZ_CHECK(r == 0 && pkt_is_zero(&out));
	m->want = ref;
	m->got = 0;
}

static void feed_binary(struct sio_pkt_decoder *dec, struct model *m, const uint8_t *msg,
                        size_t len)
{
	uint8_t *copy = fuzz_copy(msg, len);
	struct sio_pkt out;
	int r = sio_pkt_decoder_binary(dec, copy, len, &out);

	free(copy);
	if (m->want.attachments == 0) {
		FUZZ_CHECK(r == SIO_PKT_ESTATE && pkt_is_zero(&out));
		return;
	}
	m->bins[m->got] = msg;
	m->bin_lens[m->got] = len;
	if (++m->got < m->want.attachments) {
		FUZZ_CHECK(r == 0 && pkt_is_zero(&out));
		return;
	}
	FUZZ_CHECK(r == 1);
	sio_check_packet(&out);
	check_same(&out, &m->want);
	FUZZ_CHECK(out.bufs != NULL);
	for (uint32_t i = 0; i < out.attachments; i++)
		FUZZ_CHECK(fuzz_bytes_equal(out.bufs[i].data, out.bufs[i].len, m->bins[i],
		                            m->bin_lens[i]));
	sio_pkt_finish(&out);
	sio_pkt_finish(&m->want);
	m->got = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_pkt_decoder dec;
	struct model m = {0};
	size_t start = 0;

	sio_pkt_decoder_init(&dec, MAX_ATTACHMENTS);
	while (start <= size) {
		const uint8_t *sep = size > start ? memchr(data + start, 0x1e, size - start) : NULL;
		size_t end = sep ? (size_t)(sep - data) : size;
		const uint8_t *msg = data + start;
		size_t len = end - start;

		if (len > 0 && msg[0] == 'b')
			feed_binary(&dec, &m, msg + 1, len - 1);
		else
			feed_text(&dec, &m, msg, len);
		FUZZ_CHECK(sio_pkt_decoder_pending(&dec) == (m.want.attachments > 0));
		start = end + 1;
	}
	sio_pkt_decoder_finish(&dec);
	FUZZ_CHECK(!sio_pkt_decoder_pending(&dec));
	sio_pkt_finish(&m.want);
	return 0;
}
