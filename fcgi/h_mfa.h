/* The second sign-in step (h_mfa.c), called by every first factor: password (h_core.c), login card and OIDC
 * (signin_finish in h_signin.c). */
#ifndef RS_H_MFA_H
#define RS_H_MFA_H
#include "http.h"

/* After the first factor of uid: when the account has TOTP, or must enrol it (an admin while mfa.required_admins
 * is on), set the half-signed-in cookie and redirect to the code or enrolment page; returns 1 (answered).
 * Returns 0 when no second factor applies (the caller goes on and signs in). */
int mfa_gate(req *r, long uid, const char *method, const char *next);
/* The same for POST /api/v1/auth/login: the JSON body's "code" is checked here. 1 answered (refused), 0 go on. */
int mfa_api_gate(req *r, long uid);
#endif
