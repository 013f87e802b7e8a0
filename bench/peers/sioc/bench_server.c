/*
 * bench_server: the sioc peer of the benchmarks, serving the bench
 * protocol (bench/PROTOCOL.md) through the public API only.
 * bench/peers/node/server.js is the same server on the reference; keep the
 * two in step.
 *
 *   bench_server [--port N] [--parser msgpack] [--recovery on|off]
 *                [--admin production|development] [--stats-every MS]
 *                [--redis-port N]
 *                [--tls-cert FILE --tls-key FILE]
 *
 * --port 0 picks a free port; it prints "PORT <n>". --parser msgpack
 * speaks socket.io-msgpack-parser 3.x (SIO_PARSER_MSGPACK) instead of the
 * default parser. --recovery on turns connection state recovery on (the
 * defaults: 120 s, 32 MiB of history). --admin attaches the admin
 * namespace (sio_admin_instrument(), "/admin", in that mode) with the
 * login "bench" / "bench" (a cost-4 bcrypt hash: the dashboard's one login
 * stays cheap). --stats-every MS prints a line every MS ms on stderr:
 * "STATS <t_ms> rss_kb=.. sockets=.. queued_bytes=.. recovery_sessions=..
 * history_records=.. history_bytes=.." (from sio_server_stats(); t_ms
 * since the start). --redis-port N makes it a node of a cluster on the
 * redis-server at 127.0.0.1:N (sio_server_use_redis(), the classic
 * adapter with its defaults), as the Node peer's --redis-port.
 * --tls-cert and --tls-key: TLS in the process (opts.tls).
 *
 * SIGINT or SIGTERM stops it cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sioc.h>

static sio_server *g_srv; /* for the signal handler only */

/*
 * A running "bcast": `burst` emits to `room` every `period_ms`, `ticks`
 * times, then the ack gets [count]. It is the socket's data, so it goes
 * (timer stopped) when the socket does.
 */
struct bcast {
	sio_socket *sock;
	sio_ack *ack;
	sio_timer *timer;
	char *room;
	json_t *payload;  /* the string sent in every emit */
	double start_ms;  /* CLOCK_MONOTONIC */
	double period_ms; /* between two bursts */
	long burst;       /* emits per tick */
	long ticks;       /* bursts in the run */
	long done;        /* bursts emitted */
	long count;       /* emits done */
	bool numbered;    /* each emit carries its index after t_us */
};

/* The command line. */
struct cli {
	int port;
	enum sio_parser parser;
	bool recovery;
	bool admin;
	enum sio_admin_mode admin_mode;
	long stats_every_ms; /* 0: no STATS lines */
	int redis_port;      /* 0: no Redis */
	const char *tls_cert, *tls_key; /* opts.tls's files, NULL: plain */
};

/* The login of the admin namespace: "bench", bcrypt cost 4. */
#define ADMIN_USER "bench"
#define ADMIN_HASH "$2b$04$OLcrlXlCxWlqr07gP2wbzevRRWVSyZb70DQ/kZ6AqPloKQYigmu5i"

static double g_start_ms; /* CLOCK_MONOTONIC at start, for STATS lines */

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_int_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (json_int_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* VmRSS of this process in KiB (the number the harness reads), -1 if unknown. */
static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void on_signal(int sig)
{
	sio_server_stop(g_srv);
}

static void bcast_free(void *data)
{
	struct bcast *b = data;

	sio_timer_stop(b->timer);
	json_decref(b->payload);
	free(b->room);
	free(b);
}

/*
 * Emits the bursts due by now. A tick that comes late (a busy loop delays
 * timers) catches up on the bursts it missed: the rate over the run is the
 * one asked for, as in the Node peer.
 */
static void on_bcast_tick(sio_timer *t, void *userdata)
{
	struct bcast *b = userdata;
	sio_namespace *nsp = sio_socket_namespace(b->sock);
	const char *rooms[] = {b->room, NULL};
	struct sio_target to = {.rooms = rooms};
	long due = (long)((monotonic_ms() - b->start_ms) / b->period_ms);

	if (due > b->ticks)
		due = b->ticks;
	for (; b->done < due; b->done++) {
		for (long i = 0; i < b->burst; i++) {
			/* "O" adds a reference: the payload is shared by every emit */
			json_t *args = b->numbered ? json_pack("[OII]", b->payload, realtime_us(),
			                                       (json_int_t)b->count)
			                           : json_pack("[OI]", b->payload, realtime_us());
			sio_namespace_emit(nsp, &to, "b", args, NULL, 0);
			b->count++;
		}
	}
	if (b->done >= b->ticks) {
		sio_ack *ack = b->ack;
		json_int_t count = b->count;

		sio_socket_set_data(b->sock, NULL, NULL); /* frees b, stops t */
		if (ack)
			sio_ack_send(ack, json_pack("[I]", count), NULL, 0);
	}
}

/* "bcast" [room, rate, burst, seconds, payload_bytes(, numbered)]: see
 * bench/PROTOCOL.md. */
static void on_bcast(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                     size_t nbins, sio_ack *ack, void *userdata)
{
	const char *room = json_string_value(json_array_get(args, 0));
	double rate = json_number_value(json_array_get(args, 1));
	double burst = json_number_value(json_array_get(args, 2));
	double seconds = json_number_value(json_array_get(args, 3));
	double bytes = json_number_value(json_array_get(args, 4));
	struct bcast *b = NULL;
	char *payload = NULL;
	uint32_t period;

	if (!room || !(rate > 0) || !(burst >= 1) || !(seconds > 0) || !(bytes >= 0) ||
	    bytes > 1e6 || sio_socket_data(s))
		goto refuse;
	b = calloc(1, sizeof(*b));
	payload = malloc((size_t)bytes + 1);
	if (!b || !payload)
		goto refuse;
	memset(payload, 'x', (size_t)bytes);
	payload[(size_t)bytes] = '\0';
	b->sock = s;
	b->room = strdup(room);
	b->payload = json_string(payload);
	b->burst = (long)burst;
	b->numbered = json_is_true(json_array_get(args, 5));
	b->period_ms = 1000.0 * (double)b->burst / rate;
	b->ticks = (long)(seconds * rate / (double)b->burst + 0.5);
	if (b->ticks < 1)
		b->ticks = 1;
	b->start_ms = monotonic_ms();
	if (!b->room || !b->payload)
		goto refuse;
	period = b->period_ms < 1 ? 1 : (uint32_t)b->period_ms;
	b->timer = sio_timer_start(sio_namespace_server(sio_socket_namespace(s)), period, period,
	                           on_bcast_tick, b);
	if (!b->timer)
		goto refuse;
	b->ack = ack;
	sio_socket_set_data(s, b, bcast_free);
	free(payload);
	return;

refuse:
	if (b) {
		json_decref(b->payload);
		free(b->room);
		free(b);
	}
	free(payload);
	if (ack)
		sio_ack_send(ack, json_pack("[b]", false), NULL, 0);
}

/* "echo" args...: acked with the same args when the client asks for an ack,
 * emitted back as "echo" otherwise. */
static void on_echo(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	/* args is borrowed: the calls steal the reference json_incref adds */
	if (ack)
		sio_ack_send(ack, json_incref(args), bins, nbins);
	else
		sio_socket_emit(s, "echo", json_incref(args), bins, nbins);
}

/* "join" [room]: acked with [true] once joined. */
static void on_join(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *userdata)
{
	const char *room = json_string_value(json_array_get(args, 0));
	bool joined = room && sio_socket_join(s, room) == 0;

	if (ack)
		sio_ack_send(ack, json_pack("[b]", joined), NULL, 0);
}

/* "stats" []: acked with [{"rss_kb": N, "clients": N}]. */
static void on_stats(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                     size_t nbins, sio_ack *ack, void *userdata)
{
	sio_server *srv = sio_namespace_server(sio_socket_namespace(s));

	if (ack)
		sio_ack_send(ack,
		             json_pack("[{sIsI}]", "rss_kb", (json_int_t)rss_kb(), "clients",
		                       (json_int_t)sio_server_clients_count(srv)),
		             NULL, 0);
}

/* Disconnects the clients did not ask for go to stderr ("DISCONNECT t_us id
 * reason"): how the harness sees a slow consumer cut off. */
static void on_disconnect(sio_socket *s, const char *reason, void *userdata)
{
	if (strcmp(reason, "client namespace disconnect") != 0 &&
	    strcmp(reason, "transport close") != 0 && strcmp(reason, "server shutting down") != 0)
		fprintf(stderr, "DISCONNECT %lld %s %s\n", (long long)realtime_us(),
		        sio_socket_id(s), reason);
}

static void on_connection(sio_socket *s, void *userdata)
{
	sio_socket_on(s, "echo", on_echo, NULL);
	sio_socket_on(s, "join", on_join, NULL);
	sio_socket_on(s, "bcast", on_bcast, NULL);
	sio_socket_on(s, "stats", on_stats, NULL);
}

/* "STATS ..." on stderr (see the header comment). */
static void on_stats_timer(sio_timer *t, void *userdata)
{
	struct sio_server_stats st = {.size = sizeof(st)};

	sio_server_stats(g_srv, &st);
	fprintf(stderr,
	        "STATS %.0f rss_kb=%ld sockets=%llu queued_bytes=%llu recovery_sessions=%llu "
	        "history_records=%llu history_bytes=%llu\n",
	        monotonic_ms() - g_start_ms, rss_kb(), (unsigned long long)st.sockets,
	        (unsigned long long)st.queued_bytes,
	        (unsigned long long)st.recovery_sessions, (unsigned long long)st.history_records,
	        (unsigned long long)st.history_bytes);
}

/* A whole decimal number in [lo, hi] into *out; false otherwise. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno && *out >= lo && *out <= hi;
}

/* Reads the command line into *cli; false on a usage error. */
static bool parse_args(int argc, char **argv, struct cli *cli)
{
	*cli = (struct cli){.parser = SIO_PARSER_JSON};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!v)
			return false;
		if (strcmp(a, "--port") == 0 && parse_long(v, 0, 65535, &n))
			cli->port = (int)n;
		else if (strcmp(a, "--parser") == 0 && strcmp(v, "msgpack") == 0)
			cli->parser = SIO_PARSER_MSGPACK;
		else if (strcmp(a, "--recovery") == 0 && (!strcmp(v, "on") || !strcmp(v, "off")))
			cli->recovery = strcmp(v, "on") == 0;
		else if (strcmp(a, "--admin") == 0 && strcmp(v, "production") == 0)
			cli->admin = true, cli->admin_mode = SIO_ADMIN_PRODUCTION;
		else if (strcmp(a, "--admin") == 0 && strcmp(v, "development") == 0)
			cli->admin = true, cli->admin_mode = SIO_ADMIN_DEVELOPMENT;
		else if (strcmp(a, "--stats-every") == 0 && parse_long(v, 1, 3600000, &n))
			cli->stats_every_ms = n;
		else if (strcmp(a, "--redis-port") == 0 && parse_long(v, 1, 65535, &n))
			cli->redis_port = (int)n;
		else if (strcmp(a, "--tls-cert") == 0)
			cli->tls_cert = v;
		else if (strcmp(a, "--tls-key") == 0)
			cli->tls_key = v;
		else
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct sio_namespace_events events = {
	        .version = SIO_NAMESPACE_EVENTS_VERSION,
	        .connection = on_connection,
	        .disconnect = on_disconnect,
	};
	struct sigaction sa = {.sa_handler = on_signal};
	struct cli cli;
	int err = 0;

	if (!parse_args(argc, argv, &cli)) {
		fprintf(stderr,
		        "usage: %s [--port N] [--parser msgpack] [--recovery on|off]\n"
		        "       [--admin production|development] [--stats-every MS]\n"
		        "       [--redis-port N] [--tls-cert FILE --tls-key FILE]\n",
		        argv[0]);
		return 2;
	}
	g_start_ms = monotonic_ms();
	/* The Node peer's settings (per-message deflate and HTTP compression
	 * are not in sioc, so off as there). */
	sio_server_options_init(&opts);
	opts.transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
	opts.ping_interval = 25000;
	opts.ping_timeout = 20000;
	opts.max_http_buffer_size = 1000000;
	opts.serve_client = false;
	opts.parser = cli.parser;
	opts.connection_state_recovery.enabled = cli.recovery;
	opts.tls.cert_file = cli.tls_cert;
	opts.tls.key_file = cli.tls_key;
	/* The reference has no caps on connections per address or pending
	 * handshakes, and the load generator opens thousands of connections
	 * from a few addresses at once. The other caps never bind here. */
	opts.max_connections_per_ip = 0;
	opts.max_pending_handshakes = 0;

	g_srv = sio_server_create(&opts, &err);
	if (!g_srv) {
		fprintf(stderr, "bench_server: %s\n", sio_strerror(err));
		return 1;
	}
	err = sio_namespace_set_events(sio_server_of(g_srv, "/"), &events, NULL);
	if (err == 0 && cli.redis_port) {
		struct sio_redis_options redis;

		sio_redis_options_init(&redis);
		redis.port = cli.redis_port;
		err = sio_server_use_redis(g_srv, &redis);
	}
	if (err == 0 && cli.admin) {
		struct sio_admin_options admin;

		sio_admin_options_init(&admin);
		admin.username = ADMIN_USER;
		admin.password_hash = ADMIN_HASH;
		admin.mode = cli.admin_mode;
		err = sio_admin_instrument(g_srv, &admin);
	}
	if (err == 0 && cli.stats_every_ms &&
	    !sio_timer_start(g_srv, (uint32_t)cli.stats_every_ms, (uint32_t)cli.stats_every_ms,
	                     on_stats_timer, NULL))
		err = SIO_ENOMEM;
	if (err == 0)
		err = sio_server_listen(g_srv, "127.0.0.1", cli.port);
	if (err < 0) {
		fprintf(stderr, "bench_server: port %d: %s\n", cli.port, sio_strerror(err));
		sio_server_destroy(g_srv);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("PORT %d\n", sio_server_port(g_srv));
	fflush(stdout);
	err = sio_server_run(g_srv);
	sio_server_destroy(g_srv);
	return err < 0;
}
