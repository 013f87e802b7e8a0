#include "hist.h"

#include <string.h>

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* The bucket of v: exact below HIST_SUB, then HIST_HALF buckets per
 * power of two. */
static size_t hist_index(uint64_t v)
{
	unsigned msb, shift;
	uint64_t sub;
	size_t i;

	if (v < HIST_SUB)
		return (size_t)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS + 1;
	sub = v >> shift; /* in [HIST_HALF, HIST_SUB) */
	i = HIST_SUB + (size_t)(shift - 1) * HIST_HALF + (size_t)(sub - HIST_HALF);
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket i. */
static uint64_t hist_upper(size_t i)
{
	uint64_t shift, sub;

	if (i < HIST_SUB)
		return i;
	shift = (i - HIST_SUB) / HIST_HALF + 1;
	sub = (i - HIST_SUB) % HIST_HALF + HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	if (h->total == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->total++;
	h->sum += (double)v;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;
	uint64_t v;

	if (h->total == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)(q * (double)h->total);
	if ((double)rank < q * (double)h->total)
		rank++; /* ceil: the rank-th smallest value */
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			if (i == HIST_BUCKETS - 1)
				return h->max; /* the last bucket also holds all larger values */
			v = hist_upper(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}
