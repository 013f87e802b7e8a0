/*
 * Scenarios for the hashed timing wheel (base/timer.c). The wheel takes
 * the time as a parameter, so each scenario is a script of arm, cancel and
 * advance steps with explicit `now` values, and each advance states which
 * timers must fire. A timer due at E fires at the first advance whose
 * `now` has reached E rounded up to a tick boundary (the wheel's
 * granularity), never earlier than E; an advance over a rotation or more
 * visits every slot, and fires what is due by then.
 */
#include "base/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK TIMER_TICK_MS
#define ROTATION ((uint64_t)TIMER_WHEEL_SLOTS * TIMER_TICK_MS)
#define NTIMERS 16

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

#define CHECK(cond, line) check((cond) != 0, (line), #cond)

/* What a timer's callback does besides recording that it fired. */
enum action {
	A_NONE,
	A_REARM,      /* re-arms itself at now + arg */
	A_CANCEL,     /* cancels timer arg */
	A_ARM_OTHER,  /* arms timer arg at now + TICK */
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
		timer_arm(wheel, &slots[s->arg].t, cur_now + TICK, on_fire);
		break;
	}
}

enum op_kind {
	OP_END,
	OP_INIT,   /* timer_wheel_init(now = a) */
	OP_ARM,    /* timer_arm(id, expires = a), callback does act/arg */
	OP_CANCEL, /* timer_cancel(id) */
	OP_ADV,    /* timer_wheel_advance(now = a); exactly the ids in mask fire, once */
	OP_COUNT,  /* w->count == a */
	OP_ARMED,  /* timer_armed(id) == a */
	OP_ZERO,   /* memset the timer id to zero (never armed) */
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
#define END                    { __LINE__, OP_END, 0, 0, 0, A_NONE, 0, 0 }

struct scenario {
	const char *name;
	const struct op *ops;
};

static const struct op s_basic[] = {
	INIT(1000),
	COUNT(0),
	ARM(0, 1100),
	ARMED(0, 1), COUNT(1),
	ADV(1020, 0), ADV(1099, 0),
	ADV(1100, BIT(0)),
	ARMED(0, 0), COUNT(0),
	ADV(1200, 0), ADV(5000, 0),                 /* fires once only */
	END,
};

static const struct op s_not_early[] = {
	INIT(0),
	ARM(0, 25),                                 /* between two ticks */
	ARM(1, 40),
	ARM(2, 41),
	ADV(20, 0), ADV(24, 0),
	ADV(39, 0),                                 /* 25 is due, but inside tick 1 */
	ADV(40, BIT(0) | BIT(1)),                   /* the tick boundary after 25 */
	ADV(59, 0),
	ADV(60, BIT(2)),
	COUNT(0),
	END,
};

static const struct op s_cancel[] = {
	INIT(0),
	ARM(0, 100), ARM(1, 100), ARM(2, 200),
	COUNT(3),
	CANCEL(1),
	ARMED(1, 0), COUNT(2),
	CANCEL(1),                                  /* twice: a no-op */
	COUNT(2),
	ADV(100, BIT(0)),
	CANCEL(0),                                  /* after firing: a no-op */
	COUNT(1),
	CANCEL(2),
	COUNT(0),
	ADV(1000, 0),
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
	COUNT(1),
	ADV(100, 0), ADV(280, 0),
	ADV(300, BIT(0)),
	ARM(0, 200),                                /* re-arm after firing, in the past */
	COUNT(1),
	ADV(319, 0),
	ADV(320, BIT(0)),                           /* on the next tick */
	ARM(0, 1000),
	ARM(0, 400),                                /* re-arm earlier */
	ADV(400, BIT(0)),
	ADV(1000, 0),
	COUNT(0),
	END,
};

static const struct op s_same_slot[] = {
	INIT(0),
	ARM(0, 100), ARM(1, 100), ARM(2, 100), ARM(3, 100),
	ARM(4, 81), ARM(5, 99),                     /* same tick, not the same ms */
	ARM(6, 100 + ROTATION),                     /* same slot, a rotation later */
	ARM(7, 100 + 2 * ROTATION),
	ARM(8, 100 + 5 * ROTATION),
	COUNT(9),
	CANCEL(2),                                  /* from the middle of the slot */
	ADV(100, BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(5)),
	COUNT(3),
	ADV(100 + ROTATION - 1, 0),
	ADV(100 + ROTATION, BIT(6)),
	ADV(100 + 2 * ROTATION - TICK, 0),
	ADV(100 + 2 * ROTATION, BIT(7)),
	ADV(100 + 5 * ROTATION - TICK, 0),
	ADV(100 + 5 * ROTATION, BIT(8)),
	COUNT(0),
	END,
};

static const struct op s_rotation[] = {
	INIT(0),
	ARM(0, ROTATION + 1),                       /* hashes to slot 1 */
	ARM(1, ROTATION),                           /* hashes to slot 0 */
	ARM(2, ROTATION + 30),
	ARM(3, 3 * ROTATION + 7),
	ADV(TICK, 0),                               /* visits slot 1: not yet */
	ADV(2 * TICK, 0),
	ADV(ROTATION / 2, 0),
	ADV(ROTATION - 1, 0),
	ADV(ROTATION, BIT(1)),
	ADV(ROTATION + TICK - 1, 0),
	ADV(ROTATION + TICK, BIT(0)),
	ADV(ROTATION + 2 * TICK, BIT(2)),
	ADV(2 * ROTATION + TICK, 0),
	ADV(3 * ROTATION, 0),
	ADV(3 * ROTATION + TICK - 1, 0),
	ADV(3 * ROTATION + TICK, BIT(3)),
	COUNT(0),
	END,
};

static const struct op s_long_jump[] = {
	INIT(500),
	ARM(0, 520),
	ARM(1, 1000),
	ARM(2, 500 + ROTATION - TICK),
	ARM(3, 500 + ROTATION + 40),
	ARM(4, 500 + 3 * ROTATION),
	ARM(5, 500 + 10 * ROTATION),                /* not due after the jump */
	ARM(6, 500 + 10 * ROTATION + 1),
	COUNT(7),
	ADV(500 + 7 * ROTATION + 3,                 /* many rotations at once */
	    BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4)),
	COUNT(2),
	ADV(500 + 10 * ROTATION - 1, 0),
	ADV(500 + 10 * ROTATION, BIT(5)),
	ADV(500 + 10 * ROTATION + TICK, BIT(6)),
	COUNT(0),
	END,
};

static const struct op s_exact_rotation_jump[] = {
	INIT(0),
	ARM(0, TICK), ARM(1, ROTATION / 2), ARM(2, ROTATION), ARM(3, ROTATION + TICK),
	ADV(ROTATION, BIT(0) | BIT(1) | BIT(2)),     /* exactly one rotation */
	ADV(ROTATION + TICK, BIT(3)),
	END,
};

static const struct op s_callback_rearm[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, 100, 3),              /* a periodic timer, 3 re-arms */
	ADV(100, BIT(0)),
	COUNT(1), ARMED(0, 1),
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
	ARMED(0, 1),
	ADV(119, 0),
	ADV(120, BIT(0)),
	ADV(140, BIT(0)),
	ADV(160, 0),
	COUNT(0),
	END,
};

static const struct op s_callback_rearm_zero_delay[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, 0, 1),                /* re-arms at now: next tick */
	ADV(100, BIT(0)),
	COUNT(1),
	ADV(119, 0),
	ADV(120, BIT(0)),
	COUNT(0),
	END,
};

static const struct op s_callback_rearm_long_jump[] = {
	INIT(0),
	ARMA(0, 100, A_REARM, TICK, 5),
	ADV(10 * ROTATION, BIT(0)),                 /* once per advance, not per tick */
	ADV(10 * ROTATION + TICK, BIT(0)),
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
	/* 0 fires at tick 1 and cancels 1, due at tick 3 in the same jump */
	ARMA(0, 20, A_CANCEL, 1, 0),
	ARM(1, 60),
	ARM(2, 60),
	ADV(100, BIT(0) | BIT(2)),
	COUNT(0),
	END,
};

static const struct op s_callback_cancel_future[] = {
	INIT(0),
	ARMA(0, 20, A_CANCEL, 1, 0),
	ARM(1, 1000),
	ADV(20, BIT(0)),
	ARMED(1, 0), COUNT(0),
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
	ARMA(0, 20, A_ARM_OTHER, 1, 0),             /* arms 1 at now + TICK */
	ADV(20, BIT(0)),
	ARMED(1, 1), COUNT(1),
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
	ADV(1000, 0),                               /* the wheel's own tick is done */
	ADV(1019, 0),
	ADV(1020, BIT(0) | BIT(1) | BIT(2)),
	END,
};

static const struct op s_backwards[] = {
	INIT(1000),
	ARM(0, 1100),
	ADV(500, 0),                                /* time going back: nothing */
	ADV(1080, 0),
	ADV(1100, BIT(0)),
	ADV(900, 0),
	ARM(1, 1120),
	ADV(1119, 0),
	ADV(1120, BIT(1)),
	END,
};

static const struct op s_not_aligned_init[] = {
	INIT(1013),                                 /* mid-tick */
	ARM(0, 1015),
	ARM(1, 1020),
	ARM(2, 1033),
	ADV(1019, 0),
	ADV(1020, BIT(0) | BIT(1)),
	ADV(1039, 0),
	ADV(1040, BIT(2)),
	END,
};

static const struct op s_far_future[] = {
	INIT(0),
	ARM(0, UINT64_MAX),                         /* never */
	ARM(1, UINT64_MAX - 5),
	ARM(2, 40),
	ADV(40, BIT(2)),
	ADV(100 * ROTATION, 0),
	COUNT(2),
	CANCEL(0), CANCEL(1),
	COUNT(0),
	END,
};

static const struct op s_all_slots[] = {
	INIT(0),
	/* one timer per sixteenth of a rotation, fired in three advances */
	ARM(0, 1 * ROTATION / 16), ARM(1, 2 * ROTATION / 16),
	ARM(2, 3 * ROTATION / 16), ARM(3, 4 * ROTATION / 16),
	ARM(4, 5 * ROTATION / 16), ARM(5, 6 * ROTATION / 16),
	ARM(6, 7 * ROTATION / 16), ARM(7, 8 * ROTATION / 16),
	ARM(8, 9 * ROTATION / 16), ARM(9, 10 * ROTATION / 16),
	ARM(10, 11 * ROTATION / 16), ARM(11, 12 * ROTATION / 16),
	ARM(12, 13 * ROTATION / 16), ARM(13, 14 * ROTATION / 16),
	ARM(14, 15 * ROTATION / 16), ARM(15, 16 * ROTATION / 16),
	COUNT(16),
	ADV(8 * ROTATION / 16, 0xffu),
	COUNT(8),
	ADV(16 * ROTATION / 16 - 1, 0x7f00u),
	ADV(16 * ROTATION / 16, 0x8000u),
	COUNT(0),
	END,
};

static const struct scenario scenarios[] = {
	{ "basic", s_basic },
	{ "not early", s_not_early },
	{ "cancel", s_cancel },
	{ "zeroed timer", s_zeroed },
	{ "re-arm", s_rearm },
	{ "same slot", s_same_slot },
	{ "more than one rotation ahead", s_rotation },
	{ "long jump", s_long_jump },
	{ "jump of exactly one rotation", s_exact_rotation_jump },
	{ "callback re-arms itself", s_callback_rearm },
	{ "callback re-arms itself in the past", s_callback_rearm_due },
	{ "callback re-arms itself at now", s_callback_rearm_zero_delay },
	{ "callback re-arms itself, long jump", s_callback_rearm_long_jump },
	{ "callback cancels a timer due in the same advance", s_callback_cancel_other },
	{ "callback cancels a timer of a later slot, same advance", s_callback_cancel_later_slot },
	{ "callback cancels a future timer", s_callback_cancel_future },
	{ "callback cancels itself", s_callback_cancel_self },
	{ "callback arms another timer", s_callback_arm_other },
	{ "callback re-arms a timer due in the same advance", s_callback_arm_other_due },
	{ "armed in the past or at now", s_past_and_now },
	{ "time going backwards", s_backwards },
	{ "init between ticks", s_not_aligned_init },
	{ "far future", s_far_future },
	{ "one timer per sixteenth of a rotation", s_all_slots },
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
	wheel = calloc(1, sizeof(*wheel));
	if (!wheel) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	memset(slots, 0, sizeof(slots));
	for (const struct op *op = sc->ops; op->kind != OP_END; op++) {
		struct slot *s = &slots[op->id];

		switch (op->kind) {
		case OP_END:
			break;
		case OP_INIT:
			timer_wheel_init(wheel, op->a);
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
		}
	}
	free(wheel);
	wheel = NULL;
}

/*
 * Many timers at pseudo-random times, advanced in pseudo-random steps
 * (some ticks, some whole rotations), with random cancels and re-arms:
 * each timer fires once, never before its expiry, and by the first advance
 * whose now has reached its expiry rounded up to a tick (a jump of a
 * rotation or more may fire it as soon as its expiry has passed); count
 * matches the armed timers.
 */
#define RANDOM_TIMERS 3000

struct rtimer {
	struct timer t;
	uint64_t expires;
	uint64_t due; /* when it must have fired (expires rounded up to a tick) */
	int fired;
	bool live; /* armed, by our own bookkeeping */
};

static struct rtimer rts[RANDOM_TIMERS];
static int random_errors;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void on_random_fire(struct timer *t)
{
	struct rtimer *r = container_of(t, struct rtimer, t);

	r->fired++;
	if ((r->expires > cur_now || !r->live) && random_errors++ < 10)
		fprintf(stderr, "%s:%d: timer %td (expires %llu, live %d) fired at %llu\n",
		        __FILE__, __LINE__, r - rts, (unsigned long long)r->expires, r->live,
		        (unsigned long long)cur_now);
	r->live = false;
}

static void arm_random(struct timer_wheel *w, struct rtimer *r, uint64_t now)
{
	uint64_t delay;

	switch (rng() % 4) {
	case 0:
		delay = rng() % (4 * TICK);
		break;
	case 1:
		delay = rng() % ROTATION;
		break;
	default:
		delay = rng() % (4 * ROTATION);
		break;
	}
	uint64_t expires = now + delay;
	uint64_t due = (expires + TICK - 1) / TICK * TICK;

	if (due <= now / TICK * TICK)
		due = (now / TICK + 1) * TICK;
	r->expires = expires;
	r->due = due;
	r->live = true;
	timer_arm(w, &r->t, expires, on_random_fire);
}

static void test_random(void)
{
	struct timer_wheel *w = calloc(1, sizeof(*w));
	uint64_t now = 123457;
	size_t live = 0;

	if (!w) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	vectors++;
	memset(rts, 0, sizeof(rts));
	timer_wheel_init(w, now);
	cur_now = now;
	for (int i = 0; i < RANDOM_TIMERS; i++)
		arm_random(w, &rts[i], now);
	for (int round = 0; round < 3000; round++) {
		switch (rng() % 8) {
		case 0:
			now += ROTATION + rng() % ROTATION;
			break;
		case 1:
		case 2:
			now += rng() % (8 * TICK);
			break;
		default:
			now += TICK;
			break;
		}
		cur_now = now;
		for (int i = 0; i < RANDOM_TIMERS; i++)
			rts[i].fired = 0;
		timer_wheel_advance(w, now);
		live = 0;
		for (int i = 0; i < RANDOM_TIMERS; i++) {
			struct rtimer *r = &rts[i];

			if (r->fired > 1 && random_errors++ < 10)
				fprintf(stderr, "%s:%d: timer %d fired %d times\n", __FILE__,
				        __LINE__, i, r->fired);
			if (r->live && r->due <= now && random_errors++ < 10)
				fprintf(stderr, "%s:%d: timer %d due %llu did not fire at %llu\n",
				        __FILE__, __LINE__, i, (unsigned long long)r->due,
				        (unsigned long long)now);
			if (timer_armed(&r->t) != r->live && random_errors++ < 10)
				fprintf(stderr, "%s:%d: timer %d armed %d, want %d\n", __FILE__,
				        __LINE__, i, timer_armed(&r->t), r->live);
			/* churn: cancel some, re-arm some, arm the fired ones again */
			uint64_t x = rng() % 16;
			if (x == 0 && r->live) {
				timer_cancel(w, &r->t);
				r->live = false;
			} else if (x == 1 || (!r->live && x < 8)) {
				arm_random(w, r, now);
			}
			live += r->live;
		}
		if (w->count != live && random_errors++ < 10)
			fprintf(stderr, "%s:%d: count %zu, want %zu\n", __FILE__, __LINE__,
			        w->count, live);
	}
	if (random_errors) {
		fprintf(stderr, "%s:%d: %d errors with random timers\n", __FILE__, __LINE__,
		        random_errors);
		failures++;
	}
	free(w);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	test_random();

	printf("timer: %d scenarios, %d failures\n", vectors, failures);
	return failures ? 1 : 0;
}
