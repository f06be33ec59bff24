/* The second factor of an account: TOTP enrolment, checking a code at sign-in (replay refused), recovery codes and
 * the admin reset. Database and crypto, no HTTP (h_mfa.c renders). */
#ifndef RS_MFA_H
#define RS_MFA_H

#define MFA_RECOVERY_CODES 10
enum mfa_state { MFA_NONE = 0, MFA_PENDING = 1, MFA_ON = 2 };

int mfa_state(long uid);                  /* enum mfa_state, or -1 when the database could not be asked */
/* 1 when this account must use a second factor although it has none: an admin while mfa.required_admins is on. */
int mfa_required(long uid);
/* The secret being enrolled as base32 (started now when none is pending). 0 ok, -1 error or already enrolled. */
int mfa_enrol_secret(long uid, char b32[64]);
/* Confirm the pending secret with a code from the app. 0 ok: MFA is on and codes holds ten new recovery codes
 * ("XXXX-XXXX", shown once, stored hashed); 1 wrong code; 2 no enrolment pending; -1 error. */
int mfa_enrol_confirm(long uid, const char *code, char codes[MFA_RECOVERY_CODES][10]);
/* Check a code at sign-in: a TOTP code (its step must be later than the last one accepted) or an unused recovery
 * code (used up by this). 0 ok (*recovery says which), 1 wrong or replayed, -1 error. */
int mfa_check(long uid, const char *code, int *recovery);
int mfa_recovery_left(long uid);          /* unused recovery codes, -1 on error */
int mfa_reset(long uid);                  /* remove the factor: 1 removed, 0 there was none, -1 error */
#endif
