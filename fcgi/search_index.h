/* Keeping the search index current: a video's tsvector (search_docs) and its caption cues (caption_cues),
 * both computed in C by search_text.c. Knows nothing of HTTP. */
#ifndef RS_SEARCH_INDEX_H
#define RS_SEARCH_INDEX_H
#include <stddef.h>
#include "arena.h"

/* Recompute the search document of videos.id = pk (captions whose cues were never stored are read from their
 * files first). A video that no longer exists loses its document. 0 ok, -1 database error (logged). */
int search_reindex_video(arena *a, const char *pk);
/* The same for a set of videos ids = "{1,2,…}" in a handful of statements (the worker's batches). 0 / -1. */
int search_reindex_batch(arena *a, const char *ids);
/* Split n videos (in order, with the bytes of their cue text) into parts of at most limit bytes, each of whole
 * videos (a video above the limit is a part alone). starts[k] = the index where part k begins; returns the number
 * of parts (0 when n is 0). */
int search_cue_parts(const long long *bytes, int n, long long limit, int *starts);
/* Replace the cues of one caption (WebVTT text as stored) and re-index the video. 0 / -1. */
int search_store_cues(arena *a, const char *pk, const char *lang, const char *vtt, size_t n);
/* Forget the cues of a removed caption and re-index the video. 0 / -1. */
int search_drop_cues(arena *a, const char *pk, const char *lang);
/* Worker: re-index up to max videos queued on search_dirty; once a minute refresh view counts.
 * Returns how many videos were indexed (max means more may be waiting). */
int search_index_tick(int max);
#endif
