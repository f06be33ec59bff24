/* Signed-HLS verdicts for Apache's RewriteMap prg: (conf/apache/rstream.conf.in), so Apache refuses the
 * forged and expired links nginx's secure_link refuses. One line in, one line out, flushed: mod_rewrite waits. */
#include "video_hls_check.h"
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "video_sign.h"

const char *video_hls_verdict(const char *secret, const char *key, long now)
{
	if (!secret || !*secret || !key) return "forged";
	const char *s1 = strchr(key, '/');
	if (!s1 || s1 - key != VIDEO_SIGN_TOKEN_LEN) return "forged";
	const char *s2 = strchr(s1 + 1, '/');
	size_t elen = s2 ? (size_t)(s2 - s1 - 1) : 0;
	if (!s2 || elen < 1 || elen > 12) return "forged";
	long expires = 0;
	for (const char *p = s1 + 1; p < s2; p++) {
		if (*p < '0' || *p > '9') return "forged";
		expires = expires * 10 + (*p - '0');
	}
	/* video_sign_token validates the id ([a-f0-9]{16}), so a bad id is a forged link */
	char want[VIDEO_SIGN_TOKEN_LEN + 1];
	if (video_sign_token(secret, s2 + 1, expires, want) < 0) return "forged";
	if (CRYPTO_memcmp(want, key, VIDEO_SIGN_TOKEN_LEN) != 0) return "forged";
	return expires < now ? "expired" : "ok";
}

/* The secret file holds the secret on its first line (the stack's $STACK_DIR/hls_secret, /etc/rstream/hls_secret). */
static char *read_secret_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) return NULL;
	char buf[512];
	char *s = fgets(buf, sizeof buf, f) ? strdup(buf) : NULL;
	fclose(f);
	explicit_bzero(buf, sizeof buf);
	if (s) s[strcspn(s, "\r\n")] = 0;
	if (s && !*s) { free(s); s = NULL; }
	return s;
}

int video_hls_check_main(int argc, char **argv)
{
	char *secret = NULL;
	if (argc == 3 && !strcmp(argv[1], "--secret-file")) {
		secret = read_secret_file(argv[2]);
		if (!secret) { fprintf(stderr, "rstream hls-check: cannot read a secret from %s\n", argv[2]); return 1; }
	} else if (argc == 1) {
		const char *s = video_sign_secret();
		if (!s) { fputs("rstream hls-check: no hls_secret (config or RSTREAM_HLS_SECRET)\n", stderr); return 1; }
		secret = strdup(s);
	} else {
		fputs("usage: rstream hls-check [--secret-file FILE]\n", stderr);
		return 2;
	}
	char line[512];
	while (fgets(line, sizeof line, stdin)) {
		size_t n = strlen(line);
		const char *v;
		if (n && line[n - 1] == '\n') {
			line[n - 1] = 0;
			v = video_hls_verdict(secret, line, (long)time(NULL));
		} else {
			/* longer than any valid key: skip the rest of the line, answer once */
			int c;
			while ((c = getchar()) != EOF && c != '\n') {}
			v = "forged";
		}
		if (fputs(v, stdout) == EOF || putchar('\n') == EOF || fflush(stdout) == EOF) break;
	}
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return 0;
}
