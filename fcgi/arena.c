/* Per-request bump allocator and growable buffer.
 * Chunks are linked; a request that needs more than a chunk gets an oversized one. */
#include "arena.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chunk { struct chunk *next; size_t size, used; _Alignas(16) unsigned char data[]; };
struct arena { struct chunk *head; size_t chunk_size; size_t total; };

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof *c + size);
	if (!c) { fputs("arena: out of memory\n", stderr); abort(); }
	c->next = NULL; c->size = size; c->used = 0;
	return c;
}

arena *arena_new(size_t chunk_size)
{
	arena *a = calloc(1, sizeof *a);
	if (!a) abort();
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
	a->head = chunk_new(a->chunk_size);
	return a;
}

/* n bytes, not zeroed (the callers below overwrite them at once) */
static void *arena_take(arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n == 0) n = 16;
	struct chunk *c = a->head;
	if (c->size - c->used < n) {
		size_t sz = n > a->chunk_size ? n : a->chunk_size;
		c = chunk_new(sz);
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	a->total += n;
	return p;
}

void *arena_alloc(arena *a, size_t n)
{
	void *p = arena_take(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	if (!s) return NULL;
	char *p = arena_take(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

/* Formatted straight into the free end of the current chunk when it fits (glibc's measuring pass, vsnprintf(NULL,
 * 0), copies long %s arguments 64 bytes at a time: a page's SQL made it a tenth of a cached API read); formatted
 * again into a new chunk when it does not. */
char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	struct chunk *c = a->head;
	size_t room = (c->size - c->used) & ~(size_t)15;   /* what arena_take hands out whole */
	char *p = (char *)c->data + c->used;
	int n = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (n < 0) n = 0;
	int fitted = (size_t)n < room;
	p = arena_take(a, (size_t)n + 1);   /* when it fitted: the very bytes just written */
	if (!fitted) vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

size_t arena_used(const arena *a) { return a->total; }

void arena_reset(arena *a)
{
	struct chunk *c = a->head;
	/* keep the oldest chunk (the normal-sized one), free the rest */
	while (c->next) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	c->used = 0;
	a->head = c;
	a->total = 0;
}

void arena_free(arena *a)
{
	if (!a) return;
	struct chunk *c = a->head;
	while (c) { struct chunk *n = c->next; free(c); c = n; }
	free(a);
}

static void buf_grow(buf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap) return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1) cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) { fputs("buf: out of memory\n", stderr); abort(); }
	b->p = p; b->cap = cap;
}

void buf_append(buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_puts(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

/* one pass when the output fits the spare capacity (see arena_printf) */
void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	buf_grow(b, 0);   /* a first buffer: p is set, room >= 1 */
	size_t room = b->cap - b->len;
	int n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) n = 0;
	if ((size_t)n >= room) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	b->len += (size_t)n;
}

void buf_reset(buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
void buf_free(buf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }
