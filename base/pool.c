#include "base/pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

_Static_assert(POOL_MIN == 64, "class_of() counts classes from 2^6");

/* The class of a request of n <= POOL_MAX bytes: 0 for POOL_MIN, then
 * four per power of two, (2^b, 2^b * 1.25], ... (2^b * 1.75, 2^(b+1)]. */
static unsigned class_of(size_t n)
{
	if (n <= POOL_MIN)
		return 0;
	unsigned b = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	unsigned quarter = (unsigned)((n - 1) >> (b - 2)) & 3u;
	return (b - 6) * 4 + quarter + 1;
}

static size_t class_size(unsigned c)
{
	if (c == 0)
		return POOL_MIN;
	unsigned b = (c - 1) / 4 + 6;
	return ((size_t)1 << b) + (size_t)((c - 1) % 4 + 1) * ((size_t)1 << (b - 2));
}

_Static_assert(POOL_CLASSES == 57, "class_of(POOL_MAX) is POOL_CLASSES - 1");

size_t pool_block_size(size_t size)
{
	return size > POOL_MAX ? size : class_size(class_of(size));
}

static void *block_new(size_t bsize)
{
	if (bsize < POOL_MMAP_MIN)
		return malloc(bsize);
	void *b = mmap(NULL, bsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return b == MAP_FAILED ? NULL : b;
}

static void block_release(void *b, size_t bsize)
{
	if (bsize < POOL_MMAP_MIN)
		free(b);
	else
		munmap(b, bsize);
}

void pool_init(struct pool *p, size_t idle_max)
{
	memset(p, 0, sizeof(*p));
	p->idle_max = idle_max;
}

/* Gives back n blocks from the front of class c's free list. */
static void release_blocks(struct pool *p, unsigned c, uint32_t n)
{
	struct pool_class *k = &p->cls[c];
	size_t bsize = class_size(c);
	while (n-- > 0 && k->free) {
		void *b = k->free;
		memcpy(&k->free, b, sizeof(void *));
		k->nfree--;
		p->idle -= bsize;
		block_release(b, bsize);
	}
	if (k->low > k->nfree)
		k->low = k->nfree;
}

void pool_finish(struct pool *p)
{
	for (unsigned c = 0; c < POOL_CLASSES; c++)
		release_blocks(p, c, UINT32_MAX);
	p->finished = true;
}

void *pool_alloc(struct pool *p, size_t size)
{
	if (size > POOL_MAX) {
		void *b = malloc(size);
		if (b)
			p->held += size;
		return b;
	}
	unsigned c = class_of(size);
	struct pool_class *k = &p->cls[c];
	size_t bsize = class_size(c);
	void *b = k->free;
	if (b) {
		memcpy(&k->free, b, sizeof(void *));
		k->nfree--;
		if (k->low > k->nfree)
			k->low = k->nfree;
		p->idle -= bsize;
	} else {
		b = block_new(bsize);
		if (!b)
			return NULL;
	}
	p->held += bsize;
	return b;
}

void pool_free(struct pool *p, void *block, size_t size)
{
	if (!block)
		return;
	if (size > POOL_MAX) {
		p->held -= size;
		free(block);
		return;
	}
	unsigned c = class_of(size);
	size_t bsize = class_size(c);
	p->held -= bsize;
	if (p->finished || p->idle + bsize > p->idle_max) {
		block_release(block, bsize);
		return;
	}
	struct pool_class *k = &p->cls[c];
	memcpy(block, &k->free, sizeof(void *));
	k->free = block;
	k->nfree++;
	p->idle += bsize;
}

void pool_trim(struct pool *p)
{
	for (unsigned c = 0; c < POOL_CLASSES; c++) {
		struct pool_class *k = &p->cls[c];
		if (k->low)
			release_blocks(p, c, (k->low + 1) / 2);
		k->low = k->nfree;
	}
}

/* ---- buffers ------------------------------------------------------------ */

int pool_buf_reserve(struct pool *p, struct pool_buf *b, size_t extra)
{
	if (extra <= (size_t)(b->cap - b->len))
		return 0;
	if (extra > UINT32_MAX - b->len)
		return -1;
	size_t need = (size_t)b->len + extra;
	size_t want = (size_t)b->cap * 2 > need ? (size_t)b->cap * 2 : need;
	if (want > UINT32_MAX)
		want = UINT32_MAX;
	size_t cap = p ? pool_block_size(want) : want;
	if (cap > UINT32_MAX)
		cap = want;
	uint8_t *d = p ? pool_alloc(p, cap) : malloc(cap);
	if (!d)
		return -1;
	if (b->len)
		memcpy(d, b->data, b->len);
	uint32_t len = b->len;
	pool_buf_free(p, b);
	b->data = d;
	b->len = len;
	b->cap = (uint32_t)cap;
	return 0;
}

int pool_buf_append(struct pool *p, struct pool_buf *b, const void *data, size_t n)
{
	if (pool_buf_reserve(p, b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += (uint32_t)n;
	return 0;
}

void pool_buf_consume(struct pool *p, struct pool_buf *b, size_t n)
{
	if (n >= b->len) {
		pool_buf_free(p, b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= (uint32_t)n;
}

void pool_buf_free(struct pool *p, struct pool_buf *b)
{
	if (p)
		pool_free(p, b->data, b->cap);
	else
		free(b->data);
	*b = (struct pool_buf){0};
}
