/* Login cards as a PDF (A4, two columns of five cards, cut lines dashed): name and kana in Japanese, the class, the
 * sign-in code, the sign-in address and a QR code drawn as filled rectangles. A small PDF writer, no library.
 *
 * Japanese text is set in a subset of a TrueType font embedded in the file (ttf_subset.c: only the characters the
 * document uses, as CIDs in the order of first use, Identity-H), so every viewer and printer shows the same faces.
 * Without a usable font it names the PDF standard CJK font HeiseiKakuGo-W5 instead (Adobe-Japan1, UniJIS-UCS2-H,
 * not embedded: Acrobat, pdf.js, PDFium and poppler substitute a Gothic face; characters outside the BMP print as
 * 〓). Either way a ToUnicode map keeps the text searchable and extractable. No HTTP. */
#ifndef RS_SIGNIN_PDF_H
#define RS_SIGNIN_PDF_H
#include "arena.h"
#include "ttf_subset.h"

struct signin_pdf_card {
	const char *name;   /* kanji, UTF-8 */
	const char *kana;   /* may be empty */
	const char *code;   /* "XXXX-XXXX" */
	const char *qr;     /* the text of the QR code (sign-in URL with the code) */
};
struct signin_pdf_labels {
	const char *heading;    /* school and class, printed at the top of each card */
	const char *code_label; /* "ログインコード" */
	const char *url;        /* the sign-in address printed in full */
	const char *expires;    /* "有効期限 2026年12月31日" */
};
#define SIGNIN_PDF_PER_PAGE 10
/* The whole document into out, its Japanese text in font (embedded) or, when font is NULL, in the standard font.
 * 0 ok, -1 when a QR code cannot be made (text too long) or the font cannot be subset. */
int signin_cards_pdf(buf *out, const struct signin_pdf_labels *l, const struct signin_pdf_card *cards, int n,
		     const struct ttf_font *font);
#endif
