/* libFuzzer harness: search text (search_text.c) on untrusted queries and captions: parse a query, build a
 * document from the same bytes, highlight them and read them as WebVTT cues. A parsed query must never carry an
 * operator it did not write: outside quoted lexemes only " & ", " <-> ", "(", ")" and ":*" may appear. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "search_text.h"

static void check_tsquery(const char *q)
{
	for (const char *p = q; *p;) {
		if (*p == '\'') {   /* a quoted lexeme: '' is an escaped quote */
			for (p++; *p; p++) {
				if (*p == '\'' && p[1] == '\'') { p++; continue; }
				if (*p == '\'') break;
			}
			if (*p != '\'') __builtin_trap();
			p++;
			continue;
		}
		if (!strncmp(p, " & ", 3)) p += 3;
		else if (!strncmp(p, " <-> ", 5)) p += 5;
		else if (!strncmp(p, ":*", 2)) p += 2;
		else if (*p == '(' || *p == ')') p++;
		else __builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024) return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	arena *a = arena_new(1 << 16);
	search_query q;
	const char *err = NULL;
	if (search_query_parse(a, s, &q, &err) == 0) {
		if (q.tsquery) { check_tsquery(q.tsquery); check_tsquery(q.prefix_tsquery); }
		search_seg segs[32];
		search_highlight(a, s, &q, 40, segs, 32);
	} else if (!err) {
		__builtin_trap();
	}
	search_doc d;
	search_doc_init(&d, 1 << 20);
	search_doc_add(&d, a, s, 'B');
	search_doc_free(&d);
	search_cue cues[64];
	search_vtt_cues(a, s, strlen(s), cues, 64);
	arena_free(a);
	free(s);
	return 0;
}
