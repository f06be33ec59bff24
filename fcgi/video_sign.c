/* Signed HLS URLs: the app signs, nginx's secure_link checks (conf/nginx.conf.in, block "# --- hls ---").
 * The secret never leaves the server; the URL prefix carries token and expiry so relative playlist URLs work. */
#include <stddef.h>
#include "video_sign.h"
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "config.h"

const char *video_sign_secret(void)
{
	const char *s = config_get("hls_secret", NULL);
	if (!s || !*s) s = getenv("RSTREAM_HLS_SECRET");
	return s && *s ? s : NULL;
}

int video_id_valid(const char *id)
{
	if (!id || strlen(id) != 16) return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
	return 1;
}

static int file_valid(const char *f)
{
	size_t n = strlen(f);
	if (!n || n > 200 || f[0] == '/' || strstr(f, "..")) return 0;
	for (const char *p = f; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '/' || *p == '-'))
			return 0;
	return 1;
}

int video_sign_token(const char *secret, const char *video_id, long expires, char token[VIDEO_SIGN_TOKEN_LEN + 1])
{
	if (!secret || !*secret || !video_id_valid(video_id) || expires <= 0) return -1;
	char *msg = NULL;
	int len = asprintf(&msg, "%ld/%s %s", expires, video_id, secret);
	if (len < 0) return -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(msg, (size_t)len, md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16;
	explicit_bzero(msg, (size_t)len);
	free(msg);
	if (!ok) return -1;
	return base64url_encode(md, 16, token, VIDEO_SIGN_TOKEN_LEN + 1) == VIDEO_SIGN_TOKEN_LEN ? 0 : -1;
}

int video_sign_url(const char *secret, const char *video_id, const char *file, long expires, char *out, size_t outlen)
{
	char tok[VIDEO_SIGN_TOKEN_LEN + 1];
	if (!file_valid(file) || video_sign_token(secret, video_id, expires, tok) < 0) return -1;
	int n = snprintf(out, outlen, "/hls/%s/%ld/%s/%s", tok, expires, video_id, file);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
