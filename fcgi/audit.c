/* Audit log: one INSERT per event, plus the retention job and its once-a-day scheduling.
 * Outside a transaction the INSERT commits asynchronously (the WAL flush is not waited for): an API read then
 * costs no fsync, and a crash of PostgreSQL itself can lose at most the last few hundred milliseconds of rows.
 * The rows of reads on kept connections wait in the worker, after their answers, and go in one INSERT
 * (audit_flush) at most 50 ms or 128 rows later: a worker that crashes loses those. */
#include "audit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db.h"
#include "http.h"
#include "jobs.h"
#include "log.h"

/* rows waiting for audit_flush: 7 strings each, malloc'd (ip "" for none) */
#define AUDIT_BATCH_MAX 256
#define AUDIT_DUE_ROWS 128
#define AUDIT_DUE_SECONDS 0.05
static char *pending[AUDIT_BATCH_MAX][7];
static int npending;
static double oldest;   /* when the first waiting row came (monotonic seconds) */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int audit_pending(void)
{
	return npending;
}

/* fewer, larger INSERTs (see the server's parked requests) */
int audit_due(void)
{
	return npending >= AUDIT_DUE_ROWS || (npending && mono() - oldest >= AUDIT_DUE_SECONDS);
}

/* Outside a transaction one prepared statement (db_exec_prepared: API reads run it on every request), committed
 * asynchronously; inside a caller's transaction the row commits with it (and must not make that commit
 * asynchronous). */
static void insert_one(const char *const *params)
{
	PGresult *res = db_in_transaction()
		? db_exec("INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
			  "VALUES ($1, $2, $3, $4::jsonb, $5, $6::int, NULLIF($7, '-1')::bigint)", 7, params)
		: db_exec_prepared("INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
				   "SELECT $1, $2, $3, $4::jsonb, $5, $6::int, NULLIF($7, '-1')::bigint "
				   "FROM (SELECT set_config('synchronous_commit', 'off', true)) s", 7, params);
	if (!res) log_error("audit insert failed: %s (action %s)", db_error(), params[1]);
	PQclear(res);
}

/* rows of the INSERT in flight (audit_flush sends it without waiting) */
static char *sent[AUDIT_BATCH_MAX][7];
static int nsent;

/* the rows of a batch INSERT that ok or failed: on failure row by row, so one bad row costs only itself, unless the
 * server is down (one line then, not a reconnect per row); then freed */
static void settle(char *rows[][7], int n, int ok)
{
	int lost = !ok && db_outage();
	if (lost) log_error("audit: %d rows not written: %s", n, db_error());
	for (int i = 0; i < n; i++) {
		if (!ok && !lost) {
			const char *p[7] = {rows[i][0], rows[i][1], rows[i][2], rows[i][3], *rows[i][4] ? rows[i][4] : NULL,
					    rows[i][5], rows[i][6]};
			insert_one(p);
		}
		for (int k = 0; k < 7; k++) free(rows[i][k]);
	}
}

void audit_collect(void)
{
	if (!nsent) return;
	PGresult *res = db_sent_result();
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	settle(sent, nsent, ok);
	nsent = 0;
}

/* One INSERT for the waiting rows, committed asynchronously like a single row. It is sent without waiting (the
 * worker answers other requests meanwhile: a flush of 128 rows waited 10-23 ms for PostgreSQL on a busy host, and
 * every request on the worker's connections with it); its result is read at the next flush or use of the
 * connection. */
void audit_flush(void)
{
	audit_collect();
	if (!npending) return;
	static arena *a;
	if (!a) a = arena_new(16 * 1024);
	const char *col[7][AUDIT_BATCH_MAX], *arr[7];
	for (int k = 0; k < 7; k++) {
		for (int i = 0; i < npending; i++) col[k][i] = pending[i][k];
		arr[k] = db_text_array(a, col[k], npending);
	}
	/* prepared: the same text for any number of rows, parsed and planned once per connection */
	const char *sql = "INSERT INTO audit_log (actor, action, target, detail, ip, status, result_count) "
			  "SELECT t.actor, t.action, t.target, t.detail::jsonb, NULLIF(t.ip, ''), t.status::int, "
			  "NULLIF(t.n, '-1')::bigint "
			  "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
			  "AS t(actor, action, target, detail, ip, status, n), "
			  "(SELECT set_config('synchronous_commit', 'off', true)) s";
	if (db_send_prepared(sql, 7, arr) == 0) {   /* libpq copied the parameters: the arena may go */
		memcpy(sent, pending, sizeof pending[0] * (size_t)npending);
		nsent = npending;
	} else {
		PGresult *res = db_exec_prepared(sql, 7, arr);
		settle(pending, npending, res != NULL);
		PQclear(res);
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
	/* not db_conn(): that would wait for the INSERT in flight */
	if (r && r->may_defer && !db_in_transaction()) {
		if (npending == AUDIT_BATCH_MAX) audit_flush();
		if (!npending) oldest = mono();
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
