/* roster_csv: streaming CSV with BOM, CRLF, quoted newlines, and clear errors for bad encodings, bad quotes and
 * oversized fields; formula protection round-trips. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "roster_csv.h"

struct rows { int n; char cells[16][8][64]; int ncells[16]; long lines[16]; };

static int collect(void *ud, long line, int n, char **f, size_t *lens)
{
	struct rows *r = ud;
	(void)lens;
	if (r->n < 16) {
		r->lines[r->n] = line;
		r->ncells[r->n] = n;
		for (int i = 0; i < n && i < 8; i++)
			snprintf(r->cells[r->n][i], 64, "%s", f[i]);
	}
	r->n++;
	return 0;
}

static int parse(const char *text, size_t len, struct rows *r, struct rcsv_error *e, const struct rcsv_limits *lim)
{
	struct rcsv_mem m = { text, len, 0 };
	memset(r, 0, sizeof *r);
	return rcsv_parse(lim, rcsv_mem_read, &m, collect, r, e);
}

Test(roster_csv, strips_the_bom_and_reads_crlf_lines)
{
	const char *t = "\xef\xbb\xbfsourcedId,givenName\r\nu1,太郎\r\nu2,花子\r\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), 0, "%s", e.msg_en);
	cr_assert_eq(r.n, 3);
	cr_assert_str_eq(r.cells[0][0], "sourcedId");
	cr_assert_str_eq(r.cells[1][1], "太郎");
	cr_assert_str_eq(r.cells[2][0], "u2");
}

Test(roster_csv, reads_lf_lines_and_quoted_commas_and_newlines)
{
	const char *t = "a,b\n\"P1,P2\",\"line1\nline2\"\nx,\"say \"\"hi\"\"\"\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), 0, "%s", e.msg_en);
	cr_assert_eq(r.n, 3);
	cr_assert_str_eq(r.cells[1][0], "P1,P2");
	cr_assert_str_eq(r.cells[1][1], "line1\nline2");
	cr_assert_str_eq(r.cells[2][1], "say \"hi\"");
	/* the third record starts on physical line 4 because of the quoted newline */
	cr_assert_eq(r.lines[2], 4);
}

Test(roster_csv, keeps_empty_fields_and_spaces)
{
	const char *t = "a,b,c\n, x ,\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), 0);
	cr_assert_eq(r.ncells[1], 3);
	cr_assert_str_eq(r.cells[1][0], "");
	cr_assert_str_eq(r.cells[1][1], " x ");
}

Test(roster_csv, names_shift_jis_when_the_bytes_look_like_it)
{
	/* "sourcedId,givenName\nu1,山田\n" with 山田 in Shift_JIS (0x8E 0x52 0x93 0x63) */
	const char t[] = "sourcedId,givenName\nu1,\x8e\x52\x93\x63\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, sizeof t - 1, &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-ENC-001");
	cr_assert(strstr(e.msg_en, "Shift_JIS") != NULL, "%s", e.msg_en);
	cr_assert(strstr(e.msg_ja, "Shift_JIS") != NULL);
	cr_assert_eq(e.line, 2);
}

Test(roster_csv, names_euc_jp_when_the_bytes_look_like_it)
{
	/* 山田 in EUC-JP: 0xBB 0xB3 0xC5 0xC4 */
	const char t[] = "a\n\xbb\xb3\xc5\xc4\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, sizeof t - 1, &r, &e, NULL), -1);
	cr_assert(strstr(e.msg_en, "EUC-JP") != NULL, "%s", e.msg_en);
}

Test(roster_csv, rejects_utf16)
{
	const char t[] = "\xff\xfe" "a\0,\0b\0";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, sizeof t - 1, &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-ENC-002");
}

Test(roster_csv, rejects_an_unterminated_quote_at_the_end)
{
	const char *t = "a,b\nu1,\"never closed\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-QUOTE-002");
	cr_assert(strstr(e.msg_en, "unterminated") != NULL);
}

Test(roster_csv, rejects_a_quote_inside_an_unquoted_field)
{
	const char *t = "a,b\nu1,ab\"c\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-QUOTE-001");
}

Test(roster_csv, rejects_a_10_mb_field_without_buffering_it)
{
	size_t n = 10 << 20;
	char *t = malloc(n + 32);
	cr_assert_not_null(t);
	memset(t, 'x', n + 8);
	memcpy(t, "a,b\nu1,", 7);
	memcpy(t + 7 + n, "\n", 2);
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-SIZE-001");
	cr_assert(strstr(e.msg_en, "65536") != NULL, "%s", e.msg_en);
	free(t);
}

Test(roster_csv, says_unterminated_quote_when_a_quoted_field_runs_past_the_limit)
{
	size_t n = 200000;
	char *t = malloc(n + 32);
	strcpy(t, "a,b\nu1,\"");
	for (size_t i = 0; i < n; i++)
		t[8 + i] = i % 50 == 49 ? '\n' : 'y';
	t[8 + n] = 0;
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, NULL), -1);
	cr_assert(strstr(e.msg_en, "unterminated") != NULL, "%s", e.msg_en);
	free(t);
}

Test(roster_csv, enforces_the_column_limit)
{
	struct rcsv_limits lim = rcsv_default_limits;
	lim.max_cols = 3;
	const char *t = "a,b,c,d\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, strlen(t), &r, &e, &lim), -1);
	cr_assert_str_eq(e.code, "CSV-SIZE-002");
}

Test(roster_csv, formula_protection_round_trips)
{
	const char *vals[] = {"=1+2", "+81", "-5", "@SUM(A1)", "'=x", "''", "'plain", "plain", "", "'", NULL};
	for (int i = 0; vals[i]; i++) {
		buf b = {0};
		rcsv_put_cell(&b, vals[i], 1);
		const char *cell = b.p ? b.p : "";
		/* a protected cell never starts with a formula character */
		cr_assert(!(cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@'), "%s", cell);
		cr_assert_str_eq(rcsv_unprotect(cell), vals[i], "round trip of %s gave %s", vals[i], rcsv_unprotect(cell));
		buf_free(&b);
	}
}

Test(roster_csv, quotes_cells_with_commas_and_quotes)
{
	buf b = {0};
	rcsv_put_cell(&b, "a,b", 1);
	rcsv_put_cell(&b, "say \"x\"", 0);
	cr_assert_str_eq(b.p, "\"a,b\",\"say \"\"x\"\"\"");
	buf_free(&b);
}

Test(roster_csv, utf8_checker_finds_overlongs_and_surrogates)
{
	cr_assert_eq(rcsv_utf8_invalid((const unsigned char *)"abc", 3), -1);
	cr_assert_eq(rcsv_utf8_invalid((const unsigned char *)"\xc0\xaf", 2), 0);
	cr_assert_eq(rcsv_utf8_invalid((const unsigned char *)"a\xed\xa0\x80", 4), 1);
	cr_assert_eq(rcsv_utf8_invalid((const unsigned char *)"\xe3\x81", 2), 0);
	cr_assert_eq(rcsv_utf8_invalid((const unsigned char *)"\xe3\x81\x82", 3), -1);
}

Test(roster_csv, refuses_a_nul_byte_on_its_line)
{
	const char t[] = "sourcedId,givenName\nu1,a\nnultest\0-evil-suffix,b\n";
	struct rows r;
	struct rcsv_error e;
	cr_assert_eq(parse(t, sizeof t - 1, &r, &e, NULL), -1);
	cr_assert_str_eq(e.code, "CSV-ENC-003");
	cr_assert(strstr(e.msg_en, "NUL") != NULL, "%s", e.msg_en);
	cr_assert_eq(e.line, 3);
}
