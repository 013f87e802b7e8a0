/*
 * Cross-origin resource sharing, as the reference's `cors` middleware
 * answers: the headers of a response and of a preflight.
 */
#ifndef SIOC_HTTP_CORS_H
#define SIOC_HTTP_CORS_H

#include <stdbool.h>

#include <sioc.h>

#include "base/util.h"

/* Appends the CORS header lines for a response to req (a preflight's
 * when `preflight`) to h, per the options co (nothing when they are not
 * enabled). An origin is allowed when it equals one of co->origins
 * exactly, or when co->origin_allowed says so. */
void cors_headers(const struct sio_cors_options *co, const struct sio_request *req, struct buf *h,
                  bool preflight);

#endif
