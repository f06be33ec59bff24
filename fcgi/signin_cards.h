/* Login cards in the database: issuing a code for a pupil revokes the pupil's earlier codes. No HTTP here. */
#ifndef RS_SIGNIN_CARDS_H
#define RS_SIGNIN_CARDS_H

/* A new code for user_id valid `days` days (revoking older ones), formatted "XXXX-XXXX" into code. class_sid and
 * created_by (0 = the CLI) are for the record. Call inside the caller's transaction when issuing several. 0 / -1. */
int signin_card_issue(long user_id, const char *class_sid, long created_by, int days, char code[10]);
/* `rstream user code --email E | --username U [--days N]`: print a fresh code (make run's demo pupil). */
int signin_cards_cli(const char *email, const char *username, int days);
#endif
