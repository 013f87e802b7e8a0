/*
 * The Socket.IO Admin UI instrumentation (internal): what the wiring
 * needs of server/admin.c. The state is made by sio_admin_instrument()
 * and hangs off the server (srv->admin).
 */
#ifndef SIOC_SERVER_ADMIN_H
#define SIOC_SERVER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct sio_admin;

/* Frees the state. Call after the Socket.IO layer is destroyed (the
 * layer's observer points into it) and after the server's timers were
 * freed (the stats timer is one of them). NULL is a no-op. */
void admin_free(struct sio_admin *a);

/* Whether `hash` has the form of a bcrypt hash: "$2a$", "$2b$" or "$2y$",
 * a two-digit cost from 04 to 31, '$', 53 characters of bcrypt's base64. */
bool admin_bcrypt_hash_valid(const char *hash);

/* Whether crypt(3) of `password` (len bytes) with `hash` gives `hash`
 * back. scratch is a zeroed struct crypt_data of scratch_len bytes.
 * False for a password holding a NUL. */
bool admin_password_matches(const char *password, size_t len, const char *hash, void *scratch,
                            size_t scratch_len);

#endif
