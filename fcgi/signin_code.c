/* Login-card codes: generation, normalisation, keyed hashing, QR as SVG. See signin_code.h. */
#include "signin_code.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <qrencode.h>

/* no 0/O, 1/I: a child copies the code from paper */
static const char ALPHABET[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

int signin_code_new(char out[10])
{
	unsigned char rnd[SIGNIN_CODE_LEN];
	if (RAND_bytes(rnd, sizeof rnd) != 1) return -1;
	int j = 0;
	for (int i = 0; i < SIGNIN_CODE_LEN; i++) {
		if (i == 4) out[j++] = '-';
		out[j++] = ALPHABET[rnd[i] & 31];   /* 256 is a multiple of 32: no bias */
	}
	out[j] = 0;
	return 0;
}

int signin_code_normalize(const char *typed, char out[9])
{
	int n = 0;
	if (!typed) return -1;
	for (const unsigned char *p = (const unsigned char *)typed; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '\t') continue;
		int c = toupper(*p);
		if (!c || !strchr(ALPHABET, c) || n >= SIGNIN_CODE_LEN) return -1;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return n == SIGNIN_CODE_LEN ? 0 : -1;
}

void signin_hash(const char *secret, const char *purpose, const char *value, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	char msg[600];
	snprintf(msg, sizeof msg, "%s:%s", purpose, value);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), md, &len);
	for (unsigned i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = 0;
}

char *signin_qr_svg(arena *a, const char *text, const char *label)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q) return NULL;
	int w = q->width, quiet = 4, size = w + 2 * quiet;
	/* the label is ours (a catalog message), but it lands in an attribute: keep it plain */
	char safe[200];
	size_t k = 0;
	for (const char *p = label ? label : ""; *p && k < sizeof safe - 1; p++)
		if (!strchr("<>\"&'", *p)) safe[k++] = *p;
	safe[k] = 0;
	buf b = {0};
	buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-label=\"%s\" shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		   size, size, safe, size, size);
	/* one horizontal run per stretch of dark modules keeps the path short */
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w;) {
			if (!(q->data[y * w + x] & 1)) { x++; continue; }
			int run = 1;
			while (x + run < w && (q->data[y * w + x + run] & 1)) run++;
			buf_printf(&b, "M%d %dh%dv1h-%dz", x + quiet, y + quiet, run, run);
			x += run;
		}
	buf_puts(&b, "\"/></svg>");
	QRcode_free(q);
	char *s = arena_strdup(a, b.p);
	buf_free(&b);
	return s;
}
