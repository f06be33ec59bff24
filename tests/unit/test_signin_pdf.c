/* Login cards as PDF: the file's structure (objects where the xref says, pages of ten), Japanese text as UCS-2
 * for the standard CJK font or CIDs of an embedded subset, Latin strings escaped, QR codes drawn. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "signin_pdf.h"

static const struct signin_pdf_labels L = {"第一小学校 3年1組", "ログインコード", "https://example.jp/login/code (tablet)",
					   "有効期限 2026年12月31日"};

static buf make(int n, const char *name)
{
	struct signin_pdf_card *c = calloc((size_t)n, sizeof *c);
	for (int i = 0; i < n; i++) c[i] = (struct signin_pdf_card){name, "やまだ たろう", "K7MP-3QXA", "https://example.jp/login/code#K7MP3QXA"};
	buf b = {0};
	cr_assert_eq(signin_cards_pdf(&b, &L, c, n, NULL), 0);
	free(c);
	return b;
}

Test(signin_pdf, every_xref_offset_points_at_its_object_and_the_trailer_at_the_xref)
{
	buf b = make(11, "山田 太郎");
	cr_assert_eq(strncmp(b.p, "%PDF-1.4\n", 9), 0);
	cr_assert(strstr(b.p, "/Count 2 "), "eleven cards make two pages");
	const char *sx = strstr(b.p, "startxref\n");
	cr_assert_not_null(sx);
	size_t xref = strtoul(sx + 10, NULL, 10);
	cr_assert_eq(strncmp(b.p + xref, "xref\n0 ", 7), 0, "startxref points at the table");
	int n = atoi(b.p + xref + 7);
	cr_assert_eq(n, 9 + 1 + 2 * 2, "fixed objects + two pages with their contents");
	const char *row = strchr(b.p + xref + 5, '\n') + 1 + 20;   /* after the free entry */
	for (int i = 1; i < n; i++, row += 20) {
		size_t off = strtoul(row, NULL, 10);
		char want[24];
		snprintf(want, sizeof want, "%d 0 obj\n", i);
		cr_assert_eq(strncmp(b.p + off, want, strlen(want)), 0, "object %d at %zu", i, off);
	}
	cr_assert(strstr(b.p, "%%EOF\n"));
	buf_free(&b);
}

Test(signin_pdf, japanese_is_ucs2_for_the_cjk_font_and_latin_strings_are_escaped)
{
	buf b = make(1, "山田 𠮷子");
	cr_assert(strstr(b.p, "/Encoding /UniJIS-UCS2-H"), "standard CJK encoding");
	cr_assert(strstr(b.p, "/Ordering (Japan1)"));
	cr_assert(strstr(b.p, "<5C717530002030135B50>"), "山田 then a space; 𠮷 (outside UCS-2) prints as 〓");
	cr_assert(strstr(b.p, "(K7MP-3QXA) Tj"), "the code in Courier");
	cr_assert(strstr(b.p, "\\(tablet\\)"), "parentheses escaped");
	cr_assert(strstr(b.p, "/ToUnicode"), "searchable text");
	cr_assert(strstr(b.p, " re\n"), "QR modules drawn");
	buf_free(&b);
}

Test(signin_pdf, a_qr_text_too_long_to_encode_is_an_error_not_a_broken_file)
{
	char *big = malloc(8000);
	memset(big, 'a', 7999);
	big[7999] = 0;
	struct signin_pdf_card c = {"名前", "", "K7MP-3QXA", big};
	buf b = {0};
	cr_assert_eq(signin_cards_pdf(&b, &L, &c, 1, NULL), -1);
	buf_free(&b);
	free(big);
}

Test(signin_pdf, with_a_font_the_characters_used_are_embedded_as_a_subset)
{
	struct ttf_font f;
	cr_assert_eq(ttf_load(&f, "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"), 0, "scripts/deps.sh installs IPA Gothic");
	struct signin_pdf_card c = {"山田 𠮷子", "やまだ", "K7MP-3QXA", "https://example.jp/login/code#K7MP3QXA"};
	buf b = {0};
	cr_assert_eq(signin_cards_pdf(&b, &L, &c, 1, &f), 0);
	cr_assert(strstr(b.p, "/Encoding /Identity-H") && strstr(b.p, "/Subtype /CIDFontType2") && strstr(b.p, "/FontFile2 9 0 R"));
	cr_assert(strstr(b.p, "/CIDToGIDMap /Identity"));
	cr_assert_null(strstr(b.p, "HeiseiKakuGo"), "no font left for the viewer to supply");
	/* CIDs in the order of first use: the heading 第一小学校 3年1組 comes first */
	cr_assert(strstr(b.p, "<000100020003000400050006000700080009000A> Tj"), "the heading as CIDs 1-10");
	cr_assert(strstr(b.p, "<0001> <7B2C>"), "ToUnicode: CID 1 is 第");
	cr_assert(strstr(b.p, "<D842DFB7>"), "𠮷, outside the BMP, is still extracted as itself");
	cr_assert(strstr(b.p, "/Length1 "), "the font program's own length");
	buf_free(&b);
	ttf_close(&f);
}
