/* Search text processing, pure (no database, no HTTP): NFKC normalisation, CJK character bigrams, tsvector and
 * tsquery literals built here so PostgreSQL never parses user input as query syntax, highlighting, VTT cues. */
#ifndef RS_SEARCH_TEXT_H
#define RS_SEARCH_TEXT_H
#include <stddef.h>
#include "arena.h"

#define SEARCH_QUERY_MAX_CHARS 200   /* longer queries are refused (400), not cut silently */
#define SEARCH_MAX_TERMS 12          /* more distinct parts than this are refused too */
#define SEARCH_MAX_POS 16383         /* PostgreSQL's largest tsvector position */

/* NFKC + case fold (ICU NFKC_Casefold) + katakana folded to hiragana. NULL if s is not valid UTF-8. */
char *search_norm(arena *a, const char *s, size_t n);

/* A document: fields added in order with a weight ('A' title … 'D' captions); positions run on across fields. */
typedef struct search_doc { buf out; int pos; size_t max_bytes; } search_doc;
void search_doc_init(search_doc *d, size_t max_bytes);
/* Normalise text and add its lexemes: words of letters/digits as themselves, CJK runs as overlapping character
 * bigrams plus the run's last character alone (so a one-character query can match it as a prefix). */
void search_doc_add(search_doc *d, arena *a, const char *text, char weight);
/* The tsvector literal ("'lex':1A,3 …"), for a $n::tsvector parameter. Owned by d until search_doc_free. */
const char *search_doc_tsvector(search_doc *d);
void search_doc_free(search_doc *d);

/* A parsed query: the tsquery literal (parts ANDed; a CJK run of 3+ characters is a phrase of its bigrams;
 * words of 3+ characters match as prefixes) and the normalised parts, for highlighting. */
typedef struct search_query {
	const char *tsquery;           /* NULL when the query has no searchable part (punctuation only) */
	const char *terms[SEARCH_MAX_TERMS];
	int nterms;
	const char *prefix_tsquery;    /* the same with the last part as a prefix: suggest-as-you-type */
} search_query;
/* 0 ok; -1 with *err a message key: search_err_utf8, search_err_too_long, search_err_too_many_terms. */
int search_query_parse(arena *a, const char *q, search_query *out, const char **err);

/* Highlight: split text into runs that match a query part or not. Returns the number of segments written to
 * segs (each a NUL-terminated arena string with hit 0/1); the caller escapes each segment when rendering.
 * With window > 0 the text is cut to about that many characters around the first hit ("…" added). */
typedef struct search_seg { const char *text; int hit; } search_seg;
int search_highlight(arena *a, const char *text, const search_query *q, int window, search_seg *segs, int max);

/* WebVTT cues (as video_caption_to_vtt writes them): start/end in milliseconds and the text (lines joined by
 * a space, tags like <b> or <v Name> removed). Returns the number of cues (≤ max). */
typedef struct search_cue { long start_ms, end_ms; const char *text; } search_cue;
int search_vtt_cues(arena *a, const char *vtt, size_t n, search_cue *cues, int max);
#endif
