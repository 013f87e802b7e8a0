/*
 * One Engine.IO v4 text packet (eio_packet_decode). The input is copied
 * into a heap block of exactly its length (the decoder writes base64
 * output in place). A decoded packet must lie inside that block and
 * re-encode (eio_packet_payload_write) to the input itself for a text
 * packet, or to 'b' and canonical base64 of the same bytes for a binary
 * one; and the re-encoding must decode to the same packet.
 */
#include "protocol/eio_packet.h"

#include "fuzz.h"

static void check_decoded(const uint8_t *buf, size_t len, const struct eio_packet *p)
{
	FUZZ_CHECK((unsigned)p->type <= EIO_NOOP);
	FUZZ_CHECK(!p->binary || p->type == EIO_MESSAGE);
	FUZZ_CHECK(p->data == buf + 1);
	FUZZ_CHECK(p->len <= len - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct eio_packet p;

	if (eio_packet_decode(buf, size, &p) != EIO_DECODE_OK) {
		FUZZ_CHECK(size == 0 || data[0] < '0' || data[0] > '6');
		free(buf);
		return 0;
	}
	FUZZ_CHECK(size > 0);
	check_decoded(buf, size, &p);
	if (p.binary)
		FUZZ_CHECK(data[0] == 'b');
	else
		FUZZ_CHECK(data[0] == '0' + (int)p.type &&
		           fuzz_bytes_equal(p.data, p.len, data + 1, size - 1));

	size_t elen = eio_packet_payload_len(p.type, p.binary, p.len);
	uint8_t *enc = fuzz_malloc(elen);
	uint8_t *again = fuzz_malloc(elen);
	struct eio_packet q;

	FUZZ_CHECK(eio_packet_payload_write(p.type, p.binary, p.data, p.len, enc) == elen);
	if (!p.binary)
		FUZZ_CHECK(fuzz_bytes_equal(enc, elen, data, size));
	else
		FUZZ_CHECK(enc[0] == 'b' && elen <= size + 3);
	memcpy(again, enc, elen);
	FUZZ_CHECK(eio_packet_decode(again, elen, &q) == EIO_DECODE_OK);
	check_decoded(again, elen, &q);
	FUZZ_CHECK(q.type == p.type && q.binary == p.binary);
	FUZZ_CHECK(fuzz_bytes_equal(q.data, q.len, p.data, p.len));
	free(again);
	free(enc);
	free(buf);
	return 0;
}
