/*
 * A log-linear latency histogram in the manner of HdrHistogram: values
 * below 2^HIST_SUB_BITS are counted exactly, larger ones in buckets whose
 * width is 1/64 of their value or less. Fixed size, no allocation:
 * recording is an index computation and an increment.
 */
#ifndef LOADGEN_HIST_H
#define LOADGEN_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_HALF (HIST_SUB / 2)
#define HIST_MAX_SHIFT 40 /* values up to 2^47 (in microseconds: 4 years) */
#define HIST_BUCKETS (HIST_SUB + HIST_MAX_SHIFT * HIST_HALF)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total; /* values recorded */
	uint64_t max;   /* largest value recorded, exact */
	uint64_t min;   /* smallest value recorded, exact (0 when empty) */
	double sum;     /* for the mean */
};

/* Empties h. */
void hist_init(struct hist *h);

/* Counts one value. */
void hist_record(struct hist *h, uint64_t v);

/* The value below or at which a fraction q (0..1) of the recorded values
 * lie: the upper bound of the bucket holding that rank, capped at the
 * exact maximum. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

/* The mean of the recorded values, 0 when empty. */
double hist_mean(const struct hist *h);

#endif
