/*
 * The recovery history (server/history.c): offsets, lookups, eviction by
 * age and by bytes, the selection test of a record, and buffer references
 * (each taken once, each dropped exactly once: ASan sees a double free or
 * a leak).
 */
#include "server/history.h"

#include "unit.h"

static struct outbuf *text(const char *s)
{
	struct outbuf *o = outbuf_new(NULL, EIO_MESSAGE, false, s, strlen(s));
	if (!o)
		out_of_memory();
	return o;
}

static const struct hist_dest to_all = {0};

/* Adds a record of one fresh buffer of `len` bytes at `now`; the history
 * holds the only reference afterwards. Returns its offset. */
static uint64_t add_len(struct history *h, uint64_t now, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		out_of_memory();
	memset(s, 'x', len);
	s[len] = '\0';
	struct outbuf *o = text(s);
	free(s);
	uint64_t seq = history_next(h);
	check(history_add(h, seq, now, 1, &to_all, &o, 1) == 0, __LINE__, "add");
	outbuf_unref(o);
	return seq;
}

static void test_offsets_and_lookup(void)
{
	struct history h;
	history_init(&h, 0, 1000);
	check(history_next(&h) == 1, __LINE__, "the first offset is 1 (0 is none)");
	check(history_find(&h, 1) == NULL && history_after(&h, 0) == 0, __LINE__, "empty");
	for (int i = 0; i < 5; i++)
		check(add_len(&h, 10, 4) == (uint64_t)i + 1, __LINE__, "offsets in order");
	check(h.count == 5 && h.last == 5, __LINE__, "five held");
	check(history_find(&h, 3) && history_find(&h, 3)->seq == 3, __LINE__, "find 3");
	check(history_find(&h, 6) == NULL && history_find(&h, 0) == NULL, __LINE__, "find none");
	check(history_after(&h, 0) == 0 && history_after(&h, 2) == 2 && history_after(&h, 5) == 5,
	      __LINE__, "after");
	check(history_complete_after(&h, 0), __LINE__, "nothing dropped yet");
	check(history_next_expiry(&h) == 1010, __LINE__, "expiry of the oldest");
	history_finish(&h);
	check(h.count == 0 && h.bytes == 0, __LINE__, "finished");
	vectors++;
}

static void test_shared_buffers(void)
{
	struct history h;
	history_init(&h, 0, 1000);
	struct outbuf *bufs[2] = {text("2[\"x\",\"1\"]"), text("attachment")};
	uint64_t seq = history_next(&h);
	check(history_add(&h, seq, 0, 1, &to_all, bufs, 2) == 0, __LINE__, "add");
	check(bufs[0]->refs == 2 && bufs[1]->refs == 2, __LINE__, "one reference each");
	/* what the recipients' queues hold stays theirs */
	outbuf_ref(bufs[0]);
	check(history_find(&h, seq)->nbufs == 2, __LINE__, "both kept");
	history_expire(&h, 1000);
	check(h.count == 0 && bufs[0]->refs == 2 && bufs[1]->refs == 1, __LINE__,
	      "dropped: the record's references only");
	outbuf_unref(bufs[0]);
	outbuf_unref(bufs[0]);
	outbuf_unref(bufs[1]);
	history_finish(&h);
	vectors++;
}

static void test_age(void)
{
	struct history h;
	history_init(&h, 0, 1000);
	add_len(&h, 0, 8);
	add_len(&h, 500, 8);
	add_len(&h, 900, 8);
	history_expire(&h, 999);
	check(h.count == 3, __LINE__, "none old yet");
	history_expire(&h, 1000);
	check(h.count == 2 && history_at(&h, 0)->seq == 2, __LINE__, "the oldest left at its age");
	check(!history_complete_after(&h, 0) && history_complete_after(&h, 1), __LINE__,
	      "what came after 1 is all there, after 0 not");
	/* adding expires too */
	add_len(&h, 1900, 8);
	check(h.count == 1 && history_at(&h, 0)->seq == 4 && h.floor == 3, __LINE__,
	      "add drops what aged");
	history_finish(&h);
	vectors++;
}

static void test_bytes(void)
{
	struct history h;
	history_init(&h, 0, 1000000);
	add_len(&h, 0, 100);
	size_t one = h.bytes;
	check(one > 100 + sizeof(struct outbuf), __LINE__, "a record counts its buffer and itself");
	history_finish(&h);

	history_init(&h, 3 * one, 1000000);
	for (int i = 0; i < 10; i++)
		add_len(&h, (uint64_t)i, 100);
	check(h.count == 3 && h.bytes <= 3 * one, __LINE__, "three fit");
	check(history_at(&h, 0)->seq == 8 && h.floor == 7, __LINE__, "the oldest left first");
	/* one larger than the bound is not kept, and counts as a gap */
	uint64_t big = add_len(&h, 20, 10 * one);
	check(h.count == 0 && h.floor == big && !history_complete_after(&h, big - 1), __LINE__,
	      "too big: dropped at once");
	check(h.bytes == 0, __LINE__, "no bytes left");
	history_finish(&h);
	vectors++;
}

static void test_ring_wraps(void)
{
	struct history h;
	history_init(&h, 0, 100);
	/* one per ms, kept 100 ms: the ring's head goes round many times */
	for (uint64_t t = 0; t < 1000; t++)
		add_len(&h, t, 2);
	check(h.count == 99 || h.count == 100, __LINE__, "about 100 held");
	uint64_t first = history_at(&h, 0)->seq;
	for (uint64_t s = first; s <= h.last; s++)
		if (!check(history_find(&h, s) && history_find(&h, s)->seq == s, __LINE__, "find"))
			break;
	check(history_after(&h, first + 10) == 11, __LINE__, "after, wrapped");
	history_finish(&h);
	vectors++;
}

static void test_reaches(void)
{
	struct history h;
	history_init(&h, 0, 1000);
	const char *ra[] = {"a", NULL}, *rab[] = {"a", "b", NULL}, *rb[] = {"b", NULL};
	const struct {
		int line;
		struct hist_dest dest;
		uint32_t nsp;
		const char *sid;
		const char *rooms[3];
		bool reached;
	} v[] = {
	        {__LINE__, {0}, 1, "S", {"S"}, true},
	        {__LINE__, {0}, 2, "S", {"S"}, false}, /* another namespace */
	        {__LINE__, {.rooms = ra}, 1, "S", {"S", "a"}, true},
	        {__LINE__, {.rooms = ra}, 1, "S", {"S", "b"}, false},
	        {__LINE__, {.rooms = rab}, 1, "S", {"S", "b"}, true},
	        {__LINE__, {.rooms = rab, .except = rb}, 1, "S", {"S", "a", "b"}, false},
	        {__LINE__, {.except = rb}, 1, "S", {"S", "a"}, true},
	        {__LINE__, {.except_id = "S"}, 1, "S", {"S"}, false},
	        {__LINE__, {.except_id = "T"}, 1, "S", {"S"}, true},
	        {__LINE__, {.to = "S"}, 1, "S", {0}, true}, /* to the socket, whatever its rooms */
	        {__LINE__, {.to = "T", .rooms = ra}, 1, "S", {"a"}, false},
	        {__LINE__, {.rooms = ra}, 1, "a", {"a"}, true}, /* an own room is a room */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct outbuf *o = text("2[\"e\"]");
		uint64_t seq = history_next(&h);
		history_add(&h, seq, 0, 1, &v[i].dest, &o, 1);
		outbuf_unref(o);
		size_t n = 0;
		while (n < 3 && v[i].rooms[n])
			n++;
		check(hist_record_reaches(history_find(&h, seq), v[i].nsp, v[i].sid, v[i].rooms,
		                          n) == v[i].reached,
		      v[i].line, "reaches");
		vectors++;
	}
	/* the selection's names are copies */
	char room[] = "a";
	const char *mine[] = {room, NULL};
	struct hist_dest d = {.rooms = mine};
	struct outbuf *o = text("x");
	uint64_t seq = history_next(&h);
	history_add(&h, seq, 0, 1, &d, &o, 1);
	outbuf_unref(o);
	room[0] = 'z';
	const char *in_a[] = {"a"};
	check(hist_record_reaches(history_find(&h, seq), 1, "S", in_a, 1), __LINE__, "copied");
	history_finish(&h);
}

int main(void)
{
	test_offsets_and_lookup();
	test_shared_buffers();
	test_age();
	test_bytes();
	test_ring_wraps();
	test_reaches();
	printf("history: %d vectors, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
