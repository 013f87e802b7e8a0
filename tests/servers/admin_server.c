/*
 * Admin UI test server for the integration tests (tests/integration/
 * admin.test.mjs) and the browser test (tests/browser/admin.test.mjs):
 * a server instrumented with sio_admin_instrument(). Uses only <sioc.h>.
 *
 * Listens on 127.0.0.1 (port chosen by the system unless --port) and
 * prints on stdout, flushed line by line:
 *   PORT <n>
 *   CONNECT <nsp> <socket id>
 *   DISCONNECT <nsp> <socket id> <reason>
 *   EVENT <nsp> <socket id> <event> <args as compact JSON>
 * for the sockets of the application's namespaces ("/" and every
 * --namespace NAME; not the admin one). Their handlers:
 *   join / leave [room]   joins / leaves room, acknowledges with the rooms
 *   echo [...]            emits "echo" back with the same args and binaries
 *   rooms                 acknowledges with the socket's rooms
 * and any other event is printed as an EVENT line (and acknowledged with
 * no arguments when asked).
 *
 * Options (those of the reference's instrument()):
 *   --auth USER HASH        basic auth with a bcrypt hash (default: none)
 *   --mode development|production   (default production)
 *   --read-only
 *   --admin-namespace NAME  (default /admin)
 *   --server-id ID
 *   --ui-path PATH, --ui-dir DIR    serve the dashboard
 *   --namespace NAME        another application namespace
 *   --port N
 *
 * SIGTERM / SIGINT stop the server; it frees everything and exits 0.
 * tests/servers/admin_server_ref.cjs is the same server on the reference
 * (socket.io with @socket.io/admin-ui's instrument()).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

static sio_server *g_srv;

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void on_signal(int sig)
{
	(void)sig;
	if (g_srv)
		sio_server_stop(g_srv);
}

static json_t *rooms_of(const sio_socket *s)
{
	json_t *rooms = json_array();
	const char *room;
	for (size_t i = 0; sio_socket_room_at(s, i, &room); i++)
		json_array_append_new(rooms, json_string(room));
	return rooms;
}

static void on_any(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *userdata)
{
	(void)bins;
	(void)nbins;
	(void)userdata;
	char *text = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
	out("EVENT %s %s %s %s", sio_namespace_name(sio_socket_namespace(s)), sio_socket_id(s),
	    event, text ? text : "?");
	free(text);
	if (ack)
		sio_ack_send(ack, NULL, NULL, 0);
}

static void on_room(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	const char *room = json_string_value(json_array_get(args, 0));
	if (room && strcmp(event, "join") == 0)
		sio_socket_join(s, room);
	else if (room && strcmp(event, "leave") == 0)
		sio_socket_leave(s, room);
	if (ack)
		sio_ack_send(ack, json_pack("[o]", rooms_of(s)), NULL, 0);
	(void)bins;
	(void)nbins;
	(void)userdata;
}

static void on_echo(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	(void)event;
	(void)ack;
	(void)userdata;
	sio_socket_emit(s, "echo", json_incref(args), bins, nbins);
}

static void on_connection(sio_socket *s, void *userdata)
{
	(void)userdata;
	out("CONNECT %s %s", sio_namespace_name(sio_socket_namespace(s)), sio_socket_id(s));
	sio_socket_on(s, "join", on_room, NULL);
	sio_socket_on(s, "leave", on_room, NULL);
	sio_socket_on(s, "rooms", on_room, NULL);
	sio_socket_on(s, "echo", on_echo, NULL);
	sio_socket_on_any(s, on_any, NULL);
}

static void on_disconnect(sio_socket *s, const char *reason, void *userdata)
{
	(void)userdata;
	out("DISCONNECT %s %s %s", sio_namespace_name(sio_socket_namespace(s)), sio_socket_id(s),
	    reason);
}

static int app_namespace(sio_server *srv, const char *name)
{
	static const struct sio_namespace_events ev = {
	        .version = SIO_NAMESPACE_EVENTS_VERSION,
	        .connection = on_connection,
	        .disconnect = on_disconnect,
	};
	sio_namespace *nsp = sio_server_of(srv, name);
	return nsp ? sio_namespace_set_events(nsp, &ev, NULL) : SIO_EINVAL;
}

static void usage(void)
{
	fprintf(stderr, "usage: admin_server [--auth USER HASH] [--mode development|production] "
	                "[--read-only] [--admin-namespace NAME] [--server-id ID] [--ui-path PATH] "
	                "[--ui-dir DIR] [--namespace NAME]... [--port N]\n");
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct sio_admin_options admin;
	const char *namespaces[16];
	size_t nnamespaces = 0;
	int port = 0;
	int err = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sio_server_options_init(&opts);
	opts.shutdown_timeout = 1000; /* the tests stop servers with clients attached */
	sio_admin_options_init(&admin);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--auth") == 0 && i + 2 < argc) {
			admin.username = argv[++i];
			admin.password_hash = argv[++i];
		} else if (strcmp(a, "--mode") == 0 && more) {
			const char *m = argv[++i];
			admin.mode = strcmp(m, "development") == 0 ? SIO_ADMIN_DEVELOPMENT
			                                           : SIO_ADMIN_PRODUCTION;
		} else if (strcmp(a, "--read-only") == 0) {
			admin.read_only = true;
		} else if (strcmp(a, "--admin-namespace") == 0 && more) {
			admin.namespace_name = argv[++i];
		} else if (strcmp(a, "--server-id") == 0 && more) {
			admin.server_id = argv[++i];
		} else if (strcmp(a, "--ui-path") == 0 && more) {
			admin.ui_path = argv[++i];
		} else if (strcmp(a, "--ui-dir") == 0 && more) {
			admin.ui_dir = argv[++i];
		} else if (strcmp(a, "--namespace") == 0 && more && nnamespaces < 16) {
			namespaces[nnamespaces++] = argv[++i];
		} else if (strcmp(a, "--port") == 0 && more) {
			port = atoi(argv[++i]);
		} else {
			usage();
			return 2;
		}
	}

	sio_server *srv = sio_server_create(&opts, &err);
	if (!srv) {
		fprintf(stderr, "admin_server: sio_server_create: %s\n", sio_strerror(err));
		return 1;
	}
	int rc = app_namespace(srv, "/");
	for (size_t i = 0; rc == 0 && i < nnamespaces; i++)
		rc = app_namespace(srv, namespaces[i]);
	if (rc == 0 && (rc = sio_admin_instrument(srv, &admin)) < 0)
		fprintf(stderr, "admin_server: sio_admin_instrument: %s\n", sio_strerror(rc));
	if (rc == 0 && (rc = sio_server_listen(srv, "127.0.0.1", port)) < 0)
		fprintf(stderr, "admin_server: sio_server_listen: %s\n", sio_strerror(rc));
	if (rc < 0) {
		sio_server_destroy(srv);
		return 1;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	g_srv = srv;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	out("PORT %d", sio_server_port(srv));
	rc = sio_server_run(srv);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	g_srv = NULL;
	sio_server_destroy(srv);
	return rc < 0 ? 1 : 0;
}
