/* Background jobs: a PostgreSQL table claimed with FOR UPDATE SKIP LOCKED, woken by LISTEN/NOTIFY.
 * A job kind is a function in a job_*.c file registered in job_table.c. */
#ifndef RS_JOBS_H
#define RS_JOBS_H
#include <json-c/json.h>
#include <libpq-fe.h>

struct job {
	long id;
	const char *kind;
	json_object *payload;   /* owned by the runner */
	int attempt, max_attempts;
	char error[1024];        /* set by the job function on failure: shown in the UI */
	int completed;           /* job_complete ran (the job recorded done inside its own transaction) */
};
/* 0 done, -1 failed (retry with backoff), -2 failed for good, -3 lease lost (another claimant owns the job:
 * write nothing more) */
typedef int (*job_fn)(struct job *j);
struct job_kind { const char *kind; job_fn fn; int max_attempts; };
extern const struct job_kind job_kinds[];
extern const int njob_kinds;

/* Enqueue; returns the job id or -1. Sends NOTIFY rstream_jobs. created_by may be 0. */
long job_enqueue(const char *kind, json_object *payload, long created_by);
/* Record progress (0..100) and a short message; also heartbeats the lease. Rate-limited internally. */
void job_progress(struct job *j, double pct, const char *message);
/* Extra counters shown on the job page (e.g. {"rows":1200,"rows_per_s":5000}). Borrowed. */
void job_set_stats(struct job *j, json_object *stats);
int job_cancelled(struct job *j);   /* the user asked to cancel, or this attempt's lease was taken over */
/* On the connection holding a job's own transaction, just before its COMMIT: 1 = still this attempt's and not
 * cancelled (the job row stays locked, so no takeover or cancel slips in before the commit), 0 = roll back, -1 = error. */
int job_commit_fence(struct job *j, PGconn *conn);
/* Lock the job row (FOR UPDATE: the lease reaper and any other claimant wait) and check this attempt still holds
 * the lease. Inside db_begin() a publish step that follows is fenced: 1 held, 0 lost (write nothing), -1 error. */
int job_lease_hold(struct job *j);
/* Record the job done, fenced by this attempt's lease (a job may call it inside its publish transaction; otherwise
 * the runner does after the job returns 0). 1 recorded, 0 lease lost, -1 error. */
int job_complete(struct job *j);
/* Worker main loop: claims and runs jobs until SIGTERM. */
int jobs_worker_main(void);
/* Run exactly one available job (tests, CLI). 1 ran, 0 none, -1 error. */
int jobs_run_one(void);
#endif
