#include "protocol/utf8.h"

#include <string.h>

bool utf8_feed(struct utf8_state *st, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* runs of ASCII, eight bytes at a time */
		if (!st->need) {
			while (n - i >= 8) {
				uint64_t w;
				memcpy(&w, p + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			if (i == n)
				break;
		}
		uint8_t b = p[i];
		if (st->need) {
			if (b < st->lo || b > st->hi)
				return false;
			st->need--;
			st->lo = 0x80;
			st->hi = 0xbf;
			continue;
		}
		if (b < 0x80)
			continue;
		st->lo = 0x80;
		st->hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf) {
			st->need = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			st->need = 2;
			if (b == 0xe0)
				st->lo = 0xa0; /* overlong */
			else if (b == 0xed)
				st->hi = 0x9f; /* surrogates */
		} else if (b >= 0xf0 && b <= 0xf4) {
			st->need = 3;
			if (b == 0xf0)
				st->lo = 0x90; /* overlong */
			else if (b == 0xf4)
				st->hi = 0x8f; /* above U+10FFFF */
		} else {
			return false;
		}
	}
	return true;
}
