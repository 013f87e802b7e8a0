/*
 * A hashed timing wheel driven by one periodic tick of the loop. Arming
 * and cancelling are O(1); each tick visits one slot. Timers due in more
 * than one rotation stay in their slot until their time comes.
 */
#ifndef SIOC_BASE_TIMER_H
#define SIOC_BASE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

#define TIMER_WHEEL_SLOTS 2048
#define TIMER_TICK_MS 20

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct timer {
	struct list link; /* in a slot, or self-linked/zero when idle */
	uint64_t expires; /* ms, CLOCK_MONOTONIC */
	timer_fn fn;
};

struct timer_wheel {
	struct list slots[TIMER_WHEEL_SLOTS];
	uint64_t tick; /* last tick processed */
	struct list firing;
	size_t count;
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now);
/* (Re)arms t to call fn at `expires` (ms). */
void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires, timer_fn fn);
/* Cancels t if armed; safe on a zeroed or idle timer. */
void timer_cancel(struct timer_wheel *w, struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
	return list_linked(&t->link);
}
/* Fires every timer due at `now`. Callbacks may arm and cancel timers. */
void timer_wheel_advance(struct timer_wheel *w, uint64_t now);

#endif
