/*
 * sioc: a Socket.IO server in C.
 *
 * This is the only public header. Everything here is named sio_ / SIO_;
 * nothing else in the library is exported.
 *
 * Threading: a server runs on one thread, the one that calls
 * sio_server_run(). Every function below must be called on that thread
 * (from inside a callback, or before run() starts), except those marked
 * "thread-safe".
 *
 * Errors: functions that can fail return a negative SIO_E* code (0 or a
 * positive value on success); sio_strerror() names it. When a call that
 * takes a callback fails, that callback is never called.
 *
 * Strings handed to callbacks are borrowed: valid until the callback
 * returns unless said otherwise. Copy what you keep.
 */
#ifndef SIOC_H
#define SIOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SIO_API __attribute__((visibility("default")))
#else
#define SIO_API
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

/*
 * Every error code, once: XX(name, value, description) for SIO_<name>.
 * The enum below and sio_strerror() are made from it (as libuv's
 * UV_ERRNO_MAP); values never change.
 */
#define SIO_ERRNO_MAP(XX)                                                                    \
	XX(EINVAL, -1, "invalid argument")                                                    \
	XX(ENOMEM, -2, "out of memory")                                                       \
	XX(ECLOSED, -3, "connection closed")      /* the connection is closed or closing */   \
	XX(EFULL, -4, "output queue full")        /* the connection's output queue is full */ \
	XX(ELISTEN, -5, "cannot listen")          /* could not bind or listen */              \
	XX(ESTATE, -6, "invalid state for this call")                                         \
	XX(EEVLIB, -7, "event library unavailable (install libwebsockets-evlib-ev)")          \
	XX(ETOOBIG, -8, "message too large")      /* larger than allowed */                   \
	XX(ETIMEDOUT, -9, "operation has timed out") /* an acknowledgement came too late */   \
	XX(ERESERVED, -10, "reserved event name") /* connect, disconnect, ... */              \
	XX(ENOTFOUND, -11, "not found")           /* no such room, namespace or handler */ \
	XX(ETLS, -12, "TLS certificate, key or CA file unusable") /* see the log line */

enum sio_error {
	SIO_OK = 0,
#define SIO_ERRNO_ENUM(name, value, text) SIO_##name = value,
	SIO_ERRNO_MAP(SIO_ERRNO_ENUM)
#undef SIO_ERRNO_ENUM
};

/* Returns a static, human-readable description of an SIO_E* code. */
SIO_API const char *sio_strerror(int err);

/* ------------------------------------------------------------------ */
/* Requests (the HTTP request that opened a session, or any request      */
/* seen by a hook)                                                       */
/* ------------------------------------------------------------------ */

struct sio_request;

/* "GET", "POST", ... */
SIO_API const char *sio_request_method(const struct sio_request *req);
/* The request target as sent, path and query ("/socket.io/?EIO=4&..."). */
SIO_API const char *sio_request_url(const struct sio_request *req);
/* The value of header `name` (case-insensitive), or NULL when absent. */
SIO_API const char *sio_request_header(const struct sio_request *req, const char *name);
/* The percent-decoded value of query parameter `name`, or NULL. */
SIO_API const char *sio_request_query(const struct sio_request *req, const char *name);
/* Iterate the decoded query parameters in order: false past the last. */
SIO_API bool sio_request_query_at(const struct sio_request *req, size_t i, const char **name,
				  const char **value);
/* The peer's address as text ("127.0.0.1", "::1"; "::ffff:127.0.0.1" for an
 * IPv4 client of a server listening on every address, as in Node). */
SIO_API const char *sio_request_address(const struct sio_request *req);
/* Iterate the headers: returns false past the last one. Names are lower case. */
SIO_API bool sio_request_header_at(const struct sio_request *req, size_t i, const char **name,
				   const char **value);

/* Extra response headers, filled by the initial_headers / headers hooks. */
struct sio_headers;

/* Adds a header to the response. Both strings are copied. Returns 0 or
 * SIO_EINVAL (CR, LF or NUL in them, or an empty name) / SIO_ENOMEM. */
SIO_API int sio_headers_add(struct sio_headers *h, const char *name, const char *value);

/* ------------------------------------------------------------------ */
/* Server options (names and defaults are the reference server's)        */
/* ------------------------------------------------------------------ */

enum sio_transport {
	SIO_TRANSPORT_POLLING = 1u << 0,
	SIO_TRANSPORT_WEBSOCKET = 1u << 1,
};

/* What happens when a connection's output queue is full (see
 * max_queue_bytes / max_queue_packets). */
enum sio_queue_full_policy {
	/* The send fails with SIO_EFULL and the connection is closed with
	 * reason "queue full": a client that does not read is cut off. */
	SIO_QUEUE_FULL_CLOSE = 0,
	/* The send fails with SIO_EFULL; the connection stays open. */
	SIO_QUEUE_FULL_REJECT = 1,
};

/* Cross-origin resource sharing, as the `cors` option of the reference
 * (which uses the npm `cors` package). Off unless `enabled`. */
struct sio_cors_options {
	bool enabled;
	/* Allowed origins, NULL-terminated. NULL, or a list holding "*",
	 * allows any origin (Access-Control-Allow-Origin: *). */
	const char *const *origins;
	/* Alternatively a callback deciding per origin; when set it is used
	 * instead of `origins`. `origin` is NUL-terminated. */
	bool (*origin_allowed)(const char *origin, void *userdata);
	void *origin_userdata;
	bool credentials;            /* send Access-Control-Allow-Credentials: true */
	const char *methods;         /* preflight allow-list; default "GET,HEAD,PUT,PATCH,POST,DELETE" */
	const char *allowed_headers; /* NULL: echo Access-Control-Request-Headers */
	const char *exposed_headers; /* NULL: none */
	int max_age;                 /* seconds; negative: not sent (default -1) */
};

/* How Socket.IO packets are written on the wire: the default parser of
 * socket.io-parser (JSON text, binary as attachments), or
 * socket.io-msgpack-parser 3.x (one msgpack binary message a packet);
 * every client of the server must use the same one. */
enum sio_parser {
	SIO_PARSER_JSON = 0,
	SIO_PARSER_MSGPACK = 1,
};

/*
 * Connection state recovery, as the reference's connectionStateRecovery
 * (socket.io 4.6+). With it, the CONNECT reply carries a private session
 * id `pid` beside `sid`, and every event sent to a socket that a recovery
 * may need to send again (sio_socket_emit(), sio_namespace_emit(),
 * sio_socket_broadcast(); not the volatile ones, not those asking for an
 * acknowledgement) carries an offset, a string, as its last argument: the
 * client sees it as one more argument of the event. A socket that leaves
 * for a reason the reference keeps sessions for ("transport error",
 * "transport close", "forced close", "ping timeout", "forced server close")
 * is kept for max_disconnection_duration ms: a client CONNECT to the same
 * namespace with {pid, offset} in its auth (socket.io-client 4.6+ adds them
 * by itself) gets the same socket id, its rooms, its JSON data
 * (sio_socket_set_json_data(); the void * data is not kept) and every
 * event it missed, in order, before anything new; sio_socket_recovered()
 * is then true. Unlike the reference this works any number of times in a
 * row, with any offset the client holds, before the client got any event
 * (pid alone), and when the client gave up on its transport before the
 * server noticed: a CONNECT naming a socket still connected, whose
 * connection has left a ping unanswered for half ping_timeout or more,
 * closes that connection ("transport close") and recovers the socket.
 *
 * The history is one per server: one record per emit however many
 * sockets it went to (the encoded bytes shared with the sockets' queues),
 * dropped when older than max_disconnection_duration or, oldest first,
 * when it holds more than max_history_bytes. A client whose missed events
 * are no longer all there, or whose offset the server cannot vouch for
 * (unknown, of another socket, from before a room change it cannot
 * replay exactly), gets a new session (recovered false): never a gap, a
 * duplicate, or an event from before its offset.
 */
struct sio_recovery_options {
	bool enabled;                        /* false */
	uint32_t max_disconnection_duration; /* ms a session is kept, 120000 */
	bool skip_middlewares;               /* a recovered socket skips middleware, true */
	size_t max_history_bytes;            /* bytes of events kept per server, 32 MiB;
	                                        0: bounded by age only */
};

/*
 * TLS in the process (off unless cert_file is set): the listener then
 * speaks only TLS 1.2 and 1.3 (https long-polling, wss, the upgrade, the
 * client bundle, static files, metrics), with OpenSSL; sio_request_secure()
 * and sio_handshake.secure are true. Files are PEM and read when the
 * server is created and by sio_server_reload_tls(). Renegotiation is
 * refused (the connection closes), as is plain HTTP (a 400 saying so,
 * then the close); each refusal is logged at info as "refused.tls" with
 * its cause and counted in sioc_handshakes_refused_total{cause="tls"}.
 */
struct sio_tls_options {
	const char *cert_file; /* the certificate, then its chain (intermediates); NULL: no TLS */
	const char *key_file;  /* its private key (unencrypted) */
	/* CA certificates: when set, every client must present a certificate
	 * they signed (the handshake fails otherwise); NULL: none asked */
	const char *ca_file;
	uint32_t handshake_timeout; /* ms from accept to a finished handshake, 10000 */
};

struct sio_server_options {
	const char *path;            /* "/socket.io/" */
	uint32_t ping_interval;      /* ms, 25000 */
	uint32_t ping_timeout;       /* ms, 20000 */
	uint32_t upgrade_timeout;    /* ms, 10000 */
	size_t max_http_buffer_size; /* bytes per message / POST body, 1000000
	                              * (under 4 GiB whatever it says) */
	unsigned transports;         /* enum sio_transport bits, both by default */
	bool allow_upgrades;         /* true */
	/* Accept Engine.IO v3 clients (socket.io-client 1.x and 2.x, which
	 * speak Socket.IO protocol v4), as the reference's allowEIO3; false:
	 * they get 400 {"code":5,"message":"Unsupported protocol version"}. */
	bool allow_eio3;
	struct sio_cors_options cors;

	/* Called for every handshake (a request without sid). Return true to
	 * accept; false refuses it with 403 {"code":4,"message":...}, where
	 * the message is *message when the hook sets it (a static string),
	 * "Forbidden" otherwise. NULL accepts all. */
	bool (*allow_request)(const struct sio_request *req, const char **message,
			      void *userdata);
	/* Called before the response that opens a session is written; add
	 * headers with sio_headers_add(). */
	void (*initial_headers)(const struct sio_request *req, struct sio_headers *headers,
				void *userdata);
	/* Called before every polling response and websocket handshake. */
	void (*headers)(const struct sio_request *req, struct sio_headers *headers,
			void *userdata);
	void *hooks_userdata;

	/* Bounds of each connection's output queue (under 4 GiB whatever
	 * max_queue_bytes says). */
	size_t max_queue_bytes;           /* 8 MiB */
	size_t max_queue_packets;         /* 8192 */
	enum sio_queue_full_policy queue_full; /* SIO_QUEUE_FULL_CLOSE */

	/* Socket.IO */
	uint32_t connect_timeout; /* ms a connection may go without joining a namespace, 45000 */
	bool cleanup_empty_child_namespaces; /* free a dynamic namespace when its last socket
						leaves (pointers to it then die), false */
	uint32_t max_attachments; /* binary attachments per packet, 10 */
	enum sio_parser parser;   /* SIO_PARSER_JSON (the reference's parser option) */
	bool serve_client;        /* serve the client bundle under path (socket.io.js ...), true */
	const char *static_dir;   /* serve this folder's files for other GET paths; NULL: none */

	/* HTTP limits (the reference inherits these from Node's http server). */
	uint32_t keep_alive_timeout; /* ms an idle keep-alive connection is kept, 5000 */
	uint32_t headers_timeout;    /* ms to receive a request's headers, 60000 */
	uint32_t body_timeout;       /* ms to receive a request's body once started, 30000 */
	size_t max_header_size;      /* bytes of request line + headers, 16384 (431 past it) */

	/* Resource caps the reference does not have. 0 turns one off. */
	uint32_t max_connections_per_ip;    /* open TCP connections from one address, 1000;
					       more are closed at once. Connections from
					       trusted_proxies are not counted (see below) */
	uint32_t max_pending_handshakes;    /* sessions not yet in any namespace, 8192; more
					       handshakes get 503 */
	uint32_t max_namespaces_per_client; /* namespaces one connection may join, 64; a
					       CONNECT past it gets connect_error */
	uint32_t max_rooms_per_socket;      /* 1024; sio_socket_join() past it fails with
					       SIO_EFULL */
	uint32_t max_pending_acks;          /* per socket, acks asked by the client and not
					       answered yet, 1024; past it the connection closes */
	uint32_t max_events_per_second;     /* per socket, 0 (off); past it the connection
					       closes */

	/* Shutdown: ms sio_server_stop() lets connections flush their output
	 * (close packets included) before closing them, 5000. */
	uint32_t shutdown_timeout;

	/* Behind a reverse proxy (see "Proxies, metrics and logs" below). */
	bool trust_proxy; /* believe X-Forwarded-* from trusted_proxies, false */
	/* The proxies' addresses or CIDRs ("10.0.0.0/8", "::1", "fd00::/8"),
	 * NULL-terminated; NULL or empty: loopback (127.0.0.0/8 and ::1). An
	 * IPv4-mapped IPv6 address matches its IPv4 form. */
	const char *const *trusted_proxies;

	/* Metrics: GET on this path (as "/metrics") answers Prometheus text;
	 * NULL: off. */
	const char *metrics_path;
	/* When set, the metrics path wants "Authorization: Bearer <token>"
	 * (401 otherwise). */
	const char *metrics_token;

	/* Logs: the library's messages and libwebsockets' at most log_level
	 * (enum sio_log_level, SIO_LOG_WARN) go to `log`, or to stderr when it
	 * is NULL. `event` is a short machine-readable name ("refused.forbidden",
	 * "lws", ...), `message` the text; both borrowed. Called on the loop
	 * thread. libwebsockets' log is process-wide: it goes to the server
	 * that listened last. */
	void (*log)(int level, const char *event, const char *message, void *userdata);
	void *log_userdata;
	int log_level;
	/* Off by default, as in the reference. */
	struct sio_recovery_options connection_state_recovery;
	/* TLS in the process; off by default (see struct sio_tls_options). */
	struct sio_tls_options tls;
};

/* Fills `opts` with the defaults above. Call it, then change fields. */
SIO_API void sio_server_options_init(struct sio_server_options *opts);

/* ------------------------------------------------------------------ */
/* Server                                                               */
/* ------------------------------------------------------------------ */

typedef struct sio_server sio_server;

/* Creates a server. `opts` (NULL for defaults) is copied, strings
 * included. Returns NULL on failure with *err (if err) set: SIO_EINVAL (an
 * option out of range: no transport, a zero interval, timeout or limit;
 * tls.key_file or tls.ca_file without tls.cert_file, or the reverse),
 * SIO_ETLS (a TLS file missing or unusable: a certificate that does not
 * parse or does not match its key; the cause is logged at error as
 * "tls.load") or SIO_ENOMEM. */
SIO_API sio_server *sio_server_create(const struct sio_server_options *opts, int *err);

/* Binds and listens on host:port (host NULL or "" for all addresses;
 * port 0 picks a free port, see sio_server_port()). Once per server.
 * Returns 0, SIO_EINVAL (port out of range), SIO_ELISTEN, SIO_EEVLIB (the
 * libev plugin of libwebsockets, Debian package libwebsockets-evlib-ev,
 * is missing), SIO_ESTATE (listening already) or SIO_ENOMEM. */
SIO_API int sio_server_listen(sio_server *srv, const char *host, int port);

/* Thread-safe: reads opts.tls's files again (the certificate, its key and
 * the client CAs), in the calling thread; the new ones are handed to the
 * loop, which uses them for every connection accepted from its next turn
 * on. Open connections keep the certificate they began with and stay
 * open. Returns 0, SIO_EINVAL (NULL), SIO_ESTATE (TLS is off), SIO_ETLS
 * (a file missing or unusable: the old certificate stays; the cause is
 * logged at error as "tls.load"), SIO_ECLOSED (the server is stopping) or
 * SIO_ENOMEM. The reload is logged at info as "tls.reload". */
SIO_API int sio_server_reload_tls(sio_server *srv);

/* The port listened on, or -1 before sio_server_listen(). */
SIO_API int sio_server_port(const sio_server *srv);

/* Runs the event loop on the calling thread until sio_server_stop().
 * Returns 0, or SIO_ESTATE when not listening. */
SIO_API int sio_server_run(sio_server *srv);

/* Asks the loop to stop, gracefully: new sessions are refused (503), every
 * session gets an Engine.IO close packet after its queued output, which is
 * flushed for up to shutdown_timeout ms, then what is left is closed and
 * sio_server_run() returns. Every socket's disconnect callback gets reason
 * "server shutting down". As the reference's io.close(), no Socket.IO
 * DISCONNECT packet is sent: socket.io-client sees "transport close" and
 * reconnects by itself when the server is back. Thread-safe, and
 * async-signal-safe (may be called from a SIGTERM handler). */
SIO_API void sio_server_stop(sio_server *srv);

/* Frees the server and every connection left. Close callbacks run for
 * connections still open (reason "server shutting down"). NULL is a no-op.
 * Not from inside a callback. */
SIO_API void sio_server_destroy(sio_server *srv);

/* ------------------------------------------------------------------ */
/* Engine.IO level: raw messages over a session                          */
/* ------------------------------------------------------------------ */

typedef struct sio_eio_socket sio_eio_socket;

#define SIO_EIO_EVENTS_VERSION 1

/* Callbacks for Engine.IO sessions. Set `version` to
 * SIO_EIO_EVENTS_VERSION; NULL members are skipped. */
struct sio_eio_events {
	uint32_t version;
	/* A session opened (handshake done, open packet queued). */
	void (*connection)(sio_eio_socket *sock, void *userdata);
	/* A message arrived: text (UTF-8, not NUL-terminated) or binary.
	 * `data` is borrowed. */
	void (*message)(sio_eio_socket *sock, const void *data, size_t len, bool binary,
			void *userdata);
	/* The session closed. `reason` is the reference server's: "transport
	 * close", "transport error", "ping timeout", "parse error", "forced
	 * close", "queue full", "server shutting down". After this returns the
	 * socket is freed (and its data freed with its free function). */
	void (*close)(sio_eio_socket *sock, const char *reason, void *userdata);
	/* The session moved from polling to websocket. */
	void (*upgrade)(sio_eio_socket *sock, void *userdata);
};

/* Sets the Engine.IO callbacks (copied): the server then speaks plain
 * Engine.IO, without the Socket.IO layer. Call before listening. Returns
 * 0 or SIO_EINVAL (NULL argument, wrong version). */
SIO_API int sio_eio_set_events(sio_server *srv, const struct sio_eio_events *events,
			       void *userdata);

/* Queues a message (text must be UTF-8). The bytes are copied. Returns
 * 0, SIO_EINVAL (NULL sock, or NULL data with len), SIO_ECLOSED,
 * SIO_ETOOBIG (longer than max_queue_bytes), SIO_EFULL (queue full; see
 * queue_full), SIO_ENOMEM. */
SIO_API int sio_eio_send(sio_eio_socket *sock, const void *data, size_t len, bool binary);

/* Closes the session once what is queued has been written (reason
 * "forced close"). The close callback runs later, not inside this call. */
SIO_API void sio_eio_close(sio_eio_socket *sock);

/* The session id (NUL-terminated, 20 URL-safe characters). */
SIO_API const char *sio_eio_id(const sio_eio_socket *sock);
/* The transport in use now. */
SIO_API enum sio_transport sio_eio_transport(const sio_eio_socket *sock);
/* The request that opened the session; valid as long as the session. */
SIO_API const struct sio_request *sio_eio_request(const sio_eio_socket *sock);
/* Bytes and packets waiting in the output queue. */
SIO_API size_t sio_eio_queued_bytes(const sio_eio_socket *sock);
SIO_API sio_server *sio_eio_server(const sio_eio_socket *sock);

/* Attaches application data; `free_fn` (may be NULL) is called on it
 * when it is replaced or the socket is freed. */
SIO_API void sio_eio_set_data(sio_eio_socket *sock, void *data, void (*free_fn)(void *));
SIO_API void *sio_eio_data(const sio_eio_socket *sock);

/* Number of open Engine.IO sessions. */
SIO_API size_t sio_server_clients_count(const sio_server *srv);

/* ------------------------------------------------------------------ */
/* Loop services: timers and calls from other threads                    */
/* ------------------------------------------------------------------ */

typedef struct sio_timer sio_timer;

/* Runs fn on the loop after delay_ms, then every repeat_ms when that is
 * not 0 (millisecond precision; a timer started before listening starts
 * counting when the server listens). Returns NULL on failure (fn is then
 * never called). */
SIO_API sio_timer *sio_timer_start(sio_server *srv, uint32_t delay_ms, uint32_t repeat_ms,
				   void (*fn)(sio_timer *t, void *userdata), void *userdata);
/* Cancels and frees a timer; a one-shot timer is freed by itself after
 * its call, so only stop it before it fired. Safe inside its own callback
 * and until sio_server_destroy(), which frees the timers left without
 * calling them (their userdata stays yours). NULL is a no-op. */
SIO_API void sio_timer_stop(sio_timer *t);

/* Thread-safe: runs fn(srv, userdata) on the loop thread soon, in call
 * order. This is how other threads emit. Returns 0 (fn will run: calls
 * accepted before a stop run before the server closes its connections),
 * SIO_EINVAL (NULL argument), SIO_ENOMEM, or SIO_ECLOSED once the server
 * is stopping (fn is then never called). */
SIO_API int sio_server_call(sio_server *srv, void (*fn)(sio_server *srv, void *userdata),
			    void *userdata);

/* ------------------------------------------------------------------ */
/* Socket.IO: namespaces, sockets, events, acks, rooms                   */
/* ------------------------------------------------------------------ */
/*
 * JSON values are jansson's json_t. Ownership follows jansson's words:
 * "new" (you own the reference and must json_decref it), "borrowed" (valid
 * during the call only; json_incref to keep it), "stolen" (the call takes
 * your reference, also when it fails).
 *
 * Binary arguments: a binary value inside the JSON arguments is the
 * placeholder object {"_placeholder":true,"num":N}; the bytes are bins[N].
 * sio_binary_num() tells whether a value is one; sio_binary_placeholder()
 * makes one for emitting.
 */

typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;
typedef struct sio_ack sio_ack;

struct sio_binary {
	const void *data;
	size_t len;
};

/* If v is a binary placeholder for an array of nbins buffers, returns
 * its index; otherwise -1. v is borrowed. */
SIO_API long sio_binary_num(const json_t *v, size_t nbins);
/* A new placeholder object for bins[num] (a new reference). */
SIO_API json_t *sio_binary_placeholder(size_t num);

/* The namespace called `name` ("/" or "/chat"), created when missing
 * (or the one a dynamic parent created under that name). "/" always
 * exists. Returns NULL on a bad name (not starting with '/') or out of
 * memory. The server owns it; it stays valid until sio_server_destroy()
 * (a dynamic one only until its last socket leaves, with
 * cleanup_empty_child_namespaces). */
SIO_API sio_namespace *sio_server_of(sio_server *srv, const char *name);

/* Dynamic namespaces: a client connecting to a namespace that does not
 * exist gets it created when `accept` returns true (auth is borrowed,
 * may be NULL). The returned parent holds the events and middleware every
 * namespace it creates copies. */
SIO_API sio_namespace *sio_server_of_dynamic(sio_server *srv,
					     bool (*accept)(const char *name, const json_t *auth,
							    void *userdata),
					     void *userdata);
/* Dynamic namespaces whose name matches a glob pattern (fnmatch(3), so
 * "/room-*" or "/user/[0-9]*"). */
SIO_API sio_namespace *sio_server_of_pattern(sio_server *srv, const char *pattern);

SIO_API const char *sio_namespace_name(const sio_namespace *nsp);
SIO_API sio_server *sio_namespace_server(const sio_namespace *nsp);
/* Number of sockets connected to the namespace. */
SIO_API size_t sio_namespace_size(const sio_namespace *nsp);

#define SIO_NAMESPACE_EVENTS_VERSION 1

/* Callbacks of a namespace. Set `version`; NULL members are skipped. */
struct sio_namespace_events {
	uint32_t version;
	/* A socket joined the namespace (the CONNECT reply is queued). Register
	 * its handlers here. */
	void (*connection)(sio_socket *sock, void *userdata);
	/* The socket is leaving; its rooms are still visible. */
	void (*disconnecting)(sio_socket *sock, const char *reason, void *userdata);
	/* The socket left. Reasons are the reference's: "client namespace
	 * disconnect", "server namespace disconnect", "transport close",
	 * "transport error", "ping timeout", "parse error" (Engine.IO level),
	 * "forced close" (also a malformed Socket.IO packet), "forced server
	 * close", "server shutting down". The socket is freed after this
	 * returns. */
	void (*disconnect)(sio_socket *sock, const char *reason, void *userdata);
};

/* Sets the namespace's callbacks (copied). Returns 0 or SIO_EINVAL (NULL
 * argument, wrong version). */
SIO_API int sio_namespace_set_events(sio_namespace *nsp, const struct sio_namespace_events *ev,
				     void *userdata);

/* Connect middleware, run in the order added for every socket joining
 * the namespace, before `connection`. Return 0 to let the socket in.
 * Refuse by returning non-zero after filling *message (a string copied by
 * the server) and optionally *data (stolen): the client gets connect_error
 * with that message and data. The handshake is readable through the
 * socket (sio_socket_handshake()). */
typedef int (*sio_middleware_fn)(sio_socket *sock, const char **message, json_t **data,
				 void *userdata);
/* Returns 0, SIO_EINVAL (NULL argument) or SIO_ENOMEM. */
SIO_API int sio_namespace_use(sio_namespace *nsp, sio_middleware_fn fn, void *userdata);

/* What the client sent when it connected. All borrowed, valid as long as
 * the socket. */
struct sio_handshake {
	const struct sio_request *request; /* headers, query, address, url */
	const json_t *auth;                /* the CONNECT auth object ({} when none) */
	int64_t issued;                    /* ms since the epoch */
	bool secure; /* https: TLS in the process (opts.tls), or X-Forwarded-Proto from a
	              * trusted proxy (see trust_proxy) */
	bool xdomain;                      /* an Origin header was sent */
};

SIO_API const struct sio_handshake *sio_socket_handshake(const sio_socket *sock);
/* The socket id (20 URL-safe characters), also the name of its own room. */
SIO_API const char *sio_socket_id(const sio_socket *sock);
SIO_API sio_namespace *sio_socket_namespace(const sio_socket *sock);
/* The Engine.IO session under the socket (shared by its namespaces). */
SIO_API sio_eio_socket *sio_socket_conn(const sio_socket *sock);
SIO_API bool sio_socket_connected(const sio_socket *sock);
/* Application data; free_fn (may be NULL) runs when it is replaced or the
 * socket is freed. A recovered socket (connection state recovery) is a new
 * object: this pointer is not carried over; sio_socket_set_json_data() is. */
SIO_API void sio_socket_set_data(sio_socket *sock, void *data, void (*free_fn)(void *));
SIO_API void *sio_socket_data(const sio_socket *sock);

/* An event handler. `event` is the name (a number sent as the event name
 * arrives as its decimal text, as the reference's listener lookup sees
 * it). `args` (borrowed; you may change it, it is freed after the call)
 * is the array of arguments after the name; `bins` the binary
 * attachments, valid during the call. `ack` is non-NULL when the
 * client asked for an acknowledgement: answer it with sio_ack_send(),
 * now or later (it stays valid until then, or until the socket's
 * disconnect callback returns). */
typedef void (*sio_event_fn)(sio_socket *sock, const char *event, json_t *args,
			     const struct sio_binary *bins, size_t nbins, sio_ack *ack,
			     void *userdata);

/* Registers fn for `event` on this socket (replacing an earlier one).
 * Returns 0, SIO_ENOMEM, or SIO_EINVAL (NULL argument). */
SIO_API int sio_socket_on(sio_socket *sock, const char *event, sio_event_fn fn, void *userdata);
/* A handler for events that have no handler of their own (fn NULL: none).
 * Returns 0, SIO_ENOMEM, or SIO_EINVAL (NULL sock). */
SIO_API int sio_socket_on_any(sio_socket *sock, sio_event_fn fn, void *userdata);
/* Removes the handler of `event`. Returns 0, SIO_EINVAL (NULL argument) or
 * SIO_ENOTFOUND (none registered). */
SIO_API int sio_socket_off(sio_socket *sock, const char *event);

/* Answers a client's acknowledgement request with `args` (an array,
 * stolen; NULL sends no arguments) and its binary attachments (copied).
 * Frees `ack`, also on failure. Returns 0, SIO_EINVAL (NULL ack, args not
 * an array, NULL bins with nbins), SIO_ETOOBIG (more than 256 binaries),
 * SIO_ECLOSED, SIO_EFULL or SIO_ENOMEM. */
SIO_API int sio_ack_send(sio_ack *ack, json_t *args, const struct sio_binary *bins,
			 size_t nbins);

/* Emits `event` to one socket. `args` is an array (stolen; NULL for no
 * arguments); `bins` are copied. Returns 0, SIO_EINVAL (NULL sock or
 * event, args not an array, NULL bins with nbins), SIO_ERESERVED,
 * SIO_ETOOBIG (more than 256 binaries), SIO_ECLOSED, SIO_EFULL or
 * SIO_ENOMEM. */
SIO_API int sio_socket_emit(sio_socket *sock, const char *event, json_t *args,
			    const struct sio_binary *bins, size_t nbins);
/* The same, dropped (returning 0) when the transport cannot take it now. */
SIO_API int sio_socket_emit_volatile(sio_socket *sock, const char *event, json_t *args,
				     const struct sio_binary *bins, size_t nbins);

/* Called exactly once for an emit with acknowledgement: with err 0 and
 * the client's reply (args borrowed), or with err SIO_ETIMEDOUT or
 * SIO_ECLOSED (the socket disconnected first; it is still valid during
 * this call, which comes before its disconnect callback) and args NULL. */
typedef void (*sio_ack_fn)(sio_socket *sock, int err, json_t *args,
			   const struct sio_binary *bins, size_t nbins, void *userdata);

/* Emits and waits for the client's acknowledgement, at most timeout_ms
 * (0: no timeout). Returns 0 or an error of sio_socket_emit() (SIO_EINVAL
 * also for a NULL cb); on failure cb is never called. */
SIO_API int sio_socket_emit_with_ack(sio_socket *sock, const char *event, json_t *args,
				     const struct sio_binary *bins, size_t nbins,
				     uint32_t timeout_ms, sio_ack_fn cb, void *userdata);

/* Leaves the namespace (reason "server namespace disconnect"); with
 * `close`, closes the whole connection (all its namespaces). The
 * disconnect callback runs later, not inside this call. */
SIO_API void sio_socket_disconnect(sio_socket *sock, bool close);

/* Rooms. A socket joins the room named by its id when it connects (it
 * counts toward max_rooms_per_socket, and leaving it works, as in the
 * reference; other sockets may join a room of that name too). Names are
 * copied. Joining works from middleware too (before the socket is
 * connected). Return 0, SIO_EINVAL (NULL argument), SIO_ECLOSED (join:
 * the socket left), SIO_ENOMEM, or SIO_EFULL past max_rooms_per_socket. */
SIO_API int sio_socket_join(sio_socket *sock, const char *room);
SIO_API int sio_socket_leave(sio_socket *sock, const char *room);
SIO_API bool sio_socket_in(const sio_socket *sock, const char *room);
/* Iterates the socket's rooms: false past the last one. The order is
 * the join order; the names are borrowed. */
SIO_API bool sio_socket_room_at(const sio_socket *sock, size_t i, const char **room);

/* A selection of sockets in a namespace, as the reference's to/in/except:
 * the sockets in any of `rooms` (NULL or empty: all sockets of the
 * namespace), minus those in any of `except`, minus `except_socket`.
 * Lists are NULL-terminated; everything is borrowed. */
struct sio_target {
	const char *const *rooms;
	const char *const *except;
	const sio_socket *except_socket;
	/* skip sockets whose transport cannot take it now (and never store it
	 * for connection state recovery); with Redis, other nodes are told
	 * (flags.volatile, as the reference) and do the same, and a volatile
	 * broadcast from another node is volatile here */
	bool volatile_;
	/* this node only, the reference's io.local: with Redis on
	 * (sio_server_use_redis()), nothing is told to the other nodes */
	bool local;
};

/* Emits to a selection (t NULL: every socket of the namespace), encoding
 * once for all. args stolen, bins copied once. Returns the number of
 * sockets it was queued for, or SIO_EINVAL (NULL nsp or event, a dynamic
 * parent, args not an array, NULL bins with nbins), SIO_ERESERVED,
 * SIO_ETOOBIG (more than 256 binaries) or SIO_ENOMEM. */
SIO_API int sio_namespace_emit(sio_namespace *nsp, const struct sio_target *t, const char *event,
			       json_t *args, const struct sio_binary *bins, size_t nbins);
/* From a socket to everyone the selection holds but the socket itself
 * (socket.broadcast / socket.to(...) in the reference). */
SIO_API int sio_socket_broadcast(sio_socket *sock, const struct sio_target *t, const char *event,
				 json_t *args, const struct sio_binary *bins, size_t nbins);

/* Server-side operations on a selection (t NULL: all). The int ones
 * return 0, SIO_EINVAL (NULL nsp or room) or SIO_ENOMEM (join: some
 * sockets may have joined). With Redis on (sio_server_use_redis()),
 * sio_namespace_emit(), sio_socket_broadcast(), sockets_join, _leave and
 * disconnect_sockets also reach the sockets of every other node (unless
 * t->local), fire-and-forget as in the reference: the local part is done
 * before the call returns, the other nodes act when the message reaches
 * them; a message Redis cannot take now is dropped and counted
 * (sio_server_stats() redis_dropped). sio_namespace_fetch_sockets() is
 * this node's sockets only; sio_namespace_fetch_sockets_async() asks
 * every node. */
/* Writes up to max sockets to out (borrowed pointers, valid until the loop
 * runs again; out may be NULL when max is 0, to count); returns how many
 * the selection holds. */
SIO_API size_t sio_namespace_fetch_sockets(sio_namespace *nsp, const struct sio_target *t,
					   sio_socket **out, size_t max);
SIO_API int sio_namespace_sockets_join(sio_namespace *nsp, const struct sio_target *t,
				       const char *room);
SIO_API int sio_namespace_sockets_leave(sio_namespace *nsp, const struct sio_target *t,
					const char *room);
SIO_API int sio_namespace_disconnect_sockets(sio_namespace *nsp, const struct sio_target *t,
					     bool close);

/* ------------------------------------------------------------------ */
/* Cluster-wide operations (every node with Redis; this node without)    */
/* ------------------------------------------------------------------ */
/*
 * Each call below answers through its callback, always on a later loop
 * turn (never inside the call), exactly once, unless the call fails: then
 * the callback is never called. Without Redis they answer with this
 * node's result. With Redis they ask every node of the cluster (over the
 * request channel of the reference's adapter) and answer when every node
 * has (the number of nodes is Redis's PUBSUB NUMSUB of that channel) or
 * when the time is over (the Redis options' requests_timeout, or the
 * call's timeout_ms) with err SIO_ETIMEDOUT and what arrived until then.
 *
 * When the server is destroyed with requests pending, each callback is
 * called once more with err SIO_ECLOSED (empty results) during
 * sio_server_destroy(): nsp may be read (its name) but nothing may be
 * emitted then. JSON handed to callbacks is borrowed: valid during the
 * call only.
 */

/* The sockets of a selection on every node: `sockets` is an array of
 * objects {id, handshake, rooms, data} as the reference's RemoteSocket
 * (handshake {headers, time, address, xdomain, secure, issued, url,
 * query, auth}; data: sio_socket_set_json_data(), {} when unset, plus
 * "_admin" with the admin namespace in development mode, see
 * sio_admin_instrument()),
 * this node's first. err 0 or SIO_ETIMEDOUT (the answers that came; the
 * reference rejects instead). With Redis unreachable, this node's
 * sockets and err 0, as a node alone. */
typedef void (*sio_fetch_fn)(sio_namespace *nsp, int err, json_t *sockets, void *userdata);
/* Returns 0, SIO_EINVAL (NULL nsp or fn, a dynamic parent) or
 * SIO_ENOMEM. */
SIO_API int sio_namespace_fetch_sockets_async(sio_namespace *nsp, const struct sio_target *t,
					      sio_fetch_fn fn, void *userdata);

/* Every room of every node, the reference's adapter.allRooms() (its
 * request type 1, ALL_ROOMS): `rooms` an array of names, each once (a
 * Set there), this node's first, each socket's own room included.
 * With Redis unreachable, or alone, this node's rooms and err 0. The
 * reference's sharded adapter has no allRooms(): with `sharded` the call
 * returns SIO_ESTATE. (The reference's type 0, SOCKETS, is answered by
 * sioc but never asked: the reference 8.3 no longer sends it, fetch
 * sockets replaced it.) */
typedef void (*sio_rooms_fn)(sio_namespace *nsp, int err, json_t *rooms, void *userdata);
/* Returns 0, SIO_EINVAL (NULL nsp or fn, a dynamic parent), SIO_ESTATE
 * (the sharded adapter) or SIO_ENOMEM. */
SIO_API int sio_namespace_all_rooms_async(sio_namespace *nsp, sio_rooms_fn fn, void *userdata);

/* Server-side events, the reference's serverSideEmit(): sent to every
 * other node's handler of the namespace (never to this node's).
 *
 * Binary in them, as in sio_event_fn: placeholders
 * ({"_placeholder":true,"num":N}) in the JSON, the bytes in `bins`.
 * With the sharded adapter binaries travel as msgpack bin both ways, as
 * the reference's. With the classic adapter sioc sends an event or an
 * answer that holds binaries as msgpack (bin), which the reference reads
 * (a Node node's handler gets Buffers), and without binaries as JSON, as
 * the reference; but a Node node's classic adapter always sends them
 * with JSON.stringify(), so a Buffer from a Node node arrives, on a Node
 * node as on sioc, as the JSON object {"type":"Buffer","data":[bytes]}
 * and no binary. */
typedef struct sio_server_ack sio_server_ack;
/* A server-side event from another node. `args` borrowed (the arguments
 * after the name, placeholders for bins[0..nbins), borrowed too: copy what
 * is kept); `ack` is NULL unless the sender waits for an answer: then
 * answer once with sio_server_ack_reply(), now or later (an ack not
 * answered is freed at sio_server_destroy()). */
typedef void (*sio_server_event_fn)(sio_namespace *nsp, const char *event, json_t *args,
				    const struct sio_binary *bins, size_t nbins,
				    sio_server_ack *ack, void *userdata);
/* Sends `arg` (stolen; NULL: null; placeholders for bins, which are
 * copied) as this node's answer and frees ack. NULL ack is a no-op;
 * NULL bins with nbins sends null. */
SIO_API void sio_server_ack_reply(sio_server_ack *ack, json_t *arg, const struct sio_binary *bins,
				  size_t nbins);
/* Sets the namespace's handler of server-side events (fn NULL: none); on
 * a dynamic parent, the handler of the namespaces it makes from now on.
 * Returns 0 or SIO_EINVAL (NULL nsp). */
SIO_API int sio_namespace_on_server_event(sio_namespace *nsp, sio_server_event_fn fn,
					  void *userdata);
/* Sends the event to the other nodes; args (an array, stolen; NULL: no
 * arguments) with placeholders for bins (copied). Without Redis nobody
 * hears it: 0 (with Redis down it is dropped and counted: 0 too). Returns
 * 0, SIO_EINVAL (NULL nsp or event, args not an array, NULL bins with
 * nbins), SIO_ERESERVED, SIO_ETOOBIG or SIO_ENOMEM. */
SIO_API int sio_namespace_server_side_emit(sio_namespace *nsp, const char *event, json_t *args,
					   const struct sio_binary *bins, size_t nbins);
/* Answers of the other nodes (or of the clients, for
 * sio_namespace_emit_with_ack()): `responses` an array, one element per
 * answer, in the order they came; the binaries of every answer in `bins`,
 * numbered across the whole array (an answer's placeholders are
 * renumbered after those of the answers before it). Both borrowed. */
typedef void (*sio_responses_fn)(sio_namespace *nsp, int err, json_t *responses,
				 const struct sio_binary *bins, size_t nbins, void *userdata);
/* The same, waiting for every other node's answer (the first argument of
 * its ack) for timeout_ms (0: the Redis options' requests_timeout). err
 * 0, or SIO_ETIMEDOUT with the answers that came. Without Redis (or with
 * Redis unreachable): 0 and []. Returns 0 or an error of
 * sio_namespace_server_side_emit() (SIO_EINVAL also for a NULL fn). */
SIO_API int sio_namespace_server_side_emit_with_ack(sio_namespace *nsp, const char *event,
						    json_t *args, const struct sio_binary *bins,
						    size_t nbins, uint32_t timeout_ms,
						    sio_responses_fn fn, void *userdata);

/* Emits to a selection of every node and collects each client's
 * acknowledgement (its first argument; its binaries in the callback's
 * bins, numbered across the answers),
 * the reference's io.timeout(ms).emit(event, ...args, cb): err 0 once
 * every node told how many clients it sent to and all of them answered,
 * SIO_ETIMEDOUT after timeout_ms (required, > 0) with the answers that
 * came. args stolen, bins copied. The acknowledgement ids are the
 * namespace's (one counter for these and sio_socket_emit_with_ack(), as
 * the reference's nsp._ids), so they never collide with a socket's own.
 * Returns 0, SIO_EINVAL (NULL nsp, event or fn, zero timeout, args not an
 * array, NULL bins with nbins, a dynamic parent), SIO_ERESERVED,
 * SIO_ETOOBIG or SIO_ENOMEM. */
SIO_API int sio_namespace_emit_with_ack(sio_namespace *nsp, const struct sio_target *t,
					const char *event, json_t *args,
					const struct sio_binary *bins, size_t nbins,
					uint32_t timeout_ms, sio_responses_fn fn, void *userdata);

/* The number of nodes serving the namespace: PUBSUB NUMSUB of its request
 * channel with Redis (PUBSUB SHARDNUMSUB of <key>#<nsp># with the sharded
 * adapter), 1 without (err 0); err SIO_ECLOSED and 0 when Redis is
 * unreachable. */
typedef void (*sio_count_fn)(sio_namespace *nsp, int err, size_t count, void *userdata);
/* Returns 0, SIO_EINVAL (NULL nsp or fn) or SIO_ENOMEM. */
SIO_API int sio_namespace_server_count(sio_namespace *nsp, sio_count_fn fn, void *userdata);

/* ------------------------------------------------------------------ */
/* Redis: one cluster with sioc and Node nodes                           */
/* ------------------------------------------------------------------ */
/*
 * With sio_server_use_redis() the server is one node of a cluster that
 * shares a Redis server, wire-compatible with @socket.io/redis-adapter
 * 8.3 (createAdapter(), the classic pub/sub adapter; its key, channels,
 * msgpack messages and request types 0-9): Node nodes with that adapter
 * and sioc nodes on the same Redis and key are one cluster. Messages of
 * @socket.io/redis-emitter are delivered too.
 *
 * Two connections to Redis (commands, subscriptions) run on the server's
 * loop and never block it (host should be an address: a name is resolved
 * with getaddrinfo(), which blocks). When Redis is unreachable (at start
 * or later) the node serves its own clients, logs ("redis.down", rate
 * limited) and retries (100 ms, doubling to 5 s); once back it
 * subscribes again. What is published while Redis is down or slow past
 * max_queued_bytes (bytes sent and not yet acknowledged by Redis) is
 * dropped, counted (sio_server_stats() redis_dropped) and logged: never
 * queued without bound. Long-polling clients need sticky sessions across
 * nodes, as with the reference.
 *
 * With `sharded` the node speaks createShardedAdapter() instead (Redis 7
 * sharded pub/sub; every node of the cluster must use it): each namespace
 * SSUBSCRIBEs <key>#<nsp># and its own <key>#<nsp>#<uid>#, messages are
 * socket.io-adapter's ClusterAdapter messages (JSON, msgpack when they
 * carry binary), and the number of nodes is PUBSUB SHARDNUMSUB
 * <key>#<nsp>#, as the reference counts them (its sharded adapter sends
 * no heartbeats). In the dynamic subscription modes a node also
 * subscribes to <key>#<nsp>#<room># for each room it holds (dynamic:
 * not the sockets' own rooms; dynamic-private: those too), and an emit to
 * exactly one such room (without acks) is published there only.
 * requests_timeout applies to its requests as to the classic adapter's
 * (the reference's fixed 5000 ms is the default).
 *
 * Number rooms: a Node node's rooms are the keys of a Map, so a room
 * joined as the number 42 (socket.join(42)) and the string "42" are two
 * rooms, and a message from another node or from the redis-emitter
 * (emitter.to(42)) may name rooms by number (msgpack integers or floats).
 * A sioc socket's rooms are strings, so no sioc socket is ever in a number
 * room: a number in a message's rooms selects nobody here (rooms that are
 * all numbers select nobody at all, not everybody), a number in its
 * excepts excepts nobody, and a number in a remote socketsJoin/Leave is
 * ignored, exactly what a Node node whose sockets never joined a number
 * does. sio_target rooms are strings and are sent as strings.
 *
 * Connection state recovery works with either adapter on the node a
 * client left: broadcasts from other nodes (Node or sioc) delivered here
 * are stored in this node's history with offsets like local emits, and
 * sockets join / leave / disconnect on a selection (from this node or,
 * through Redis, from another) change the rooms of the sessions kept for
 * sockets that left (join / leave, counted from the next offset) or drop
 * them (disconnect). The sharded adapter in a dynamic mode keeps the room
 * channels of kept sessions subscribed. A client that comes back to
 * another node gets a new session there (the Node adapters do not carry
 * sessions between nodes either).
 */
enum sio_redis_subscription_mode {
	SIO_REDIS_DYNAMIC = 0,         /* the reference's "dynamic" (default) */
	SIO_REDIS_DYNAMIC_PRIVATE = 1, /* "dynamic-private" */
	SIO_REDIS_STATIC = 2,          /* "static" */
};

struct sio_redis_options {
	const char *host;     /* "127.0.0.1" */
	int port;             /* 6379 */
	const char *password; /* AUTH with it when set; NULL */
	const char *key;      /* channel prefix, "socket.io" */
	uint32_t requests_timeout; /* ms a cross-node request waits, 5000 */
	/* answers to this node's requests on its own channel
	 * (<key>-response#<nsp>#<uid>#), the reference's
	 * publishOnSpecificResponseChannel; false. The sharded adapter
	 * always answers on the asking node's own channel. */
	bool publish_on_specific_response_channel;
	/* the reference's createShardedAdapter() (Redis 7 SPUBLISH /
	 * SSUBSCRIBE); false */
	bool sharded;
	enum sio_redis_subscription_mode subscription_mode; /* sharded only */
	/* bytes of messages sent to Redis and not yet acknowledged, past
	 * which new ones are dropped; 16 MiB */
	size_t max_queued_bytes;
};

/* Fills opts with the defaults above. */
SIO_API void sio_redis_options_init(struct sio_redis_options *opts);

/* Makes the server a node of the Redis cluster described by opts (copied;
 * NULL: the defaults). Call once, before sio_server_listen(); every
 * namespace, existing or made later, uses Redis. Redis need not be
 * reachable yet: the connections start when the server listens and
 * retry until they succeed. Returns 0, SIO_EINVAL (NULL srv, port out of
 * range, empty host or key, zero requests_timeout or max_queued_bytes, a
 * subscription mode out of range, a server speaking plain Engine.IO),
 * SIO_ESTATE (listening already, or Redis set already) or SIO_ENOMEM.
 * (sharded: SIO_EINVAL while this build has no sharded adapter.) */
SIO_API int sio_server_use_redis(sio_server *srv, const struct sio_redis_options *opts);

/* ------------------------------------------------------------------ */
/* Proxies, metrics and logs                                             */
/* ------------------------------------------------------------------ */
/*
 * Behind a proxy. A connection from an address of trusted_proxies
 * (loopback unless set) carries many clients' requests, so it never counts
 * against max_connections_per_ip as the proxy's address. With
 * trust_proxy, each request from such a proxy is the client's:
 * sio_request_address() is the last untrusted hop of X-Forwarded-For
 * (walking right to left past trusted proxies; the leftmost when all are
 * trusted; an entry that is not an address stops the walk at the hop
 * before it), "X-Forwarded-Proto: https" makes it secure, and the
 * connection counts against max_connections_per_ip for the client of its
 * latest request until it closes (a websocket: for its life) or serves
 * another client; a request whose client is over the cap gets 429.
 * Without trust_proxy the headers are ignored and proxied connections are
 * not capped at all; a forged X-Forwarded-For from an untrusted peer is
 * always ignored.
 */

/* The TCP peer's address (the proxy's, when it came through one). */
SIO_API const char *sio_request_peer_address(const struct sio_request *req);
/* Whether the request came over https: TLS in the process (opts.tls), or
 * a trusted proxy said so (X-Forwarded-Proto). */
SIO_API bool sio_request_secure(const struct sio_request *req);

/* Log levels (opts.log_level); SIO_LOG_NONE writes nothing. */
enum sio_log_level {
	SIO_LOG_NONE = 0,
	SIO_LOG_ERROR = 1,
	SIO_LOG_WARN = 2,
	SIO_LOG_INFO = 3, /* every refusal once, with its cause ("refused.<cause>") */
	SIO_LOG_DEBUG = 4,
};

/*
 * Statistics, the numbers the metrics path serves. The struct only grows,
 * at its end: set `size` to sizeof(struct sio_server_stats) before the
 * call, and a newer library writes only that much.
 *
 * Refusal causes (metric label `cause`): per_address_cap (closed at
 * accept, or 429 behind a proxy), pending_cap (503, max_pending_handshakes),
 * shutting_down (503), unknown_transport, unknown_sid,
 * bad_handshake_method, bad_request, bad_origin (an Origin holding control
 * characters), forbidden (allow_request), unsupported_version, http_error
 * (malformed HTTP, too large), timeout (headers or body too slow),
 * unauthorized (metrics token), and in Socket.IO: invalid_namespace,
 * namespace_cap (max_namespaces_per_client), middleware.
 */
#define SIO_STATS_LOOP_BUCKETS 12
/* The loop-turn histogram's upper bounds in µs; the last bucket is the rest. */
/* clang-format off */
#define SIO_STATS_LOOP_US {50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000}
/* clang-format on */

struct sio_server_stats {
	size_t size; /* in: sizeof(struct sio_server_stats) */

	/* gauges */
	uint64_t clients; /* Engine.IO sessions */
	uint64_t clients_polling;
	uint64_t clients_websocket;
	uint64_t namespaces;   /* not counting dynamic parents */
	uint64_t sockets;      /* Socket.IO sockets, all namespaces */
	uint64_t rooms;        /* all namespaces, each socket's own room included */
	uint64_t queued_bytes; /* in every session's output queue */

	/* counters since sio_server_create() */
	uint64_t connections;                    /* Engine.IO sessions opened */
	uint64_t packets_received, packets_sent; /* Engine.IO packets */
	uint64_t bytes_received, bytes_sent;     /* on the sockets, HTTP included */
	uint64_t upgrades;                       /* polling to websocket */
	uint64_t queue_full;                     /* sends refused by a full queue */
	uint64_t events_dropped;                 /* volatile emits not sent */

	/* sessions closed, by reason */
	uint64_t disconnect_transport_close, disconnect_transport_error, disconnect_ping_timeout,
	        disconnect_parse_error, disconnect_forced_close, disconnect_queue_full,
	        disconnect_server_shutting_down;

	/* refusals, by cause (see above) */
	uint64_t refused_per_address_cap, refused_pending_cap, refused_shutting_down,
	        refused_unknown_transport, refused_unknown_sid, refused_bad_handshake_method,
	        refused_bad_request, refused_bad_origin, refused_forbidden,
	        refused_unsupported_version, refused_http_error, refused_timeout,
	        refused_unauthorized, refused_invalid_namespace, refused_namespace_cap,
	        refused_middleware;

	/* loop turns (the work between two waits) by duration: bucket i
	 * counts those above bound i-1 and at most bound i */
	uint64_t loop_turns[SIO_STATS_LOOP_BUCKETS];
	uint64_t loop_turn_us_sum;

	/* connection state recovery (0 when it is off), gauges: the sessions
	 * kept for sockets that left, and the history of emits, one record
	 * per emit however many sockets it went to (history_bytes: what the
	 * records and the encoded packets they share count against
	 * max_history_bytes) */
	uint64_t recovery_sessions;
	uint64_t history_records;
	uint64_t history_bytes;
	/* Redis (sio_server_use_redis(); all 0 without): messages published
	 * (broadcasts, requests, answers), received on the subscriptions,
	 * dropped (Redis down, or max_queued_bytes reached), and
	 * reconnections after a loss; gauges: both connections up (1), bytes
	 * sent to Redis and not yet acknowledged (at most max_queued_bytes) */
	uint64_t redis_published, redis_received, redis_dropped, redis_reconnects;
	uint64_t redis_connected, redis_queued_bytes;

	/* TLS (opts.tls): handshakes failed or timed out, renegotiations */
	uint64_t refused_tls;
};

/* Fills st (up to st->size bytes) with the server's numbers now. Returns
 * 0, or SIO_EINVAL (NULL argument, or size smaller than the first
 * version's struct). */
SIO_API int sio_server_stats(const sio_server *srv, struct sio_server_stats *st);

/* Rooms of a namespace (each connected socket's own room included). */
SIO_API size_t sio_namespace_rooms_count(const sio_namespace *nsp);
/* Iterates the namespaces (not the dynamic parents): false past the last. */
SIO_API bool sio_server_namespace_at(sio_server *srv, size_t i, sio_namespace **nsp);
/* Whether the socket came back through connection state recovery (same
 * id, rooms, JSON data, missed events replayed). Readable from
 * middleware on. */
SIO_API bool sio_socket_recovered(const sio_socket *sock);

/* JSON application data on the socket, the reference's socket.data: kept
 * across a connection state recovery (unlike sio_socket_set_data()'s
 * pointer, which the server cannot keep for a socket that is gone).
 * `data` is stolen (NULL clears; also when the call fails). Returns 0,
 * SIO_EINVAL (NULL sock) or SIO_ENOMEM (the socket keeps it apart, in a
 * part allocated when first needed). */
SIO_API int sio_socket_set_json_data(sio_socket *sock, json_t *data);
/* The JSON data (borrowed), or NULL when none. */
SIO_API json_t *sio_socket_json_data(const sio_socket *sock);

/* ------------------------------------------------------------------ */
/* Admin UI: the @socket.io/admin-ui 0.5 dashboard                      */
/* ------------------------------------------------------------------ */

/* What the admin namespace tells its dashboards. */
enum sio_admin_mode {
	/* server_stats only (counts and aggregated events, from the
	 * server's statistics): no per-socket data, and nothing done per
	 * event, packet or room change. */
	SIO_ADMIN_PRODUCTION = 0,
	/* Also all_sockets on login and the live events: socket_connected,
	 * socket_updated, socket_disconnected, room_joined, room_left,
	 * event_received, event_sent. */
	SIO_ADMIN_DEVELOPMENT = 1,
};

/* The reference's instrument(io, opts) options, in C. */
struct sio_admin_options {
	const char *namespace_name; /* the admin namespace, "/admin" */
	/* Basic authentication: the dashboard's username and a bcrypt hash
	 * ("$2a$", "$2b$" or "$2y$", as bcryptjs, htpasswd -B or PHP make) of
	 * its password, checked with the system's crypt(3) (libxcrypt). Both
	 * NULL: no authentication, anyone may connect (the reference's
	 * auth: false). Each password check blocks the loop for the hash's
	 * cost (some 50 ms at cost 10). */
	const char *username;
	const char *password_hash;
	bool read_only;           /* no commands (emit, join, leave, _disconnect); false */
	enum sio_admin_mode mode; /* SIO_ADMIN_PRODUCTION */
	const char *server_id;    /* serverId in server_stats; NULL: "<hostname>#<pid>" */
	/* Admin sessions remembered for login by sessionId, in memory; past
	 * it the oldest is forgotten. 1000. */
	size_t max_sessions;
	/* Serve the dashboard itself (the built UI of @socket.io/admin-ui,
	 * its ui/dist folder) under this URL path ("/admin-ui/"), so that no
	 * outside site is needed; NULL (default): not served. */
	const char *ui_path;
	/* That folder; NULL: the copy scripts/setup.sh installed when the
	 * library was built (static/admin-ui/node_modules/...). */
	const char *ui_dir;
};

/* Fills `opts` with the defaults above. */
SIO_API void sio_admin_options_init(struct sio_admin_options *opts);

/* Opens the admin namespace that the Socket.IO Admin UI connects to, as
 * the reference's instrument(io, opts): logins (basic auth, then by
 * sessionId), config, server_stats every 2 s, in development mode every
 * socket and the live events, and (unless read_only) the dashboard's
 * commands. The admin namespace is counted and listed as the reference
 * does (it is one of the server's namespaces); its callbacks are the
 * library's (set none of your own on it). server_stats reports the
 * numbers of sio_server_stats(): its aggregatedEvents are what the
 * counters grew by since the last one (bytes on the sockets, HTTP
 * included). Call once, preferably before listening. opts is copied
 * (NULL: the defaults). Returns 0, SIO_EINVAL (NULL srv, a namespace
 * name not starting with '/', username without password_hash or the
 * reverse, a hash that is not bcrypt, a ui_path not starting with '/', a
 * server speaking plain Engine.IO), SIO_ENOTFOUND (ui_path set and
 * no index.html in the UI folder), SIO_ESTATE (instrumented already) or
 * SIO_ENOMEM. The state lives until sio_server_destroy().
 *
 * With Redis (sio_server_use_redis()), as the reference's instrument() on
 * a cluster: server_stats (and in development mode the live events) are
 * emitted to the admin namespace of every node, so the dashboards of any
 * node, sioc's or Node's, see every server (sent every 2 s even with no
 * dashboard on this node; in development mode so is every live event, one
 * Redis message each, as the reference's); all_sockets is every node's sockets (fetched
 * across the cluster for each namespace this node has, sent once every
 * node answered or the requests timeout passed); the commands act on
 * every node's sockets. In development mode, the data that fetch-sockets
 * shows of a socket (sio_namespace_fetch_sockets_async(), and other
 * nodes' fetchSockets()) carries "_admin": {clientId, transport}, as the
 * reference's socket.data does, when the socket's data is unset or an
 * object; the dashboards read a remote socket's client and transport
 * there. */
SIO_API int sio_admin_instrument(sio_server *srv, const struct sio_admin_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* SIOC_H */
