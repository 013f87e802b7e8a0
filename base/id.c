#include "base/id.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

static int random_bytes(uint8_t *raw, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(raw + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int id_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[64];
	if (nbytes > sizeof(raw) || random_bytes(raw, nbytes) < 0)
		return -1;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

int id_random(char out[ID_LEN + 1])
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[ID_LEN * 6 / 8];
	if (random_bytes(raw, sizeof(raw)) < 0)
		return -1;
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
