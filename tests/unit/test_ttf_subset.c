/* TrueType subsetting (ttf_subset.c) against the fonts scripts/deps.sh installs: IPA Gothic (the login cards' font)
 * and DejaVu Sans (its accented letters are composite glyphs). The subset is read back with the same parser and
 * compared glyph by glyph with the original; malformed fonts are refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "ttf_subset.h"

#define IPAG "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void load(struct ttf_font *f, const char *path)
{
	cr_assert_eq(ttf_load(f, path), 0, "%s is missing or unreadable (scripts/deps.sh installs it)", path);
}

/* a glyph's bytes through the font's own loca (long or short) */
static const unsigned char *glyph_bytes(const struct ttf_font *f, unsigned g, uint32_t *len)
{
	const unsigned char *l = f->data + f->loca.off;
	uint32_t a = f->long_loca ? be32(l + 4 * g) : 2u * be16(l + 2 * g);
	uint32_t b = f->long_loca ? be32(l + 4 * (g + 1)) : 2u * be16(l + 2 * (g + 1));
	*len = b - a;
	return f->data + f->glyf.off + a;
}

static uint32_t whole_sum(const unsigned char *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 4 <= n; i += 4) s += be32(p + i);
	return s;
}

Test(ttf_subset, characters_map_to_glyphs_through_the_cmap)
{
	struct ttf_font f;
	load(&f, IPAG);
	cr_assert_gt(f.nglyphs, 10000);
	cr_assert_neq(ttf_glyph(&f, 'A'), 0);
	cr_assert_neq(ttf_glyph(&f, 0x7530), 0, "田");
	cr_assert_neq(ttf_glyph(&f, 0x305F), 0, "た");
	cr_assert_neq(ttf_glyph(&f, 0x7530), ttf_glyph(&f, 0x4E2D), "田 and 中 differ");
	cr_assert_eq(ttf_glyph(&f, 0x10FFFD), 0, "a private character the font lacks: .notdef");
	cr_assert_float_eq(ttf_advance_1000(&f, ttf_glyph(&f, 0x7530)), 1000, 0.5, "a full-width kanji");
	ttf_close(&f);
}

Test(ttf_subset, a_subset_holds_the_same_glyphs_and_widths_renumbered_and_is_a_valid_font)
{
	struct ttf_font f, s;
	load(&f, IPAG);
	const uint32_t text[] = {0x7530, 0x4E2D, 0x592A, 0x90CE, 0x305F, 0x306A, 0x304B, 'K', '7'};   /* 田中太郎たなかK7 */
	unsigned glyphs[32] = {0};
	int n = 1;
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) glyphs[n++] = ttf_glyph(&f, text[i]);
	buf out = {0};
	cr_assert_eq(ttf_subset(&f, glyphs, &n, 32, &out), 0);
	cr_assert_eq(n, 10, "no composite parts in IPA Gothic");
	cr_assert_lt(out.len, 20000, "ten glyphs, not the 6 MB font: %zu bytes", out.len);
	cr_assert_eq(ttf_parse(&s, (const unsigned char *)out.p, out.len), 0, "the subset parses");
	cr_assert_eq(s.nglyphs, 10);
	cr_assert_eq(s.upem, f.upem);
	for (unsigned i = 0; i < 10; i++) {
		uint32_t a, b;
		const unsigned char *ga = glyph_bytes(&f, glyphs[i], &a), *gb = glyph_bytes(&s, i, &b);
		cr_assert_geq(b, a);
		cr_assert_eq(memcmp(ga, gb, a), 0, "glyph %u is the original's %u", i, glyphs[i]);
		cr_assert_float_eq(ttf_advance_1000(&s, i), ttf_advance_1000(&f, glyphs[i]), 1e-9);
	}
	cr_assert_eq(whole_sum((const unsigned char *)out.p, out.len), 0xB1B0AFBA, "checkSumAdjustment makes the font sum right");
	buf_free(&out);
	ttf_close(&f);
}

Test(ttf_subset, the_parts_of_a_composite_glyph_come_along_renumbered)
{
	struct ttf_font f, s;
	load(&f, DEJAVU);
	unsigned glyphs[16] = {0, ttf_glyph(&f, 0xE9)};   /* é: e and the acute accent */
	uint32_t len;
	const unsigned char *g = glyph_bytes(&f, glyphs[1], &len);
	cr_assert_lt((int16_t)be16(g), 0, "é is a composite glyph in DejaVu Sans");
	int n = 2;
	buf out = {0};
	cr_assert_eq(ttf_subset(&f, glyphs, &n, 16, &out), 0);
	cr_assert_geq(n, 4, "its parts were added: %d glyphs", n);
	cr_assert_eq(ttf_parse(&s, (const unsigned char *)out.p, out.len), 0);
	cr_assert_eq((int)s.nglyphs, n);
	/* every component index in the subset's é points inside the subset, at the part it named before */
	const unsigned char *c = glyph_bytes(&s, 1, &len) + 10;
	for (int more = 1; more;) {
		unsigned flags = be16(c), part = be16(c + 2);
		cr_assert_lt(part, (unsigned)n);
		cr_assert_eq(glyphs[part] != 0, 1);
		more = flags & 0x20;
		c += 4 + (flags & 1 ? 4 : 2) + (flags & 8 ? 2 : flags & 0x40 ? 4 : flags & 0x80 ? 8 : 0);
	}
	buf_free(&out);
	ttf_close(&f);
}

Test(ttf_subset, a_malformed_font_is_refused_without_reading_past_it)
{
	struct ttf_font f, bad;
	load(&f, IPAG);
	cr_assert_eq(ttf_parse(&bad, f.data, 11), -1, "shorter than a header");
	cr_assert_eq(ttf_parse(&bad, f.data, 4000), -1, "tables that end past the file");
	unsigned char *copy = malloc(f.len);
	memcpy(copy, f.data, f.len);
	copy[0] = 'O'; copy[1] = 'T'; copy[2] = 'T'; copy[3] = 'O';
	cr_assert_eq(ttf_parse(&bad, copy, f.len), -1, "CFF outlines are not TrueType");
	memcpy(copy, f.data, 4);
	/* a table record whose offset points past the end */
	unsigned ntables = be16(copy + 4);
	for (unsigned i = 0; i < ntables; i++)
		if (!memcmp(copy + 12 + 16 * i, "loca", 4)) { copy[12 + 16 * i + 8] = 0x7F; copy[12 + 16 * i + 9] = 0xFF; }
	cr_assert_eq(ttf_parse(&bad, copy, f.len), -1);
	free(copy);
	cr_assert_eq(ttf_load(&bad, "/nonexistent/font.ttf"), -1);
	unsigned glyphs[2] = {0, f.nglyphs + 5};
	int n = 2;
	buf out = {0};
	cr_assert_eq(ttf_subset(&f, glyphs, &n, 2, &out), -1, "a glyph the font does not have");
	buf_free(&out);
	ttf_close(&f);
}
