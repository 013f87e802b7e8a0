/*
 * TLS on the front connections: OpenSSL on memory, the socket ours (see
 * tls.h for why).
 */
#include "transports/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define RECORD_MAX 16384 /* TLS plaintext per record */

/* ---- the BIO: ciphertext from t->in, records to the output buffer ------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

/* Where records go: behind the ones waiting for the socket, if any, so
 * that they leave in order; else the shared buffer. */
static struct buf *sink(struct tls_conn *t)
{
	return t->pending.len ? &t->pending : &t->shared->out;
}

static int bio_write(BIO *b, const char *p, int n)
{
	struct tls_conn *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (buf_append(sink(t), p, (size_t)n) < 0)
		return -1;
	return n;
}

static int bio_read(BIO *b, char *out, int n)
{
	struct tls_conn *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (!t->in_len) {
		BIO_set_retry_read(b);
		return -1;
	}
	size_t k = t->in_len < (size_t)n ? t->in_len : (size_t)n;
	memcpy(out, t->in, k);
	t->in += k;
	t->in_len -= k;
	return (int)k;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void bio_method_make(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sioc");
	if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
		bio_method = m;
	else if (m)
		BIO_meth_free(m);
}

/* ---- the context -------------------------------------------------------- */

/* A renegotiation asked by the client: OpenSSL refuses it with a
 * no_renegotiation warning; we then close the connection. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_conn *t = SSL_get_app_data(ssl);
	if (!t)
		return;
	if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT &&
	    (ret & 0xff) == SSL_AD_NO_RENEGOTIATION)
		t->renegotiation = true;
	if ((where & SSL_CB_HANDSHAKE_START) && t->established && SSL_version(ssl) < TLS1_3_VERSION)
		t->renegotiation = true;
}

/* HTTP/1.1 is all we speak: chosen when offered (browsers also offer h2). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen;) {
		unsigned int n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* err[errlen] = what, then OpenSSL's reason for the last error. */
static void load_error(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	snprintf(err, errlen, "%s %s: %s", what, file, reason ? reason : "invalid");
	ERR_clear_error();
}

struct ssl_ctx_st *tls_context_load(const char *cert_file, const char *key_file,
                                    const char *ca_file, char *err, size_t errlen)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot make a TLS context (out of memory)");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* TLS 1.2: forward secrecy and AEAD only (1.3's suites all are) */
	if (!SSL_CTX_set_cipher_list(ctx,
	                             "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	                             "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	                             "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"))
		goto fail_ciphers;
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sioc", 4);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		load_error(err, errlen, "cannot load the certificate (chain) from", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		load_error(err, errlen, "cannot load the private key from", key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		load_error(err, errlen, "the certificate does not match the key in", key_file);
		goto fail;
	}
	if (ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
		if (!names || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			load_error(err, errlen, "cannot load the client CA certificates from",
			           ca_file);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names); /* taken over */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ERR_clear_error();
	return ctx;
fail_ciphers:
	snprintf(err, errlen, "no usable TLS 1.2 cipher suite in this OpenSSL");
	ERR_clear_error();
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_context_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

/* ---- connections -------------------------------------------------------- */

/* t is about to write: the shared buffer is its own. Another
 * connection's leftovers (it failed before flushing) are dropped, never
 * sent to the wrong peer. */
static void claim(struct tls_conn *t)
{
	if (t->shared->owner != t) {
		t->shared->out.len = 0;
		t->shared->owner = t;
	}
}

struct tls_conn *tls_conn_create(struct ssl_ctx_st *ctx, struct tls_shared *shared)
{
	pthread_once(&bio_once, bio_method_make);
	if (!bio_method)
		return NULL;
	struct tls_conn *t = calloc(1, sizeof(*t));
	if (!t || !SSL_CTX_up_ref(ctx)) {
		free(t);
		return NULL;
	}
	t->shared = shared;
	t->ctx = ctx;
	return t;
}

/* Makes t's OpenSSL session. Returns 0 or -1 (out of memory). */
static int conn_ssl(struct tls_conn *t)
{
	t->ssl = SSL_new(t->ctx);
	BIO *b = t->ssl ? BIO_new(bio_method) : NULL;
	if (!b) {
		SSL_free(t->ssl);
		t->ssl = NULL;
		ERR_clear_error();
		return -1;
	}
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_app_data(t->ssl, t);
	SSL_set_accept_state(t->ssl);
	return 0;
}

void tls_conn_destroy(struct tls_conn *t)
{
	if (!t)
		return;
	if (t->shared->owner == t) {
		t->shared->out.len = 0;
		t->shared->owner = NULL;
	}
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	buf_free(&t->pending);
	free(t);
}

/* Records the failure's cause from OpenSSL's error queue, then empties it
 * (it is per thread: the next connection must not see it). */
static int fail(struct tls_conn *t, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);
	if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST)
		t->plain_http = true;
	if (!t->cause) {
		const char *r = e ? ERR_reason_error_string(e) : NULL;
		t->cause = r ? r : fallback;
	}
	ERR_clear_error();
	t->in = NULL;
	t->in_len = 0;
	return -1;
}

int tls_conn_feed(struct tls_conn *t, const uint8_t *in, size_t len)
{
	claim(t);
	t->fed = true;
	struct buf *pl = &t->shared->plain;
	pl->len = 0;
	if (!t->ssl && conn_ssl(t) < 0) {
		t->cause = "out of memory";
		return -1;
	}
	t->in = in;
	t->in_len = len;
	for (;;) {
		if (buf_reserve(pl, RECORD_MAX) < 0) {
			t->cause = "out of memory";
			return fail(t, "out of memory");
		}
		int room = pl->cap - pl->len > INT32_MAX ? INT32_MAX : (int)(pl->cap - pl->len);
		int n = SSL_read(t->ssl, pl->data + pl->len, room);
		if (!t->established && SSL_is_init_finished(t->ssl))
			t->established = true;
		if (t->renegotiation) {
			t->cause = "renegotiation attempt";
			return fail(t, t->cause);
		}
		if (n > 0) {
			pl->len += (size_t)n;
			continue;
		}
		int err = SSL_get_error(t->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			break; /* all of `in` taken */
		if (err == SSL_ERROR_ZERO_RETURN) {
			t->in = NULL;
			t->in_len = 0;
			return 1;
		}
		return fail(t, err == SSL_ERROR_SYSCALL ? "unexpected end of input"
		                                        : "protocol error");
	}
	t->in = NULL;
	t->in_len = 0;
	return 0;
}

ssize_t tls_conn_encrypt(struct tls_conn *t, const struct iovec *iov, int niov)
{
	claim(t);
	if (!t->established)
		return fail(t, "write before the handshake");
	uint8_t rec[RECORD_MAX];
	size_t fill = 0, taken = 0;
	for (int i = 0; i < niov && taken + fill < TLS_BATCH_MAX; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;
		if (n > TLS_BATCH_MAX - taken - fill)
			n = TLS_BATCH_MAX - taken - fill;
		while (n) {
			if (fill == 0 && n >= RECORD_MAX) {
				/* whole records straight from the caller's memory */
				size_t k = n - n % RECORD_MAX;
				if (SSL_write(t->ssl, p, (int)k) <= 0)
					return fail(t, "write failed");
				taken += k;
				p += k;
				n -= k;
				continue;
			}
			size_t k = RECORD_MAX - fill < n ? RECORD_MAX - fill : n;
			memcpy(rec + fill, p, k);
			fill += k;
			p += k;
			n -= k;
			if (fill == RECORD_MAX) {
				if (SSL_write(t->ssl, rec, (int)fill) <= 0)
					return fail(t, "write failed");
				taken += fill;
				fill = 0;
			}
		}
	}
	if (fill) {
		if (SSL_write(t->ssl, rec, (int)fill) <= 0)
			return fail(t, "write failed");
		taken += fill;
	}
	return (ssize_t)taken;
}

void tls_conn_close_notify(struct tls_conn *t)
{
	claim(t);
	if (t->ssl && t->established && !t->cause)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

int tls_conn_raw(struct tls_conn *t, const void *p, size_t n)
{
	claim(t);
	return buf_append(sink(t), p, n);
}

/* Sends b[*off..len) on fd. Returns the bytes written or -1; stops when
 * the socket is full. */
static ssize_t send_some(int fd, const struct buf *b, size_t *off)
{
	ssize_t total = 0;
	while (*off < b->len) {
		ssize_t n = send(fd, b->data + *off, b->len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		*off += (size_t)n;
		total += n;
	}
	return total;
}

ssize_t tls_conn_flush(struct tls_conn *t, int fd)
{
	ssize_t total = 0;
	struct buf *out = &t->shared->out;
	bool mine = t->shared->owner == t && out->len;
	if (t->pending.len) {
		ssize_t n = send_some(fd, &t->pending, &t->pending_off);
		if (n < 0)
			return -1;
		total += n;
		if (t->pending_off < t->pending.len) {
			if (mine && buf_append(&t->pending, out->data, out->len) < 0)
				return -1;
			out->len = 0;
			return total;
		}
		buf_free(&t->pending);
		t->pending_off = 0;
	}
	if (mine) {
		size_t off = 0;
		ssize_t n = send_some(fd, out, &off);
		if (n < 0) {
			out->len = 0;
			return -1;
		}
		total += n;
		if (off < out->len &&
		    buf_append(&t->pending, out->data + off, out->len - off) < 0) {
			out->len = 0;
			return -1;
		}
		out->len = 0;
	}
	return total;
}

void tls_shared_free(struct tls_shared *sh)
{
	sh->owner = NULL;
	buf_free(&sh->out);
	buf_free(&sh->plain);
}
