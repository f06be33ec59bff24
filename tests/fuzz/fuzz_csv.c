/* libFuzzer harness: the roster CSV reader (roster_csv.c) over arbitrary bytes, read in chunks of varying size
 * (the first byte picks the chunk size and tight or default limits), plus its encoding and formula helpers. */
#include <stdint.h>
#include <string.h>
#include "roster_csv.h"

struct chunked { const uint8_t *p; size_t len, pos, step; };

static ssize_t chunked_read(void *src, void *buf, size_t n)
{
	struct chunked *c = src;
	size_t left = c->len - c->pos, k = n < c->step ? n : c->step;
	if (k > left) k = left;
	memcpy(buf, c->p + c->pos, k);
	c->pos += k;
	return (ssize_t)k;
}

static int on_row(void *ud, long line, int n, char **fields, size_t *lens)
{
	size_t *sum = ud;
	(void)line;
	for (int i = 0; i < n; i++) {
		/* every field is NUL-terminated at its length */
		if (fields[i][lens[i]] != 0) __builtin_trap();
		*sum += lens[i];
		rcsv_unprotect(fields[i]);
	}
	return *sum > (1u << 22) ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) return 0;
	uint8_t mode = data[0];
	struct chunked c = { data + 1, size - 1, 0, (size_t)(mode & 0x3f) + 1 };
	if (mode & 0x40) c.step = 65536;
	const struct rcsv_limits tight = { 64, 8, 50 };
	struct rcsv_error err;
	size_t sum = 0;
	rcsv_parse(mode & 0x80 ? &tight : NULL, chunked_read, &c, on_row, &sum, &err);
	rcsv_utf8_invalid(data, size);
	rcsv_guess_encoding(data, size);
	return 0;
}
