/*
 * Vectors for the HTTP/1.1 request parser (http/http1.c, llhttp plus
 * the project's own checks). Each vector is fed exactly as a connection
 * feeds it: a buffer keeps the bytes not yet consumed; on H1_NEED_MORE the
 * first *used bytes are dropped and the next piece is appended; on
 * H1_REQUEST the request is handled, *used bytes dropped and h1_next()
 * called; H1_UPGRADE and H1_ERROR end the connection. Everything the
 * parser reports is written to a transcript, which is compared with the
 * vector's. Every vector is fed whole, in every split into two pieces and
 * byte by byte, and the transcript must not depend on the cut. Every call
 * gets an exact heap copy of the buffer, so that the sanitizers catch a
 * read past the length.
 *
 * Transcript lines:
 *   H <method> <url> path=<path> [upgrade] [chunked] [length=N]
 *       on_headers; then "  name: value" per header, as sio_request_header_at
 *       gives them, and "  q:name=value" / "  h:name=value" (or " NULL")
 *       for the vector's sio_request_query / sio_request_header lookups
 *   R <method> <url> keep=<0|1> body="..."   H1_REQUEST, body as on_body gave it
 *   U rest="..."                             H1_UPGRADE, the bytes after *used
 *   E <status>                               H1_ERROR
 *   N idle=<0|1> buffered=<n>                input exhausted on H1_NEED_MORE
 * Bytes outside printable ASCII, '"' and '\' are written as \xNN.
 */
#include "http/http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#include "tests/unit/unit.h"

#define DEFAULT_MAX_HEADER 16384 /* the server's default max_header_size */

static long feeds;

/* Appends p[0..n) with the transcript's escaping. */
static void put_esc(struct buf *b, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
			put(b, &s[i], 1);
		} else if (buf_printf(b, "\\x%02x", s[i]) < 0) {
			out_of_memory();
		}
	}
}

static void put_esc_str(struct buf *b, const char *s)
{
	put_esc(b, s, strlen(s));
}

struct h1_vector {
	int line;
	const char *in;
	size_t len;
	const char *expect;         /* the transcript */
	const char *const *lookups; /* "q:name" or "h:name"; NULL-terminated, or NULL */
	size_t max_header;          /* 0: DEFAULT_MAX_HEADER */
	int headers_status;         /* what on_headers returns */
	size_t body_limit;          /* on_body returns 413 past it; 0: no limit */
};

/* One feeding of a vector. */
struct run {
	const struct h1_vector *v;
	struct h1 *h;
	struct buf out;  /* the transcript */
	struct buf body; /* of the current request */
	struct buf hdrs; /* the header lines on_headers saw */
};

static void list_headers(struct buf *b, const struct sio_request *req)
{
	const char *name, *value;

	for (size_t i = 0; sio_request_header_at(req, i, &name, &value); i++) {
		puts_(b, "  ");
		put_esc_str(b, name);
		puts_(b, ": ");
		put_esc_str(b, value);
		puts_(b, "\n");
	}
}

static int ev_headers(void *ud, struct sio_request *req, const struct h1_info *info)
{
	struct run *r = ud;

	puts_(&r->out, "H ");
	put_esc_str(&r->out, sio_request_method(req));
	puts_(&r->out, " ");
	put_esc_str(&r->out, sio_request_url(req));
	puts_(&r->out, " path=");
	put_esc_str(&r->out, request_str(req, req->path));
	if (info->upgrade)
		puts_(&r->out, " upgrade");
	if (info->chunked)
		puts_(&r->out, " chunked");
	if (info->has_length &&
	    buf_printf(&r->out, " length=%llu", (unsigned long long)info->content_length) < 0)
		out_of_memory();
	puts_(&r->out, "\n");
	r->hdrs.len = 0;
	list_headers(&r->hdrs, req);
	put(&r->out, r->hdrs.data, r->hdrs.len);
	for (const char *const *l = r->v->lookups; l && *l; l++) {
		const char *val = (*l)[0] == 'q' ? sio_request_query(req, *l + 2)
		                                 : sio_request_header(req, *l + 2);
		puts_(&r->out, "  ");
		put_esc_str(&r->out, *l);
		if (val) {
			puts_(&r->out, "=");
			put_esc_str(&r->out, val);
		} else {
			puts_(&r->out, " NULL");
		}
		puts_(&r->out, "\n");
	}
	r->body.len = 0;
	return r->v->headers_status;
}

static int ev_body(void *ud, const uint8_t *p, size_t n)
{
	struct run *r = ud;

	put(&r->body, p, n);
	if (r->v->body_limit && r->body.len > r->v->body_limit)
		return 413;
	return 0;
}

static const struct h1_events events = {
        .on_headers = ev_headers,
        .on_body = ev_body,
};

/* The transcript's line for H1_REQUEST; the request must still be the
 * one on_headers saw. */
static void put_request_end(struct run *r)
{
	struct sio_request *req = h1_request(r->h);
	struct buf now = {0};

	puts_(&r->out, "R ");
	put_esc_str(&r->out, sio_request_method(req));
	puts_(&r->out, " ");
	put_esc_str(&r->out, sio_request_url(req));
	if (buf_printf(&r->out, " keep=%d body=\"", h1_keep_alive(r->h)) < 0)
		out_of_memory();
	put_esc(&r->out, r->body.data, r->body.len);
	puts_(&r->out, "\"\n");
	list_headers(&now, req);
	if (now.len != r->hdrs.len || (now.len && memcmp(now.data, r->hdrs.data, now.len) != 0)) {
		puts_(&r->out, "! headers changed after on_headers:\n");
		put(&r->out, now.data, now.len);
	}
	buf_free(&now);
}

/*
 * Feeds in[0..n) as a connection would: whole when cut is 0 and not
 * bytewise, else as [0, cut) and [cut, n), or one byte at a time. Returns
 * the transcript in out (caller frees).
 */
static void feed(const struct h1_vector *v, const uint8_t *in, size_t n, size_t cut, bool bytewise,
                 struct buf *out)
{
	struct run r = {.v = v};
	struct buf pend = {0};
	size_t base = 0; /* offset in `in` of pend.data[0] */
	size_t from = 0;
	bool stop = false;
	size_t requests = 0;

	r.h = h1_create(&events, &r, v->max_header ? v->max_header : DEFAULT_MAX_HEADER);
	if (!r.h)
		out_of_memory();
	while (!stop && from < n) {
		size_t to = bytewise ? from + 1 : (cut && from < cut) ? cut : n;

		bool wait = false; /* H1_NEED_MORE: append the next piece */

		put(&pend, in + from, to - from);
		from = to;
		while (!stop && !wait && pend.len > 0) {
			uint8_t *copy = copy_exact(pend.data, pend.len);
			size_t used = (size_t)-1;
			int status = -1;
			enum h1_result res = h1_feed(r.h, copy, pend.len, &used, &status);

			free(copy);
			feeds++;
			if (used > pend.len) {
				if (buf_printf(&r.out, "! used %zu of %zu\n", used, pend.len) < 0)
					out_of_memory();
				stop = true;
				break;
			}
			if (res != H1_ERROR && status != 0 &&
			    buf_printf(&r.out, "! status %d with result %d\n", status, res) < 0)
				out_of_memory();
			switch (res) {
			case H1_NEED_MORE:
				buf_consume(&pend, used);
				base += used;
				wait = true;
				break;
			case H1_REQUEST:
				put_request_end(&r);
				buf_consume(&pend, used);
				base += used;
				h1_next(r.h);
				if (++requests > n) {
					puts_(&r.out, "! more requests than bytes\n");
					stop = true;
				}
				break;
			case H1_UPGRADE:
				puts_(&r.out, "U rest=\"");
				put_esc(&r.out, in + base + used, n - base - used);
				puts_(&r.out, "\"\n");
				stop = true;
				break;
			case H1_ERROR:
				if (buf_printf(&r.out, "E %d\n", status) < 0)
					out_of_memory();
				stop = true;
				break;
			default:
				if (buf_printf(&r.out, "! result %d\n", res) < 0)
					out_of_memory();
				stop = true;
				break;
			}
		}
	}
	if (!stop && buf_printf(&r.out, "N idle=%d buffered=%zu\n", h1_idle(r.h), pend.len) < 0)
		out_of_memory();
	h1_destroy(r.h);
	buf_free(&pend);
	buf_free(&r.body);
	buf_free(&r.hdrs);
	put(&r.out, "", 1);
	*out = r.out;
}

/* Runs v whole, at every split and byte by byte; reports mismatches. */
static void run_vector(const struct h1_vector *v)
{
	const uint8_t *in = (const uint8_t *)v->in;
	size_t n = v->len;
	struct buf got;
	char msg[200];
	size_t bad_splits = 0;

	vectors++;
	feed(v, in, n, 0, false, &got);
	check_transcript(v->line, "fed whole: transcript differs", (const char *)got.data,
	                 v->expect);
	buf_free(&got);

	for (size_t cut = 1; cut < n; cut++) {
		feed(v, in, n, cut, false, &got);
		if (strcmp((const char *)got.data, v->expect) != 0 && bad_splits++ < 2) {
			snprintf(msg, sizeof(msg),
			         "split at %zu (after \"%.*s\"): transcript differs", cut,
			         cut > 24 ? 24 : (int)cut, v->in + (cut > 24 ? cut - 24 : 0));
			check(0, v->line, msg);
			print_transcript("got", (const char *)got.data);
		}
		buf_free(&got);
	}
	if (bad_splits) {
		snprintf(msg, sizeof(msg), "%zu of %zu splits differ from the expected transcript",
		         bad_splits, n > 1 ? n - 1 : 0);
		check(0, v->line, msg);
	}

	if (n > 1) {
		feed(v, in, n, 0, true, &got);
		if (strcmp((const char *)got.data, v->expect) != 0) {
			check(0, v->line, "byte by byte: transcript differs");
			print_transcript("got", (const char *)got.data);
		}
		buf_free(&got);
	}
}

/* clang-format off */
#define V(in, expect)              { __LINE__, S(in), expect, NULL, 0, 0, 0 }
#define VL(in, lookups, expect)    { __LINE__, S(in), expect, lookups, 0, 0, 0 }
#define VMAX(in, max, expect)      { __LINE__, S(in), expect, NULL, max, 0, 0 }
#define VHS(in, status, expect)    { __LINE__, S(in), expect, NULL, 0, status, 0 }
#define VBL(in, limit, expect)     { __LINE__, S(in), expect, NULL, 0, 0, limit }
#define ERR(in, status)            V(in, "E " #status "\n")
#define NAMES(...)                 ((const char *const[]){__VA_ARGS__, NULL})

#define IDLE "N idle=1 buffered=0\n"

static const struct h1_vector h1_vectors[] = {
	/* simple GET */
	V("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	  "H GET / path=/\n"
	  "  host: example.com\n"
	  "R GET / keep=1 body=\"\"\n"
	  IDLE),
	V("GET /a/b?c HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
	  "H GET /a/b?c path=/a/b\n"
	  "  host: h\n"
	  "  user-agent: t\n"
	  "  accept: */*\n"
	  "R GET /a/b?c keep=1 body=\"\"\n"
	  IDLE),
	/* HTTP/1.0 needs no Host; keep-alive rules */
	V("GET / HTTP/1.0\r\n\r\n",
	  "H GET / path=/\n"
	  "R GET / keep=0 body=\"\"\n"
	  IDLE),
	V("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	  "H GET / path=/\n"
	  "  connection: keep-alive\n"
	  "R GET / keep=1 body=\"\"\n"
	  IDLE),
	V("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	  "H GET / path=/\n"
	  "  host: a\n"
	  "  connection: close\n"
	  "R GET / keep=0 body=\"\"\n"
	  IDLE),
	/* other methods */
	V("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	  "H OPTIONS * path=*\n"
	  "  host: a\n"
	  "R OPTIONS * keep=1 body=\"\"\n"
	  IDLE),
	V("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n",
	  "H DELETE /x path=/x\n"
	  "  host: a\n"
	  "R DELETE /x keep=1 body=\"\"\n"
	  IDLE),

	/* query decoding */
	VL("GET /socket.io/?EIO=4&transport=polling&t=N%20x&a=1&a=2&plus=a+b&pct=%41%42%2b%2F"
	   "&empty=&novalue&%61lias=yes&bad=%zz&trunc=%4&end=%&eq=1=2&eur=%E2%82%AC&&last=z"
	   " HTTP/1.1\r\nHost: a\r\n\r\n",
	   NAMES("q:EIO", "q:transport", "q:t", "q:a", "q:plus", "q:pct", "q:empty",
		 "q:novalue", "q:alias", "q:%61lias", "q:bad", "q:trunc", "q:end", "q:eq",
		 "q:eur", "q:last", "q:eio", "q:missing", "q:"),
	   "H GET /socket.io/?EIO=4&transport=polling&t=N%20x&a=1&a=2&plus=a+b&pct=%41%42%2b%2F"
	   "&empty=&novalue&%61lias=yes&bad=%zz&trunc=%4&end=%&eq=1=2&eur=%E2%82%AC&&last=z"
	   " path=/socket.io/\n"
	   "  host: a\n"
	   "  q:EIO=4\n"
	   "  q:transport=polling\n"
	   "  q:t=N x\n"
	   "  q:a=2\n"                        /* the last duplicate wins */
	   "  q:plus=a b\n"
	   "  q:pct=AB+/\n"
	   "  q:empty=\n"
	   "  q:novalue=\n"
	   "  q:alias=yes\n"                  /* names are decoded too */
	   "  q:%61lias NULL\n"
	   "  q:bad=%zz\n"                    /* invalid escapes kept */
	   "  q:trunc=%4\n"
	   "  q:end=%\n"
	   "  q:eq=1=2\n"
	   "  q:eur=\\xe2\\x82\\xac\n"
	   "  q:last=z\n"
	   "  q:eio NULL\n"                   /* names are case-sensitive */
	   "  q:missing NULL\n"
	   "  q: NULL\n"
	   "R GET /socket.io/?EIO=4&transport=polling&t=N%20x&a=1&a=2&plus=a+b&pct=%41%42%2b%2F"
	   "&empty=&novalue&%61lias=yes&bad=%zz&trunc=%4&end=%&eq=1=2&eur=%E2%82%AC&&last=z"
	   " keep=1 body=\"\"\n"
	   IDLE),
	VL("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", NAMES("q:p", "q:"),
	   "H GET /p path=/p\n"
	   "  host: a\n"
	   "  q:p NULL\n"
	   "  q: NULL\n"
	   "R GET /p keep=1 body=\"\"\n"
	   IDLE),
	VL("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n", NAMES("q:p", "q:"),
	   "H GET /p? path=/p\n"
	   "  host: a\n"
	   "  q:p NULL\n"
	   "  q: NULL\n"
	   "R GET /p? keep=1 body=\"\"\n"
	   IDLE),
	VL("GET /?=v&x=%3D%26 HTTP/1.1\r\nHost: a\r\n\r\n", NAMES("q:", "q:x"),
	   "H GET /?=v&x=%3D%26 path=/\n"
	   "  host: a\n"
	   "  q:=v\n"                         /* an empty name is a name */
	   "  q:x==&\n"
	   "R GET /?=v&x=%3D%26 keep=1 body=\"\"\n"
	   IDLE),
	VL("GET /?a=1&a&b=2&b= HTTP/1.1\r\nHost: a\r\n\r\n", NAMES("q:a", "q:b"),
	   "H GET /?a=1&a&b=2&b= path=/\n"
	   "  host: a\n"
	   "  q:a=\n"
	   "  q:b=\n"
	   "R GET /?a=1&a&b=2&b= keep=1 body=\"\"\n"
	   IDLE),

	/* header names lower-cased, lookups case-insensitive */
	VL("GET /x HTTP/1.1\r\nHOST: a\r\nX-Mixed-Case: Value\r\naccept: */*\r\n"
	   "X-Empty:\r\nX-Empty-2: \r\nX-Spaces:   a b\t \r\n\r\n",
	   NAMES("h:host", "h:x-mixed-case", "h:X-MIXED-CASE", "h:X-Mixed-Case", "h:ACCEPT",
		 "h:x-empty", "h:x-empty-2", "h:x-spaces", "h:missing", "h:x-mixed"),
	   "H GET /x path=/x\n"
	   "  host: a\n"
	   "  x-mixed-case: Value\n"
	   "  accept: */*\n"
	   "  x-empty: \n"
	   "  x-empty-2: \n"
	   "  x-spaces: a b\n"                /* OWS is not part of the value */
	   "  h:host=a\n"
	   "  h:x-mixed-case=Value\n"
	   "  h:X-MIXED-CASE=Value\n"
	   "  h:X-Mixed-Case=Value\n"
	   "  h:ACCEPT=*/*\n"
	   "  h:x-empty=\n"
	   "  h:x-empty-2=\n"
	   "  h:x-spaces=a b\n"
	   "  h:missing NULL\n"
	   "  h:x-mixed NULL\n"
	   "R GET /x keep=1 body=\"\"\n"
	   IDLE),
	VL("GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n", NAMES("h:x-dup"),
	   "H GET / path=/\n"
	   "  host: a\n"
	   "  x-dup: 1\n"
	   "  x-dup: 2\n"
	   "  h:x-dup=1\n"
	   "R GET / keep=1 body=\"\"\n"
	   IDLE),
	/* many headers (the table grows) */
	V("GET / HTTP/1.1\r\nHost: a\r\nA1: 1\r\nA2: 2\r\nA3: 3\r\nA4: 4\r\nA5: 5\r\nA6: 6\r\n"
	  "A7: 7\r\nA8: 8\r\nA9: 9\r\nA10: 10\r\nA11: 11\r\nA12: 12\r\nA13: 13\r\nA14: 14\r\n"
	  "A15: 15\r\nA16: 16\r\nA17: 17\r\n\r\n",
	  "H GET / path=/\n"
	  "  host: a\n  a1: 1\n  a2: 2\n  a3: 3\n  a4: 4\n  a5: 5\n  a6: 6\n  a7: 7\n  a8: 8\n"
	  "  a9: 9\n  a10: 10\n  a11: 11\n  a12: 12\n  a13: 13\n  a14: 14\n  a15: 15\n"
	  "  a16: 16\n  a17: 17\n"
	  "R GET / keep=1 body=\"\"\n"
	  IDLE),

	/* bodies */
	V("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
	  "H POST /submit path=/submit length=11\n"
	  "  host: a\n"
	  "  content-length: 11\n"
	  "R POST /submit keep=1 body=\"hello world\"\n"
	  IDLE),
	V("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n\0\r\n\n \xff",
	  "H POST / path=/ length=6\n"                /* the body is not scanned */
	  "  host: a\n"
	  "  content-length: 6\n"
	  "R POST / keep=1 body=\"\\x00\\x0d\\x0a\\x0a \\xff\"\n"
	  IDLE),
	V("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	  "H POST / path=/ length=0\n"
	  "  host: a\n"
	  "  content-length: 0\n"
	  "R POST / keep=1 body=\"\"\n"
	  IDLE),
	V("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n1234567",
	  "H POST / path=/ length=7\n"
	  "  host: a\n"
	  "  content-length: 007\n"
	  "R POST / keep=1 body=\"1234567\"\n"
	  IDLE),
	V("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\n\r\n",
	  "H POST /c path=/c chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "R POST /c keep=1 body=\"hello world0123456789\"\n"
	  IDLE),
	/* trailer fields are not merged into the header section (RFC 9110 6.5.1) */
	V("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabc\r\n0\r\nX-T1: 1\r\nX-T2: 2\r\n\r\n",
	  "H POST /t path=/t chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "R POST /t keep=1 body=\"abc\"\n"
	  IDLE),
	/* a request cut short is waited for */
	V("GET / HTTP/1.1\r\nHost: a\r\n",
	  "N idle=0 buffered=25\n"),
	V("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234",
	  "H POST / path=/ length=10\n"
	  "  host: a\n"
	  "  content-length: 10\n"
	  "N idle=0 buffered=0\n"),

	/* pipelining */
	V("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	  "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
	  "GET /c HTTP/1.1\r\nHost: a\r\n\r\n",
	  "H GET /a path=/a\n"
	  "  host: a\n"
	  "R GET /a keep=1 body=\"\"\n"
	  "H POST /b path=/b length=3\n"
	  "  host: a\n"
	  "  content-length: 3\n"
	  "R POST /b keep=1 body=\"xyz\"\n"
	  "H GET /c path=/c\n"
	  "  host: a\n"
	  "R GET /c keep=1 body=\"\"\n"
	  IDLE),
	V("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n",
	  "H GET /a path=/a\n"
	  "  host: a\n"
	  "R GET /a keep=1 body=\"\"\n"
	  "N idle=0 buffered=26\n"),
	V("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
	  "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	  "H POST /a path=/a chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "R POST /a keep=1 body=\"hi\"\n"
	  "H GET /b path=/b\n"
	  "  host: a\n"
	  "R GET /b keep=1 body=\"\"\n"
	  IDLE),

	/* empty lines before a request are ignored (RFC 9112 2.2) */
	V("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	  "H GET / path=/\n"
	  "  host: a\n"
	  "R GET / keep=1 body=\"\"\n"
	  IDLE),
	V("GET /a HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n\r\n",
	  "H GET /a path=/a\n"
	  "  host: a\n"
	  "R GET /a keep=1 body=\"\"\n"
	  "H GET /b path=/b\n"
	  "  host: a\n"
	  "R GET /b keep=1 body=\"\"\n"
	  IDLE),
	V("\r\n\r\n\r\n",
	  IDLE),
	V("\r\n\r\n\r",
	  "N idle=1 buffered=1\n"),

	/* upgrade: stops after the headers; what follows is the new protocol's */
	V("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\n"
	  "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	  "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
	  "H GET /socket.io/?EIO=4&transport=websocket path=/socket.io/ upgrade\n"
	  "  host: a\n"
	  "  connection: Upgrade\n"
	  "  upgrade: websocket\n"
	  "  sec-websocket-version: 13\n"
	  "  sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\n"
	  "U rest=\"\\x81\\x857\\xfa!=\\x7f\\x9fMQX\"\n"),
	V("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	  "H GET / path=/ upgrade\n"
	  "  host: a\n"
	  "  connection: keep-alive, Upgrade\n"
	  "  upgrade: websocket\n"
	  "U rest=\"\"\n"),
	/* the trailing bytes are not scanned as headers */
	V("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
	  "\0\n \r\r\n\r\n",
	  "H GET / path=/ upgrade\n"
	  "  host: a\n"
	  "  connection: upgrade\n"
	  "  upgrade: websocket\n"
	  "U rest=\"\\x00\\x0a \\x0d\\x0d\\x0a\\x0d\\x0a\"\n"),
	/* Upgrade without Connection: upgrade is an ordinary request */
	V("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
	  "H GET / path=/\n"
	  "  host: a\n"
	  "  upgrade: websocket\n"
	  "R GET / keep=1 body=\"\"\n"
	  IDLE),
	/* an upgrade after a pipelined request */
	V("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	  "GET /b HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nXY",
	  "H GET /a path=/a\n"
	  "  host: a\n"
	  "R GET /a keep=1 body=\"\"\n"
	  "H GET /b path=/b upgrade\n"
	  "  host: a\n"
	  "  connection: Upgrade\n"
	  "  upgrade: websocket\n"
	  "U rest=\"XY\"\n"),

	/* header size cap: 64 bytes from the request line to the empty line */
	VMAX("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdef\r\n\r\n", 64,
	     "H GET / path=/\n"
	     "  host: a\n"
	     "  x: 0123456789abcdef0123456789abcdef\n"
	     "R GET / keep=1 body=\"\"\n"
	     IDLE),
	VMAX("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdefg\r\n\r\n", 64,
	     "E 431\n"),
	VMAX("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdef0123456789", 64,
	     "E 431\n"),                       /* no end in sight */
	VMAX("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdef\r\n\r\n",
	     64,                               /* empty lines before do not count */
	     "H GET / path=/\n"
	     "  host: a\n"
	     "  x: 0123456789abcdef0123456789abcdef\n"
	     "R GET / keep=1 body=\"\"\n"
	     IDLE),
	VMAX("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
	     "0123456789012345678901234567890123456789012345678901234567890123456789"
	     "012345678901234567890123456789", 64,   /* nor does the body */
	     "H POST / path=/ length=100\n"
	     "  host: a\n"
	     "  content-length: 100\n"
	     "R POST / keep=1 body=\"0123456789012345678901234567890123456789012345678901234567890"
	     "123456789012345678901234567890123456789\"\n"
	     IDLE),
	VMAX("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	     "GET /b HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdefg\r\n\r\n", 64,
	     "H GET /a path=/a\n"             /* per request */
	     "  host: a\n"
	     "R GET /a keep=1 body=\"\"\n"
	     "E 431\n"),

	/* the trailer section is bounded by the same cap, on its own: 64 bytes
	 * from the first field line to the empty line */
	VMAX("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2\r\nhi\r\n0\r\nX-T: 0123456789abcdef0123456789abcdef0123456789abcdef0123456\r\n\r\n"
	     "GET /n HTTP/1.1\r\nHost: a\r\n\r\n", 64,
	     "H POST /t path=/t chunked\n"
	     "  host: a\n"
	     "  transfer-encoding: chunked\n"
	     "R POST /t keep=1 body=\"hi\"\n"
	     "H GET /n path=/n\n"
	     "  host: a\n"
	     "R GET /n keep=1 body=\"\"\n"
	     IDLE),
	VMAX("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2\r\nhi\r\n0\r\nX-T: 0123456789abcdef0123456789abcdef0123456789abcdef01234567\r\n\r\n", 64,
	     "H POST /t path=/t chunked\n"
	     "  host: a\n"
	     "  transfer-encoding: chunked\n"
	     "E 431\n"),
	/* a bad byte past the cap: 431 however the bytes are cut (fuzz_http1) */
	VMAX("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "0\r\nX-T: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789\x01\r\n\r\n", 64,
	     "H POST /t path=/t chunked\n"
	     "  host: a\n"
	     "  transfer-encoding: chunked\n"
	     "E 431\n"),
	V("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "0\r\n X-T: 1\r\n\r\n",
	  "H POST /t path=/t chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "E 400\n"),
	V("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "0\r\nX-T: 1\r\nX-U: 2\n\r\n",
	  "H POST /t path=/t chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "E 400\n"),
	V("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "0\r\nX-T: 1\r\n",
	  "H POST /t path=/t chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "N idle=0 buffered=8\n"),

	/* the application refuses */
	VHS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc", 413,
	    "H POST / path=/ length=100\n"
	    "  host: a\n"
	    "  content-length: 100\n"
	    "E 413\n"),
	VBL("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", 5,
	    "H POST / path=/ length=10\n"
	    "  host: a\n"
	    "  content-length: 10\n"
	    "E 413\n"),
	VBL("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n01234", 5,
	    "H POST / path=/ length=5\n"
	    "  host: a\n"
	    "  content-length: 5\n"
	    "R POST / keep=1 body=\"01234\"\n"
	    IDLE),

	/* message framing (RFC 9112 6) */
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	    "0\r\n\r\n", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
	    "hello!", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\nhello", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nhello", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
	V("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello",
	  "H POST / path=/\n"
	  "  host: a\n"
	  "  transfer-encoding: gzip\n"
	  "E 400\n"),
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nhello", 400),
	/* chunked framing */
	V("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	  "H POST / path=/ chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "E 400\n"),
	V("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
	  "H POST / path=/ chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "E 400\n"),
	V("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
	  "H POST / path=/ chunked\n"
	  "  host: a\n"
	  "  transfer-encoding: chunked\n"
	  "E 400\n"),

	/* line endings: bare CR, bare LF (RFC 9112 2.2) */
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: ab\r\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400),
	ERR("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400),
	ERR("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\n\n", 400),
	ERR("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	/* obs-fold (RFC 9112 5.2) and whitespace before the first field */
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n \r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
	/* field syntax (RFC 9112 5.1): a non-empty token, no space before ':' */
	ERR("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX(: b\r\n\r\n", 400),
	/* NUL anywhere in the header block */
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n", 400),
	ERR("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("\0GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	/* request line */
	ERR("FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("get / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
	ERR("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("GET / http/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
	ERR("GET /\r\nHost: a\r\n\r\n", 400),          /* no version: HTTP/0.9 */
	ERR("GET\r\nHost: a\r\n\r\n", 400),
	ERR("/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	ERR("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	/* Host (RFC 9112 3.2): exactly one in an HTTP/1.1 request */
	ERR("GET / HTTP/1.1\r\n\r\n", 400),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	/* an error in a pipelined request comes after the good one */
	V("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	  "H GET /a path=/a\n"
	  "  host: a\n"
	  "R GET /a keep=1 body=\"\"\n"
	  "E 400\n"),
};
/* clang-format on */

/* Vectors too large for literals: URLs around the 8192-byte cap, with a
 * header cap a little above it (8300) so that both limits can be reached. */
static void test_large(void)
{
	struct buf in = {0}, url = {0}, want = {0};
	static const size_t url_lens[] = {8191, 8192, 8193, 8290};
	const size_t max_header = 8300;

	for (size_t i = 0; i < sizeof(url_lens) / sizeof(url_lens[0]); i++) {
		size_t ulen = url_lens[i];

		in.len = url.len = want.len = 0;
		puts_(&url, "/?q=");
		while (url.len < ulen)
			put(&url, "x", 1);
		puts_(&in, "GET ");
		put(&in, url.data, url.len);
		puts_(&in, " HTTP/1.1\r\nHost: a\r\n\r\n");
		if (in.len > max_header) {
			puts_(&want, "E 431\n");
		} else if (ulen > 8192) {
			puts_(&want, "E 414\n");
		} else {
			puts_(&want, "H GET ");
			put(&want, url.data, url.len);
			puts_(&want, " path=/\n  host: a\nR GET ");
			put(&want, url.data, url.len);
			puts_(&want, " keep=1 body=\"\"\n" IDLE);
		}
		put(&want, "", 1);

		struct h1_vector v = {
		        .line = __LINE__,
		        .in = (const char *)in.data,
		        .len = in.len,
		        .expect = (const char *)want.data,
		        .max_header = max_header,
		};
		run_vector(&v);
	}
	buf_free(&in);
	buf_free(&url);
	buf_free(&want);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(h1_vectors) / sizeof(h1_vectors[0]); i++)
		run_vector(&h1_vectors[i]);
	test_large();

	printf("http1: %d vectors (%ld feeds), %d failures\n", vectors, feeds, failures);
	return failures ? 1 : 0;
}
