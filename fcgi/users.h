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
/* Messages in err are catalog keys (users_err_*): the caller translates them. NULL leaves a field as it is;
 * "" lang or time_zone returns to the default. */
/* A new e-mail for an account (e.g. a roster account whose roster e-mail another account held). 0 / -1 + err key. */
int users_set_email(long id, const char *email, char *err, int errlen);
int users_update(long id, const char *name, const char *role, const char *lang, const char *time_zone, int disabled,
		 char *err, int errlen);
/* Search: q matches e-mail or name prefix (case-insensitive); role filter; keyset after id (ascending).
 * Returns {"users":[…], "next_after": id|null}. */
json_object *users_search(const char *q, const char *role, long after, int limit);
/* The admin list: same filters, numbered pages sorted by a column. sort: name | email | role | last_login
 * (anything else = name); desc for the reverse order; page from 1. Returns {"users":[…], "total": n}. */
json_object *users_page(const char *q, const char *role, const char *sort, int desc, long page, int per_page);
json_object *users_get(long id);
int users_exists(const char *email);   /* 1 yes, 0 no, -1 database error */
int users_cli_list(void);
int users_seed_demo(void);
#endif
