/*
 * Base64 (protocol/eio_packet.c), both ways, against a reference written
 * from the contract in eio_packet.h: standard alphabet; on decode the
 * padding is optional, but when present it completes a last group of four
 * (so the length is a multiple of 4), and any other byte is an error.
 *
 * decode: the output goes to a heap block of exactly the largest length
 * the input could decode to, so that ASan catches a write past it; the
 * result must equal the reference's, in place (out == in) too; and
 * encode(decode(x)) must be x in canonical form: padded, and with the
 * unused low bits of the last character zero (the decoder ignores them,
 * as Node does). encode: any bytes encode to eio_base64_encoded_len()
 * characters of the alphabet that decode back to them.
 */
#include "protocol/eio_packet.h"

#include "fuzz.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int ref_value(uint8_t c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

/* The number of characters before the padding, or -1 if the input is not
 * valid base64. */
static long ref_data_len(const uint8_t *s, size_t n)
{
	size_t m = n;

	if (n % 4 == 0 && n >= 4) {
		if (s[n - 1] == '=' && s[n - 2] == '=')
			m = n - 2;
		else if (s[n - 1] == '=')
			m = n - 1;
	}
	if (m % 4 == 1)
		return -1;
	for (size_t i = 0; i < m; i++)
		if (ref_value(s[i]) < 0)
			return -1;
	return (long)m;
}

/* Decodes the m data characters (valid) six bits at a time. */
static size_t ref_decode(const uint8_t *s, size_t m, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < m; i++) {
		acc = acc << 6 | (uint32_t)ref_value(s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

static size_t decode_bound(size_t n)
{
	return n / 4 * 3 + (n % 4 >= 2 ? n % 4 - 1 : 0);
}

static void check_decode(const uint8_t *data, size_t size)
{
	size_t bound = decode_bound(size);
	uint8_t *out = fuzz_malloc(bound);
	uint8_t *inplace = fuzz_copy(data, size);
	long ref_m = ref_data_len(data, size);
	long n = eio_base64_decode((const char *)data, size, out);
	long n2 = eio_base64_decode((const char *)inplace, size, inplace);

	FUZZ_CHECK(n == n2);
	FUZZ_CHECK((n < 0) == (ref_m < 0));
	if (n >= 0) {
		uint8_t *ref = fuzz_malloc(bound);
		size_t ref_n = ref_decode(data, (size_t)ref_m, ref);

		FUZZ_CHECK((size_t)n <= bound);
		FUZZ_CHECK(fuzz_bytes_equal(out, (size_t)n, ref, ref_n));
		FUZZ_CHECK(fuzz_bytes_equal(inplace, (size_t)n, ref, ref_n));

		/* encode(decode(x)) is x made canonical */
		size_t m = (size_t)ref_m;
		size_t elen = eio_base64_encoded_len((size_t)n);
		char *enc = fuzz_malloc(elen);
		uint8_t *canon = fuzz_malloc(elen);

		FUZZ_CHECK(eio_base64_encode(out, (size_t)n, enc) == elen);
		FUZZ_CHECK(elen == (m + 3) / 4 * 4);
		memcpy(canon, data, m);
		if (m % 4 == 2)
			canon[m - 1] = (uint8_t)alphabet[ref_value(data[m - 1]) & 0x30];
		else if (m % 4 == 3)
			canon[m - 1] = (uint8_t)alphabet[ref_value(data[m - 1]) & 0x3c];
		memset(canon + m, '=', elen - m);
		FUZZ_CHECK(fuzz_bytes_equal(enc, elen, canon, elen));
		free(canon);
		free(enc);
		free(ref);
	}
	free(inplace);
	free(out);
}

static void check_encode(const uint8_t *data, size_t size)
{
	size_t elen = eio_base64_encoded_len(size);
	char *enc = fuzz_malloc(elen);
	uint8_t *back;

	FUZZ_CHECK(elen == (size + 2) / 3 * 4);
	FUZZ_CHECK(eio_base64_encode(data, size, enc) == elen);
	for (size_t i = 0; i < elen; i++)
		FUZZ_CHECK(ref_value((uint8_t)enc[i]) >= 0 || (enc[i] == '=' && i + 2 >= elen));
	back = fuzz_malloc(size);
	FUZZ_CHECK(eio_base64_decode(enc, elen, back) == (long)size);
	FUZZ_CHECK(fuzz_bytes_equal(back, size, data, size));
	free(back);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
