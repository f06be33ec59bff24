/* Shared between the video handlers (h_videos.c, h_watch.c): loading a video row and naming uploads. */
#ifndef RS_H_VIDEOS_H
#define RS_H_VIDEOS_H
#include <json-c/json.h>
#include "http.h"

/* The video with this public id as JSON (caller puts), with its numeric key in pk and owner id; NULL if none. */
json_object *video_fetch(req *r, const char *pid, char pk[24], long *owner);
/* Derived fields for display: effective status, labels, signed poster URL, duration text; hides manager-only
 * fields unless manage. */
void video_decorate(req *r, json_object *v, int manage);
/* Display name of an uploaded file: last path component, printable UTF-8, at most 200 bytes. */
const char *video_clean_filename(arena *a, const char *name);
#endif
