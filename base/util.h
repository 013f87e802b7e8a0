/*
 * Small internal helpers: growable byte buffers, intrusive lists, time.
 */
#ifndef SIOC_BASE_UTIL_H
#define SIOC_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialised is empty and valid. */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Ensures room for `extra` more bytes. Returns 0 or -1 (out of memory). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
/* Appends printf-formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Frees the storage; the buffer is empty and valid again. */
void buf_free(struct buf *b);

/* Intrusive doubly linked list with a sentinel head. */
struct list {
	struct list *prev, *next;
};

static inline void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

static inline bool list_linked(const struct list *n)
{
	return n->next != NULL && n->next != n;
}

static inline void list_insert_tail(struct list *head, struct list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

/* Unlinks n (a no-op when it is not linked) and leaves it self-linked. */
static inline void list_remove(struct list *n)
{
	if (n->next == NULL || n->next == n)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t now_ms(void);

/* The value of a hexadecimal digit, or -1. */
int hex_digit_value(int c);

/* ASCII case-insensitive comparisons. */
bool ascii_ieq(const char *a, const char *b);
bool ascii_ieqn(const char *a, size_t alen, const char *b);

#endif
