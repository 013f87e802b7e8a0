/*
 * Socket.IO test server for the integration tests (tests/integration/).
 * Uses only the public API <sioc.h>.
 *
 * Listens on 127.0.0.1, port chosen by the system, and prints on stdout
 * (flushed line by line):
 *   PORT <n>
 *   CONNECT <nsp> <socket id> <auth as compact JSON>
 *   DISCONNECTING <nsp> <socket id> <reason> <rooms, comma-separated>
 *   DISCONNECT <nsp> <socket id> <reason>
 *   ACK <socket id> <0|timeout|closed> <reply args as JSON, or null>
 * The last one is for the acks the server asks for ("ask" below); binary
 * values in it are written {"_bin":"<hex>"}.
 *
 * Namespaces: "/", every --namespace NAME, the dynamic ones matching
 * --dynamic-pattern GLOB and those starting with --dynamic-prefix PREFIX.
 * All have the same middleware (auth.token "bad" is refused with message
 * "not authorized" and data {"reason":"bad token"}) and the same handlers:
 *   echo [...]             emits "echo" back with the same args and binaries
 *   ack [...]              acknowledges with the same args and binaries
 *   ask [ms]               emits "question" ["what?"] asking for an ack within
 *                          ms (0: no timeout); prints the ACK line
 *   join / leave [room]    acknowledges with the socket's rooms (and, when
 *                          the call failed, its sio_strerror() text)
 *   off [event]            removes the socket's handler of event (then it
 *                          is answered as any other); acknowledges with
 *                          whether there was one
 *   to-room [room, msg]    "room-msg" [msg] to the room (sender included)
 *   broadcast [msg]        "broadcast-msg" [msg] to all but the sender
 *   to-except [room, exceptRoom, msg]   "except-msg" [msg]
 *   to-rooms [rooms, except, msg]   "rooms-msg" [msg] to the sockets in any
 *                          of rooms but in none of except (arrays of names)
 *   all [msg]              "all-msg" [msg] to the whole namespace
 *   fetch [room|null]      acknowledges with [{id, rooms}] of the sockets
 *   fetch-rooms [rooms, except]   the same for the sockets in any of rooms
 *                          but in none of except (arrays of names)
 *   sockets-join / sockets-leave [room|null, room]   acknowledges true
 *   disconnect-me [close]  sio_socket_disconnect(close)
 *   disconnect-room [room|null, close]
 *   close-conn             closes the Engine.IO connection
 *   volatile [x]           a volatile "v" [x]
 *   all-volatile [msg]     a volatile "all-msg" [msg] to the whole namespace
 *   handshake [{query: [names], headers: [names]}]   acknowledges with the
 *                          handshake (those query parameters and headers)
 *   timer [ms]             "timer-done" [ms] from a loop timer after ms
 *   thread [x]             "from-thread" [x] from another thread, through
 *                          sio_server_call()
 *   emit-then-stop [n, size]   emits "burst" [i, "x" * size] for i in 0..n-1,
 *                          prints "STOPPING <socket id> <queued> <first error
 *                          or none>" and calls sio_server_stop()
 *   call-storm             a thread calls sio_server_call() in a loop until
 *                          it returns SIO_ECLOSED, then 100 times more; the
 *                          calls emit "storm" [n] now and then. After the
 *                          server is destroyed it prints "STORM <accepted>
 *                          <ran> <refused after the stop>/100"
 *   set-data [v]           sio_socket_set_json_data(v); acknowledges
 *   get-data               acknowledges with [data or null, recovered]
 *   ticker [room, n, ms]   a loop timer that, every ms for i in 0..n-1, emits
 *                          "tick" [i, "room"] to the room, "tick" [i, "self"]
 *                          to the room named by the socket's id (through the
 *                          namespace: it goes on while the socket is away)
 *                          and, when the socket is connected, "tick"
 *                          [i, "direct"] to it with sio_socket_emit(); then
 *                          "tick-done" [n] to the socket's id room
 * and any other event is answered with "unknown" [event name].
 *
 * With --recovery on (connection state recovery; --recovery-duration MS,
 * --recovery-skip-middlewares on|off, --recovery-history-bytes N) the
 * server also prints
 *   MIDDLEWARE <nsp> <socket id> <recovered 0|1>   when the middleware runs
 *   RECOVERED <nsp> <socket id>                   after CONNECT, when recovered
 *
 * Options: --connect-timeout MS --ping-interval MS --ping-timeout MS
 * --transports polling|websocket|polling,websocket --namespace NAME...
 * --dynamic-pattern GLOB --dynamic-prefix PREFIX, and the limits
 * --upgrade-timeout MS --max-http-buffer-size N --max-queue-bytes N
 * --max-queue-packets N --queue-full close|reject --headers-timeout MS
 * --body-timeout MS --max-connections-per-ip N --max-pending-handshakes N
 * --max-namespaces N --max-rooms N --max-pending-acks N
 * --max-events-per-second N --shutdown-timeout MS, --allow-eio3 on|off,
 * --port N (listen there rather than on any free port), --parser json|msgpack.
 *
 * Proxies, metrics, logs: --trust-proxy on, --trusted-proxies A,B (addresses
 * or CIDRs), --metrics-path PATH, --metrics-token TOKEN, --log-level
 * none|error|warn|info|debug, --record-logs on (every log message printed
 * as "LOG <level> <event> <message>"), --print-middleware on (the
 * middleware prints "MIDDLEWARE <nsp> <address> <peer address> http|https").
 * The event "api-errors" acknowledges with what the emit calls return for
 * bad arguments ({case: sio_strerror()}); "ack-error" [n] answers its own
 * ack with n attachments and no array, then emits "ack-error" with what
 * sio_ack_send() returned.
 * The event "stats" acknowledges with sio_server_stats() as an object; the
 * "handshake" answer has the peer address too ("peer").
 *
 * --disconnect-effects on: the disconnecting and disconnect callbacks act on
 * the server as an application might during a shutdown: broadcast, emit
 * to the socket itself, join a room, ask every other socket for an ack,
 * start a timer and call sio_server_call(); the disconnect callback then
 * prints "EFFECTS <socket id> <rc of each>".
 *
 * TLS: --tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-handshake-timeout
 * MS]; SIGHUP then reloads the files (sio_server_reload_tls() from a thread
 * of its own, as an operator's reload would) and prints "TLS-RELOAD <rc>".
 *
 * SIGTERM / SIGINT stop the server; it then frees everything and exits 0.
 * tests/servers/sio_server_ref.cjs is the same server on the reference
 * socket.io, for differential testing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sioc.h>

/* A loop timer or a thread started by a handler, kept until it is done so
 * that nothing is left behind at exit. */
struct job {
	struct job *next;
	struct app *app;
	sio_namespace *nsp; /* namespaces live as long as the server */
	char *socket_id;
	json_t *payload;
	sio_timer *timer; /* "timer" jobs, until the timer fired */
	pthread_t thread; /* "thread" and "call-storm" jobs */
	bool has_thread;
	bool storm;          /* a "call-storm" job */
	long storm_accepted; /* calls sio_server_call() took (thread) */
	long storm_ran;      /* calls that ran (loop) */
	int storm_refused;   /* of the 100 calls after the stop, those refused */
	long tick;           /* "ticker" jobs: the next tick */
};

struct app {
	sio_server *srv;
	const char *prefix; /* --dynamic-prefix */
	struct job *jobs;   /* touched on the loop thread only */
	bool disconnect_effects;
	bool print_middleware; /* --print-middleware on */
	bool recovery; /* --recovery on */
};

static sio_server *g_srv;

__attribute__((format(printf, 1, 2))) static void emit(const char *fmt, ...)
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

static void report(const char *what, int rc)
{
	if (rc < 0)
		fprintf(stderr, "sio_server: %s: %s\n", what, sio_strerror(rc));
}

/* A new copy of v where each binary placeholder is {"_bin":"<hex>"}. */
static json_t *show_binary(const json_t *v, const struct sio_binary *bins, size_t nbins)
{
	static const char hex[] = "0123456789abcdef";
	long num = sio_binary_num(v, nbins);
	json_t *out;

	if (num >= 0) {
		const unsigned char *p = bins[num].data;
		char *s = malloc(bins[num].len * 2 + 1);

		if (!s)
			return NULL;
		for (size_t i = 0; i < bins[num].len; i++) {
			s[2 * i] = hex[p[i] >> 4];
			s[2 * i + 1] = hex[p[i] & 15];
		}
		s[bins[num].len * 2] = '\0';
		out = json_pack("{s:s}", "_bin", s);
		free(s);
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		for (size_t i = 0; i < json_array_size(v); i++)
			json_array_append_new(out, show_binary(json_array_get(v, i), bins, nbins));
		return out;
	}
	if (json_is_object(v)) {
		json_t *obj = (json_t *)v; /* the iterator API takes no const */

		out = json_object();
		for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
			json_object_set_new(out, json_object_iter_key(it),
			                    show_binary(json_object_iter_value(it), bins, nbins));
		return out;
	}
	return json_deep_copy(v);
}

/* args[i] as a string, or NULL. */
static const char *arg_string(const json_t *args, size_t i)
{
	return json_string_value(json_array_get(args, i));
}

/* args[i] (borrowed), or JSON null when missing. */
static json_t *arg_or_null(json_t *args, size_t i)
{
	json_t *v = json_array_get(args, i);

	return v ? v : json_null();
}

/* [args[i]] as a new array. */
static json_t *one_arg(json_t *args, size_t i)
{
	return json_pack("[O]", arg_or_null(args, i));
}

static json_t *rooms_of(const sio_socket *sock)
{
	json_t *rooms = json_array();
	const char *room;

	for (size_t i = 0; sio_socket_room_at(sock, i, &room); i++)
		json_array_append_new(rooms, json_string(room));
	return rooms;
}

static void ack_with(sio_ack *ack, json_t *args)
{
	if (ack)
		report("sio_ack_send", sio_ack_send(ack, args, NULL, 0));
	else
		json_decref(args);
}

/* The selection "sockets in room", or every socket when room is NULL. */
struct selection {
	const char *rooms[2];
	struct sio_target target;
};

static const struct sio_target *select_room(struct selection *sel, const char *room)
{
	if (!room)
		return NULL;
	memset(sel, 0, sizeof(*sel));
	sel->rooms[0] = room;
	sel->target.rooms = sel->rooms;
	return &sel->target;
}

/* ---- handlers ---------------------------------------------------- */

static void on_echo(sio_socket *sock, const char *event, json_t *args,
                    const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_socket_emit", sio_socket_emit(sock, "echo", json_deep_copy(args), bins, nbins));
}

static void on_ack(sio_socket *sock, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *ud)
{
	if (ack)
		report("sio_ack_send", sio_ack_send(ack, json_deep_copy(args), bins, nbins));
}

static void on_question_answer(sio_socket *sock, int err, json_t *args,
                               const struct sio_binary *bins, size_t nbins, void *userdata)
{
	char *id = userdata;
	const char *what = err == 0               ? "0"
	                   : err == SIO_ETIMEDOUT ? "timeout"
	                   : err == SIO_ECLOSED   ? "closed"
	                                          : sio_strerror(err);
	json_t *shown = args ? show_binary(args, bins, nbins) : json_null();
	char *text = json_dumps(shown, JSON_COMPACT | JSON_ENCODE_ANY);

	emit("ACK %s %s %s", id, what, text ? text : "?");
	free(text);
	json_decref(shown);
	free(id);
}

static void on_ask(sio_socket *sock, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *ud)
{
	json_int_t ms = json_integer_value(json_array_get(args, 0));
	char *id = strdup(sio_socket_id(sock));
	int rc;

	if (!id)
		return;
	rc = sio_socket_emit_with_ack(sock, "question", json_pack("[s]", "what?"), NULL, 0,
	                              ms > 0 ? (uint32_t)ms : 0, on_question_answer, id);
	if (rc < 0) {
		report("sio_socket_emit_with_ack", rc);
		free(id);
	}
}

static void on_join(sio_socket *sock, const char *event, json_t *args,
                    const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const char *room = arg_string(args, 0);
	int rc = 0;

	if (room)
		rc = strcmp(event, "join") == 0 ? sio_socket_join(sock, room)
		                                : sio_socket_leave(sock, room);
	report(event, rc);
	/* a failure is reported as a second argument: its sio_strerror() text */
	ack_with(ack, rc < 0 ? json_pack("[o,s]", rooms_of(sock), sio_strerror(rc))
	                     : json_pack("[o]", rooms_of(sock)));
}

static void on_off(sio_socket *sock, const char *event, json_t *args,
                   const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const char *name = arg_string(args, 0);
	int rc = name ? sio_socket_off(sock, name) : SIO_EINVAL;

	ack_with(ack, json_pack("[b]", rc == 0));
}

static void on_to_room(sio_socket *sock, const char *event, json_t *args,
                       const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct selection sel;
	const char *room = arg_string(args, 0);

	if (room)
		report("sio_namespace_emit",
		       sio_namespace_emit(sio_socket_namespace(sock), select_room(&sel, room),
		                          "room-msg", one_arg(args, 1), NULL, 0));
	ack_with(ack, NULL);
}

static void on_broadcast(sio_socket *sock, const char *event, json_t *args,
                         const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_socket_broadcast",
	       sio_socket_broadcast(sock, NULL, "broadcast-msg", one_arg(args, 0), NULL, 0));
	ack_with(ack, NULL);
}

static void on_to_except(sio_socket *sock, const char *event, json_t *args,
                         const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const char *rooms[] = {arg_string(args, 0), NULL};
	const char *except[] = {arg_string(args, 1), NULL};
	struct sio_target t = {.rooms = rooms, .except = except};

	if (rooms[0] && except[0])
		report("sio_namespace_emit",
		       sio_namespace_emit(sio_socket_namespace(sock), &t, "except-msg",
		                          one_arg(args, 2), NULL, 0));
	ack_with(ack, NULL);
}

/* args[i], an array of strings, as a new NULL-terminated list of the
 * strings (borrowed from args). NULL when args[i] is not such an array or
 * out of memory; free() the list. */
static const char **name_list(json_t *args, size_t i)
{
	const json_t *names = json_array_get(args, i);
	size_t n = json_array_size(names);
	const char **list;

	if (!json_is_array(names))
		return NULL;
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		list[k] = json_string_value(json_array_get(names, k));
		if (!list[k]) {
			free(list);
			return NULL;
		}
	}
	return list;
}

static void on_to_rooms(sio_socket *sock, const char *event, json_t *args,
                        const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const char **rooms = name_list(args, 0);
	const char **except = name_list(args, 1);
	struct sio_target t = {.rooms = rooms, .except = except};

	if (rooms && except)
		report("sio_namespace_emit",
		       sio_namespace_emit(sio_socket_namespace(sock), &t, "rooms-msg",
		                          one_arg(args, 2), NULL, 0));
	free(rooms);
	free(except);
	ack_with(ack, NULL);
}

static void on_all(sio_socket *sock, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_namespace_emit", sio_namespace_emit(sio_socket_namespace(sock), NULL, "all-msg",
	                                                one_arg(args, 0), NULL, 0));
	ack_with(ack, NULL);
}

/* Acknowledges with [{id, rooms}] of the sockets the selection t holds. */
static void ack_fetched(sio_namespace *nsp, const struct sio_target *t, sio_ack *ack)
{
	size_t n = sio_namespace_fetch_sockets(nsp, t, NULL, 0);
	sio_socket **found = calloc(n ? n : 1, sizeof(*found));
	json_t *list = json_array();

	if (found) {
		size_t got = sio_namespace_fetch_sockets(nsp, t, found, n);

		for (size_t i = 0; i < got && i < n; i++)
			json_array_append_new(list,
			                      json_pack("{s:s,s:o}", "id", sio_socket_id(found[i]),
			                                "rooms", rooms_of(found[i])));
		free(found);
	}
	ack_with(ack, json_pack("[o]", list));
}

static void on_fetch(sio_socket *sock, const char *event, json_t *args,
                     const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct selection sel;

	ack_fetched(sio_socket_namespace(sock), select_room(&sel, arg_string(args, 0)), ack);
}

static void on_fetch_rooms(sio_socket *sock, const char *event, json_t *args,
                           const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const char **rooms = name_list(args, 0);
	const char **except = name_list(args, 1);
	struct sio_target t = {.rooms = rooms, .except = except};

	if (rooms && except)
		ack_fetched(sio_socket_namespace(sock), &t, ack);
	else
		ack_with(ack, json_pack("[[]]"));
	free(rooms);
	free(except);
}

static void on_sockets_join(sio_socket *sock, const char *event, json_t *args,
                            const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	sio_namespace *nsp = sio_socket_namespace(sock);
	struct selection sel;
	const struct sio_target *t = select_room(&sel, arg_string(args, 0));
	const char *room = arg_string(args, 1);

	if (room)
		report(event, strcmp(event, "sockets-join") == 0
		                      ? sio_namespace_sockets_join(nsp, t, room)
		                      : sio_namespace_sockets_leave(nsp, t, room));
	ack_with(ack, json_pack("[b]", 1));
}

static void on_disconnect_me(sio_socket *sock, const char *event, json_t *args,
                             const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	sio_socket_disconnect(sock, json_is_true(json_array_get(args, 0)));
}

static void on_disconnect_room(sio_socket *sock, const char *event, json_t *args,
                               const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct selection sel;

	report("sio_namespace_disconnect_sockets",
	       sio_namespace_disconnect_sockets(sio_socket_namespace(sock),
	                                        select_room(&sel, arg_string(args, 0)),
	                                        json_is_true(json_array_get(args, 1))));
}

static void on_close_conn(sio_socket *sock, const char *event, json_t *args,
                          const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	sio_eio_close(sio_socket_conn(sock));
}

static void on_all_volatile(sio_socket *sock, const char *event, json_t *args,
                            const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct sio_target t = {.volatile_ = true};

	report("sio_namespace_emit", sio_namespace_emit(sio_socket_namespace(sock), &t, "all-msg",
	                                                one_arg(args, 0), NULL, 0));
	ack_with(ack, NULL);
}

static void on_volatile(sio_socket *sock, const char *event, json_t *args,
                        const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_socket_emit_volatile",
	       sio_socket_emit_volatile(sock, "v", one_arg(args, 0), NULL, 0));
}

/* {name: value or null} for each name of the array `names`. */
static json_t *pick(const json_t *names, const struct sio_request *req,
                    const char *(*get)(const struct sio_request *, const char *))
{
	json_t *out = json_object();

	for (size_t i = 0; i < json_array_size(names); i++) {
		const char *name = json_string_value(json_array_get(names, i));
		const char *value = name ? get(req, name) : NULL;

		if (name)
			json_object_set_new(out, name, value ? json_string(value) : json_null());
	}
	return out;
}

/* One more binary than an emit may carry (the header's "more than 256
 * binaries"). */
#define TOO_MANY_BINS 257

/* "api-errors": the emit calls with bad arguments, each code checked in
 * its order (EINVAL, then ERESERVED, then ETOOBIG). */
static void on_api_errors(sio_socket *sock, const char *event, json_t *args,
                          const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	static const struct sio_binary many[TOO_MANY_BINS];
	const size_t too_many = TOO_MANY_BINS;
	sio_namespace *nsp = sio_socket_namespace(sock);
	json_t *o = json_object();

#define CASE(name, call) json_object_set_new(o, name, json_string(sio_strerror(call)))
	CASE("socket: no event", sio_socket_emit(sock, NULL, NULL, NULL, 0));
	CASE("socket: count without array", sio_socket_emit(sock, "x", NULL, NULL, 1));
	CASE("socket: reserved, count without array",
	     sio_socket_emit(sock, "disconnect", NULL, NULL, 1));
	CASE("socket: reserved, too many", sio_socket_emit(sock, "disconnect", NULL, many, too_many));
	CASE("socket: too many", sio_socket_emit(sock, "x", NULL, many, too_many));
	CASE("namespace: count without array", sio_namespace_emit(nsp, NULL, "x", NULL, NULL, 1));
	CASE("namespace: reserved, too many",
	     sio_namespace_emit(nsp, NULL, "connect", NULL, many, too_many));
	CASE("namespace: too many", sio_namespace_emit(nsp, NULL, "x", NULL, many, too_many));
#undef CASE
	ack_with(ack, json_pack("[o]", o));
}

/* "ack-error" [n]: sio_ack_send() with n attachments and no array (n 0:
 * too many), its code emitted as "ack-error" [text]. */
static void on_ack_error(sio_socket *sock, const char *event, json_t *args,
                         const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	static const struct sio_binary many[TOO_MANY_BINS];
	json_int_t n = json_integer_value(json_array_get(args, 0));
	int rc = n ? sio_ack_send(ack, NULL, NULL, (size_t)n)
	           : sio_ack_send(ack, NULL, many, TOO_MANY_BINS);

	report("sio_socket_emit",
	       sio_socket_emit(sock, "ack-error", json_pack("[s]", sio_strerror(rc)), NULL, 0));
}

/* Acknowledges with sio_server_stats() as {field: number}. */
static void on_stats(sio_socket *sock, const char *event, json_t *args,
                     const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct sio_server_stats st = {.size = sizeof(st)};
	json_t *o = json_object();

	report("sio_server_stats",
	       sio_server_stats(sio_namespace_server(sio_socket_namespace(sock)), &st));
#define STAT(f) json_object_set_new(o, #f, json_integer((json_int_t)st.f))
	STAT(clients);
	STAT(clients_polling);
	STAT(clients_websocket);
	STAT(namespaces);
	STAT(sockets);
	STAT(rooms);
	STAT(queued_bytes);
	STAT(connections);
	STAT(packets_received);
	STAT(packets_sent);
	STAT(bytes_received);
	STAT(bytes_sent);
	STAT(upgrades);
	STAT(queue_full);
	STAT(events_dropped);
	STAT(disconnect_transport_close);
	STAT(disconnect_forced_close);
	STAT(refused_unknown_sid);
	STAT(refused_bad_request);
	STAT(refused_bad_origin);
	STAT(refused_forbidden);
	STAT(refused_invalid_namespace);
	STAT(refused_middleware);
	STAT(refused_unauthorized);
	STAT(recovery_sessions);
	STAT(history_records);
	STAT(history_bytes);
#undef STAT
	uint64_t turns = 0;
	for (int i = 0; i < SIO_STATS_LOOP_BUCKETS; i++)
		turns += st.loop_turns[i];
	json_object_set_new(o, "loop_turns", json_integer((json_int_t)turns));
	ack_with(ack, json_pack("[o]", o));
}

static void on_handshake(sio_socket *sock, const char *event, json_t *args,
                         const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	const struct sio_handshake *hs = sio_socket_handshake(sock);
	const json_t *want = json_array_get(args, 0);

	ack_with(ack,
	         json_pack("[{s:o,s:o,s:s,s:s,s:o,s:b,s:b,s:I,s:s}]", "query",
	                   pick(json_object_get(want, "query"), hs->request, sio_request_query),
	                   "headers",
	                   pick(json_object_get(want, "headers"), hs->request, sio_request_header),
	                   "address", sio_request_address(hs->request), "peer",
	                   sio_request_peer_address(hs->request), "auth", json_deep_copy(hs->auth),
	                   "secure", hs->secure, "xdomain", hs->xdomain, "issued",
	                   (json_int_t)hs->issued, "url", sio_request_url(hs->request)));
}

/* ---- timers and threads ------------------------------------------ */

static struct job *job_create(struct app *app, sio_socket *sock, json_t *payload)
{
	struct job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->app = app;
	job->nsp = sio_socket_namespace(sock);
	job->socket_id = strdup(sio_socket_id(sock));
	job->payload = json_deep_copy(payload);
	if (!job->socket_id || !job->payload) {
		free(job->socket_id);
		json_decref(job->payload);
		free(job);
		return NULL;
	}
	return job;
}

static void job_unlink(struct job *job)
{
	for (struct job **p = &job->app->jobs; *p; p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			return;
		}
	}
}

static void job_free(struct job *job)
{
	free(job->socket_id);
	json_decref(job->payload);
	free(job);
}

static void on_timer(sio_timer *t, void *userdata)
{
	struct job *job = userdata;
	struct selection sel;

	report("sio_namespace_emit",
	       sio_namespace_emit(job->nsp, select_room(&sel, job->socket_id), "timer-done",
	                          json_pack("[O]", job->payload), NULL, 0));
	job_unlink(job);
	job_free(job);
}

static void on_timer_event(sio_socket *sock, const char *event, json_t *args,
                           const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct app *app = ud;
	json_int_t ms = json_integer_value(json_array_get(args, 0));
	struct job *job = job_create(app, sock, arg_or_null(args, 0));

	if (!job)
		return;
	job->timer = sio_timer_start(app->srv, ms > 0 ? (uint32_t)ms : 0, 0, on_timer, job);
	if (!job->timer) {
		fprintf(stderr, "sio_server: sio_timer_start failed\n");
		job_free(job);
		return;
	}
	job->next = app->jobs;
	app->jobs = job;
}

/* On the loop: emits to the socket, if it is still there. */
static void on_thread_call(sio_server *srv, void *userdata)
{
	struct job *job = userdata;
	struct selection sel;
	sio_socket *sock = NULL;

	if (sio_namespace_fetch_sockets(job->nsp, select_room(&sel, job->socket_id), &sock, 1) &&
	    sock)
		report("sio_socket_emit", sio_socket_emit(sock, "from-thread",
		                                          json_pack("[O]", job->payload), NULL, 0));
	json_decref(job->payload);
	job->payload = NULL; /* the job itself is freed after the thread is joined */
}

static void *thread_main(void *arg)
{
	struct job *job = arg;
	struct timespec ts = {0, 10 * 1000 * 1000};
	int rc;

	nanosleep(&ts, NULL);
	rc = sio_server_call(job->app->srv, on_thread_call, job);
	if (rc < 0 && rc != SIO_ECLOSED)
		report("sio_server_call", rc);
	return NULL;
}

static void on_thread_event(sio_socket *sock, const char *event, json_t *args,
                            const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct app *app = ud;
	struct job *job = job_create(app, sock, arg_or_null(args, 0));

	if (!job)
		return;
	if (pthread_create(&job->thread, NULL, thread_main, job) != 0) {
		fprintf(stderr, "sio_server: pthread_create failed\n");
		job_free(job);
		return;
	}
	job->has_thread = true;
	job->next = app->jobs;
	app->jobs = job;
}

static void on_emit_then_stop(sio_socket *sock, const char *event, json_t *args,
                              const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct app *app = ud;
	json_int_t n = json_integer_value(json_array_get(args, 0));
	json_int_t size = json_integer_value(json_array_get(args, 1));
	char *filler;
	int queued = 0;
	int first_err = 0;

	if (n < 0 || n > 100000 || size < 0 || size > 10000000)
		return;
	filler = malloc((size_t)size + 1);
	if (!filler)
		return;
	memset(filler, 'x', (size_t)size);
	filler[size] = '\0';
	for (json_int_t i = 0; i < n; i++) {
		int rc = sio_socket_emit(sock, "burst", json_pack("[I,s]", i, filler), NULL, 0);

		if (rc == 0)
			queued++;
		else if (!first_err)
			first_err = rc;
	}
	free(filler);
	emit("STOPPING %s %d %s", sio_socket_id(sock), queued,
	     first_err ? sio_strerror(first_err) : "none");
	sio_server_stop(app->srv);
}

/* "ticker": one tick (see the header comment); the job's payload is
 * [room, n, ms]. */
static void on_tick(sio_timer *t, void *userdata)
{
	struct job *job = userdata;
	const char *room = json_string_value(json_array_get(job->payload, 0));
	json_int_t n = json_integer_value(json_array_get(job->payload, 1));
	json_int_t i = job->tick++;
	struct selection sel;
	sio_socket *sock = NULL;

	if (i >= n) {
		report("sio_namespace_emit",
		       sio_namespace_emit(job->nsp, select_room(&sel, job->socket_id), "tick-done",
		                          json_pack("[I]", n), NULL, 0));
		sio_timer_stop(t);
		job_unlink(job);
		job_free(job);
		return;
	}
	if (room)
		report("sio_namespace_emit",
		       sio_namespace_emit(job->nsp, select_room(&sel, room), "tick",
		                          json_pack("[I,s]", i, "room"), NULL, 0));
	report("sio_namespace_emit",
	       sio_namespace_emit(job->nsp, select_room(&sel, job->socket_id), "tick",
	                          json_pack("[I,s]", i, "self"), NULL, 0));
	if (sio_namespace_fetch_sockets(job->nsp, select_room(&sel, job->socket_id), &sock, 1) &&
	    sock)
		report("sio_socket_emit",
		       sio_socket_emit(sock, "tick", json_pack("[I,s]", i, "direct"), NULL, 0));
}

static void on_ticker(sio_socket *sock, const char *event, json_t *args,
                      const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct app *app = ud;
	struct job *job = job_create(app, sock, args);
	json_int_t ms = json_integer_value(json_array_get(args, 2));

	if (!job)
		return;
	job->timer = sio_timer_start(app->srv, ms > 0 ? (uint32_t)ms : 10,
	                             ms > 0 ? (uint32_t)ms : 10, on_tick, job);
	if (!job->timer) {
		job_free(job);
		return;
	}
	job->next = app->jobs;
	app->jobs = job;
	ack_with(ack, NULL);
}

static void on_set_data(sio_socket *sock, const char *event, json_t *args,
                        const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_socket_set_json_data",
	       sio_socket_set_json_data(sock, json_deep_copy(arg_or_null(args, 0))));
	ack_with(ack, NULL);
}

static void on_get_data(sio_socket *sock, const char *event, json_t *args,
                        const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	json_t *data = sio_socket_json_data(sock);

	ack_with(ack, json_pack("[O,b]", data ? data : json_null(), sio_socket_recovered(sock)));
}

struct storm_call {
	struct job *job;
	long n;
};

/* On the loop: counts the call, and emits to the socket now and then. */
static void on_storm_call(sio_server *srv, void *userdata)
{
	struct storm_call *c = userdata;
	struct selection sel;
	sio_socket *sock = NULL;

	c->job->storm_ran++;
	if (c->n % 100 == 0 &&
	    sio_namespace_fetch_sockets(c->job->nsp, select_room(&sel, c->job->socket_id), &sock,
	                                1) &&
	    sock)
		report("sio_socket_emit",
		       sio_socket_emit(sock, "storm", json_pack("[I]", (json_int_t)c->n), NULL, 0));
	free(c);
}

static void *storm_main(void *arg)
{
	struct job *job = arg;
	struct timespec ts = {0, 200 * 1000};

	for (;;) {
		struct storm_call *c = malloc(sizeof(*c));
		int rc;

		if (!c)
			break;
		c->job = job;
		c->n = job->storm_accepted;
		rc = sio_server_call(job->app->srv, on_storm_call, c);
		if (rc == 0) {
			job->storm_accepted++;
		} else {
			free(c);
			if (rc == SIO_ECLOSED)
				break;
			report("sio_server_call", rc);
		}
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 100; i++) {
		struct storm_call *c = malloc(sizeof(*c));
		int rc;

		if (!c)
			break;
		c->job = job;
		c->n = -1;
		rc = sio_server_call(job->app->srv, on_storm_call, c);
		if (rc == SIO_ECLOSED)
			job->storm_refused++;
		if (rc < 0)
			free(c);
	}
	return NULL;
}

static void on_call_storm(sio_socket *sock, const char *event, json_t *args,
                          const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	struct app *app = ud;
	struct job *job = job_create(app, sock, json_null());

	if (!job)
		return;
	job->storm = true;
	if (pthread_create(&job->thread, NULL, storm_main, job) != 0) {
		fprintf(stderr, "sio_server: pthread_create failed\n");
		job_free(job);
		return;
	}
	job->has_thread = true;
	job->next = app->jobs;
	app->jobs = job;
}

/* After the loop returned, before sio_server_destroy(): stops the timers
 * that did not fire and joins the threads. */
static void jobs_stop(struct app *app)
{
	for (struct job *job = app->jobs; job; job = job->next) {
		if (job->has_thread)
			pthread_join(job->thread, NULL);
		else
			sio_timer_stop(job->timer);
	}
}

/* After sio_server_destroy(): a call queued by a thread but not run by the
 * time the loop stopped is dropped, its userdata (the job) is ours. */
static void jobs_free(struct app *app)
{
	while (app->jobs) {
		struct job *job = app->jobs;

		app->jobs = job->next;
		if (job->storm)
			emit("STORM %ld %ld %d/100", job->storm_accepted, job->storm_ran,
			     job->storm_refused);
		job_free(job);
	}
}

/* ---- namespaces -------------------------------------------------- */

static void on_any(sio_socket *sock, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *ud)
{
	report("sio_socket_emit",
	       sio_socket_emit(sock, "unknown", json_pack("[s]", event), NULL, 0));
}

static const struct {
	const char *event;
	sio_event_fn fn;
} handlers[] = {
        {"echo", on_echo},
        {"ack", on_ack},
        {"ask", on_ask},
        {"join", on_join},
        {"leave", on_join},
        {"off", on_off},
        {"to-room", on_to_room},
        {"broadcast", on_broadcast},
        {"to-except", on_to_except},
        {"to-rooms", on_to_rooms},
        {"all", on_all},
        {"fetch", on_fetch},
        {"fetch-rooms", on_fetch_rooms},
        {"sockets-join", on_sockets_join},
        {"sockets-leave", on_sockets_join},
        {"disconnect-me", on_disconnect_me},
        {"disconnect-room", on_disconnect_room},
        {"close-conn", on_close_conn},
        {"volatile", on_volatile},
        {"all-volatile", on_all_volatile},
        {"handshake", on_handshake},
        {"stats", on_stats},
        {"api-errors", on_api_errors},
        {"ack-error", on_ack_error},
        {"timer", on_timer_event},
        {"thread", on_thread_event},
        {"emit-then-stop", on_emit_then_stop},
        {"call-storm", on_call_storm},
        {"ticker", on_ticker},
        {"set-data", on_set_data},
        {"get-data", on_get_data},
};

static void on_connection(sio_socket *sock, void *userdata)
{
	char *auth = json_dumps(sio_socket_handshake(sock)->auth, JSON_COMPACT | JSON_ENCODE_ANY);

	emit("CONNECT %s %s %s", sio_namespace_name(sio_socket_namespace(sock)),
	     sio_socket_id(sock), auth ? auth : "?");
	free(auth);
	if (sio_socket_recovered(sock))
		emit("RECOVERED %s %s", sio_namespace_name(sio_socket_namespace(sock)),
		     sio_socket_id(sock));
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		report("sio_socket_on",
		       sio_socket_on(sock, handlers[i].event, handlers[i].fn, userdata));
	report("sio_socket_on_any", sio_socket_on_any(sock, on_any, userdata));
}

/* --disconnect-effects: a late call from the disconnect callback. */
static void on_late_call(sio_server *srv, void *userdata)
{
	emit("LATE-CALL %s", (char *)userdata);
	free(userdata);
}

/* --disconnect-effects: what an application might do when a socket leaves,
 * also while the server shuts down. */
static void disconnect_effects(sio_socket *sock, struct app *app)
{
	sio_namespace *nsp = sio_socket_namespace(sock);
	sio_socket *others[64];
	size_t n = sio_namespace_fetch_sockets(nsp, NULL, others, 64);
	int emitted = sio_namespace_emit(nsp, NULL, "peer-gone",
	                                 json_pack("[s]", sio_socket_id(sock)), NULL, 0);
	int self = sio_socket_emit(sock, "too-late", NULL, NULL, 0);
	int joined = sio_socket_join(sock, "after-disconnect");
	int asked = 0;
	int timer = 0;
	int called;
	struct job *job;
	char *id;

	for (size_t i = 0; i < n && i < 64; i++) {
		char *oid;

		if (others[i] == sock || !(oid = strdup(sio_socket_id(others[i]))))
			continue;
		if (sio_socket_emit_with_ack(others[i], "question", json_pack("[s]", "bye?"), NULL,
		                             0, 0, on_question_answer, oid) == 0)
			asked++;
		else
			free(oid);
	}
	job = job_create(app, sock, json_null());
	if (job) {
		job->timer = sio_timer_start(app->srv, 50, 0, on_timer, job);
		if (job->timer) {
			job->next = app->jobs;
			app->jobs = job;
			timer = 1;
		} else {
			job_free(job);
		}
	}
	id = strdup(sio_socket_id(sock));
	called = id ? sio_server_call(app->srv, on_late_call, id) : SIO_ENOMEM;
	if (called < 0)
		free(id);
	emit("EFFECTS %s emit=%d self=%d join=%d asked=%d timer=%d call=%d", sio_socket_id(sock),
	     emitted, self, joined, asked, timer, called);
}

static void on_disconnecting(sio_socket *sock, const char *reason, void *userdata)
{
	char rooms[4096];
	size_t n = 0;
	const char *room;

	rooms[0] = '\0';
	for (size_t i = 0; sio_socket_room_at(sock, i, &room); i++) {
		int w = snprintf(rooms + n, sizeof(rooms) - n, "%s%s", i ? "," : "", room);

		if (w < 0 || (size_t)w >= sizeof(rooms) - n)
			break;
		n += (size_t)w;
	}
	emit("DISCONNECTING %s %s %s %s", sio_namespace_name(sio_socket_namespace(sock)),
	     sio_socket_id(sock), reason, rooms);
	if (((struct app *)userdata)->disconnect_effects)
		sio_socket_broadcast(sock, NULL, "peer-leaving",
		                     json_pack("[s]", sio_socket_id(sock)), NULL, 0);
}

static void on_disconnect(sio_socket *sock, const char *reason, void *userdata)
{
	emit("DISCONNECT %s %s %s", sio_namespace_name(sio_socket_namespace(sock)),
	     sio_socket_id(sock), reason);
	if (((struct app *)userdata)->disconnect_effects)
		disconnect_effects(sock, userdata);
}

static int middleware(sio_socket *sock, const char **message, json_t **data, void *userdata)
{
	const struct sio_handshake *hs = sio_socket_handshake(sock);
	const json_t *auth = hs->auth;
	const char *token = json_string_value(json_object_get(auth, "token"));
	const struct app *app = userdata;

	if (app->print_middleware)
		emit("MIDDLEWARE %s %s %s %s", sio_namespace_name(sio_socket_namespace(sock)),
		     sio_request_address(hs->request), sio_request_peer_address(hs->request),
		     hs->secure ? "https" : "http");

	if (((struct app *)userdata)->recovery)
		emit("MIDDLEWARE %s %s %d", sio_namespace_name(sio_socket_namespace(sock)),
		     sio_socket_id(sock), sio_socket_recovered(sock));
	if (token && strcmp(token, "bad") == 0) {
		*message = "not authorized";
		*data = json_pack("{s:s}", "reason", "bad token");
		return 1;
	}
	return 0;
}

static bool accept_prefix(const char *name, const json_t *auth, void *userdata)
{
	const struct app *app = userdata;

	return strncmp(name, app->prefix, strlen(app->prefix)) == 0;
}

static int setup_namespace(sio_namespace *nsp, struct app *app)
{
	struct sio_namespace_events ev = {
	        .version = SIO_NAMESPACE_EVENTS_VERSION,
	        .connection = on_connection,
	        .disconnecting = on_disconnecting,
	        .disconnect = on_disconnect,
	};
	int rc;

	if (!nsp)
		return SIO_EINVAL;
	rc = sio_namespace_set_events(nsp, &ev, app);
	if (rc == 0)
		rc = sio_namespace_use(nsp, middleware, app);
	return rc;
}

/* ---- main -------------------------------------------------------- */

static bool parse_ms(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > SIZE_MAX)
		return false;
	*out = (size_t)v;
	return true;
}

static void usage(void)
{
	fputs("usage: sio_server [--connect-timeout MS] [--ping-interval MS] [--ping-timeout MS]\n"
	      "  [--transports polling|websocket|polling,websocket] [--namespace NAME]...\n"
	      "  [--dynamic-pattern GLOB] [--dynamic-prefix PREFIX]\n"
	      "  [--upgrade-timeout MS] [--max-http-buffer-size N] [--max-queue-bytes N]\n"
	      "  [--max-queue-packets N] [--queue-full close|reject] [--headers-timeout MS]\n"
	      "  [--body-timeout MS] [--max-connections-per-ip N] [--max-pending-handshakes N]\n"
	      "  [--max-namespaces N] [--max-rooms N] [--max-pending-acks N]\n"
	      "  [--max-events-per-second N] [--shutdown-timeout MS]\n"
	      "  [--disconnect-effects on|off] [--allow-eio3 on|off]\n"
	      "  [--port N] [--parser json|msgpack]\n"
	      "  [--recovery on|off] [--recovery-duration MS]\n"
	      "  [--recovery-skip-middlewares on|off] [--recovery-history-bytes N]\n"
	      "  [--tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-handshake-timeout MS]]\n",
	      stderr);
}

/* --record-logs on: every log message as a line "LOG <level> <event> <message>". */
static void record_log(int level, const char *event, const char *message, void *userdata)
{
	static const char *const names[] = {"none", "error", "warn", "info", "debug"};

	(void)userdata;
	emit("LOG %s %s %s", level >= 0 && level <= 4 ? names[level] : "?", event, message);
}

/* Splits a comma-separated list into a NULL-terminated array (static: one
 * list per run). */
static const char *const *split_list(const char *val)
{
	static char copy[1024];
	static const char *items[32];
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", val);
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n < 31;
	     t = strtok_r(NULL, ",", &save))
		items[n++] = t;
	items[n] = NULL;
	return items;
}

static bool parse_level(const char *val, int *out)
{
	static const char *const names[] = {"none", "error", "warn", "info", "debug"};

	for (int i = 0; i < 5; i++) {
		if (!strcmp(val, names[i])) {
			*out = i;
			return true;
		}
	}
	return false;
}

struct config {
	const char **namespaces; /* argc entries at most */
	size_t n_namespaces;
	const char *pattern;
	int port; /* --port, 0: any free one */
};

static bool parse_args(int argc, char **argv, struct sio_server_options *opts, struct config *cfg,
                       struct app *app)
{
	cfg->namespaces = calloc((size_t)argc, sizeof(*cfg->namespaces));
	if (!cfg->namespaces)
		return false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[++i] : NULL;
		bool ok = true;

		if (!val)
			ok = false;
		else if (!strcmp(a, "--connect-timeout"))
			ok = parse_ms(val, &opts->connect_timeout);
		else if (!strcmp(a, "--ping-interval"))
			ok = parse_ms(val, &opts->ping_interval);
		else if (!strcmp(a, "--ping-timeout"))
			ok = parse_ms(val, &opts->ping_timeout);
		else if (!strcmp(a, "--transports") && !strcmp(val, "polling"))
			opts->transports = SIO_TRANSPORT_POLLING;
		else if (!strcmp(a, "--transports") && !strcmp(val, "websocket"))
			opts->transports = SIO_TRANSPORT_WEBSOCKET;
		else if (!strcmp(a, "--transports") &&
		         (!strcmp(val, "polling,websocket") || !strcmp(val, "websocket,polling")))
			opts->transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
		else if (!strcmp(a, "--upgrade-timeout"))
			ok = parse_ms(val, &opts->upgrade_timeout);
		else if (!strcmp(a, "--max-http-buffer-size"))
			ok = parse_size(val, &opts->max_http_buffer_size);
		else if (!strcmp(a, "--max-queue-bytes"))
			ok = parse_size(val, &opts->max_queue_bytes);
		else if (!strcmp(a, "--max-queue-packets"))
			ok = parse_size(val, &opts->max_queue_packets);
		else if (!strcmp(a, "--queue-full") && !strcmp(val, "close"))
			opts->queue_full = SIO_QUEUE_FULL_CLOSE;
		else if (!strcmp(a, "--queue-full") && !strcmp(val, "reject"))
			opts->queue_full = SIO_QUEUE_FULL_REJECT;
		else if (!strcmp(a, "--headers-timeout"))
			ok = parse_ms(val, &opts->headers_timeout);
		else if (!strcmp(a, "--body-timeout"))
			ok = parse_ms(val, &opts->body_timeout);
		else if (!strcmp(a, "--max-connections-per-ip"))
			ok = parse_ms(val, &opts->max_connections_per_ip);
		else if (!strcmp(a, "--max-pending-handshakes"))
			ok = parse_ms(val, &opts->max_pending_handshakes);
		else if (!strcmp(a, "--max-namespaces"))
			ok = parse_ms(val, &opts->max_namespaces_per_client);
		else if (!strcmp(a, "--max-rooms"))
			ok = parse_ms(val, &opts->max_rooms_per_socket);
		else if (!strcmp(a, "--max-pending-acks"))
			ok = parse_ms(val, &opts->max_pending_acks);
		else if (!strcmp(a, "--max-events-per-second"))
			ok = parse_ms(val, &opts->max_events_per_second);
		else if (!strcmp(a, "--shutdown-timeout"))
			ok = parse_ms(val, &opts->shutdown_timeout);
		else if (!strcmp(a, "--namespace"))
			cfg->namespaces[cfg->n_namespaces++] = val;
		else if (!strcmp(a, "--dynamic-pattern"))
			cfg->pattern = val;
		else if (!strcmp(a, "--dynamic-prefix"))
			app->prefix = val;
		else if (!strcmp(a, "--cleanup-empty-child-namespaces"))
			opts->cleanup_empty_child_namespaces = !strcmp(val, "on");
		else if (!strcmp(a, "--recovery"))
			app->recovery = opts->connection_state_recovery.enabled =
			        !strcmp(val, "on");
		else if (!strcmp(a, "--recovery-duration"))
			ok = parse_ms(val,
			              &opts->connection_state_recovery.max_disconnection_duration);
		else if (!strcmp(a, "--recovery-skip-middlewares"))
			opts->connection_state_recovery.skip_middlewares = !strcmp(val, "on");
		else if (!strcmp(a, "--recovery-history-bytes"))
			ok = parse_size(val, &opts->connection_state_recovery.max_history_bytes);
		else if (!strcmp(a, "--disconnect-effects"))
			app->disconnect_effects = !strcmp(val, "on");
		else if (!strcmp(a, "--parser") && !strcmp(val, "msgpack"))
			opts->parser = SIO_PARSER_MSGPACK;
		else if (!strcmp(a, "--parser") && !strcmp(val, "json"))
			opts->parser = SIO_PARSER_JSON;
		else if (!strcmp(a, "--port"))
			cfg->port = atoi(val);
		else if (!strcmp(a, "--allow-eio3"))
			opts->allow_eio3 = !strcmp(val, "on");
		else if (!strcmp(a, "--print-middleware"))
			app->print_middleware = !strcmp(val, "on");
		else if (!strcmp(a, "--trust-proxy"))
			opts->trust_proxy = !strcmp(val, "on");
		else if (!strcmp(a, "--trusted-proxies"))
			opts->trusted_proxies = split_list(val);
		else if (!strcmp(a, "--metrics-path"))
			opts->metrics_path = val;
		else if (!strcmp(a, "--metrics-token"))
			opts->metrics_token = val;
		else if (!strcmp(a, "--log-level"))
			ok = parse_level(val, &opts->log_level);
		else if (!strcmp(a, "--tls-cert"))
			opts->tls.cert_file = val;
		else if (!strcmp(a, "--tls-key"))
			opts->tls.key_file = val;
		else if (!strcmp(a, "--tls-ca"))
			opts->tls.ca_file = val;
		else if (!strcmp(a, "--tls-handshake-timeout"))
			ok = parse_ms(val, &opts->tls.handshake_timeout);
		else if (!strcmp(a, "--record-logs") && !strcmp(val, "on"))
			opts->log = record_log;
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "sio_server: bad option %s %s\n", a, val ? val : "");
			return false;
		}
	}
	return true;
}

static int setup_namespaces(struct app *app, const struct config *cfg)
{
	int rc = setup_namespace(sio_server_of(app->srv, "/"), app);

	for (size_t i = 0; rc == 0 && i < cfg->n_namespaces; i++)
		rc = setup_namespace(sio_server_of(app->srv, cfg->namespaces[i]), app);
	if (rc == 0 && cfg->pattern)
		rc = setup_namespace(sio_server_of_pattern(app->srv, cfg->pattern), app);
	if (rc == 0 && app->prefix)
		rc = setup_namespace(sio_server_of_dynamic(app->srv, accept_prefix, app), app);
	return rc;
}

/* SIGHUP: reloads the TLS files, from this thread (SIGHUP is blocked in
 * every other one). A SIGHUP after `reload_stop` ends it. */
static atomic_bool reload_stop;

static void *reload_thread(void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0 || atomic_load(&reload_stop))
			break;
		int rc = sio_server_reload_tls(arg);
		emit("TLS-RELOAD %d", rc);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct config cfg = {0};
	struct app app = {0};
	struct sigaction sa;
	int err = 0;
	int rc;
	int status = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sio_server_options_init(&opts);
	/* the tests stop servers with clients still attached: do not wait long */
	opts.shutdown_timeout = 1000;
	if (!parse_args(argc, argv, &opts, &cfg, &app)) {
		usage();
		free(cfg.namespaces);
		return 2;
	}
	app.srv = sio_server_create(&opts, &err);
	if (!app.srv) {
		report("sio_server_create", err);
		goto out_config;
	}
	rc = setup_namespaces(&app, &cfg);
	if (rc < 0) {
		report("namespaces", rc);
		goto out_server;
	}
	rc = sio_server_listen(app.srv, "127.0.0.1", cfg.port);
	if (rc < 0) {
		report("sio_server_listen", rc);
		goto out_server;
	}

	pthread_t reloader;
	bool has_reloader = false;
	if (opts.tls.cert_file) {
		sigset_t hup;
		sigemptyset(&hup);
		sigaddset(&hup, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &hup, NULL);
		has_reloader = pthread_create(&reloader, NULL, reload_thread, app.srv) == 0;
	}

	g_srv = app.srv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	emit("PORT %d", sio_server_port(app.srv));
	rc = sio_server_run(app.srv);
	if (rc < 0)
		report("sio_server_run", rc);
	else
		status = 0;

	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	g_srv = NULL;
	if (has_reloader) {
		atomic_store(&reload_stop, true);
		pthread_kill(reloader, SIGHUP);
		pthread_join(reloader, NULL);
	}
	jobs_stop(&app);
out_server:
	sio_server_destroy(app.srv);
	jobs_free(&app);
out_config:
	free(cfg.namespaces);
	return status;
}
