/*
 * Hashing helpers shared by every table of the library: FNV-1a over bytes
 * and strings, and the growth of a chained table of power-of-two size.
 */
#ifndef SIOC_BASE_HASH_H
#define SIOC_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* 64-bit FNV-1a of n bytes. */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* 64-bit FNV-1a of a NUL-terminated string (the same value as
 * hash_bytes() over its characters). */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/*
 * Makes room for one more entry in a chained hash table `tab` (type **)
 * of `cap` buckets (a power of two, 0 when unallocated) holding `count`
 * entries: when count + 1 would exceed twice cap (chains of two on average
 * at most: a bucket is a pointer per entry or two, the memory of an idle
 * connection counts), the table doubles (to
 * `first_cap` buckets from empty) and every entry is rehashed with
 * hash_expr(entry); entries chain through their `hnext` member. Evaluates
 * `on_fail` (a statement, such as `return -1`) when out of memory, the
 * table then unchanged.
 */
#define HASH_TABLE_RESERVE(tab, cap, count, first_cap, type, hash_expr, on_fail)                   \
	do {                                                                                       \
		if ((count) + 1 <= (cap)*2)                                                        \
			break;                                                                     \
		size_t ncap_ = (cap) ? (cap)*2 : (first_cap);                                      \
		type **nt_ = calloc(ncap_, sizeof(*nt_));                                          \
		if (!nt_) {                                                                        \
			on_fail;                                                                   \
		} else {                                                                           \
			for (size_t i_ = 0; i_ < (cap); i_++) {                                    \
				type *e_ = (tab)[i_];                                              \
				while (e_) {                                                       \
					type *n_ = e_->hnext;                                      \
					size_t k_ = (size_t)(hash_expr(e_)) & (ncap_ - 1);         \
					e_->hnext = nt_[k_];                                       \
					nt_[k_] = e_;                                              \
					e_ = n_;                                                   \
				}                                                                  \
			}                                                                          \
			free(tab);                                                                 \
			(tab) = nt_;                                                               \
			(cap) = ncap_;                                                             \
		}                                                                                  \
	} while (0)

#endif
