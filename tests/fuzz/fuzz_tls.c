/*
 * The TLS glue of the front connections (transports/tls.c): a server
 * session fed a peer's bytes in pieces, as lws hands them over, before any
 * handshake or, when the input asks, right after a real one (a client
 * session in this process, on TLS 1.2 or 1.3): garbage, truncated and
 * forged records. Whatever comes, tls_conn_feed() returns 0, 1 (close) or
 * -1 with a cause, gives no plaintext before the handshake finished, never
 * more plaintext than ciphertext fed, takes nothing more after a failure,
 * and the records it makes reach the socket (a socketpair here). ASan and
 * LeakSanitizer watch the memory.
 *
 * Input layout:
 *   byte 0      bit 7: handshake first (bit 6: TLS 1.2 rather than 1.3);
 *               bits 0-2: k, the number of piece sizes that follow
 *   k bytes     piece sizes (byte * 7 + 1), used in turn
 *   the rest    the peer's bytes
 *
 * The server certificate (P-256, self-signed) is made once at start.
 */
#include "transports/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

static SSL_CTX *server_ctx;
static SSL_CTX *client_ctx;
static int pair[2]; /* [0]: the server's socket, [1]: read here */

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A self-signed P-256 certificate and its key in dir/cert.pem, key.pem. */
static void make_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FUZZ_CHECK(key && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1,
	                           0);
	X509_set_issuer_name(x, name);
	FUZZ_CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	FILE *f = fopen(cert_path, "w");
	FUZZ_CHECK(f && PEM_write_X509(f, x));
	fclose(f);
	f = fopen(key_path, "w");
	FUZZ_CHECK(f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/sioc-fuzz-tls.XXXXXX";
	FUZZ_CHECK(mkdtemp(dir));
	char cert[64], key[64], err[320];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	make_cert(cert, key);
	server_ctx = tls_context_load(cert, key, NULL, err, sizeof(err));
	FUZZ_CHECK(server_ctx);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	client_ctx = SSL_CTX_new(TLS_client_method());
	FUZZ_CHECK(client_ctx);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
	return 0;
}

/* What the server sent: read from the other end, into *out when not NULL. */
static void drain(struct buf *out)
{
	uint8_t b[65536];
	for (;;) {
		ssize_t n = recv(pair[1], b, sizeof(b), MSG_DONTWAIT);
		if (n <= 0)
			return;
		if (out)
			buf_append(out, b, (size_t)n);
	}
}

/* Feeds p[0..n) to t (an exact copy on the heap, so that ASan sees a
 * read past it); returns what tls_conn_feed() did. */
static int feed(struct tls_conn *t, const uint8_t *p, size_t n)
{
	uint8_t *copy = fuzz_copy(p, n);
	int r = tls_conn_feed(t, copy, n);
	free(copy);
	FUZZ_CHECK(r >= -1 && r <= 1);
	FUZZ_CHECK(r != -1 || t->cause);
	FUZZ_CHECK(t->shared->plain.len <= n);
	FUZZ_CHECK(t->shared->plain.len == 0 || t->established);
	FUZZ_CHECK(tls_conn_flush(t, pair[0]) >= 0);
	FUZZ_CHECK(!tls_conn_blocked(t));
	return r;
}

/* A real handshake between t and a client session; false when it did not
 * finish (it always should). */
static bool handshake(struct tls_conn *t, bool tls12)
{
	SSL *c = SSL_new(client_ctx);
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	FUZZ_CHECK(c && in && out);
	SSL_set_bio(c, in, out);
	if (tls12)
		SSL_set_max_proto_version(c, TLS1_2_VERSION);
	SSL_set_connect_state(c);
	bool done = false;
	for (int round = 0; round < 8 && !done; round++) {
		int r = SSL_do_handshake(c);
		done = r == 1;
		char *p;
		long n = BIO_get_mem_data(out, &p);
		if (n > 0) {
			FUZZ_CHECK(feed(t, (const uint8_t *)p, (size_t)n) == 0);
			(void)BIO_reset(out);
		}
		struct buf back = {0};
		drain(&back);
		if (back.len)
			BIO_write(in, back.data, (int)back.len);
		buf_free(&back);
	}
	SSL_free(c);
	ERR_clear_error();
	return done && t->established;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_shared sh = {0};
	struct tls_conn *t = tls_conn_create(server_ctx, &sh);
	FUZZ_CHECK(t);
	size_t k = size ? data[0] & 7 : 0;
	bool first = size && (data[0] & 0x80);
	bool tls12 = size && (data[0] & 0x40);
	size_t head = size ? 1 + k : 0;
	if (head > size)
		head = size;
	if (first)
		FUZZ_CHECK(handshake(t, tls12));
	size_t off = head, piece = 0;
	int r = 0;
	while (off < size && r == 0) {
		size_t n = k ? (size_t)data[1 + piece++ % k] * 7 + 1 : size - off;
		if (n > size - off)
			n = size - off;
		r = feed(t, data + off, n);
		off += n;
	}
	if (r == 0 && t->established) {
		/* and something back, in records */
		struct iovec v = {.iov_base = (void *)"hello", .iov_len = 5};
		FUZZ_CHECK(tls_conn_encrypt(t, &v, 1) == 5);
		FUZZ_CHECK(tls_conn_flush(t, pair[0]) > 5);
	}
	tls_conn_close_notify(t);
	tls_conn_flush(t, pair[0]);
	drain(NULL);
	tls_conn_destroy(t);
	tls_shared_free(&sh);
	ERR_clear_error();
	return 0;
}
