/* Search text processing. Japanese has no spaces, so words cannot be split on them: every run of CJK characters
 * is indexed as overlapping character bigrams (what pg_bigm does, without an extension), other scripts as words.
 * ICU's NFKC_Casefold makes full-width/half-width and upper/lower case the same; katakana is folded to hiragana. */
#include "search_text.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include "video_srt.h"

#define WORD_MAX_BYTES 100   /* longer "words" (hashes, URLs) are cut: nobody types more of them */

/* Next code point of valid UTF-8 at *p; advances *p. */
static UChar32 next_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	UChar32 c = s[0];
	int k = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
	if (k) c &= 0x3F >> k;
	for (int i = 1; i <= k; i++) c = c << 6 | (s[i] & 0x3F);
	*p += k + 1;
	return c;
}

static UChar32 kana_fold(UChar32 c)
{
	if (c >= 0x30A1 && c <= 0x30F6) return c - 0x60;   /* ァ..ヶ -> ぁ..ゖ */
	if (c == 0x30FD || c == 0x30FE) return c - 0x60;   /* ヽヾ -> ゝゞ */
	return c;
}

char *search_norm(arena *a, const char *s, size_t n)
{
	if (!video_utf8_valid(s, n)) return NULL;
	if (!n) return arena_strdup(a, "");
	UErrorCode e = U_ZERO_ERROR;
	const UNormalizer2 *nf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_FAILURE(e)) return NULL;
	int32_t ulen = 0;
	e = U_ZERO_ERROR;
	u_strFromUTF8(NULL, 0, &ulen, s, (int32_t)n, &e);
	UChar *u = arena_alloc(a, ((size_t)ulen + 1) * sizeof(UChar));
	e = U_ZERO_ERROR;
	u_strFromUTF8(u, ulen + 1, NULL, s, (int32_t)n, &e);
	if (U_FAILURE(e)) return NULL;
	/* NFKC_Casefold may grow the text (ﾊﾟ stays 1:1, but ligatures like ㍻ expand): preflight the size */
	e = U_ZERO_ERROR;
	int32_t nlen = unorm2_normalize(nf, u, ulen, NULL, 0, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return NULL;
	UChar *v = arena_alloc(a, ((size_t)nlen + 1) * sizeof(UChar));
	e = U_ZERO_ERROR;
	unorm2_normalize(nf, u, ulen, v, nlen + 1, &e);
	if (U_FAILURE(e)) return NULL;
	for (int32_t i = 0; i < nlen; i++) v[i] = (UChar)kana_fold(v[i]);   /* kana are in the BMP */
	int32_t blen = 0;
	e = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &blen, v, nlen, &e);
	char *out = arena_alloc(a, (size_t)blen + 1);
	e = U_ZERO_ERROR;
	u_strToUTF8(out, blen + 1, NULL, v, nlen, &e);
	return U_FAILURE(e) ? NULL : out;
}

static int is_cjk(UChar32 c)
{
	return (c >= 0x3041 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF) ||
	       (c >= 0xAC00 && c <= 0xD7AF) || c == 0x3005 || c == 0x3006 || c == 0x3007;
}

static int is_word(UChar32 c)
{
	if (c < 0x80) return isalnum((int)c);
	int8_t t = u_charType(c);
	return u_isalnum(c) || t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK;
}

enum { RUN_WORD = 1, RUN_CJK = 2 };
typedef void (*run_fn)(void *ctx, int kind, const char *p, size_t len, int nchars);

/* Split normalised text into runs of word characters and runs of CJK characters; everything else separates. */
static void runs(const char *s, run_fn fn, void *ctx)
{
	const char *p = s, *start = NULL;
	int kind = 0, nch = 0;
	while (*p) {
		const char *at = p;
		UChar32 c = next_cp(&p);
		int k = is_cjk(c) ? RUN_CJK : is_word(c) ? RUN_WORD : 0;
		if (k != kind) {
			if (kind) fn(ctx, kind, start, (size_t)(at - start), nch);
			kind = k;
			start = at;
			nch = 0;
		}
		nch++;
	}
	if (kind) fn(ctx, kind, start, (size_t)(p - start), nch);
}

/* Byte length of the first n characters of p. */
static size_t cp_bytes(const char *p, int n)
{
	const char *q = p;
	while (n-- > 0 && *q) next_cp(&q);
	return (size_t)(q - p);
}

static void quote_lexeme(buf *b, const char *p, size_t n)
{
	buf_puts(b, "'");
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\'') buf_puts(b, "''");
		else if (p[i] == '\\') buf_puts(b, "\\\\");
		else buf_append(b, p + i, 1);
	}
	buf_puts(b, "'");
}

/* ---- documents ---- */

void search_doc_init(search_doc *d, size_t max_bytes)
{
	memset(d, 0, sizeof *d);
	d->pos = 1;
	d->max_bytes = max_bytes;
	buf_puts(&d->out, "");
}

struct doc_ctx { search_doc *d; char weight; };

static void doc_lexeme(struct doc_ctx *c, const char *p, size_t n, int pos)
{
	search_doc *d = c->d;
	if (d->out.len + n + 16 > d->max_bytes) return;
	if (d->out.len) buf_puts(&d->out, " ");
	quote_lexeme(&d->out, p, n);
	buf_printf(&d->out, ":%d%c", pos > SEARCH_MAX_POS ? SEARCH_MAX_POS : pos, c->weight);
}

static void doc_run(void *ctx, int kind, const char *p, size_t len, int nch)
{
	struct doc_ctx *c = ctx;
	search_doc *d = c->d;
	if (kind == RUN_WORD) {
		size_t n = len;
		if (n > WORD_MAX_BYTES) {   /* cut on a character boundary */
			const char *q = p, *r = p;
			while ((size_t)(r - p) <= WORD_MAX_BYTES) { q = r; next_cp(&r); }
			n = (size_t)(q - p);
		}
		doc_lexeme(c, p, n, d->pos++);
		return;
	}
	const char *q = p;
	for (int i = 0; i < nch; i++) {
		size_t one = cp_bytes(q, 1);
		if (i + 1 < nch) doc_lexeme(c, q, one + cp_bytes(q + one, 1), d->pos + i);
		else doc_lexeme(c, q, one, d->pos + i);   /* the run's last character alone */
		q += one;
	}
	d->pos += nch;
}

void search_doc_add(search_doc *d, arena *a, const char *text, char weight)
{
	if (!text || !*text) return;
	char *n = search_norm(a, text, strlen(text));
	if (!n) return;
	struct doc_ctx c = {d, weight};
	runs(n, doc_run, &c);
	d->pos++;   /* a gap: a phrase never runs from one field into the next */
}

const char *search_doc_tsvector(search_doc *d) { return d->out.p ? d->out.p : ""; }

void search_doc_free(search_doc *d) { buf_free(&d->out); }

/* ---- queries ---- */

struct part { int kind, nch; const char *p; size_t len; };
struct query_ctx { arena *a; struct part parts[SEARCH_MAX_TERMS + 1]; int n, too_many; };

static void query_run(void *ctx, int kind, const char *p, size_t len, int nch)
{
	struct query_ctx *c = ctx;
	for (int i = 0; i < c->n; i++)
		if (c->parts[i].len == len && !memcmp(c->parts[i].p, p, len)) return;   /* the same part twice */
	if (c->n == SEARCH_MAX_TERMS) { c->too_many = 1; return; }
	c->parts[c->n++] = (struct part){kind, nch, p, len};
}

static void part_tsquery(buf *b, const struct part *t, int prefix)
{
	if (t->kind == RUN_WORD) {
		quote_lexeme(b, t->p, t->len);
		if (prefix || t->nch >= 3) buf_puts(b, ":*");
		return;
	}
	if (t->nch == 1) { quote_lexeme(b, t->p, t->len); buf_puts(b, ":*"); return; }
	/* 2 characters: one bigram; more: the phrase of consecutive bigrams */
	if (t->nch > 2) buf_puts(b, "(");
	const char *q = t->p;
	for (int i = 0; i + 1 < t->nch; i++) {
		size_t one = cp_bytes(q, 1);
		if (i) buf_puts(b, " <-> ");
		quote_lexeme(b, q, one + cp_bytes(q + one, 1));
		q += one;
	}
	if (t->nch > 2) buf_puts(b, ")");
}

int search_query_parse(arena *a, const char *q, search_query *out, const char **err)
{
	memset(out, 0, sizeof *out);
	size_t n = q ? strlen(q) : 0;
	if (!video_utf8_valid(q ? q : "", n)) { *err = "search_err_utf8"; return -1; }
	size_t chars = 0;
	for (size_t i = 0; i < n; i++) chars += ((unsigned char)q[i] & 0xC0) != 0x80;
	if (chars > SEARCH_QUERY_MAX_CHARS) { *err = "search_err_too_long"; return -1; }
	char *norm = search_norm(a, q ? q : "", n);
	if (!norm) { *err = "search_err_utf8"; return -1; }
	struct query_ctx c = {.a = a};
	runs(norm, query_run, &c);
	if (c.too_many) { *err = "search_err_too_many_terms"; return -1; }
	if (!c.n) return 0;
	buf b = {0}, pb = {0};
	for (int i = 0; i < c.n; i++) {
		if (i) { buf_puts(&b, " & "); buf_puts(&pb, " & "); }
		part_tsquery(&b, &c.parts[i], 0);
		part_tsquery(&pb, &c.parts[i], i == c.n - 1);
		out->terms[i] = arena_strndup(a, c.parts[i].p, c.parts[i].len);
	}
	out->nterms = c.n;
	out->tsquery = arena_strdup(a, b.p);
	out->prefix_tsquery = arena_strdup(a, pb.p);
	buf_free(&b);
	buf_free(&pb);
	return 0;
}

/* ---- highlighting ---- */

int search_highlight(arena *a, const char *text, const search_query *q, int window, search_seg *segs, int max)
{
	if (!text || max < 1) return 0;
	size_t n = strlen(text);
	if (!video_utf8_valid(text, n)) return 0;
	/* normalise one character at a time, so each normalised byte maps back to an original character */
	int ncp = 0;
	for (size_t i = 0; i < n; i++) ncp += ((unsigned char)text[i] & 0xC0) != 0x80;
	const char **cp_at = arena_alloc(a, ((size_t)ncp + 1) * sizeof *cp_at);
	char *hit = arena_alloc(a, (size_t)ncp + 1);
	buf norm = {0};
	int *owner = NULL;
	size_t owner_cap = 0;
	const char *p = text;
	for (int i = 0; i < ncp; i++) {
		cp_at[i] = p;
		const char *s = p;
		next_cp(&p);
		char *one = search_norm(a, s, (size_t)(p - s));
		size_t ol = one ? strlen(one) : 0;
		if (norm.len + ol + 1 > owner_cap) {
			size_t nc = (norm.len + ol + 1) * 2;
			int *no = arena_alloc(a, nc * sizeof *no);
			if (owner) memcpy(no, owner, norm.len * sizeof *no);
			owner = no;
			owner_cap = nc;
		}
		for (size_t k = 0; k < ol; k++) owner[norm.len + k] = i;
		if (ol) buf_append(&norm, one, ol);
	}
	cp_at[ncp] = p;
	int first = -1;
	for (int t = 0; q && t < q->nterms && norm.p; t++) {
		size_t tl = strlen(q->terms[t]);
		for (const char *f = norm.p; tl && (f = strstr(f, q->terms[t])); f++) {
			size_t off = (size_t)(f - norm.p);
			for (size_t k = off; k < off + tl; k++) hit[owner[k]] = 1;
			if (first < 0 || owner[off] < first) first = owner[off];
		}
	}
	buf_free(&norm);
	int from = 0, to = ncp;
	if (window > 0 && ncp > window) {
		int h = first < 0 ? 0 : first;
		from = h > window / 3 ? h - window / 3 : 0;
		to = from + window < ncp ? from + window : ncp;
		if (to - from < window) from = to - window > 0 ? to - window : 0;
	}
	int ns = 0;
	if (from > 0 && ns < max) segs[ns++] = (search_seg){"…", 0};
	for (int i = from; i < to && ns < max;) {
		int j = i;
		while (j < to && hit[j] == hit[i]) j++;
		segs[ns++] = (search_seg){arena_strndup(a, cp_at[i], (size_t)(cp_at[j] - cp_at[i])), hit[i]};
		i = j;
	}
	if (to < ncp && ns < max) segs[ns++] = (search_seg){"…", 0};
	return ns;
}

/* ---- captions ---- */

/* "HH:MM:SS.mmm" (the form video_caption_to_vtt writes) -> ms, or -1 */
static long vtt_ms(const char *s)
{
	int h, m, sec, ms;
	/* bounded like a real timestamp: a crafted file's huge fields would overflow the sum */
	if (sscanf(s, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4 || h < 0 || h > 99999 || m < 0 || m > 59 || sec < 0 ||
	    sec > 59 || ms < 0 || ms > 999)
		return -1;
	return ((long)h * 3600 + m * 60 + sec) * 1000L + ms;
}

/* Cue text for search and display: tags (<b>, <v Name>, <00:01.000>) dropped, the common entities decoded. */
static void cue_text(buf *b, const char *p, size_t n)
{
	static const struct { const char *e, *c; } ent[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&nbsp;", " "},
							    {"&lrm;", ""}, {"&rlm;", ""}};
	for (size_t i = 0; i < n;) {
		if (p[i] == '<') {
			while (i < n && p[i] != '>') i++;
			i++;
			continue;
		}
		if (p[i] == '&') {
			size_t k;
			for (k = 0; k < sizeof ent / sizeof ent[0]; k++) {
				size_t el = strlen(ent[k].e);
				if (i + el <= n && !memcmp(p + i, ent[k].e, el)) { buf_puts(b, ent[k].c); i += el; break; }
			}
			if (k < sizeof ent / sizeof ent[0]) continue;
		}
		buf_append(b, p + i, 1);
		i++;
	}
}

int search_vtt_cues(arena *a, const char *vtt, size_t n, search_cue *cues, int max)
{
	int nc = 0;
	size_t i = 0;
	if (!vtt) return 0;
	long start = -1, end = -1;
	buf text = {0};
	while (i <= n && nc < max) {
		size_t l = 0;
		while (i + l < n && vtt[i + l] != '\n' && vtt[i + l] != '\r') l++;
		const char *line = vtt + i;
		int last = i + l >= n;
		i += l;
		if (i < n && vtt[i] == '\r') i++;
		if (i < n && vtt[i] == '\n') i++;
		char tl[64] = "";
		if (l > 0 && l < sizeof tl) { memcpy(tl, line, l); tl[l] = 0; }
		char *arrow = strstr(tl, "-->");
		if (arrow) {
			start = vtt_ms(tl);
			end = vtt_ms(arrow + 3 + strspn(arrow + 3, " \t"));
			buf_reset(&text);
		} else if (l > 0 && start >= 0) {
			if (text.len) buf_puts(&text, " ");
			cue_text(&text, line, l);
		}
		if ((l == 0 || last) && start >= 0) {   /* a blank line (or the end) closes the cue */
			if (text.len && end >= start) cues[nc++] = (search_cue){start, end, arena_strdup(a, text.p)};
			start = -1;
			buf_reset(&text);
		}
		if (last) break;
	}
	buf_free(&text);
	return nc;
}
