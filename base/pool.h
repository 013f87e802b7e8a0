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

/*
 * A growable byte buffer whose storage is a block of a pool (NULL: of
 * malloc's), for bytes received and not yet used: all zero is an empty
 * buffer that holds nothing, and a buffer holds a block only while it
 * holds bytes (pool_buf_consume() of all of them gives the block back),
 * so that an idle connection keeps none and a steady load takes the same
 * blocks again. At most UINT32_MAX bytes. Every call on one buffer takes
 * the same pool.
 */
struct pool_buf {
	uint8_t *data;
	uint32_t len, cap;
};

/* Ensures room for `extra` more bytes. Returns 0, or -1 when out of
 * memory or past UINT32_MAX bytes. */
int pool_buf_reserve(struct pool *p, struct pool_buf *b, size_t extra);
/* Appends n bytes. Returns 0 or -1 as pool_buf_reserve(). */
int pool_buf_append(struct pool *p, struct pool_buf *b, const void *data, size_t n);
/* Drops the first n bytes; none left, the block goes back. */
void pool_buf_consume(struct pool *p, struct pool_buf *b, size_t n);
/* Gives the block back; the buffer is empty. */
void pool_buf_free(struct pool *p, struct pool_buf *b);

#endif
