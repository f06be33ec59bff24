/* libcsv streaming reader with limits. Chunks of 16 KiB go into csv_parse; after each chunk the partial field
 * is measured so a 10 MB field is refused after at most one chunk of overshoot. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "roster_csv.h"

const struct rcsv_limits rcsv_default_limits = { .max_field = 65536, .max_cols = 256, .max_rows = 10000000 };

#define RC_CHUNK 16384

struct rc_state {
	const struct rcsv_limits *lim;
	rcsv_row_fn row;
	void *ud;
	struct rcsv_error *err;
	char *data;          /* field bytes of the current record, NUL-separated */
	size_t len, cap;
	size_t *offs, *lens;
	char **ptrs;
	int nf, capf;
	long line, next_line, rows;
	int failed, stopped;
};

static void set_err(struct rc_state *s, long line, const char *code, const char *en, const char *ja)
{
	if (s->failed)
		return;
	s->failed = 1;
	s->err->line = line;
	snprintf(s->err->code, sizeof s->err->code, "%s", code);
	snprintf(s->err->msg_en, sizeof s->err->msg_en, "%s", en);
	snprintf(s->err->msg_ja, sizeof s->err->msg_ja, "%s", ja);
}

long rcsv_utf8_invalid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int k;
		unsigned cp;
		if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
		else return (long)i;
		for (int j = 1; j <= k; j++) {
			if (i + (size_t)j >= n || (s[i + j] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return (long)i;
		i += (size_t)k + 1;
	}
	return -1;
}

const char *rcsv_guess_encoding(const unsigned char *s, size_t n)
{
	int euc = 1, sjis = 1, multi = 0;
	for (size_t i = 0; i < n && euc; i++) {
		if (s[i] < 0x80)
			continue;
		if ((s[i] == 0x8e || (s[i] >= 0xa1 && s[i] <= 0xfe)) && i + 1 < n && s[i + 1] >= 0xa1 && s[i + 1] <= 0xfe) {
			i++;
			multi++;
		} else {
			euc = 0;
		}
	}
	if (euc && multi)
		return "EUC-JP";
	multi = 0;
	for (size_t i = 0; i < n && sjis; i++) {
		unsigned char c = s[i];
		if (c < 0x80 || (c >= 0xa1 && c <= 0xdf)) {
			multi += c >= 0xa1;
			continue;
		}
		if (((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) && i + 1 < n &&
		    ((s[i + 1] >= 0x40 && s[i + 1] <= 0x7e) || (s[i + 1] >= 0x80 && s[i + 1] <= 0xfc))) {
			i++;
			multi++;
		} else {
			sjis = 0;
		}
	}
	return sjis && multi ? "Shift_JIS" : NULL;
}

static void on_field(void *f, size_t n, void *ud)
{
	struct rc_state *s = ud;
	if (s->failed || s->stopped)
		return;
	if (s->nf == 0)
		s->line = s->next_line;
	if (n > s->lim->max_field) {
		char en[160], ja[160];
		snprintf(en, sizeof en, "field %d is larger than the limit of %zu bytes", s->nf + 1, s->lim->max_field);
		snprintf(ja, sizeof ja, "%d 列目の値が上限 %zu バイトを超えています", s->nf + 1, s->lim->max_field);
		set_err(s, s->line, "CSV-SIZE-001", en, ja);
		return;
	}
	if (s->nf >= s->lim->max_cols) {
		char en[120], ja[120];
		snprintf(en, sizeof en, "more than %d columns in one record", s->lim->max_cols);
		snprintf(ja, sizeof ja, "1 行の列数が上限 %d を超えています", s->lim->max_cols);
		set_err(s, s->line, "CSV-SIZE-002", en, ja);
		return;
	}
	const unsigned char *p = f ? f : (const unsigned char *)"";
	/* a NUL would end the value wherever it is read as a C string: "a\0b" stored as "a" */
	if (memchr(p, 0, n)) {
		char en[120], ja[120];
		snprintf(en, sizeof en, "field %d contains a NUL byte (0x00)", s->nf + 1);
		snprintf(ja, sizeof ja, "%d 列目に NUL バイト (0x00) が含まれています", s->nf + 1);
		set_err(s, s->line, "CSV-ENC-003", en, ja);
		return;
	}
	if (rcsv_utf8_invalid(p, n) >= 0) {
		const char *enc = rcsv_guess_encoding(p, n);
		char en[320], ja[320];
		if (enc) {
			snprintf(en, sizeof en, "the file is not UTF-8: the bytes look like %s. Save the file as UTF-8 "
				 "(with or without BOM) and upload it again", enc);
			snprintf(ja, sizeof ja, "ファイルが UTF-8 ではありません（%s のようです）。UTF-8（BOM 有無どちらも可）で"
				 "保存し直してからアップロードしてください", enc);
		} else {
			snprintf(en, sizeof en, "invalid UTF-8 in field %d; the file must be UTF-8", s->nf + 1);
			snprintf(ja, sizeof ja, "%d 列目に不正な UTF-8 バイト列があります。ファイルは UTF-8 にしてください", s->nf + 1);
		}
		set_err(s, s->line, "CSV-ENC-001", en, ja);
		return;
	}
	if (s->nf == s->capf) {
		int c = s->capf ? s->capf * 2 : 32;
		s->offs = realloc(s->offs, (size_t)c * sizeof *s->offs);
		s->lens = realloc(s->lens, (size_t)c * sizeof *s->lens);
		s->ptrs = realloc(s->ptrs, (size_t)c * sizeof *s->ptrs);
		if (!s->offs || !s->lens || !s->ptrs)
			abort();
		s->capf = c;
	}
	if (s->len + n + 1 > s->cap) {
		size_t c = s->cap ? s->cap : 4096;
		while (c < s->len + n + 1)
			c *= 2;
		s->data = realloc(s->data, c);
		if (!s->data)
			abort();
		s->cap = c;
	}
	memcpy(s->data + s->len, p, n);
	s->data[s->len + n] = 0;
	s->offs[s->nf] = s->len;
	s->lens[s->nf] = n;
	s->len += n + 1;
	s->nf++;
	/* quoted newlines move the physical line of the next record */
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			s->next_line++;
}

static void on_row(int c, void *ud)
{
	struct rc_state *s = ud;
	(void)c;
	if (s->failed || s->stopped) {
		s->nf = 0;
		s->len = 0;
		return;
	}
	if (s->nf == 0)
		s->line = s->next_line;
	s->next_line++;
	if (++s->rows > s->lim->max_rows) {
		set_err(s, s->line, "CSV-SIZE-003", "too many records in the file", "ファイルの行数が上限を超えています");
		return;
	}
	for (int i = 0; i < s->nf; i++)
		s->ptrs[i] = s->data + s->offs[i];
	if (s->row(s->ud, s->line, s->nf, s->ptrs, s->lens) < 0)
		s->stopped = 1;
	s->nf = 0;
	s->len = 0;
}

static int keep_spaces(unsigned char c) { (void)c; return 0; }

int rcsv_parse(const struct rcsv_limits *lim, rcsv_read_fn rd, void *src, rcsv_row_fn row, void *ud,
	       struct rcsv_error *err)
{
	struct csv_parser p;
	struct rc_state s = { .lim = lim ? lim : &rcsv_default_limits, .row = row, .ud = ud, .err = err,
			      .line = 1, .next_line = 1 };
	unsigned char chunk[RC_CHUNK];
	int first = 1, rc = -1;
	memset(err, 0, sizeof *err);
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		set_err(&s, 0, "CSV-IO-001", "out of memory", "メモリ不足です");
		return -1;
	}
	csv_set_space_func(&p, keep_spaces);
	for (;;) {
		ssize_t n = rd(src, chunk, sizeof chunk);
		if (n < 0) {
			set_err(&s, s.next_line, "CSV-IO-001", "the file could not be read (truncated or corrupt)",
				"ファイルを読み込めません（途中で切れているか壊れています）");
			goto out;
		}
		if (n == 0)
			break;
		unsigned char *b = chunk;
		if (first) {
			first = 0;
			if (n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff))) {
				set_err(&s, 1, "CSV-ENC-002", "the file is UTF-16; save it as UTF-8",
					"ファイルが UTF-16 です。UTF-8 で保存してください");
				goto out;
			}
			if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
				b += 3;
				n -= 3;
			}
		}
		if (csv_parse(&p, b, (size_t)n, on_field, on_row, &s) != (size_t)n && !s.failed) {
			set_err(&s, s.next_line, "CSV-QUOTE-001",
				"malformed quotes: a double quote inside an unquoted field or text after a closing quote",
				"引用符の誤り：引用符で囲まれていない値の中に \" があるか、閉じ引用符の後に文字があります");
		}
		if (s.failed || s.stopped)
			break;
		if (p.entry_pos > s.lim->max_field) {
			char en[200], ja[200];
			if (p.quoted) {
				snprintf(en, sizeof en, "a quoted field is larger than %zu bytes: probably an unterminated "
					 "quote", s.lim->max_field);
				snprintf(ja, sizeof ja, "引用符で囲まれた値が %zu バイトを超えています。閉じ引用符が無い可能性が"
					 "あります", s.lim->max_field);
			} else {
				snprintf(en, sizeof en, "a field is larger than the limit of %zu bytes", s.lim->max_field);
				snprintf(ja, sizeof ja, "値が上限 %zu バイトを超えています", s.lim->max_field);
			}
			set_err(&s, s.next_line, "CSV-SIZE-001", en, ja);
			break;
		}
	}
	if (!s.failed && !s.stopped && csv_fini(&p, on_field, on_row, &s) != 0 && !s.failed)
		set_err(&s, s.next_line, "CSV-QUOTE-002", "unterminated quoted field at the end of the file",
			"ファイル末尾で引用符が閉じられていません");
	rc = s.failed ? -1 : s.stopped ? -2 : 0;
out:
	csv_free(&p);
	free(s.data);
	free(s.offs);
	free(s.lens);
	free(s.ptrs);
	return rc;
}

ssize_t rcsv_mem_read(void *mem, void *out, size_t n)
{
	struct rcsv_mem *m = mem;
	size_t k = m->len - m->pos < n ? m->len - m->pos : n;
	memcpy(out, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static int formula_char(char c) { return c == '=' || c == '+' || c == '-' || c == '@'; }

int rcsv_needs_protect(const char *s)
{
	return s && (formula_char(s[0]) || (s[0] == '\'' && (formula_char(s[1]) || s[1] == '\'')));
}

const char *rcsv_unprotect(const char *s)
{
	if (s && s[0] == '\'' && (formula_char(s[1]) || s[1] == '\''))
		return s + 1;
	return s;
}

void rcsv_put_cell(buf *b, const char *s, int first)
{
	if (!first)
		buf_append(b, ",", 1);
	if (!s)
		return;
	int quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		buf_append(b, "\"", 1);
	if (rcsv_needs_protect(s))
		buf_append(b, "'", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_append(b, "\"", 1);
		buf_append(b, p, 1);
	}
	if (quote)
		buf_append(b, "\"", 1);
}
