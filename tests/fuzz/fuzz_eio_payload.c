/*
 * An Engine.IO v4 polling payload (eio_payload_next): packets joined by
 * 0x1e, base64 decoded in place. The input is copied into a heap block of
 * exactly its length. Each packet must lie in its own segment of the block
 * and stay intact while later ones are decoded; iteration must end (0)
 * exactly at the end of the block, or stop at an error. A payload that
 * iterated to the end must re-encode (eio_packet_payload_write, joined by
 * 0x1e) to the input itself when it holds no binary packet, and in any
 * case to a payload that iterates to the same packets.
 */
#include "protocol/eio_packet.h"

#include "fuzz.h"

struct seen {
	struct eio_packet p;
	uint8_t *copy; /* p.data's bytes when the packet was returned */
};

/* Iterates buf[0..len); fills out[] (room for len + 1) and returns the
 * count; *ok tells whether iteration ended with 0 rather than an error. */
static size_t iterate(uint8_t *buf, size_t len, struct seen *out, int *ok)
{
	size_t pos = 0, prev_end = 0, n = 0;
	struct eio_packet p;
	int r;

	while ((r = eio_payload_next(buf, len, &pos, &p)) == 1) {
		FUZZ_CHECK(n <= len);
		FUZZ_CHECK(pos <= len && pos > prev_end);
		FUZZ_CHECK(pos == len || buf[pos] == EIO_SEPARATOR);
		FUZZ_CHECK((unsigned)p.type <= EIO_NOOP && (!p.binary || p.type == EIO_MESSAGE));
		/* inside this packet's segment: after the separator (or the start)
		 * and the type character, before the end */
		FUZZ_CHECK(p.data >= buf + prev_end + (n ? 2 : 1) && p.data + p.len <= buf + pos);
		out[n].p = p;
		out[n].copy = fuzz_copy(p.data, p.len);
		n++;
		prev_end = pos;
	}
	FUZZ_CHECK(r == 0 || r == EIO_DECODE_ERROR);
	if (r == 0) {
		FUZZ_CHECK(pos == len && n > 0);
		FUZZ_CHECK(eio_payload_next(buf, len, &pos, &p) == 0);
	}
	*ok = r == 0;
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(
		        fuzz_bytes_equal(out[i].p.data, out[i].p.len, out[i].copy, out[i].p.len));
	return n;
}

static void release(struct seen *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct seen *first = fuzz_malloc((size + 1) * sizeof(*first));
	int ok;
	size_t n = iterate(buf, size, first, &ok);

	if (ok) {
		size_t elen = n - 1;
		bool binary = false;

		for (size_t i = 0; i < n; i++) {
			elen += eio_packet_payload_len(first[i].p.type, first[i].p.binary,
			                               first[i].p.len);
			binary |= first[i].p.binary;
		}

		uint8_t *enc = fuzz_malloc(elen);
		size_t o = 0;

		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				enc[o++] = EIO_SEPARATOR;
			o += eio_packet_payload_write(first[i].p.type, first[i].p.binary,
			                              first[i].copy, first[i].p.len, enc + o);
		}
		FUZZ_CHECK(o == elen);
		if (!binary)
			FUZZ_CHECK(fuzz_bytes_equal(enc, elen, data, size));

		struct seen *second = fuzz_malloc((elen + 1) * sizeof(*second));
		int ok2;
		size_t n2 = iterate(enc, elen, second, &ok2);

		FUZZ_CHECK(ok2 && n2 == n);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(second[i].p.type == first[i].p.type);
			FUZZ_CHECK(second[i].p.binary == first[i].p.binary);
			FUZZ_CHECK(fuzz_bytes_equal(second[i].copy, second[i].p.len, first[i].copy,
			                            first[i].p.len));
		}
		release(second, n2);
		free(second);
		free(enc);
	}
	release(first, n);
	free(first);
	free(buf);
	return 0;
}
