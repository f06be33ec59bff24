/* Search handlers (h_search.c), and caption search inside one video for the watch page (h_watch.c). */
#ifndef RS_H_SEARCH_H
#define RS_H_SEARCH_H
#include <json-c/json.h>
#include "http.h"

/* Cues of videos.id = pk (public id pid) matching q, as [{start, time_text, text, text_highlight, url}] in *hits
 * (caller puts). 0 ok (an empty q gives an empty list), -1 with *err a message key (bad query or database). */
int search_in_video(req *r, const char *pk, const char *pid, const char *q, json_object **hits, const char **err);
#endif
