/*
 * A pool of memory blocks in size classes, for the buffers every loop
 * turn makes and drops (encoded packets, received messages). A freed
 * block waits on its class's free list for the next allocation instead of
 * going back to the C library, so that a steady load reuses the same
 * memory: glibc never sees the heap top empty out, so it never hands the
 * pages back to the kernel only to fault them in again on the next turn.
 *
 * What waits idle is bounded (idle_max bytes: a block freed past that goes
 * back at once) and trimmed slowly: each pool_trim() (the owner calls it
 * about once a second) gives back half of the blocks of each class that
 * were not needed since the previous trim, so that memory a burst took
 * returns within seconds of the load dropping, and a steady load keeps
 * what it uses. Blocks of POOL_MMAP_MIN bytes or more are mapped on their
 * own (mmap), so that giving one back returns its pages to the kernel
 * whatever the C library's heap looks like.
 *
 * One pool per loop; not thread-safe. No global state.
 */
#ifndef SIOC_BASE_POOL_H
#define SIOC_BASE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_MIN 64                   /* the smallest class */
#define POOL_MAX ((size_t)1 << 20)    /* larger requests go to malloc as they are */
#define POOL_MMAP_MIN ((size_t)65536) /* classes this large are mapped block by block */
/* four classes per power of two from POOL_MIN to POOL_MAX, and POOL_MIN */
#define POOL_CLASSES 57

struct pool_class {
	void *free;     /* blocks linked through their first word */
	uint32_t nfree; /* blocks on `free` */
	uint32_t low;   /* the fewest on `free` since the last trim */
};

struct pool {
	struct pool_class cls[POOL_CLASSES];
	size_t idle;     /* bytes of the blocks on the free lists */
	size_t idle_max; /* a block that would take idle past this is given back */
	size_t held;     /* bytes of the blocks handed out and not returned */
	bool finished;   /* pool_finish() ran: blocks freed later go back at once */
};

/* An empty pool keeping at most idle_max bytes idle. */
void pool_init(struct pool *p, size_t idle_max);
/* Gives back every idle block. Blocks still handed out stay valid and
 * may be freed with pool_free() later (they go back at once). */
void pool_finish(struct pool *p);

/* The size of the block pool_alloc() gives for `size` bytes (size itself
 * over POOL_MAX). */
size_t pool_block_size(size_t size);
/* A block of at least `size` bytes (pool_block_size(size) usable),
 * aligned as malloc's, or NULL when out of memory. */
void *pool_alloc(struct pool *p, size_t size);
/* Returns a block; `size` must be the one it was allocated with (or any
 * with the same pool_block_size()). NULL is a no-op. */
void pool_free(struct pool *p, void *block, size_t size);
/* Gives back half (rounded up) of each class's blocks that stayed idle
 * since the last trim. Call it about once a second. */
void pool_trim(struct pool *p);

#endif
