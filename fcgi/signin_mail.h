/* E-mailed sign-in links: password-reset tokens and invitations, and the transactional messages that carry them
 * through the mail outbox (sent by the notify_mail job in mail.c). No HTTP here. */
#ifndef RS_SIGNIN_MAIL_H
#define RS_SIGNIN_MAIL_H
#include <json-c/json.h>

/* A fresh reset token for the account (earlier unused ones die), valid for `minutes`; created_by 0 = the person
 * asked themself. The token (64 hex) is written to out; only its keyed hash is stored. 0 ok, -1 database error. */
int signin_reset_create(long user_id, long created_by, long minutes, char token[65]);
/* Queue one transactional mail: kind "reset" or "invite", the link (sealed at rest) and how long it works.
 * The notify_mail job is kicked; without an SMTP server the row waits in the outbox. 0 ok, -1 error. */
int signin_mail_queue(long user_id, const char *kind, const char *link, long minutes, const char *inviter);
/* The worker's side: subject and body (malloc'd) of a transactional row in lang. 0 ok, -1 cannot be opened. */
int signin_mail_render(const char *lang, const char *kind, const char *sealed, char **subject, char **body);

/* Why a token does not work, as a catalog key: signin_link_used, signin_link_expired, signin_link_revoked, or
 * signin_link_unknown. table is "password_resets" or "invitations"; hash the token's keyed hash. */
const char *signin_link_problem(const char *table, const char *hash);
#endif
