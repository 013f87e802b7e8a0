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

enum sio_error {
	SIO_OK = 0,
	SIO_EINVAL = -1,  /* an argument is invalid */
	SIO_ENOMEM = -2,  /* out of memory */
	SIO_ECLOSED = -3, /* the connection is closed or closing */
	SIO_EFULL = -4,   /* the connection's output queue is full */
	SIO_ELISTEN = -5, /* could not bind or listen */
	SIO_ESTATE = -6,  /* not valid in the current state */
	SIO_EEVLIB = -7,  /* the event library could not be started */
	SIO_ETOOBIG = -8, /* the message is larger than allowed */
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
/* The peer's address as text ("127.0.0.1", "::1"). */
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

struct sio_server_options {
	const char *path;            /* "/socket.io/" */
	uint32_t ping_interval;      /* ms, 25000 */
	uint32_t ping_timeout;       /* ms, 20000 */
	uint32_t upgrade_timeout;    /* ms, 10000 */
	size_t max_http_buffer_size; /* bytes per message / POST body, 1000000 */
	unsigned transports;         /* enum sio_transport bits, both by default */
	bool allow_upgrades;         /* true */
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

	/* Bounds of each connection's output queue. */
	size_t max_queue_bytes;           /* 8 MiB */
	size_t max_queue_packets;         /* 8192 */
	enum sio_queue_full_policy queue_full; /* SIO_QUEUE_FULL_CLOSE */

	/* HTTP limits (the reference inherits these from Node's http server). */
	uint32_t keep_alive_timeout; /* ms an idle keep-alive connection is kept, 5000 */
	uint32_t headers_timeout;    /* ms to receive a request's headers, 60000 */
	size_t max_header_size;      /* bytes of request line + headers, 16384 (431 past it) */
};

/* Fills `opts` with the defaults above. Call it, then change fields. */
SIO_API void sio_server_options_init(struct sio_server_options *opts);

/* ------------------------------------------------------------------ */
/* Server                                                               */
/* ------------------------------------------------------------------ */

typedef struct sio_server sio_server;

/* Creates a server. `opts` (NULL for defaults) is copied, strings
 * included. Returns NULL on failure with *err (if err) set. */
SIO_API sio_server *sio_server_create(const struct sio_server_options *opts, int *err);

/* Binds and listens on host:port (host NULL or "" for all addresses;
 * port 0 picks a free port, see sio_server_port()). Once per server.
 * Returns 0, SIO_ELISTEN, SIO_EEVLIB (the libev plugin of libwebsockets,
 * Debian package libwebsockets-evlib-ev, is missing) or SIO_ESTATE. */
SIO_API int sio_server_listen(sio_server *srv, const char *host, int port);

/* The port listened on, or -1 before sio_server_listen(). */
SIO_API int sio_server_port(const sio_server *srv);

/* Runs the event loop on the calling thread until sio_server_stop().
 * Returns 0, or SIO_ESTATE when not listening. */
SIO_API int sio_server_run(sio_server *srv);

/* Asks the loop to stop: sio_server_run() closes every connection and
 * returns. Thread-safe, and async-signal-safe (may be called from a
 * SIGTERM handler). */
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

/* Sets the Engine.IO callbacks (copied). Replaces the Socket.IO layer
 * when used on its own. Returns 0 or SIO_EINVAL (wrong version). */
SIO_API int sio_eio_set_events(sio_server *srv, const struct sio_eio_events *events,
			       void *userdata);

/* Queues a message (text must be UTF-8). The bytes are copied. Returns
 * 0, SIO_ECLOSED, SIO_ETOOBIG (over max_http_buffer_size), SIO_EFULL
 * (queue full; see queue_full), SIO_ENOMEM. */
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

#ifdef __cplusplus
}
#endif

#endif /* SIOC_H */
