/*
 * Builds against the installed interface only: <sioc.h> and the library,
 * nothing from the source tree. Proves the header is self-contained and
 * that the basic lifecycle links and runs.
 */
#include <sioc.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
	struct sio_server_options opts;
	struct sio_admin_options admin;
	sio_server *srv;
	const char *msg;
	int err = 0;

	sio_server_options_init(&opts);
	if (opts.path == NULL || strcmp(opts.path, "/socket.io/") != 0) {
		fprintf(stderr, "default path is not \"/socket.io/\"\n");
		return 1;
	}

	srv = sio_server_create(&opts, &err);
	if (srv == NULL) {
		fprintf(stderr, "sio_server_create failed: %d\n", err);
		return 1;
	}
	/* the admin UI's namespace, with the defaults */
	sio_admin_options_init(&admin);
	err = sio_admin_instrument(srv, &admin);
	if (err != 0) {
		fprintf(stderr, "sio_admin_instrument failed: %s\n", sio_strerror(err));
		return 1;
	}
	sio_server_destroy(srv);
	sio_server_destroy(NULL);

	msg = sio_strerror(SIO_ENOMEM);
	if (msg == NULL || msg[0] == '\0') {
		fprintf(stderr, "sio_strerror(SIO_ENOMEM) gave no text\n");
		return 1;
	}
	msg = sio_strerror(12345);
	if (msg == NULL) {
		fprintf(stderr, "sio_strerror(unknown) returned NULL\n");
		return 1;
	}
	printf("public header ok: %s\n", sio_strerror(SIO_ENOMEM));
	return 0;
}
