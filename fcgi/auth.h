/* Passwords (scrypt), tokens (HS256 JWT, algorithm pinned), CSRF. Pure functions, no HTTP. */
#ifndef RS_AUTH_H
#define RS_AUTH_H
#include <stddef.h>

#define PASSWORD_HASH_MAX 160
/* "scrypt$N$r$p$salt_b64$hash_b64" */
int password_hash(const char *password, char out[PASSWORD_HASH_MAX]);
int password_verify(const char *password, const char *stored);   /* 1 match, 0 not */

struct token {
	char sub[64];       /* user id, or "client:<id>" for OAuth clients */
	char role[32];      /* user role, or "client" */
	char jti[40];
	char scope[512];    /* space separated, for client tokens */
	char kind[16];      /* "session" | "api" | "client" */
	long iat, exp;
	long gen;           /* the user's token generation at issue (users.token_gen); a password change bumps it */
};
/* Issue an HS256 JWT. Returns malloc'd token or NULL. Fills t->jti/iat/exp. */
char *token_issue(const char *secret, struct token *t, int ttl_seconds);
/* Verify signature (HS256 only; alg none or any other alg rejected), expiry, required claims.
 * 0 ok, -1 invalid, -2 expired. */
int token_verify(const char *secret, const char *jwt, struct token *out);

/* CSRF token bound to a session id: hex(HMAC-SHA256(secret, "csrf:" jti)). */
void csrf_make(const char *secret, const char *jti, char out[65]);
int csrf_check(const char *secret, const char *jti, const char *given);  /* 1 ok */

void random_hex(char *out, size_t nbytes);   /* out gets 2*nbytes hex chars + NUL */
/* The same for ids that must be unique, not secret (request and trace ids): a per-process splitmix64 seeded from
 * the kernel, without OpenSSL's generator, which asks the kernel for the pid on every call. nbytes <= 32. */
void unique_hex(char *out, size_t nbytes);
void sha256_hex(const void *data, size_t len, char out[65]);
int ct_streq(const char *a, const char *b);  /* constant-time string compare */
int base64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen);
#endif
