/* Login-card codes and their QR pictures: make a code, read back what a pupil typed, hash it for storage, draw the
 * sign-in URL as an SVG QR code (libqrencode). Pure functions, no HTTP, no database. */
#ifndef RS_SIGNIN_CODE_H
#define RS_SIGNIN_CODE_H
#include <stddef.h>
#include "arena.h"

#define SIGNIN_CODE_LEN 8          /* 8 symbols of 32: 40 bits, shown as XXXX-XXXX */
/* A fresh random code, formatted "XXXX-XXXX" (out: at least 10 bytes). 0 ok, -1 no randomness. */
int signin_code_new(char out[10]);
/* What a pupil typed ("k7mp 3qxa", "K7MP-3QXA") → canonical 8 symbols in out (9 bytes). 0 ok, -1 not a code.
 * Case, spaces and hyphens do not matter. */
int signin_code_normalize(const char *typed, char out[9]);
/* Hex HMAC-SHA256(secret, purpose ":" value): codes and reset tokens are stored only as this. */
void signin_hash(const char *secret, const char *purpose, const char *value, char out[65]);
/* An <svg> QR code of text (error correction M, 4-module quiet zone), in the arena; NULL if it does not fit. */
char *signin_qr_svg(arena *a, const char *text, const char *label);
#endif
