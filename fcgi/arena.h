/* Per-request bump allocator: everything a request allocates dies with it.
 * Also a small growable byte buffer (buf) for output that may outgrow an arena chunk. */
#ifndef RS_ARENA_H
#define RS_ARENA_H
#include <stddef.h>
#include <stdarg.h>

typedef struct arena arena;

arena *arena_new(size_t chunk_size);
void *arena_alloc(arena *a, size_t n);           /* zeroed, 16-byte aligned; aborts on OOM */
char *arena_strdup(arena *a, const char *s);      /* NULL -> NULL */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t arena_used(const arena *a);
void arena_reset(arena *a);                       /* keep the first chunk, drop the rest */
void arena_free(arena *a);

typedef struct buf { char *p; size_t len, cap; } buf;   /* malloc-backed, always NUL-terminated */
void buf_append(buf *b, const char *s, size_t n);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf *b);
void buf_free(buf *b);
#endif
