#include "http/response.h"

const char *http_status_text(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

int http_head(struct buf *out, int status, const char *ctype, size_t length,
	      const struct buf *extra, bool keep_alive)
{
	int rc = buf_printf(out, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	if (ctype)
		rc |= buf_printf(out, "Content-Type: %s\r\n", ctype);
	if (length != HTTP_NO_LENGTH)
		rc |= buf_printf(out, "Content-Length: %zu\r\n", length);
	if (extra)
		rc |= buf_append(out, extra->data, extra->len);
	rc |= buf_append_str(out, keep_alive ? "Connection: keep-alive\r\n\r\n"
					     : "Connection: close\r\n\r\n");
	return rc ? -1 : 0;
}

int http_response(struct buf *out, int status, const char *ctype, const struct buf *extra,
		  const void *body, size_t len, bool keep_alive)
{
	if (http_head(out, status, ctype, len, extra, keep_alive) < 0)
		return -1;
	return buf_append(out, body, len);
}
