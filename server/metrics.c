/*
 * The numbers: the Socket.IO layer's refusals, sio_server_stats() and the
 * Prometheus page (text format 0.0.4) the front serves on
 * opts.metrics_path. The engine keeps its own counters (transports/eio.h),
 * the layer its own (sio.h), the wiring the loop's; this file adds them up.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "server/server.h"
#include "server/sio.h"
#include "transports/eio.h"

static const char *const layer_refusal_names[SIO_REFUSED_COUNT] = {
        [SIO_REFUSED_INVALID_NAMESPACE] = "invalid_namespace",
        [SIO_REFUSED_NAMESPACE_CAP] = "namespace_cap",
        [SIO_REFUSED_MIDDLEWARE] = "middleware",
};

static const char *const layer_refusal_events[SIO_REFUSED_COUNT] = {
        [SIO_REFUSED_INVALID_NAMESPACE] = "refused.invalid_namespace",
        [SIO_REFUSED_NAMESPACE_CAP] = "refused.namespace_cap",
        [SIO_REFUSED_MIDDLEWARE] = "refused.middleware",
};

void layer_refuse(struct sio_layer *io, enum sio_refusal cause, struct sio_client *c,
                  const char *name, size_t len, const char *detail)
{
	io->refused[cause]++;
	if (!log_enabled(io->log, SIO_LOG_INFO))
		return;
	const struct sio_request *req = sio_eio_request(c->conn);
	log_msg(io->log, SIO_LOG_INFO, layer_refusal_events[cause], "%s %s namespace %.*s: %s",
	        req ? sio_request_address(req) : "", sio_eio_id(c->conn),
	        len > 200 ? 200 : (int)len, name, detail ? detail : layer_refusal_names[cause]);
}

/* ---- namespaces ---------------------------------------------------------- */

SIO_API size_t sio_namespace_rooms_count(const sio_namespace *nsp)
{
	if (!nsp || !nsp->adapter || !nsp->adapter->ops->rooms_count)
		return 0;
	return nsp->adapter->ops->rooms_count(nsp->adapter);
}

SIO_API bool sio_server_namespace_at(sio_server *srv, size_t i, sio_namespace **nsp)
{
	if (!srv || !nsp)
		return false;
	struct list *head = &srv->io->namespaces;
	for (struct list *n = head->next; n != head; n = n->next) {
		if (i-- == 0) {
			*nsp = container_of(n, struct sio_namespace, link);
			return true;
		}
	}
	return false;
}

/* ---- sio_server_stats() -------------------------------------------------- */

/* The size of the first version of struct sio_server_stats (the
 * recovery gauges came after it). */
#define STATS_V1_SIZE offsetof(struct sio_server_stats, recovery_sessions)

SIO_API int sio_server_stats(const sio_server *srv, struct sio_server_stats *out)
{
	if (!srv || !out || out->size < STATS_V1_SIZE)
		return SIO_EINVAL;
	struct eio_stats e;
	eio_engine_stats(srv->engine, &e);
	struct sio_server_stats st = {.size = out->size};
	st.clients = e.clients;
	st.clients_polling = e.clients_polling;
	st.clients_websocket = e.clients_websocket;
	st.queued_bytes = e.queued_bytes;
	const struct sio_layer *io = srv->io;
	for (const struct list *n = io->namespaces.next; n != &io->namespaces; n = n->next) {
		const struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		st.namespaces++;
		st.sockets += nsp->nsockets;
		st.rooms += sio_namespace_rooms_count(nsp);
	}
	st.connections = e.connections;
	st.packets_received = e.packets_received;
	st.packets_sent = e.packets_sent;
	st.bytes_received = e.bytes_received;
	st.bytes_sent = e.bytes_sent;
	st.upgrades = e.upgrades;
	st.queue_full = e.queue_full;
	st.events_dropped = e.events_dropped + io->events_dropped;

	const uint64_t *d = e.disconnections;
	st.disconnect_transport_close = d[EIO_CLOSE_TRANSPORT_CLOSE];
	st.disconnect_transport_error = d[EIO_CLOSE_TRANSPORT_ERROR];
	st.disconnect_ping_timeout = d[EIO_CLOSE_PING_TIMEOUT];
	st.disconnect_parse_error = d[EIO_CLOSE_PARSE_ERROR];
	st.disconnect_forced_close = d[EIO_CLOSE_FORCED_CLOSE];
	st.disconnect_queue_full = d[EIO_CLOSE_QUEUE_FULL];
	st.disconnect_server_shutting_down = d[EIO_CLOSE_SERVER_SHUTTING_DOWN];

	const uint64_t *r = e.refused;
	st.refused_per_address_cap = r[EIO_REFUSED_PER_ADDRESS_CAP];
	st.refused_pending_cap = r[EIO_REFUSED_PENDING_CAP];
	st.refused_shutting_down = r[EIO_REFUSED_SHUTTING_DOWN];
	st.refused_unknown_transport = r[EIO_REFUSED_UNKNOWN_TRANSPORT];
	st.refused_unknown_sid = r[EIO_REFUSED_UNKNOWN_SID];
	st.refused_bad_handshake_method = r[EIO_REFUSED_BAD_HANDSHAKE_METHOD];
	st.refused_bad_request = r[EIO_REFUSED_BAD_REQUEST];
	st.refused_bad_origin = r[EIO_REFUSED_BAD_ORIGIN];
	st.refused_forbidden = r[EIO_REFUSED_FORBIDDEN];
	st.refused_unsupported_version = r[EIO_REFUSED_UNSUPPORTED_VERSION];
	st.refused_http_error = r[EIO_REFUSED_HTTP_ERROR];
	st.refused_timeout = r[EIO_REFUSED_TIMEOUT];
	st.refused_unauthorized = r[EIO_REFUSED_UNAUTHORIZED];
	st.refused_invalid_namespace = io->refused[SIO_REFUSED_INVALID_NAMESPACE];
	st.refused_namespace_cap = io->refused[SIO_REFUSED_NAMESPACE_CAP];
	st.refused_middleware = io->refused[SIO_REFUSED_MIDDLEWARE];

	memcpy(st.loop_turns, srv->loop_turns, sizeof(st.loop_turns));
	st.loop_turn_us_sum = srv->loop_turn_us_sum;
	st.refused_tls = r[EIO_REFUSED_TLS];
	recovery_counts(io->recovery, &st.recovery_sessions, &st.history_records,
	                &st.history_bytes);
	if (srv->has_cluster)
		srv->cluster.stats(srv->cluster.ud, &st);

	memcpy(out, &st, out->size < sizeof(st) ? out->size : sizeof(st));
	out->size = out->size < sizeof(st) ? out->size : sizeof(st);
	return 0;
}

/* ---- the Prometheus page ------------------------------------------------- */

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_append_str(b, "\\\\");
		else if (*v == '"')
			buf_append_str(b, "\\\"");
		else if (*v == '\n')
			buf_append_str(b, "\\n");
		else
			buf_append(b, v, 1);
	}
}

static void per_namespace(struct buf *b, const struct sio_layer *io, bool rooms)
{
	for (const struct list *n = io->namespaces.next; n != &io->namespaces; n = n->next) {
		const struct sio_namespace *nsp = container_of(n, struct sio_namespace, link);
		buf_printf(b, "%s{namespace=\"", rooms ? "sioc_rooms" : "sioc_sockets");
		label_value(b, nsp->name);
		buf_printf(b, "\"} %zu\n", rooms ? sio_namespace_rooms_count(nsp) : nsp->nsockets);
	}
}

static const char *const reason_labels[] = {
        "transport close", "transport error", "ping timeout",         "parse error",
        "forced close",    "queue full",      "server shutting down",
};

int metrics_render(struct buf *b, void *userdata)
{
	struct sio_server *srv = userdata;
	struct sio_server_stats st = {.size = sizeof(st)};
	sio_server_stats(srv, &st);
	const struct sio_layer *io = srv->io;

	head(b, "sioc_clients", "gauge", "Engine.IO sessions open.");
	buf_printf(b, "sioc_clients %llu\n", (unsigned long long)st.clients);
	head(b, "sioc_clients_by_transport", "gauge", "Engine.IO sessions by transport in use.");
	buf_printf(b, "sioc_clients_by_transport{transport=\"polling\"} %llu\n",
	           (unsigned long long)st.clients_polling);
	buf_printf(b, "sioc_clients_by_transport{transport=\"websocket\"} %llu\n",
	           (unsigned long long)st.clients_websocket);
	head(b, "sioc_sockets", "gauge", "Socket.IO sockets by namespace.");
	per_namespace(b, io, false);
	head(b, "sioc_rooms", "gauge", "Rooms by namespace, each socket's own room included.");
	per_namespace(b, io, true);
	head(b, "sioc_queued_bytes", "gauge", "Bytes waiting in the sessions' output queues.");
	buf_printf(b, "sioc_queued_bytes %llu\n", (unsigned long long)st.queued_bytes);

	const struct {
		const char *name, *type, *help;
		uint64_t v;
	} plain[] = {
	        {"sioc_connections_total", "counter", "Engine.IO sessions opened.", st.connections},
	        {"sioc_packets_received_total", "counter", "Engine.IO packets received.",
	         st.packets_received},
	        {"sioc_packets_sent_total", "counter", "Engine.IO packets sent.", st.packets_sent},
	        {"sioc_bytes_received_total", "counter",
	         "Bytes read from the sockets, HTTP included.", st.bytes_received},
	        {"sioc_bytes_sent_total", "counter", "Bytes written to the sockets, HTTP included.",
	         st.bytes_sent},
	        {"sioc_upgrades_total", "counter", "Sessions upgraded from polling to websocket.",
	         st.upgrades},
	        {"sioc_queue_full_total", "counter", "Sends refused by a full output queue.",
	         st.queue_full},
	        {"sioc_events_dropped_total", "counter",
	         "Volatile emits a transport could not take.", st.events_dropped},
	        {"sioc_recovery_sessions", "gauge", "Sessions kept for connection state recovery.",
	         st.recovery_sessions},
	        {"sioc_recovery_history_records", "gauge",
	         "Emits kept for connection state recovery (one record per emit).",
	         st.history_records},
	        {"sioc_recovery_history_bytes", "gauge",
	         "Bytes of the recovery history (records and the packets they share).",
	         st.history_bytes},
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		head(b, plain[i].name, plain[i].type, plain[i].help);
		buf_printf(b, "%s %llu\n", plain[i].name, (unsigned long long)plain[i].v);
	}

	if (srv->has_cluster) {
		const struct {
			const char *name, *help;
			uint64_t v;
		} redis[] = {
		        {"sioc_redis_published_total", "Messages published to Redis.",
		         st.redis_published},
		        {"sioc_redis_received_total", "Messages received from Redis subscriptions.",
		         st.redis_received},
		        {"sioc_redis_dropped_total",
		         "Messages not published: Redis down or its queue full.", st.redis_dropped},
		        {"sioc_redis_reconnects_total", "Reconnections to Redis after a loss.",
		         st.redis_reconnects},
		};
		for (size_t i = 0; i < sizeof(redis) / sizeof(redis[0]); i++) {
			head(b, redis[i].name, "counter", redis[i].help);
			buf_printf(b, "%s %llu\n", redis[i].name, (unsigned long long)redis[i].v);
		}
		head(b, "sioc_redis_connected", "gauge",
		     "Both Redis connections up (1) or not (0).");
		buf_printf(b, "sioc_redis_connected %llu\n",
		           (unsigned long long)st.redis_connected);
		head(b, "sioc_redis_queued_bytes", "gauge",
		     "Bytes sent to Redis and not yet acknowledged.");
		buf_printf(b, "sioc_redis_queued_bytes %llu\n",
		           (unsigned long long)st.redis_queued_bytes);
	}

	struct eio_stats e;
	eio_engine_stats(srv->engine, &e);
	head(b, "sioc_disconnections_total", "counter", "Engine.IO sessions closed, by reason.");
	for (int i = 0; i < EIO_CLOSE_COUNT; i++)
		buf_printf(b, "sioc_disconnections_total{reason=\"%s\"} %llu\n", reason_labels[i],
		           (unsigned long long)e.disconnections[i]);
	head(b, "sioc_handshakes_refused_total", "counter",
	     "Requests and namespace connections refused, by cause.");
	for (int i = 0; i < EIO_REFUSED_COUNT; i++)
		buf_printf(b, "sioc_handshakes_refused_total{cause=\"%s\"} %llu\n",
		           eio_refusal_name((enum eio_refusal)i), (unsigned long long)e.refused[i]);
	for (int i = 0; i < SIO_REFUSED_COUNT; i++)
		buf_printf(b, "sioc_handshakes_refused_total{cause=\"%s\"} %llu\n",
		           layer_refusal_names[i], (unsigned long long)io->refused[i]);

	static const unsigned bounds[] = SIO_STATS_LOOP_US;
	head(b, "sioc_loop_turn_seconds", "histogram",
	     "Time the loop spent on each turn's work (between two waits).");
	uint64_t cum = 0;
	for (int i = 0; i < SIO_STATS_LOOP_BUCKETS; i++) {
		cum += st.loop_turns[i];
		if (i + 1 < SIO_STATS_LOOP_BUCKETS)
			buf_printf(b, "sioc_loop_turn_seconds_bucket{le=\"%g\"} %llu\n",
			           bounds[i] / 1e6, (unsigned long long)cum);
		else
			buf_printf(b, "sioc_loop_turn_seconds_bucket{le=\"+Inf\"} %llu\n",
			           (unsigned long long)cum);
	}
	buf_printf(b, "sioc_loop_turn_seconds_sum %.6f\n", st.loop_turn_us_sum / 1e6);
	buf_printf(b, "sioc_loop_turn_seconds_count %llu\n", (unsigned long long)cum);
	return b->data ? 0 : -1;
}

void metrics_loop_turn(struct sio_server *srv, uint64_t us)
{
	static const unsigned bounds[] = SIO_STATS_LOOP_US;
	int i = 0;
	while (i < SIO_STATS_LOOP_BUCKETS - 1 && us > bounds[i])
		i++;
	srv->loop_turns[i]++;
	srv->loop_turn_us_sum += us;
}
