/*
 * TLS on the front connections (internal to the library), with OpenSSL
 * directly: lws runs the raw sockets as before and hands us ciphertext;
 * each connection's SSL reads it from memory and writes its records into
 * memory (a BIO of ours, no socket BIO), and the caller writes those to
 * the socket with one send(). So a batch of websocket frames costs one
 * encryption per 16 KB record and one system call, as the plain path's
 * one sendmsg(), and a read of 64 KB one recv(), however many records it
 * holds.
 *
 * Output goes to a buffer shared by every connection of the engine
 * (struct tls_shared) and is sent at once; only what the kernel does not
 * take is copied into the connection's own buffer, so an idle TLS
 * connection holds no buffer (OpenSSL's are released too).
 */
#ifndef SIOC_TRANSPORTS_TLS_H
#define SIOC_TRANSPORTS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/util.h"

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct ssl_st;     /* OpenSSL's SSL */

/* The largest plaintext taken by one tls_conn_encrypt(). */
#define TLS_BATCH_MAX 65536

/* Scratch buffers shared by the connections of one engine (one thread). */
struct tls_conn;
struct tls_shared {
	struct buf out;         /* records of `owner`, not sent yet */
	struct tls_conn *owner; /* the connection that wrote last */
	struct buf plain;       /* plaintext of the last tls_conn_feed() */
};

struct tls_conn {
	struct ssl_st *ssl;     /* made when the first bytes come (NULL before) */
	struct ssl_ctx_st *ctx; /* the context it is made from (a reference) */
	struct tls_shared *shared;
	struct buf pending; /* records the kernel did not take yet */
	size_t pending_off;
	const uint8_t *in; /* ciphertext being fed */
	size_t in_len;
	const char *cause;  /* why it failed (static text), NULL while fine */
	bool established;   /* handshake finished */
	bool renegotiation; /* the peer asked for one */
	bool plain_http;    /* the peer spoke plain HTTP */
	bool fed;           /* some ciphertext came */
	bool refused;       /* the failure was counted and logged */
};

/*
 * Makes a server context from PEM files: cert_file (the certificate, then
 * its chain), key_file, and when ca_file is not NULL, client certificates
 * required and verified against it. TLS 1.2 and 1.3 only, no
 * renegotiation, no compression. Returns a new context (SSL_CTX_free it),
 * or NULL with a message in err[errlen]. Thread-safe.
 */
struct ssl_ctx_st *tls_context_load(const char *cert_file, const char *key_file,
                                    const char *ca_file, char *err, size_t errlen);
void tls_context_free(struct ssl_ctx_st *ctx);

/* A server connection on ctx (which it keeps a reference to); NULL when
 * out of memory. OpenSSL's session (some 9 KB) is made when the first
 * bytes come: a peer that never speaks costs none. */
struct tls_conn *tls_conn_create(struct ssl_ctx_st *ctx, struct tls_shared *shared);
void tls_conn_destroy(struct tls_conn *t);

/*
 * Feeds received ciphertext: the handshake advances, and the plaintext
 * that came is in t->shared->plain (emptied first). Returns 0, 1 when the
 * peer closed (close_notify), or -1 when the connection failed (t->cause
 * says why). Records to send (handshake, alerts) wait for
 * tls_conn_flush().
 */
int tls_conn_feed(struct tls_conn *t, const uint8_t *in, size_t len);

/* Encrypts up to TLS_BATCH_MAX bytes of iov (in records of at most 16 KB).
 * Returns the plaintext bytes taken, or -1 (out of memory, or the
 * connection failed). */
ssize_t tls_conn_encrypt(struct tls_conn *t, const struct iovec *iov, int niov);

/* Queues a close_notify. */
void tls_conn_close_notify(struct tls_conn *t);

/* Appends bytes to send as they are, outside TLS (the 400 answering plain
 * HTTP). */
int tls_conn_raw(struct tls_conn *t, const void *p, size_t n);

/* Sends the records waiting on fd. Returns the bytes written (0 and more),
 * or -1 when the socket failed; tls_conn_blocked() then says whether some
 * wait for the socket to be writable. */
ssize_t tls_conn_flush(struct tls_conn *t, int fd);

/* Whether records wait for the socket. */
static inline bool tls_conn_blocked(const struct tls_conn *t)
{
	return t->pending.len > t->pending_off;
}

void tls_shared_free(struct tls_shared *sh);

#endif
