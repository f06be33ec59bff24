/* Dataset quality checks: every metric computed set-based in SQL over the roster (as a version left it), graded
 * against the dataset's thresholds, stored as a check with its offending rows; admins hear of a failure. */
#ifndef RS_QUALITY_H
#define RS_QUALITY_H
#include <libpq-fe.h>

/* Pipe "COPY (…) TO STDOUT" on src into "COPY … FROM STDIN" on the process's own connection (db.c), which commits
 * on its own: results survive when src's transaction is rolled back. 0 ok / -1 (logged). */
int quality_copy_pipe(PGconn *src, const char *out_sql, const char *in_sql);

/* Run every metric for version_id. conn must be inside a transaction that sees the roster to check (the import's
 * own transaction before COMMIT, or a fresh one for scheduled checks). errors/rows: the import's counts for the
 * error rate. Returns the check id (worst result in worst: "pass" | "warn" | "fail") or -1. */
long quality_run(PGconn *conn, long version_id, const char *trigger, long errors, long rows, char worst[8]);
/* An import refused for errors: a check with only the error rate, its rows the import's error findings. */
long quality_run_errors(long version_id, long import_id, long errors, long rows, char worst[8]);
/* A scheduled or manual check of the dataset's current version on its own connection. -1 when none. */
long quality_check_dataset(long dataset_id, const char *trigger, char worst[8]);
#endif
