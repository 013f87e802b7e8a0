#include "base/timer.h"

#define WORDS (TIMER_LEVEL_SLOTS / 64)
#define SLOT_MASK (TIMER_LEVEL_SLOTS - 1)
/* timer_wheel_next() reads at most this many timers of a far slot to give
 * their exact earliest expiry; beyond, it gives the slot's start. */
#define SCAN_MAX 16

/* Moves every node of `from` to the tail of `to`; `from` is left empty. */
static void splice_tail(struct list *to, struct list *from)
{
	if (list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	list_init(from);
}

static unsigned level_of(uint64_t expires, uint64_t now)
{
	/* expires != now: the highest byte in which they differ */
	return (unsigned)(63 - __builtin_clzll(expires ^ now)) / TIMER_LEVEL_BITS;
}

static unsigned slot_of(uint64_t expires, unsigned level)
{
	return (unsigned)(expires >> (level * TIMER_LEVEL_BITS)) & SLOT_MASK;
}

/* The first time of slot s of `level` seen from `now`: now's bytes above
 * the level, s, then zeros. */
static uint64_t slot_start(uint64_t now, unsigned level, unsigned s)
{
	unsigned shift = level * TIMER_LEVEL_BITS;
	uint64_t high = level + 1 < TIMER_LEVELS
	                        ? now >> (shift + TIMER_LEVEL_BITS) << (shift + TIMER_LEVEL_BITS)
	                        : 0;
	return high | (uint64_t)s << shift;
}

/* The first occupied slot of `level`, or TIMER_LEVEL_SLOTS. The slots
 * up to now's own at each level are empty (a timer there would have a
 * different level or be due), so this is the next one in time. */
static unsigned first_occupied(const struct timer_wheel *w, unsigned level)
{
	for (unsigned i = 0; i < WORDS; i++) {
		uint64_t m = w->occupied[level][i];
		if (m)
			return i * 64 + (unsigned)__builtin_ctzll(m);
	}
	return TIMER_LEVEL_SLOTS;
}

/* Puts t (expires > w->now) in its slot. */
static void place(struct timer_wheel *w, struct timer *t)
{
	unsigned level = level_of(t->expires, w->now);
	unsigned s = slot_of(t->expires, level);
	list_insert_tail(&w->slots[level][s], &t->link);
	w->occupied[level][s / 64] |= 1ull << (s % 64);
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now)
{
	for (unsigned l = 0; l < TIMER_LEVELS; l++) {
		for (unsigned s = 0; s < TIMER_LEVEL_SLOTS; s++)
			list_init(&w->slots[l][s]);
		for (unsigned i = 0; i < WORDS; i++)
			w->occupied[l][i] = 0;
	}
	w->now = now;
	list_init(&w->due);
	list_init(&w->firing);
	w->count = 0;
	w->next = UINT64_MAX;
	w->next_stale = false;
	w->told = UINT64_MAX;
	w->earlier = NULL;
}

void timer_wheel_set_hook(struct timer_wheel *w, timer_wheel_hook earlier)
{
	w->earlier = earlier;
}

void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires, timer_fn fn)
{
	timer_cancel(w, t);
	t->expires = expires;
	t->fn = fn;
	uint64_t at = expires;
	if (expires > w->now) {
		place(w, t);
	} else {
		list_insert_tail(&w->due, &t->link);
		at = w->now;
	}
	w->count++;
	if (at < w->next)
		w->next = at; /* still exact, unless stale anyway */
	if (at < w->told) {
		w->told = at;
		if (w->earlier)
			w->earlier(w, at);
	}
}

void timer_cancel(struct timer_wheel *w, struct timer *t)
{
	if (!timer_armed(t))
		return;
	list_remove(&t->link);
	w->count--;
	/* Timers in slots expire after `now`; those due or firing, by it. */
	if (t->expires > w->now) {
		unsigned level = level_of(t->expires, w->now);
		unsigned s = slot_of(t->expires, level);
		if (list_empty(&w->slots[level][s]))
			w->occupied[level][s / 64] &= ~(1ull << (s % 64));
	}
	if (t->expires <= w->next)
		w->next_stale = true;
}

/* Moves the timers of the slots of `level` up to `last`, in order, to
 * `to`. */
static void take_slots(struct timer_wheel *w, unsigned level, unsigned last, struct list *to)
{
	unsigned s;
	while ((s = first_occupied(w, level)) <= last) {
		splice_tail(to, &w->slots[level][s]);
		w->occupied[level][s / 64] &= ~(1ull << (s % 64));
	}
}

void timer_wheel_advance(struct timer_wheel *w, uint64_t now)
{
	if (now < w->now)
		now = w->now;
	/* Take out every slot `now` has reached or passed. At the lowest
	 * levels `now` may have left the whole range (a higher byte
	 * changed): all of it goes. The first level whose higher bytes stay
	 * the same gives up the slots from the old time to the new, and the
	 * levels above it keep everything. */
	struct list todo;
	list_init(&todo);
	for (unsigned level = 0; level < TIMER_LEVELS; level++) {
		unsigned shift = level * TIMER_LEVEL_BITS;
		bool same_above =
		        level + 1 == TIMER_LEVELS || (w->now >> (shift + TIMER_LEVEL_BITS)) ==
		                                             (now >> (shift + TIMER_LEVEL_BITS));
		if (!same_above) {
			take_slots(w, level, SLOT_MASK, &todo);
			continue;
		}
		take_slots(w, level, slot_of(now, level), &todo);
		break;
	}
	w->now = now;
	/* What was due already fires first, then what expires by now; the
	 * rest moves down to the slots it belongs to from now on. */
	splice_tail(&w->firing, &w->due);
	while (!list_empty(&todo)) {
		struct timer *t = container_of(todo.next, struct timer, link);
		list_remove(&t->link);
		if (t->expires <= now)
			list_insert_tail(&w->firing, &t->link);
		else
			place(w, t);
	}
	w->next_stale = true;
	while (!list_empty(&w->firing)) {
		struct timer *t = container_of(w->firing.next, struct timer, link);
		list_remove(&t->link);
		w->count--;
		t->fn(t);
	}
}

static uint64_t compute_next(const struct timer_wheel *w)
{
	if (!list_empty(&w->due))
		return w->now;
	/* Every timer of a level expires before every timer of the levels
	 * above it, and a level's slots are in time order: the earliest is
	 * in the first occupied slot of the lowest occupied level. */
	for (unsigned level = 0; level < TIMER_LEVELS; level++) {
		unsigned s = first_occupied(w, level);
		if (s == TIMER_LEVEL_SLOTS)
			continue;
		uint64_t start = slot_start(w->now, level, s);
		if (level == 0)
			return start; /* a level 0 slot is one millisecond */
		const struct list *head = &w->slots[level][s];
		uint64_t min = UINT64_MAX;
		unsigned n = 0;
		for (const struct list *p = head->next; p != head; p = p->next) {
			if (++n > SCAN_MAX)
				return start;
			const struct timer *t = container_of(p, const struct timer, link);
			if (t->expires < min)
				min = t->expires;
		}
		return min;
	}
	return UINT64_MAX;
}

uint64_t timer_wheel_next(struct timer_wheel *w)
{
	if (w->next_stale) {
		w->next = compute_next(w);
		w->next_stale = false;
	}
	w->told = w->next;
	return w->next;
}
