/* Accounts: create, update, password, search with keyset pagination. No HTTP here. */
#ifndef RS_USERS_H
#define RS_USERS_H
#include <json-c/json.h>

int users_valid_email(const char *email);
int users_valid_role(const char *role);
/* Returns the new id, or -1 with a message (duplicate e-mail, bad role, weak password …). */
long users_create(const char *email, const char *name, const char *role, const char *password, char *err, int errlen);
int users_set_password_by_email(const char *email, const char *password, char *err, int errlen);
int users_set_password(long id, const char *password, char *err, int errlen);
int users_update(long id, const char *name, const char *role, const char *lang, int disabled, char *err, int errlen);
/* Search: q matches e-mail or name prefix (case-insensitive); role filter; keyset after id (ascending).
 * Returns {"users":[…], "next_after": id|null}. */
json_object *users_search(const char *q, const char *role, long after, int limit);
json_object *users_get(long id);
int users_exists(const char *email);   /* 1 yes, 0 no, -1 database error */
int users_cli_list(void);
int users_seed_demo(void);
#endif
