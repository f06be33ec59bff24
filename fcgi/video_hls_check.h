/* The signed-HLS check for front ends without nginx's secure_link (Apache: RewriteMap prg:).
 * Same token as video_sign.c: base64url(md5("<expires>/<videoId> <secret>")), same verdicts as nginx. */
#ifndef RS_VIDEO_HLS_CHECK_H
#define RS_VIDEO_HLS_CHECK_H

/* key "<token>/<expires>/<videoId>" → "ok", "expired" (valid token, past expiry: nginx's 410) or
 * "forged" (anything else: nginx's 403). Never NULL. */
const char *video_hls_verdict(const char *secret, const char *key, long now);
/* `rstream hls-check [--secret-file F]`: one key per stdin line, one verdict per stdout line, until EOF. */
int video_hls_check_main(int argc, char **argv);
#endif
