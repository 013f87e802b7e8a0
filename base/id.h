/*
 * Random identifiers: session and socket ids.
 */
#ifndef SIOC_BASE_ID_H
#define SIOC_BASE_ID_H

#include <stddef.h>

/* Length of an id, without its NUL. */
#define ID_LEN 20

/* Writes a random URL-safe id of ID_LEN characters (120 bits from the
 * kernel's random source, base64url without padding) and a NUL. Returns 0,
 * or -1 when the random source fails. */
int id_random(char out[ID_LEN + 1]);

/* Writes nbytes (at most 64) random bytes in lowercase hex and a NUL into
 * out (2 * nbytes + 1 bytes): Node's randomBytes(n).toString("hex"), the
 * cluster adapters' node and request ids. Returns 0, or -1 when the
 * random source fails. */
int id_random_hex(char *out, size_t nbytes);

#endif
