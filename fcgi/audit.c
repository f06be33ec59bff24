/* Audit log: one INSERT per event, plus the retention job and its once-a-day scheduling.
 * Outside a transaction the INSERT commits asynchronously (the WAL flush is not waited for): an API read then
 * costs no fsync, and a crash of PostgreSQL itself can lose at most the last few hundred milliseconds of rows. */
#include "audit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db.h"
#include "http.h"
#include "jobs.h"
#include "log.h"

/* The out-of-transaction INSERT is prepared once per database session (API reads run it on every request). */
static int prepared_pid;

static int audit_insert_prepared(PGconn *c, const char *const *params)
{
	int pid = PQbackendPID(c);
	PGresult *res;
	if (pid != prepared_pid) {
		res = PQprepare(c, "rs_audit_insert",
				"INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
				"SELECT $1, $2, $3, $4::jsonb, $5, $6::int, NULLIF($7, '-1')::bigint "
				"FROM (SELECT set_config('synchronous_commit', 'off', true)) s", 7, NULL);
		int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!ok) return -1;
		prepared_pid = pid;
	}
	res = PQexecPrepared(c, "rs_audit_insert", 7, params, NULL, NULL, 0);
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) {
		log_error("audit insert failed: %s", res ? PQresultErrorMessage(res) : "no result");
		prepared_pid = 0;   /* re-prepare next time (the session may have been reset) */
	}
	PQclear(res);
	return ok ? 0 : -1;
}

/* rows waiting for audit_flush: 7 strings each, malloc'd (ip "" for none) */
#define AUDIT_BATCH_MAX 64
static char *pending[AUDIT_BATCH_MAX][7];
static int npending;

int audit_pending(void)
{
	return npending;
}

static void insert_one(const char *const *params)
{
	PGconn *c = db_conn();
	if (c && PQtransactionStatus(c) == PQTRANS_IDLE && audit_insert_prepared(c, params) == 0) return;
	/* inside a caller's transaction the row commits with it (and must not make that commit asynchronous) */
	if (db_cmd("INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
		   "VALUES ($1, $2, $3, $4::jsonb, $5, $6::int, NULLIF($7, '-1')::bigint)", 7, params) < 0)
		log_error("audit insert failed: %s (action %s)", db_error(), params[1]);
}

/* One INSERT for the waiting rows, committed asynchronously like a single row; when it fails, row by row, so one
 * bad row costs only itself. */
void audit_flush(void)
{
	if (!npending) return;
	static arena *a;
	if (!a) a = arena_new(16 * 1024);
	const char *col[7][AUDIT_BATCH_MAX], *arr[7];
	for (int k = 0; k < 7; k++) {
		for (int i = 0; i < npending; i++) col[k][i] = pending[i][k];
		arr[k] = db_text_array(a, col[k], npending);
	}
	/* prepared: the same text for any number of rows, parsed and planned once per connection */
	PGresult *res = db_exec_prepared("INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
			"SELECT t.actor, t.action, t.target, t.detail::jsonb, NULLIF(t.ip, ''), t.status::int, "
			"NULLIF(t.n, '-1')::bigint "
			"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
			"AS t(actor, action, target, detail, ip, status, n), "
			"(SELECT set_config('synchronous_commit', 'off', true)) s", 7, arr);
	int ok = res != NULL;
	if (res) PQclear(res);
	for (int i = 0; i < npending; i++) {
		if (!ok) {
			const char *p[7] = {pending[i][0], pending[i][1], pending[i][2], pending[i][3],
					    *pending[i][4] ? pending[i][4] : NULL, pending[i][5], pending[i][6]};
			insert_one(p);
		}
		for (int k = 0; k < 7; k++) free(pending[i][k]);
	}
	npending = 0;
	arena_reset(a);
}

void audit_record(struct req *r, const char *actor, const char *action, const char *target,
		  json_object *detail, int status, long result_count)
{
	char who[64], st[16], cnt[24];
	if (!actor) {
		if (r && r->user) { snprintf(who, sizeof who, "user:%ld", r->user->id); actor = who; }
		else if (r && r->log_user) actor = r->log_user;
		else actor = r ? "anonymous" : "system";
	}
	snprintf(st, sizeof st, "%d", status);
	snprintf(cnt, sizeof cnt, "%ld", result_count);
	const char *det = detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : "{}";
	const char *ip = r && r->client_ip && *r->client_ip ? r->client_ip : NULL;
	const char *params[7] = {actor, action ? action : "", target ? target : "", det, ip, st, cnt};
	PGconn *c = db_conn();
	if (r && r->may_defer && c && PQtransactionStatus(c) == PQTRANS_IDLE) {
		if (npending == AUDIT_BATCH_MAX) audit_flush();
		for (int k = 0; k < 7; k++) pending[npending][k] = strdup(params[k] ? params[k] : "");
		npending++;
		return;
	}
	insert_one(params);
}

static long retention_days(void)
{
	char *end;
	long days = 1095;
	PGresult *res = DB_EXEC0("SELECT value FROM settings WHERE key = 'audit_retention_days'");
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		long v = strtol(PQgetvalue(res, 0, 0), &end, 10);
		if (!*end && v >= 1 && v <= 36500) days = v;
	}
	if (res) PQclear(res);
	return days;
}

/* Delete rows older than the retention setting. The application's role has no DELETE on audit_log: the deletion
 * runs inside audit_purge(), a SECURITY DEFINER function owned by rstream_audit (sql/091_protect_audit.sql),
 * in batches so no long lock is held on the table. */
int job_audit_retention(struct job *j)
{
	char days[24];
	snprintf(days, sizeof days, "%ld", retention_days());
	job_progress(j, 10, "deleting");
	PGresult *res = DB_EXEC("SELECT audit_purge($1::int)", days);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(j->error, sizeof j->error, "audit retention delete failed: %s", db_error());
		if (res) PQclear(res);
		return -1;
	}
	long total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	json_object *stats = json_object_new_object();
	json_object_object_add(stats, "deleted", json_object_new_int64(total));
	json_object_object_add(stats, "retention_days", json_object_new_int64(strtol(days, NULL, 10)));
	job_set_stats(j, stats);
	json_object_put(stats);
	job_progress(j, 100, "done");
	audit_record(NULL, "system", "audit.retention", "audit_log", NULL, 200, total);
	return 0;
}

/* Called from the worker loop: enqueue "audit_retention" at most once a day across all worker hosts
 * (the jobs table is the shared memory; the in-process clock only saves queries). */
void audit_schedule_tick(void)
{
	static time_t next_check;
	time_t now = time(NULL);
	if (now < next_check) return;
	next_check = now + 600;
	PGresult *res = DB_EXEC0("SELECT 1 FROM jobs WHERE kind = 'audit_retention' "
				 "AND created_at > now() - interval '1 day' LIMIT 1");
	if (!res) return;
	int recent = PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) > 0;
	PQclear(res);
	if (recent) return;
	if (job_enqueue("audit_retention", NULL, 0) < 0) log_warn("could not enqueue audit_retention");
}
