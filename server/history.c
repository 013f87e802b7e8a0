/*
 * The recovery history: a ring of records in offset order, oldest first.
 * A record is one allocation: the header, the buffer pointers, then the
 * selection's name lists and strings.
 */
#include "server/history.h"

#include <stdlib.h>
#include <string.h>

void history_init(struct history *h, size_t max_bytes, uint64_t max_age_ms)
{
	*h = (struct history){.max_bytes = max_bytes, .max_age = max_age_ms};
}

static void record_free(struct hist_record *r)
{
	for (uint32_t i = 0; i < r->nbufs; i++)
		outbuf_unref(r->bufs[i]);
	free(r);
}

/* Removes the oldest record. */
static void drop_oldest(struct history *h)
{
	struct hist_record *r = history_at(h, 0);
	h->head = (h->head + 1) & (h->cap - 1);
	h->count--;
	h->bytes -= r->bytes;
	if (r->seq > h->floor)
		h->floor = r->seq;
	record_free(r);
}

void history_finish(struct history *h)
{
	while (h->count)
		drop_oldest(h);
	free(h->ring);
	h->ring = NULL;
	h->cap = 0;
}

static size_t list_len(const char *const *names)
{
	size_t n = 0;
	while (names && names[n])
		n++;
	return n;
}

static size_t list_chars(const char *const *names)
{
	size_t n = 0;
	for (size_t i = 0; names && names[i]; i++)
		n += strlen(names[i]) + 1;
	return n;
}

/* Copies a NULL-terminated list into *slots (its pointers) and *chars
 * (its strings), advancing both. NULL stays NULL. */
static const char *const *list_copy(const char *const *names, const char ***slots, char **chars)
{
	if (!names || !names[0])
		return NULL;
	const char **out = *slots;
	size_t i = 0;
	for (; names[i]; i++) {
		size_t len = strlen(names[i]) + 1;
		memcpy(*chars, names[i], len);
		out[i] = *chars;
		*chars += len;
	}
	out[i] = NULL;
	*slots += i + 1;
	return out;
}

static const char *str_copy(const char *s, char **chars)
{
	if (!s)
		return NULL;
	size_t len = strlen(s) + 1;
	char *out = memcpy(*chars, s, len);
	*chars += len;
	return out;
}

static int ring_reserve(struct history *h)
{
	if (h->count < h->cap)
		return 0;
	uint32_t ncap = h->cap ? h->cap * 2 : 64;
	struct hist_record **r = malloc(ncap * sizeof(*r));
	if (!r)
		return -1;
	for (uint32_t i = 0; i < h->count; i++)
		r[i] = history_at(h, i);
	free(h->ring);
	h->ring = r;
	h->cap = ncap;
	h->head = 0;
	return 0;
}

int history_add(struct history *h, uint64_t seq, uint64_t now, uint32_t nsp,
                const struct hist_dest *dest, struct outbuf **bufs, size_t n)
{
	h->last = seq;
	const char *to = dest->to;
	const char *const *rooms = to ? NULL : dest->rooms;
	const char *const *except = to ? NULL : dest->except;
	const char *except_id = to ? NULL : dest->except_id;
	size_t nrooms = list_len(rooms), nexcept = list_len(except);
	size_t slots = (nrooms ? nrooms + 1 : 0) + (nexcept ? nexcept + 1 : 0);
	size_t chars = list_chars(rooms) + list_chars(except) + (to ? strlen(to) + 1 : 0) +
	               (except_id ? strlen(except_id) + 1 : 0);
	size_t size = sizeof(struct hist_record) + n * sizeof(struct outbuf *) +
	              slots * sizeof(char *) + chars;
	struct hist_record *r = n <= UINT32_MAX && ring_reserve(h) == 0 ? malloc(size) : NULL;
	if (!r) {
		h->floor = seq; /* a gap: no recovery may rely on what came before */
		return SIO_ENOMEM;
	}
	const char **slot = (const char **)(r->bufs + n);
	char *text = (char *)(slot + slots);
	r->seq = seq;
	r->at = now;
	r->nsp = nsp;
	r->nbufs = (uint32_t)n;
	r->bytes = size;
	for (size_t i = 0; i < n; i++) {
		r->bufs[i] = outbuf_ref(bufs[i]);
		r->bytes += sizeof(struct outbuf) + OUTBUF_PRE + 1 + bufs[i]->len;
	}
	r->rooms = list_copy(rooms, &slot, &text);
	r->except = list_copy(except, &slot, &text);
	r->to = str_copy(to, &text);
	r->except_id = str_copy(except_id, &text);
	h->ring[(h->head + h->count) & (h->cap - 1)] = r;
	h->count++;
	h->bytes += r->bytes;
	history_expire(h, now);
	return 0;
}

void history_expire(struct history *h, uint64_t now)
{
	while (h->count) {
		const struct hist_record *r = history_at(h, 0);
		bool old = now >= r->at && now - r->at >= h->max_age;
		if (!old && (!h->max_bytes || h->bytes <= h->max_bytes))
			break;
		drop_oldest(h);
	}
}

uint32_t history_after(const struct history *h, uint64_t seq)
{
	uint32_t lo = 0, hi = h->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (history_at(h, mid)->seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct hist_record *history_find(const struct history *h, uint64_t seq)
{
	if (seq == 0)
		return NULL;
	uint32_t i = history_after(h, seq - 1);
	if (i < h->count && history_at(h, i)->seq == seq)
		return history_at(h, i);
	return NULL;
}

uint64_t history_next_expiry(const struct history *h)
{
	return h->count ? history_at(h, 0)->at + h->max_age : 0;
}

static bool in_list(const char *const *names, const char *const *rooms, size_t nrooms)
{
	for (const char *const *n = names; *n; n++)
		for (size_t i = 0; i < nrooms; i++)
			if (strcmp(*n, rooms[i]) == 0)
				return true;
	return false;
}

bool hist_record_reaches(const struct hist_record *r, uint32_t nsp, const char *sid,
                         const char *const *rooms, size_t nrooms)
{
	if (r->nsp != nsp)
		return false;
	if (r->to)
		return strcmp(r->to, sid) == 0;
	if (r->except_id && strcmp(r->except_id, sid) == 0)
		return false;
	if (r->rooms && !in_list(r->rooms, rooms, nrooms))
		return false;
	return !r->except || !in_list(r->except, rooms, nrooms);
}
