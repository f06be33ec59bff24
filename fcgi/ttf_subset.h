/* A TrueType font cut down to the glyphs a document uses, for embedding in a PDF (signin_pdf.c): the login cards
 * then print the same on every viewer and printer, with or without Japanese fonts of their own. Reads the font's
 * tables with bounds checks (a malformed file is refused, never read past), maps characters to glyphs through its
 * cmap (formats 4 and 12), and writes a font of the chosen glyphs renumbered 0..n-1 with the tables a PDF's
 * CIDFontType2 needs (head, hhea, maxp, hmtx, loca, glyf and the hinting tables cvt, fpgm, prep). Pure: no I/O but
 * ttf_load's mmap. */
#ifndef RS_TTF_SUBSET_H
#define RS_TTF_SUBSET_H
#include <stddef.h>
#include <stdint.h>
#include "arena.h"

struct ttf_table { uint32_t off, len; };   /* len 0: absent */
struct ttf_font {
	const unsigned char *data;
	size_t len;
	int mapped;   /* ttf_load's: ttf_close unmaps */
	struct ttf_table head, hhea, maxp, hmtx, loca, glyf, cmap, cvt, fpgm, prep;
	unsigned nglyphs, nhmetrics, upem;
	int long_loca;
	int16_t bbox[4], ascent, descent;   /* font units: xMin yMin xMax yMax; hhea ascender, descender */
	uint32_t cmap_sub;                  /* offset of the Unicode subtable used (format 4 or 12), 0: none */
};

/* Check and index the font in data[0..len) (kept, not copied). 0, or -1 when it is not a usable TrueType font. */
int ttf_parse(struct ttf_font *f, const unsigned char *data, size_t len);
/* ttf_parse of the file at path, mapped read-only. 0 or -1. */
int ttf_load(struct ttf_font *f, const char *path);
void ttf_close(struct ttf_font *f);
/* The glyph of a code point, 0 (.notdef) when the font has none. */
unsigned ttf_glyph(const struct ttf_font *f, uint32_t cp);
/* Advance width of a glyph in 1/1000 em. */
double ttf_advance_1000(const struct ttf_font *f, unsigned glyph);
/* The font with only glyphs[0..*n), in that order (glyphs[0] should be 0, .notdef), into out. The parts of composite
 * glyphs are appended to glyphs (*n grows, at most cap). 0, or -1 (a malformed glyph, more than cap glyphs). */
int ttf_subset(const struct ttf_font *f, unsigned *glyphs, int *n, int cap, buf *out);
#endif
