/* Login cards as PDF, see signin_pdf.h. Objects are written in order and their byte offsets kept for the xref
 * table; each page is one content stream (uncompressed: a class is a few pages and the text stays greppable). */
#include "signin_pdf.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qrencode.h>
#include <zlib.h>

/* A4 in points, 10 mm margins, 2 × 5 cards of 54 mm */
#define PAGE_W 595.28
#define PAGE_H 841.89
#define MARGIN 28.35
#define CARD_H 153.07
#define CARD_W ((PAGE_W - 2 * MARGIN) / 2)
#define QR_SIZE 96.0

/* fixed objects: 1 catalog, 2 pages, 3 Type0 font, 4 CIDFont, 5 descriptor, 6 ToUnicode, 7 Helvetica,
 * 8 Courier-Bold, 9 the embedded font program (null when the standard font is used); then per page i: 10 + 2i page,
 * 11 + 2i content */
enum { OBJ_CATALOG = 1, OBJ_PAGES, OBJ_CJK, OBJ_CID, OBJ_DESC, OBJ_TOUNI, OBJ_HELV, OBJ_COUR, OBJ_FONTFILE, OBJ_FIRST_PAGE };

#define CJK_MAX 4096   /* distinct characters in one document; a class's names use a few hundred */

/* The Japanese font of one document. Embedded: each distinct character gets a CID, the CID is the glyph's number
 * in the subset font (glyphs[cid] in the full one; CID 0 is .notdef). Standard font: codes are UCS-2. */
struct cjk {
	const struct ttf_font *font;   /* NULL: the standard font, not embedded */
	uint32_t cp[CJK_MAX];          /* the character of each CID */
	unsigned glyphs[CJK_MAX + 64]; /* room for the parts of composite glyphs */
	int n;
};

struct pdf { buf *out; size_t *off; int nobj; };

static void obj_begin(struct pdf *p, int id)
{
	p->off[id] = p->out->len;
	buf_printf(p->out, "%d 0 obj\n", id);
}

static void stream_obj(struct pdf *p, int id, const buf *s)
{
	obj_begin(p, id);
	buf_printf(p->out, "<< /Length %zu >>\nstream\n", s->len);
	buf_append(p->out, s->p ? s->p : "", s->len);
	buf_puts(p->out, "\nendstream\nendobj\n");
}

/* next code point of UTF-8 text (advances *s); invalid bytes become U+FFFD */
static uint32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t c = *p++;
	int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	if (c >= 0x80 && !more) { *s = p; return 0xFFFD; }
	if (more) c &= 0x3F >> more;
	for (int i = 0; i < more; i++) {
		if ((*p & 0xC0) != 0x80) { *s = p; return 0xFFFD; }
		c = (c << 6) | (*p++ & 0x3F);
	}
	*s = p;
	return c;
}

/* a printable code: what cannot be shown (outside UCS-2 for the standard font, controls) becomes 〓 */
static uint32_t printable(const struct cjk *k, uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0x3013;
	return !k->font && cp > 0xFFFF ? 0x3013 : cp;
}

/* the CID of a character in an embedded font, given one on first use (0 when the document has too many) */
static unsigned cid_of(struct cjk *k, uint32_t cp)
{
	for (int i = 1; i < k->n; i++) if (k->cp[i] == cp) return (unsigned)i;
	if (k->n >= CJK_MAX) return 0;
	unsigned g = ttf_glyph(k->font, cp);
	if (!g) g = ttf_glyph(k->font, 0x3013);   /* a character the font lacks: 〓, still extracted as itself */
	k->cp[k->n] = cp;
	k->glyphs[k->n] = g;
	return (unsigned)k->n++;
}

/* width of text in 1/1000 em: the embedded font's advances, or half width for ASCII and full for the rest (the
 * standard font's /W array below) */
static double cjk_units(struct cjk *k, const char *t)
{
	double u = 0;
	for (const unsigned char *s = (const unsigned char *)t; *s;) {
		uint32_t cp = printable(k, utf8_next(&s));
		u += k->font ? ttf_advance_1000(k->font, k->glyphs[cid_of(k, cp)]) : cp < 0x80 ? 500 : 1000;
	}
	return u;
}

/* Japanese text at (x, y), shrunk from size until it fits in width */
static void cjk_text(struct cjk *k, buf *c, double x, double y, double size, double width, const char *t)
{
	if (!t || !*t) return;
	double u = cjk_units(k, t);
	if (u * size / 1000 > width) size = width * 1000 / u;
	buf_printf(c, "BT /F1 %.2f Tf %.2f %.2f Td <", size, x, y);
	for (const unsigned char *s = (const unsigned char *)t; *s;) {
		uint32_t cp = printable(k, utf8_next(&s));
		buf_printf(c, "%04X", k->font ? cid_of(k, cp) : (unsigned)cp);
	}
	buf_puts(c, "> Tj ET\n");
}

/* Latin text in a base-14 font (F2 Helvetica, F3 Courier-Bold) as a literal string; non-ASCII becomes '?' */
static void latin_text(buf *c, const char *font, double avg, double x, double y, double size, double width, const char *t)
{
	size_t n = strlen(t);
	if (n * avg * size / 1000 > width) size = width * 1000 / ((double)n * avg);
	buf_printf(c, "BT /%s %.2f Tf %.2f %.2f Td (", font, size, x, y);
	for (const char *s = t; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '(' || ch == ')' || ch == '\\') buf_printf(c, "\\%c", ch);
		else buf_printf(c, "%c", ch >= 0x20 && ch < 0x7F ? ch : '?');
	}
	buf_puts(c, ") Tj ET\n");
}

/* QR code with a 4-module quiet zone as filled rectangles, one per horizontal run of dark modules */
static int qr_draw(buf *c, const char *text, double x, double y, double size)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q) return -1;
	double m = size / (q->width + 8);
	buf_puts(c, "0 g\n");
	for (int row = 0; row < q->width; row++)
		for (int col = 0; col < q->width;) {
			if (!(q->data[row * q->width + col] & 1)) { col++; continue; }
			int start = col;
			while (col < q->width && (q->data[row * q->width + col] & 1)) col++;
			buf_printf(c, "%.3f %.3f %.3f %.3f re\n", x + (start + 4) * m, y + size - (row + 5) * m, (col - start) * m, m);
		}
	buf_puts(c, "f\n");
	QRcode_free(q);
	return 0;
}

static int card(struct cjk *j, buf *c, const struct signin_pdf_labels *l, const struct signin_pdf_card *k, double x, double y)
{
	buf_printf(c, "q 0.5 w 0.55 G [4 3] 0 d %.2f %.2f %.2f %.2f re S Q\n", x, y, CARD_W, CARD_H);
	double tx = x + 12, tw = CARD_W - QR_SIZE - 30, top = y + CARD_H;
	buf_puts(c, "0.27 g\n");
	cjk_text(j, c, tx, top - 20, 8, tw, l->heading);
	cjk_text(j, c, tx, top - 38, 9, tw, k->kana);
	buf_puts(c, "0 g\n");
	cjk_text(j, c, tx, top - 62, 18, tw, k->name);
	buf_puts(c, "0.27 g\n");
	cjk_text(j, c, tx, top - 86, 8, tw, l->code_label);
	buf_puts(c, "0 g\n");
	latin_text(c, "F3", 600, tx, top - 108, 20, tw, k->code);
	buf_puts(c, "0.27 g\n");
	latin_text(c, "F2", 556, tx, top - 126, 7, tw, l->url);
	cjk_text(j, c, tx, top - 141, 8, tw, l->expires);
	return qr_draw(c, k->qr, x + CARD_W - QR_SIZE - 10, y + (CARD_H - QR_SIZE) / 2, QR_SIZE);
}

/* ToUnicode for UniJIS-UCS2-H: the codes are UCS-2 already, so every range maps to itself (bfrange entries may
 * only vary in the last byte, and a block holds at most 100) */
static void to_unicode(buf *s)
{
	buf_puts(s, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
		 "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
		 "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
	int hi[256], n = 0;
	for (int h = 0; h < 256; h++) if (h < 0xD8 || h > 0xDF) hi[n++] = h;
	for (int i = 0; i < n; i += 100) {
		int cnt = n - i < 100 ? n - i : 100;
		buf_printf(s, "%d beginbfrange\n", cnt);
		for (int j = i; j < i + cnt; j++) buf_printf(s, "<%02X00> <%02XFF> <%02X00>\n", hi[j], hi[j], hi[j]);
		buf_puts(s, "endbfrange\n");
	}
	buf_puts(s, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
}

/* ToUnicode for an embedded font: each CID to its character (UTF-16BE), at most 100 a block */
static void to_unicode_cids(const struct cjk *k, buf *s)
{
	buf_puts(s, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
		 "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
		 "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
	for (int i = 1; i < k->n; i += 100) {
		int cnt = k->n - i < 100 ? k->n - i : 100;
		buf_printf(s, "%d beginbfchar\n", cnt);
		for (int j = i; j < i + cnt; j++) {
			uint32_t cp = k->cp[j];
			if (cp > 0xFFFF) buf_printf(s, "<%04X> <%04X%04X>\n", j, 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF));
			else buf_printf(s, "<%04X> <%04X>\n", j, (unsigned)cp);
		}
		buf_puts(s, "endbfchar\n");
	}
	buf_puts(s, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
}

/* The standard font's objects: HeiseiKakuGo-W5, not embedded */
static void standard_font(struct pdf *p)
{
	buf *out = p->out;
	obj_begin(p, OBJ_CJK);
	buf_printf(out, "<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-H "
		   "/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>\nendobj\n", OBJ_CID, OBJ_TOUNI);
	obj_begin(p, OBJ_CID);
	buf_printf(out, "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 "
		   "/CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> /FontDescriptor %d 0 R "
		   "/DW 1000 /W [1 95 500 231 632 500] >>\nendobj\n", OBJ_DESC);
	obj_begin(p, OBJ_DESC);
	buf_puts(out, "<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 /FontBBox [-92 -250 1010 922] "
		 "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 737 /StemV 114 >>\nendobj\n");
	buf s = {0};
	to_unicode(&s);
	stream_obj(p, OBJ_TOUNI, &s);
	buf_free(&s);
	obj_begin(p, OBJ_FONTFILE);
	buf_puts(out, "null\nendobj\n");
}

/* The embedded font's objects: a subset of the characters used, compressed. -1 when the subset cannot be made. */
static int embedded_font(struct pdf *p, struct cjk *k)
{
	const struct ttf_font *f = k->font;
	int ng = k->n;
	buf ttf = {0};
	if (ttf_subset(f, k->glyphs, &ng, (int)(sizeof k->glyphs / sizeof k->glyphs[0]), &ttf) < 0) { buf_free(&ttf); return -1; }
	uLongf zlen = compressBound(ttf.len);
	unsigned char *z = malloc(zlen);
	if (!z || compress2(z, &zlen, (const unsigned char *)ttf.p, ttf.len, 9) != Z_OK) { free(z); buf_free(&ttf); return -1; }
	/* a subset is named TAG+Name, the tag six capitals that differ between subsets (PDF 32000 9.6.4) */
	uint32_t h = 2166136261u;
	for (int i = 0; i < k->n; i++) h = (h ^ k->glyphs[i]) * 16777619u;
	char name[32] = "AAAAAA+RStream-Gothic";
	for (int i = 0; i < 6; i++, h /= 26) name[i] = (char)('A' + h % 26);
	double em = 1000.0 / f->upem;
	buf *out = p->out;
	obj_begin(p, OBJ_CJK);
	buf_printf(out, "<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] "
		   "/ToUnicode %d 0 R >>\nendobj\n", name, OBJ_CID, OBJ_TOUNI);
	obj_begin(p, OBJ_CID);
	buf_printf(out, "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) "
		   "/Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /CIDToGIDMap /Identity /DW 1000 /W [0 [",
		   name, OBJ_DESC);
	for (int i = 0; i < k->n; i++) buf_printf(out, "%s%.0f", i ? " " : "", ttf_advance_1000(f, k->glyphs[i]));
	buf_puts(out, "]] >>\nendobj\n");
	obj_begin(p, OBJ_DESC);
	buf_printf(out, "<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%.0f %.0f %.0f %.0f] /ItalicAngle 0 "
		   "/Ascent %.0f /Descent %.0f /CapHeight %.0f /StemV 80 /FontFile2 %d 0 R >>\nendobj\n", name,
		   f->bbox[0] * em, f->bbox[1] * em, f->bbox[2] * em, f->bbox[3] * em, f->ascent * em, f->descent * em,
		   f->ascent * em, OBJ_FONTFILE);
	buf s = {0};
	to_unicode_cids(k, &s);
	stream_obj(p, OBJ_TOUNI, &s);
	buf_free(&s);
	obj_begin(p, OBJ_FONTFILE);
	buf_printf(out, "<< /Length %lu /Length1 %zu /Filter /FlateDecode >>\nstream\n", (unsigned long)zlen, ttf.len);
	buf_append(out, (const char *)z, zlen);
	buf_puts(out, "\nendstream\nendobj\n");
	free(z);
	buf_free(&ttf);
	return 0;
}

int signin_cards_pdf(buf *out, const struct signin_pdf_labels *l, const struct signin_pdf_card *cards, int n,
		     const struct ttf_font *font)
{
	int pages = n > 0 ? (n + SIGNIN_PDF_PER_PAGE - 1) / SIGNIN_PDF_PER_PAGE : 1;
	int nobj = OBJ_FIRST_PAGE + 2 * pages;
	struct pdf p = {out, calloc((size_t)nobj, sizeof(size_t)), nobj};
	int rc = 0;
	if (!p.off) return -1;
	/* binary comment: tells transfer tools the file is not text */
	buf_puts(out, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
	obj_begin(&p, OBJ_CATALOG);
	buf_printf(out, "<< /Type /Catalog /Pages %d 0 R /Lang (ja-JP) >>\nendobj\n", OBJ_PAGES);
	obj_begin(&p, OBJ_PAGES);
	buf_puts(out, "<< /Type /Pages /Kids [");
	for (int i = 0; i < pages; i++) buf_printf(out, " %d 0 R", OBJ_FIRST_PAGE + 2 * i);
	buf_printf(out, " ] /Count %d /MediaBox [0 0 %.2f %.2f] >>\nendobj\n", pages, PAGE_W, PAGE_H);
	struct cjk *j = calloc(1, sizeof *j);
	if (!j) { free(p.off); return -1; }
	j->font = font;
	j->n = 1;   /* CID 0: .notdef */
	obj_begin(&p, OBJ_HELV);
	buf_puts(out, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n");
	obj_begin(&p, OBJ_COUR);
	buf_puts(out, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>\nendobj\n");
	for (int pg = 0; pg < pages && !rc; pg++) {
		int pid = OBJ_FIRST_PAGE + 2 * pg;
		obj_begin(&p, pid);
		buf_printf(out, "<< /Type /Page /Parent %d 0 R /Resources << /Font << /F1 %d 0 R /F2 %d 0 R /F3 %d 0 R >> >> "
			   "/Contents %d 0 R >>\nendobj\n", OBJ_PAGES, OBJ_CJK, OBJ_HELV, OBJ_COUR, pid + 1);
		buf c = {0};
		for (int i = 0; i < SIGNIN_PDF_PER_PAGE && !rc; i++) {
			int k = pg * SIGNIN_PDF_PER_PAGE + i;
			if (k >= n) break;
			double x = MARGIN + (i % 2) * CARD_W, y = PAGE_H - MARGIN - (i / 2 + 1) * CARD_H;
			rc = card(j, &c, l, &cards[k], x, y);
		}
		stream_obj(&p, pid + 1, &c);
		buf_free(&c);
	}
	/* the fonts last: an embedded one holds the characters the pages used */
	if (!rc) {
		if (font) rc = embedded_font(&p, j);
		else standard_font(&p);
	}
	free(j);
	if (!rc) {
		size_t xref = out->len;
		buf_printf(out, "xref\n0 %d\n0000000000 65535 f \n", nobj);
		for (int i = 1; i < nobj; i++) buf_printf(out, "%010zu 00000 n \n", p.off[i]);
		buf_printf(out, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj, OBJ_CATALOG, xref);
	}
	free(p.off);
	return rc;
}
