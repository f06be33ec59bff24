/* Import of a OneRoster CSV bundle (zip with manifest.csv) or a single CSV file: stream, validate, stage with COPY,
 * check references and duplicates set-based, apply with set-based upserts, all in one transaction.
 * No HTTP and no job system in here: the job, the CLI and tests call roster_import_run. */
#ifndef RS_ROSTER_IMPORT_H
#define RS_ROSTER_IMPORT_H
#include <json-c/json.h>
#include <libpq-fe.h>
#include "roster_rules.h"

/* Progress: pct 0..100, phase "reading" | "checking" | "applying" | "done"; stats borrowed.
 * Return -1 to cancel (the transaction is rolled back). */
typedef int (*roster_progress_fn)(void *ud, double pct, const char *phase, json_object *stats);

struct roster_import_opts {
	const char *path;          /* the uploaded file */
	const char *conninfo;      /* database for the import's own connection; NULL = cfg.database_url */
	const char *filename;      /* original name: decides the file type of a single CSV ("users.csv") */
	int dry_run;               /* validate and compute counts, then roll back */
	long import_id;            /* roster_imports row to update and attach findings to; 0 = none */
	int jp;                    /* apply Japan Profile rules */
	int single_delta;          /* a single CSV is a delta file (default: bulk for that file) */
	roster_progress_fn progress;
	void *ud;
	rr_emit_fn on_finding;     /* optional: every finding as it is found (CLI prints them) */
	void *finding_ud;
	/* optional (datasets): called inside the import's transaction after a clean apply, before COMMIT, so conn sees
	 * the roster as it will be. 0 = commit, 1 = hold (roll back: nothing applied, res->held), -1 = fatal. */
	int (*before_commit)(void *ud, PGconn *conn, long rows);
	void *commit_ud;
	/* optional (jobs): called on the import's connection right before COMMIT; anything but 1 rolls back */
	int (*may_commit)(void *ud, PGconn *conn);
};

struct roster_import_result {
	long rows, errors, warnings;
	json_object *counts;       /* {"users":{"rows":..,"inserted":..,"updated":..,"unchanged":..,"deleted":..},...} */
	int applied;               /* 1 when committed */
	int held;                  /* 1 when before_commit held it back */
	char error[512];           /* fatal error text (I/O, database) */
};

/* 0 when the run completed (check res->errors: with errors nothing was applied); -1 on a fatal error
 * (database down, unreadable file): nothing was applied and the run may be retried. Free res->counts. */
int roster_import_run(const struct roster_import_opts *o, struct roster_import_result *res);

/* Sync platform accounts of rostered users changed in the current transaction (REST writes). 0 / -1. */
int roster_sync_accounts(void);

/* COPY text-format escaping of one value (backslash, tab, newline, carriage return). */
void roster_copy_escape(buf *b, const char *s, size_t n);
#endif
