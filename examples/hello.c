/*
 * hello: a small Socket.IO chat server on the C API.
 *
 *   hello [port] [seconds]    (port 3000 by default, 0 picks a free one;
 *                              with seconds, it stops by itself after that)
 *
 * In namespace "/", a client emits "chat" (sent to everyone else,
 * acknowledged with "ok") and "join" with a room name (acknowledged with
 * true once joined). Ctrl-C stops it cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <sioc.h>

static sio_server *g_srv; /* for the signal handler */

static void on_signal(int sig)
{
	sio_server_stop(g_srv);
}

static void on_time_up(sio_timer *t, void *userdata)
{
	sio_server_stop(userdata);
}

static void on_chat(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	/* args is borrowed: the broadcast steals a copy */
	sio_socket_broadcast(s, NULL, "chat", json_deep_copy(args), bins, nbins);
	if (ack)
		sio_ack_send(ack, json_pack("[s]", "ok"), NULL, 0);
}

static void on_join(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	const char *room = json_string_value(json_array_get(args, 0));
	bool joined = room && sio_socket_join(s, room) == 0;

	if (joined)
		printf("%s joined %s\n", sio_socket_id(s), room);
	if (ack)
		sio_ack_send(ack, json_pack("[b]", joined), NULL, 0);
}

static void on_connection(sio_socket *s, void *userdata)
{
	printf("%s connected\n", sio_socket_id(s));
	sio_socket_on(s, "chat", on_chat, NULL);
	sio_socket_on(s, "join", on_join, NULL);
}

static void on_disconnect(sio_socket *s, const char *reason, void *userdata)
{
	printf("%s disconnected (%s)\n", sio_socket_id(s), reason);
}

int main(int argc, char **argv)
{
	struct sio_namespace_events events = {
	        .version = SIO_NAMESPACE_EVENTS_VERSION,
	        .connection = on_connection,
	        .disconnect = on_disconnect,
	};
	struct sigaction sa = {.sa_handler = on_signal};
	int port = argc > 1 ? atoi(argv[1]) : 3000;
	int seconds = argc > 2 ? atoi(argv[2]) : 0;
	int err = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	g_srv = sio_server_create(NULL, &err);
	if (!g_srv) {
		fprintf(stderr, "hello: %s\n", sio_strerror(err));
		return 1;
	}
	err = sio_namespace_set_events(sio_server_of(g_srv, "/"), &events, NULL);
	if (err == 0)
		err = sio_server_listen(g_srv, NULL, port);
	if (err == 0 && seconds > 0 &&
	    !sio_timer_start(g_srv, (uint32_t)seconds * 1000, 0, on_time_up, g_srv))
		err = SIO_ENOMEM;
	if (err < 0) {
		fprintf(stderr, "hello: port %d: %s\n", port, sio_strerror(err));
		sio_server_destroy(g_srv);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("listening on port %d\n", sio_server_port(g_srv));
	err = sio_server_run(g_srv);
	sio_server_destroy(g_srv);
	return err < 0;
}
