/*
 * The block pool (base/pool.c): size classes, reuse, the idle bound, the
 * slow trim, large and mapped blocks, frees after pool_finish(). Run with
 * the sanitizers: every block is written to its full class size, and
 * LeakSanitizer checks that what the pool gives back is freed.
 */
#include "base/pool.h"

#include "unit.h"

#define CHECK(cond) check((cond) != 0, __LINE__, #cond)

/* Every class covers its requests, wastes at most a quarter, and the
 * sizes grow. */
static void test_classes(void)
{
	size_t prev = 0;
	for (size_t n = 0; n <= POOL_MAX; n += (n < 4096 ? 1 : 97)) {
		size_t b = pool_block_size(n);
		CHECK(b >= n);
		CHECK(b >= POOL_MIN);
		if (n > POOL_MIN)
			CHECK(b - n < b / 4 + 1);
		CHECK(b >= prev);
		prev = b;
		vectors++;
	}
	CHECK(pool_block_size(POOL_MAX) == POOL_MAX);
	CHECK(pool_block_size(POOL_MAX + 1) == POOL_MAX + 1);
	CHECK(pool_block_size(65) == 80);
	CHECK(pool_block_size(1100) == 1280);
}

/* A freed block is the next one given for its class, whatever size in the
 * class is asked; blocks are usable to their full class size. */
static void test_reuse(void)
{
	struct pool p;
	pool_init(&p, 1 << 20);
	void *a = pool_alloc(&p, 1000);
	CHECK(a != NULL);
	memset(a, 0xa5, pool_block_size(1000));
	CHECK(p.held == pool_block_size(1000));
	pool_free(&p, a, 1000);
	CHECK(p.held == 0 && p.idle == pool_block_size(1000));
	void *b = pool_alloc(&p, 1020); /* same class (896, 1024] */
	CHECK(b == a);
	CHECK(p.idle == 0);
	void *c = pool_alloc(&p, 1030); /* the next class: a new block */
	CHECK(c != NULL && c != a);
	memset(c, 0x5a, pool_block_size(1030));
	pool_free(&p, b, 1020);
	pool_free(&p, c, 1030);
	pool_free(&p, NULL, 10);
	pool_finish(&p);
	CHECK(p.idle == 0 && p.held == 0);
}

/* Past idle_max a freed block goes back at once. */
static void test_idle_bound(void)
{
	struct pool p;
	pool_init(&p, 4096);
	void *b[8];
	for (int i = 0; i < 8; i++)
		b[i] = pool_alloc(&p, 1024);
	for (int i = 0; i < 8; i++)
		pool_free(&p, b[i], 1024);
	CHECK(p.idle == 4096);
	pool_finish(&p);
	CHECK(p.idle == 0);
}

/* A steady load keeps its blocks across trims; once the load stops, each
 * trim gives back half of what stayed idle, until nothing is left. */
static void test_trim(void)
{
	struct pool p;
	pool_init(&p, 1 << 24);
	enum { N = 64 };
	void *b[N];
	/* a burst of N, then a steady load of 4 at a time */
	for (int i = 0; i < N; i++)
		b[i] = pool_alloc(&p, 2000);
	for (int i = 0; i < N; i++)
		pool_free(&p, b[i], 2000);
	size_t bs = pool_block_size(2000);
	CHECK(p.idle == N * bs);
	pool_trim(&p); /* low was 0 during the burst: nothing goes */
	CHECK(p.idle == N * bs);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			b[i] = pool_alloc(&p, 2000);
		for (int i = 0; i < 4; i++)
			pool_free(&p, b[i], 2000);
		pool_trim(&p);
	}
	/* 60 idle after round 0: 30 go, then 13 of 26+4..., the 4 in use stay */
	size_t left = p.idle / bs;
	CHECK(left >= 4 && left < N / 4);
	/* the load stops: halving until empty */
	int trims = 0;
	while (p.idle && trims < 20) {
		size_t before = p.idle;
		pool_trim(&p);
		CHECK(p.idle < before);
		trims++;
	}
	CHECK(p.idle == 0);
	CHECK(trims <= 5);
	pool_finish(&p);
}

/* Mapped classes (>= POOL_MMAP_MIN) and requests over POOL_MAX. */
static void test_large(void)
{
	struct pool p;
	pool_init(&p, 8 << 20);
	size_t sizes[] = {POOL_MMAP_MIN - 1, POOL_MMAP_MIN, 300000,
	                  POOL_MAX,          POOL_MAX + 1,  3 * POOL_MAX};
	void *b[6];
	for (int i = 0; i < 6; i++) {
		b[i] = pool_alloc(&p, sizes[i]);
		CHECK(b[i] != NULL);
		if (b[i]) {
			memset(b[i], i, pool_block_size(sizes[i]));
			CHECK(((uintptr_t)b[i] & 15) == 0);
		}
	}
	for (int i = 0; i < 6; i++)
		pool_free(&p, b[i], sizes[i]);
	CHECK(p.held == 0);
	/* only the classes are kept; the larger ones went back */
	CHECK(p.idle == pool_block_size(POOL_MMAP_MIN - 1) + pool_block_size(POOL_MMAP_MIN) +
	                        pool_block_size(300000) + POOL_MAX);
	void *again = pool_alloc(&p, 300000);
	CHECK(again == b[2]);
	pool_free(&p, again, 300000);
	pool_finish(&p);
	CHECK(p.idle == 0);
}

/* Blocks outliving pool_finish() are freed when returned. */
static void test_after_finish(void)
{
	struct pool p;
	pool_init(&p, 1 << 20);
	void *a = pool_alloc(&p, 100);
	void *m = pool_alloc(&p, 200000);
	pool_finish(&p);
	pool_free(&p, a, 100);
	pool_free(&p, m, 200000);
	CHECK(p.idle == 0 && p.held == 0);
}

int main(void)
{
	test_classes();
	test_reuse();
	test_idle_bound();
	test_trim();
	test_large();
	test_after_finish();
	if (failures) {
		fprintf(stderr, "pool: %d failure(s)\n", failures);
		return 1;
	}
	printf("pool: ok (%d sizes)\n", vectors);
	return 0;
}
