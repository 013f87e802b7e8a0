/*
 * A hierarchical timing wheel with millisecond resolution, driven by one
 * one-shot timer of the loop set for timer_wheel_next().
 *
 * Eight levels of 256 slots cover every 64-bit time: a timer sits at the
 * level of the highest byte in which its expiry differs from the wheel's
 * `now`, in the slot that byte names. Level 0 holds the timers of the
 * current 256 ms, one slot per millisecond; level 1 those of the current
 * 65.5 s, one slot per 256 ms; and so on. When `now` enters a slot of a
 * higher level, that slot's timers move down (at most seven moves in a
 * timer's life, usually one or two), so every timer fires at its own
 * millisecond. Each level's occupied slots are marked in a bitmap: finding
 * what is due next costs a few word scans, not a walk of the timers.
 *
 * Arming and cancelling are O(1). Nothing runs while nothing is due: the
 * loop sleeps until timer_wheel_next(), and a hook tells it when an armed
 * timer makes that time earlier.
 */
#ifndef SIOC_BASE_TIMER_H
#define SIOC_BASE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

#define TIMER_LEVEL_BITS 8
#define TIMER_LEVEL_SLOTS (1u << TIMER_LEVEL_BITS)
#define TIMER_LEVELS 8 /* 8 x 8 bits: the whole of a uint64_t */

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct timer {
	struct list link; /* in a slot or a list of due timers; self-linked/zero when idle */
	uint64_t expires; /* ms, CLOCK_MONOTONIC */
	timer_fn fn;
};

struct timer_wheel;
/* Told `at` (ms), the new earliest time timer_wheel_advance() has work. */
typedef void (*timer_wheel_hook)(struct timer_wheel *w, uint64_t at);

struct timer_wheel {
	struct list slots[TIMER_LEVELS][TIMER_LEVEL_SLOTS];
	uint64_t occupied[TIMER_LEVELS][TIMER_LEVEL_SLOTS / 64]; /* a bit per non-empty slot */
	uint64_t now;       /* ms; every timer expiring by then has been taken out */
	struct list due;    /* armed to expire by `now`: fired by the next advance */
	struct list firing; /* taken out by the advance running */
	size_t count;       /* armed timers */
	uint64_t next;      /* cache of timer_wheel_next(), valid unless next_stale */
	bool next_stale;
	uint64_t told; /* the last time returned by timer_wheel_next() or given to the hook */
	timer_wheel_hook earlier;
};

/* Initialises an empty wheel whose time is `now` (ms). */
void timer_wheel_init(struct timer_wheel *w, uint64_t now);
/* Sets the hook called when a timer_arm() makes the earliest time with
 * work earlier than the one the loop was last told (by timer_wheel_next()
 * or this hook). Not from the callbacks of an advance: the loop was told
 * no later than what fires, and they arm nothing earlier. NULL for none. */
void timer_wheel_set_hook(struct timer_wheel *w, timer_wheel_hook earlier);
/* (Re)arms t to call fn at `expires` (ms). A time already reached fires
 * at the next timer_wheel_advance(), never inside the one running. */
void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires, timer_fn fn);
/* Cancels t if armed; safe on a zeroed or idle timer. */
void timer_cancel(struct timer_wheel *w, struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
	return list_linked(&t->link);
}
/* Fires every timer due at `now` (once each; time going backwards fires
 * only what was already due). Callbacks may arm and cancel any timer,
 * themselves included. Then timer_wheel_next() says when to call again. */
void timer_wheel_advance(struct timer_wheel *w, uint64_t now);
/* The earliest time (ms) at which timer_wheel_advance() has work, or
 * UINT64_MAX when no timer is armed: the earliest expiry, or, when that
 * lies beyond the current 256 ms in a slot of more than 16 timers, maybe
 * the start of that slot, when they move down a level (one early wake-up
 * per such slot at most). A time already reached means "now". O(1): a
 * few bitmap words, at most 16 timers read. */
uint64_t timer_wheel_next(struct timer_wheel *w);

#endif
