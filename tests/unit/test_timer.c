/*
 * The hierarchical timing wheel (base/timer.c). The wheel takes the time
 * as a parameter, so each scenario is a script of arm, cancel and advance
 * steps with explicit `now` values: each advance states which timers must
 * fire, and a timer due at E fires at the first advance whose `now` has
 * reached E, to the millisecond. Then a loop driven the way the server
 * drives it (advance to timer_wheel_next(), the hook moving it earlier),
 * far timers, many timers, and random operations checked against a plain
 * list of expiries.
 */
#include "base/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L1 256ull        /* ms in a level 1 slot; level 0 spans this */
#define L2 (256ull * L1) /* 65.5 s */
#define L3 (256ull * L2) /* 4.66 h */
#define HOUR 3600000ull
#define DAY (24 * HOUR)
#define NEVER UINT64_MAX
#define OTHER_DELAY 20 /* A_ARM_OTHER arms at now + this */
#define NTIMERS 24

_Static_assert(sizeof(struct timer) <= 4 * sizeof(void *),
               "a timer is in every session: two list pointers, the expiry, the callback");

static int failures;
static int vectors;

/* Reports a failed check at line (of the step, or of the check). */
static int check(int ok, int line, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: %s\n", __FILE__, line, what);
		failures++;
	}
	return ok;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* ---- the hook, as the server's loop would see it ------------------------ */

static int hook_calls;
static uint64_t hook_at;

static void on_earlier(struct timer_wheel *w, uint64_t at)
{
	(void)w;
	hook_calls++;
	hook_at = at;
}

/* ---- scripted scenarios ------------------------------------------------- */

/* What a timer's callback does besides recording that it fired. */
enum action {
	A_NONE,
	A_REARM,      /* re-arms itself at now + arg */
	A_CANCEL,     /* cancels timer arg */
	A_ARM_OTHER,  /* arms timer arg at now + OTHER_DELAY */
	A_REARM_PAST, /* re-arms itself at now - arg (already due) */
};

struct slot {
	struct timer t;
	enum action action;
	uint64_t arg;
	int fired;  /* times fired in the current advance */
	int rearms; /* A_REARM / A_REARM_PAST: re-arms left */
};

static struct timer_wheel *wheel;
static struct slot slots[NTIMERS];
static uint64_t cur_now;

static void on_fire(struct timer *t)
{
	struct slot *s = container_of(t, struct slot, t);

	s->fired++;
	check(!timer_armed(t), __LINE__, "a firing timer is no longer armed");
	switch (s->action) {
	case A_NONE:
		break;
	case A_REARM:
		if (s->rearms-- > 0)
			timer_arm(wheel, t, cur_now + s->arg, on_fire);
		break;
	case A_REARM_PAST:
		if (s->rearms-- > 0)
			timer_arm(wheel, t, cur_now - s->arg, on_fire);
		break;
	case A_CANCEL:
		timer_cancel(wheel, &slots[s->arg].t);
		break;
	case A_ARM_OTHER:
		timer_arm(wheel, &slots[s->arg].t, cur_now + OTHER_DELAY, on_fire);
		break;
	}
}

enum op_kind {
	OP_END,
	OP_INIT,   /* timer_wheel_init(now = a), with the hook */
	OP_ARM,    /* timer_arm(id, expires = a), callback does act/arg */
	OP_CANCEL, /* timer_cancel(id) */
	OP_ADV,    /* timer_wheel_advance(now = a); exactly the ids in mask fire, once */
	OP_COUNT,  /* w->count == a */
	OP_ARMED,  /* timer_armed(id) == a */
	OP_ZERO,   /* memset the timer id to zero (never armed) */
	OP_NEXT,   /* timer_wheel_next() == a */
	OP_HOOK,   /* the hook ran id times since the last OP_HOOK, the last time with a */
};

struct op {
	int line;
	enum op_kind kind;
	int id;
	uint64_t a;
	uint32_t mask;
	enum action act;
	uint64_t arg;
	int rearms;
};

#define BIT(i) (1u << (i))
#define SPECIAL 0x80000000u /* an ADV mask: the scenario's own check applies */

/* clang-format off */
#define INIT(now)              { __LINE__, OP_INIT, 0, (now), 0, A_NONE, 0, 0 }
#define ARM(id, exp)           { __LINE__, OP_ARM, (id), (exp), 0, A_NONE, 0, 0 }
#define ARMA(id, exp, act, arg, n) { __LINE__, OP_ARM, (id), (exp), 0, (act), (arg), (n) }
#define CANCEL(id)             { __LINE__, OP_CANCEL, (id), 0, 0, A_NONE, 0, 0 }
#define ADV(now, m)            { __LINE__, OP_ADV, 0, (now), (m), A_NONE, 0, 0 }
#define COUNT(n)               { __LINE__, OP_COUNT, 0, (n), 0, A_NONE, 0, 0 }
#define ARMED(id, yes)         { __LINE__, OP_ARMED, (id), (yes), 0, A_NONE, 0, 0 }
#define ZERO(id)               { __LINE__, OP_ZERO, (id), 0, 0, A_NONE, 0, 0 }
#define NEXT(at)               { __LINE__, OP_NEXT, 0, (at), 0, A_NONE, 0, 0 }
#define HOOK(n, at)            { __LINE__, OP_HOOK, (n), (at), 0, A_NONE, 0, 0 }
#define END                    { __LINE__, OP_END, 0, 0, 0, A_NONE, 0, 0 }

struct scenario {
	const char *name;
	const struct op *ops;
};

static const struct op s_basic[] = {
	INIT(1000),
	COUNT(0), NEXT(NEVER),
	ARM(0, 1100),
	ARMED(0, 1), COUNT(1), NEXT(1100),
	ADV(1020, 0), ADV(1099, 0),
	ADV(1100, BIT(0)),
	ARMED(0, 0), COUNT(0), NEXT(NEVER),
	ADV(1200, 0), ADV(5000, 0),                 /* fires once only */
	END,
};

static const struct op s_exact_ms[] = {
	INIT(0),
	ARM(0, 25), ARM(1, 40), ARM(2, 41), ARM(3, 1),
	NEXT(1),
	ADV(0, 0),
	ADV(1, BIT(3)),
	NEXT(25),
	ADV(24, 0),
	ADV(25, BIT(0)),                            /* not rounded to any tick */
	NEXT(40),
	ADV(39, 0),
	ADV(40, BIT(1)),
	NEXT(41),
	ADV(41, BIT(2)),
	COUNT(0), NEXT(NEVER),
	END,
};

static const struct op s_cancel[] = {
	INIT(0),
	ARM(0, 100), ARM(1, 100), ARM(2, 200),
	COUNT(3), NEXT(100),
	CANCEL(1),
	ARMED(1, 0), COUNT(2), NEXT(100),           /* 0 is still due at 100 */
	CANCEL(1),                                  /* twice: a no-op */
	COUNT(2),
	ADV(100, BIT(0)),
	NEXT(200),
	CANCEL(0),                                  /* after firing: a no-op */
	COUNT(1),
	CANCEL(2),
	COUNT(0), NEXT(NEVER),
	ADV(1000, 0),
	END,
};

static const struct op s_next_after_cancel[] = {
	INIT(0),
	ARM(0, 10), ARM(1, 300), ARM(2, 70000), ARM(3, 5 * HOUR),
	NEXT(10),
	CANCEL(0), NEXT(300),                       /* level 1 */
	CANCEL(1), NEXT(70000),                     /* level 2 */
	CANCEL(2), NEXT(5 * HOUR),                  /* level 3 */
	ARM(4, 5), NEXT(5),
	ARM(5, 3), NEXT(3),
	CANCEL(4), NEXT(3),
	CANCEL(5), NEXT(5 * HOUR),
	CANCEL(3), NEXT(NEVER),
	END,
};

static const struct op s_zeroed[] = {
	INIT(0),
	ZERO(0),
	ARMED(0, 0),
	CANCEL(0),
	COUNT(0),
	ARM(1, 40),
	ZERO(0),
	CANCEL(0),                                  /* does not disturb others */
	COUNT(1),
	ADV(40, BIT(1)),
	ZERO(0),
	ARM(0, 60),                                 /* a zeroed timer can be armed */
	COUNT(1),
	ADV(60, BIT(0)),
	COUNT(0),
	END,
};

static const struct op s_rearm[] = {
	INIT(0),
	ARM(0, 100),
	ARM(0, 300),                                /* re-arm while armed moves it */
	COUNT(1), NEXT(300),
	ADV(100, 0), ADV(299, 0),
	ADV(300, BIT(0)),
	ARM(0, 200),                                /* re-arm after firing, in the past */
	COUNT(1), NEXT(300),                        /* due now */
	ADV(300, BIT(0)),                           /* the next advance, even at the same now */
	ARM(0, 1000),
	ARM(0, 400),                                /* re-arm earlier */
	NEXT(400),
	ADV(400, BIT(0)),
	ADV(1000, 0),
	COUNT(0),
	END,
};

static const struct op s_level_edges[] = {
	INIT(250),
	ARM(0, 255), ARM(1, 256), ARM(2, 257),      /* across the first level 0 span */
	ARM(3, 511), ARM(4, 512),
	ARM(5, L2 - 1), ARM(6, L2), ARM(7, L2 + L1),
	NEXT(255),
	ADV(255, BIT(0)),
	NEXT(256),
	ADV(256, BIT(1)),
	ADV(257, BIT(2)),
	NEXT(511),
	ADV(510, 0),
	ADV(511, BIT(3)),
	ADV(512, BIT(4)),
	NEXT(L2 - 1),
	ADV(L2 - 2, 0),
	ADV(L2 - 1, BIT(5)),
	ADV(L2, BIT(6)),
	NEXT(L2 + L1),
	ADV(L2 + L1 - 1, 0),
	ADV(L2 + L1, BIT(7)),
	COUNT(0),
	END,
};

static const struct op s_same_ms[] = {
	INIT(0),
	ARM(0, 100), ARM(1, 100), ARM(2, 100), ARM(3, 100),
	ARM(4, 99), ARM(5, 101),                    /* one millisecond either side */
	ARM(6, 100 + L1),                           /* the same byte, one level up */
	ARM(7, 100 + L2),
	ARM(8, 100 + L3),
	COUNT(9),
	CANCEL(2),                                  /* from the middle of the slot */
	ADV(99, BIT(4)),
	ADV(100, BIT(0) | BIT(1) | BIT(3)),
	ADV(101, BIT(5)),
	COUNT(3),
	NEXT(100 + L1),
	ADV(100 + L1 - 1, 0),
	ADV(100 + L1, BIT(6)),
	NEXT(100 + L2),
	ADV(100 + L2 - 1, 0),
	ADV(100 + L2, BIT(7)),
	NEXT(100 + L3),
	ADV(100 + L3 - 1, 0),
	ADV(100 + L3, BIT(8)),
	COUNT(0),
	END,
};

#define T0 123456789ull
static const struct op s_hours[] = {
	INIT(T0),
	ARM(0, T0 + HOUR), ARM(1, T0 + 5 * HOUR), ARM(2, T0 + 30 * DAY),
	ARM(3, T0 + HOUR + 1), ARM(4, T0 + 400 * DAY + 7),
	NEXT(T0 + HOUR),
	ADV(T0 + HOUR - 1, 0),
	ADV(T0 + HOUR, BIT(0)),
	NEXT(T0 + HOUR + 1),
	ADV(T0 + HOUR + 1, BIT(3)),
	NEXT(T0 + 5 * HOUR),
	ADV(T0 + 5 * HOUR - 1, 0),
	ADV(T0 + 5 * HOUR, BIT(1)),
	ADV(T0 + 30 * DAY - 1, 0),
	ADV(T0 + 30 * DAY, BIT(2)),
	NEXT(T0 + 400 * DAY + 7),
	ADV(T0 + 400 * DAY + 6, 0),
	ADV(T0 + 400 * DAY + 7, BIT(4)),
	END,
};

static const struct op s_long_jump[] = {
	INIT(500),
	ARM(0, 520),
	ARM(1, 1000),
	ARM(2, 500 + L2 - 1),
	ARM(3, 500 + L2 + 40),
	ARM(4, 500 + 3 * L2),
	ARM(5, 500 + 10 * L3),                      /* not due after the jump */
	ARM(6, 500 + 10 * L3 + 1),
	COUNT(7),
	ADV(500 + 7 * L2 + 3,                       /* many level 1 spans at once */
	    BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4)),
	COUNT(2),
	NEXT(500 + 10 * L3),
	ADV(500 + 10 * L3 - 1, 0),
	ADV(500 + 10 * L3, BIT(5)),
	ADV(500 + 10 * L3 + 1, BIT(6)),
	COUNT(0),
	END,
};

static const struct op s_exact_span_jump[] = {
	INIT(0),
	ARM(0, 1), ARM(1, L1 / 2), ARM(2, L1), ARM(3, L1 + 1),
	ADV(L1, BIT(0) | BIT(1) | BIT(2)),          /* exactly one level 0 span */
	ADV(L1 + 1, BIT(3)),
	END,
};

static const struct op s_callback_rearm[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, 100, 3),              /* a periodic timer, 3 re-arms */
	ADV(100, BIT(0)),
	COUNT(1), ARMED(0, 1), NEXT(200),
	ADV(199, 0),
	ADV(200, BIT(0)),
	ADV(300, BIT(0)),
	ADV(400, BIT(0)),                           /* the last run does not re-arm */
	ARMED(0, 0), COUNT(0),
	ADV(500, 0),
	END,
};

static const struct op s_callback_rearm_due[] = {
	INIT(0),
	/* re-arming at a time already passed must not loop in one advance */
	ARMA(0, 100, A_REARM_PAST, 50, 2),
	ADV(100, BIT(0)),
	ARMED(0, 1), NEXT(100),
	ADV(100, BIT(0)),
	ADV(101, BIT(0)),
	ADV(102, 0),
	COUNT(0),
	END,
};

static const struct op s_callback_rearm_zero_delay[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, 0, 1),                /* re-arms at now: the next advance */
	ADV(100, BIT(0)),
	COUNT(1), NEXT(100),
	ADV(100, BIT(0)),
	COUNT(0),
	END,
};

static const struct op s_callback_rearm_long_jump[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, 1, 5),
	ADV(10 * L3, BIT(0)),                       /* once per advance, not per ms */
	NEXT(10 * L3 + 1),
	ADV(10 * L3 + 1, BIT(0)),
	COUNT(1),
	END,
};

static const struct op s_callback_cancel_other[] = {
	INIT(0),
	/* 0 and 1 are due in the same advance; whichever runs first cancels
	 * the other, so exactly one of them fires (checked below). */
	ARMA(0, 100, A_CANCEL, 1, 0),
	ARMA(1, 100, A_CANCEL, 0, 0),
	ARM(2, 100),
	ADV(100, SPECIAL),
	COUNT(0),
	ARMED(0, 0), ARMED(1, 0),
	ADV(1000, 0),
	END,
};

static const struct op s_callback_cancel_later_slot[] = {
	INIT(0),
	/* 0 is due at 20 and cancels 1, due at 60 in the same jump */
	ARMA(0, 20, A_CANCEL, 1, 0),
	ARM(1, 60),
	ARM(2, 60),
	ADV(100, BIT(0) | BIT(2)),
	COUNT(0),
	END,
};

static const struct op s_callback_cancel_far[] = {
	INIT(0),
	/* after a jump across levels, 0 cancels 1, taken out of a level 2 slot */
	ARMA(0, 20, A_CANCEL, 1, 0),
	ARM(1, 2 * L2 + 5),
	ARM(2, 2 * L2 + 5),
	ADV(3 * L2, BIT(0) | BIT(2)),
	COUNT(0),
	END,
};

static const struct op s_callback_cancel_future[] = {
	INIT(0),
	ARMA(0, 20, A_CANCEL, 1, 0),
	ARM(1, 1000),
	ADV(20, BIT(0)),
	ARMED(1, 0), COUNT(0), NEXT(NEVER),
	ADV(2000, 0),
	END,
};

static const struct op s_callback_cancel_self[] = {
	INIT(0),
	ARMA(0, 20, A_CANCEL, 0, 0),                /* cancelling itself: a no-op */
	ARM(1, 20),
	ADV(20, BIT(0) | BIT(1)),
	COUNT(0),
	END,
};

static const struct op s_callback_arm_other[] = {
	INIT(0),
	ARMA(0, 20, A_ARM_OTHER, 1, 0),             /* arms 1 at now + 20 */
	ADV(20, BIT(0)),
	ARMED(1, 1), COUNT(1), NEXT(40),
	ADV(39, 0),
	ADV(40, BIT(1)),
	COUNT(0),
	END,
};

static const struct op s_callback_arm_other_due[] = {
	INIT(0),
	/* 1 is due in the same advance; 0's callback moves it later. Either
	 * 1 already ran (and is armed again), or it runs at 80. */
	ARMA(0, 20, A_ARM_OTHER, 1, 0),
	ARM(1, 20),
	ADV(60, SPECIAL),
	END,
};

static const struct op s_past_and_now[] = {
	INIT(1000),
	ARM(0, 0),                                  /* long past */
	ARM(1, 1000),                               /* now */
	ARM(2, 1001),
	NEXT(1000),
	ADV(1000, BIT(0) | BIT(1)),                 /* the next advance, at any now */
	NEXT(1001),
	ADV(1001, BIT(2)),
	END,
};

static const struct op s_backwards[] = {
	INIT(1000),
	ARM(0, 1100),
	ADV(500, 0),                                /* time going back: nothing */
	ADV(1099, 0),
	ADV(1100, BIT(0)),
	ADV(900, 0),
	ARM(1, 1120),
	ADV(1119, 0),
	ADV(1120, BIT(1)),
	END,
};

static const struct op s_far_future[] = {
	INIT(0),
	ARM(0, NEVER),                              /* never, in effect */
	ARM(1, NEVER - 5),
	ARM(2, 40),
	ADV(40, BIT(2)),
	NEXT(NEVER - 5),
	ADV(100 * L3, 0),
	COUNT(2),
	ADV(NEVER - 6, 0),
	ADV(NEVER - 5, BIT(1)),
	ADV(NEVER, BIT(0)),
	COUNT(0), NEXT(NEVER),
	END,
};

static const struct op s_spread[] = {
	INIT(0),
	/* one timer per sixteenth of a level 1 span, fired in three advances */
	ARM(0, 1 * L2 / 16), ARM(1, 2 * L2 / 16),
	ARM(2, 3 * L2 / 16), ARM(3, 4 * L2 / 16),
	ARM(4, 5 * L2 / 16), ARM(5, 6 * L2 / 16),
	ARM(6, 7 * L2 / 16), ARM(7, 8 * L2 / 16),
	ARM(8, 9 * L2 / 16), ARM(9, 10 * L2 / 16),
	ARM(10, 11 * L2 / 16), ARM(11, 12 * L2 / 16),
	ARM(12, 13 * L2 / 16), ARM(13, 14 * L2 / 16),
	ARM(14, 15 * L2 / 16), ARM(15, 16 * L2 / 16),
	COUNT(16),
	ADV(8 * L2 / 16, 0xffu),
	COUNT(8), NEXT(9 * L2 / 16),
	ADV(16 * L2 / 16 - 1, 0x7f00u),
	ADV(16 * L2 / 16, 0x8000u),
	COUNT(0),
	END,
};

static const struct op s_crowded_slot[] = {
	INIT(0),
	/* next() reads up to 16 timers of a far slot for their earliest;
	 * beyond, it may give the slot's start, when they move down a level */
	ARM(0, 300), ARM(1, 301), ARM(2, 302), ARM(3, 303),
	ARM(4, 304), ARM(5, 305), ARM(6, 306), ARM(7, 307),
	ARM(8, 308), ARM(9, 309), ARM(10, 310), ARM(11, 311),
	ARM(12, 312), ARM(13, 313), ARM(14, 314), ARM(15, 315),
	ADV(1, 0),
	NEXT(300),                                  /* 16 in the slot of 256..511 */
	ARM(16, 400),
	NEXT(300),                                  /* known since the last advance */
	ADV(2, 0),
	NEXT(256),                                  /* 17: the slot's start */
	ADV(256, 0),                                /* they move down to level 0 */
	NEXT(300),
	ADV(300, BIT(0)),
	ADV(400, 0x1fffeu),
	COUNT(0),
	END,
};

static const struct op s_hook[] = {
	INIT(0),
	ARM(0, 500), HOOK(1, 500),                  /* the first timer */
	ARM(1, 600), HOOK(0, 500),                  /* later: the loop need not hear */
	ARM(2, 400), HOOK(1, 400),
	CANCEL(2), HOOK(0, 400),                    /* later: one early wake-up */
	NEXT(500),
	ARM(3, 450), HOOK(1, 450),                  /* earlier than 500, told last */
	ARMA(4, 460, A_ARM_OTHER, 5, 0), HOOK(0, 450),
	ADV(450, BIT(3)),
	ADV(460, BIT(4)), HOOK(0, 450),             /* never from inside an advance */
	NEXT(480),
	ARM(6, 0), HOOK(1, 460),                    /* due: told the wheel's now */
	ADV(460, BIT(6)),
	NEXT(480),
	ARM(7, 470), HOOK(1, 470),
	END,
};

static const struct scenario scenarios[] = {
	{ "basic", s_basic },
	{ "to the millisecond", s_exact_ms },
	{ "cancel", s_cancel },
	{ "next after cancels", s_next_after_cancel },
	{ "zeroed timer", s_zeroed },
	{ "re-arm", s_rearm },
	{ "level edges", s_level_edges },
	{ "same millisecond, and one level up", s_same_ms },
	{ "hours and days", s_hours },
	{ "long jump", s_long_jump },
	{ "jump of exactly one level 0 span", s_exact_span_jump },
	{ "callback re-arms itself", s_callback_rearm },
	{ "callback re-arms itself in the past", s_callback_rearm_due },
	{ "callback re-arms itself at now", s_callback_rearm_zero_delay },
	{ "callback re-arms itself, long jump", s_callback_rearm_long_jump },
	{ "callback cancels a timer due in the same advance", s_callback_cancel_other },
	{ "callback cancels a timer of a later slot, same advance", s_callback_cancel_later_slot },
	{ "callback cancels a timer moved down in the same advance", s_callback_cancel_far },
	{ "callback cancels a future timer", s_callback_cancel_future },
	{ "callback cancels itself", s_callback_cancel_self },
	{ "callback arms another timer", s_callback_arm_other },
	{ "callback re-arms a timer due in the same advance", s_callback_arm_other_due },
	{ "armed in the past or at now", s_past_and_now },
	{ "time going backwards", s_backwards },
	{ "far future", s_far_future },
	{ "one timer per sixteenth of a level 1 span", s_spread },
	{ "a crowded far slot", s_crowded_slot },
	{ "the hook", s_hook },
};
/* clang-format on */

static uint32_t fired_mask(void)
{
	uint32_t m = 0;

	for (int i = 0; i < NTIMERS; i++)
		if (slots[i].fired)
			m |= BIT(i);
	return m;
}

static void run_scenario(const struct scenario *sc)
{
	char msg[200];

	vectors++;
	wheel = xcalloc(1, sizeof(*wheel));
	memset(slots, 0, sizeof(slots));
	for (const struct op *op = sc->ops; op->kind != OP_END; op++) {
		struct slot *s = &slots[op->id];

		switch (op->kind) {
		case OP_END:
			break;
		case OP_INIT:
			timer_wheel_init(wheel, op->a);
			timer_wheel_set_hook(wheel, on_earlier);
			hook_calls = 0;
			hook_at = NEVER;
			cur_now = op->a;
			break;
		case OP_ARM:
			s->action = op->act;
			s->arg = op->arg;
			s->rearms = op->rearms;
			timer_arm(wheel, &s->t, op->a, on_fire);
			check(timer_armed(&s->t), op->line, "armed after timer_arm");
			break;
		case OP_CANCEL:
			timer_cancel(wheel, &s->t);
			check(!timer_armed(&s->t), op->line, "not armed after timer_cancel");
			break;
		case OP_ZERO:
			memset(&s->t, 0, sizeof(s->t));
			break;
		case OP_ADV: {
			for (int i = 0; i < NTIMERS; i++)
				slots[i].fired = 0;
			cur_now = op->a;
			timer_wheel_advance(wheel, op->a);
			uint32_t m = fired_mask();
			if (op->mask == SPECIAL && sc->ops == s_callback_cancel_other) {
				/* one of 0 and 1, and 2 */
				m &= ~BIT(2);
				snprintf(msg, sizeof(msg),
				         "%s: exactly one of 0 and 1 fires (fired %#x)", sc->name,
				         fired_mask());
				check((m == BIT(0) || m == BIT(1)) && slots[2].fired, op->line,
				      msg);
			} else if (op->mask == SPECIAL) {
				/* 0 fires; 1 either ran before 0 (and is armed again
				 * for 80), or was moved to 80 before running */
				snprintf(msg, sizeof(msg), "%s: fired %#x", sc->name, m);
				check((m & BIT(0)) && timer_armed(&slots[1].t) && wheel->count == 1,
				      op->line, msg);
			} else {
				snprintf(msg, sizeof(msg), "%s: at now=%llu fired %#x, want %#x",
				         sc->name, (unsigned long long)op->a, m, op->mask);
				check(m == op->mask, op->line, msg);
			}
			for (int i = 0; i < NTIMERS; i++) {
				if (slots[i].fired > 1) {
					snprintf(msg, sizeof(msg),
					         "%s: timer %d fired %d times in one advance",
					         sc->name, i, slots[i].fired);
					check(0, op->line, msg);
				}
			}
			break;
		}
		case OP_COUNT:
			snprintf(msg, sizeof(msg), "%s: count %zu, want %llu", sc->name,
			         wheel->count, (unsigned long long)op->a);
			check(wheel->count == op->a, op->line, msg);
			break;
		case OP_ARMED:
			snprintf(msg, sizeof(msg), "%s: timer %d armed %d, want %d", sc->name,
			         op->id, timer_armed(&s->t), (int)op->a);
			check(timer_armed(&s->t) == (op->a != 0), op->line, msg);
			break;
		case OP_NEXT: {
			uint64_t n = timer_wheel_next(wheel);
			snprintf(msg, sizeof(msg), "%s: next %llu, want %llu", sc->name,
			         (unsigned long long)n, (unsigned long long)op->a);
			check(n == op->a, op->line, msg);
			break;
		}
		case OP_HOOK:
			snprintf(msg, sizeof(msg),
			         "%s: hook ran %d times (last at %llu), want %d (%llu)", sc->name,
			         hook_calls, (unsigned long long)hook_at, op->id,
			         (unsigned long long)op->a);
			check(hook_calls == op->id && hook_at == op->a, op->line, msg);
			hook_calls = 0;
			break;
		}
	}
	free(wheel);
	wheel = NULL;
}

/* ---- a loop driving the wheel, as the server does ----------------------- */

/*
 * A timer of the driven tests: fired records when. The loop sleeps until
 * `wake` (timer_wheel_next() after each advance, or earlier when the hook
 * says so) and advances to exactly that time: every timer must fire at its
 * own millisecond.
 */
struct dtimer {
	struct timer t;
	uint64_t expires;
	uint64_t fired_at;
	int fired;
};

static uint64_t drive_now;
static int drive_errors;

static void on_drive_fire(struct timer *t)
{
	struct dtimer *d = container_of(t, struct dtimer, t);

	d->fired++;
	d->fired_at = drive_now;
}

static void drive_error(int line, const char *what, unsigned long long a, unsigned long long b)
{
	if (drive_errors++ < 10)
		fprintf(stderr, "%s:%d: %s (%llu, %llu)\n", __FILE__, line, what, a, b);
}

/* Runs the wheel to its end; returns the number of wake-ups. */
static size_t drive(struct timer_wheel *w, struct dtimer *ds, size_t n)
{
	size_t wakes = 0;

	for (;;) {
		uint64_t at = timer_wheel_next(w);
		if (at == NEVER)
			break;
		if (wakes > 10 * n + 1000) {
			drive_error(__LINE__, "the wheel never empties: wake-ups, timers", wakes,
			            n);
			break;
		}
		if (at < drive_now)
			drive_error(__LINE__, "next is in the past", at, drive_now);
		drive_now = at;
		timer_wheel_advance(w, at);
		wakes++;
	}
	for (size_t i = 0; i < n; i++) {
		if (ds[i].fired != 1)
			drive_error(__LINE__, "fired times", i, (unsigned long long)ds[i].fired);
		else if (ds[i].fired_at != ds[i].expires)
			drive_error(__LINE__, "fired at, expiry", ds[i].fired_at, ds[i].expires);
	}
	if (w->count != 0)
		drive_error(__LINE__, "timers left", w->count, 0);
	return wakes;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A few far timers alone: one wake-up each, at their own millisecond. */
static void test_far_alone(void)
{
	static const uint64_t delays[] = {1,      255,    256,          257,      L2 - 1,
	                                  L2,     L2 + 1, 25000,        HOUR,     5 * HOUR + 3,
	                                  L3 - 1, L3,     2 * DAY + 17, 40 * DAY, 300 * DAY + 1};
	enum { N = sizeof(delays) / sizeof(delays[0]) };
	struct timer_wheel *w = xcalloc(1, sizeof(*w));
	struct dtimer *ds = xcalloc(N, sizeof(*ds));

	vectors++;
	drive_now = 987654321;
	timer_wheel_init(w, drive_now);
	for (size_t i = 0; i < N; i++) {
		ds[i].expires = drive_now + delays[i];
		timer_arm(w, &ds[i].t, ds[i].expires, on_drive_fire);
	}
	size_t wakes = drive(w, ds, N);
	if (wakes != N)
		drive_error(__LINE__, "wake-ups, timers", wakes, N);
	free(ds);
	free(w);
}

/* Many timers in one far slot: the wheel wakes at the slot's start to move
 * them down, a bounded number of times, and each still fires on time. */
static void test_far_crowd(void)
{
	enum { N = 500 };
	struct timer_wheel *w = xcalloc(1, sizeof(*w));
	struct dtimer *ds = xcalloc(N, sizeof(*ds));

	vectors++;
	drive_now = 5 * L3 + 12345;
	timer_wheel_init(w, drive_now);
	uint64_t base = drive_now + 3 * HOUR;
	for (size_t i = 0; i < N; i++) {
		/* 50 distinct milliseconds within 40 s */
		ds[i].expires = base + (i % 50) * 800;
		timer_arm(w, &ds[i].t, ds[i].expires, on_drive_fire);
	}
	size_t wakes = drive(w, ds, N);
	/* 50 firings, plus at most one early wake-up per level above 0 for
	 * each crowded slot the timers pass through */
	if (wakes < 50 || wakes > 50 + 2 * (TIMER_LEVELS - 1) + 200 / 16)
		drive_error(__LINE__, "wake-ups for 50 distinct expiries", wakes, 50);
	free(ds);
	free(w);
}

/* Heartbeats of many sessions: each timer re-arms itself (ping, pong
 * timeout, next ping) while the loop is driven by next() and the hook. */
#define BEATS 20000
#define BEAT_INTERVAL 25000
#define BEAT_TIMEOUT 20000

struct beat {
	struct timer t;
	uint64_t expires;
	int phase; /* 0: the ping is due, 1: the pong is awaited */
	int rounds;
};

static struct timer_wheel *beat_wheel;
static struct beat *beats;
static size_t beat_fires;

static void on_beat(struct timer *t)
{
	struct beat *b = container_of(t, struct beat, t);

	beat_fires++;
	if (drive_now != b->expires)
		drive_error(__LINE__, "beat fired at, expiry", drive_now, b->expires);
	if (b->rounds-- <= 0)
		return;
	/* half the peers answer the ping at once (a new interval), the
	 * others let the pong timeout run */
	if (b->phase == 0 && (b - beats) % 2 == 0)
		b->expires = drive_now + BEAT_INTERVAL;
	else
		b->expires = drive_now + (b->phase == 0 ? BEAT_TIMEOUT : BEAT_INTERVAL);
	b->phase ^= 1;
	timer_arm(beat_wheel, t, b->expires, on_beat);
}

static void test_heartbeats(void)
{
	struct beat *bs = xcalloc(BEATS, sizeof(*bs));
	size_t wakes = 0, expected = 0;

	beats = bs;
	vectors++;
	beat_wheel = xcalloc(1, sizeof(*beat_wheel));
	drive_now = 1000;
	timer_wheel_init(beat_wheel, drive_now);
	for (size_t i = 0; i < BEATS; i++) {
		/* sessions opened over 10 s */
		bs[i].expires = drive_now + rng() % 10000 + BEAT_INTERVAL;
		bs[i].rounds = 8;
		expected += 9;
		timer_arm(beat_wheel, &bs[i].t, bs[i].expires, on_beat);
	}
	size_t idle = 0; /* wake-ups that fired nothing (moving timers down) */
	for (;;) {
		uint64_t at = timer_wheel_next(beat_wheel);
		if (at == NEVER)
			break;
		if (wakes > 10 * (size_t)BEATS * 9) {
			drive_error(__LINE__, "the wheel never empties: wake-ups", wakes, 0);
			break;
		}
		size_t before = beat_fires;
		drive_now = at;
		timer_wheel_advance(beat_wheel, at);
		wakes++;
		idle += beat_fires == before;
	}
	if (beat_fires != expected)
		drive_error(__LINE__, "beats fired, expected", beat_fires, expected);
	/* a crowded far slot costs one wake-up when it is reached: at most one
	 * per 256 ms of level 1 and per 65.5 s of level 2 over the run */
	if (idle > (drive_now / L1 + 1) + (drive_now / L2 + 1))
		drive_error(__LINE__, "idle wake-ups, wake-ups", idle, wakes);
	printf("timer: %d heartbeats, %zu firings in %zu wake-ups (%zu firing nothing)\n", BEATS,
	       beat_fires, wakes, idle);
	free(beat_wheel);
	free(bs);
}

/* Many timers at random times up to an hour apart. */
static void test_many(void)
{
	enum { N = 200000 };
	struct timer_wheel *w = xcalloc(1, sizeof(*w));
	struct dtimer *ds = xcalloc(N, sizeof(*ds));

	vectors++;
	drive_now = 42;
	timer_wheel_init(w, drive_now);
	for (size_t i = 0; i < N; i++) {
		ds[i].expires = drive_now + 1 + rng() % HOUR;
		timer_arm(w, &ds[i].t, ds[i].expires, on_drive_fire);
	}
	/* cancel and re-arm a tenth, from the middle of their slots */
	for (size_t i = 0; i < N; i += 10) {
		timer_cancel(w, &ds[i].t);
		ds[i].expires = drive_now + 1 + rng() % (2 * HOUR);
		timer_arm(w, &ds[i].t, ds[i].expires, on_drive_fire);
	}
	size_t wakes = drive(w, ds, N);
	printf("timer: %d timers over 2 h, %zu wake-ups\n", N, wakes);
	free(ds);
	free(w);
}

/* ---- random operations against a plain model --------------------------- */

/*
 * Random arms (past, now, milliseconds to months ahead), cancels and
 * advances (to next(), by a few ms, by seconds, by days), with callbacks
 * that re-arm, cancel and arm other timers. The model is each timer's
 * expiry and whether it is armed. Checked: a timer fires once, never
 * before its expiry and never while the model says it is not armed; no
 * armed timer is left behind by an advance that reached its expiry (so
 * each fires at the first advance reaching it); count and timer_armed()
 * agree with the model; timer_wheel_next() is the model's earliest expiry
 * (or the start of a crowded far slot holding it); the loop, told by
 * next() and the hook, is never asleep past the earliest expiry.
 */
#define RANDOM_TIMERS 3000

struct rtimer {
	struct timer t;
	uint64_t expires;
	int fired;
	bool live;          /* armed, by our own bookkeeping */
	bool armed_in_step; /* armed by a callback of the advance running */
};

static struct rtimer rts[RANDOM_TIMERS];
static struct timer_wheel *rwheel;
static uint64_t model_now;
static uint64_t loop_wake; /* when the loop would wake: next() or the hook */
static int random_errors;

#define RERR(...)                                                                                  \
	do {                                                                                       \
		if (random_errors++ < 10) {                                                        \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

static void on_random_hook(struct timer_wheel *w, uint64_t at)
{
	(void)w;
	if (at >= loop_wake)
		RERR("hook told %llu, not earlier than %llu", (unsigned long long)at,
		     (unsigned long long)loop_wake);
	loop_wake = at;
}

static uint64_t random_delay(void)
{
	switch (rng() % 16) {
	case 0:
		return 0;
	case 1:
	case 2:
		return rng() % 8;
	case 3:
	case 4:
	case 5:
		return rng() % 600;
	case 6:
	case 7:
	case 8:
		return rng() % 70000;
	case 9:
	case 10:
		return 20000 + rng() % 10;
	case 11:
	case 12:
		return rng() % (6 * HOUR);
	case 13:
		return rng() % (90 * DAY);
	default:
		return rng() % (3 * L1);
	}
}

static void on_random_fire(struct timer *t);

static void random_arm(struct rtimer *r, bool past)
{
	uint64_t e = past ? model_now - rng() % 1000 : model_now + random_delay();
	r->expires = e;
	r->live = true;
	timer_arm(rwheel, &r->t, e, on_random_fire);
}

static void on_random_fire(struct timer *t)
{
	struct rtimer *r = container_of(t, struct rtimer, t);

	r->fired++;
	if (r->expires > model_now || !r->live)
		RERR("timer %td (expires %llu, live %d) fired at %llu", r - rts,
		     (unsigned long long)r->expires, r->live, (unsigned long long)model_now);
	r->live = false;
	uint64_t x = rng() % 32;
	if (x < 3) {
		random_arm(r, x == 0);
		r->armed_in_step = true;
	} else if (x < 5) {
		struct rtimer *o = &rts[rng() % RANDOM_TIMERS];
		timer_cancel(rwheel, &o->t);
		o->live = false;
	} else if (x < 7) {
		struct rtimer *o = &rts[rng() % RANDOM_TIMERS];
		random_arm(o, x == 5);
		o->armed_in_step = true;
	}
}

/* Whether timer_wheel_next() may say `next`, from the model: the earliest
 * expiry (the wheel's now for one already reached), or, when that is in a
 * far slot of more than 16 timers, the start of that slot. */
static bool model_next_ok(uint64_t next)
{
	uint64_t min = NEVER;
	bool any = false;

	for (int i = 0; i < RANDOM_TIMERS; i++) {
		if (!rts[i].live)
			continue;
		any = true;
		uint64_t e = rts[i].expires > model_now ? rts[i].expires : model_now;
		if (e < min)
			min = e;
	}
	if (next == min)
		return true;
	if (!any || min == model_now)
		return false;
	unsigned level = (unsigned)(63 - __builtin_clzll(min ^ model_now)) / 8;
	if (level == 0)
		return false;
	uint64_t key = min >> (8 * level);
	int in_slot = 0;
	for (int i = 0; i < RANDOM_TIMERS; i++) {
		const struct rtimer *r = &rts[i];
		if (r->live && r->expires > model_now &&
		    (unsigned)(63 - __builtin_clzll(r->expires ^ model_now)) / 8 == level &&
		    r->expires >> (8 * level) == key)
			in_slot++;
	}
	return in_slot > 16 && next == key << (8 * level);
}

static uint64_t model_earliest(void)
{
	uint64_t min = NEVER;

	for (int i = 0; i < RANDOM_TIMERS; i++)
		if (rts[i].live && rts[i].expires < min)
			min = rts[i].expires;
	return min;
}

static void check_model(int round, const char *after)
{
	size_t live = 0;

	for (int i = 0; i < RANDOM_TIMERS; i++) {
		live += rts[i].live;
		if (timer_armed(&rts[i].t) != rts[i].live)
			RERR("round %d, after %s: timer %d armed %d, want %d", round, after, i,
			     timer_armed(&rts[i].t), rts[i].live);
	}
	if (rwheel->count != live)
		RERR("round %d, after %s: count %zu, want %zu", round, after, rwheel->count, live);
	uint64_t earliest = model_earliest();
	if (earliest != NEVER && loop_wake > earliest && loop_wake > model_now)
		RERR("round %d, after %s: the loop sleeps until %llu, a timer expires at %llu",
		     round, after, (unsigned long long)loop_wake, (unsigned long long)earliest);
}

static void test_random(void)
{
	vectors++;
	rwheel = xcalloc(1, sizeof(*rwheel));
	memset(rts, 0, sizeof(rts));
	model_now = 123457;
	timer_wheel_init(rwheel, model_now);
	timer_wheel_set_hook(rwheel, on_random_hook);
	loop_wake = NEVER;
	for (int i = 0; i < RANDOM_TIMERS; i++)
		random_arm(&rts[i], false);
	check_model(-1, "arming");
	for (int round = 0; round < 4000; round++) {
		/* advance */
		uint64_t to;
		uint64_t next = timer_wheel_next(rwheel);
		loop_wake = next;
		switch (rng() % 10) {
		case 0:
			to = model_now + rng() % (3 * DAY);
			break;
		case 1:
			to = model_now + rng() % (2 * L2);
			break;
		case 2:
		case 3:
			to = model_now + rng() % 5;
			break;
		case 4:
			to = model_now + rng() % 600;
			break;
		default:
			to = next != NEVER ? next : model_now + 1000;
			break;
		}
		for (int i = 0; i < RANDOM_TIMERS; i++) {
			rts[i].fired = 0;
			rts[i].armed_in_step = false;
		}
		model_now = to;
		timer_wheel_advance(rwheel, to);
		for (int i = 0; i < RANDOM_TIMERS; i++) {
			struct rtimer *r = &rts[i];
			if (r->fired > 1)
				RERR("round %d: timer %d fired %d times", round, i, r->fired);
			if (r->live && r->expires <= model_now && !r->armed_in_step)
				RERR("round %d: timer %d expiring %llu did not fire at %llu", round,
				     i, (unsigned long long)r->expires,
				     (unsigned long long)model_now);
		}
		next = timer_wheel_next(rwheel);
		loop_wake = next;
		if (!model_next_ok(next))
			RERR("round %d: after an advance to %llu next is %llu, earliest %llu",
			     round, (unsigned long long)model_now, (unsigned long long)next,
			     (unsigned long long)model_earliest());
		check_model(round, "advance");
		/* churn: cancel some, re-arm some (some in the past) */
		for (int k = 0; k < 60; k++) {
			struct rtimer *r = &rts[rng() % RANDOM_TIMERS];
			uint64_t x = rng() % 8;
			if (x < 3) {
				timer_cancel(rwheel, &r->t);
				r->live = false;
			} else {
				random_arm(r, x == 3);
			}
		}
		check_model(round, "churn");
		if (rng() % 4 == 0) {
			next = timer_wheel_next(rwheel);
			loop_wake = next;
			if (!model_next_ok(next))
				RERR("round %d: after arms and cancels next is %llu, earliest %llu",
				     round, (unsigned long long)next,
				     (unsigned long long)model_earliest());
		}
	}
	if (random_errors) {
		fprintf(stderr, "%s:%d: %d errors with random timers\n", __FILE__, __LINE__,
		        random_errors);
		failures++;
	}
	free(rwheel);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	test_far_alone();
	test_far_crowd();
	test_heartbeats();
	test_many();
	if (drive_errors) {
		fprintf(stderr, "%s:%d: %d errors in driven tests\n", __FILE__, __LINE__,
		        drive_errors);
		failures++;
	}
	test_random();

	printf("timer: %d scenarios, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
