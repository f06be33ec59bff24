/* Login throttling: failures counted per (account, source address), per account and per source address,
 * each with an exponential backoff instead of a hard lock; state in PostgreSQL (table login_throttle). */
#ifndef RS_LOGIN_THROTTLE_H
#define RS_LOGIN_THROTTLE_H
#include <stddef.h>
#include <json-c/json.h>

/* The key an e-mail is counted under: ASCII whitespace trimmed, ASCII letters lower-cased. */
void login_normalize_email(const char *in, char *out, size_t outlen);
/* Seconds to wait after `fails` failures when `free_fails` are allowed: 0 below, then 1, 2, 4 … up to cap. */
long login_backoff_seconds(long fails, long free_fails, long cap);
/* 0 may try (*retry_after 0), 1 must wait *retry_after seconds, -1 database unreachable.
 * email: as typed (normalised here); ip: the client address. */
int login_throttle_check(const char *email, const char *ip, long *retry_after);
int login_throttle_failed(const char *email, const char *ip);     /* count a failure; 0 / -1 */
int login_throttle_succeeded(const char *email, const char *ip);  /* forget the account's failures; 0 / -1 */
int login_throttle_unlock(const char *email);                     /* admin: drop every row of the account */
/* {"failures": n, "wait_seconds": s} of the account (its account-wide and per-address rows), NULL on error. */
json_object *login_throttle_state(const char *email);
#endif
