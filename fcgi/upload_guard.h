/* Upload guard: who may store bytes, how many (per-user quota) and whether the data volume can take them
 * (disk-free floor). Asked by nginx (auth_request) before it writes a byte, and again by the handlers. */
#ifndef RS_UPLOAD_GUARD_H
#define RS_UPLOAD_GUARD_H
#include "http.h"

enum upload_verdict { UG_OK = 0, UG_DISK = 1, UG_QUOTA = 2, UG_ERROR = 3 };

/* Would storing `incoming` more bytes keep at least upload.min_free_mb free on the data volume? */
enum upload_verdict upload_guard_disk(long incoming);
/* Disk floor for everyone; for video uploads also the quota. Fills *quota and *used (bytes). */
enum upload_verdict upload_guard_verdict(const struct user *u, long incoming, int video, long *quota, long *used);
/* Disk floor for everyone; for video uploads (`video` = 1) also the user's quota (upload.quota_mb, admins exempt).
 * Not UG_OK: the error response (507 / 413 / 503) is already set on r. */
enum upload_verdict upload_guard_check(req *r, long incoming, int video);
#endif
