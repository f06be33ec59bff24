/* libFuzzer harness: the TrueType reader and subsetter (ttf_subset.c) the login-card PDF embeds its font with. Any
 * bytes: parsed or refused without reading outside them; a parsed font is cut to a few glyphs (characters looked up
 * through its cmap, the last glyph, composite parts), and what the subsetter writes must parse again with the glyph
 * count it was given. */
#include <stdint.h>
#include "ttf_subset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttf_font f;
	if (ttf_parse(&f, data, size) < 0) return 0;
	unsigned glyphs[96] = {0};
	int n = 1;
	static const uint32_t cps[] = {' ', 'A', 'g', 0xE9, 0x3042, 0x7530, 0xFFFF, 0x1F600, 0x10FFFF};
	for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) glyphs[n++] = ttf_glyph(&f, cps[i]);
	glyphs[n++] = f.nglyphs - 1;
	for (int i = 0; i < n; i++) (void)ttf_advance_1000(&f, glyphs[i]);
	buf out = {0};
	if (ttf_subset(&f, glyphs, &n, 96, &out) == 0) {
		struct ttf_font s;
		if (ttf_parse(&s, (const uint8_t *)out.p, out.len) < 0 || (int)s.nglyphs != n) __builtin_trap();
	}
	buf_free(&out);
	return 0;
}
