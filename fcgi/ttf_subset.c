/* TrueType subsetting for PDF embedding, see ttf_subset.h. Every read goes through in()/u16()/u32() on a range
 * already checked against the file's length. */
#include "ttf_subset.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned u16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t u32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static int16_t s16(const unsigned char *p) { return (int16_t)u16(p); }

/* does [off, off + n) lie inside the table? */
static int in(const struct ttf_table *t, uint64_t off, uint64_t n) { return off + n <= t->len; }

static int find_tables(struct ttf_font *f)
{
	if (f->len < 12) return -1;
	uint32_t version = u32(f->data);
	if (version != 0x00010000 && version != 0x74727565) return -1;   /* TrueType outlines ('true' on old Macs) */
	unsigned ntables = u16(f->data + 4);
	if (12 + 16 * (size_t)ntables > f->len) return -1;
	static const char tags[][5] = {"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "cvt ", "fpgm", "prep"};
	struct ttf_table *slot[] = {&f->head, &f->hhea, &f->maxp, &f->hmtx, &f->loca, &f->glyf, &f->cmap, &f->cvt, &f->fpgm, &f->prep};
	for (unsigned i = 0; i < ntables; i++) {
		const unsigned char *r = f->data + 12 + 16 * i;
		uint32_t off = u32(r + 8), len = u32(r + 12);
		if ((uint64_t)off + len > f->len) return -1;
		for (size_t k = 0; k < sizeof slot / sizeof slot[0]; k++)
			if (!memcmp(r, tags[k], 4)) *slot[k] = (struct ttf_table){off, len};
	}
	return 0;
}

/* the Unicode subtable: full repertoire (3,10 format 12) if there is one, else the BMP (3,1 or 0,x format 4) */
static uint32_t pick_cmap(const struct ttf_font *f)
{
	const struct ttf_table *t = &f->cmap;
	if (!in(t, 0, 4)) return 0;
	const unsigned char *c = f->data + t->off;
	unsigned n = u16(c + 2);
	uint32_t best = 0;
	int best_rank = 0;
	for (unsigned i = 0; i < n && in(t, 4 + 8 * (uint64_t)i, 8); i++) {
		unsigned platform = u16(c + 4 + 8 * i), encoding = u16(c + 6 + 8 * i);
		uint32_t off = u32(c + 8 + 8 * i);
		if (!in(t, off, 8)) continue;
		unsigned format = u16(c + off);
		int rank = format == 12 && platform == 3 && encoding == 10 ? 3
			: format == 4 && platform == 3 && encoding == 1 ? 2 : format == 4 && platform == 0 ? 1 : 0;
		if (rank > best_rank) { best_rank = rank; best = off; }
	}
	return best;
}

int ttf_parse(struct ttf_font *f, const unsigned char *data, size_t len)
{
	*f = (struct ttf_font){.data = data, .len = len};
	if (find_tables(f) < 0) return -1;
	if (!in(&f->head, 0, 54) || !f->head.len || !in(&f->hhea, 0, 36) || !f->hhea.len || !in(&f->maxp, 0, 6) ||
	    !f->maxp.len || !f->hmtx.len || !f->loca.len || !f->glyf.len)
		return -1;
	const unsigned char *head = data + f->head.off, *hhea = data + f->hhea.off;
	f->upem = u16(head + 18);
	for (int i = 0; i < 4; i++) f->bbox[i] = s16(head + 36 + 2 * i);
	f->long_loca = s16(head + 50) == 1;
	f->nglyphs = u16(data + f->maxp.off + 4);
	f->ascent = s16(hhea + 4);
	f->descent = s16(hhea + 6);
	f->nhmetrics = u16(hhea + 34);
	if (f->upem < 16 || f->nglyphs == 0 || f->nhmetrics == 0 || f->nhmetrics > f->nglyphs) return -1;
	if (!in(&f->hmtx, 0, 4 * (uint64_t)f->nhmetrics + 2 * (uint64_t)(f->nglyphs - f->nhmetrics))) return -1;
	if (!in(&f->loca, 0, (uint64_t)(f->nglyphs + 1) * (f->long_loca ? 4 : 2))) return -1;
	f->cmap_sub = pick_cmap(f);
	return 0;
}

int ttf_load(struct ttf_font *f, const char *path)
{
	memset(f, 0, sizeof *f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	struct stat st;
	void *m = fstat(fd, &st) == 0 && st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (m == MAP_FAILED) return -1;
	if (ttf_parse(f, m, (size_t)st.st_size) < 0) { munmap(m, (size_t)st.st_size); memset(f, 0, sizeof *f); return -1; }
	f->mapped = 1;
	return 0;
}

void ttf_close(struct ttf_font *f)
{
	if (f->mapped) munmap((void *)f->data, f->len);
	memset(f, 0, sizeof *f);
}

static unsigned cmap4(const struct ttf_font *f, uint32_t sub, uint32_t cp)
{
	const struct ttf_table *t = &f->cmap;
	if (cp > 0xFFFF || !in(t, sub, 14)) return 0;
	const unsigned char *c = f->data + t->off + sub;
	unsigned segs = u16(c + 6) / 2;
	if (!in(t, sub + 16, 8 * (uint64_t)segs)) return 0;
	const unsigned char *end = c + 14, *start = end + 2 * segs + 2, *delta = start + 2 * segs, *range = delta + 2 * segs;
	for (unsigned i = 0; i < segs; i++) {
		if (u16(end + 2 * i) < cp) continue;
		if (u16(start + 2 * i) > cp) return 0;
		unsigned ro = u16(range + 2 * i);
		if (!ro) return (cp + u16(delta + 2 * i)) & 0xFFFF;
		/* idRangeOffset counts bytes from its own position into glyphIdArray */
		uint64_t at = (uint64_t)(range + 2 * i - (f->data + t->off)) + ro + 2 * (cp - u16(start + 2 * i));
		if (!in(t, at, 2)) return 0;
		unsigned g = u16(f->data + t->off + at);
		return g ? (g + u16(delta + 2 * i)) & 0xFFFF : 0;
	}
	return 0;
}

static unsigned cmap12(const struct ttf_font *f, uint32_t sub, uint32_t cp)
{
	const struct ttf_table *t = &f->cmap;
	if (!in(t, sub, 16)) return 0;
	const unsigned char *c = f->data + t->off + sub;
	uint32_t groups = u32(c + 12);
	if (!in(t, sub + 16, 12 * (uint64_t)groups)) return 0;
	uint32_t lo = 0, hi = groups;
	while (lo < hi) {   /* groups are sorted by start */
		uint32_t mid = lo + (hi - lo) / 2;
		const unsigned char *g = c + 16 + 12 * (size_t)mid;
		if (cp < u32(g)) hi = mid;
		else if (cp > u32(g + 4)) lo = mid + 1;
		else return u32(g + 8) + (cp - u32(g));
	}
	return 0;
}

unsigned ttf_glyph(const struct ttf_font *f, uint32_t cp)
{
	if (!f->cmap_sub) return 0;
	unsigned g = u16(f->data + f->cmap.off + f->cmap_sub) == 12 ? cmap12(f, f->cmap_sub, cp) : cmap4(f, f->cmap_sub, cp);
	return g < f->nglyphs ? g : 0;
}

static unsigned advance(const struct ttf_font *f, unsigned g)
{
	unsigned m = g < f->nhmetrics ? g : f->nhmetrics - 1;
	return u16(f->data + f->hmtx.off + 4 * m);
}

static int lsb(const struct ttf_font *f, unsigned g)
{
	const unsigned char *h = f->data + f->hmtx.off;
	return g < f->nhmetrics ? s16(h + 4 * g + 2) : s16(h + 4 * f->nhmetrics + 2 * (g - f->nhmetrics));
}

double ttf_advance_1000(const struct ttf_font *f, unsigned glyph)
{
	return glyph < f->nglyphs ? advance(f, glyph) * 1000.0 / f->upem : 0;
}

/* a glyph's bytes in glyf: 0 ok (len 0: an empty glyph such as a space), -1 out of range */
static int glyph_range(const struct ttf_font *f, unsigned g, uint32_t *off, uint32_t *len)
{
	const unsigned char *l = f->data + f->loca.off;
	uint32_t a = f->long_loca ? u32(l + 4 * g) : 2u * u16(l + 2 * g);
	uint32_t b = f->long_loca ? u32(l + 4 * (g + 1)) : 2u * u16(l + 2 * (g + 1));
	if (b < a || !in(&f->glyf, a, b - a)) return -1;
	*off = f->glyf.off + a;
	*len = b - a;
	return 0;
}

/* composite glyph flags (the 'glyf' table) */
enum { ARGS_ARE_WORDS = 0x0001, HAVE_SCALE = 0x0008, MORE_COMPONENTS = 0x0020, HAVE_XY_SCALE = 0x0040, HAVE_2X2 = 0x0080 };

#define COMPONENTS_MAX 256   /* parts of one composite glyph; fonts use a handful */

/* Where the glyph-index fields of composite glyph g[0..len) are (offsets into g, at most COMPONENTS_MAX): their
 * count, or -1 when the glyph is cut short or has more parts. */
static int component_fields(const unsigned char *g, uint32_t len, uint32_t at[COMPONENTS_MAX])
{
	uint32_t o = 10;
	for (int n = 0;;) {
		if (o + 4 > len || n == COMPONENTS_MAX) return -1;
		unsigned flags = u16(g + o);
		at[n++] = o + 2;
		o += 4 + (flags & ARGS_ARE_WORDS ? 4 : 2);
		o += flags & HAVE_SCALE ? 2 : flags & HAVE_XY_SCALE ? 4 : flags & HAVE_2X2 ? 8 : 0;
		if (!(flags & MORE_COMPONENTS)) return o <= len ? n : -1;
	}
}

static int composite(const unsigned char *g, uint32_t len) { return len >= 10 && s16(g) < 0; }

static int index_of(const unsigned *glyphs, int n, unsigned g)
{
	for (int i = 0; i < n; i++) if (glyphs[i] == g) return i;
	return -1;
}

static void put16(buf *b, unsigned v) { char c[2] = {(char)(v >> 8), (char)v}; buf_append(b, c, 2); }
static void put32(buf *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xFFFF); }
static void set32(buf *b, size_t at, uint32_t v) { for (int i = 0; i < 4; i++) b->p[at + i] = (char)(v >> (24 - 8 * i)); }
static void pad4(buf *b) { while (b->len % 4) buf_append(b, "", 1); }

static uint32_t checksum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < n; i += 4) {
		unsigned char w[4] = {0};
		memcpy(w, p + i, n - i < 4 ? n - i : 4);
		sum += u32(w);
	}
	return sum;
}

int ttf_subset(const struct ttf_font *f, unsigned *glyphs, int *n, int cap, buf *out)
{
	uint32_t at[COMPONENTS_MAX];
	for (int i = 0; i < *n; i++) {   /* components of components are appended as they are found */
		uint32_t off, len;
		if (glyphs[i] >= f->nglyphs || glyph_range(f, glyphs[i], &off, &len) < 0) return -1;
		if (!composite(f->data + off, len)) continue;
		int k = component_fields(f->data + off, len, at);
		if (k < 0) return -1;
		for (int j = 0; j < k; j++) {
			unsigned part = u16(f->data + off + at[j]);
			if (part >= f->nglyphs) return -1;
			if (index_of(glyphs, *n, part) >= 0) continue;
			if (*n >= cap) return -1;
			glyphs[(*n)++] = part;
		}
	}
	if (*n > 0xFFFF) return -1;
	/* the tables, each built in its own buffer, then laid out in tag order */
	buf glyf = {0}, loca = {0}, hmtx = {0}, head = {0}, hhea = {0}, maxp = {0};
	for (int i = 0; i < *n; i++) {
		uint32_t off, len;
		put32(&loca, (uint32_t)glyf.len);
		glyph_range(f, glyphs[i], &off, &len);
		buf_append(&glyf, (const char *)f->data + off, len);
		unsigned char *copy = (unsigned char *)glyf.p + glyf.len - len;
		if (composite(copy, len))   /* each part's new number; the first loop checked the parts */
			for (int j = 0, k = component_fields(copy, len, at); j < k; j++) {
				int nu = index_of(glyphs, *n, u16(copy + at[j]));
				copy[at[j]] = (unsigned char)(nu >> 8);
				copy[at[j] + 1] = (unsigned char)nu;
			}
		pad4(&glyf);
		put16(&hmtx, advance(f, glyphs[i]));
		put16(&hmtx, (unsigned)lsb(f, glyphs[i]) & 0xFFFF);
	}
	put32(&loca, (uint32_t)glyf.len);
	if (!glyf.len) buf_append(&glyf, "\0\0\0\0", 4);   /* only empty glyphs: the table must still be there */
	buf_append(&head, (const char *)f->data + f->head.off, 54);
	set32(&head, 8, 0);                    /* checkSumAdjustment: set last, over the whole font */
	head.p[50] = 0; head.p[51] = 1;        /* indexToLocFormat: long offsets */
	buf_append(&hhea, (const char *)f->data + f->hhea.off, 36);
	hhea.p[34] = (char)(*n >> 8); hhea.p[35] = (char)*n;
	buf_append(&maxp, (const char *)f->data + f->maxp.off, f->maxp.len);
	maxp.p[4] = (char)(*n >> 8); maxp.p[5] = (char)*n;
	struct { const char *tag; const char *p; size_t len; } t[] = {   /* sorted by tag, as the directory must be */
		{"cvt ", (const char *)f->data + f->cvt.off, f->cvt.len}, {"fpgm", (const char *)f->data + f->fpgm.off, f->fpgm.len},
		{"glyf", glyf.p, glyf.len}, {"head", head.p, head.len}, {"hhea", hhea.p, hhea.len}, {"hmtx", hmtx.p, hmtx.len},
		{"loca", loca.p, loca.len}, {"maxp", maxp.p, maxp.len}, {"prep", (const char *)f->data + f->prep.off, f->prep.len},
	};
	int nt = 0;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) if (t[i].len) t[nt++] = t[i];
	size_t base = out->len;
	int pow2 = 1, log2 = 0;
	while (pow2 * 2 <= nt) { pow2 *= 2; log2++; }
	put32(out, 0x00010000);
	put16(out, (unsigned)nt); put16(out, (unsigned)pow2 * 16); put16(out, (unsigned)log2); put16(out, (unsigned)(nt - pow2) * 16);
	size_t dir = out->len, head_at = 0;
	for (int i = 0; i < nt; i++) { buf_append(out, t[i].tag, 4); put32(out, 0); put32(out, 0); put32(out, 0); }
	for (int i = 0; i < nt; i++) {
		size_t at = out->len;
		buf_append(out, t[i].p, t[i].len);
		pad4(out);
		if (!strcmp(t[i].tag, "head")) head_at = at;
		set32(out, dir + 16 * i + 4, checksum((const unsigned char *)out->p + at, t[i].len));
		set32(out, dir + 16 * i + 8, (uint32_t)(at - base));
		set32(out, dir + 16 * i + 12, (uint32_t)t[i].len);
	}
	set32(out, head_at + 8, 0xB1B0AFBAu - checksum((const unsigned char *)out->p + base, out->len - base));
	buf_free(&glyf); buf_free(&loca); buf_free(&hmtx); buf_free(&head); buf_free(&hhea); buf_free(&maxp);
	return 0;
}
