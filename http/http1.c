#include "http/http1.h"

#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#define MAX_URL 8192
#define MAX_CHUNK_EXTENSIONS 4096 /* bytes of extensions on one chunk-size line */

enum hdr_state { HS_NONE, HS_FIELD, HS_VALUE };

struct h1 {
	llhttp_t parser;
	llhttp_settings_t settings;
	const struct h1_events *ev;
	void *ud;
	size_t max_header;
	struct sio_request req;

	bool in_message;       /* headers validated, llhttp is parsing a message */
	size_t scan;           /* bytes of the header block scanned so far */
	int app_status;        /* status returned by a callback */
	bool keep_alive;
	enum hdr_state hs;
	uint32_t cur_name, cur_value;
	bool url_started;
	size_t url_len;
	bool headers_done; /* what llhttp reports as headers now are trailers */
	enum { TR_NONE, TR_START, TR_SCAN, TR_FEED } trailers;
	size_t chunk_ext_bytes; /* extensions on the current chunk-size line */
};

static struct h1 *from(llhttp_t *p)
{
	return (struct h1 *)p->data;
}

static int on_message_begin(llhttp_t *p)
{
	struct h1 *h = from(p);
	request_reset(&h->req);
	h->hs = HS_NONE;
	h->url_started = false;
	h->url_len = 0;
	h->app_status = 0;
	h->headers_done = false;
	h->trailers = TR_NONE;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
	struct h1 *h = from(p);
	h->url_len += n;
	if (h->url_len > MAX_URL) {
		h->app_status = 414;
		return -1;
	}
	int rc = h->url_started ? request_append_to(&h->req, h->req.url, at, n)
				: request_add_string(&h->req, at, n, &h->req.url);
	h->url_started = true;
	return rc < 0 ? -1 : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct h1 *h = from(p);
	int rc;
	if (h->headers_done)
		return 0; /* a trailer field: not kept; h1_feed bounds them */
	if (h->hs == HS_FIELD) {
		rc = request_append_to(&h->req, h->cur_name, at, n);
	} else {
		if (h->hs == HS_VALUE && request_add_header(&h->req, h->cur_name, h->cur_value) < 0)
			return -1;
		rc = request_add_string(&h->req, at, n, &h->cur_name);
		h->hs = HS_FIELD;
	}
	return rc < 0 ? -1 : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct h1 *h = from(p);
	int rc;
	if (h->headers_done)
		return 0;
	if (h->hs == HS_VALUE) {
		rc = request_append_to(&h->req, h->cur_value, at, n);
	} else {
		rc = request_add_string(&h->req, at, n, &h->cur_value);
		h->hs = HS_VALUE;
	}
	return rc < 0 ? -1 : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct h1 *h = from(p);
	if (h->headers_done)
		return 0;
	if (h->hs == HS_FIELD) {
		/* empty value: llhttp gives no value span */
		if (request_add_string(&h->req, "", 0, &h->cur_value) < 0)
			return -1;
		h->hs = HS_VALUE;
	}
	/* the value is the last string in the arena: drop trailing SP/HT
	 * (RFC 9112 5), which llhttp 8.1 keeps */
	struct req_arena *a = &h->req.arena;
	while (a->len - 1 > h->cur_value &&
	       (a->data[a->len - 2] == ' ' || a->data[a->len - 2] == '\t')) {
		a->data[a->len - 2] = '\0';
		a->len--;
	}
	return 0;
}

/* RFC 9110 5.6.2 token characters. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field names must be tokens (llhttp 8.1 lets "Host : x" through), and an
 * HTTP/1.1 request has exactly one Host (RFC 9112 3.2). */
static bool headers_valid(const llhttp_t *p, const struct sio_request *r)
{
	size_t hosts = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *name = request_str(r, r->headers[i].name);
		if (!*name)
			return false;
		for (const char *c = name; *c; c++)
			if (!is_tchar((unsigned char)*c))
				return false;
		if (strcmp(name, "host") == 0)
			hosts++;
	}
	if (p->http_major != 1)
		return false;
	return hosts == 1 || (p->http_minor == 0 && hosts == 0);
}

static int on_headers_complete(llhttp_t *p)
{
	struct h1 *h = from(p);
	if (h->hs == HS_VALUE && request_add_header(&h->req, h->cur_name, h->cur_value) < 0)
		return -1;
	h->hs = HS_NONE;
	h->headers_done = true;
	const char *m = llhttp_method_name((llhttp_method_t)p->method);
	if (request_add_string(&h->req, m, strlen(m), &h->req.method) < 0)
		return -1;
	if (!h->url_started && request_add_string(&h->req, "", 0, &h->req.url) < 0)
		return -1;
	if (request_seal(&h->req) < 0)
		return -1;
	if (!headers_valid(p, &h->req)) {
		h->app_status = 400;
		return -1;
	}
	struct h1_info info = {
		.upgrade = p->upgrade != 0,
		.chunked = (p->flags & F_CHUNKED) != 0,
		.has_length = (p->flags & F_CONTENT_LENGTH) != 0,
		.content_length = p->content_length,
	};
	int st = h->ev->on_headers(h->ud, &h->req, &info);
	if (st) {
		h->app_status = st;
		return -1;
	}
	return 0;
}

/* Chunk extensions are ignored, but llhttp has no bound on them. */
static int on_chunk_ext(llhttp_t *p, const char *at, size_t n)
{
	struct h1 *h = from(p);
	(void)at;
	h->chunk_ext_bytes += n;
	return h->chunk_ext_bytes > MAX_CHUNK_EXTENSIONS ? -1 : 0;
}

/* The last chunk (size 0) starts the trailer section: llhttp stops here so
 * that h1_feed can bound it as it bounds the header block. */
static int on_chunk_header(llhttp_t *p)
{
	struct h1 *h = from(p);
	h->chunk_ext_bytes = 0;
	if (p->content_length == 0) {
		h->trailers = TR_START;
		return HPE_PAUSED;
	}
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct h1 *h = from(p);
	int st = h->ev->on_body(h->ud, (const uint8_t *)at, n);
	if (st) {
		h->app_status = st;
		return -1;
	}
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct h1 *h = from(p);
	h->keep_alive = llhttp_should_keep_alive(p) != 0;
	if (p->upgrade)
		return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
	return HPE_PAUSED;
}

struct h1 *h1_create(const struct h1_events *ev, void *ud, size_t max_header_size)
{
	struct h1 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ev = ev;
	h->ud = ud;
	h->max_header = max_header_size;
	llhttp_settings_init(&h->settings);
	h->settings.on_message_begin = on_message_begin;
	h->settings.on_url = on_url;
	h->settings.on_header_field = on_header_field;
	h->settings.on_header_value = on_header_value;
	h->settings.on_header_value_complete = on_header_value_complete;
	h->settings.on_headers_complete = on_headers_complete;
	h->settings.on_body = on_body;
	h->settings.on_chunk_extension_name = on_chunk_ext;
	h->settings.on_chunk_extension_value = on_chunk_ext;
	h->settings.on_chunk_header = on_chunk_header;
	h->settings.on_message_complete = on_message_complete;
	llhttp_init(&h->parser, HTTP_REQUEST, &h->settings);
	h->parser.data = h;
	request_reset(&h->req);
	return h;
}

void h1_destroy(struct h1 *h)
{
	if (!h)
		return;
	request_free(&h->req);
	free(h);
}

/*
 * Scans the header block that starts at data[0] for its end (an empty
 * line), refusing what llhttp 8.1 would let through: a CR not followed by
 * LF, a LF not preceded by CR, a line folded onto the previous one
 * (obs-fold), NUL. Returns the block length, 0 when more bytes are
 * needed, -1 when malformed.
 */
static long scan_headers(struct h1 *h, const uint8_t *data, size_t n)
{
	size_t i = h->scan;
	for (; i < n; i++) {
		uint8_t c = data[i];
		if (c == '\0')
			return -1;
		if (c == '\r') {
			if (i + 1 >= n)
				break; /* need the next byte */
			if (data[i + 1] != '\n')
				return -1;
			continue;
		}
		if (c == '\n') {
			if (i == 0 || data[i - 1] != '\r')
				return -1;
			/* what starts the next line? (when not here yet, this LF
			 * is looked at again on the next call) */
			if (i + 1 >= n)
				break;
			uint8_t d = data[i + 1];
			if (d == '\r') {
				if (i + 2 >= n)
					break;
				if (data[i + 2] != '\n')
					return -1;
				h->scan = i + 3;
				return (long)(i + 3);
			}
			if (d == ' ' || d == '\t')
				return -1;
		}
	}
	h->scan = i;
	return 0;
}

/*
 * The trailer section after the last chunk: an empty line alone, or field
 * lines ending with one, refused as scan_headers refuses (the line before
 * it, the last chunk's, cannot be folded onto).
 */
static long scan_trailers(struct h1 *h, const uint8_t *data, size_t n)
{
	if (h->scan == 0 && n > 0) {
		if (data[0] == ' ' || data[0] == '\t' || data[0] == '\n')
			return -1;
		if (data[0] == '\r') {
			if (n < 2)
				return 0;
			return data[1] == '\n' ? 2 : -1;
		}
	}
	return scan_headers(h, data, n);
}

/*
 * Finds the end of the header block (or trailer section) at data[0].
 * Returns its length, 0 when more bytes are needed, -1 with *status set
 * when it is refused. Never looks past the cap: whether bytes beyond it
 * would be refused must not depend on how they were cut (fuzz_http1 found
 * both blocks doing so: 400 whole, 431 in pieces).
 */
static long block_end(struct h1 *h, const uint8_t *data, size_t n, bool trailers, int *status)
{
	size_t avail = n > h->max_header ? h->max_header : n;
	long end = trailers ? scan_trailers(h, data, avail) : scan_headers(h, data, avail);
	if (end < 0) {
		*status = 400;
		return -1;
	}
	if (end == 0 && n > h->max_header) {
		*status = 431;
		return -1;
	}
	return end; /* 0: keep the partial block; the scan resumes at h->scan */
}

enum h1_result h1_feed(struct h1 *h, const uint8_t *data, size_t n, size_t *used, int *status)
{
	size_t off = 0;
	*used = 0;
	*status = 0;
	if (!h->in_message) {
		/* Empty lines before a request are ignored (RFC 9112 2.2). */
		while (off + 1 < n && data[off] == '\r' && data[off + 1] == '\n' && h->scan == 0)
			off += 2;
		if (off == n || (n - off == 1 && data[off] == '\r')) {
			*used = off;
			return H1_NEED_MORE;
		}
		long end = block_end(h, data + off, n - off, false, status);
		if (end < 0)
			return H1_ERROR;
		if (end == 0) {
			*used = off; /* h->scan counts from data + off */
			return H1_NEED_MORE;
		}
		h->in_message = true;
	}
	for (;;) {
		/* llhttp sees the rest of the bytes, or only the whole trailer
		 * section once it is here */
		size_t len = n - off;
		if (h->trailers == TR_SCAN) {
			long end = block_end(h, data + off, n - off, true, status);
			if (end < 0)
				return H1_ERROR;
			if (end == 0) {
				*used = off;
				return H1_NEED_MORE;
			}
			h->trailers = TR_FEED;
			len = (size_t)end;
		}
		const char *start = (const char *)data + off;
		enum llhttp_errno err = llhttp_execute(&h->parser, start, len);
		if (err == HPE_OK) {
			if (h->trailers == TR_FEED) {
				/* llhttp wants more than a whole trailer section */
				*status = 400;
				return H1_ERROR;
			}
			*used = n;
			return H1_NEED_MORE;
		}
		size_t pos = (size_t)(llhttp_get_error_pos(&h->parser) - start) + off;
		if (err == HPE_PAUSED && h->trailers == TR_START) {
			h->trailers = TR_SCAN;
			h->scan = 0;
			llhttp_resume(&h->parser);
			off = pos;
			continue;
		}
		*used = pos;
		if (err == HPE_PAUSED)
			return H1_REQUEST;
		if (err == HPE_PAUSED_UPGRADE)
			return H1_UPGRADE;
		*status = h->app_status ? h->app_status : 400;
		return H1_ERROR;
	}
}

void h1_next(struct h1 *h)
{
	h->in_message = false;
	h->scan = 0;
	h->trailers = TR_NONE;
	llhttp_resume(&h->parser);
}

bool h1_keep_alive(const struct h1 *h)
{
	return h->keep_alive;
}

bool h1_idle(const struct h1 *h)
{
	return !h->in_message && h->scan == 0;
}

bool h1_in_body(const struct h1 *h)
{
	return h->in_message && h->headers_done;
}

struct sio_request *h1_request(struct h1 *h)
{
	return &h->req;
}
