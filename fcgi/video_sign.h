/* Signed HLS URLs for nginx secure_link: /hls/<token>/<expires>/<videoId>/<file>,
 * token = base64url(md5("<expires>/<videoId> <secret>")) without padding. */
#ifndef RS_VIDEO_SIGN_H
#define RS_VIDEO_SIGN_H

#define VIDEO_SIGN_TOKEN_LEN 22

/* The HLS secret: config "hls_secret" (env RSTREAM_HLS_SECRET). NULL if unset. */
const char *video_sign_secret(void);
/* token only (23 bytes with NUL). -1 on a bad video id or missing secret. */
int video_sign_token(const char *secret, const char *video_id, long expires, char token[VIDEO_SIGN_TOKEN_LEN + 1]);
/* "/hls/<token>/<expires>/<videoId>/<file>" into out. -1 on error (bad id/file, no secret, too small). */
int video_sign_url(const char *secret, const char *video_id, const char *file, long expires, char *out, size_t outlen);
/* Video ids are what the file system sees: [a-f0-9]{16} (public ids). 1 if valid. */
int video_id_valid(const char *id);
#endif
