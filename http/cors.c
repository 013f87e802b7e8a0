#include "http/cors.h"

#include <string.h>

static bool any_origin(const struct sio_cors_options *co)
{
	if (co->origin_allowed)
		return false;
	if (!co->origins)
		return true;
	for (const char *const *o = co->origins; *o; o++)
		if (strcmp(*o, "*") == 0)
			return true;
	return false;
}

static bool origin_allowed(const struct sio_cors_options *co, const char *origin)
{
	if (!origin)
		return false;
	if (co->origin_allowed)
		return co->origin_allowed(origin, co->origin_userdata);
	for (const char *const *o = co->origins; *o; o++)
		if (strcmp(*o, origin) == 0)
			return true;
	return false;
}

void cors_headers(const struct sio_cors_options *co, const struct sio_request *req, struct buf *h,
                  bool preflight)
{
	if (!co->enabled)
		return;
	const char *origin = sio_request_header(req, "origin");
	if (any_origin(co)) {
		buf_append_str(h, "Access-Control-Allow-Origin: *\r\n");
	} else {
		if (origin_allowed(co, origin))
			buf_printf(h, "Access-Control-Allow-Origin: %s\r\n", origin);
		buf_append_str(h, "Vary: Origin\r\n");
	}
	if (co->credentials)
		buf_append_str(h, "Access-Control-Allow-Credentials: true\r\n");
	if (preflight) {
		buf_printf(h, "Access-Control-Allow-Methods: %s\r\n", co->methods);
		const char *ah = co->allowed_headers;
		if (!ah) {
			ah = sio_request_header(req, "access-control-request-headers");
			buf_append_str(h, "Vary: Access-Control-Request-Headers\r\n");
		}
		if (ah && *ah)
			buf_printf(h, "Access-Control-Allow-Headers: %s\r\n", ah);
		if (co->max_age >= 0)
			buf_printf(h, "Access-Control-Max-Age: %d\r\n", co->max_age);
	} else if (co->exposed_headers) {
		buf_printf(h, "Access-Control-Expose-Headers: %s\r\n", co->exposed_headers);
	}
}
