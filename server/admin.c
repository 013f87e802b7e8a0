/*
 * The Socket.IO Admin UI (@socket.io/admin-ui 0.5): the admin namespace
 * of the reference's instrument(io, opts), its dist/index.js being the
 * protocol's definition.
 *
 * The numbers of server_stats are the engine's counters (struct eio_stats,
 * shared with the metrics): sampled at each server_stats, their growth
 * since the last one becomes the aggregated events. In development mode
 * the layer also reports to us through its observer (struct sio_observer
 * in sio.h). Everything admin lives here: the options, the sessions, the
 * last sample, and what is sent to the dashboards, with the public emit
 * calls.
 */
#include "server/admin.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/static.h"
#include "server/server.h"
#include "server/sio.h"
#include "transports/eio.h"

#ifndef SIOC_ADMIN_UI_DIR
#define SIOC_ADMIN_UI_DIR "" /* set by server/meson.build */
#endif

#define STATS_INTERVAL_MS 2000
#define SESSION_ID_LEN 16 /* hex digits of 8 random bytes, as the reference */

struct sio_admin {
	struct sio_server *srv;
	struct sio_namespace *nsp; /* the admin namespace */
	struct sio_observer obs;
	char *username, *password_hash, *server_id, *ui_prefix, *ui_dir;
	bool read_only;
	bool dev;
	struct static_mount mount;
	struct crypt_data *crypt; /* crypt_rn's scratch, 32 KiB: not on the stack */
	char hostname[256];
	uint64_t start_ms;      /* now_ms() at instrument() */
	double uptime_at_start; /* the process's age then, seconds */
	json_t *features;       /* config's supportedFeatures */

	/* sessions: a ring of the last max_sessions ids */
	char (*sessions)[SESSION_ID_LEN + 1];
	size_t max_sessions, nsessions, next_session;

	struct eio_stats last; /* the engine's counters at the last server_stats */
};

/* ---- passwords and sessions ----------------------------------------------- */

bool admin_bcrypt_hash_valid(const char *h)
{
	static const char b64[] =
	        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	if (!h || strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
	    h[3] != '$' || h[6] != '$')
		return false;
	if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
		return false;
	int cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (size_t i = 7; i < 60; i++)
		if (!strchr(b64, h[i]))
			return false;
	return true;
}

bool admin_password_matches(const char *password, size_t len, const char *hash, void *scratch,
                            size_t scratch_len)
{
	if (memchr(password, '\0', len))
		return false;
	memset(scratch, 0, scratch_len);
	const char *out = crypt_rn(password, hash, scratch, (int)scratch_len);
	if (!out || out[0] == '*' || strlen(out) != strlen(hash))
		return false;
	unsigned char diff = 0; /* the whole length, whatever differs */
	for (size_t i = 0; hash[i]; i++)
		diff |= (unsigned char)(out[i] ^ hash[i]);
	return diff == 0;
}

static bool session_exists(const struct sio_admin *a, const char *id, size_t len)
{
	if (len != SESSION_ID_LEN)
		return false;
	for (size_t i = 0; i < a->nsessions; i++)
		if (memcmp(a->sessions[i], id, SESSION_ID_LEN) == 0)
			return true;
	return false;
}

/* A new session id (hex of 8 random bytes) into out, remembered. Returns
 * false when the random source fails. */
static bool session_new(struct sio_admin *a, char out[SESSION_ID_LEN + 1])
{
	unsigned char r[SESSION_ID_LEN / 2];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return false;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	memcpy(a->sessions[a->next_session], out, SESSION_ID_LEN + 1);
	a->next_session = (a->next_session + 1) % a->max_sessions;
	if (a->nsessions < a->max_sessions)
		a->nsessions++;
	return true;
}

/* The admin namespace's middleware: a known sessionId, or the username
 * and password, which earn a new session (its id is sent as "session"
 * before the CONNECT, as the reference does). */
static int auth_middleware(sio_socket *s, const char **message, json_t **data, void *userdata)
{
	struct sio_admin *a = userdata;
	const json_t *auth = s->hs.auth;
	const json_t *sid = json_object_get(auth, "sessionId");
	if (json_is_string(sid) &&
	    session_exists(a, json_string_value(sid), json_string_length(sid)))
		return 0;
	const json_t *user = json_object_get(auth, "username");
	const json_t *pass = json_object_get(auth, "password");
	if (json_is_string(user) && json_is_string(pass) &&
	    json_string_length(user) == strlen(a->username) &&
	    memcmp(json_string_value(user), a->username, strlen(a->username)) == 0 &&
	    admin_password_matches(json_string_value(pass), json_string_length(pass),
	                           a->password_hash, a->crypt, sizeof(*a->crypt))) {
		char id[SESSION_ID_LEN + 1];
		if (session_new(a, id)) {
			json_t *ev = json_pack("[ss]", "session", id);
			if (ev)
				socket_packet(s, SIO_PACKET_EVENT, -1, ev, NULL, 0, false);
			json_decref(ev);
			return 0;
		}
	}
	*message = "invalid credentials";
	(void)data;
	return -1;
}

/* JavaScript's truthiness of a JSON value (NULL: undefined). */
static bool truthy_value(const json_t *v);

/* ---- aggregated events ----------------------------------------------------- */

/* Appends {timestamp, type, subType, count} to arr unless count is 0. */
static void agg_add(json_t *arr, int64_t ts, const char *type, const char *sub_type, uint64_t count)
{
	if (!arr || !count)
		return;
	json_t *o = json_pack("{s:I,s:s,s:I}", "timestamp", (json_int_t)ts, "type", type, "count",
	                      (json_int_t)count);
	if (o && sub_type)
		json_object_set_new(o, "subType", json_string(sub_type));
	json_array_append_new(arr, o);
}

/* The aggregated events since the last call: what the counters grew by,
 * at this second (the reference stamps each event with its own second;
 * the dashboard sums them by 10 s). Remembers st as the last sample. */
static json_t *agg_sample(struct sio_admin *a, const struct eio_stats *st)
{
	const struct eio_stats *l = &a->last;
	int64_t ts = (int64_t)time(NULL) * 1000;
	json_t *arr = json_array();
	agg_add(arr, ts, "rawConnection", NULL, st->connections - l->connections);
	for (int i = 0; i < EIO_CLOSE_COUNT; i++)
		agg_add(arr, ts, "rawDisconnection",
		        eio_close_reason_name((enum eio_close_reason)i),
		        st->disconnections[i] - l->disconnections[i]);
	agg_add(arr, ts, "packetsIn", NULL, st->packets_received - l->packets_received);
	agg_add(arr, ts, "bytesIn", NULL, st->bytes_received - l->bytes_received);
	agg_add(arr, ts, "packetsOut", NULL, st->packets_sent - l->packets_sent);
	agg_add(arr, ts, "bytesOut", NULL, st->bytes_sent - l->bytes_sent);
	a->last = *st;
	return arr;
}

/* ---- what the dashboards are sent ----------------------------------------- */

/* Emits event [args...] to every dashboard (args stolen). */
static void admin_emit(struct sio_admin *a, const char *event, json_t *args,
                       const struct sio_binary *bins, size_t nbins)
{
	if (args)
		sio_namespace_emit(a->nsp, NULL, event, args, bins, nbins);
}

/* Whether someone watches: nothing is built for nobody. With Redis, the
 * dashboards of other nodes watch too (our emits reach them through the
 * adapter, as the reference's adminNamespace.emit()), and they cannot be
 * counted from here: always. */
static bool watched(const struct sio_admin *a)
{
	return a->nsp->nsockets > 0 || a->srv->has_cluster;
}

/* A JSON date as the reference's `new Date()` serializes: ISO 8601, UTC,
 * milliseconds. */
static json_t *date_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char out[40];
	size_t n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, sizeof(out) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return json_string(out);
}

/* The handshake's `time`: JavaScript's Date.prototype.toString() of ms,
 * "Mon Dec 07 2026 11:09:12 GMT+0000 (Coordinated Universal Time)". */
json_t *js_date_string(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	char out[128];
	size_t n = strftime(out, sizeof(out), "%a %b %d %Y %H:%M:%S GMT%z", &tm);
	bool utc = tm.tm_gmtoff == 0 && tm.tm_zone &&
	           (strcmp(tm.tm_zone, "UTC") == 0 || strcmp(tm.tm_zone, "GMT") == 0);
	snprintf(out + n, sizeof(out) - n, " (%s)",
	         utc          ? "Coordinated Universal Time"
	         : tm.tm_zone ? tm.tm_zone
	                      : "");
	return json_string(out);
}

static const char *transport_name(sio_eio_socket *conn)
{
	return sio_eio_transport(conn) == SIO_TRANSPORT_WEBSOCKET ? "websocket" : "polling";
}

/* The request's headers as Node's req.headers: a repeated one joined
 * with ", " ("; " for cookie). */
json_t *request_headers_json(const struct sio_request *req)
{
	json_t *o = json_object();
	const char *name, *value;
	for (size_t i = 0; o && sio_request_header_at(req, i, &name, &value); i++) {
		json_t *old = json_object_get(o, name);
		if (!old) {
			json_object_set_new(o, name, json_string(value));
			continue;
		}
		const char *sep = strcmp(name, "cookie") == 0 ? "; " : ", ";
		size_t len = json_string_length(old) + strlen(sep) + strlen(value);
		char *joined = malloc(len + 1);
		if (joined) {
			snprintf(joined, len + 1, "%s%s%s", json_string_value(old), sep, value);
			json_object_set_new(o, name, json_string(joined));
			free(joined);
		}
	}
	return o;
}

/* The query as Node's querystring.parse(): a repeated name gives an
 * array. */
json_t *request_query_json(const struct sio_request *req)
{
	json_t *o = json_object();
	const char *name, *value;
	for (size_t i = 0; o && sio_request_query_at(req, i, &name, &value); i++) {
		json_t *old = json_object_get(o, name);
		if (!old) {
			json_object_set_new(o, name, json_string(value));
		} else if (json_is_array(old)) {
			json_array_append_new(old, json_string(value));
		} else {
			json_t *arr = json_pack("[Os]", old, value);
			if (arr)
				json_object_set_new(o, name, arr);
		}
	}
	return o;
}

/* The reference's serialize(socket, nsp). A new reference or NULL. */
static json_t *socket_json(struct sio_socket *s)
{
	sio_eio_socket *conn = s->client->conn;
	const struct sio_request *req = s->hs.request;
	const char *address = sio_request_header(req, "cf-connecting-ip");
	if (!address)
		address = sio_request_header(req, "x-forwarded-for");
	if (!address)
		address = sio_request_address(req);
	json_t *rooms = json_array();
	const char *room;
	for (size_t i = 0; rooms && sio_socket_room_at(s, i, &room); i++)
		json_array_append_new(rooms, json_string(room));
	char client_id[13];
	snprintf(client_id, sizeof(client_id), "%s", sio_eio_id(conn));
	return json_pack("{s:s,s:s,s:s,s:s,s:{},s:{s:s?,s:o*,s:o*,s:I,s:b,s:o*,s:s?,s:b},s:o*}",
	                 "id", s->id, "clientId", client_id, "transport", transport_name(conn),
	                 "nsp", s->nsp->name, "data", "handshake", "address", address, "headers",
	                 request_headers_json(req), "query", request_query_json(req), "issued",
	                 (json_int_t)s->hs.issued, "secure", s->hs.secure, "time",
	                 js_date_string(s->hs.issued), "url", sio_request_url(req), "xdomain",
	                 s->hs.xdomain, "rooms", rooms);
}

/* all_sockets: every socket of every namespace, the admin one included
 * (this node's; with Redis see all_sockets_send()). */
static json_t *all_sockets_json(struct sio_admin *a)
{
	struct sio_layer *io = a->srv->io;
	json_t *arr = json_array();
	for (struct list *n = io->namespaces.next; arr && n != &io->namespaces; n = n->next) {
		struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		for (struct list *k = nsp->sockets.next; k != &nsp->sockets; k = k->next)
			json_array_append_new(
			        arr, socket_json(container_of(k, struct sio_socket, nsp_link)));
	}
	return arr;
}

/* ---- all_sockets across the cluster ----------------------------------------------- */

/* The reference's serialize() of what fetchSockets() gives (a
 * RemoteSocket's {id, handshake, rooms, data}): clientId and transport come
 * from data._admin, the node that holds the socket put them there
 * (socket_data() below, or the reference's instrument()). */
static json_t *fetched_socket_json(const json_t *r, const char *nsp)
{
	const json_t *data = json_object_get(r, "data");
	const json_t *own = json_object_get(data, "_admin");
	const json_t *hs = json_object_get(r, "handshake");
	const json_t *headers = json_object_get(hs, "headers");
	const json_t *address = json_object_get(headers, "cf-connecting-ip");
	if (!truthy_value(address))
		address = json_object_get(headers, "x-forwarded-for");
	if (!truthy_value(address))
		address = json_object_get(hs, "address");
	json_t *rest = json_is_object(data) ? json_copy((json_t *)data) : json_object();
	if (rest)
		json_object_del(rest, "_admin");
	return json_pack("{s:O*,s:O*,s:O*,s:s,s:o*,s:{s:O*,s:O*,s:O*,s:O*,s:O*,s:O*,s:O*,s:O*},"
	                 "s:O*}",
	                 "id", json_object_get(r, "id"), "clientId",
	                 json_object_get(own, "clientId"), "transport",
	                 json_object_get(own, "transport"), "nsp", nsp, "data", rest, "handshake",
	                 "address", address, "headers", headers, "query",
	                 json_object_get(hs, "query"), "issued", json_object_get(hs, "issued"),
	                 "secure", json_object_get(hs, "secure"), "time",
	                 json_object_get(hs, "time"), "url", json_object_get(hs, "url"), "xdomain",
	                 json_object_get(hs, "xdomain"), "rooms", json_object_get(r, "rooms"));
}

/* One all_sockets being gathered: a fetch-sockets per namespace, each
 * answering into its part (the namespaces' order kept, as the
 * reference's Promise.all), sent to the dashboard once all answered. */
struct all_sockets_req {
	struct sio_admin *a;
	char *dashboard; /* the asking socket's id: it may be gone by then */
	json_t *parts;   /* one array per namespace */
	size_t pending;  /* answers to come, +1 while the calls are made */
	bool closed;     /* the server is being destroyed: send nothing */
	struct all_sockets_part {
		struct all_sockets_req *req;
		size_t index;
	} part[];
};

static void all_sockets_settle(struct all_sockets_req *r)
{
	if (--r->pending)
		return;
	if (!r->closed) {
		struct sio_namespace *nsp = r->a->nsp;
		for (struct list *n = nsp->sockets.next; n != &nsp->sockets; n = n->next) {
			struct sio_socket *s = container_of(n, struct sio_socket, nsp_link);
			if (strcmp(s->id, r->dashboard) != 0)
				continue;
			json_t *all = json_array();
			size_t i;
			json_t *part;
			json_array_foreach(r->parts, i, part) json_array_extend(all, part);
			if (all)
				sio_socket_emit(s, "all_sockets", json_pack("[o]", all), NULL, 0);
			break;
		}
	}
	json_decref(r->parts);
	free(r->dashboard);
	free(r);
}

/* What one namespace's fetch gave: every node's sockets (after a node
 * that did not answer in time, what came). */
static void all_sockets_answer(sio_namespace *nsp, int err, json_t *sockets, void *userdata)
{
	struct all_sockets_part *p = userdata;
	struct all_sockets_req *r = p->req;
	if (err == SIO_ECLOSED) {
		r->closed = true; /* nsp may be read, r->a not touched */
	} else {
		json_t *part = json_array_get(r->parts, p->index);
		size_t i;
		json_t *v;
		json_array_foreach(sockets, i, v)
		        json_array_append_new(part, fetched_socket_json(v, nsp->name));
	}
	all_sockets_settle(r);
}

/* Sends all_sockets to dashboard s: this node's sockets at once without
 * Redis; with Redis, every node's, as the reference's fetchSockets() of
 * each namespace this node has. */
static void all_sockets_send(struct sio_admin *a, struct sio_socket *s)
{
	struct sio_layer *io = a->srv->io;
	if (!a->srv->has_cluster) {
		sio_socket_emit(s, "all_sockets", json_pack("[o]", all_sockets_json(a)), NULL, 0);
		return;
	}
	size_t n = 0;
	for (struct list *k = io->namespaces.next; k != &io->namespaces; k = k->next)
		n++;
	struct all_sockets_req *r = calloc(1, sizeof(*r) + n * sizeof(r->part[0]));
	if (!r)
		return;
	r->a = a;
	r->dashboard = strdup(s->id);
	r->parts = json_array();
	for (size_t i = 0; r->parts && i < n; i++)
		json_array_append_new(r->parts, json_array());
	if (!r->dashboard || json_array_size(r->parts) != n) {
		json_decref(r->parts);
		free(r->dashboard);
		free(r);
		return;
	}
	r->pending = 1;
	size_t i = 0;
	for (struct list *k = io->namespaces.next; k != &io->namespaces; k = k->next, i++) {
		struct sio_namespace *nsp = container_of(k, struct sio_namespace, link);
		r->part[i] = (struct all_sockets_part){.req = r, .index = i};
		if (sio_namespace_fetch_sockets_async(nsp, NULL, all_sockets_answer, &r->part[i]) ==
		    0)
			r->pending++; /* a dynamic parent has no sockets of its own: skipped */
	}
	all_sockets_settle(r);
}

/* The observer's socket_data: _admin {clientId, transport} in the data
 * that fetch-sockets shows, as the reference's socket.data._admin, so that
 * the dashboards of every node tell a socket's client and transport. */
static void on_socket_data(void *ud, struct sio_socket *s, json_t *data)
{
	(void)ud;
	sio_eio_socket *conn = s->client->conn;
	char client_id[13];
	snprintf(client_id, sizeof(client_id), "%s", sio_eio_id(conn));
	json_object_set_new(
	        data, "_admin",
	        json_pack("{s:s,s:s}", "clientId", client_id, "transport", transport_name(conn)));
}

/* ---- observer: live events (development mode) ---------------------------------- */

static void on_socket_connect(void *ud, struct sio_socket *s)
{
	struct sio_admin *a = ud;
	if (watched(a))
		admin_emit(a, "socket_connected", json_pack("[oo]", socket_json(s), date_now()),
		           NULL, 0);
}

static void on_socket_disconnect(void *ud, struct sio_socket *s, const char *reason)
{
	struct sio_admin *a = ud;
	if (watched(a))
		admin_emit(a, "socket_disconnected",
		           json_pack("[ssso]", s->nsp->name, s->id, reason, date_now()), NULL, 0);
}

static void on_room_join(void *ud, struct sio_socket *s, const char *room)
{
	struct sio_admin *a = ud;
	if (watched(a))
		admin_emit(a, "room_joined",
		           json_pack("[ssso]", s->nsp->name, room, s->id, date_now()), NULL, 0);
}

static void on_room_leave(void *ud, struct sio_socket *s, const char *room)
{
	struct sio_admin *a = ud;
	if (watched(a))
		admin_emit(a, "room_left",
		           json_pack("[ssso]", s->nsp->name, room, s->id, date_now()), NULL, 0);
}

static void on_event_in(void *ud, struct sio_socket *s, const struct sio_pkt *p)
{
	struct sio_admin *a = ud;
	if (s->nsp == a->nsp || !watched(a))
		return;
	struct sio_binary stack_bins[16];
	struct sio_binary *bins = stack_bins;
	uint32_t n = p->bufs ? p->attachments : 0;
	if (n > 16 && !(bins = malloc(n * sizeof(*bins))))
		return;
	for (uint32_t i = 0; i < n; i++)
		bins[i] = (struct sio_binary){.data = p->bufs[i].data, .len = p->bufs[i].len};
	admin_emit(a, "event_received",
	           json_pack("[ssOo]", s->nsp->name, s->id, p->data, date_now()), bins, n);
	if (bins != stack_bins)
		free(bins);
}

static void on_event_out(void *ud, struct sio_socket *s, const json_t *data,
                         const struct sio_binary *bins, size_t nbins)
{
	struct sio_admin *a = ud;
	if (s->nsp == a->nsp || !watched(a))
		return;
	admin_emit(a, "event_sent",
	           json_pack("[ssOo]", s->nsp->name, s->id, (json_t *)data, date_now()), bins,
	           nbins);
}

static void on_conn_upgrade(void *ud, sio_eio_socket *conn)
{
	struct sio_admin *a = ud;
	struct sio_client *c = eio_session_layer(conn);
	if (!c || !watched(a))
		return;
	for (struct list *n = c->sockets.next; n != &c->sockets; n = n->next) {
		struct sio_socket *s = container_of(n, struct sio_socket, client_link);
		admin_emit(a, "socket_updated",
		           json_pack("[{s:s,s:s,s:s}]", "id", s->id, "nsp", s->nsp->name,
		                     "transport", "websocket"),
		           NULL, 0);
	}
}

/* ---- server_stats ------------------------------------------------------------ */

/* The process's age in seconds, from /proc (0 when unreadable). */
static double process_uptime(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f)
		return 0;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* field 22, starttime in clock ticks since boot, counted after the
	 * command name's closing parenthesis (field 2 may hold spaces) */
	char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	struct timespec boot;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
		return 0;
	double age = (double)boot.tv_sec + (double)boot.tv_nsec / 1e9 - (double)start / (double)hz;
	return age > 0 ? age : 0;
}

static json_t *namespaces_json(struct sio_admin *a)
{
	struct sio_layer *io = a->srv->io;
	json_t *arr = json_array();
	for (struct list *n = io->namespaces.next; arr && n != &io->namespaces; n = n->next) {
		struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		json_array_append_new(arr, json_pack("{s:s,s:I}", "name", nsp->name, "socketsCount",
		                                     (json_int_t)nsp->nsockets));
	}
	return arr;
}

static void stats_tick(sio_timer *t, void *userdata)
{
	(void)t;
	struct sio_admin *a = userdata;
	struct eio_stats st;
	eio_engine_stats(a->srv->engine, &st);
	json_t *events = agg_sample(a, &st); /* sent or not, as getValuesAndClear() */
	if (!watched(a)) {
		json_decref(events);
		return;
	}
	double uptime = a->uptime_at_start + (double)(now_ms() - a->start_ms) / 1000.0;
	json_t *stats = json_pack("{s:s,s:s,s:I,s:f,s:I,s:I,s:o*,s:o*}", "serverId", a->server_id,
	                          "hostname", a->hostname, "pid", (json_int_t)getpid(), "uptime",
	                          uptime, "clientsCount", (json_int_t)st.clients,
	                          "pollingClientsCount", (json_int_t)st.clients_polling,
	                          "aggregatedEvents", events, "namespaces", namespaces_json(a));
	if (stats)
		admin_emit(a, "server_stats", json_pack("[o]", stats), NULL, 0);
}

/* ---- commands ---------------------------------------------------------------- */

static bool truthy_value(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_TRUE:
	case JSON_OBJECT:
	case JSON_ARRAY:
		return true;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0; /* NaN cannot come from JSON */
	default:
		return false;
	}
}

/* The namespace a command names (never created), or NULL. */
static struct sio_namespace *command_nsp(struct sio_admin *a, const json_t *name)
{
	if (!json_is_string(name))
		return NULL;
	return namespace_find(a->srv->io, json_string_value(name), json_string_length(name));
}

#define MAX_FILTER_ROOMS 64

/* The selection of a command's filter, as the reference's in(filter): a
 * falsy filter is every socket, a room name or an array of them those
 * rooms. rooms holds MAX_FILTER_ROOMS + 1 entries. False for a filter of
 * another kind (the command is then ignored). */
static bool command_target(const json_t *filter, struct sio_target *t, const char **rooms)
{
	memset(t, 0, sizeof(*t));
	if (!truthy_value(filter))
		return true;
	size_t n = 0;
	if (json_is_string(filter)) {
		rooms[n++] = json_string_value(filter);
	} else if (json_is_array(filter)) {
		size_t i;
		json_t *v;
		json_array_foreach(filter, i, v)
		{
			if (!json_is_string(v) || n == MAX_FILTER_ROOMS)
				return false;
			rooms[n++] = json_string_value(v);
		}
		if (n == 0)
			return false; /* in([]) selects nobody */
	} else {
		return false;
	}
	rooms[n] = NULL;
	t->rooms = rooms;
	return true;
}

/* emit(nsp, filter, event, ...args) */
static void cmd_emit(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                     size_t nbins, sio_ack *ack, void *userdata)
{
	(void)s;
	(void)event;
	(void)ack;
	struct sio_admin *a = userdata;
	struct sio_namespace *nsp = command_nsp(a, json_array_get(args, 0));
	const json_t *name = json_array_get(args, 2);
	struct sio_target t;
	const char *rooms[MAX_FILTER_ROOMS + 1];
	if (!nsp || !json_is_string(name) || !command_target(json_array_get(args, 1), &t, rooms))
		return;
	json_t *rest = json_array();
	for (size_t i = 3; rest && i < json_array_size(args); i++)
		json_array_append(rest, json_array_get(args, i));
	sio_namespace_emit(nsp, &t, json_string_value(name), rest, bins, nbins);
}

/* join / leave (nsp, room, filter) and _disconnect(nsp, close, filter) */
static void cmd_rooms(sio_socket *s, const char *event, json_t *args, const struct sio_binary *bins,
                      size_t nbins, sio_ack *ack, void *userdata)
{
	(void)s;
	(void)bins;
	(void)nbins;
	(void)ack;
	struct sio_admin *a = userdata;
	struct sio_namespace *nsp = command_nsp(a, json_array_get(args, 0));
	const json_t *arg = json_array_get(args, 1);
	struct sio_target t;
	const char *rooms[MAX_FILTER_ROOMS + 1];
	if (!nsp || !command_target(json_array_get(args, 2), &t, rooms))
		return;
	if (strcmp(event, "_disconnect") == 0)
		sio_namespace_disconnect_sockets(nsp, &t, truthy_value(arg));
	else if (!json_is_string(arg))
		return;
	else if (strcmp(event, "join") == 0)
		sio_namespace_sockets_join(nsp, &t, json_string_value(arg));
	else
		sio_namespace_sockets_leave(nsp, &t, json_string_value(arg));
}

/* A dashboard logged in: its commands, config, and in development mode
 * every socket. */
static void on_admin_connection(sio_socket *s, void *userdata)
{
	struct sio_admin *a = userdata;
	if (!a->read_only) {
		sio_socket_on(s, "emit", cmd_emit, a);
		sio_socket_on(s, "join", cmd_rooms, a);
		sio_socket_on(s, "leave", cmd_rooms, a);
		sio_socket_on(s, "_disconnect", cmd_rooms, a);
	}
	sio_socket_emit(s, "config", json_pack("[{s:O}]", "supportedFeatures", a->features), NULL,
	                0);
	if (a->dev)
		all_sockets_send(a, s);
}

/* ---- instrument ---------------------------------------------------------------- */

SIO_API void sio_admin_options_init(struct sio_admin_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->namespace_name = "/admin";
	o->mode = SIO_ADMIN_PRODUCTION;
	o->max_sessions = 1000;
}

void admin_free(struct sio_admin *a)
{
	if (!a)
		return;
	free(a->sessions);
	json_decref(a->features);
	free(a->crypt);
	free(a->username);
	free(a->password_hash);
	free(a->server_id);
	free(a->ui_prefix);
	free(a->ui_dir);
	free(a);
}

/* A URL path for the UI: '/' then unreserved characters and '/', not "/"
 * alone; made to end with '/'. NULL when not one, or out of memory. */
static char *ui_prefix_of(const char *p, int *err)
{
	*err = SIO_EINVAL;
	size_t n = strlen(p);
	if (n < 2 || p[0] != '/' ||
	    strspn(p, "/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	              "0123456789-._~") != n)
		return NULL;
	*err = SIO_ENOMEM;
	char *out = malloc(n + 2);
	if (out)
		snprintf(out, n + 2, "%s%s", p, p[n - 1] == '/' ? "" : "/");
	return out;
}

static int features_init(struct sio_admin *a)
{
	static const char *const commands[] = {"EMIT",  "JOIN",   "LEAVE",      "DISCONNECT",
	                                       "MJOIN", "MLEAVE", "MDISCONNECT"};
	a->features = json_array();
	for (size_t i = 0; a->features && !a->read_only && i < 7; i++)
		json_array_append_new(a->features, json_string(commands[i]));
	if (a->features) {
		json_array_append_new(a->features, json_string("AGGREGATED_EVENTS"));
		if (a->dev)
			json_array_append_new(a->features, json_string("ALL_EVENTS"));
	}
	return a->features ? 0 : SIO_ENOMEM;
}

/* Copies and checks the options into a. Returns 0 or an SIO_E* code. */
static int admin_configure(struct sio_admin *a, const struct sio_admin_options *o)
{
	const char *name = o->namespace_name ? o->namespace_name : "/admin";
	if (name[0] != '/' || !o->username != !o->password_hash ||
	    (o->password_hash && !admin_bcrypt_hash_valid(o->password_hash)) ||
	    (o->mode != SIO_ADMIN_PRODUCTION && o->mode != SIO_ADMIN_DEVELOPMENT))
		return SIO_EINVAL;
	a->read_only = o->read_only;
	a->dev = o->mode == SIO_ADMIN_DEVELOPMENT;
	a->max_sessions = o->max_sessions ? o->max_sessions : 1;
	if (gethostname(a->hostname, sizeof(a->hostname) - 1) != 0)
		snprintf(a->hostname, sizeof(a->hostname), "localhost");
	char id[300];
	snprintf(id, sizeof(id), "%s#%ld", a->hostname, (long)getpid());
	a->server_id = strdup(o->server_id ? o->server_id : id);
	a->sessions = calloc(a->max_sessions, sizeof(*a->sessions));
	if (!a->server_id || !a->sessions || features_init(a) < 0)
		return SIO_ENOMEM;
	if (o->username) {
		a->username = strdup(o->username);
		a->password_hash = strdup(o->password_hash);
		a->crypt = calloc(1, sizeof(*a->crypt));
		if (!a->username || !a->password_hash || !a->crypt)
			return SIO_ENOMEM;
	}
	if (o->ui_path) {
		int err;
		a->ui_prefix = ui_prefix_of(o->ui_path, &err);
		if (!a->ui_prefix)
			return err;
		if (strncmp(a->ui_prefix, a->srv->path, strlen(a->srv->path)) == 0 ||
		    strncmp(a->ui_prefix, a->srv->path, strlen(a->ui_prefix)) == 0)
			return SIO_EINVAL; /* in the way of the Engine.IO path */
		const char *dir = o->ui_dir ? o->ui_dir : SIOC_ADMIN_UI_DIR;
		size_t len = strlen(dir) + sizeof("/index.html");
		if (!(a->ui_dir = malloc(len)))
			return SIO_ENOMEM;
		struct stat st;
		snprintf(a->ui_dir, len, "%s/index.html", dir);
		if (!dir[0] || stat(a->ui_dir, &st) != 0 || !S_ISREG(st.st_mode))
			return SIO_ENOTFOUND;
		a->ui_dir[strlen(dir)] = '\0';
		a->mount = (struct static_mount){.prefix = a->ui_prefix, .dir = a->ui_dir};
	}
	return 0;
}

SIO_API int sio_admin_instrument(sio_server *srv, const struct sio_admin_options *opts)
{
	struct sio_admin_options defaults;
	if (!opts) {
		sio_admin_options_init(&defaults);
		opts = &defaults;
	}
	if (!srv || !srv->sio_layer)
		return SIO_EINVAL;
	if (srv->admin)
		return SIO_ESTATE;
	struct sio_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return SIO_ENOMEM;
	a->srv = srv;
	int rc = admin_configure(a, opts);
	sio_timer *timer = NULL;
	if (rc == 0) {
		rc = SIO_ENOMEM;
		a->nsp = sio_server_of(srv, opts->namespace_name ? opts->namespace_name : "/admin");
		timer = a->nsp ? sio_timer_start(srv, 0, STATS_INTERVAL_MS, stats_tick, a) : NULL;
	}
	/* a middleware cannot be taken back: the last step that may fail */
	if (timer && (!a->username || sio_namespace_use(a->nsp, auth_middleware, a) == 0))
		rc = 0;
	if (rc < 0) {
		sio_timer_stop(timer);
		admin_free(a);
		return rc;
	}
	struct sio_namespace_events ev = {.version = SIO_NAMESPACE_EVENTS_VERSION,
	                                  .connection = on_admin_connection};
	sio_namespace_set_events(a->nsp, &ev, a);
	a->start_ms = now_ms();
	a->uptime_at_start = process_uptime();
	eio_engine_stats(srv->engine, &a->last); /* what came before is not reported */
	if (a->dev) {
		a->obs.userdata = a;
		a->obs.conn_upgrade = on_conn_upgrade;
		a->obs.socket_connect = on_socket_connect;
		a->obs.socket_disconnect = on_socket_disconnect;
		a->obs.room_join = on_room_join;
		a->obs.room_leave = on_room_leave;
		a->obs.event_in = on_event_in;
		a->obs.event_out = on_event_out;
		a->obs.socket_data = on_socket_data;
	}
	srv->io->observer = a->dev ? &a->obs : NULL; /* production: no hook at all */
	if (a->ui_prefix)
		eio_engine_set_static_mount(srv->engine, &a->mount);
	srv->admin = a;
	return 0;
}
