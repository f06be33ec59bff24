/* Login cards as a PDF (A4, two columns of five cards, cut lines dashed): name and kana in Japanese, the class, the
 * sign-in code, the sign-in address and a QR code drawn as filled rectangles. A small PDF writer, no library.
 *
 * Japanese text uses the PDF standard CJK font HeiseiKakuGo-W5 (Adobe-Japan1, encoding UniJIS-UCS2-H), not
 * embedded: every PDF viewer used in Japan supplies it (Acrobat, pdf.js, PDFium, poppler substitute a Gothic face).
 * A ToUnicode map keeps the text searchable and extractable. Characters outside the BMP print as 〓. No HTTP. */
#ifndef RS_SIGNIN_PDF_H
#define RS_SIGNIN_PDF_H
#include "arena.h"

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
/* The whole document into out. 0 ok, -1 when a QR code cannot be made (text too long). */
int signin_cards_pdf(buf *out, const struct signin_pdf_labels *l, const struct signin_pdf_card *cards, int n);
#endif
