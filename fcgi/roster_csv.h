/* Streaming CSV reader for roster files on top of libcsv: constant memory, limits on field size, column and row
 * counts, BOM stripped, CRLF or LF, strict quotes, UTF-8 checked per field (Shift_JIS / EUC-JP named when the
 * bytes look like them). No HTTP, no database. */
#ifndef RS_ROSTER_CSV_H
#define RS_ROSTER_CSV_H
#include <stddef.h>
#include <sys/types.h>
#include "arena.h"

struct rcsv_limits {
	size_t max_field;     /* bytes of one field */
	int max_cols;         /* fields of one record */
	long max_rows;        /* records, header included */
};
extern const struct rcsv_limits rcsv_default_limits;   /* 64 KiB, 256 columns, 10,000,000 rows */

/* Pull bytes from the source: >0 bytes, 0 end, -1 error (message through errmsg of the reader). */
typedef ssize_t (*rcsv_read_fn)(void *src, void *buf, size_t n);
/* One record. line = physical line where the record starts (1 = header). fields are NUL-terminated and live
 * until the callback returns. Return 0 to go on, -1 to stop (rcsv_parse then returns -2). */
typedef int (*rcsv_row_fn)(void *ud, long line, int n, char **fields, size_t *lens);

struct rcsv_error {
	long line;
	char code[24];        /* CSV-ENC-001, CSV-QUOTE-001, CSV-SIZE-001 … */
	char msg_en[320];
	char msg_ja[320];
};

/* 0 done, -1 error (err filled), -2 stopped by the callback. */
int rcsv_parse(const struct rcsv_limits *lim, rcsv_read_fn rd, void *src, rcsv_row_fn row, void *ud,
	       struct rcsv_error *err);

/* A reader over memory (tests, small texts). */
struct rcsv_mem { const char *p; size_t len, pos; };
ssize_t rcsv_mem_read(void *mem, void *buf, size_t n);

/* -1 when s[0..n) is valid UTF-8, else the offset of the first bad byte. */
long rcsv_utf8_invalid(const unsigned char *s, size_t n);
/* Name of the legacy Japanese encoding the bytes look like ("Shift_JIS", "EUC-JP") or NULL. */
const char *rcsv_guess_encoding(const unsigned char *s, size_t n);

/* Spreadsheet formula protection (exports) and its reversal (imports). A cell beginning with = + - @ gets a
 * leading apostrophe; a cell that already begins with an apostrophe followed by = + - @ or ' gets one more, so
 * rcsv_unprotect(rcsv_protect(x)) == x for every x. */
int rcsv_needs_protect(const char *s);
const char *rcsv_unprotect(const char *s);
/* Append one CSV cell (quoted when needed, formula-protected) to b. */
void rcsv_put_cell(buf *b, const char *s, int first);
#endif
