/* Passwords (scrypt via OpenSSL), HS256 JWTs via libjwt 1.10 with the algorithm pinned, CSRF tokens.
 * Pure functions: no HTTP, no database, so the unit tests cover them whole. */
#include "auth.h"
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* N=2^14, r=8, p=1: ~16 MiB and tens of ms per hash — memory-hard without stalling a worker */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define KEY_LEN 32

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) { out[2 * i] = h[in[i] >> 4]; out[2 * i + 1] = h[in[i] & 15]; }
	out[2 * n] = 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n) return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

void random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	if (nbytes > sizeof b) nbytes = sizeof b;
	if (RAND_bytes(b, (int)nbytes) != 1) abort();
	hex(b, nbytes, out);
}

static uint64_t id_state;   /* 0: not seeded in this process (a forked child forgets its parent's) */
static void forget_id_state(void) { id_state = 0; }

void unique_hex(char *out, size_t nbytes)
{
	if (!id_state) {
		static int registered;
		if (!registered) registered = !pthread_atfork(NULL, NULL, forget_id_state);
		if (getrandom(&id_state, sizeof id_state, 0) != sizeof id_state)
			id_state = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
		id_state |= 1;
	}
	unsigned char b[32];
	if (nbytes > sizeof b) nbytes = sizeof b;
	for (size_t i = 0; i < nbytes; i += 8) {
		uint64_t z = (id_state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		for (size_t j = 0; j < 8 && i + j < nbytes; j++, z >>= 8) b[i + j] = (unsigned char)z;
	}
	hex(b, nbytes, out);
}

/* The digest is looked up once per process and the context kept: OpenSSL 3's SHA256() looks the algorithm up and
 * allocates a context on every call, a third of a roster read's hashing. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void sha256_hex(const void *data, size_t len, char out[65])
{
	static _Thread_local EVP_MD_CTX *ctx;
	unsigned char md[SHA256_DIGEST_LENGTH];
	pthread_once(&sha256_once, sha256_fetch);
	if (!ctx) ctx = EVP_MD_CTX_new();
	if (!sha256_md || !ctx || EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		SHA256(data, len, md);
	hex(md, sizeof md, out);
}

int ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int base64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		int chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
		for (int k = 0; k < chars; k++) {
			if (o + 1 >= outlen) return -1;
			out[o++] = t[(v >> (18 - 6 * k)) & 63];
		}
	}
	out[o] = 0;
	return (int)o;
}

int password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char salt_hex[2 * SALT_LEN + 1], key_hex[2 * KEY_LEN + 1];
	if (RAND_bytes(salt, sizeof salt) != 1) return -1;
	if (EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, SCRYPT_N, SCRYPT_R, SCRYPT_P,
			   64 * 1024 * 1024, key, sizeof key) != 1)
		return -1;
	hex(salt, sizeof salt, salt_hex);
	hex(key, sizeof key, key_hex);
	snprintf(out, PASSWORD_HASH_MAX, "scrypt$%d$%d$%d$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, salt_hex, key_hex);
	return 0;
}

int password_verify(const char *password, const char *stored)
{
	unsigned long n, r, p;
	char salt_hex[2 * SALT_LEN + 1], key_hex[2 * KEY_LEN + 1];
	unsigned char salt[SALT_LEN], key[KEY_LEN], want[KEY_LEN];
	if (!stored || sscanf(stored, "scrypt$%lu$%lu$%lu$%32[0-9a-f]$%64[0-9a-f]", &n, &r, &p, salt_hex, key_hex) != 5)
		return 0;
	if (n > (1u << 20) || r > 32 || p > 16) return 0;
	if (unhex(salt_hex, salt, sizeof salt) || unhex(key_hex, want, sizeof want)) return 0;
	if (EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, n, r, p, 256 * 1024 * 1024, key, sizeof key) != 1)
		return 0;
	return CRYPTO_memcmp(key, want, sizeof key) == 0;
}

char *token_issue(const char *secret, struct token *t, int ttl_seconds)
{
	jwt_t *jwt = NULL;
	char *out = NULL;
	if (jwt_new(&jwt)) return NULL;
	random_hex(t->jti, 16);
	t->iat = (long)time(NULL);
	t->exp = t->iat + ttl_seconds;
	if (jwt_add_grant(jwt, "sub", t->sub) || jwt_add_grant(jwt, "role", t->role) || jwt_add_grant(jwt, "jti", t->jti) ||
	    jwt_add_grant(jwt, "kind", t->kind[0] ? t->kind : "session") || jwt_add_grant_int(jwt, "iat", t->iat) ||
	    jwt_add_grant_int(jwt, "exp", t->exp) || jwt_add_grant(jwt, "iss", "rstream") ||
	    jwt_add_grant_int(jwt, "gen", t->gen))
		goto out;
	if (t->scope[0] && jwt_add_grant(jwt, "scope", t->scope)) goto out;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret))) goto out;
	out = jwt_encode_str(jwt);
out:
	jwt_free(jwt);
	return out;
}

/* Read the header's "alg" before handing the token to libjwt, so nothing but HS256 reaches the decoder. */
static int header_is_hs256(const char *token)
{
	const char *dot = strchr(token, '.');
	if (!dot || dot == token || dot - token > 512) return 0;
	char b64[520];
	size_t n = (size_t)(dot - token);
	memcpy(b64, token, n);
	for (size_t i = 0; i < n; i++) { if (b64[i] == '-') b64[i] = '+'; else if (b64[i] == '_') b64[i] = '/'; }
	while (n % 4) b64[n++] = '=';
	b64[n] = 0;
	unsigned char json[400];
	int len = EVP_DecodeBlock(json, (unsigned char *)b64, (int)n);
	if (len <= 0 || len >= (int)sizeof json) return 0;
	json[len] = 0;
	/* exact match of the alg member, whitespace tolerant */
	const char *a = strstr((char *)json, "\"alg\"");
	if (!a) return 0;
	a += 5;
	while (*a == ' ' || *a == ':') a++;
	if (strncmp(a, "\"HS256\"", 7)) return 0;
	return strstr(a + 7, "\"alg\"") == NULL;   /* a duplicated alg member is an attack, not a header */
}

/* A worker sees the same bearer tokens again and again (a player posts a heartbeat every 10 s with one token):
 * a token that verified is remembered by its exact text and the secret it verified under, so libjwt's base64,
 * JSON and HMAC work runs once per token per worker. Only verified claims are kept; expiry is checked on every
 * use; revocation never was decided here (session.c and the heartbeat's Redis script check it). Process-lifetime
 * memory: a slot's strings are replaced when another token hashes to it. */
#define TOKEN_CACHE 256
static struct verified { char *token, *secret; struct token t; } verified[TOKEN_CACHE];

static struct verified *verified_slot(const char *token)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)token; *p; p++) h = (h ^ *p) * 16777619u;
	return &verified[h % TOKEN_CACHE];
}

static void verified_put(const char *secret, const char *token, const struct token *t)
{
	struct verified *v = verified_slot(token);
	char *tk = strdup(token), *sc = strdup(secret);
	if (!tk || !sc) { free(tk); free(sc); return; }
	free(v->token);
	free(v->secret);
	v->token = tk;
	v->secret = sc;
	v->t = *t;
}

int token_verify(const char *secret, const char *token, struct token *out)
{
	jwt_t *jwt = NULL;
	int rc = -1;
	memset(out, 0, sizeof *out);
	if (!token || strlen(token) > 4096) return -1;
	struct verified *hit = verified_slot(token);
	if (hit->token && !strcmp(hit->token, token) && !strcmp(hit->secret, secret)) {
		*out = hit->t;
		return out->exp < (long)time(NULL) ? -2 : 0;
	}
	if (!header_is_hs256(token)) return -1;
	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) || !jwt) return -1;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) goto out;
	const char *sub = jwt_get_grant(jwt, "sub"), *role = jwt_get_grant(jwt, "role"), *jti = jwt_get_grant(jwt, "jti");
	const char *kind = jwt_get_grant(jwt, "kind"), *scope = jwt_get_grant(jwt, "scope");
	long exp = jwt_get_grant_int(jwt, "exp");
	if (!sub || !role || !jti || !kind || exp <= 0) goto out;
	snprintf(out->sub, sizeof out->sub, "%s", sub);
	snprintf(out->role, sizeof out->role, "%s", role);
	snprintf(out->jti, sizeof out->jti, "%s", jti);
	snprintf(out->kind, sizeof out->kind, "%s", kind);
	snprintf(out->scope, sizeof out->scope, "%s", scope ? scope : "");
	out->exp = exp;
	out->iat = jwt_get_grant_int(jwt, "iat");
	/* absent (libjwt answers -1): 0, the generation every account starts with */
	out->gen = jwt_get_grant_int(jwt, "gen");
	if (out->gen < 0) out->gen = 0;
	rc = exp < (long)time(NULL) ? -2 : 0;
	verified_put(secret, token, out);
out:
	jwt_free(jwt);
	return rc;
}

void csrf_make(const char *secret, const char *jti, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof md;
	char msg[128];
	snprintf(msg, sizeof msg, "csrf:%s", jti ? jti : "");
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, strlen(msg), md, &len);
	hex(md, 32, out);
}

int csrf_check(const char *secret, const char *jti, const char *given)
{
	if (!given || !jti || !*jti) return 0;
	char want[65];
	csrf_make(secret, jti, want);
	return ct_streq(want, given);
}
