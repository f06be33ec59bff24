/* TOTP second factor (RFC 6238 over RFC 4226: HMAC-SHA1, 30 s steps, 6 digits, one step either side), base32 for the
 * secret an authenticator app reads, and the sealing of stored secrets. Pure functions, no HTTP, no database. */
#ifndef RS_TOTP_H
#define RS_TOTP_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_LEN 20          /* 160 bits, the size RFC 4226 recommends for HMAC-SHA1 */
#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_SEALED_MAX 160         /* hex of nonce + ciphertext + tag, with room */

/* RFC 4648 base32 without padding (what otpauth:// URIs carry). Returns the length, or -1 if out is too small. */
int base32_encode(const unsigned char *in, size_t n, char *out, size_t outlen);
/* Case-insensitive, spaces and trailing '=' ignored. Returns the byte count, or -1 on a bad character or overflow. */
int base32_decode(const char *in, unsigned char *out, size_t outlen);
/* HOTP value of counter, reduced to `digits` decimal digits (6..8). */
uint32_t totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits);
/* The time step of t (t / 30). */
long totp_step(time_t t);
/* What a person typed ("123 456", "123456") as exactly 6 digits in out. 0 ok, -1 not a code. */
int totp_code_normalize(const char *typed, char out[TOTP_DIGITS + 1]);
/* The step (now-1 .. now+1) whose code equals `code` and that is later than last_step, else -1: a code already
 * accepted (its step <= last_step) is refused, which is what stops a replay within its window. */
long totp_match(const unsigned char *key, size_t keylen, const char *code, time_t now, long last_step);
/* AES-256-GCM with a key derived from the deployment secret (HMAC-SHA256(secret, "rstream-mfa-v1")); the user id
 * is associated data, so a sealed secret copied onto another account does not open. Output: hex text. */
int totp_seal(const char *secret, long user_id, const unsigned char *plain, size_t n, char *out, size_t outlen);
/* The plain bytes (count returned), or -1 when the text was altered, belongs to another account or key. */
int totp_open(const char *secret, long user_id, const char *sealed, unsigned char *out, size_t outlen);
#endif
