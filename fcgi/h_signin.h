/* Shared by the sign-in handlers (h_signin.c, h_oidc.c) and the login page (h_core.c). */
#ifndef RS_H_SIGNIN_H
#define RS_H_SIGNIN_H
#include "http.h"

/* next as a local path ("/" when it could leave the site). h_core.c */
const char *safe_next(req *r, const char *next);
/* The user proved who they are by `method` (code, oidc): record it, set the session cookie, go to next. */
void signin_finish(req *r, long user_id, const char *method, const char *next);
/* A sign-in page with the sign-in stylesheet and script; bare = without the site navigation. Takes ctx. */
void signin_page(req *r, int status, const char *tmpl, const char *title_key, json_object *ctx, int bare);
/* The same after the second factor (h_mfa.c): no MFA gate. signin_session only sets the cookie and records the
 * sign-in (0; -1 answered 500), for a page that shows something before going on. */
void signin_complete(req *r, long user_id, const char *method, const char *next);
int signin_session(req *r, long user_id, const char *method);
/* Count a failed guess from this client; 1 when the client has used up its guesses (answer 429). */
int signin_throttled(req *r, const char *what, int count_this);
/* Set a new password with a reset link's token (the form and the JSON API; confirm: pw2 must equal pw). 0 done
 * (the link is used up, every older session of the account ended); else the HTTP status, with *code (the JSON
 * error code) and *msg (translated) set. */
int signin_reset_apply(req *r, const char *token, const char *pw, int confirm, const char *pw2, const char **code,
		       const char **msg);
/* Enabled OIDC providers as [{id, name}] for the login page (h_oidc.c). */
json_object *oidc_login_buttons(void);
/* Where logout continues for a browser that signed in through OIDC (the provider's end_session_endpoint), or NULL. */
const char *oidc_logout_url(req *r);
#endif
