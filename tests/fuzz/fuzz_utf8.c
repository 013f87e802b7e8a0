/*
 * Incremental UTF-8 validation (protocol/utf8.c) against a reference that
 * decodes whole code points and checks them as RFC 3629 says: no overlong
 * form, no surrogate, nothing above U+10FFFF. The input is fed whole, in
 * pieces cut where a hash of the input says, and one byte at a time; the
 * verdict must not depend on the cuts, must match the reference, and the
 * byte-at-a-time feed must fail exactly at the first byte after which no
 * valid text can follow.
 */
#include "protocol/utf8.h"

#include "fuzz.h"

/* Checks one complete sequence of L bytes: 1 valid, -1 not. */
static int ref_sequence(const uint8_t *s, size_t L)
{
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t cp = s[0] & (0x7f >> L);

	for (size_t i = 1; i < L; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min_cp[L] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return -1;
	return 1;
}

static size_t ref_length(uint8_t lead)
{
	if ((lead & 0xe0) == 0xc0)
		return 2;
	if ((lead & 0xf0) == 0xe0)
		return 3;
	if ((lead & 0xf8) == 0xf0)
		return 4;
	return 0;
}

/* Can the first k bytes of an L-byte sequence be completed into a valid
 * one? Tries every second byte when it is missing, 0x80 for the rest
 * (every limit above is a multiple of 64, so the bytes after the second
 * cannot matter). */
static bool ref_extensible(const uint8_t *s, size_t k, size_t L)
{
	uint8_t seq[4];

	memcpy(seq, s, k);
	memset(seq + k, 0x80, L - k);
	if (k >= 2)
		return ref_sequence(seq, L) == 1;
	for (unsigned b = 0x80; b <= 0xbf; b++) {
		seq[1] = (uint8_t)b;
		if (ref_sequence(seq, L) == 1)
			return true;
	}
	return false;
}

/* 1: valid and complete; 0: valid so far, the last character cut short
 * but completable; -1: invalid. */
static int ref_scan(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t L;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		L = ref_length(s[i]);
		if (L == 0)
			return -1;
		if (n - i < L)
			return ref_extensible(s + i, n - i, L) ? 0 : -1;
		if (ref_sequence(s + i, L) < 0)
			return -1;
		i += L;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct utf8_state whole = {0}, cut = {0}, bytewise = {0};
	bool ok = utf8_feed(&whole, data, size);
	int ref = ref_scan(data, size);
	uint64_t seed = fuzz_hash(data, size);
	bool cut_ok = true;
	size_t fail = size;

	FUZZ_CHECK(ref == (!ok ? -1 : utf8_complete(&whole) ? 1 : 0));

	/* in pieces of 0..15 bytes (empty pieces too) */
	for (size_t i = 0; i < size && cut_ok;) {
		size_t piece = fuzz_next(&seed) % 16;

		if (piece > size - i)
			piece = size - i;
		cut_ok = utf8_feed(&cut, data + i, piece);
		i += piece;
	}
	FUZZ_CHECK(cut_ok == ok);
	if (ok) {
		FUZZ_CHECK(cut.need == whole.need);
		FUZZ_CHECK(cut.need == 0 || (cut.lo == whole.lo && cut.hi == whole.hi));
	}

	for (size_t i = 0; i < size; i++) {
		if (!utf8_feed(&bytewise, data + i, 1)) {
			fail = i;
			break;
		}
	}
	FUZZ_CHECK((fail == size) == ok);
	if (fail < size) {
		FUZZ_CHECK(ref_scan(data, fail) >= 0);
		FUZZ_CHECK(ref_scan(data, fail + 1) < 0);
	} else {
		FUZZ_CHECK(bytewise.need == whole.need);
	}
	return 0;
}
