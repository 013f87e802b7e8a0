/*
 * The HTTP/1.1 front (http/http1.c, llhttp underneath), fed request
 * bytes in pieces cut where the input says, and compared with the same
 * bytes fed whole: what the parser reports must not depend on the cuts.
 *
 * Input layout:
 *   byte 0      options: bits 0-1 the header cap (16384, 64, 256, 1024);
 *               bits 2-3 a body limit past which on_body refuses with 413
 *               (none, 5, 100, none); bit 4: on_headers refuses with 403
 *               any request that announces a body
 *   byte 1      k = byte % 16: the number of piece sizes that follow
 *   k bytes     piece sizes (byte + 1), used in turn for up to MAX_PIECES
 *               pieces; the bytes left after those come as one last piece
 *   the rest    the bytes a client sends
 * Inputs shorter than two bytes are request bytes with default options.
 *
 * The bytes are fed as a connection feeds them (tests/unit/test_http1.c,
 * whose transcript format this repeats): a buffer keeps what was not
 * consumed; H1_NEED_MORE drops the first *used bytes and waits for the next
 * piece; H1_REQUEST is handled, *used bytes dropped and h1_next() called;
 * H1_UPGRADE and H1_ERROR end the connection. Every call gets an exact heap
 * copy of the buffer, so that ASan catches a read past the length.
 */
#include "http/http1.h"

#include <sioc.h>

#include "fuzz.h"

/* Bounds the feeds per input: each one copies the whole unconsumed buffer,
 * so feeding a 4 KiB header block byte by byte would cost 8 MiB of copies. */
#define MAX_PIECES 64

struct opts {
	size_t max_header;
	size_t body_limit; /* 0: none */
	bool refuse_bodies;
};

struct run {
	const struct opts *o;
	struct h1 *h;
	struct buf out;  /* the transcript */
	struct buf body; /* of the current request */
	struct buf hdrs; /* the header lines on_headers saw */
};

static void put_esc_str(struct buf *b, const char *s)
{
	put_esc(b, s, strlen(s));
}

static void list_request(struct buf *b, const struct sio_request *req)
{
	static const char *const headers[] = {"host", "connection", "upgrade", "content-length",
	                                      "transfer-encoding"};
	static const char *const queries[] = {"EIO", "transport", "sid", "t", ""};
	const char *name, *value;

	for (size_t i = 0; sio_request_header_at(req, i, &name, &value); i++) {
		puts_(b, "  ");
		put_esc_str(b, name);
		puts_(b, ": ");
		put_esc_str(b, value);
		puts_(b, "\n");
	}
	for (size_t i = 0; sio_request_query_at(req, i, &name, &value); i++) {
		puts_(b, "  q:");
		put_esc_str(b, name);
		puts_(b, "=");
		put_esc_str(b, value);
		puts_(b, "\n");
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		value = sio_request_header(req, headers[i]);
		puts_(b, "  h:");
		puts_(b, headers[i]);
		if (value) {
			puts_(b, "=");
			put_esc_str(b, value);
		}
		puts_(b, "\n");
	}
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		value = sio_request_query(req, queries[i]);
		puts_(b, "  q?");
		puts_(b, queries[i]);
		if (value) {
			puts_(b, "=");
			put_esc_str(b, value);
		}
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
	if (info->has_length)
		put_num(&r->out, " length=%llu", (unsigned long long)info->content_length);
	puts_(&r->out, "\n");
	r->hdrs.len = 0;
	list_request(&r->hdrs, req);
	put(&r->out, r->hdrs.data, r->hdrs.len);
	r->body.len = 0;
	if (r->o->refuse_bodies && (info->chunked || (info->has_length && info->content_length)))
		return 403;
	return 0;
}

static int ev_body(void *ud, const uint8_t *p, size_t n)
{
	struct run *r = ud;

	FUZZ_CHECK(n > 0);
	put(&r->body, p, n);
	if (r->o->body_limit && r->body.len > r->o->body_limit)
		return 413;
	return 0;
}

static const struct h1_events events = {
        .on_headers = ev_headers,
        .on_body = ev_body,
};

/* The line for H1_REQUEST; the request must still be the one on_headers
 * saw. */
static void put_request_end(struct run *r)
{
	struct sio_request *req = h1_request(r->h);
	struct buf now = {0};

	puts_(&r->out, "R ");
	put_esc_str(&r->out, sio_request_method(req));
	puts_(&r->out, " ");
	put_esc_str(&r->out, sio_request_url(req));
	put_num(&r->out, " keep=%llu body=\"", h1_keep_alive(r->h));
	put_esc(&r->out, r->body.data, r->body.len);
	puts_(&r->out, "\"\n");
	list_request(&now, req);
	FUZZ_CHECK(fuzz_bytes_equal(now.data, now.len, r->hdrs.data, r->hdrs.len));
	buf_free(&now);
}

/*
 * Feeds in[0..n) in pieces of sizes[i % nsizes] + 1 bytes, the rest after
 * MAX_PIECES pieces at once (all at once when nsizes is 0), and returns
 * the transcript in *out (the caller frees it).
 */
static void feed(const struct opts *o, const uint8_t *in, size_t n, const uint8_t *sizes,
                 size_t nsizes, struct buf *out)
{
	struct run r = {.o = o};
	struct buf pend = {0};
	size_t base = 0; /* offset in `in` of pend.data[0] */
	size_t from = 0;
	size_t requests = 0;
	bool stop = false;

	r.h = h1_create(&events, &r, o->max_header);
	FUZZ_CHECK(r.h != NULL);
	FUZZ_CHECK(h1_idle(r.h));
	for (size_t piece = 0; !stop && from < n; piece++) {
		size_t step = nsizes && piece < MAX_PIECES ? (size_t)sizes[piece % nsizes] + 1 : n;
		size_t to = step > n - from ? n : from + step;
		bool wait = false;

		put(&pend, in + from, to - from);
		from = to;
		while (!stop && !wait && pend.len > 0) {
			uint8_t *copy = fuzz_copy(pend.data, pend.len);
			size_t used = (size_t)-1;
			int status = -1;
			enum h1_result res = h1_feed(r.h, copy, pend.len, &used, &status);

			free(copy);
			FUZZ_CHECK(used <= pend.len);
			FUZZ_CHECK(res == H1_ERROR || status == 0);
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
				FUZZ_CHECK(h1_idle(r.h));
				FUZZ_CHECK(++requests <= n);
				break;
			case H1_UPGRADE:
				puts_(&r.out, "U rest=\"");
				put_esc(&r.out, in + base + used, n - base - used);
				puts_(&r.out, "\"\n");
				stop = true;
				break;
			case H1_ERROR:
				FUZZ_CHECK(status == 400 || status == 403 || status == 413 ||
				           status == 414 || status == 431);
				put_num(&r.out, "E %llu\n", (unsigned long long)status);
				stop = true;
				break;
			default:
				FUZZ_CHECK(!"an h1_result out of the enum");
			}
		}
	}
	if (!stop) {
		put_num(&r.out, "N idle=%llu", h1_idle(r.h));
		put_num(&r.out, " buffered=%llu\n", pend.len);
	}
	h1_destroy(r.h);
	buf_free(&pend);
	buf_free(&r.body);
	buf_free(&r.hdrs);
	*out = r.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {16384, 64, 256, 1024};
	static const size_t limits[4] = {0, 5, 100, 0};
	struct opts o = {.max_header = caps[0]};
	const uint8_t *sizes;
	size_t nsizes;
	struct buf whole, cut;
	int options = fuzz_take_pieces(&data, &size, &sizes, &nsizes);

	if (options >= 0) {
		o.max_header = caps[options & 3];
		o.body_limit = limits[options >> 2 & 3];
		o.refuse_bodies = options & 16;
	}
	feed(&o, data, size, NULL, 0, &whole);
	if (nsizes > 0) {
		feed(&o, data, size, sizes, nsizes, &cut);
		fuzz_same_transcript(&whole, &cut, "in pieces");
		buf_free(&cut);
	}
	buf_free(&whole);
	return 0;
}
