/*
 * Engine.IO test server for the integration tests (tests/integration/).
 * Uses only the public API <sioc.h>.
 *
 * Listens on 127.0.0.1, port chosen by the system, and prints on stdout
 * (flushed line by line):
 *   PORT <n>
 *   CONNECTION <sid> <polling|websocket>
 *   UPGRADE <sid>
 *   CLOSE <sid> <reason>
 *   FLOOD <sid> <messages queued> <first error name or none>
 *
 * Every message is echoed back (text as text, binary as binary), except
 * these text messages:
 *   "close"    closes the session (sio_eio_close)
 *   "flood N"  queues the text messages "f0".."f<N-1>" in one go, then
 *              "flood-result <queued> <first error name or none>" if it can
 *   "count"    answers "count <open sessions>"
 *   "request"  answers a JSON object with the handshake request's EIO and
 *              transport query parameters and its user-agent header
 *
 * SIGTERM / SIGINT stop the server; it then frees everything and exits 0.
 * tests/servers/eio_server_ref.cjs is the same server on the reference
 * engine.io, for differential testing.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#define FLOOD_MAX 1000000

struct header_pair {
	char *name;
	char *value;
};

struct config {
	const char **cors_origins; /* NULL-terminated */
	size_t n_cors;
	const char *forbid_query; /* refuse handshakes having this query parameter */
	struct header_pair *initial_headers;
	size_t n_initial_headers;
	const char *host; /* listen address, 127.0.0.1 by default */
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

static const char *error_name(int err)
{
	switch (err) {
	case SIO_OK:
		return "none";
	case SIO_EINVAL:
		return "EINVAL";
	case SIO_ENOMEM:
		return "ENOMEM";
	case SIO_ECLOSED:
		return "ECLOSED";
	case SIO_EFULL:
		return "EFULL";
	case SIO_ELISTEN:
		return "ELISTEN";
	case SIO_ESTATE:
		return "ESTATE";
	case SIO_EEVLIB:
		return "EEVLIB";
	case SIO_ETOOBIG:
		return "ETOOBIG";
	default:
		return "EUNKNOWN";
	}
}

static void on_signal(int sig)
{
	(void)sig;
	if (g_srv)
		sio_server_stop(g_srv);
}

static int send_text(sio_eio_socket *sock, const char *text)
{
	return sio_eio_send(sock, text, strlen(text), false);
}

static bool text_is(const void *data, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(data, word, len) == 0;
}

/* Appends `s` to `out` (capacity cap, used *n) as a JSON string, or null
 * when s is NULL. Returns false when it does not fit. */
static bool json_append_string(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		if (cap - *n < 5)
			return false;
		memcpy(out + *n, "null", 4);
		*n += 4;
		return true;
	}
	if (cap - *n < 2)
		return false;
	out[(*n)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (cap - *n < 8)
			return false;
		if (*p == '"' || *p == '\\') {
			out[(*n)++] = '\\';
			out[(*n)++] = (char)*p;
		} else if (*p < 0x20) {
			out[(*n)++] = '\\';
			out[(*n)++] = 'u';
			out[(*n)++] = '0';
			out[(*n)++] = '0';
			out[(*n)++] = hex[*p >> 4];
			out[(*n)++] = hex[*p & 0xf];
		} else {
			out[(*n)++] = (char)*p;
		}
	}
	out[(*n)++] = '"';
	return true;
}

static bool json_append_raw(char *out, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (cap - *n < len + 1)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

static void reply_request(sio_eio_socket *sock)
{
	const struct sio_request *req = sio_eio_request(sock);
	char buf[4096];
	size_t n = 0;
	bool ok = json_append_raw(buf, sizeof(buf), &n, "{\"EIO\":") &&
		  json_append_string(buf, sizeof(buf), &n, sio_request_query(req, "EIO")) &&
		  json_append_raw(buf, sizeof(buf), &n, ",\"transport\":") &&
		  json_append_string(buf, sizeof(buf), &n, sio_request_query(req, "transport")) &&
		  json_append_raw(buf, sizeof(buf), &n, ",\"user-agent\":") &&
		  json_append_string(buf, sizeof(buf), &n, sio_request_header(req, "user-agent")) &&
		  json_append_raw(buf, sizeof(buf), &n, ",\"address\":") &&
		  json_append_string(buf, sizeof(buf), &n, sio_request_address(req)) &&
		  json_append_raw(buf, sizeof(buf), &n, "}");

	if (!ok) {
		send_text(sock, "request: too long");
		return;
	}
	sio_eio_send(sock, buf, n, false);
}

/* "flood N": queues N messages at once; stops at the first error. */
static void flood(sio_eio_socket *sock, const char *data, size_t len)
{
	char num[16];
	char msg[64];
	size_t digits = len - 6;
	unsigned long count;
	unsigned long sent = 0;
	int first_err = SIO_OK;

	if (digits == 0 || digits >= sizeof(num)) {
		send_text(sock, "flood: bad count");
		return;
	}
	memcpy(num, data + 6, digits);
	num[digits] = '\0';
	if (strspn(num, "0123456789") != digits) {
		send_text(sock, "flood: bad count");
		return;
	}
	count = strtoul(num, NULL, 10);
	if (count > FLOOD_MAX)
		count = FLOOD_MAX;
	for (unsigned long i = 0; i < count; i++) {
		int n = snprintf(msg, sizeof(msg), "f%lu", i);
		int rc = sio_eio_send(sock, msg, (size_t)n, false);

		if (rc < 0) {
			first_err = rc;
			break;
		}
		sent++;
	}
	emit("FLOOD %s %lu %s", sio_eio_id(sock), sent, error_name(first_err));
	snprintf(msg, sizeof(msg), "flood-result %lu %s", sent, error_name(first_err));
	send_text(sock, msg);
}

static void on_connection(sio_eio_socket *sock, void *userdata)
{
	(void)userdata;
	emit("CONNECTION %s %s", sio_eio_id(sock),
	    sio_eio_transport(sock) == SIO_TRANSPORT_WEBSOCKET ? "websocket" : "polling");
}

static void on_message(sio_eio_socket *sock, const void *data, size_t len, bool binary,
		       void *userdata)
{
	(void)userdata;
	if (binary) {
		sio_eio_send(sock, data, len, true);
		return;
	}
	if (text_is(data, len, "close")) {
		sio_eio_close(sock);
	} else if (len > 6 && memcmp(data, "flood ", 6) == 0) {
		flood(sock, (const char *)data, len);
	} else if (text_is(data, len, "count")) {
		char msg[64];

		snprintf(msg, sizeof(msg), "count %zu", sio_server_clients_count(sio_eio_server(sock)));
		send_text(sock, msg);
	} else if (text_is(data, len, "request")) {
		reply_request(sock);
	} else {
		sio_eio_send(sock, data, len, false);
	}
}

static void on_close(sio_eio_socket *sock, const char *reason, void *userdata)
{
	(void)userdata;
	emit("CLOSE %s %s", sio_eio_id(sock), reason);
}

static void on_upgrade(sio_eio_socket *sock, void *userdata)
{
	(void)userdata;
	emit("UPGRADE %s", sio_eio_id(sock));
}

static bool allow_request(const struct sio_request *req, const char **message, void *userdata)
{
	const struct config *cfg = userdata;

	if (cfg->forbid_query && sio_request_query(req, cfg->forbid_query)) {
		*message = "forbidden by test";
		return false;
	}
	return true;
}

static void initial_headers(const struct sio_request *req, struct sio_headers *headers,
			    void *userdata)
{
	const struct config *cfg = userdata;

	(void)req;
	for (size_t i = 0; i < cfg->n_initial_headers; i++) {
		int rc = sio_headers_add(headers, cfg->initial_headers[i].name,
					 cfg->initial_headers[i].value);

		if (rc < 0)
			fprintf(stderr, "sio_headers_add: %s\n", sio_strerror(rc));
	}
}

/* The cors origin callback: allows origins ending with the --cors-suffix value. */
static bool origin_has_suffix(const char *origin, void *userdata)
{
	const char *suffix = userdata;
	size_t n = strlen(origin), k = strlen(suffix);

	return n >= k && strcmp(origin + n - k, suffix) == 0;
}

static void usage(void)
{
	fputs("usage: eio_server [--ping-interval MS] [--ping-timeout MS] [--upgrade-timeout MS]\n"
	      "  [--max-http-buffer-size N] [--transports polling|websocket|polling,websocket]\n"
	      "  [--no-upgrades] [--allow-eio3] [--cors ORIGIN]... [--cors-credentials]\n"
	      "  [--cors-suffix S]\n"
	      "  [--forbid-query NAME]\n"
	      "  [--initial-header NAME:VALUE]... [--max-queue-bytes N] [--max-queue-packets N]\n"
	      "  [--queue-full close|reject] [--path PATH]\n"
	      "  [--no-serve-client] [--static-dir DIR]\n"
	      "  [--keep-alive-timeout MS] [--headers-timeout MS] [--body-timeout MS]\n"
	      "  [--max-connections-per-ip N] [--max-pending-handshakes N]\n"
	      "  [--shutdown-timeout MS] [--host ADDRESS] [--trusted-proxy NETWORK]\n",
	      stderr);
}

static bool parse_number(const char *s, unsigned long long max, unsigned long long *out_value)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out_value = v;
	return true;
}

static void config_finish(struct config *cfg)
{
	free(cfg->cors_origins);
	for (size_t i = 0; i < cfg->n_initial_headers; i++) {
		free(cfg->initial_headers[i].name);
		free(cfg->initial_headers[i].value);
	}
	free(cfg->initial_headers);
}

/* Fills opts and cfg from the command line. Returns false on a bad one. */
static bool parse_args(int argc, char **argv, struct sio_server_options *opts,
		       struct config *cfg)
{
	unsigned long long v;

	cfg->cors_origins = calloc((size_t)argc + 1, sizeof(*cfg->cors_origins));
	cfg->initial_headers = calloc((size_t)argc + 1, sizeof(*cfg->initial_headers));
	if (!cfg->cors_origins || !cfg->initial_headers)
		return false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-upgrades")) {
			opts->allow_upgrades = false;
			continue;
		}
		if (!strcmp(a, "--allow-eio3")) {
			opts->allow_eio3 = true;
			continue;
		}
		if (!strcmp(a, "--cors-credentials")) {
			opts->cors.credentials = true;
			continue;
		}
		if (!strcmp(a, "--no-serve-client")) {
			opts->serve_client = false;
			continue;
		}
		if (!val) {
			fprintf(stderr, "eio_server: %s needs a value\n", a);
			return false;
		}
		i++;
		if (!strcmp(a, "--ping-interval") && parse_number(val, UINT32_MAX, &v)) {
			opts->ping_interval = (uint32_t)v;
		} else if (!strcmp(a, "--ping-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->ping_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--upgrade-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->upgrade_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--max-http-buffer-size") && parse_number(val, SIZE_MAX, &v)) {
			opts->max_http_buffer_size = (size_t)v;
		} else if (!strcmp(a, "--keep-alive-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->keep_alive_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--headers-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->headers_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--body-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->body_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--max-connections-per-ip") &&
			   parse_number(val, UINT32_MAX, &v)) {
			opts->max_connections_per_ip = (uint32_t)v;
		} else if (!strcmp(a, "--max-pending-handshakes") &&
			   parse_number(val, UINT32_MAX, &v)) {
			opts->max_pending_handshakes = (uint32_t)v;
		} else if (!strcmp(a, "--shutdown-timeout") && parse_number(val, UINT32_MAX, &v)) {
			opts->shutdown_timeout = (uint32_t)v;
		} else if (!strcmp(a, "--max-queue-bytes") && parse_number(val, SIZE_MAX, &v)) {
			opts->max_queue_bytes = (size_t)v;
		} else if (!strcmp(a, "--max-queue-packets") && parse_number(val, SIZE_MAX, &v)) {
			opts->max_queue_packets = (size_t)v;
		} else if (!strcmp(a, "--transports")) {
			if (!strcmp(val, "polling"))
				opts->transports = SIO_TRANSPORT_POLLING;
			else if (!strcmp(val, "websocket"))
				opts->transports = SIO_TRANSPORT_WEBSOCKET;
			else if (!strcmp(val, "polling,websocket") || !strcmp(val, "websocket,polling"))
				opts->transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
			else
				goto bad;
		} else if (!strcmp(a, "--queue-full")) {
			if (!strcmp(val, "close"))
				opts->queue_full = SIO_QUEUE_FULL_CLOSE;
			else if (!strcmp(val, "reject"))
				opts->queue_full = SIO_QUEUE_FULL_REJECT;
			else
				goto bad;
		} else if (!strcmp(a, "--cors")) {
			opts->cors.enabled = true;
			cfg->cors_origins[cfg->n_cors++] = val;
			opts->cors.origins = cfg->cors_origins;
		} else if (!strcmp(a, "--cors-suffix")) {
			opts->cors.enabled = true;
			opts->cors.origin_allowed = origin_has_suffix;
			opts->cors.origin_userdata = (void *)val;
		} else if (!strcmp(a, "--forbid-query")) {
			cfg->forbid_query = val;
		} else if (!strcmp(a, "--initial-header")) {
			const char *colon = strchr(val, ':');
			struct header_pair *h = &cfg->initial_headers[cfg->n_initial_headers];
			const char *value;

			if (!colon || colon == val)
				goto bad;
			value = colon + 1 + strspn(colon + 1, " \t");
			h->name = strndup(val, (size_t)(colon - val));
			h->value = strdup(value);
			cfg->n_initial_headers++;
			if (!h->name || !h->value)
				return false;
		} else if (!strcmp(a, "--path")) {
			opts->path = val;
		} else if (!strcmp(a, "--static-dir")) {
			opts->static_dir = val;
		} else if (!strcmp(a, "--host")) {
			cfg->host = val;
		} else if (!strcmp(a, "--trusted-proxy")) {
			/* one network, as the only trusted proxy */
			static const char *proxies[2];
			proxies[0] = val;
			opts->trusted_proxies = proxies;
		} else {
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "eio_server: bad option %s %s\n", a, val);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct sio_server_options opts;
	struct config cfg = { 0 };
	struct sio_eio_events events = {
		.version = SIO_EIO_EVENTS_VERSION,
		.connection = on_connection,
		.message = on_message,
		.close = on_close,
		.upgrade = on_upgrade,
	};
	struct sigaction sa;
	sio_server *srv;
	int err = 0;
	int rc;
	int status = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sio_server_options_init(&opts);
	/* the tests stop servers with clients still attached: do not wait long */
	opts.shutdown_timeout = 1000;
	if (!parse_args(argc, argv, &opts, &cfg)) {
		usage();
		config_finish(&cfg);
		return 2;
	}
	opts.allow_request = allow_request;
	if (cfg.n_initial_headers)
		opts.initial_headers = initial_headers;
	opts.hooks_userdata = &cfg;

	srv = sio_server_create(&opts, &err);
	if (!srv) {
		fprintf(stderr, "eio_server: sio_server_create: %s\n", sio_strerror(err));
		goto out_config;
	}
	rc = sio_eio_set_events(srv, &events, &cfg);
	if (rc < 0) {
		fprintf(stderr, "eio_server: sio_eio_set_events: %s\n", sio_strerror(rc));
		goto out_server;
	}
	rc = sio_server_listen(srv, cfg.host ? cfg.host : "127.0.0.1", 0);
	if (rc < 0) {
		fprintf(stderr, "eio_server: sio_server_listen: %s\n", sio_strerror(rc));
		goto out_server;
	}

	g_srv = srv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	emit("PORT %d", sio_server_port(srv));
	rc = sio_server_run(srv);
	if (rc < 0)
		fprintf(stderr, "eio_server: sio_server_run: %s\n", sio_strerror(rc));
	else
		status = 0;

	/* No signal may reach the server once it is freed. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	g_srv = NULL;
out_server:
	sio_server_destroy(srv);
out_config:
	config_finish(&cfg);
	return status;
}
