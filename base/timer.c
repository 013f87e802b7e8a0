#include "base/timer.h"

void timer_wheel_init(struct timer_wheel *w, uint64_t now)
{
	for (size_t i = 0; i < TIMER_WHEEL_SLOTS; i++)
		list_init(&w->slots[i]);
	list_init(&w->firing);
	w->tick = now / TIMER_TICK_MS;
	w->count = 0;
}

void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires, timer_fn fn)
{
	timer_cancel(w, t);
	uint64_t tick = (expires + TIMER_TICK_MS - 1) / TIMER_TICK_MS;
	if (tick <= w->tick)
		tick = w->tick + 1;
	t->expires = expires;
	t->fn = fn;
	list_insert_tail(&w->slots[tick % TIMER_WHEEL_SLOTS], &t->link);
	w->count++;
}

void timer_cancel(struct timer_wheel *w, struct timer *t)
{
	if (!timer_armed(t))
		return;
	list_remove(&t->link);
	w->count--;
}

void timer_wheel_advance(struct timer_wheel *w, uint64_t now)
{
	uint64_t target = now / TIMER_TICK_MS;
	uint64_t steps = target > w->tick ? target - w->tick : 0;
	if (steps > TIMER_WHEEL_SLOTS)
		steps = TIMER_WHEEL_SLOTS;
	uint64_t tick = target - steps;
	/* Move the due timers out first: callbacks may re-arm into any slot. */
	for (uint64_t i = 0; i < steps; i++) {
		struct list *slot = &w->slots[(++tick) % TIMER_WHEEL_SLOTS];
		struct list *n = slot->next;
		while (n != slot) {
			struct list *next = n->next;
			struct timer *t = container_of(n, struct timer, link);
			if (t->expires <= now) {
				list_remove(n);
				list_insert_tail(&w->firing, n);
			}
			n = next;
		}
	}
	w->tick = target > w->tick ? target : w->tick;
	while (!list_empty(&w->firing)) {
		struct timer *t = container_of(w->firing.next, struct timer, link);
		list_remove(&t->link);
		w->count--;
		t->fn(t);
	}
}
