/*
 * The admin UI's password check (server/admin.c): bcrypt hashes of the
 * three prefixes the reference's bcryptjs accepts, checked with the
 * system's crypt(3), and the options sio_admin_instrument() refuses.
 * Hashes made by bcryptjs 2.4.3 (hashSync); $2b$ and $2y$ are the same
 * hash under the other names, which bcrypt computes alike.
 */
#include <crypt.h>

#include <sioc.h>

#include "server/admin.h"
#include "unit.h"

#define SECRET_2A "$2a$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06"

static const struct {
	int line;
	const char *hash;
	const char *password;
	size_t len;
	bool matches;
} vectors_pw[] = {
        {__LINE__, SECRET_2A, S("secret"), true},
        {__LINE__, "$2b$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", S("secret"),
         true},
        {__LINE__, "$2y$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", S("secret"),
         true},
        {__LINE__, SECRET_2A, S("Secret"), false},
        {__LINE__, SECRET_2A, S("secret "), false},
        {__LINE__, SECRET_2A, S(""), false},
        {__LINE__, SECRET_2A, S("secret\0x"), false}, /* a NUL: never accepted */
        {__LINE__, "$2a$05$SWL/43YE/O3D4xMQJHfV7eBytrBqUb5V5wivJe7FlNJ7I43DghB8.",
         S("p\xc3\xa4sssw\xc3\xb6rd"), false},
        {__LINE__, "$2a$05$SWL/43YE/O3D4xMQJHfV7eBytrBqUb5V5wivJe7FlNJ7I43DghB8.",
         S("p\xc3\xa4ssw\xc3\xb6rd"), true}, /* UTF-8 bytes, as bcryptjs */
        {__LINE__, "$2a$04$7SBpC3DUsJJMj4eEe6b7a.BGLqeXGH5thMRv.3N79unKE8JSR4bBK", S(""), true},
        /* the right password against a damaged hash */
        {__LINE__, "$2a$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc07", S("secret"),
         false},
};

static const struct {
	int line;
	const char *hash;
	bool valid;
} vectors_hash[] = {
        {__LINE__, SECRET_2A, true},
        {__LINE__, "$2b$31$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", true},
        {__LINE__, "$2x$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", false},
        {__LINE__, "$2a$03$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", false},
        {__LINE__, "$2a$32$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", false},
        {__LINE__, "$2a$4$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc06", false},
        {__LINE__, "$2a$04$qWajhVSZRLwGlAWKkUT9I.4moo9maoRs8ZJmkwpLUrUkXxJomWc0", false},
        {__LINE__, "$2a$04$qWajhVSZRLwGlAWKkUT9I+4moo9maoRs8ZJmkwpLUrUkXxJomWc06", false},
        {__LINE__, "secret", false},
        {__LINE__, "$6$salt$hash", false},
        {__LINE__, "", false},
};

static void test_passwords(void)
{
	struct crypt_data *scratch = malloc(sizeof(*scratch));
	if (!scratch)
		out_of_memory();
	for (size_t i = 0; i < sizeof(vectors_pw) / sizeof(vectors_pw[0]); i++) {
		char *pw = malloc(vectors_pw[i].len + 1); /* exact, and NUL-terminated */
		if (!pw)
			out_of_memory();
		memcpy(pw, vectors_pw[i].password, vectors_pw[i].len);
		pw[vectors_pw[i].len] = '\0';
		bool got = admin_password_matches(pw, vectors_pw[i].len, vectors_pw[i].hash,
		                                  scratch, sizeof(*scratch));
		check(got == vectors_pw[i].matches, vectors_pw[i].line, "password check");
		free(pw);
		vectors++;
	}
	free(scratch);
	for (size_t i = 0; i < sizeof(vectors_hash) / sizeof(vectors_hash[0]); i++) {
		check(admin_bcrypt_hash_valid(vectors_hash[i].hash) == vectors_hash[i].valid,
		      vectors_hash[i].line, "hash form");
		vectors++;
	}
}

/* What instrument() refuses, and that a good call can't be repeated. */
static void test_instrument(void)
{
	sio_server *srv = sio_server_create(NULL, NULL);
	if (!srv)
		out_of_memory();
	struct sio_admin_options o;
	sio_admin_options_init(&o);
	check(strcmp(o.namespace_name, "/admin") == 0 && o.mode == SIO_ADMIN_PRODUCTION &&
	              !o.read_only && !o.username && !o.ui_path,
	      __LINE__, "defaults");

	o.username = "admin"; /* without a hash */
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "username alone");
	o.password_hash = "$1$not-bcrypt";
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "not bcrypt");
	o.password_hash = SECRET_2A;
	o.namespace_name = "admin";
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "namespace without '/'");
	o.namespace_name = "/admin";
	o.ui_path = "/socket.io/ui";
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "ui under the engine path");
	o.ui_path = "/";
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "ui at the root");
	o.ui_path = "/ui";
	o.ui_dir = "/nonexistent";
	check(sio_admin_instrument(srv, &o) == SIO_ENOTFOUND, __LINE__, "no index.html");
	o.ui_path = NULL;
	o.mode = (enum sio_admin_mode)7;
	check(sio_admin_instrument(srv, &o) == SIO_EINVAL, __LINE__, "unknown mode");
	o.mode = SIO_ADMIN_DEVELOPMENT;
	check(sio_admin_instrument(srv, &o) == 0, __LINE__, "instrument");
	check(sio_admin_instrument(srv, &o) == SIO_ESTATE, __LINE__, "twice");
	check(sio_admin_instrument(NULL, &o) == SIO_EINVAL, __LINE__, "NULL server");
	sio_server_destroy(srv);
	vectors += 11;
}

int main(void)
{
	test_passwords();
	test_instrument();
	printf("admin: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
