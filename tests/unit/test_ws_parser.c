/*
 * Vectors for the RFC 6455 client-frame parser (protocol/ws_parser.c).
 * Each vector is a list of frames, which a helper encodes as a client
 * sends them (masked, with a mask that changes from frame to frame), or
 * with the faults the vector asks for: no mask, RSV bits, a declared
 * length other than the payload's, the 16- or 64-bit length form, a frame
 * cut short, raw bytes. The bytes are fed as a connection feeds them: each
 * read is given to ws_parse() until it is consumed, an event consuming
 * part of it and the rest given again. Everything the parser reports is
 * written to a transcript, which is compared with the vector's. Every
 * vector is fed whole, in every split into two reads and byte by byte
 * (large ones: in a sample of the splits), and the transcript must not
 * depend on the cuts. ws_parse() unmasks in place, so every call gets a
 * fresh heap copy of exactly the unconsumed bytes of the read, taken from
 * the masked input; the copy is freed right after the event is written
 * down, so that the sanitizers catch a read past the length and an event
 * that points into a buffer the parser no longer owns.
 *
 * Transcript lines:
 *   M text <payload>     WS_EV_MESSAGE (M bin for a binary one)
 *   P ping <payload>     WS_EV_PING (P pong for WS_EV_PONG)
 *   C <code> <reason>    WS_EV_CLOSE
 *   E <code>             WS_EV_ERROR
 *   N idle               the input ran out at a frame boundary, no message open
 *   N partial            the input ran out inside a frame or a fragmented message
 *   ! <what>             a broken contract (bytes consumed, an event after the end...)
 * After C or E nothing more is written: the bytes that follow must be
 * consumed with no event. A payload of up to 64 bytes is written quoted,
 * bytes outside printable ASCII, '"' and '\' as \xNN; a longer one as its
 * length and FNV-1a hash ("70000 bytes fnv=...").
 */
#include "protocol/ws_parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define DEFAULT_MAX 1024 /* max_message unless the vector says otherwise */

static long feeds;

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

/* Takes buf_printf's result. */
static void printed(int rc)
{
	if (rc < 0)
		out_of_memory();
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* Appends a payload as the transcript writes it. */
static void put_payload(struct buf *b, const uint8_t *p, size_t n)
{
	if (n > 64) {
		printed(buf_printf(b, "%zu bytes fnv=%016llx", n, (unsigned long long)fnv1a(p, n)));
		return;
	}
	puts_(b, "\"");
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			put(b, &p[i], 1);
		else
			printed(buf_printf(b, "\\x%02x", p[i]));
	}
	puts_(b, "\"");
}

/* One frame of a vector, or raw bytes. */
struct frame {
	uint8_t b0; /* FIN, RSV bits and opcode: the first header byte */
	const char *payload;
	size_t len;
	bool raw;      /* payload is appended as is, not framed */
	uint8_t form;  /* the length field: 0 the shortest, 16 or 64 bits */
	bool unmasked; /* the MASK bit clear and no masking key */
	bool declare;  /* the header announces `declared` bytes instead of len */
	uint64_t declared;
	size_t keep; /* when not 0, only the first `keep` bytes of the frame */
};

/* The masking keys, used in turn; one is zero, which is legal. */
static const uint8_t masks[][4] = {
        {0x37, 0xfa, 0x21, 0x3d}, {0xff, 0x00, 0xa5, 0x5a}, {0x00, 0x00, 0x00, 0x00},
        {0x80, 0x7f, 0x01, 0xfe}, {0x12, 0x34, 0x56, 0x78},
};

/* Appends frame f, the idx-th of its vector, as a client would send it
 * (or with the faults f asks for). */
static void encode(struct buf *out, const struct frame *f, size_t idx)
{
	size_t start = out->len;
	uint64_t n = f->declare ? f->declared : f->len;
	uint8_t mbit = f->unmasked ? 0 : 0x80;
	const uint8_t *mask = masks[idx % (sizeof(masks) / sizeof(masks[0]))];
	uint8_t h[14];
	size_t hl = 0;
	unsigned form = f->form ? f->form : n < 126 ? 7 : n < 65536 ? 16 : 64;

	if (f->raw) {
		put(out, f->payload, f->len);
		return;
	}
	h[hl++] = f->b0;
	if (form == 7) {
		h[hl++] = (uint8_t)(mbit | n);
	} else if (form == 16) {
		h[hl++] = mbit | 126;
		h[hl++] = (uint8_t)(n >> 8);
		h[hl++] = (uint8_t)n;
	} else {
		h[hl++] = mbit | 127;
		for (int i = 0; i < 8; i++)
			h[hl++] = (uint8_t)(n >> (56 - 8 * i));
	}
	if (!f->unmasked) {
		memcpy(h + hl, mask, 4);
		hl += 4;
	}
	put(out, h, hl);
	if (buf_reserve(out, f->len) < 0)
		out_of_memory();
	for (size_t i = 0; i < f->len; i++)
		out->data[out->len + i] =
		        (uint8_t)((uint8_t)f->payload[i] ^ (f->unmasked ? 0 : mask[i & 3]));
	out->len += f->len;
	if (f->keep && f->keep < out->len - start)
		out->len = start + f->keep;
}

struct ws_vector {
	int line;
	size_t max_message;
	const struct frame *frames;
	size_t nframes;
	const char *expect; /* the transcript */
	size_t split_step;  /* 0: every split; else a sample (see run_vector) */
};

/* Writes the event down; returns true when it ends the connection. */
static bool put_event(struct buf *out, const struct ws_vector *v, const struct ws_event *ev)
{
	switch (ev->type) {
	case WS_EV_MESSAGE:
		puts_(out, ev->binary ? "M bin " : "M text ");
		put_payload(out, ev->data, ev->len);
		puts_(out, "\n");
		if (ev->len > v->max_message)
			puts_(out, "! message over max_message\n");
		if (!ev->binary) {
			struct utf8_state u = {0};

			if (!utf8_feed(&u, ev->data, ev->len) || !utf8_complete(&u))
				puts_(out, "! text message not UTF-8\n");
		}
		return false;
	case WS_EV_PING:
	case WS_EV_PONG:
		puts_(out, ev->type == WS_EV_PING ? "P ping " : "P pong ");
		put_payload(out, ev->data, ev->len);
		puts_(out, "\n");
		if (ev->len > 125)
			puts_(out, "! control payload over 125 bytes\n");
		return false;
	case WS_EV_CLOSE:
		printed(buf_printf(out, "C %u ", ev->code));
		put_payload(out, ev->data, ev->len);
		puts_(out, "\n");
		return true;
	case WS_EV_ERROR:
		printed(buf_printf(out, "E %u\n", ev->code));
		return true;
	case WS_EV_NONE:
		return false;
	}
	printed(buf_printf(out, "! event type %d\n", (int)ev->type));
	return true;
}

/* Is the parser inside a frame or a fragmented message? */
static bool parser_partial(const struct ws_parser *p)
{
	return p->hdr_len > 0 || p->in_frame || p->in_message;
}

/*
 * Feeds in[0..n) as a connection would: whole when cut is 0 and not
 * bytewise, else as [0, cut) and [cut, n), or one byte at a time. Returns
 * the NUL-terminated transcript in out (caller frees).
 */
static void feed(const struct ws_vector *v, const uint8_t *in, size_t n, size_t cut, bool bytewise,
                 struct buf *out)
{
	struct ws_parser p = {.max_message = v->max_message};
	/* the cut feeds reassemble in pool blocks, the whole ones in malloc's */
	struct pool blocks;
	struct pool *pool = cut || bytewise ? &blocks : NULL;
	struct buf t = {0};
	bool ended = false; /* after C or E */

	pool_init(&blocks, 1 << 20);
	bool broken = false;
	size_t from = 0;

	while (!broken && from < n) {
		size_t to = bytewise ? from + 1 : (cut && from < cut) ? cut : n;
		size_t off = from; /* what is left of this read starts at in + off */

		while (!broken && off < to) {
			size_t len = to - off;
			uint8_t *copy = copy_exact(in + off, len);
			struct ws_event ev;
			size_t used;

			memset(&ev, 0x5a, sizeof(ev));
			used = ws_parse(&p, pool, copy, len, &ev);
			feeds++;
			if (used > len) {
				printed(buf_printf(&t, "! used %zu of %zu\n", used, len));
				broken = true;
			} else if (ended) {
				if (ev.type != WS_EV_NONE || used != len) {
					printed(buf_printf(
					        &t, "! event %d after the end, used %zu of %zu\n",
					        (int)ev.type, used, len));
					broken = true;
				}
			} else if (ev.type == WS_EV_NONE && used != len) {
				printed(buf_printf(&t, "! no event, used %zu of %zu\n", used, len));
				broken = true;
			} else if (ev.type == WS_EV_ERROR && used != len) {
				printed(buf_printf(&t, "! error, used %zu of %zu\n", used, len));
				broken = true;
			} else if (ev.type != WS_EV_NONE && used == 0) {
				puts_(&t, "! event with no byte consumed\n");
				broken = true;
			} else if (ev.type != WS_EV_NONE && ev.type != WS_EV_ERROR && ev.len > 0 &&
			           ev.data == NULL) {
				puts_(&t, "! event data NULL\n");
				broken = true;
			} else {
				ended = put_event(&t, v, &ev);
			}
			free(copy);
			off += used;
		}
		from = to;
	}
	if (!ended && !broken)
		puts_(&t, parser_partial(&p) ? "N partial\n" : "N idle\n");
	ws_parser_free(&p, pool);
	check(blocks.held == 0, v->line, "every pool block given back");
	pool_finish(&blocks);
	put(&t, "", 1);
	*out = t;
}

/* Runs v whole, at every split (or, with split_step, at the first and
 * last 100 and every split_step-th in between) and byte by byte; reports
 * mismatches. */
static void run_vector(const struct ws_vector *v)
{
	struct buf in = {0}, got;
	char msg[200];
	size_t bad_splits = 0, splits = 0;

	vectors++;
	for (size_t i = 0; i < v->nframes; i++)
		encode(&in, &v->frames[i], i);

	feed(v, in.data, in.len, 0, false, &got);
	check_transcript(v->line, "fed whole: transcript differs", (const char *)got.data,
	                 v->expect);
	buf_free(&got);

	for (size_t cut = 1; cut < in.len; cut++) {
		if (v->split_step && cut > 100 && cut + 100 < in.len && cut % v->split_step)
			continue;
		splits++;
		feed(v, in.data, in.len, cut, false, &got);
		if (strcmp((const char *)got.data, v->expect) != 0 && bad_splits++ < 2) {
			snprintf(msg, sizeof(msg), "split at %zu of %zu: transcript differs", cut,
			         in.len);
			check_transcript(v->line, msg, (const char *)got.data, v->expect);
		}
		buf_free(&got);
	}
	if (bad_splits) {
		snprintf(msg, sizeof(msg), "%zu of %zu splits differ from the expected transcript",
		         bad_splits, splits);
		check(0, v->line, msg);
	}

	if (in.len > 1) {
		feed(v, in.data, in.len, 0, true, &got);
		check_transcript(v->line, "byte by byte: transcript differs",
		                 (const char *)got.data, v->expect);
		buf_free(&got);
	}
	buf_free(&in);
}

/* clang-format off */
#define FRAMES(...)  (const struct frame[]){__VA_ARGS__}, \
		     sizeof((const struct frame[]){__VA_ARGS__}) / sizeof(struct frame)
#define V(frames, expect)            { __LINE__, DEFAULT_MAX, frames, expect, 0 }
#define VMAX(max, frames, expect)    { __LINE__, max, frames, expect, 0 }
#define ERR(code, ...)               V(FRAMES(__VA_ARGS__), "E " #code "\n")

/* A frame: first header byte, payload literal. */
#define FR(h, pl)              { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1 }
#define FR16(h, pl)            { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, .form = 16 }
#define FR64(h, pl)            { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, .form = 64 }
#define UNMASKED(h, pl)        { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, .unmasked = true }
/* The header announces n bytes; pl follows (may be shorter: "" for the header alone). */
#define DECL(h, n, pl)         { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, \
				 .declare = true, .declared = (n) }
#define DECL64(h, n, pl)       { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, \
				 .declare = true, .declared = (n), .form = 64 }
#define HEAD(h, n)             DECL(h, n, "")
/* Only the first k bytes of the frame. */
#define CUT(h, pl, k)          { .b0 = (h), .payload = (pl), .len = sizeof(pl) - 1, .keep = (k) }
#define RAW(bytes)             { .payload = (bytes), .len = sizeof(bytes) - 1, .raw = true }

#define TEXT(pl)       FR(0x81, pl)
#define TEXT_MORE(pl)  FR(0x01, pl)
#define BIN(pl)        FR(0x82, pl)
#define BIN_MORE(pl)   FR(0x02, pl)
#define CONT(pl)       FR(0x80, pl)
#define CONT_MORE(pl)  FR(0x00, pl)
#define PING(pl)       FR(0x89, pl)
#define PONG(pl)       FR(0x8a, pl)
#define CLOSE(pl)      FR(0x88, pl)

#define IDLE "N idle\n"
#define PARTIAL "N partial\n"

static const struct ws_vector ws_vectors[] = {
	/* single frames */
	V(FRAMES(TEXT("hello")), "M text \"hello\"\n" IDLE),
	V(FRAMES(TEXT("4hello")), "M text \"4hello\"\n" IDLE),
	V(FRAMES(BIN("\x01\x02\x03")), "M bin \"\\x01\\x02\\x03\"\n" IDLE),
	V(FRAMES(BIN("\0\xff\x80\xc0")), "M bin \"\\x00\\xff\\x80\\xc0\"\n" IDLE),
	V(FRAMES(TEXT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
	  "M text \"caf\\xc3\\xa9 \\xe2\\x82\\xac \\xf0\\x9f\\x98\\x80\"\n" IDLE),
	/* invalid UTF-8 is fine in a binary message */
	V(FRAMES(BIN("\xff\xc0\xaf\xed\xa0\x80")), "M bin \"\\xff\\xc0\\xaf\\xed\\xa0\\x80\"\n" IDLE),
	/* empty messages, also with max_message 0 */
	V(FRAMES(TEXT("")), "M text \"\"\n" IDLE),
	V(FRAMES(BIN("")), "M bin \"\"\n" IDLE),
	VMAX(0, FRAMES(TEXT("")), "M text \"\"\n" IDLE),
	VMAX(0, FRAMES(BIN_MORE(""), CONT("")), "M bin \"\"\n" IDLE),
	VMAX(0, FRAMES(TEXT("a")), "E 1009\n"),
	/* the longer length forms where the 7-bit one would do are accepted */
	V(FRAMES(FR16(0x81, "hi")), "M text \"hi\"\n" IDLE),
	V(FRAMES(FR64(0x82, "abc")), "M bin \"abc\"\n" IDLE),
	V(FRAMES(FR16(0x81, "")), "M text \"\"\n" IDLE),
	/* two messages back to back (fed whole: in one read), in order */
	V(FRAMES(TEXT("first"), BIN("second")), "M text \"first\"\nM bin \"second\"\n" IDLE),
	V(FRAMES(TEXT("a"), TEXT(""), TEXT("c"), PING("p"), BIN("d")),
	  "M text \"a\"\nM text \"\"\nM text \"c\"\nP ping \"p\"\nM bin \"d\"\n" IDLE),
	V(FRAMES(TEXT_MORE("a"), CONT("b"), TEXT_MORE("c"), CONT("d")),
	  "M text \"ab\"\nM text \"cd\"\n" IDLE),

	/* fragmented messages */
	V(FRAMES(TEXT_MORE("hel"), CONT_MORE("lo "), CONT("world")), "M text \"hello world\"\n" IDLE),
	V(FRAMES(BIN_MORE("\x01"), CONT("\x02")), "M bin \"\\x01\\x02\"\n" IDLE),
	/* a character cut between fragments: valid */
	V(FRAMES(TEXT_MORE("\xe2"), CONT_MORE("\x82"), CONT("\xac")), "M text \"\\xe2\\x82\\xac\"\n" IDLE),
	V(FRAMES(TEXT_MORE("a\xf0\x9f"), CONT("\x98\x80z")), "M text \"a\\xf0\\x9f\\x98\\x80z\"\n" IDLE),
	/* empty fragments anywhere */
	V(FRAMES(TEXT_MORE(""), CONT_MORE(""), CONT("abc")), "M text \"abc\"\n" IDLE),
	V(FRAMES(TEXT_MORE("ab"), CONT_MORE(""), CONT("")), "M text \"ab\"\n" IDLE),
	V(FRAMES(TEXT_MORE(""), CONT("")), "M text \"\"\n" IDLE),
	/* control frames between fragments */
	V(FRAMES(TEXT_MORE("hel"), PING("x"), CONT("lo")), "P ping \"x\"\nM text \"hello\"\n" IDLE),
	V(FRAMES(TEXT_MORE("\xe2\x82"), PING(""), PONG("y"), CONT("\xac")),
	  "P ping \"\"\nP pong \"y\"\nM text \"\\xe2\\x82\\xac\"\n" IDLE),
	V(FRAMES(BIN_MORE("a"), CLOSE("\x03\xe8")), "C 1000 \"\"\n"),
	/* the message is not over until its last frame */
	V(FRAMES(TEXT_MORE("abc")), PARTIAL),
	V(FRAMES(TEXT_MORE("abc"), PING("x")), "P ping \"x\"\n" PARTIAL),
	V(FRAMES(TEXT("done"), RAW("\x81")), "M text \"done\"\n" PARTIAL),
	V(FRAMES(CUT(0x81, "hello", 7)), PARTIAL),
	V(FRAMES(CUT(0x81, "hello", 10)), PARTIAL),

	/* control frames */
	V(FRAMES(PING("x")), "P ping \"x\"\n" IDLE),
	V(FRAMES(PING("")), "P ping \"\"\n" IDLE),
	V(FRAMES(PONG("pong!")), "P pong \"pong!\"\n" IDLE),
	V(FRAMES(PONG("\xff\x00")), "P pong \"\\xff\\x00\"\n" IDLE),
	/* control frames are not held to max_message */
	VMAX(1, FRAMES(PING("abcdef")), "P ping \"abcdef\"\n" IDLE),
	/* close: code and reason, no payload */
	V(FRAMES(CLOSE("\x03\xe8" "bye")), "C 1000 \"bye\"\n"),
	V(FRAMES(CLOSE("")), "C 0 \"\"\n"),
	V(FRAMES(CLOSE("\x03\xe9")), "C 1001 \"\"\n"),
	V(FRAMES(CLOSE("\x0f\xa0" "caf\xc3\xa9")), "C 4000 \"caf\\xc3\\xa9\"\n"),
	/* nothing is read after a close frame or an error */
	V(FRAMES(TEXT("a"), CLOSE("\x03\xe8"), TEXT("b"), PING("c")), "M text \"a\"\nC 1000 \"\"\n"),
	V(FRAMES(CLOSE(""), RAW("\xff\xff\xff\xff")), "C 0 \"\"\n"),
	V(FRAMES(CLOSE(""), TEXT_MORE("x")), "C 0 \"\"\n"),
	V(FRAMES(TEXT("a"), UNMASKED(0x81, "b"), TEXT("c"), CLOSE("")), "M text \"a\"\nE 1002\n"),
	V(FRAMES(TEXT("\xff"), TEXT("ok")), "E 1007\n"),

	/* unmasked frames (5.1) */
	ERR(1002, UNMASKED(0x81, "hello")),
	ERR(1002, UNMASKED(0x82, "")),
	ERR(1002, UNMASKED(0x89, "x")),
	ERR(1002, UNMASKED(0x88, "")),
	ERR(1002, TEXT_MORE("a"), UNMASKED(0x80, "b")),
	ERR(1002, RAW("\x81\x05")), /* known from the second byte */
	/* RSV bits: no extension */
	ERR(1002, FR(0xc1, "hello")),
	ERR(1002, FR(0xa1, "hello")),
	ERR(1002, FR(0x91, "hello")),
	ERR(1002, FR(0xf2, "")),
	ERR(1002, FR(0xc9, "x")),
	ERR(1002, TEXT_MORE("a"), FR(0xc0, "b")),
	/* reserved opcodes */
	ERR(1002, FR(0x83, "x")), ERR(1002, FR(0x84, "x")), ERR(1002, FR(0x85, "")),
	ERR(1002, FR(0x86, "x")), ERR(1002, FR(0x87, "x")), ERR(1002, FR(0x8b, "x")),
	ERR(1002, FR(0x8c, "")), ERR(1002, FR(0x8d, "x")), ERR(1002, FR(0x8e, "x")),
	ERR(1002, FR(0x8f, "x")), ERR(1002, FR(0x03, "x")), ERR(1002, FR(0x0b, "x")),
	ERR(1002, RAW("\x83\x80")), /* known from the second byte */
	/* control frames: at most 125 bytes, never fragmented */
	ERR(1002, HEAD(0x89, 126)),
	ERR(1002, DECL(0x8a, 126, "x")),
	/* the 7-bit field is checked: a longer form is refused even for a short payload */
	ERR(1002, FR16(0x89, "x")),
	ERR(1002, FR64(0x8a, "")),
	ERR(1002, FR64(0x88, "")),
	ERR(1002, FR(0x09, "x")),
	ERR(1002, FR(0x0a, "")),
	ERR(1002, FR(0x08, "\x03\xe8")),
	ERR(1002, TEXT_MORE("a"), FR(0x09, "x")),
	/* continuation with no message; a new message inside a fragmented one */
	ERR(1002, CONT("x")),
	ERR(1002, CONT_MORE("")),
	V(FRAMES(TEXT("a"), CONT("b")), "M text \"a\"\nE 1002\n"),
	ERR(1002, TEXT_MORE("a"), TEXT("b")),
	ERR(1002, TEXT_MORE("a"), BIN("b")),
	ERR(1002, BIN_MORE("a"), TEXT_MORE("b")),
	V(FRAMES(BIN_MORE("a"), CONT("b"), CONT("c")), "M bin \"ab\"\nE 1002\n"),
	V(FRAMES(TEXT("ok"), CONT("x")), "M text \"ok\"\nE 1002\n"),
	/* 64-bit length with the top bit set: known once the header is whole */
	ERR(1002, HEAD(0x82, 0x8000000000000000u)),
	ERR(1002, HEAD(0x81, 0xffffffffffffffffu)),
	ERR(1002, DECL64(0x82, 0x8000000000000001u, "abc")),
	ERR(1002, RAW("\x82\xff\x80\0\0\0\0\0\0\0\x01\x02\x03\x04")),
	VMAX(2, FRAMES(TEXT_MORE("ab"), HEAD(0x80, 0x8000000000000000u)), "E 1002\n"),
	/* ... not before */
	V(FRAMES(RAW("\x82\xff\x80\0\0\0\0\0\0\0\x01\x02\x03")), PARTIAL),
	/* below the top bit: too big */
	ERR(1009, HEAD(0x82, 0x7fffffffffffffffu)),
	ERR(1009, HEAD(0x81, 0x100000000u)),

	/* UTF-8 */
	ERR(1007, TEXT("\xff")),
	ERR(1007, TEXT("ab\xc0\xaf")),           /* overlong */
	ERR(1007, TEXT("\xe0\x80\xaf")),         /* overlong */
	ERR(1007, TEXT("\xed\xa0\x80")),         /* surrogate */
	ERR(1007, TEXT("\xf4\x90\x80\x80")),     /* above U+10FFFF */
	ERR(1007, TEXT("a\x80")),                /* a lone continuation byte */
	ERR(1007, TEXT_MORE("ok"), CONT("\xfe")),
	ERR(1007, TEXT_MORE("\xe2\x82"), CONT("a")),
	/* a bad byte is refused at once, before the message is whole */
	ERR(1007, TEXT_MORE("\xc3\x28"), CONT_MORE("x")),
	ERR(1007, DECL(0x81, 10, "ab\xff")),
	/* a character cut at the end of the message */
	ERR(1007, TEXT("a\xe2\x82")),
	ERR(1007, TEXT("\xc3")),
	ERR(1007, TEXT_MORE("\xf0\x9f\x98"), CONT("")),
	V(FRAMES(TEXT_MORE("\xe2\x82"), PING("x"), CONT("")), "P ping \"x\"\nE 1007\n"),

	/* close frames */
	ERR(1002, CLOSE("\x03")),                /* one byte: no room for a code */
	V(FRAMES(TEXT_MORE("ab"), CLOSE("\x03")), "E 1002\n"),
	/* ... not even when the byte after it, left by an earlier message, would make one */
	V(FRAMES(BIN_MORE("\x03\xe8"), CONT(""), CLOSE("\x03")), "M bin \"\\x03\\xe8\"\nE 1002\n"),
	ERR(1002, CLOSE("\0\0")),                /* 0 */
	ERR(1002, CLOSE("\x03\xe7")),            /* 999 */
	ERR(1002, CLOSE("\x03\xec")),            /* 1004 */
	ERR(1002, CLOSE("\x03\xed")),            /* 1005 */
	ERR(1002, CLOSE("\x03\xee" "x")),        /* 1006 */
	ERR(1002, CLOSE("\x03\xf7")),            /* 1015 */
	ERR(1002, CLOSE("\x03\xf8")),            /* 1016 */
	ERR(1002, CLOSE("\x0b\xb7")),            /* 2999 */
	ERR(1002, CLOSE("\x13\x88")),            /* 5000 */
	ERR(1002, CLOSE("\xff\xff")),            /* 65535 */
	ERR(1007, CLOSE("\x03\xe8\xff")),
	ERR(1007, CLOSE("\x03\xe8" "ab\xe2\x82")),   /* a character cut at the end */
	ERR(1007, CLOSE("\x03\xe8\xed\xa0\x80")),
	V(FRAMES(CLOSE("\x03\xe8" "\xe2\x82\xac")), "C 1000 \"\\xe2\\x82\\xac\"\n"),
	V(FRAMES(TEXT_MORE("a"), CLOSE("\x03\xea" "r")), "C 1002 \"r\"\n"),

	/* max_message: the limit itself is accepted */
	VMAX(5, FRAMES(TEXT("hello")), "M text \"hello\"\n" IDLE),
	VMAX(5, FRAMES(TEXT("hello!")), "E 1009\n"),
	VMAX(5, FRAMES(BIN("hello!")), "E 1009\n"),
	VMAX(5, FRAMES(FR64(0x82, "hello!")), "E 1009\n"),
	/* refused once the header is whole, before any payload... */
	VMAX(5, FRAMES(HEAD(0x81, 6)), "E 1009\n"),
	VMAX(5, FRAMES(DECL64(0x82, 6, "")), "E 1009\n"),
	/* ... and not before: one byte of the masking key missing */
	VMAX(5, FRAMES(CUT(0x81, "hello!", 5)), PARTIAL),
	VMAX(5, FRAMES(HEAD(0x81, 5)), PARTIAL),
	/* by fragments: at the header of the frame that crosses the limit */
	VMAX(5, FRAMES(TEXT_MORE("abc"), CONT("de")), "M text \"abcde\"\n" IDLE),
	VMAX(5, FRAMES(TEXT_MORE("abc"), CONT_MORE("de"), CONT("")), "M text \"abcde\"\n" IDLE),
	VMAX(5, FRAMES(TEXT_MORE("abc"), CONT("def")), "E 1009\n"),
	VMAX(5, FRAMES(TEXT_MORE("abc"), CONT_MORE("de"), CONT("f")), "E 1009\n"),
	VMAX(5, FRAMES(TEXT_MORE("abc"), HEAD(0x80, 3)), "E 1009\n"),
	VMAX(5, FRAMES(TEXT_MORE("abc"), PING("x"), HEAD(0x00, 3)), "P ping \"x\"\nE 1009\n"),
	VMAX(5, FRAMES(TEXT_MORE("abc"), HEAD(0x80, 2)), PARTIAL),
	/* the limit is per message */
	VMAX(5, FRAMES(TEXT("hello"), BIN("world"), TEXT_MORE("ab"), CONT("cde")),
	     "M text \"hello\"\nM bin \"world\"\nM text \"abcde\"\n" IDLE),
	VMAX(1, FRAMES(TEXT("a"), TEXT("b"), TEXT("cd")), "M text \"a\"\nM text \"b\"\nE 1009\n"),
};
/* clang-format on */

/* A payload of n bytes: printable ASCII with a two- and a three-byte
 * character here and there, cut at the end only when n falls mid-character
 * (callers pick n so that it does not, unless they mean it). Caller frees. */
static char *make_text(size_t n)
{
	static const char pattern[] =
	        "The quick brown fox \xc3\xa9 jumps \xe2\x82\xac over 13 dogs. ";
	char *s = malloc(n ? n : 1);

	if (!s)
		out_of_memory();
	for (size_t i = 0; i < n; i++)
		s[i] = pattern[i % (sizeof(pattern) - 1)];
	return s;
}

/* n bytes of every value, in a scrambled order. Caller frees. */
static char *make_binary(size_t n)
{
	char *s = malloc(n ? n : 1);
	uint32_t x = 12345;

	if (!s)
		out_of_memory();
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (char)(x >> 16);
	}
	return s;
}

/* Appends the transcript line of a message. */
static void want_message(struct buf *w, bool binary, const void *p, size_t n)
{
	puts_(w, binary ? "M bin " : "M text ");
	put_payload(w, p, n);
	puts_(w, "\n");
}

/* Runs one programmatic vector; frames and the expected text are the
 * caller's, want is NUL-terminated here. */
static void run_built(int line, size_t max_message, const struct frame *f, size_t nf,
                      struct buf *want, size_t split_step)
{
	put(want, "", 1);
	struct ws_vector v = {
	        .line = line,
	        .max_message = max_message,
	        .frames = f,
	        .nframes = nf,
	        .expect = (const char *)want->data,
	        .split_step = split_step,
	};
	run_vector(&v);
	want->len = 0;
}

/* Lengths at the edges of the 7-, 16- and 64-bit forms; max_message
 * exactly reached and passed by one byte. */
static void test_lengths(void)
{
	static const size_t lens[] = {125, 126, 127, 1000, 65535, 65536, 70001};
	struct buf want = {0};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];
		size_t step = n > 2000 ? 997 : 0;
		/* some lengths cut make_text()'s text mid-character: 1007 then */
		char *text = make_text(n);
		char *bin = make_binary(n);
		struct utf8_state u = {0};
		bool text_ok = utf8_feed(&u, (const uint8_t *)text, n) && utf8_complete(&u);
		struct frame ft = {.b0 = 0x81, .payload = text, .len = n};
		struct frame fb = {.b0 = 0x82, .payload = bin, .len = n};

		if (text_ok) {
			want_message(&want, false, text, n);
			puts_(&want, IDLE);
		} else {
			puts_(&want, "E 1007\n");
		}
		run_built(__LINE__, n, &ft, 1, &want, step);

		want_message(&want, true, bin, n);
		puts_(&want, IDLE);
		run_built(__LINE__, n, &fb, 1, &want, step);

		/* one byte over the limit; the header alone is enough */
		puts_(&want, "E 1009\n");
		run_built(__LINE__, n - 1, &fb, 1, &want, step);
		struct frame head = {.b0 = 0x82, .payload = "", .declare = true, .declared = n};
		puts_(&want, "E 1009\n");
		run_built(__LINE__, n - 1, &head, 1, &want, 0);
		puts_(&want, PARTIAL);
		run_built(__LINE__, n, &head, 1, &want, 0);

		/* a fragmented message of that size, with a ping in the middle,
		 * every length form for the pieces */
		struct frame frag[] = {
		        {.b0 = 0x02, .payload = bin, .len = n / 3, .form = 64},
		        {.b0 = 0x89, .payload = "mid", .len = 3},
		        {.b0 = 0x00, .payload = bin + n / 3, .len = n / 3, .form = 16},
		        {.b0 = 0x80, .payload = bin + 2 * (n / 3), .len = n - 2 * (n / 3)},
		};
		puts_(&want, "P ping \"mid\"\n");
		want_message(&want, true, bin, n);
		puts_(&want, IDLE);
		run_built(__LINE__, n, frag, 4, &want, step);
		/* one byte over: refused at the last header */
		puts_(&want, "P ping \"mid\"\nE 1009\n");
		run_built(__LINE__, n - 1, frag, 4, &want, step);

		free(text);
		free(bin);
	}

	/* text with characters cut across frames and reads everywhere */
	{
		size_t n = 4000;
		char *text = make_text(n);
		struct frame frag[] = {
		        {.b0 = 0x01, .payload = text, .len = 1001},
		        {.b0 = 0x00, .payload = text + 1001, .len = 1502},
		        {.b0 = 0x80, .payload = text + 2503, .len = n - 2503},
		};
		struct utf8_state u = {0};

		CHECK(utf8_feed(&u, (const uint8_t *)text, n) && utf8_complete(&u));
		want_message(&want, false, text, n);
		puts_(&want, IDLE);
		run_built(__LINE__, n, frag, 3, &want, 0);
		free(text);
	}

	/* control frames of 125 bytes are fine, 126 not */
	{
		char *bin = make_binary(126);
		char close[125];
		struct frame ping = {.b0 = 0x89, .payload = bin, .len = 125};
		struct frame pong = {.b0 = 0x8a, .payload = bin, .len = 126};
		struct frame cl = {.b0 = 0x88, .payload = close, .len = 125};

		puts_(&want, "P ping ");
		put_payload(&want, (const uint8_t *)bin, 125);
		puts_(&want, "\n" IDLE);
		run_built(__LINE__, 0, &ping, 1, &want, 0);
		puts_(&want, "E 1002\n");
		run_built(__LINE__, DEFAULT_MAX, &pong, 1, &want, 0);

		close[0] = 0x0b;
		close[1] = (char)0xb8; /* 3000 */
		memset(close + 2, 'r', sizeof(close) - 2);
		puts_(&want, "C 3000 ");
		put_payload(&want, (const uint8_t *)close + 2, 123);
		puts_(&want, "\n");
		run_built(__LINE__, DEFAULT_MAX, &cl, 1, &want, 0);
		free(bin);
	}
	buf_free(&want);
}

/* Every close code a peer may send (RFC 6455 7.4 and IANA's 1012-1014, as
 * `ws` takes them) is reported; the others refused. */
static void test_close_codes(void)
{
	static const unsigned valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
	                                 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
	static const unsigned invalid[] = {0,    1,    999,  1004, 1005, 1006, 1015,
	                                   1016, 1100, 2000, 2999, 5000, 6000, 65535};
	struct buf want = {0};
	char payload[4];

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct frame f = {.b0 = 0x88, .payload = payload, .len = 4};

		payload[0] = (char)(valid[i] >> 8);
		payload[1] = (char)valid[i];
		payload[2] = 'o';
		payload[3] = 'k';
		printed(buf_printf(&want, "C %u \"ok\"\n", valid[i]));
		run_built(__LINE__, DEFAULT_MAX, &f, 1, &want, 0);
		f.len = 2;
		printed(buf_printf(&want, "C %u \"\"\n", valid[i]));
		run_built(__LINE__, DEFAULT_MAX, &f, 1, &want, 0);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct frame f = {.b0 = 0x88, .payload = payload, .len = 2};

		payload[0] = (char)(invalid[i] >> 8);
		payload[1] = (char)invalid[i];
		puts_(&want, "E 1002\n");
		run_built(__LINE__, DEFAULT_MAX, &f, 1, &want, 0);
	}
	buf_free(&want);
}

/* Every opcode, final and not, in and out of a fragmented message. */
static void test_opcodes(void)
{
	struct buf want = {0};

	for (unsigned op = 0; op < 16; op++) {
		bool control = op >= 8;
		bool known = op <= 2 || (op >= 8 && op <= 10);

		for (int fin = 0; fin < 2; fin++) {
			struct frame f = {.b0 = (uint8_t)(fin << 7 | op), .payload = "", .len = 0};
			struct frame in_msg[] = {{.b0 = 0x01, .payload = "a", .len = 1}, f};

			/* outside a message */
			if (!known || op == 0 || (control && !fin))
				puts_(&want, "E 1002\n");
			else if (op == 8)
				puts_(&want, "C 0 \"\"\n");
			else if (control)
				puts_(&want, op == 9 ? "P ping \"\"\n" IDLE : "P pong \"\"\n" IDLE);
			else if (fin)
				puts_(&want, op == 1 ? "M text \"\"\n" IDLE : "M bin \"\"\n" IDLE);
			else
				puts_(&want, PARTIAL);
			run_built(__LINE__, DEFAULT_MAX, &f, 1, &want, 0);

			/* inside one */
			if (!known || op == 1 || op == 2 || (control && !fin))
				puts_(&want, "E 1002\n");
			else if (op == 8)
				puts_(&want, "C 0 \"\"\n");
			else if (control)
				puts_(&want,
				      op == 9 ? "P ping \"\"\n" PARTIAL : "P pong \"\"\n" PARTIAL);
			else if (fin)
				puts_(&want, "M text \"a\"\n" IDLE);
			else
				puts_(&want, PARTIAL);
			run_built(__LINE__, DEFAULT_MAX, in_msg, 2, &want, 0);
		}
	}
	buf_free(&want);
}

/* A message in WS_MAX_FRAGMENTS frames is accepted; one more frame is
 * refused with 1008 at its header. The vectors are long (thousands of
 * frames), so they are cut at a sample of the splits. */
static void test_fragments(void)
{
	/* a sample of the splits (13 is prime to the frames' sizes, so the
	 * cuts fall at every offset in a frame) */
	enum { SAMPLE = 13 };
	size_t n = WS_MAX_FRAGMENTS + 1;
	struct frame *f = calloc(n, sizeof(*f));
	char *text = make_text(n);
	struct buf want = {0};

	if (!f)
		out_of_memory();
	/* one ASCII byte per frame (make_text's first 20 bytes are ASCII; the
	 * rest is cut per frame, so use a single letter) */
	for (size_t i = 0; i < n; i++) {
		text[i] = (char)('a' + i % 26);
		f[i] = (struct frame){.b0 = i ? 0x00 : 0x01, .payload = text + i, .len = 1};
	}

	f[WS_MAX_FRAGMENTS - 1].b0 = 0x80;
	want_message(&want, false, text, WS_MAX_FRAGMENTS);
	puts_(&want, IDLE);
	run_built(__LINE__, DEFAULT_MAX, f, WS_MAX_FRAGMENTS, &want, SAMPLE);

	/* max_message does not matter for the count */
	want_message(&want, false, text, WS_MAX_FRAGMENTS);
	puts_(&want, IDLE);
	run_built(__LINE__, WS_MAX_FRAGMENTS, f, WS_MAX_FRAGMENTS, &want, SAMPLE);

	f[WS_MAX_FRAGMENTS - 1].b0 = 0x00;
	f[WS_MAX_FRAGMENTS].b0 = 0x80;
	puts_(&want, "E 1008\n");
	run_built(__LINE__, DEFAULT_MAX, f, n, &want, SAMPLE);

	/* the 1025th header alone is enough */
	f[WS_MAX_FRAGMENTS] =
	        (struct frame){.b0 = 0x80, .payload = "", .declare = true, .declared = 1};
	puts_(&want, "E 1008\n");
	run_built(__LINE__, DEFAULT_MAX, f, n, &want, SAMPLE);

	/* empty frames count too, and control frames do not */
	for (size_t i = 0; i < n; i++)
		f[i] = (struct frame){.b0 = i ? 0x00 : 0x02, .payload = "", .len = 0};
	f[500] = (struct frame){.b0 = 0x89, .payload = "p", .len = 1};
	f[WS_MAX_FRAGMENTS] = (struct frame){.b0 = 0x80, .payload = "", .len = 0};
	puts_(&want, "P ping \"p\"\nM bin \"\"\n" IDLE);
	run_built(__LINE__, DEFAULT_MAX, f, n, &want, SAMPLE);
	f[500].b0 = 0x00;
	puts_(&want, "E 1008\n");
	run_built(__LINE__, DEFAULT_MAX, f, n, &want, SAMPLE);

	/* the count starts again with each message */
	struct frame *many = calloc(2 * WS_MAX_FRAGMENTS, sizeof(*many));

	if (!many)
		out_of_memory();
	for (size_t i = 0; i < 2 * WS_MAX_FRAGMENTS; i++) {
		size_t k = i % WS_MAX_FRAGMENTS;
		bool second = i >= WS_MAX_FRAGMENTS;

		many[i] = (struct frame){
		        .b0 = (uint8_t)((k ? 0x00 : 0x01) | (k == WS_MAX_FRAGMENTS - 1 ? 0x80 : 0)),
		        .payload = second ? (k ? "d" : "c") : (k ? "b" : "a"),
		        .len = 1,
		};
	}
	memset(text, 'b', WS_MAX_FRAGMENTS);
	text[0] = 'a';
	want_message(&want, false, text, WS_MAX_FRAGMENTS);
	memset(text, 'd', WS_MAX_FRAGMENTS);
	text[0] = 'c';
	want_message(&want, false, text, WS_MAX_FRAGMENTS);
	puts_(&want, IDLE);
	run_built(__LINE__, DEFAULT_MAX, many, 2 * WS_MAX_FRAGMENTS, &want, SAMPLE);

	free(many);
	free(f);
	free(text);
	buf_free(&want);
}

/* Server frame headers: final, unmasked, the shortest length form. */
static void test_frame_header(void)
{
	static const struct {
		uint8_t opcode;
		size_t len;
		const char *want;
		size_t want_len;
	} cases[] = {
	        {WS_OP_TEXT, 0, S("\x81\x00")},
	        {WS_OP_BINARY, 125, S("\x82\x7d")},
	        {WS_OP_TEXT, 126, S("\x81\x7e\x00\x7e")},
	        {WS_OP_PONG, 65535, S("\x8a\x7e\xff\xff")},
	        {WS_OP_BINARY, 65536, S("\x82\x7f\0\0\0\0\0\x01\0\0")},
	        {WS_OP_CLOSE, 0x12345678, S("\x88\x7f\0\0\0\0\x12\x34\x56\x78")},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t space[16];
		size_t n;

		memset(space, 0xee, sizeof(space));
		n = ws_frame_header_before(space + 12, cases[i].opcode, cases[i].len);
		if (!check(n == cases[i].want_len, __LINE__, "ws_frame_header_before: size"))
			continue;
		check(memcmp(space + 12 - n, cases[i].want, n) == 0, __LINE__,
		      "ws_frame_header_before: bytes");
		check(space[11 - n] == 0xee && space[12] == 0xee, __LINE__,
		      "ws_frame_header_before: wrote outside the header");
	}
}

/* ws_parser_shrink(): the buffer of a message cut across reads is kept
 * while the message is incomplete and freed once it was reported. */
static void test_shrink(void)
{
	/* a masked text frame "hello" (mask 0), fed in two reads */
	uint8_t frame[] = {0x81, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
	struct ws_parser p = {.max_message = 1024};
	struct ws_event ev;
	struct pool pool;
	size_t used;

	vectors++;
	pool_init(&pool, 1 << 20);
	used = ws_parse(&p, &pool, frame, 8, &ev);
	check(used == 8 && ev.type == WS_EV_NONE, __LINE__, "shrink: first part");
	ws_parser_shrink(&p, &pool);
	check(p.rx.len == 2 && p.rx.data != NULL, __LINE__,
	      "shrink: a message in progress is kept");
	used = ws_parse(&p, &pool, frame + 8, 3, &ev);
	check(used == 3 && ev.type == WS_EV_MESSAGE && ev.len == 5 &&
	              memcmp(ev.data, "hello", 5) == 0,
	      __LINE__, "shrink: the message");
	ws_parser_shrink(&p, &pool);
	check(p.rx.data == NULL && p.rx.len == 0 && p.rx.cap == 0, __LINE__,
	      "shrink: freed once reported");
	check(pool.held == 0 && pool.idle > 0, __LINE__,
	      "shrink: the block went back to the pool, kept idle for the next message");
	used = ws_parse(&p, &pool, frame, sizeof(frame), &ev);
	check(used == sizeof(frame) && ev.type == WS_EV_MESSAGE && ev.len == 5, __LINE__,
	      "shrink: the parser goes on");
	ws_parser_free(&p, &pool);
	pool_finish(&pool);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(ws_vectors) / sizeof(ws_vectors[0]); i++)
		run_vector(&ws_vectors[i]);
	test_lengths();
	test_close_codes();
	test_opcodes();
	test_fragments();
	test_frame_header();
	test_shrink();

	printf("ws_parser: %d vectors (%ld feeds), %d failures\n", vectors, feeds, failures);
	return failures ? 1 : 0;
}
