#include "transports/handshake.h"

#include <string.h>

const char *eio_error_message(enum eio_error_code code)
{
	switch (code) {
	case EIO_ERR_UNKNOWN_TRANSPORT: return "Transport unknown";
	case EIO_ERR_UNKNOWN_SID: return "Session ID unknown";
	case EIO_ERR_BAD_HANDSHAKE_METHOD: return "Bad handshake method";
	case EIO_ERR_FORBIDDEN: return "Forbidden";
	case EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION: return "Unsupported protocol version";
	default: return "Bad request";
	}
}

bool handshake_engine_path(const struct eio_engine *e, const struct sio_request *req)
{
	return strncmp(sio_request_url(req), e->opts->path, e->path_len) == 0;
}

/* The reference refuses an Origin holding characters invalid in a header. */
static bool origin_invalid(const struct sio_request *req)
{
	const char *o = sio_request_header(req, "origin");
	if (!o)
		return false;
	for (const unsigned char *p = (const unsigned char *)o; *p; p++)
		if (*p != '\t' && (*p < 0x20 || *p == 0x7f))
			return true;
	return false;
}

enum eio_refusal handshake_refusal(enum eio_error_code code, const struct sio_request *req)
{
	switch (code) {
	case EIO_ERR_UNKNOWN_TRANSPORT:
		return EIO_REFUSED_UNKNOWN_TRANSPORT;
	case EIO_ERR_UNKNOWN_SID:
		return EIO_REFUSED_UNKNOWN_SID;
	case EIO_ERR_BAD_HANDSHAKE_METHOD:
		return EIO_REFUSED_BAD_HANDSHAKE_METHOD;
	case EIO_ERR_FORBIDDEN:
		return EIO_REFUSED_FORBIDDEN;
	case EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION:
		return EIO_REFUSED_UNSUPPORTED_VERSION;
	default:
		return origin_invalid(req) ? EIO_REFUSED_BAD_ORIGIN : EIO_REFUSED_BAD_REQUEST;
	}
}

int handshake_protocol(const struct sio_request *req)
{
	size_t len = 0;
	const char *eio = request_query_n(req, "EIO", &len);
	return eio && len == 1 && eio[0] == '4' ? 4 : 3;
}

bool handshake_protocol_allowed(const struct eio_engine *e, int protocol)
{
	return protocol == 4 || e->opts->allow_eio3;
}

enum eio_error_code handshake_verify(struct eio_engine *e, const struct sio_request *req,
				     bool upgrade, struct sio_eio_socket **sess,
				     const char **message)
{
	/* compared with their decoded lengths: "polling%00x" is not "polling" */
	size_t tlen = 0, slen = 0;
	const char *transport = request_query_n(req, "transport", &tlen);
	unsigned t = 0;
	if (transport && tlen == 7 && memcmp(transport, "polling", 7) == 0)
		t = SIO_TRANSPORT_POLLING;
	else if (transport && tlen == 9 && memcmp(transport, "websocket", 9) == 0)
		t = SIO_TRANSPORT_WEBSOCKET;
	*sess = NULL;
	*message = NULL;
	if (!(t & e->opts->transports))
		return EIO_ERR_UNKNOWN_TRANSPORT;
	if (origin_invalid(req))
		return EIO_ERR_BAD_REQUEST;
	const char *sid = request_query_n(req, "sid", &slen);
	if (sid) {
		struct sio_eio_socket *s = session_find(e, sid, slen);
		if (!s || !session_alive(s))
			return EIO_ERR_UNKNOWN_SID;
		if (!upgrade && session_transport(s) != t)
			return EIO_ERR_BAD_REQUEST;
		if (handshake_protocol(req) != s->protocol)
			return EIO_ERR_BAD_REQUEST;
		*sess = s;
		return EIO_ERR_NONE;
	}
	if (strcmp(sio_request_method(req), "GET") != 0)
		return EIO_ERR_BAD_HANDSHAKE_METHOD;
	if (t == SIO_TRANSPORT_WEBSOCKET && !upgrade)
		return EIO_ERR_BAD_REQUEST;
	if (e->opts->allow_request &&
	    !e->opts->allow_request(req, message, e->opts->hooks_userdata))
		return EIO_ERR_FORBIDDEN;
	return EIO_ERR_NONE;
}

const char *handshake_ws_headers_error(const struct sio_request *req)
{
	if (strcmp(sio_request_method(req), "GET") != 0)
		return "Invalid HTTP method";
	const char *up = sio_request_header(req, "upgrade");
	if (!up || !ascii_ieq(up, "websocket"))
		return "Invalid Upgrade header";
	const char *key = sio_request_header(req, "sec-websocket-key");
	if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return "Missing or invalid Sec-WebSocket-Key header";
	for (int i = 0; i < 22; i++) {
		char ch = key[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '+' || ch == '/'))
			return "Missing or invalid Sec-WebSocket-Key header";
	}
	const char *ver = sio_request_header(req, "sec-websocket-version");
	if (!ver || (strcmp(ver, "13") != 0 && strcmp(ver, "8") != 0))
		return "Missing or invalid Sec-WebSocket-Version header";
	return NULL;
}
