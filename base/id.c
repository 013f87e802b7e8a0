#include "base/id.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

int id_random(char out[ID_LEN + 1])
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[ID_LEN * 6 / 8];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	/* three bytes make four characters */
	for (size_t i = 0, o = 0; i < sizeof(raw); i += 3, o += 4) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
		out[o] = alphabet[v >> 18];
		out[o + 1] = alphabet[(v >> 12) & 63];
		out[o + 2] = alphabet[(v >> 6) & 63];
		out[o + 3] = alphabet[v & 63];
	}
	out[ID_LEN] = '\0';
	return 0;
}
