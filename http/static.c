/*
 * Static responses of the HTTP front.
 *
 * The client bundle: the files of static/bundle.h, each with a strong
 * ETag computed at build time from its bytes, "Cache-Control: public,
 * max-age=0" and "Vary: Accept-Encoding", sent as br, gzip, deflate (the
 * two last wrap one stored raw deflate stream) or identity.
 *
 * The static folder: files read with open/fstat/read per request (they are
 * meant to be small; the loop waits for the disk), with the weak ETag of
 * the `send` package that serve-static uses, W/"<size hex>-<mtime ms hex>",
 * and the same answers to hostile paths as serve-static, but for symbolic
 * links, which are followed only when they resolve inside the folder.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sioc.h>

#include "http/response.h"
#include "static/bundle.h"

#define STATIC_MAX_FILE ((off_t)16 << 20) /* larger static_dir files get a 500 */
#define HEAD_RESERVE 512                  /* room for the headers, reserved with the body */

/* ---- responses ---------------------------------------------------------- */

struct resp {
	int status;
	const char *ctype;         /* Content-Type, or NULL */
	const char *encoding;      /* Content-Encoding, or NULL */
	const char *etag;          /* ETag, or NULL */
	const char *last_modified; /* Last-Modified, or NULL */
	const char *location;      /* Location, or NULL */
	bool cache;                /* Cache-Control: public, max-age=0 */
	bool vary;                 /* Vary: Accept-Encoding */
	bool no_length;            /* no Content-Length (304) */
	size_t length;             /* Content-Length */
};

/* Appends the status line and the headers of r. Returns 0 or -1 (out of
 * memory, with part of them appended). */
static int resp_head(struct buf *out, const struct resp *r, bool keep_alive)
{
	struct buf extra = {0};
	int rc = 0;
	if (r->encoding)
		rc |= buf_printf(&extra, "Content-Encoding: %s\r\n", r->encoding);
	if (r->cache)
		rc |= buf_append_str(&extra, "Cache-Control: public, max-age=0\r\n");
	if (r->etag)
		rc |= buf_printf(&extra, "ETag: %s\r\n", r->etag);
	if (r->last_modified)
		rc |= buf_printf(&extra, "Last-Modified: %s\r\n", r->last_modified);
	if (r->vary)
		rc |= buf_append_str(&extra, "Vary: Accept-Encoding\r\n");
	if (r->location)
		rc |= buf_printf(&extra, "Location: %s\r\n", r->location);
	if (rc == 0)
		rc = http_head(out, r->status, r->ctype, r->no_length ? HTTP_NO_LENGTH : r->length,
		               &extra, keep_alive);
	buf_free(&extra);
	return rc ? -1 : 0;
}

/* Out of memory: drops what was appended past `mark`, then appends a bare
 * 500 that closes the connection, when even that fits. */
static void resp_oom(struct buf *out, size_t mark)
{
	static const char r500[] = "HTTP/1.1 500 Internal Server Error\r\n"
	                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
	out->len = mark;
	if (buf_append(out, r500, sizeof(r500) - 1) < 0)
		out->len = mark;
}

/* A response with no body (and none announced but by Content-Length: 0). */
static void resp_empty(struct buf *out, const struct resp *r, bool keep_alive)
{
	size_t mark = out->len;
	if (resp_head(out, r, keep_alive) < 0)
		resp_oom(out, mark);
}

/* A response whose body is the concatenation of up to three parts; only
 * the headers for HEAD. r->length is set here. */
static void resp_full(struct buf *out, struct resp *r, bool head, bool keep_alive,
                      const void *const parts[3], const size_t lens[3])
{
	size_t mark = out->len;
	r->length = lens[0] + lens[1] + lens[2];
	int rc = buf_reserve(out, HEAD_RESERVE + (head ? 0 : r->length));
	if (rc == 0)
		rc = resp_head(out, r, keep_alive);
	for (int i = 0; rc == 0 && !head && i < 3; i++)
		rc = buf_append(out, parts[i], lens[i]);
	if (rc)
		resp_oom(out, mark);
}

/* ---- conditional requests --------------------------------------------- */

/*
 * Whether If-None-Match `inm` matches entity tag `etag` (either strength)
 * by the weak comparison (RFC 9110 13.1.2): "*", or a member whose quoted
 * part equals etag's. Members are read up to the first malformed one.
 */
static bool etag_none_match(const char *inm, const char *etag)
{
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	size_t want = strlen(etag);
	const char *p = inm;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false;
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		size_t n = (size_t)(end - p) + 1;
		if (n == want && memcmp(p, etag, n) == 0)
			return true;
		p = end + 1;
	}
}

/* ---- content coding ----------------------------------------------------- */

enum coding { CODING_IDENTITY, CODING_BR, CODING_GZIP, CODING_DEFLATE, CODING_COUNT };

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The qvalue s[0..n) ("0", "0.5", "1.000": RFC 9110 12.4.2) in
 * thousandths, or -1 when malformed. Digits past the third are ignored. */
static int qvalue_parse(const char *s, size_t n)
{
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	int q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.')
		return -1;
	int scale = 100;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
		scale /= 10;
	}
	return q > 1000 ? -1 : q;
}

/* The q parameter among the parameters p[0..n) (";q=0.5;x=y") of one
 * Accept-Encoding member: 1000 when absent, 0 when malformed. */
static int member_q(const char *p, size_t n)
{
	const char *end = p + n;
	int q = 1000;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (!semi)
			break;
		const char *a = semi + 1;
		const char *b = memchr(a, ';', (size_t)(end - a));
		if (!b)
			b = end;
		p = b;
		while (a < b && is_ows(*a))
			a++;
		while (b > a && is_ows(b[-1]))
			b--;
		if (a == b || (*a != 'q' && *a != 'Q'))
			continue;
		const char *v = a + 1;
		while (v < b && is_ows(*v))
			v++;
		if (v == b || *v != '=')
			continue;
		v++;
		while (v < b && is_ows(*v))
			v++;
		int qv = qvalue_parse(v, (size_t)(b - v));
		q = qv < 0 ? 0 : qv;
	}
	return q;
}

/*
 * The coding of f to send for Accept-Encoding `ae` (NULL: the header is
 * absent): of br, gzip and deflate, the one f has with the highest q above
 * 0, named or through "*"; ties go to the smaller one (br, gzip, deflate in
 * that order; the reference picks the first named in the header). Identity
 * when none is acceptable, even when identity itself is refused, as the
 * reference does.
 */
static enum coding coding_choose(const char *ae, const struct bundle_file *f)
{
	static const char *const names[CODING_COUNT] = {"identity", "br", "gzip", "deflate"};
	int named[CODING_COUNT] = {-1, -1, -1, -1}; /* best q given by name */
	int star = -1;                              /* best q given to "*" */
	const char *p = ae ? ae : "";
	while (*p) {
		size_t mlen = strcspn(p, ",");
		const char *m = p;
		p += mlen;
		if (*p == ',')
			p++;
		while (mlen && is_ows(*m)) {
			m++;
			mlen--;
		}
		size_t tlen = strcspn(m, ",; \t");
		if (tlen > mlen)
			tlen = mlen;
		if (tlen == 0)
			continue;
		int q = member_q(m + tlen, mlen - tlen);
		for (int c = CODING_BR; c < CODING_COUNT; c++)
			if (ascii_ieqn(m, tlen, names[c]) && q > named[c])
				named[c] = q;
		if (tlen == 1 && m[0] == '*' && q > star)
			star = q;
	}
	const bool have[CODING_COUNT] = {true, f->br != NULL, f->deflate != NULL,
	                                 f->deflate != NULL};
	enum coding best = CODING_IDENTITY;
	int best_q = 0;
	for (int c = CODING_BR; c < CODING_COUNT; c++) {
		int q = named[c] >= 0 ? named[c] : star;
		if (have[c] && q > best_q) {
			best = (enum coding)c;
			best_q = q;
		}
	}
	return best;
}

/* ---- the client bundle -------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The bundle file named by the url part `name` (the query is ignored), or
 * NULL. */
static const struct bundle_file *bundle_find(const char *name)
{
	size_t n = strcspn(name, "?");
	for (size_t i = 0; i < bundle_nfiles; i++)
		if (strlen(bundle_files[i].name) == n && memcmp(bundle_files[i].name, name, n) == 0)
			return &bundle_files[i];
	return NULL;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void bundle_respond(const struct bundle_file *f, const struct sio_request *req, bool head,
                           struct buf *out, bool keep_alive)
{
	struct resp r = {
	        .status = 200,
	        .ctype = ends_with(f->name, ".map") ? "application/json; charset=utf-8"
	                                            : "application/javascript; charset=utf-8",
	        .etag = f->etag,
	        .cache = true,
	        .vary = true,
	};
	const char *inm = sio_request_header(req, "if-none-match");
	if (inm && etag_none_match(inm, f->etag)) {
		r.status = 304;
		r.ctype = NULL;
		r.no_length = true;
		resp_empty(out, &r, keep_alive);
		return;
	}
	/* gzip: RFC 1952 header (no name, no time, best compression, Unix),
	 * then CRC-32 and size; zlib: RFC 1950 header (32 KiB window, best
	 * compression), then Adler-32, big-endian. */
	uint8_t pre[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3};
	uint8_t post[8];
	const void *parts[3] = {pre, f->data, post};
	size_t lens[3] = {0, f->len, 0};
	switch (coding_choose(sio_request_header(req, "accept-encoding"), f)) {
	case CODING_BR:
		r.encoding = "br";
		parts[1] = f->br;
		lens[1] = f->br_len;
		break;
	case CODING_GZIP:
		r.encoding = "gzip";
		put_le32(post, f->crc32);
		put_le32(post + 4, (uint32_t)f->len);
		parts[1] = f->deflate;
		lens[0] = 10;
		lens[1] = f->deflate_len;
		lens[2] = 8;
		break;
	case CODING_DEFLATE:
		r.encoding = "deflate";
		pre[0] = 0x78;
		pre[1] = 0xda;
		for (int i = 0; i < 4; i++)
			post[i] = (uint8_t)(f->adler32 >> (24 - 8 * i));
		parts[1] = f->deflate;
		lens[0] = 2;
		lens[1] = f->deflate_len;
		lens[2] = 4;
		break;
	default:
		break;
	}
	resp_full(out, &r, head, keep_alive, parts, lens);
}

/* ---- the static folder -------------------------------------------------- */

/*
 * Percent-decodes s[0..n) into a new string (*out, to free). Returns 0;
 * 400 for a '%' not followed by two hex digits (decodeURIComponent throws
 * there), a NUL or a backslash, raw or escaped; -1 when out of memory.
 */
static int path_decode(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	if (!d)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3 || hex_digit_value((unsigned char)s[i + 1]) < 0 ||
			    hex_digit_value((unsigned char)s[i + 2]) < 0) {
				free(d);
				return 400;
			}
			c = hex_digit_value((unsigned char)s[i + 1]) * 16 + hex_digit_value((unsigned char)s[i + 2]);
			i += 2;
		}
		if (c == '\0' || c == '\\') {
			free(d);
			return 400;
		}
		d[o++] = (char)c;
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

/* Checks the segments of the decoded path p: 0 when all are plain, 403
 * when one is "..", 404 when one starts with '.' (".", dotfiles). */
static int path_check(const char *p)
{
	int verdict = 0;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 403;
		if (n && p[0] == '.')
			verdict = 404;
		p += n;
	}
	return verdict;
}

/* Whether the resolved path p is root or below it (both from realpath). */
static bool path_within(const char *p, const char *root, size_t root_len)
{
	if (root_len == 1) /* root is "/" */
		return p[0] == '/';
	return strncmp(p, root, root_len) == 0 && (p[root_len] == '\0' || p[root_len] == '/');
}

/*
 * Opens `path` for reading when it resolves, symbolic links followed, to
 * root or below it, through no dot segment below root (the link target is
 * held to the rules of the URL). Returns the descriptor, *st filled, or -1:
 * missing, outside, or unreadable. The check and the open are two steps:
 * someone who can write in the folder can race them, nobody else.
 */
static int open_within(const char *root, size_t root_len, const char *path, struct stat *st)
{
	char *rp = realpath(path, NULL);
	if (!rp)
		return -1;
	int fd = -1;
	if (path_within(rp, root, root_len) && path_check(rp + root_len) == 0) {
		/* O_NONBLOCK: opening a FIFO must not wait for a writer */
		fd = open(rp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0 && fstat(fd, st) < 0) {
			close(fd);
			fd = -1;
		}
	}
	free(rp);
	return fd;
}

/* The Content-Type for a file name, by its extension. */
static const char *content_type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	        {"html", "text/html; charset=utf-8"},
	        {"htm", "text/html; charset=utf-8"},
	        {"css", "text/css; charset=utf-8"},
	        {"js", "text/javascript; charset=utf-8"},
	        {"mjs", "text/javascript; charset=utf-8"},
	        {"json", "application/json; charset=utf-8"},
	        {"map", "application/json; charset=utf-8"},
	        {"txt", "text/plain; charset=utf-8"},
	        {"png", "image/png"},
	        {"jpg", "image/jpeg"},
	        {"jpeg", "image/jpeg"},
	        {"gif", "image/gif"},
	        {"webp", "image/webp"},
	        {"svg", "image/svg+xml"},
	        {"ico", "image/x-icon"},
	        {"wasm", "application/wasm"},
	        {"woff", "font/woff"},
	        {"woff2", "font/woff2"},
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (ascii_ieq(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), locale-free. */
static void http_date(time_t t, char out[64])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Reads up to `size` bytes of fd into a new buffer (*data, to free).
 * Returns the count read (short when the file shrank), or -1. */
static ssize_t read_all(int fd, size_t size, uint8_t **data)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return -1;
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(p);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*data = p;
	return (ssize_t)got;
}

/* The 301 of a folder named without its final '/': to the same path with
 * it (leading slashes collapsed, so that it cannot name another host),
 * query dropped, as serve-static. Returns 0 (not served) when the raw path
 * holds bytes unfit for a header. */
static int dir_redirect(const char *raw, size_t n, struct buf *out, bool keep_alive)
{
	while (n > 1 && raw[1] == '/') {
		raw++;
		n--;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)raw[i] <= ' ' || (unsigned char)raw[i] >= 0x7f)
			return 0;
	char *loc = malloc(n + 2);
	if (!loc) {
		resp_oom(out, out->len);
		return 1;
	}
	memcpy(loc, raw, n);
	loc[n] = '/';
	loc[n + 1] = '\0';
	struct resp r = {.status = 301, .location = loc};
	resp_empty(out, &r, keep_alive);
	free(loc);
	return 1;
}

/* Serves the regular file open at fd (name: for the content type). */
static void file_respond(int fd, const struct stat *st, const char *name,
                         const struct sio_request *req, bool head, struct buf *out, bool keep_alive)
{
	if (st->st_size > STATIC_MAX_FILE) {
		struct resp r = {.status = 500};
		resp_empty(out, &r, keep_alive);
		return;
	}
	char etag[64], date[64];
	uintmax_t mtime_ms =
	        (uintmax_t)st->st_mtim.tv_sec * 1000u + (uintmax_t)st->st_mtim.tv_nsec / 1000000u;
	snprintf(etag, sizeof(etag), "W/\"%jx-%jx\"", (uintmax_t)st->st_size, mtime_ms);
	http_date(st->st_mtim.tv_sec, date);
	struct resp r = {
	        .status = 200,
	        .ctype = content_type_of(name),
	        .etag = etag,
	        .last_modified = date[0] ? date : NULL,
	        .cache = true,
	};
	const char *inm = sio_request_header(req, "if-none-match");
	if (inm && etag_none_match(inm, etag)) {
		r.status = 304;
		r.ctype = NULL;
		r.no_length = true;
		resp_empty(out, &r, keep_alive);
		return;
	}
	const void *parts[3] = {NULL, NULL, NULL};
	size_t lens[3] = {0, (size_t)st->st_size, 0};
	uint8_t *data = NULL;
	if (!head) {
		ssize_t n = read_all(fd, (size_t)st->st_size, &data);
		if (n < 0) {
			struct resp e = {.status = 500};
			resp_empty(out, &e, keep_alive);
			return;
		}
		parts[1] = data;
		lens[1] = (size_t)n;
	}
	resp_full(out, &r, head, keep_alive, parts, lens);
	free(data);
}

/* The static folder's answer: 1 when a response was appended, 0 for the
 * caller's 404. The URL path names a file of static_dir once its first
 * skip bytes (a mount's prefix but its final '/') are dropped. */
static int dir_serve(const char *static_dir, size_t skip, const struct sio_request *req, bool head,
                     struct buf *out, bool keep_alive)
{
	const char *url = sio_request_url(req);
	if (url[0] != '/')
		return 0; /* absolute-form or "*": not served from the folder */
	size_t raw_len = strcspn(url, "?#");
	char *path = NULL;
	int rc = path_decode(url, raw_len, &path);
	if (rc == 0)
		rc = path_check(path);
	if (rc) {
		free(path);
		if (rc == 404)
			return 0;
		if (rc < 0) {
			resp_oom(out, out->len);
		} else {
			struct resp r = {.status = rc};
			resp_empty(out, &r, keep_alive);
		}
		return 1;
	}
	int served = 0;
	char *full = NULL;
	char *root = realpath(static_dir, NULL);
	size_t root_len = root ? strlen(root) : 0;
	size_t plen = strlen(path);
	const char *rel = path + skip + strspn(path + skip, "/");
	if (root)
		full = malloc(root_len + 1 + strlen(rel) + sizeof("/index.html"));
	if (full) {
		snprintf(full, root_len + 2, "%s/", root);
		strcat(full, rel);
		struct stat st;
		const char *name = full;
		int fd = open_within(root, root_len, full, &st);
		if (fd >= 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			fd = -1;
			if (path[plen - 1] != '/') {
				served = dir_redirect(url, raw_len, out, keep_alive);
			} else {
				if (full[strlen(full) - 1] != '/')
					strcat(full, "/");
				strcat(full, "index.html");
				fd = open_within(root, root_len, full, &st);
			}
		}
		if (fd >= 0 && S_ISREG(st.st_mode)) {
			file_respond(fd, &st, name, req, head, out, keep_alive);
			served = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	free(full);
	free(root);
	free(path);
	return served;
}

/* ---- entry -------------------------------------------------------------- */

/* Whether url's path is the mount's prefix, or that without its final
 * '/', or below it. */
static bool mount_matches(const struct static_mount *m, const char *url)
{
	size_t n = strlen(m->prefix) - 1;
	return strncmp(url, m->prefix, n) == 0 && strchr("/?#", url[n]); /* or the NUL */
}

int static_serve(const struct sio_server_options *opts, const struct static_mount *mount,
                 const struct sio_request *req, struct buf *out, bool keep_alive)
{
	const char *method = sio_request_method(req);
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		return 0;
	const char *url = sio_request_url(req);
	size_t path_len = strlen(opts->path);
	if (strncmp(url, opts->path, path_len) == 0) {
		const struct bundle_file *f = opts->serve_client ? bundle_find(url + path_len) : NULL;
		if (!f)
			return 0;
		bundle_respond(f, req, head, out, keep_alive);
		return 1;
	}
	if (mount && mount_matches(mount, url))
		return dir_serve(mount->dir, strlen(mount->prefix) - 1, req, head, out, keep_alive);
	if (!opts->static_dir)
		return 0;
	return dir_serve(opts->static_dir, 0, req, head, out, keep_alive);
}
