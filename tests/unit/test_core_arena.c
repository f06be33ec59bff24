#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include "arena.h"

Test(arena, allocations_are_zeroed_and_aligned)
{
	arena *a = arena_new(128);
	for (int i = 0; i < 100; i++) {
		unsigned char *p = arena_alloc(a, (size_t)(i % 37) + 1);
		cr_assert_eq((uintptr_t)p % 16, 0);
		for (int k = 0; k < (i % 37) + 1; k++) cr_assert_eq(p[k], 0);
		memset(p, 0xff, (size_t)(i % 37) + 1);
	}
	arena_free(a);
}

Test(arena, oversized_requests_get_their_own_chunk)
{
	arena *a = arena_new(64);
	char *big = arena_alloc(a, 100000);
	memset(big, 'x', 100000);
	cr_assert_eq(big[99999], 'x');
	arena_free(a);
}

Test(arena, reset_reuses_memory)
{
	arena *a = arena_new(1024);
	arena_alloc(a, 5000);
	arena_alloc(a, 100);
	cr_assert_geq(arena_used(a), 5100);
	arena_reset(a);
	cr_assert_eq(arena_used(a), 0);
	char *s = arena_printf(a, "%s-%d", "x", 42);
	cr_assert_str_eq(s, "x-42");
	arena_free(a);
}

Test(arena, strndup_and_buf_append)
{
	arena *a = arena_new(256);
	cr_assert_str_eq(arena_strndup(a, "hello", 3), "hel");
	cr_assert_null(arena_strdup(a, NULL));
	buf b = {0};
	for (int i = 0; i < 1000; i++) buf_puts(&b, "ab");
	cr_assert_eq(b.len, 2000);
	buf_printf(&b, "%d", 7);
	cr_assert_eq(b.p[2000], '7');
	buf_free(&b);
	arena_free(a);
}

/* the printf helpers format in one pass when the output fits: long arguments, output that fits exactly, output
 * that needs a new chunk or a bigger buffer all come out whole */
Test(arena, printf_fits_spills_and_grows)
{
	arena *a = arena_new(256);
	char big[1000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	char *s1 = arena_printf(a, "%s-%d", "ab", 12);
	cr_assert_str_eq(s1, "ab-12");
	char *s2 = arena_printf(a, "<%s>", big);   /* past the chunk: a chunk of its own */
	cr_assert_eq(strlen(s2), 1001);
	cr_assert_eq(s2[0], '<');
	cr_assert_eq(s2[1000], '>');
	for (int i = 0; i < 40; i++) {   /* crosses chunk ends at every offset */
		char *s = arena_printf(a, "%0*d", i, 7);
		cr_assert_eq((int)strlen(s), i ? i : 1);
		cr_assert_str_eq(s1, "ab-12", "earlier strings stay");
	}
	buf b = {0};
	buf_printf(&b, "%s", "");
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.p, "");
	buf_printf(&b, "%.*s", 254, big);   /* exactly the first buffer's room */
	cr_assert_eq(b.len, 254);
	buf_printf(&b, "[%s]", big);
	cr_assert_eq(b.len, 254 + 1001);
	cr_assert_eq(b.p[254], '[');
	cr_assert_eq(b.p[b.len - 1], ']');
	cr_assert_eq(b.p[b.len], 0);
	buf_free(&b);
	arena_free(a);
}
