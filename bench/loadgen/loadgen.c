/*
 * loadgen: the load generator of the sioc benchmarks. One thread, epoll,
 * non-blocking sockets; it opens Socket.IO v5 / Engine.IO v4 clients
 * against a server speaking the bench protocol (bench/PROTOCOL.md) and
 * measures one scenario per run. Human lines go to stderr, one JSON object
 * to stdout at the end. Loopback only. See usage() for the options.
 *
 * A run has phases: CONNECT (open the clients at --connect-rate), CONTROL
 * (broadcast and slow: open the control client, which sends "bcast"), RUN
 * (measure for --duration, or until the broadcast is acked and drained),
 * DONE. --timeout bounds the whole run whatever happens.
 */
#define _GNU_SOURCE /* epoll_pwait2 */

#include "loadgen.h"
#include "msgpack.h"
#include "wsframe.h"

#include <errno.h>
#include <getopt.h>

#include <openssl/ssl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define SIGNAL_TAG UINT64_MAX

static const char *const mode_names[] = {
        [LG_IDLE] = "idle",           [LG_ECHO] = "echo",           [LG_LATENCY] = "latency",
        [LG_BROADCAST] = "broadcast", [LG_HANDSHAKE] = "handshake", [LG_SLOW] = "slow",
};

static const char *const transport_names[] = {
        [LG_WEBSOCKET] = "websocket",
        [LG_POLLING_UPGRADE] = "polling-upgrade",
        [LG_POLLING] = "polling",
};

static const char *const err_names[LG_ERR_COUNT] = {
        [LG_ERR_CONNECT] = "connect",
        [LG_ERR_HTTP] = "http",
        [LG_ERR_PROTOCOL] = "protocol",
        [LG_ERR_CONNECT_ERROR] = "connect_error",
        [LG_ERR_TIMEOUT] = "timeout",
        [LG_ERR_CLOSED] = "closed",
        [LG_ERR_IO] = "io",
        [LG_ERR_TOO_BIG] = "too_big",
        [LG_ERR_FULL] = "full",
};

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t lg_realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void lg_error(struct loadgen *lg, enum lg_err kind, const char *detail)
{
	lg->errors[kind]++;
	if (lg->err_detail[kind][0] == '\0')
		snprintf(lg->err_detail[kind], sizeof(lg->err_detail[kind]), "%s", detail);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------ */
/* Command line                                                         */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --mode MODE --port N [options]\n"
	           "\n"
	           "modes:\n"
	           "  idle       open --clients at --connect-rate, hold them --duration s\n"
	           "  echo       each client keeps --inflight acked \"echo\" emits outstanding\n"
	           "  latency    --rate acked \"echo\" emits/s in all, open loop, spread over "
	           "clients\n"
	           "  broadcast  clients join --room; a control client asks for \"bcast\"\n"
	           "             [room, --rate, --burst, --duration, --payload]; count \"b\"\n"
	           "  handshake  time until --clients are connected (--transport decides how)\n"
	           "  slow       broadcast, but client 0 stops reading once in the room\n"
	           "\n"
	           "options:\n"
	           "  --host A             server address in 127.0.0.0/8 (127.0.0.1)\n"
	           "  --port N             server port (required)\n"
	           "  --port2 N            broadcast: a second server (a node of the same\n"
	           "                       cluster): the odd-numbered clients connect there,\n"
	           "                       the control client stays on --port; deliveries\n"
	           "                       and the expected count are also told per port\n"
	           "  --path P             Engine.IO path (/socket.io/)\n"
	           "  --clients N          clients (100)\n"
	           "  --connect-rate R     new connections per second, 0 = all at once (0)\n"
	           "  --concurrency C      handshakes in flight at most, 0 = no limit (0)\n"
	           "  --transport T        websocket | polling-upgrade | polling (websocket);\n"
	           "                       polling never upgrades: a GET always held, POSTs\n"
	           "                       of the waiting packets on a second socket (idle,\n"
	           "                       echo, latency, handshake)\n"
	           "  --parser P           json | msgpack (json); msgpack is\n"
	           "                       socket.io-msgpack-parser 3.x over websocket (idle,\n"
	           "                       echo, latency, handshake; acks only)\n"
	           "  --duration S         measuring time in seconds (10; handshake 0);\n"
	           "                       broadcast, slow: the server's sending time\n"
	           "  --timeout S          hard limit on the whole run (auto)\n"
	           "  --connect-timeout S  per-client handshake limit (30)\n"
	           "  --inflight K         echo: outstanding emits per client (1)\n"
	           "  --payload BYTES      string argument size (16)\n"
	           "  --rate R             latency: emits/s (1000); broadcast: packets/s (100)\n"
	           "  --burst B            broadcast: packets per server tick (1)\n"
	           "  --room NAME          broadcast room (bench)\n"
	           "  --no-ack             echo, latency: emit without ack; the reply is an\n"
	           "                       \"echo\" event (matched in order)\n"
	           "  --src A[-B]          bind clients to source addresses A..B (127.x.y.z)\n"
	           "  --drain S            broadcast: wait at most S s for deliveries after the\n"
	           "                       ack (2)\n"
	           "  --slow-rcvbuf BYTES  slow: SO_RCVBUF of the stalled client (kernel default)\n"
	           "  --tls                wss: TLS (1.2+, OpenSSL's default suites) on every\n"
	           "                       connection; the certificate is not checked\n"
	           "                       (--transport websocket)\n"
	           "  --churn F            broadcast: every second while the server emits, drop\n"
	           "                       the connection of F of the clients (0..1) and\n"
	           "                       reconnect them after --churn-away s, with {pid,\n"
	           "                       offset} when the server gave a pid (connection state\n"
	           "                       recovery); the emits are numbered and each client's\n"
	           "                       checked for gaps and duplicates within its session (0)\n"
	           "  --churn-away S       broadcast: how long a dropped client stays away (0)\n"
	           "  -v, --verbose        a progress line every second\n"
	           "\n"
	           "Prints human lines on stderr and one JSON object on stdout. Exit status 0,\n"
	           "1 when the run could not complete (timeout, nobody connected, refused),\n"
	           "2 on a usage error.\n");
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		uint32_t octet = 0;
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			octet = octet * 10 + (uint32_t)(s[i++] - '0');
		if (i == start || octet > 255)
			return false;
		v = v << 8 | octet;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	if (i != len)
		return false;
	*out = v;
	return true;
}

static bool is_loopback(uint32_t a)
{
	return (a >> 24) == 127;
}

/* "A" or "A-B", both in 127.0.0.0/8, A <= B. */
static bool parse_src(const char *s, struct lg_options *o)
{
	const char *dash = strchr(s, '-');
	uint32_t a, b;

	if (!parse_ipv4(s, dash ? (size_t)(dash - s) : strlen(s), &a))
		return false;
	b = a;
	if (dash && !parse_ipv4(dash + 1, strlen(dash + 1), &b))
		return false;
	if (!is_loopback(a) || !is_loopback(b) || b < a)
		return false;
	o->src_first = a;
	o->src_count = b - a + 1;
	return true;
}

/* Characters that need no JSON or URL escaping. */
static bool is_plain(const char *s, bool allow_slash)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		      ch == ':' || (allow_slash && ch == '/')))
			return false;
	}
	return true;
}

enum {
	OPT_MODE = 256,
	OPT_HOST,
	OPT_PORT,
	OPT_PATH,
	OPT_CLIENTS,
	OPT_CONNECT_RATE,
	OPT_CONCURRENCY,
	OPT_TRANSPORT,
	OPT_PARSER,
	OPT_DURATION,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_INFLIGHT,
	OPT_PAYLOAD,
	OPT_RATE,
	OPT_BURST,
	OPT_ROOM,
	OPT_NO_ACK,
	OPT_SRC,
	OPT_DRAIN,
	OPT_SLOW_RCVBUF,
	OPT_TLS,
	OPT_CHURN,
	OPT_CHURN_AWAY,
	OPT_PORT2,
};

static const struct option long_options[] = {
        {"mode", required_argument, NULL, OPT_MODE},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"port2", required_argument, NULL, OPT_PORT2},
        {"path", required_argument, NULL, OPT_PATH},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"parser", required_argument, NULL, OPT_PARSER},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"payload", required_argument, NULL, OPT_PAYLOAD},
        {"rate", required_argument, NULL, OPT_RATE},
        {"burst", required_argument, NULL, OPT_BURST},
        {"room", required_argument, NULL, OPT_ROOM},
        {"no-ack", no_argument, NULL, OPT_NO_ACK},
        {"src", required_argument, NULL, OPT_SRC},
        {"drain", required_argument, NULL, OPT_DRAIN},
        {"slow-rcvbuf", required_argument, NULL, OPT_SLOW_RCVBUF},
        {"tls", no_argument, NULL, OPT_TLS},
        {"churn", required_argument, NULL, OPT_CHURN},
        {"churn-away", required_argument, NULL, OPT_CHURN_AWAY},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* Fills o from argv. Returns 0, 1 after --help, -1 on a usage error
 * (reported on stderr). */
static int parse_args(int argc, char **argv, struct lg_options *o)
{
	bool have_mode = false, have_port = false, have_duration = false, have_rate = false;
	uint32_t port = 0;
	int ch;

	*o = (struct lg_options){
	        .host = 0x7f000001u,
	        .path = "/socket.io/",
	        .clients = 100,
	        .duration = 10,
	        .connect_timeout = 30,
	        .inflight = 1,
	        .payload = 16,
	        .burst = 1,
	        .room = "bench",
	        .drain = 2,
	};
	while ((ch = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		bool ok = true;

		switch (ch) {
		case OPT_MODE:
			ok = false;
			for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
				if (strcmp(optarg, mode_names[i]) == 0) {
					o->mode = (enum lg_mode)i;
					ok = have_mode = true;
				}
			}
			break;
		case OPT_HOST:
			ok = parse_ipv4(optarg, strlen(optarg), &o->host) && is_loopback(o->host);
			if (!ok)
				fprintf(stderr,
				        "loadgen: --host must be an IPv4 address in 127.0.0.0/8\n");
			break;
		case OPT_PORT:
			ok = have_port = parse_u32(optarg, 1, 65535, &port);
			o->port = (uint16_t)port;
			break;
		case OPT_PORT2: {
			uint32_t p2 = 0;

			ok = parse_u32(optarg, 1, 65535, &p2);
			o->port2 = (uint16_t)p2;
			break;
		}
		case OPT_PATH:
			o->path = optarg;
			ok = optarg[0] == '/' && strlen(optarg) < 100 && is_plain(optarg, true);
			break;
		case OPT_CLIENTS:
			ok = parse_u32(optarg, 1, 1000000, &o->clients);
			break;
		case OPT_CONNECT_RATE:
			ok = parse_double(optarg, 0, 1e7, &o->connect_rate);
			break;
		case OPT_CONCURRENCY:
			ok = parse_u32(optarg, 0, 1000000, &o->concurrency);
			break;
		case OPT_TRANSPORT:
			if (strcmp(optarg, "websocket") == 0)
				o->transport = LG_WEBSOCKET;
			else if (strcmp(optarg, "polling-upgrade") == 0)
				o->transport = LG_POLLING_UPGRADE;
			else if (strcmp(optarg, "polling") == 0)
				o->transport = LG_POLLING;
			else
				ok = false;
			break;
		case OPT_PARSER:
			if (strcmp(optarg, "json") == 0)
				o->parser = LG_PARSER_JSON;
			else if (strcmp(optarg, "msgpack") == 0)
				o->parser = LG_PARSER_MSGPACK;
			else
				ok = false;
			break;
		case OPT_DURATION:
			ok = have_duration = parse_double(optarg, 0, 86400, &o->duration);
			break;
		case OPT_TIMEOUT:
			ok = parse_double(optarg, 0.001, 86400, &o->timeout);
			break;
		case OPT_CONNECT_TIMEOUT:
			ok = parse_double(optarg, 0.001, 3600, &o->connect_timeout);
			break;
		case OPT_INFLIGHT:
			ok = parse_u32(optarg, 1, 100000, &o->inflight);
			break;
		case OPT_PAYLOAD:
			ok = parse_u32(optarg, 0, 900000, &o->payload);
			break;
		case OPT_RATE:
			ok = have_rate = parse_double(optarg, 0.001, 1e8, &o->rate);
			break;
		case OPT_BURST:
			ok = parse_u32(optarg, 1, 1000000, &o->burst);
			break;
		case OPT_ROOM:
			o->room = optarg;
			ok = strlen(optarg) < 64 && is_plain(optarg, false);
			break;
		case OPT_NO_ACK:
			o->no_ack = true;
			break;
		case OPT_SRC:
			ok = parse_src(optarg, o);
			if (!ok)
				fprintf(stderr, "loadgen: --src takes A or A-B, addresses in "
				                "127.0.0.0/8\n");
			break;
		case OPT_DRAIN:
			ok = parse_double(optarg, 0, 3600, &o->drain);
			break;
		case OPT_SLOW_RCVBUF:
			ok = parse_u32(optarg, 1, 1u << 30, &o->slow_rcvbuf);
			break;
		case OPT_TLS:
			o->tls = true;
			break;
		case OPT_CHURN:
			ok = parse_double(optarg, 0, 1, &o->churn);
			break;
		case OPT_CHURN_AWAY:
			ok = parse_double(optarg, 0, 3600, &o->churn_away);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
		if (!ok) {
			fprintf(stderr, "loadgen: bad value for --%s: %s\n",
			        long_options[ch - OPT_MODE].name, optarg);
			return -1;
		}
	}
	if (optind < argc || !have_mode || !have_port) {
		fprintf(stderr, "loadgen: %s\n",
		        optind < argc ? "unexpected argument" : "--mode and --port are required");
		usage(stderr);
		return -1;
	}
	if ((o->transport == LG_POLLING || o->parser == LG_PARSER_MSGPACK) &&
	    (o->mode == LG_BROADCAST || o->mode == LG_SLOW)) {
		fprintf(stderr,
		        "loadgen: %s does not speak --transport polling or --parser msgpack\n",
		        mode_names[o->mode]);
		return -1;
	}
	if (o->parser == LG_PARSER_MSGPACK && (o->transport != LG_WEBSOCKET || o->no_ack)) {
		fprintf(stderr, "loadgen: --parser msgpack needs --transport websocket and acks\n");
		return -1;
	}
	if (o->tls && o->transport != LG_WEBSOCKET) {
		fprintf(stderr, "loadgen: --tls needs --transport websocket\n");
		return -1;
	}
	if (!have_duration && o->mode == LG_HANDSHAKE)
		o->duration = 0;
	if (!have_rate)
		o->rate = (o->mode == LG_LATENCY) ? 1000 : 100;
	if (o->port2 && (o->mode != LG_BROADCAST || o->churn > 0)) {
		fprintf(stderr, "loadgen: --port2 is for broadcast without --churn\n");
		return -1;
	}
	if (o->churn > 0 && o->mode != LG_BROADCAST) {
		fprintf(stderr, "loadgen: --churn is for broadcast\n");
		return -1;
	}
	if ((o->mode == LG_BROADCAST || o->mode == LG_SLOW) && !(o->duration > 0)) {
		fprintf(stderr, "loadgen: %s needs --duration > 0\n", mode_names[o->mode]);
		return -1;
	}
	if (o->timeout == 0) {
		o->timeout = 60 + o->duration + o->connect_timeout + o->drain;
		if (o->connect_rate > 0)
			o->timeout += o->clients / o->connect_rate;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                                */
/* ------------------------------------------------------------------ */

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Makes sure the descriptors needed fit RLIMIT_NOFILE, raising the soft
 * limit up to the hard one. Returns false (with a message) otherwise. */
static bool check_fd_limit(const struct loadgen *lg)
{
	struct rlimit rl;
	uint64_t need = (uint64_t)lg->nconns + 16;

	if (lg->opt.transport != LG_WEBSOCKET)
		need += lg->opt.clients; /* polling socket + websocket while upgrading, or
		                            polling's GET and POST sockets */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return true;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit want = rl;

		want.rlim_cur =
		        (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &want);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		fprintf(stderr,
		        "loadgen: --clients %u needs %llu file descriptors but RLIMIT_NOFILE is "
		        "%llu "
		        "(hard %llu): lower --clients or raise the limit (ulimit -n)\n",
		        lg->opt.clients, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
		        (unsigned long long)rl.rlim_max);
		return false;
	}
	return true;
}

/* Warns when the clients cannot all get an ephemeral port. */
static void check_port_range(const struct loadgen *lg)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned lo, hi;
	uint64_t ports, need = lg->nconns;

	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && hi >= lo) {
		ports = (uint64_t)(hi - lo + 1) * (lg->opt.src_count ? lg->opt.src_count : 1);
		if (lg->opt.transport != LG_WEBSOCKET)
			need += lg->opt.clients;
		if (need > ports)
			fprintf(stderr,
			        "loadgen: warning: %llu sockets but only %llu ephemeral ports "
			        "(%u-%u x %u source addresses): use --src 127.0.0.1-127.0.0.N\n",
			        (unsigned long long)need, (unsigned long long)ports, lo, hi,
			        lg->opt.src_count ? lg->opt.src_count : 1);
	}
	fclose(f);
}

/* Builds the pre-encoded frames: the echo emit and the pong. The echo is
 * a masked text frame (JSON), a masked binary frame (msgpack) or, for
 * polling, the bare packet; its ack id is patched in per emit. */
static bool build_frames(struct loadgen *lg)
{
	const char *head = lg->opt.no_ack ? "42[\"echo\",\"" : "420000000[\"echo\",\"";
	size_t head_len = strlen(head);
	size_t len, id_at = 2;
	uint8_t *text;

	if (lg->opt.parser == LG_PARSER_MSGPACK)
		len = mp_event_len(4, lg->opt.payload);
	else
		len = head_len + lg->opt.payload + 2;
	text = malloc(len);
	if (!text)
		return false;
	if (lg->opt.parser == LG_PARSER_MSGPACK) {
		uint8_t *arg = malloc(lg->opt.payload + 1);

		if (!arg) {
			free(text);
			return false;
		}
		memset(arg, 'x', lg->opt.payload);
		len = mp_event_encode(text, "echo", 4, arg, lg->opt.payload, 0, &id_at);
		free(arg);
	} else {
		memcpy(text, head, head_len);
		memset(text + head_len, 'x', lg->opt.payload);
		memcpy(text + head_len + lg->opt.payload, "\"]", 2);
	}
	lg->echo_frame = malloc(ws_header_len(len) + len);
	if (!lg->echo_frame) {
		free(text);
		return false;
	}
	lg->echo_id_phase = (uint32_t)id_at;
	if (lg->opt.transport == LG_POLLING) {
		memcpy(lg->echo_frame, text, len);
		lg->echo_len = (uint32_t)len;
		lg->echo_id_at = (uint32_t)id_at;
	} else {
		lg->echo_len = (uint32_t)ws_frame_encode(
		        lg->echo_frame,
		        lg->opt.parser == LG_PARSER_MSGPACK ? WS_OP_BINARY : WS_OP_TEXT, lg->mask,
		        text, len);
		lg->echo_id_at = (uint32_t)(ws_header_len(len) + id_at);
	}
	free(text);
	lg->pong_len = (uint32_t)ws_frame_encode(lg->pong_frame, WS_OP_TEXT, lg->mask, "3", 1);
	return true;
}

/* Sizes and allocates every connection's buffers in one arena. */
static bool alloc_conns(struct loadgen *lg)
{
	const struct lg_options *o = &lg->opt;
	size_t stride;
	uint8_t *p;
	uint32_t ring = 8;

	lg->in_cap = o->payload + 4096 > 8192 ? o->payload + 4096 : 8192;
	lg->out_cap = 2048;
	if (o->mode == LG_ECHO) {
		lg->out_cap += o->inflight * lg->echo_len;
		ring = o->inflight + 2;
	} else if (o->mode == LG_LATENCY) {
		double per_conn = 2 * o->rate / o->clients + 16; /* a second's worth, twice */

		lg->out_cap += 16 * lg->echo_len;
		if (lg->out_cap < 16384)
			lg->out_cap = 16384;
		ring = per_conn > 65536 ? 65536 : (uint32_t)per_conn;
		if (ring < 64)
			ring = 64;
	}
	lg->ring_size = pow2_at_least(ring);
	if (o->transport == LG_POLLING) {
		/* a GET's response holds every reply due, a POST every emit
		 * waiting (each with its separator) after the request's head */
		uint32_t batch = lg->ring_size < 256 ? lg->ring_size : 256;

		lg->in_cap += batch * (o->payload + 64);
		lg->out_cap += batch * (lg->echo_len + 1) + LG_POST_HEAD;
	}
	lg->out_cap = (lg->out_cap + 63) & ~63u;
	lg->in_cap = (lg->in_cap + 63) & ~63u;
	stride = lg->in_cap + lg->out_cap + (size_t)lg->ring_size * sizeof(struct lg_pending);
	if (o->transport == LG_POLLING)
		stride += LG_PIN_CAP + lg->out_cap; /* pin, body */
	stride = (stride + 63) & ~(size_t)63;

	lg->conns = calloc(lg->nconns, sizeof(*lg->conns));
	lg->arena = calloc(lg->nconns, stride); /* large: mmap'd, pages touched on use */
	lg->rx = malloc(LG_RX_READ + lg->in_cap);
	lg->dirty = calloc(lg->nconns, sizeof(*lg->dirty));
	lg->ready = calloc(lg->nconns, sizeof(*lg->ready));
	lg->away = calloc(lg->nconns, sizeof(*lg->away));
	if (!lg->conns || !lg->arena || !lg->rx || !lg->dirty || !lg->ready || !lg->away)
		return false;
	p = lg->arena;
	for (uint32_t i = 0; i < lg->nconns; i++, p += stride) {
		struct lg_conn *c = &lg->conns[i];

		c->fd = c->pfd = -1;
		c->first = c->next = -1;
		c->index = i;
		c->control = i == o->clients;
		c->ring = (struct lg_pending *)(void *)p;
		c->ring_mask = lg->ring_size - 1;
		c->in = p + (size_t)lg->ring_size * sizeof(struct lg_pending);
		c->out = c->in + lg->in_cap;
		if (o->transport == LG_POLLING) {
			c->pin = c->out + lg->out_cap;
			c->body = c->pin + LG_PIN_CAP;
		}
	}
	return true;
}

static bool setup(struct loadgen *lg)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SIGNAL_TAG};
	sigset_t set;
	uint8_t seed[12];

	lg->nconns =
	        lg->opt.clients + (lg->opt.mode == LG_BROADCAST || lg->opt.mode == LG_SLOW ? 1 : 0);
	if (!check_fd_limit(lg))
		return false;
	check_port_range(lg);
	if (getentropy(seed, sizeof(seed)) < 0) {
		uint64_t t = lg_now_ns() ^ (uint64_t)getpid() << 32;

		memcpy(seed, &t, 8);
		memcpy(seed + 8, &t, 4);
	}
	memcpy(lg->mask, seed, 4);
	if (!(lg->mask[0] | lg->mask[1] | lg->mask[2] | lg->mask[3]))
		lg->mask[0] = 0x5a;
	memcpy(&lg->rng, seed + 4, 8);
	lg->rng |= 1;
	snprintf(lg->host_hdr, sizeof(lg->host_hdr), "%u.%u.%u.%u:%u", lg->opt.host >> 24,
	         (lg->opt.host >> 16) & 255, (lg->opt.host >> 8) & 255, lg->opt.host & 255,
	         lg->opt.port);
	if (!build_frames(lg) || !alloc_conns(lg)) {
		fprintf(stderr, "loadgen: out of memory\n");
		return false;
	}
	hist_init(&lg->latency);
	hist_init(&lg->connect);
	if (lg->opt.tls) {
		lg->tls = SSL_CTX_new(TLS_client_method());
		if (!lg->tls) {
			fprintf(stderr, "loadgen: cannot make a TLS context\n");
			return false;
		}
		SSL_CTX_set_min_proto_version(lg->tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(lg->tls, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(lg->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
		                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
		                                  SSL_MODE_RELEASE_BUFFERS);
	}

	lg->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	lg->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (lg->epfd < 0 || lg->sigfd < 0 ||
	    epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->sigfd, &ev) < 0) {
		fprintf(stderr, "loadgen: epoll/signalfd: %s\n", strerror(errno));
		return false;
	}
	return true;
}

static void teardown(struct loadgen *lg)
{
	if (lg->conns)
		for (uint32_t i = 0; i < lg->nconns; i++)
			conn_close(lg, &lg->conns[i]);
	if (lg->sigfd >= 0)
		close(lg->sigfd);
	if (lg->epfd >= 0)
		close(lg->epfd);
	free(lg->conns);
	free(lg->arena);
	free(lg->rx);
	free(lg->dirty);
	free(lg->ready);
	free(lg->away);
	free(lg->echo_frame);
	SSL_CTX_free(lg->tls);
}

/* ------------------------------------------------------------------ */
/* Phases                                                               */
/* ------------------------------------------------------------------ */

static void end_run(struct loadgen *lg, uint64_t now)
{
	lg->t_run_end = now;
	lg->phase = PH_DONE;
}

static void begin_run(struct loadgen *lg, uint64_t now)
{
	lg->phase = PH_RUN;
	lg->t_run_start = now;
	lg->run_deadline = now + (uint64_t)(lg->opt.duration * 1e9);
	lg->next_churn = now + NS_PER_S;
	if (lg->opt.mode == LG_ECHO) {
		for (uint32_t i = 0; i < lg->opt.clients; i++)
			for (uint32_t k = 0; k < lg->opt.inflight; k++)
				if (conn_send_echo(lg, &lg->conns[i], now))
					lg->sent++;
	} else if (lg->opt.mode == LG_LATENCY) {
		lg->nready = 0;
		for (uint32_t i = 0; i < lg->opt.clients; i++)
			if (lg->conns[i].state == CS_READY)
				lg->ready[lg->nready++] = i;
		lg->next_send = now;
		lg->interval_ns = (uint64_t)(1e9 / lg->opt.rate);
		if (lg->interval_ns == 0)
			lg->interval_ns = 1;
	}
	fprintf(stderr, "loadgen: %s: measuring\n", mode_names[lg->opt.mode]);
}

void lg_conn_ready(struct loadgen *lg, struct lg_conn *c, uint64_t now)
{
	c->state = CS_READY;
	lg->pending--;
	if (c->control) {
		if (!conn_send_bcast(lg, c, now)) {
			lg->control_failed = true;
			lg_error(lg, LG_ERR_FULL, "could not send bcast");
			return;
		}
		begin_run(lg, now);
		return;
	}
	if (c->rejoining) { /* churn: back, not counted as a new client */
		c->rejoining = false;
		lg->reconnected++;
		return;
	}
	lg->connected++;
	lg->t_last_ready = now;
	hist_record(&lg->connect, (now - c->t_start) / 1000);
	if (lg->opt.mode == LG_SLOW && c->index == 0)
		conn_stall(lg, c);
}

static void connect_done(struct loadgen *lg, uint64_t now)
{
	fprintf(stderr, "loadgen: %s: %u/%u connected, %u failed, in %.1f ms\n",
	        mode_names[lg->opt.mode], lg->connected, lg->opt.clients, lg->failed,
	        lg->connected ? (double)(lg->t_last_ready - lg->t_first_start) / 1e6 : 0.0);
	if (lg->connected == 0) {
		lg->phase = PH_DONE;
		return;
	}
	if (lg->opt.mode == LG_BROADCAST || lg->opt.mode == LG_SLOW) {
		lg->phase = PH_CONTROL;
		conn_start(lg, &lg->conns[lg->opt.clients], now);
		return;
	}
	begin_run(lg, now);
}

/* Starts the clients due by now; lowers *wake to the next one's time. */
static void start_clients(struct loadgen *lg, uint64_t now, uint64_t *wake)
{
	uint32_t target = lg->opt.clients;

	if (lg->started == 0)
		lg->t_first_start = now;
	if (lg->opt.connect_rate > 0) {
		double due = floor(secs(now - lg->t_first_start) * lg->opt.connect_rate) + 1;

		if (due < target)
			target = (uint32_t)due;
		if (target < lg->opt.clients)
			*wake = min_u64(*wake,
			                lg->t_first_start +
			                        (uint64_t)(target * 1e9 / lg->opt.connect_rate));
	}
	while (lg->started < target && (!lg->opt.concurrency || lg->pending < lg->opt.concurrency))
		conn_start(lg, &lg->conns[lg->started++], now);
}

/* Latency mode: sends the emits due by now, open loop. */
static void send_scheduled(struct loadgen *lg, uint64_t now)
{
	while (lg->next_send <= now && lg->next_send < lg->run_deadline) {
		struct lg_conn *c = NULL;

		for (uint32_t tries = 0; tries < lg->nready; tries++) {
			struct lg_conn *cand = &lg->conns[lg->ready[lg->rr++ % lg->nready]];

			if (cand->state == CS_READY) {
				c = cand;
				break;
			}
		}
		if (c && conn_send_echo(lg, c, lg->next_send)) {
			lg->sent++;
			if (now - lg->next_send > NS_PER_MS)
				lg->late++;
		} else {
			lg->lost++;
		}
		lg->next_send += lg->interval_ns;
	}
}

/* Broadcast, slow: the clients that should receive every packet. */
static uint32_t room_members(const struct loadgen *lg)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < lg->opt.clients; i++)
		n += lg->conns[i].state == CS_READY && !lg->conns[i].stalled;
	return n;
}

/* Churn: drops and restarts round(clients * churn) ready clients, picked
 * at random, once a second while the server emits. */
static void churn_round(struct loadgen *lg, uint64_t now, uint64_t *wake)
{
	uint32_t n = (uint32_t)(lg->opt.clients * lg->opt.churn + 0.5);

	if (lg->opt.churn <= 0 || lg->bcast_acked || lg->control_failed)
		return;
	if (now < lg->next_churn) {
		*wake = min_u64(*wake, lg->next_churn);
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t j;

		lg->rng ^= lg->rng << 13;
		lg->rng ^= lg->rng >> 7;
		lg->rng ^= lg->rng << 17;
		j = (uint32_t)(lg->rng % lg->opt.clients);
		for (uint32_t tries = 0; tries < lg->opt.clients; tries++, j = (j + 1) % lg->opt.clients)
			if (lg->conns[j].state == CS_READY)
				break;
		if (lg->conns[j].state != CS_READY)
			break;
		conn_churn(lg, &lg->conns[j]);
		lg->conns[j].t_start = now; /* when it left; conn_start() sets it again */
		lg->away[(lg->away_head + lg->away_count++) % lg->opt.clients] = j;
	}
	lg->next_churn += NS_PER_S;
	*wake = min_u64(*wake, lg->next_churn);
}

/* Churn: brings back the dropped clients whose time away is over. */
static void churn_return(struct loadgen *lg, uint64_t now, uint64_t *wake)
{
	uint64_t away = (uint64_t)(lg->opt.churn_away * 1e9);

	while (lg->away_count) {
		struct lg_conn *c = &lg->conns[lg->away[lg->away_head]];

		if (c->t_start + away > now) {
			*wake = min_u64(*wake, c->t_start + away);
			return;
		}
		lg->away_head = (lg->away_head + 1) % lg->opt.clients;
		lg->away_count--;
		conn_start(lg, c, now);
	}
}

static void run_step(struct loadgen *lg, uint64_t now, uint64_t *wake)
{
	switch (lg->opt.mode) {
	case LG_LATENCY:
		send_scheduled(lg, now);
		if (lg->next_send < lg->run_deadline)
			*wake = min_u64(*wake, lg->next_send);
		/* fall through */
	case LG_IDLE:
	case LG_ECHO:
	case LG_HANDSHAKE:
		if (now >= lg->run_deadline)
			end_run(lg, now);
		else
			*wake = min_u64(*wake, lg->run_deadline);
		break;
	case LG_BROADCAST:
	case LG_SLOW:
		churn_round(lg, now, wake);
		churn_return(lg, now, wake);
		if (lg->control_failed) {
			end_run(lg, now);
		} else if (lg->bcast_acked) {
			uint64_t quiet = lg->t_last_delivery > lg->t_bcast_ack ? lg->t_last_delivery
			                                                       : lg->t_bcast_ack;
			/* churn: the clients still reconnecting have events to come */
			bool back = lg->opt.churn <= 0 || (lg->pending == 0 && lg->away_count == 0);

			if (lg->bcast_refused ||
			    (back && lg->received >= lg->bcast_count * room_members(lg)) ||
			    (back && now - quiet >= 500 * NS_PER_MS) ||
			    now - lg->t_bcast_ack >= (uint64_t)(lg->opt.drain * 1e9))
				end_run(lg, now);
			else
				*wake = min_u64(*wake, now + 20 * NS_PER_MS);
		}
		break;
	}
}

static void progress(struct loadgen *lg, uint64_t now)
{
	static const char *const phase_names[] = {"connect", "control", "run", "done"};

	fprintf(stderr,
	        "loadgen: %6.1fs %-7s started %u pending %u connected %u failed %u dropped %u "
	        "sent %llu received %llu\n",
	        secs(now - lg->t_begin), phase_names[lg->phase], lg->started, lg->pending,
	        lg->connected, lg->failed, lg->dropped, (unsigned long long)lg->sent,
	        (unsigned long long)lg->received);
}

/* Advances the run at `now`; sets *wake to when it next needs to run. */
static void step(struct loadgen *lg, uint64_t now, uint64_t *wake)
{
	*wake = now + 100 * NS_PER_MS;
	if (now >= lg->hard_deadline) {
		fprintf(stderr, "loadgen: hard timeout (%.1f s) reached\n", lg->opt.timeout);
		lg->timed_out = true;
		lg->t_run_end = now;
		lg->phase = PH_DONE;
		return;
	}
	*wake = min_u64(*wake, lg->hard_deadline);
	if (now >= lg->next_timeout_scan) {
		for (uint32_t i = 0; i < lg->nconns; i++)
			conn_check_timeout(lg, &lg->conns[i], now);
		lg->next_timeout_scan = now + 100 * NS_PER_MS;
	}
	if (lg->opt.verbose && now >= lg->next_progress) {
		progress(lg, now);
		lg->next_progress = now + NS_PER_S;
	}
	switch (lg->phase) {
	case PH_CONNECT:
		start_clients(lg, now, wake);
		if (lg->started == lg->opt.clients && lg->pending == 0)
			connect_done(lg, now);
		if (lg->phase == PH_RUN)
			run_step(lg, now, wake);
		break;
	case PH_CONTROL:
		if (lg->control_failed) {
			fprintf(stderr, "loadgen: the control client failed\n");
			lg->phase = PH_DONE;
		}
		break;
	case PH_RUN:
		run_step(lg, now, wake);
		break;
	case PH_DONE:
		break;
	}
}

static void flush_dirty(struct loadgen *lg)
{
	for (uint32_t i = 0; i < lg->ndirty; i++) {
		struct lg_conn *c = &lg->conns[lg->dirty[i]];

		c->dirty = false;
		if (lg->opt.transport == LG_POLLING)
			conn_post(lg, c);
		if (c->out_len > c->out_off && c->fd >= 0)
			conn_flush(lg, c);
	}
	lg->ndirty = 0;
}

static void loop(struct loadgen *lg)
{
	struct epoll_event evs[512];
	bool have_pwait2 = true;

	lg->t_begin = lg_now_ns();
	lg->hard_deadline = lg->t_begin + (uint64_t)(lg->opt.timeout * 1e9);
	while (lg->phase != PH_DONE) {
		uint64_t now = lg_now_ns(), wake, dt;
		int n;

		step(lg, now, &wake);
		flush_dirty(lg);
		if (lg->phase == PH_DONE)
			break;
		now = lg_now_ns();
		dt = wake > now ? wake - now : 0;
		if (have_pwait2) {
			struct timespec ts = {.tv_sec = (time_t)(dt / NS_PER_S),
			                      .tv_nsec = (long)(dt % NS_PER_S)};

			n = epoll_pwait2(lg->epfd, evs, 512, &ts, NULL);
			if (n < 0 && errno == ENOSYS) {
				have_pwait2 = false;
				continue;
			}
		} else {
			n = epoll_wait(lg->epfd, evs, 512, (int)((dt + NS_PER_MS - 1) / NS_PER_MS));
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "loadgen: epoll: %s\n", strerror(errno));
			lg->interrupted = true;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == SIGNAL_TAG) {
				fprintf(stderr, "loadgen: interrupted\n");
				lg->interrupted = true;
				lg->t_run_end = lg_now_ns();
				lg->phase = PH_DONE;
				break;
			}
			conn_on_event(lg, &lg->conns[(uint32_t)evs[i].data.u64], evs[i].events,
			              (evs[i].data.u64 & LG_GET_TAG) != 0);
		}
		flush_dirty(lg);
	}
	if (lg->t_run_end == 0)
		lg->t_run_end = lg_now_ns();
}

/* ------------------------------------------------------------------ */
/* Report                                                               */
/* ------------------------------------------------------------------ */

/* Churn: every client's count at the end. `exact`: it got every emit,
 * 0 to the last, each once (one session throughout, or recovered every
 * time); `short_`: its count did not reach the last emit. */
static void churn_tally(const struct loadgen *lg, uint32_t *exact, uint32_t *short_)
{
	int64_t last = (int64_t)lg->bcast_count;

	*exact = *short_ = 0;
	for (uint32_t i = 0; i < lg->opt.clients; i++) {
		const struct lg_conn *c = &lg->conns[i];

		*exact += c->first == 0 && c->next == last && !c->bad;
		*short_ += c->next != last;
	}
}

static void report_churn(struct loadgen *lg)
{
	uint32_t exact, short_;

	churn_tally(lg, &exact, &short_);
	fprintf(stderr,
	        "loadgen: churn: %llu dropped, %llu back (%llu recovered, %llu new sessions), "
	        "%llu replayed, %llu gaps, %llu duplicates; %u clients got every emit exactly "
	        "once, %u short of the last\n",
	        (unsigned long long)lg->churned, (unsigned long long)lg->reconnected,
	        (unsigned long long)lg->recovered, (unsigned long long)lg->fresh,
	        (unsigned long long)lg->replayed, (unsigned long long)lg->gaps,
	        (unsigned long long)lg->dups, exact, short_);
}

static void report(struct loadgen *lg)
{
	const struct lg_options *o = &lg->opt;
	double connect_total = lg->connected ? secs(lg->t_last_ready - lg->t_first_start) : 0;
	double run = lg->t_run_start ? secs(lg->t_run_end - lg->t_run_start) : 0;
	double rate = 0;
	uint64_t errors = 0, expected = 0;
	uint64_t outstanding = 0;

	for (int i = 0; i < LG_ERR_COUNT; i++)
		errors += lg->errors[i];
	for (uint32_t i = 0; i < lg->nconns; i++)
		outstanding += lg->conns[i].outstanding;
	switch (o->mode) {
	case LG_IDLE:
	case LG_HANDSHAKE:
		rate = connect_total > 0 ? lg->connected / connect_total : 0;
		if (o->mode == LG_HANDSHAKE && o->duration == 0)
			run = connect_total;
		break;
	case LG_ECHO:
	case LG_LATENCY:
		rate = run > 0 ? (double)lg->received / run : 0;
		break;
	case LG_BROADCAST:
	case LG_SLOW:
		if (lg->t_last_delivery > lg->t_run_start && lg->t_run_start)
			run = secs(lg->t_last_delivery - lg->t_run_start);
		rate = run > 0 ? (double)lg->received / run : 0;
		expected = lg->bcast_count * room_members(lg);
		lg->sent = lg->bcast_count; /* the server's emits: the loadgen sends none */
		break;
	}

	fprintf(stderr,
	        "loadgen: %s: %u clients, %u connected, %u failed, %u dropped; "
	        "connect total %.1f ms, p50 %.2f ms, p99 %.2f ms\n",
	        mode_names[o->mode], o->clients, lg->connected, lg->failed, lg->dropped,
	        connect_total * 1e3, (double)hist_quantile(&lg->connect, 0.5) / 1e3,
	        (double)hist_quantile(&lg->connect, 0.99) / 1e3);
	fprintf(stderr, "loadgen: %s: %.3f s, sent %llu, received %llu, acked %llu, %.1f/s",
	        mode_names[o->mode], run, (unsigned long long)lg->sent,
	        (unsigned long long)lg->received, (unsigned long long)lg->acked, rate);
	if (o->mode == LG_BROADCAST || o->mode == LG_SLOW)
		fprintf(stderr, ", server sent %llu, expected %llu",
		        (unsigned long long)lg->bcast_count, (unsigned long long)expected);
	if (o->mode == LG_LATENCY)
		fprintf(stderr, ", late %llu, lost %llu", (unsigned long long)lg->late,
		        (unsigned long long)lg->lost);
	fprintf(stderr, "\n");
	if (lg->latency.total)
		fprintf(stderr,
		        "loadgen: %s: latency us p50 %llu p99 %llu p99.9 %llu max %llu mean %.1f "
		        "(%llu samples)\n",
		        mode_names[o->mode], (unsigned long long)hist_quantile(&lg->latency, 0.5),
		        (unsigned long long)hist_quantile(&lg->latency, 0.99),
		        (unsigned long long)hist_quantile(&lg->latency, 0.999),
		        (unsigned long long)lg->latency.max, hist_mean(&lg->latency),
		        (unsigned long long)lg->latency.total);
	for (int i = 0; i < LG_ERR_COUNT; i++)
		if (lg->errors[i])
			fprintf(stderr, "loadgen: %llu %s errors, first: %s\n",
			        (unsigned long long)lg->errors[i], err_names[i], lg->err_detail[i]);
	if (lg->unexpected)
		fprintf(stderr, "loadgen: %llu unexpected packets\n",
		        (unsigned long long)lg->unexpected);
	if (o->churn > 0)
		report_churn(lg);

	printf("{\"mode\":\"%s\",\"clients\":%u,\"connected\":%u,\"failed\":%u,\"dropped\":%u,"
	       "\"duration_s\":%.3f,\"sent\":%llu,\"received\":%llu,\"acked\":%llu,"
	       "\"rate_per_s\":%.1f,",
	       mode_names[o->mode], o->clients, lg->connected, lg->failed, lg->dropped, run,
	       (unsigned long long)lg->sent, (unsigned long long)lg->received,
	       (unsigned long long)lg->acked, rate);
	printf("\"latency_us\":{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu,"
	       "\"mean\":%.1f,\"count\":%llu},",
	       (unsigned long long)hist_quantile(&lg->latency, 0.5),
	       (unsigned long long)hist_quantile(&lg->latency, 0.99),
	       (unsigned long long)hist_quantile(&lg->latency, 0.999),
	       (unsigned long long)lg->latency.max, hist_mean(&lg->latency),
	       (unsigned long long)lg->latency.total);
	printf("\"connect_ms\":{\"total\":%.3f,\"p50\":%.3f,\"p99\":%.3f},", connect_total * 1e3,
	       (double)hist_quantile(&lg->connect, 0.5) / 1e3,
	       (double)hist_quantile(&lg->connect, 0.99) / 1e3);
	printf("\"parser\":\"%s\",", o->parser == LG_PARSER_MSGPACK ? "msgpack" : "json");
	if (o->churn > 0) {
		uint32_t exact, short_;

		churn_tally(lg, &exact, &short_);
		printf("\"churn\":{\"fraction\":%g,\"dropped\":%llu,\"back\":%llu,"
		       "\"recovered\":%llu,\"new_sessions\":%llu,\"replayed\":%llu,\"gaps\":%llu,"
		       "\"duplicates\":%llu,\"exact_clients\":%u,\"short_clients\":%u},",
		       o->churn, (unsigned long long)lg->churned, (unsigned long long)lg->reconnected,
		       (unsigned long long)lg->recovered, (unsigned long long)lg->fresh,
		       (unsigned long long)lg->replayed, (unsigned long long)lg->gaps,
		       (unsigned long long)lg->dups, exact, short_);
	}
	if (o->port2) {
		uint64_t members2 = 0;

		for (uint32_t i = 0; i < o->clients; i++)
			members2 += lg->conns[i].state == CS_READY && !lg->conns[i].stalled &&
			            lg_conn_port(lg, &lg->conns[i]) == o->port2;
		printf("\"port2\":{\"clients\":%u,\"members\":%llu,\"received\":%llu,"
		       "\"expected\":%llu},",
		       o->clients / 2, (unsigned long long)members2,
		       (unsigned long long)lg->received2,
		       (unsigned long long)(lg->bcast_count * members2));
	}
	printf("\"transport\":\"%s\",\"payload\":%u,\"inflight\":%u,\"target_rate\":%.1f,"
	       "\"server_sent\":%llu,\"expected\":%llu,\"late\":%llu,\"lost\":%llu,"
	       "\"outstanding\":%llu,\"unexpected\":%llu,\"errors\":%llu,\"timed_out\":%s,"
	       "\"interrupted\":%s}\n",
	       transport_names[o->transport], o->payload, o->inflight, o->rate,
	       (unsigned long long)lg->bcast_count, (unsigned long long)expected,
	       (unsigned long long)lg->late, (unsigned long long)lg->lost,
	       (unsigned long long)outstanding, (unsigned long long)lg->unexpected,
	       (unsigned long long)errors, lg->timed_out ? "true" : "false",
	       lg->interrupted ? "true" : "false");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct loadgen *lg = calloc(1, sizeof(*lg));
	int r, status;

	if (!lg) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	lg->epfd = lg->sigfd = -1;
	r = parse_args(argc, argv, &lg->opt);
	if (r != 0) {
		free(lg);
		return r > 0 ? 0 : 2;
	}
	if (!setup(lg)) {
		teardown(lg);
		free(lg);
		return 2;
	}
	fprintf(stderr, "loadgen: %s: %u clients over %s%s to %s%s\n", mode_names[lg->opt.mode],
	        lg->opt.clients, transport_names[lg->opt.transport],
	        lg->opt.parser == LG_PARSER_MSGPACK ? " (msgpack)" : "", lg->host_hdr,
	        lg->opt.path);
	loop(lg);
	report(lg);
	status = lg->timed_out || lg->interrupted || lg->connected == 0 || lg->control_failed ||
	         lg->bcast_refused;
	teardown(lg);
	free(lg);
	return status;
}
