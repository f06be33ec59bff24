/* Who is asking: session cookie or bearer token → r->user; CSRF tokens; language choice; login/logout. */
#ifndef RS_SESSION_H
#define RS_SESSION_H
#include "http.h"
#include "auth.h"

void session_load(req *r);                 /* sets r->user (or NULL) and r->lang */
/* Per-worker cache of checked sessions (a second at most), dropped on every host-wide epoch bump.
 * session_cache_init maps the epoch shared by all workers: call it in the master before fork. */
int session_cache_init(void);
void session_invalidate_all(void);         /* logout, role change, disable: every worker re-checks */
int session_csrf_ok(req *r);               /* token from form _csrf or X-CSRF-Token header */
void session_revoke(const char *jti, long exp);
/* Check credentials, throttled (login_throttle.c). 0 ok (*user_id set); -1 wrong (the same for an unknown user, a
 * disabled one or one without a password); -2 throttled: wait *retry_after seconds; -4 PostgreSQL unreachable
 * (answer 503: nothing was counted). */
int session_check_password(const char *email, const char *password, const char *ip, long *user_id, long *retry_after);
/* Issue a token for user id under its current token generation; kind "session" (cookie) or "api" (bearer).
 * malloc'd JWT, NULL when the user is gone or the database unreachable. */
char *session_issue(long user_id, const char *kind, struct token *t);
struct user *session_user_by_id(arena *a, long id);
void session_set_cookie(req *r, const char *name, const char *value, long max_age);
#endif
