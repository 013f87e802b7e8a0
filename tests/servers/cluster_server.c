/*
 * The sioc node of the cluster tests (tests/cluster/CONTROL.md): a server
 * on Redis (sio_server_use_redis()) whose clients drive it with control
 * events. tests/cluster/node_server.cjs is the same node on Node
 * (socket.io 4.8.4 with @socket.io/redis-adapter 8.3.0). Uses only
 * <sioc.h>.
 *
 * Flags: --port N, --redis-port N (required; sioc only: 0 runs without Redis,
 * the in-memory adapter), --key K, --sharded on|off,
 * --subscription-mode dynamic|dynamic-private|static, --specific-response
 * on|off, --requests-timeout MS, --transports polling|websocket|both,
 * --name NAME, --recovery on|off; and, sioc only (tests/cluster/faults.test.mjs), --metrics
 * on (GET /metrics), --max-queued-bytes N and --redis-password P; and
 * --admin off|on|development|production (tests/cluster/admin.test.mjs):
 * sio_admin_instrument() on "/admin" without auth, in that mode (on:
 * development, the reference's default). Prints "PORT <n>" once it
 * listens; SIGTERM / SIGINT stop
 * it, it frees everything and exits 0.
 *
 * Namespaces "/" and "/other"; each control acts on the namespace of the
 * socket that sends it:
 *   join(room), leave(room), set-data(value)           -> true
 *   ctl({op, ...}) -> an object (see CONTROL.md): emit, fetch, sockets-join,
 *   sockets-leave, disconnect, sse, sse-log, count, all-rooms, emit-ack; sioc only,
 *   {op:"flood", count, size, room}: count emits of a size-byte string to
 *   room in one loop turn -> {}.
 * Server-side events are logged per namespace and, when the sender waits
 * for an answer, answered with {node: NAME, args} (binaries as they came).
 * Binaries in the log and in the answers a control returns are written
 * {"$bin":[bytes]}, as node_server.cjs writes Buffers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

static sio_server *g_srv;
static const char *g_name = "node";

struct nsp_state {
	sio_namespace *nsp;
	json_t *sse_log; /* [[event, ...args], ...] */
};

static struct nsp_state g_nsps[2];

/* A control answered later (fetch, sse, count, emit-ack): its ack dies
 * with its socket. */
struct pending {
	sio_ack *ack; /* NULL once the socket left */
	sio_socket *sock;
	struct pending *next;
};

static struct pending *g_pending;

static void on_signal(int sig)
{
	(void)sig;
	if (g_srv)
		sio_server_stop(g_srv);
}

static struct nsp_state *state_of(sio_namespace *nsp)
{
	for (size_t i = 0; i < 2; i++)
		if (g_nsps[i].nsp == nsp)
			return &g_nsps[i];
	return &g_nsps[0];
}

static struct pending *pending_new(sio_socket *s, sio_ack *ack)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		sio_ack_send(ack, NULL, NULL, 0);
		return NULL;
	}
	p->ack = ack;
	p->sock = s;
	p->next = g_pending;
	g_pending = p;
	return p;
}

/* Answers with value (stolen) and forgets p. */
static void pending_answer(struct pending *p, json_t *value)
{
	for (struct pending **pp = &g_pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->ack)
		sio_ack_send(p->ack, json_pack("[o]", value), NULL, 0);
	else
		json_decref(value);
	free(p);
}

static void answer(sio_ack *ack, json_t *value)
{
	if (ack)
		sio_ack_send(ack, json_pack("[o]", value), NULL, 0);
	else
		json_decref(value);
}

/* ---- JSON helpers ------------------------------------------------------------------ */

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The array's elements sorted by their compact JSON text. A new
 * reference. */
static json_t *sorted(const json_t *arr)
{
	size_t n = json_array_size(arr);
	char **texts = calloc(n ? n : 1, sizeof(*texts));
	json_t *out = json_array();
	if (!texts || !out) {
		free(texts);
		return out;
	}
	for (size_t i = 0; i < n; i++)
		texts[i] = json_dumps(json_array_get(arr, i), JSON_COMPACT | JSON_ENCODE_ANY);
	qsort(texts, n, sizeof(*texts), cmp_text);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, texts[i] ? json_loads(texts[i], JSON_DECODE_ANY, NULL)
		                                    : json_null());
		free(texts[i]);
	}
	free(texts);
	return out;
}

/* A copy of v with each binary placeholder for bins[0..nbins) replaced by
 * {"$bin":[bytes]}, as node_server.cjs writes a Buffer (so that answers
 * compare). A new reference. */
static json_t *bins_inline(const json_t *v, const struct sio_binary *bins, size_t nbins)
{
	long k = sio_binary_num(v, nbins);
	if (k >= 0) {
		json_t *bytes = json_array();
		for (size_t i = 0; bytes && i < bins[k].len; i++)
			json_array_append_new(
			        bytes, json_integer(((const unsigned char *)bins[k].data)[i]));
		return json_pack("{s:o*}", "$bin", bytes);
	}
	if (json_is_array(v)) {
		json_t *out = json_array();
		for (size_t i = 0; out && i < json_array_size(v); i++)
			json_array_append_new(out, bins_inline(json_array_get(v, i), bins, nbins));
		return out;
	}
	if (json_is_object(v)) {
		json_t *out = json_object();
		const char *key;
		json_t *m;
		json_object_foreach((json_t *)v, key, m)
		{
			if (out)
				json_object_set_new(out, key, bins_inline(m, bins, nbins));
		}
		return out;
	}
	return json_incref((json_t *)v);
}

/* A NULL-terminated list of the strings of arr (borrowed); NULL when
 * empty. Free the list (not the strings). */
static const char **names(const json_t *arr)
{
	size_t n = json_array_size(arr);
	if (!n)
		return NULL;
	const char **out = calloc(n + 1, sizeof(*out));
	size_t k = 0;
	for (size_t i = 0; out && i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s)
			out[k++] = s;
	}
	return out;
}

struct target {
	struct sio_target t;
	const char **rooms, **except;
};

static void target_read(const json_t *ctl, struct target *tg)
{
	memset(tg, 0, sizeof(*tg));
	tg->rooms = names(json_object_get(ctl, "rooms"));
	tg->except = names(json_object_get(ctl, "except"));
	tg->t.rooms = tg->rooms;
	tg->t.except = tg->except;
}

static void target_finish(struct target *tg)
{
	free(tg->rooms);
	free(tg->except);
}

/* A copy of ctl.args as an array (empty when absent). */
static json_t *args_of(const json_t *ctl)
{
	json_t *args = json_object_get(ctl, "args");
	return json_is_array(args) ? json_deep_copy(args) : json_array();
}

/* ---- asynchronous controls ------------------------------------------------------------ */

static int cmp_by_id(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(json_string_value(json_object_get(x, "id")),
	              json_string_value(json_object_get(y, "id")));
}

static void on_fetched(sio_namespace *nsp, int err, json_t *sockets, void *ud)
{
	(void)nsp;
	if (err) { /* as the reference's rejection */
		pending_answer(ud, json_pack("{s:s}", "err",
		                             err == SIO_ETIMEDOUT ? "timeout" : sio_strerror(err)));
		return;
	}
	size_t n = json_array_size(sockets);
	json_t **items = calloc(n ? n : 1, sizeof(*items));
	json_t *out = json_array();
	for (size_t i = 0; items && i < n; i++) {
		json_t *s = json_array_get(sockets, i);
		items[i] = json_pack("{s:O,s:o,s:O}", "id", json_object_get(s, "id"), "rooms",
		                     sorted(json_object_get(s, "rooms")), "data",
		                     json_object_get(s, "data") ? json_object_get(s, "data")
		                                                : json_null());
	}
	if (items)
		qsort(items, n, sizeof(*items), cmp_by_id);
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(out, items[i]);
	free(items);
	pending_answer(ud, json_pack("{s:o}", "sockets", out));
}

static void on_responses(sio_namespace *nsp, int err, json_t *responses,
                         const struct sio_binary *bins, size_t nbins, void *ud)
{
	(void)nsp;
	json_t *e = err == 0 ? json_null()
	                     : json_string(err == SIO_ETIMEDOUT ? "timeout" : sio_strerror(err));
	json_t *plain = bins_inline(responses, bins, nbins);
	pending_answer(ud, json_pack("{s:o,s:o}", "err", e, "responses", sorted(plain)));
	json_decref(plain);
}

static void on_rooms(sio_namespace *nsp, int err, json_t *rooms, void *ud)
{
	(void)nsp;
	if (err) /* as the reference's rejection */
		pending_answer(ud, json_pack("{s:s}", "err",
		                             err == SIO_ETIMEDOUT ? "timeout" : sio_strerror(err)));
	else
		pending_answer(ud, json_pack("{s:O}", "rooms", rooms));
}

static void on_count(sio_namespace *nsp, int err, size_t count, void *ud)
{
	(void)nsp;
	(void)err;
	pending_answer(ud, json_pack("{s:I}", "count", (json_int_t)count));
}

/* ---- the control event ------------------------------------------------------------------ */

static void on_ctl(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                   size_t nbins, sio_ack *ack, void *ud)
{
	(void)event;
	(void)bins;
	(void)nbins;
	(void)ud;
	json_t *ctl = json_array_get(args, 0);
	const char *op = json_string_value(json_object_get(ctl, "op"));
	sio_namespace *nsp = sio_socket_namespace(s);
	if (!op) {
		answer(ack, json_pack("{s:s}", "error", "no op"));
		return;
	}
	struct target tg;
	target_read(ctl, &tg);
	if (strcmp(op, "emit") == 0) {
		const char *ev = json_string_value(json_object_get(ctl, "event"));
		json_t *a = args_of(ctl);
		static const unsigned char three[] = {1, 2, 3};
		struct sio_binary bin = {three, 3};
		bool with_bin = json_is_true(json_object_get(ctl, "bin"));
		if (with_bin)
			json_array_append_new(a, sio_binary_placeholder(0));
		tg.t.local = json_is_true(json_object_get(ctl, "local"));
		tg.t.volatile_ = json_is_true(json_object_get(ctl, "volatile"));
		if (json_is_true(json_object_get(ctl, "broadcast")))
			sio_socket_broadcast(s, &tg.t, ev ? ev : "", a, with_bin ? &bin : NULL,
			                     with_bin ? 1 : 0);
		else
			sio_namespace_emit(nsp, &tg.t, ev ? ev : "", a, with_bin ? &bin : NULL,
			                   with_bin ? 1 : 0);
		answer(ack, json_object());
	} else if (strcmp(op, "fetch") == 0) {
		struct pending *p = pending_new(s, ack);
		if (p && sio_namespace_fetch_sockets_async(nsp, &tg.t, on_fetched, p) < 0)
			pending_answer(p, json_pack("{s:s}", "error", "fetch"));
	} else if (strcmp(op, "sockets-join") == 0 || strcmp(op, "sockets-leave") == 0) {
		const char *room = json_string_value(json_object_get(ctl, "room"));
		if (room) {
			if (op[8] == 'j')
				sio_namespace_sockets_join(nsp, &tg.t, room);
			else
				sio_namespace_sockets_leave(nsp, &tg.t, room);
		}
		answer(ack, json_object());
	} else if (strcmp(op, "disconnect") == 0) {
		sio_namespace_disconnect_sockets(nsp, &tg.t,
		                                 json_is_true(json_object_get(ctl, "close")));
		answer(ack, json_object());
	} else if (strcmp(op, "sse") == 0) {
		const char *ev = json_string_value(json_object_get(ctl, "event"));
		json_t *a = args_of(ctl);
		static const unsigned char three[] = {1, 2, 3};
		struct sio_binary bin = {three, 3};
		size_t nb = json_is_true(json_object_get(ctl, "bin")) ? 1 : 0;
		if (nb)
			json_array_append_new(a, sio_binary_placeholder(0));
		if (!json_is_true(json_object_get(ctl, "ack"))) {
			sio_namespace_server_side_emit(nsp, ev ? ev : "", a, &bin, nb);
			answer(ack, json_object());
		} else {
			json_t *to = json_object_get(ctl, "timeout");
			uint32_t ms = json_is_integer(to) ? (uint32_t)json_integer_value(to) : 0;
			struct pending *p = pending_new(s, ack);
			if (p && sio_namespace_server_side_emit_with_ack(
			                 nsp, ev ? ev : "", a, &bin, nb, ms, on_responses, p) < 0)
				pending_answer(p, json_pack("{s:s}", "error", "sse"));
			else if (!p)
				json_decref(a);
		}
	} else if (strcmp(op, "sse-log") == 0) {
		answer(ack, json_pack("{s:O}", "events", state_of(nsp)->sse_log));
	} else if (strcmp(op, "all-rooms") == 0) {
		struct pending *p = pending_new(s, ack);
		int r = p ? sio_namespace_all_rooms_async(nsp, on_rooms, p) : 0;
		if (r < 0) /* the sharded adapter: no allRooms(), as the reference's */
			pending_answer(p, json_pack("{s:s}", "err",
			                            r == SIO_ESTATE ? "unsupported" : "all-rooms"));
	} else if (strcmp(op, "count") == 0) {
		struct pending *p = pending_new(s, ack);
		if (p && sio_namespace_server_count(nsp, on_count, p) < 0)
			pending_answer(p, json_pack("{s:s}", "error", "count"));
	} else if (strcmp(op, "flood") == 0) {
		/* sioc only (faults.test.mjs): count emits of size bytes to room,
		 * in this one loop turn */
		json_t *cnt = json_object_get(ctl, "count"), *size = json_object_get(ctl, "size");
		const char *room = json_string_value(json_object_get(ctl, "room"));
		size_t n = json_is_integer(cnt) ? (size_t)json_integer_value(cnt) : 0;
		size_t sz = json_is_integer(size) ? (size_t)json_integer_value(size) : 0;
		char *pad = malloc(sz + 1);
		if (pad) {
			memset(pad, 'x', sz);
			pad[sz] = '\0';
		}
		const char *to[] = {room ? room : "flood", NULL};
		struct sio_target ft = {.rooms = to};
		for (size_t i = 0; pad && i < n; i++)
			sio_namespace_emit(nsp, &ft, "flood", json_pack("[s]", pad), NULL, 0);
		free(pad);
		answer(ack, json_object());
	} else if (strcmp(op, "emit-ack") == 0) {
		const char *ev = json_string_value(json_object_get(ctl, "event"));
		json_t *to = json_object_get(ctl, "timeout");
		uint32_t ms = json_is_integer(to) ? (uint32_t)json_integer_value(to) : 5000;
		struct pending *p = pending_new(s, ack);
		if (p && sio_namespace_emit_with_ack(nsp, &tg.t, ev ? ev : "", args_of(ctl), NULL,
		                                     0, ms ? ms : 1, on_responses, p) < 0)
			pending_answer(p, json_pack("{s:s}", "error", "emit-ack"));
	} else {
		answer(ack, json_pack("{s:s}", "error", "unknown op"));
	}
	target_finish(&tg);
}

static void on_join(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                    size_t nbins, sio_ack *ack, void *ud)
{
	(void)bins;
	(void)nbins;
	(void)ud;
	const char *room = json_string_value(json_array_get(args, 0));
	if (room) {
		if (strcmp(event, "join") == 0)
			sio_socket_join(s, room);
		else
			sio_socket_leave(s, room);
	}
	answer(ack, json_true());
}

static void on_set_data(sio_socket *s, const char *event, json_t *args,
                        const struct sio_binary *bins, size_t nbins, sio_ack *ack, void *ud)
{
	(void)event;
	(void)bins;
	(void)nbins;
	(void)ud;
	json_t *v = json_array_get(args, 0);
	sio_socket_set_json_data(s, v ? json_deep_copy(v) : json_null());
	answer(ack, json_true());
}

static void on_connection(sio_socket *s, void *ud)
{
	(void)ud;
	sio_socket_on(s, "join", on_join, NULL);
	sio_socket_on(s, "leave", on_join, NULL);
	sio_socket_on(s, "set-data", on_set_data, NULL);
	sio_socket_on(s, "ctl", on_ctl, NULL);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
	(void)reason;
	(void)ud;
	for (struct pending *p = g_pending; p; p = p->next)
		if (p->sock == s)
			p->ack = NULL; /* freed with the socket */
}

static void on_server_event(sio_namespace *nsp, const char *event, json_t *args,
                            const struct sio_binary *bins, size_t nbins, sio_server_ack *ack,
                            void *ud)
{
	(void)ud;
	json_t *entry = json_pack("[s]", event);
	json_t *plain = bins_inline(args, bins, nbins);
	json_array_extend(entry, plain);
	json_decref(plain);
	json_array_append_new(state_of(nsp)->sse_log, entry);
	/* the answer holds the arguments as they came, binaries too */
	if (ack)
		sio_server_ack_reply(ack, json_pack("{s:s,s:O}", "node", g_name, "args", args),
		                     bins, nbins);
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: cluster_server --redis-port N [--port N] [--key K] [--sharded on|off]"
	        " [--subscription-mode M] [--specific-response on|off]"
	        " [--requests-timeout MS] [--transports polling|websocket|both]"
	        " [--name NAME] [--recovery on|off] [--admin off|on|development|production]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	sio_server_options_init(&opts);
	struct sio_redis_options ro;
	sio_redis_options_init(&ro);
	ro.port = -1;
	int port = 0;
	int admin = -1; /* -1: off, else an enum sio_admin_mode */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--redis-port") == 0)
			ro.port = atoi(v);
		else if (strcmp(a, "--key") == 0)
			ro.key = v;
		else if (strcmp(a, "--sharded") == 0)
			ro.sharded = strcmp(v, "on") == 0;
		else if (strcmp(a, "--subscription-mode") == 0)
			ro.subscription_mode = strcmp(v, "static") == 0 ? SIO_REDIS_STATIC
			                       : strcmp(v, "dynamic-private") == 0
			                               ? SIO_REDIS_DYNAMIC_PRIVATE
			                               : SIO_REDIS_DYNAMIC;
		else if (strcmp(a, "--specific-response") == 0)
			ro.publish_on_specific_response_channel = strcmp(v, "on") == 0;
		else if (strcmp(a, "--requests-timeout") == 0)
			ro.requests_timeout = (uint32_t)atoi(v);
		else if (strcmp(a, "--transports") == 0)
			opts.transports = strcmp(v, "polling") == 0 ? SIO_TRANSPORT_POLLING
			                  : strcmp(v, "websocket") == 0
			                          ? SIO_TRANSPORT_WEBSOCKET
			                          : SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
		else if (strcmp(a, "--name") == 0)
			g_name = v;
		else if (strcmp(a, "--recovery") == 0)
			opts.connection_state_recovery.enabled = strcmp(v, "on") == 0;
		else if (strcmp(a, "--metrics") == 0) /* sioc only: GET /metrics */
			opts.metrics_path = strcmp(v, "on") == 0 ? "/metrics" : NULL;
		else if (strcmp(a, "--max-queued-bytes") == 0) /* sioc only */
			ro.max_queued_bytes = (size_t)atoll(v);
		else if (strcmp(a, "--redis-password") == 0) /* sioc only */
			ro.password = v;
		else if (strcmp(a, "--admin") == 0 && strcmp(v, "off") == 0)
			admin = -1;
		else if (strcmp(a, "--admin") == 0 &&
		         (strcmp(v, "on") == 0 || strcmp(v, "development") == 0))
			admin = SIO_ADMIN_DEVELOPMENT;
		else if (strcmp(a, "--admin") == 0 && strcmp(v, "production") == 0)
			admin = SIO_ADMIN_PRODUCTION;
		else
			return usage();
	}
	if (ro.port < 0)
		return usage();
	opts.log_level = SIO_LOG_INFO;
	int err;
	g_srv = sio_server_create(&opts, &err);
	if (!g_srv) {
		fprintf(stderr, "cluster_server: %s\n", sio_strerror(err));
		return 1;
	}
	int rc = ro.port ? sio_server_use_redis(g_srv, &ro) : 0; /* 0: no Redis (sioc only) */
	if (rc < 0) {
		fprintf(stderr, "cluster_server: sio_server_use_redis: %s\n", sio_strerror(rc));
		sio_server_destroy(g_srv);
		return 1;
	}
	struct sio_namespace_events ev = {SIO_NAMESPACE_EVENTS_VERSION, .connection = on_connection,
	                                  .disconnect = on_disconnect};
	const char *names_[2] = {"/", "/other"};
	for (size_t i = 0; i < 2; i++) {
		g_nsps[i].nsp = sio_server_of(g_srv, names_[i]);
		g_nsps[i].sse_log = json_array();
		sio_namespace_set_events(g_nsps[i].nsp, &ev, NULL);
		sio_namespace_on_server_event(g_nsps[i].nsp, on_server_event, NULL);
	}
	if (admin >= 0) {
		struct sio_admin_options ao;
		sio_admin_options_init(&ao);
		ao.mode = (enum sio_admin_mode)admin;
		rc = sio_admin_instrument(g_srv, &ao);
		if (rc < 0) {
			fprintf(stderr, "cluster_server: sio_admin_instrument: %s\n",
			        sio_strerror(rc));
			sio_server_destroy(g_srv);
			return 1;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = sio_server_listen(g_srv, "127.0.0.1", port);
	if (rc < 0) {
		fprintf(stderr, "cluster_server: listen: %s\n", sio_strerror(rc));
		sio_server_destroy(g_srv);
		return 1;
	}
	printf("PORT %d\n", sio_server_port(g_srv));
	fflush(stdout);
	sio_server_run(g_srv);
	sio_server_destroy(g_srv);
	while (g_pending) {
		struct pending *p = g_pending;
		g_pending = p->next;
		free(p);
	}
	for (size_t i = 0; i < 2; i++)
		json_decref(g_nsps[i].sse_log);
	return 0;
}
