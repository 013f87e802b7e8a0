/*
 * Writing HTTP/1.1 responses: the one writer every answer of the library
 * goes through (Engine.IO, static files, errors, refused upgrades).
 */
#ifndef SIOC_HTTP_RESPONSE_H
#define SIOC_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Pass as `length` to write no Content-Length (a 304). */
#define HTTP_NO_LENGTH ((size_t)-1)

/* The reason phrase of a status code ("Internal Server Error" for codes
 * the library does not send). */
const char *http_status_text(int status);

/*
 * Appends a response head to out: the status line, Content-Type when
 * ctype is not NULL, Content-Length unless length is HTTP_NO_LENGTH, the
 * header lines of `extra` ("Name: value\r\n" each; NULL for none), then
 * "Connection: keep-alive" or "Connection: close" and the blank line.
 * Returns 0, or -1 when out of memory (part of it may be appended).
 */
int http_head(struct buf *out, int status, const char *ctype, size_t length,
              const struct buf *extra, bool keep_alive);

/* A whole response: http_head() then the len bytes of body. Returns 0 or
 * -1 as http_head(). */
int http_response(struct buf *out, int status, const char *ctype, const struct buf *extra,
                  const void *body, size_t len, bool keep_alive);

#endif
