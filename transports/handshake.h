/*
 * Checks of an Engine.IO request before it is served, as the reference's
 * verify() and the `ws` package's handshake checks (internal to
 * transports/).
 */
#ifndef SIOC_TRANSPORTS_HANDSHAKE_H
#define SIOC_TRANSPORTS_HANDSHAKE_H

#include <stdbool.h>

#include "http/request.h"
#include "transports/engine.h"

/* The Engine.IO error codes of a refused request, answered 400 (403 for
 * EIO_ERR_FORBIDDEN) with {"code":N,"message":"..."}. */
enum eio_error_code {
	EIO_ERR_NONE = -1, /* the request may go on */
	EIO_ERR_UNKNOWN_TRANSPORT = 0,
	EIO_ERR_UNKNOWN_SID = 1,
	EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
	EIO_ERR_BAD_REQUEST = 3,
	EIO_ERR_FORBIDDEN = 4,
	EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
};

/* The reference's message for a code ("Transport unknown", ...). */
const char *eio_error_message(enum eio_error_code code);

/* Whether the request is under the engine's path. */
bool handshake_engine_path(const struct eio_engine *e, const struct sio_request *req);

/* The Engine.IO protocol a request speaks, as the reference reads it: 4
 * for EIO=4 (compared with its decoded length: "4%00" is not "4"), 3 for
 * anything else. */
int handshake_protocol(const struct sio_request *req);

/* Whether the engine serves that protocol (3 only with allow_eio3). */
bool handshake_protocol_allowed(const struct eio_engine *e, int protocol);

/*
 * The reference's verify() for a request (`upgrade`: a websocket upgrade
 * request). Returns EIO_ERR_NONE when it may go on, with *sess the
 * session its sid names (NULL for a handshake), or the error code, with
 * *message set by allow_request for EIO_ERR_FORBIDDEN (NULL: the code's
 * own message).
 */
enum eio_error_code handshake_verify(struct eio_engine *e, const struct sio_request *req,
                                     bool upgrade, struct sio_eio_socket **sess,
                                     const char **message);

/* The refusal cause of a code handshake_verify returned for req
 * (bad_origin is a bad_request whose Origin is invalid). */
enum eio_refusal handshake_refusal(enum eio_error_code code, const struct sio_request *req);

/* The websocket handshake headers checked as the `ws` package does: NULL
 * when they are fine, or the message to refuse with. */
const char *handshake_ws_headers_error(const struct sio_request *req);

#endif
