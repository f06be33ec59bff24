/* libpq wrapper: one connection per process, reconnect after failure, parameters always bound. */
#ifndef RS_DB_H
#define RS_DB_H
#include <libpq-fe.h>

int db_connect(const char *url);          /* 0 ok, -1 (logged) */
PGconn *db_conn(void);                    /* reconnects when the connection went bad; NULL if it can't */
void db_close(void);
/* Run SQL with text parameters ($1..$n). Returns the result (caller PQclear) or NULL on error;
 * the error text is kept for db_error(). A dropped connection is re-opened and the statement retried once
 * when not inside a transaction. */
PGresult *db_exec(const char *sql, int n, const char *const *params);
#define DB_EXEC(sql, ...) db_exec((sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
				  (const char *const[]){__VA_ARGS__})
#define DB_EXEC0(sql) db_exec((sql), 0, NULL)
/* The same, as a statement prepared once per connection (kept by SQL text, at most 64 per connection, least
 * recently used deallocated): for statements run on every request, whose planning costs about as much as their
 * execution or more. A read in a replica read scope is prepared on the replica. Inside a transaction it is db_exec. */
PGresult *db_exec_prepared(const char *sql, int n, const char *const *params);
#define DB_PREP(sql, ...) db_exec_prepared((sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
				       (const char *const[]){__VA_ARGS__})
/* The same prepared statement sent without waiting for it (outside a transaction, on the primary): 0 sent, -1 not
 * (run it with db_exec_prepared). Its result is read when the connection is next used; db_sent_result() hands it
 * over (caller PQclear; NULL or an error result: it failed, db_error() says why, db_outage() if the server went
 * away). One statement at a time: a second send reads the first's result first. */
int db_send_prepared(const char *sql, int n, const char *const *params);
PGresult *db_sent_result(void);
/* the connection is inside a transaction (a caller's BEGIN); does not wait for a statement in flight */
int db_in_transaction(void);
/* Run a command, discard the result; 0 ok / -1. */
int db_cmd(const char *sql, int n, const char *const *params);
#define DB_CMD(sql, ...) db_cmd((sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
				(const char *const[]){__VA_ARGS__})
const char *db_error(void);               /* last error message */
const char *db_sqlstate(void);            /* last SQLSTATE, "" if none */
/* 1 when a statement since db_outage_clear() failed because PostgreSQL was unreachable (down, restarting):
 * the server answers such a request 503 + Retry-After instead of whatever the handler made of the NULL. */
int db_outage(void);
void db_outage_clear(void);
int db_begin(void);
int db_commit(void);
void db_rollback(void);
/* A text[] literal for a parameter: {"a","b"} with quotes and backslashes escaped, in the arena. */
struct arena;
const char *db_text_array(struct arena *a, const char *const *items, int n);
/* Convert a result to a json array of objects (column name -> text or null; columns ending in _json or of
 * type json/jsonb are embedded as JSON; int/bool typed columns become numbers/booleans). */
struct json_object *db_rows_json(PGresult *res);
struct json_object *db_row_json(PGresult *res, int row);
/* Migrations in dir (sql/NNN_name.sql), each in a transaction, recorded in schema_migrations. */
int db_migrate(const char *dir, int verbose);
int db_migrations_pending(const char *dir);   /* count of files not yet applied, -1 on error */
/* In a freshly forked child: drop the inherited connection without closing the parent's session. */
void db_after_fork(void);
#endif
