/*
 * The browser client bundle compiled into the library. static/bundle_gen
 * writes the table (client_bundle.c, in the build folder) at build time
 * from socket.io-client's dist/ files; http/static.c serves it.
 * Internal.
 */
#ifndef SIOC_STATIC_BUNDLE_H
#define SIOC_STATIC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

struct bundle_file {
	const char *name; /* served as <path><name>, e.g. "socket.io.js" */
	const char *etag; /* strong, quoted: "<length hex>-<27 chars of base64 SHA-1>" */
	const uint8_t *data;
	size_t len;
	/* Raw deflate stream (RFC 1951, best compression) of data; the gzip
	 * and zlib forms wrap it with the checksums below. NULL when it would
	 * not be smaller than data. */
	const uint8_t *deflate;
	size_t deflate_len;
	uint32_t crc32;    /* of data: the gzip trailer */
	uint32_t adler32;  /* of data: the zlib trailer */
	const uint8_t *br; /* brotli stream (quality 11) of data; NULL: not smaller */
	size_t br_len;
};

/* The files, in no particular order. */
extern const struct bundle_file bundle_files[];
extern const size_t bundle_nfiles;

#endif
