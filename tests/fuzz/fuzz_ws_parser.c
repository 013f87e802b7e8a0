/*
 * The RFC 6455 client-frame parser (protocol/ws_parser.c), fed client bytes
 * whole, in pieces cut where the input says and one byte at a time: what
 * it reports must not depend on the cuts, and must keep the parser's
 * promises (a message within max_message, text that is UTF-8, control
 * payloads of at most 125 bytes, close codes a peer may send, the error
 * codes it documents, nothing after an error or a close).
 *
 * Input layout:
 *   byte 0      bits 0-2: max_message (0, 1, 2, 125, 126, 4096, 65536, 1 MiB)
 *   byte 1      k = byte % 16: the number of piece sizes that follow
 *   k bytes     piece sizes (byte + 1), used in turn
 *   the rest    the bytes a client sends
 * Inputs shorter than two bytes are client bytes with max_message 65536.
 *
 * The bytes are fed as a connection feeds them (tests/unit/test_ws_parser.c,
 * whose transcript format this repeats): each read is given to ws_parse()
 * until it is consumed, an event consuming part of it and the rest given
 * again. ws_parse() unmasks in place, so every call gets a fresh heap copy
 * of exactly the unconsumed bytes of the read, taken from the masked input
 * and freed once the event is written down: ASan catches a read past the
 * length and an event pointing into a buffer that is gone.
 */
#include "protocol/ws_parser.h"

#include "fuzz.h"

struct run {
	size_t max_message;
	struct pool pool; /* where the parser reassembles */
	struct ws_parser p;
	struct buf out; /* the transcript */
	bool ended;     /* after a close or an error */
};

/* Appends "p[0..n)" with bytes outside printable ASCII, '"' and '\' as \xNN. */
static void put_quoted(struct buf *b, const uint8_t *p, size_t n)
{
	puts_(b, "\"");
	put_esc(b, p, n);
	puts_(b, "\"");
}

static bool is_utf8(const uint8_t *p, size_t n)
{
	struct utf8_state u = {0};

	return utf8_feed(&u, p, n) && utf8_complete(&u);
}

/* RFC 6455 7.4.1-2: the close codes a peer may send. */
static bool close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* Checks an event and writes it down. */
static void record(struct run *r, const struct ws_event *ev)
{
	switch (ev->type) {
	case WS_EV_NONE:
		return;
	case WS_EV_MESSAGE:
		FUZZ_CHECK(ev->len <= r->max_message);
		FUZZ_CHECK(ev->len == 0 || ev->data != NULL);
		FUZZ_CHECK(ev->binary || is_utf8(ev->data, ev->len));
		puts_(&r->out, ev->binary ? "M bin " : "M text ");
		put_quoted(&r->out, ev->data, ev->len);
		puts_(&r->out, "\n");
		return;
	case WS_EV_PING:
	case WS_EV_PONG:
		FUZZ_CHECK(ev->len <= 125);
		FUZZ_CHECK(ev->len == 0 || ev->data != NULL);
		puts_(&r->out, ev->type == WS_EV_PING ? "P ping " : "P pong ");
		put_quoted(&r->out, ev->data, ev->len);
		puts_(&r->out, "\n");
		return;
	case WS_EV_CLOSE:
		FUZZ_CHECK(ev->code == 0 ? ev->len == 0 : close_code_ok(ev->code));
		FUZZ_CHECK(ev->len <= 123);
		FUZZ_CHECK(ev->len == 0 || ev->data != NULL);
		FUZZ_CHECK(is_utf8(ev->data, ev->len));
		put_num(&r->out, "C %llu ", ev->code);
		put_quoted(&r->out, ev->data, ev->len);
		puts_(&r->out, "\n");
		r->ended = true;
		return;
	case WS_EV_ERROR:
		FUZZ_CHECK(ev->code == WS_CLOSE_PROTOCOL_ERROR ||
		           ev->code == WS_CLOSE_INVALID_PAYLOAD || ev->code == WS_CLOSE_POLICY ||
		           ev->code == WS_CLOSE_TOO_BIG || ev->code == WS_CLOSE_INTERNAL_ERROR);
		put_num(&r->out, "E %llu\n", ev->code);
		r->ended = true;
		return;
	}
	FUZZ_CHECK(!"an event type out of the enum");
}

/* Gives one read, in[0..n), to the parser until it is consumed. */
static void give(struct run *r, const uint8_t *in, size_t n)
{
	size_t off = 0;

	while (off < n) {
		size_t len = n - off;
		uint8_t *copy = fuzz_copy(in + off, len);
		struct ws_event ev;
		size_t used;

		memset(&ev, 0x5a, sizeof(ev));
		used = ws_parse(&r->p, &r->pool, copy, len, &ev);
		FUZZ_CHECK(used <= len);
		if (r->ended) {
			/* nothing after a close or an error */
			FUZZ_CHECK(ev.type == WS_EV_NONE);
			FUZZ_CHECK(used == len);
		} else {
			FUZZ_CHECK(ev.type != WS_EV_NONE || used == len);
			FUZZ_CHECK(ev.type != WS_EV_ERROR || used == len);
			FUZZ_CHECK(used > 0);
			record(r, &ev);
		}
		free(copy);
		off += used;
	}
}

/*
 * Feeds in[0..n) in pieces of sizes[i % nsizes] + 1 bytes (all at once
 * when nsizes is 0; one byte at a time when bytewise) and returns the
 * transcript in *out (the caller frees it).
 */
static void feed(size_t max_message, const uint8_t *in, size_t n, const uint8_t *sizes,
                 size_t nsizes, bool bytewise, struct buf *out)
{
	struct run r = {.max_message = max_message, .p = {.max_message = max_message}};
	size_t from = 0;

	pool_init(&r.pool, 1 << 20);
	for (size_t piece = 0; from < n; piece++) {
		size_t step = bytewise ? 1 : nsizes ? (size_t)sizes[piece % nsizes] + 1 : n;
		size_t to = step > n - from ? n : from + step;

		give(&r, in + from, to - from);
		from = to;
	}
	if (!r.ended) {
		bool partial = r.p.hdr_len > 0 || r.p.in_frame || r.p.in_message;

		puts_(&r.out, partial ? "N partial\n" : "N idle\n");
	}
	ws_parser_free(&r.p, &r.pool);
	FUZZ_CHECK(r.pool.held == 0);
	pool_finish(&r.pool);
	*out = r.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[8] = {0, 1, 2, 125, 126, 4096, 65536, 1 << 20};
	size_t max_message = 65536;
	const uint8_t *sizes;
	size_t nsizes;
	struct buf whole, cut;
	int options = fuzz_take_pieces(&data, &size, &sizes, &nsizes);

	if (options >= 0)
		max_message = maxes[options & 7];
	feed(max_message, data, size, NULL, 0, false, &whole);
	if (nsizes > 0) {
		feed(max_message, data, size, sizes, nsizes, false, &cut);
		fuzz_same_transcript(&whole, &cut, "in pieces");
		buf_free(&cut);
	}
	if (size > 1) {
		feed(max_message, data, size, NULL, 0, true, &cut);
		fuzz_same_transcript(&whole, &cut, "byte by byte");
		buf_free(&cut);
	}
	buf_free(&whole);
	return 0;
}
