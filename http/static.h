/*
 * Static responses: the browser client bundle compiled
 * into the library (static/bundle.h) and the files of opts.static_dir.
 * Internal.
 */
#ifndef SIOC_HTTP_STATIC_H
#define SIOC_HTTP_STATIC_H

#include <stdbool.h>

#include <sioc.h>

#include "base/util.h"
#include "http/request.h"

/* A folder served under a URL path besides static_dir (the admin UI):
 * <prefix><rel> names <dir>/<rel>, by the rules of static_dir below, and
 * the prefix without its final '/' is redirected to it. */
struct static_mount {
	const char *prefix; /* starts and ends with '/', not "/" alone */
	const char *dir;
};

/*
 * Serves the client bundle (opts->serve_client) under opts->path (which
 * ends with '/'), files of opts->static_dir and of mount (NULL: none), for
 * GET and HEAD. Appends one whole
 * HTTP/1.1 response (status line, headers incl. Content-Length and
 * "Connection: keep-alive" or "Connection: close" per keep_alive, body
 * unless HEAD) to out and returns 1 when the request was for it; returns 0
 * when it is not (the caller then goes on with Engine.IO or 404).
 *
 * Under the path, only the bundle's file names are answered (the query is
 * ignored); everything else there is left to Engine.IO. Elsewhere, with a
 * static_dir, the percent-decoded path names a file below it: 400 for a
 * malformed escape, a NUL or a backslash, 403 for a ".." segment, 301 to
 * "<path>/" for a folder named without its final '/', index.html for one
 * named with it, 500 for a file over 16 MiB; dotfiles, files that resolve
 * (through symbolic links) outside the folder, and anything that is not a
 * regular file are left to the caller's 404, as missing ones.
 *
 * Out of memory: out is left as it was, plus a bodiless 500 with
 * "Connection: close" when even that fits.
 */
int static_serve(const struct sio_server_options *opts, const struct static_mount *mount,
                 const struct sio_request *req, struct buf *out, bool keep_alive);

#endif
