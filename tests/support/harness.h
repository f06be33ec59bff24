/* Integration-test support: a tiny HTTP/1.0 client for the stack started by tests/run.sh,
 * plus direct database access. Environment: RSTREAM_TEST_URL (http://127.0.0.1:PORT), DATABASE_URL,
 * REDIS_URL, RSTREAM_TEST_ADMIN_EMAIL, RSTREAM_TEST_ADMIN_PASSWORD, RSTREAM_ROOT, RSTREAM_DATA_DIR. */
#ifndef RS_HARNESS_H
#define RS_HARNESS_H
#include <stddef.h>
#include <libpq-fe.h>

struct http_res {
	int status;
	char *head;        /* raw header block */
	char *body;        /* NUL-terminated */
	size_t body_len;
};
/* extra_headers: "Name: v\r\nName2: v\r\n" or NULL. Returns 0 or -1 (connect error). */
int http_do(const char *method, const char *path, const char *extra_headers,
	    const char *body, size_t body_len, struct http_res *out);
/* Send a file as the body (uploads). */
int http_do_file(const char *method, const char *path, const char *extra_headers, const char *file,
		 struct http_res *out);
const char *http_header(const struct http_res *r, const char *name);  /* static copy of the value, or NULL */
void http_free(struct http_res *r);

/* Log in through POST /api/v1/auth/login; returns a malloc'd bearer token or NULL. */
char *t_login(const char *email, const char *password);
char *t_admin_token(void);                  /* cached admin bearer token */
/* Browser-style login: returns a malloc'd "Cookie: ..." value and fills csrf (65 bytes). */
char *t_browser_login(const char *email, const char *password, char csrf[65]);
PGconn *t_db(void);                          /* cached connection to DATABASE_URL */
char *t_db_value(const char *sql, int n, const char *const *params);   /* first cell, malloc'd, or NULL */
/* t_db_value read every 50 ms until it equals want, for up to ms milliseconds; the last value read (malloc'd or NULL):
 * for rows the app writes just after it answers (audit rows of kept-connection reads, jobs, notifications) */
char *t_db_wait(const char *sql, int n, const char *const *params, const char *want, int ms);
/* Create a user with a role via SQL+CLI; returns its id. Password set to `password`. */
long t_make_user(const char *email, const char *role, const char *password);
/* Poll /api/v1/jobs/:id until done or failed (timeout seconds). Returns final state string (static). */
const char *t_wait_job(long job_id, int timeout_seconds);
const char *t_env(const char *name);        /* getenv or abort with a message */
/* Live (not zombie) children of a process, from /proc: e.g. the FastCGI master's workers. Returns the count. */
int t_children(int parent, int *out, int max);
/* n requests at the same instant: forks n processes, each runs child(i, arg) (0: it went as it should) and exits.
 * Returns how many did not (a child that crashed counts too). */
int t_at_once(int n, int (*child)(int i, void *arg), void *arg);
#endif
