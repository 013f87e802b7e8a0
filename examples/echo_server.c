/*
 * echo_server: an Engine.IO server that sends every message back to the
 * client that sent it.
 *
 *   echo_server [port]      (default 3000)
 *
 * Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
 */
#include <sioc.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sio_server *g_server; /* for the signal handler only */

static void on_signal(int sig)
{
	(void)sig;
	sio_server_stop(g_server);
}

static void on_connection(sio_eio_socket *sock, void *userdata)
{
	printf("%s connected\n", sio_eio_id(sock));
}

static void on_message(sio_eio_socket *sock, const void *data, size_t len, bool binary,
                       void *userdata)
{
	int err = sio_eio_send(sock, data, len, binary);

	if (err < 0)
		fprintf(stderr, "%s: echo failed: %s\n", sio_eio_id(sock), sio_strerror(err));
}

static void on_close(sio_eio_socket *sock, const char *reason, void *userdata)
{
	printf("%s closed (%s)\n", sio_eio_id(sock), reason);
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct sio_eio_events events;
	struct sigaction sa;
	int port = 3000;
	int err = 0;

	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (*argv[1] == '\0' || *end != '\0' || v < 0 || v > 65535) {
			fprintf(stderr, "usage: %s [port]\n", argv[0]);
			return 2;
		}
		port = (int)v;
	}

	sio_server_options_init(&opts);
	g_server = sio_server_create(&opts, &err);
	if (g_server == NULL) {
		fprintf(stderr, "cannot create the server: %s\n", sio_strerror(err));
		return 1;
	}

	memset(&events, 0, sizeof(events));
	events.version = SIO_EIO_EVENTS_VERSION;
	events.connection = on_connection;
	events.message = on_message;
	events.close = on_close;
	err = sio_eio_set_events(g_server, &events, NULL);
	if (err == 0)
		err = sio_server_listen(g_server, NULL, port);
	if (err < 0) {
		fprintf(stderr, "cannot listen on port %d: %s\n", port, sio_strerror(err));
		sio_server_destroy(g_server);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("echo server listening on http://localhost:%d%s\n", sio_server_port(g_server),
	       opts.path);
	fflush(stdout);

	err = sio_server_run(g_server);
	sio_server_destroy(g_server);
	if (err < 0) {
		fprintf(stderr, "server stopped with an error: %s\n", sio_strerror(err));
		return 1;
	}
	return 0;
}
