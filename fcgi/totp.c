/* TOTP codes (RFC 6238 / RFC 4226), base32 secrets and their sealing with AES-256-GCM. The stored secret is sealed
 * so that a copy of the database alone (a dump, a backup without the environment) does not give the codes away. */
#include "totp.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned buf = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			if (o + 1 >= outlen) return -1;
			out[o++] = B32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0) {
		if (o + 1 >= outlen) return -1;
		out[o++] = B32[(buf << (5 - bits)) & 31];
	}
	if (o >= outlen) return -1;
	out[o] = 0;
	return (int)o;
}

int base32_decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t o = 0;
	unsigned buf = 0;
	int bits = 0, pad = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ' ') continue;
		if (*p == '=') { pad = 1; continue; }
		if (pad) return -1;   /* data after padding */
		const char *c = strchr(B32, toupper((unsigned char)*p));
		if (!c || !*c) return -1;
		buf = (buf << 5) | (unsigned)(c - B32);
		bits += 5;
		if (bits >= 8) {
			if (o >= outlen) return -1;
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)o;
}

uint32_t totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits)
{
	unsigned char msg[8], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	for (int i = 7; i >= 0; i--) { msg[i] = (unsigned char)(counter & 0xff); counter >>= 8; }
	HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, md, &mdlen);
	/* dynamic truncation, RFC 4226 section 5.3 */
	int off = md[mdlen - 1] & 0x0f;
	uint32_t v = ((uint32_t)(md[off] & 0x7f) << 24) | ((uint32_t)md[off + 1] << 16) | ((uint32_t)md[off + 2] << 8) | md[off + 3];
	uint32_t mod = 1;
	for (int i = 0; i < digits; i++) mod *= 10;
	return v % mod;
}

long totp_step(time_t t) { return t < 0 ? 0 : (long)(t / TOTP_STEP); }

int totp_code_normalize(const char *typed, char out[TOTP_DIGITS + 1])
{
	int n = 0;
	if (!typed) return -1;
	for (const char *p = typed; *p; p++) {
		if (*p == ' ' || *p == '-') continue;
		if (*p < '0' || *p > '9' || n >= TOTP_DIGITS) return -1;
		out[n++] = *p;
	}
	out[n] = 0;
	return n == TOTP_DIGITS ? 0 : -1;
}

long totp_match(const unsigned char *key, size_t keylen, const char *code, time_t now, long last_step)
{
	char norm[TOTP_DIGITS + 1];
	if (totp_code_normalize(code, norm) < 0) return -1;
	long want = 0, found = -1;
	for (int i = 0; i < TOTP_DIGITS; i++) want = want * 10 + (norm[i] - '0');
	long s = totp_step(now);
	/* every candidate is computed, whichever matches, so the time taken does not tell which step it was */
	for (long k = s - 1; k <= s + 1; k++) {
		if (k < 0) continue;
		int hit = (long)totp_hotp(key, keylen, (uint64_t)k, TOTP_DIGITS) == want;
		if (hit && k > last_step && found < 0) found = k;
	}
	return found;
}

static void seal_key(const char *secret, unsigned char key[32])
{
	unsigned int len = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)"rstream-mfa-v1", 14, key, &len);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) || sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

#define NONCE_LEN 12
#define TAG_LEN 16

int totp_seal(const char *secret, long user_id, const unsigned char *plain, size_t n, char *out, size_t outlen)
{
	unsigned char key[32], nonce[NONCE_LEN], ct[64], tag[TAG_LEN];
	char aad[32];
	int len = 0, rc = -1;
	if (n > sizeof ct || outlen < 2 * (NONCE_LEN + n + TAG_LEN) + 1) return -1;
	if (RAND_bytes(nonce, sizeof nonce) != 1) return -1;
	seal_key(secret, key);
	snprintf(aad, sizeof aad, "user:%ld", user_id);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c) return -1;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(c, ct, &len, plain, (int)n) != 1 || EVP_EncryptFinal_ex(c, ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	size_t o = 0;
	for (int i = 0; i < NONCE_LEN; i++, o += 2) sprintf(out + o, "%02x", nonce[i]);
	for (size_t i = 0; i < n; i++, o += 2) sprintf(out + o, "%02x", ct[i]);
	for (int i = 0; i < TAG_LEN; i++, o += 2) sprintf(out + o, "%02x", tag[i]);
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int totp_open(const char *secret, long user_id, const char *sealed, unsigned char *out, size_t outlen)
{
	unsigned char key[32], raw[NONCE_LEN + 64 + TAG_LEN];
	char aad[32];
	size_t hexlen = sealed ? strlen(sealed) : 0;
	if (hexlen % 2 || hexlen / 2 <= NONCE_LEN + TAG_LEN || hexlen / 2 > sizeof raw) return -1;
	size_t total = hexlen / 2, n = total - NONCE_LEN - TAG_LEN;
	if (n > outlen || unhex(sealed, raw, total) < 0) return -1;
	seal_key(secret, key);
	snprintf(aad, sizeof aad, "user:%ld", user_id);
	int len = 0, rc = -1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c) return -1;
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(c, out, &len, raw + NONCE_LEN, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + n) != 1 ||
	    EVP_DecryptFinal_ex(c, out + len, &len) != 1)
		goto out;
	rc = (int)n;
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}
