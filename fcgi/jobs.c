/* The job queue. Jobs are rows claimed with FOR UPDATE SKIP LOCKED; the worker runs each job in a forked
 * child so a crash (or kill -9) of the job never takes the worker down, and heartbeats the lease meanwhile.
 * A worker that dies itself stops heartbeating: any other worker re-queues its jobs after the lease expires.
 * Fencing: a claim increments jobs.attempts, and every later write of the claimant (heartbeat, progress,
 * done, retry) names (id, attempts, locked_by) in its WHERE clause, so a claimant whose lease expired and was
 * taken over writes nothing. All lease times are the database's now(): a worker host's clock never counts. */
#include "jobs.h"
#include "learn.h"
#include "recommend.h"
#include "search_index.h"
#include "stats.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cache.h"
#include "config.h"
#include "db.h"
#include "log.h"

/* a job whose heartbeat (every 5 s) is older than this is re-queued: config job_lease_seconds */
#define LEASE_SECONDS 30
#define MAX_CHILDREN 8

static volatile sig_atomic_t stop_flag;
static char worker_id[96];

long job_enqueue(const char *kind, json_object *payload, long created_by)
{
	int max = 3;
	for (int i = 0; i < njob_kinds; i++)
		if (!strcmp(job_kinds[i].kind, kind)) max = job_kinds[i].max_attempts;
	char maxs[16], by[24];
	snprintf(maxs, sizeof maxs, "%d", max);
	snprintf(by, sizeof by, "%ld", created_by);
	const char *pl = payload ? json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN) : "{}";
	PGresult *r = DB_EXEC("INSERT INTO jobs (kind, payload, max_attempts, created_by) "
			      "VALUES ($1, $2::jsonb, $3::int, NULLIF($4::bigint, 0)) RETURNING id",
			      kind, pl, maxs, by);
	if (!r) { log_error("job_enqueue %s: %s", kind, db_error()); return -1; }
	long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	DB_CMD("SELECT pg_notify('rstream_jobs', $1)", kind);
	return id;
}

/* intervals on this host only (rate limits, tick periods): monotonic, so a host clock that is wrong or jumps
 * changes nothing */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the fence of the running claim: id, attempt, claimant */
struct fence { char id[24], attempt[16]; };
static void fence_of(long id, int attempt, struct fence *f)
{
	snprintf(f->id, sizeof f->id, "%ld", id);
	snprintf(f->attempt, sizeof f->attempt, "%d", attempt);
}
#define FENCE_SQL "id = $1::bigint AND attempts = $2::int AND locked_by = $3 AND state = 'running'"

int job_lease_hold(struct job *j)
{
	struct fence f;
	fence_of(j->id, j->attempt, &f);
	PGresult *r = DB_EXEC("SELECT 1 FROM jobs WHERE " FENCE_SQL " FOR UPDATE", f.id, f.attempt, worker_id);
	if (!r) { log_error("job %ld lease check: %s", j->id, db_error()); return -1; }
	int held = PQntuples(r) == 1;
	PQclear(r);
	if (!held) log_warn("job %ld attempt %d: lease lost (another worker took the job over)", j->id, j->attempt);
	return held;
}

int job_commit_fence(struct job *j, PGconn *conn)
{
	struct fence f;
	fence_of(j->id, j->attempt, &f);
	const char *p[3] = {f.id, f.attempt, worker_id};
	PGresult *r = PQexecParams(conn, "SELECT cancel_requested FROM jobs WHERE " FENCE_SQL " FOR UPDATE", 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("job %ld commit fence: %s", j->id, PQerrorMessage(conn));
		PQclear(r);
		return -1;
	}
	int ok = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 'f';
	if (PQntuples(r) != 1) log_warn("job %ld attempt %d: lease lost before commit", j->id, j->attempt);
	PQclear(r);
	return ok;
}

static double last_progress_write;
static char *pending_stats;

void job_progress(struct job *j, double pct, const char *message)
{
	double t = now_s();
	if (pct < 100 && t - last_progress_write < 0.25) return;   /* a busy loop must not flood the database */
	last_progress_write = t;
	if (pct < 0) pct = 0;
	if (pct > 100) pct = 100;
	char p[32];
	struct fence f;
	fence_of(j->id, j->attempt, &f);
	snprintf(p, sizeof p, "%.2f", pct);
	DB_CMD("UPDATE jobs SET progress = $4::real, message = $5, heartbeat_at = now(), "
	       "stats = COALESCE($6::jsonb, stats) WHERE " FENCE_SQL,
	       f.id, f.attempt, worker_id, p, message ? message : "", pending_stats);
	free(pending_stats);
	pending_stats = NULL;
}

void job_set_stats(struct job *j, json_object *stats)
{
	(void)j;
	free(pending_stats);
	pending_stats = strdup(json_object_to_json_string_ext(stats, JSON_C_TO_STRING_PLAIN));
}

int job_cancelled(struct job *j)
{
	static double last;
	static int cached;
	double t = now_s();
	if (t - last < 1.0) return cached;
	last = t;
	struct fence f;
	fence_of(j->id, j->attempt, &f);
	/* a lost lease counts as cancelled: the job stops wasting work that could never be published */
	PGresult *r = DB_EXEC("SELECT cancel_requested OR NOT (attempts = $2::int AND locked_by IS NOT DISTINCT FROM $3 "
			      "AND state = 'running') FROM jobs WHERE id = $1::bigint", f.id, f.attempt, worker_id);
	cached = r && PQntuples(r) && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return cached;
}

int job_noop(struct job *j)
{
	json_object *v;
	if (json_object_object_get_ex(j->payload, "fail", &v) && json_object_get_boolean(v)) {
		snprintf(j->error, sizeof j->error, "asked to fail");
		return -1;
	}
	/* "seconds": keep running that long (the lease tests take a running job over) */
	int steps = 4;
	if (json_object_object_get_ex(j->payload, "seconds", &v)) {
		int secs = json_object_get_int(v);
		steps = secs < 1 ? 4 : secs > 120 ? 120 * 20 : secs * 20;
	}
	for (int i = 0; i <= steps; i++) { job_progress(j, 100.0 * i / steps, "working"); usleep(50000); }
	return 0;
}

static const struct job_kind *kind_find(const char *kind)
{
	for (int i = 0; i < njob_kinds; i++)
		if (!strcmp(job_kinds[i].kind, kind)) return &job_kinds[i];
	return NULL;
}

/* Jobs whose worker vanished go back to the queue (or fail when out of attempts). */
static void reap_lost(void)
{
	char lease[16];
	long secs = config_get_int("job_lease_seconds", LEASE_SECONDS);
	snprintf(lease, sizeof lease, "%ld", secs < 10 ? 10 : secs);
	PGresult *r = DB_EXEC("UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, "
			      "locked_by = NULL, run_after = now(), "
			      "error = 'worker lost while running (lease expired); ' || COALESCE(error, ''), "
			      "finished_at = CASE WHEN attempts >= max_attempts THEN now() END "
			      "WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1::int) RETURNING id",
			      lease);
	if (r) {
		for (int i = 0; i < PQntuples(r); i++) log_warn("job %s re-queued: its worker was lost", PQgetvalue(r, i, 0));
		PQclear(r);
	}
}

/* transcode_ok 0: this host runs as many transcodes as worker_transcode_concurrency allows; take other kinds */
static PGresult *claim(int transcode_ok)
{
	return DB_EXEC("UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_at = now(), "
		       "heartbeat_at = now(), started_at = COALESCE(started_at, now()), error = NULL "
		       "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= now() "
		       "            AND ($2::int = 1 OR kind <> 'transcode') "
		       "            ORDER BY run_after, id FOR UPDATE SKIP LOCKED LIMIT 1) "
		       "RETURNING id, kind, payload, attempts, max_attempts",
		       worker_id, transcode_ok ? "1" : "0");
}

int job_complete(struct job *j)
{
	struct fence f;
	fence_of(j->id, j->attempt, &f);
	PGresult *r = DB_EXEC("UPDATE jobs SET state = 'done', progress = 100, finished_at = now(), locked_by = NULL, "
			      "stats = COALESCE($4::jsonb, stats) WHERE " FENCE_SQL " RETURNING id",
			      f.id, f.attempt, worker_id, pending_stats);
	if (!r) { log_error("job %ld done but not recorded: %s", j->id, db_error()); return -1; }
	int ours = PQntuples(r) == 1;
	PQclear(r);
	free(pending_stats);
	pending_stats = NULL;
	if (!ours) log_warn("job %ld attempt %d finished after its lease was taken over: result dropped", j->id, j->attempt);
	j->completed = 1;
	return ours;
}

/* Child side: run the job function; exit 0 done (recorded here), 1 retry, 2 failed for good, 3 lease lost. */
static void run_child(long id, const char *kind, const char *payload, int attempt, int max_attempts)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);   /* a reload is the worker's business; the job writes to the files it has */
	prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a job never outlives its worker: the lease reaper re-runs it */
	db_after_fork();
	cache_after_fork();
	struct job j = {.id = id, .kind = kind, .attempt = attempt, .max_attempts = max_attempts};
	j.payload = json_tokener_parse(payload);
	if (!j.payload) j.payload = json_object_new_object();
	const struct job_kind *k = kind_find(kind);
	int rc;
	if (!k) { snprintf(j.error, sizeof j.error, "unknown job kind %s", kind); rc = -2; }
	else rc = k->fn(&j);
	struct fence f;
	fence_of(id, attempt, &f);
	if (rc == 0 && !j.completed) {
		/* done is recorded by the claimant itself, fenced: a taken-over attempt records nothing */
		int c = job_complete(&j);
		rc = c == 1 ? 0 : c == 0 ? -3 : -1;
	} else if (rc < 0 && rc != -3) {
		DB_CMD("UPDATE jobs SET error = $4, stats = COALESCE($5::jsonb, stats) WHERE " FENCE_SQL,
		       f.id, f.attempt, worker_id, j.error[0] ? j.error : "job failed", pending_stats);
	}
	json_object_put(j.payload);
	exit(rc == 0 ? 0 : rc == -2 ? 2 : rc == -3 ? 3 : 1);
}

static void finish(long id, int attempt, int status)
{
	char err[128] = "";
	struct fence f;
	fence_of(id, attempt, &f);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (WIFSIGNALED(status)) snprintf(err, sizeof err, "job process killed by signal %d", WTERMSIG(status));
	if (code == 0) { log_info("job %ld done", id); return; }
	if (code == 3) { log_warn("job %ld attempt %d stopped: its lease was taken over", id, attempt); return; }
	/* exponential backoff: 2, 4, 8 … seconds, capped at 10 minutes; fenced like every write of a claimant */
	DB_CMD("UPDATE jobs SET locked_by = NULL, error = COALESCE(NULLIF($4, ''), error), "
	       "state = CASE WHEN $5::int = 2 OR cancel_requested OR attempts >= max_attempts THEN "
	       "             (CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END) ELSE 'queued' END, "
	       "finished_at = CASE WHEN $5::int = 2 OR cancel_requested OR attempts >= max_attempts THEN now() END, "
	       "run_after = now() + make_interval(secs => LEAST(600, power(2, attempts))) WHERE " FENCE_SQL,
	       f.id, f.attempt, worker_id, err, code == 2 ? "2" : "1");
	log_warn("job %ld ended with %s", id, err[0] ? err : code == 2 ? "a permanent failure" : "a failure (will retry)");
}

static void on_term(int sig) { (void)sig; stop_flag = 1; }
static volatile sig_atomic_t reopen_flag;
static void on_hup(int sig) { (void)sig; reopen_flag = 1; }   /* logrotate: reopen the log files, go on */

struct child { pid_t pid; long job; int attempt, transcode; };

static void heartbeat(struct child *kids, int n)
{
	for (int i = 0; i < n; i++) {
		struct fence f;
		fence_of(kids[i].job, kids[i].attempt, &f);
		DB_CMD("UPDATE jobs SET heartbeat_at = now() WHERE " FENCE_SQL, f.id, f.attempt, worker_id);
	}
}

static void reap_children(struct child *kids, int *n, int block)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
		if (pid <= 0) return;
		for (int i = 0; i < *n; i++) {
			if (kids[i].pid != pid) continue;
			finish(kids[i].job, kids[i].attempt, status);
			kids[i] = kids[--*n];
			break;
		}
		block = 0;
	}
}

static int start_one(struct child *kids, int *n, int max_transcodes)
{
	int transcodes = 0;
	for (int i = 0; i < *n; i++) transcodes += kids[i].transcode;
	PGresult *r = claim(transcodes < max_transcodes);
	if (!r) { log_error("claim failed: %s", db_error()); return -1; }
	if (PQntuples(r) == 0) { PQclear(r); return 0; }
	long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	char *kind = strdup(PQgetvalue(r, 0, 1)), *payload = strdup(PQgetvalue(r, 0, 2));
	int attempt = atoi(PQgetvalue(r, 0, 3)), max = atoi(PQgetvalue(r, 0, 4));
	PQclear(r);
	log_info("job %ld (%s) attempt %d/%d", id, kind, attempt, max);
	int is_transcode = !strcmp(kind, "transcode");
	pid_t pid = fork();
	if (pid == 0) run_child(id, kind, payload, attempt, max);
	free(kind);
	free(payload);
	if (pid < 0) {
		struct fence f;
		fence_of(id, attempt, &f);
		DB_CMD("UPDATE jobs SET state = 'queued', locked_by = NULL WHERE " FENCE_SQL, f.id, f.attempt, worker_id);
		return -1;
	}
	kids[*n].pid = pid;
	kids[*n].job = id;
	kids[*n].attempt = attempt;
	kids[*n].transcode = is_transcode;
	(*n)++;
	return 1;
}

__attribute__((weak)) void audit_schedule_tick(void);
__attribute__((weak)) void notify_schedule_tick(void);
__attribute__((weak)) void dataset_schedule_tick(void);

int jobs_worker_main(void)
{
	char host[64] = "";
	gethostname(host, sizeof host - 1);
	snprintf(worker_id, sizeof worker_id, "%s:%d", host, getpid());
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	struct sigaction hup = {.sa_handler = on_hup};   /* no SA_RESTART: the wait for NOTIFY ends early */
	sigaction(SIGHUP, &hup, NULL);
	int concurrency = (int)config_get_int("worker_concurrency", 2);
	if (concurrency < 1) concurrency = 1;
	if (concurrency > MAX_CHILDREN) concurrency = MAX_CHILDREN;
	/* ffmpeg takes every core it gets: a host says how many transcodes it runs at once (its own config file) */
	int transcodes = (int)config_get_int("worker_transcode_concurrency", concurrency);
	if (transcodes < 0) transcodes = 0;
	struct child kids[MAX_CHILDREN];
	int nkids = 0;
	if (db_cmd("LISTEN rstream_jobs", 0, NULL) < 0) log_warn("LISTEN failed: %s", db_error());
	log_info("worker %s started (concurrency %d, transcodes %d)", worker_id, concurrency, transcodes);
	double last_beat = 0, last_reap = 0;
	while (!stop_flag) {
		if (reopen_flag) { reopen_flag = 0; log_reopen(); log_info("SIGHUP: log files reopened"); }
		reap_children(kids, &nkids, 0);
		double t = now_s();
		if (t - last_reap > 5) {
			reap_lost();
			if (audit_schedule_tick) audit_schedule_tick();
			if (notify_schedule_tick) notify_schedule_tick();
			if (dataset_schedule_tick) dataset_schedule_tick();
			last_reap = t;
		}
		if (t - last_beat > 5) { heartbeat(kids, nkids); last_beat = t; }
		int started = 0;
		while (nkids < concurrency && start_one(kids, &nkids, transcodes) == 1) started = 1;
		/* viewing heartbeats buffered in Redis; learn_flush_wait_ms() says when the next batch is due */
		learn_flush_tick(250);
		/* videos whose search text changed (sql/080_search.sql); a full batch means more are queued */
		if (search_index_tick(500) == 500) started = 1;
		/* new views into the "watched together" co-view counts (sql/093_recommend.sql) */
		if (recommend_tick(500) == 500) started = 1;
		/* statistics rollups from what the flush marked dirty (stats_rollup.c) */
		stats_tick(250);
		int wait_ms = learn_flush_wait_ms();
		if (started || wait_ms == 0) continue;
		/* sleep until NOTIFY or a short timeout (also picks up delayed retries) */
		PGconn *c = db_conn();
		if (!c) { sleep(1); continue; }
		int fd = PQsocket(c);
		fd_set rf;
		FD_ZERO(&rf);
		FD_SET(fd, &rf);
		struct timeval tv = {wait_ms / 1000, (wait_ms % 1000) * 1000};
		if (select(fd + 1, &rf, NULL, NULL, &tv) > 0) {
			PQconsumeInput(c);
			PGnotify *nt;
			while ((nt = PQnotifies(c))) PQfreemem(nt);
		}
		if (PQstatus(c) == CONNECTION_BAD) { db_conn(); db_cmd("LISTEN rstream_jobs", 0, NULL); }
	}
	log_info("worker stopping: waiting for %d running job(s)", nkids);
	/* let running jobs finish; their children got no signal of their own */
	while (nkids > 0) {
		heartbeat(kids, nkids);
		reap_children(kids, &nkids, 1);
	}
	return 0;
}

int jobs_run_one(void)
{
	snprintf(worker_id, sizeof worker_id, "cli:%d", getpid());
	struct child kids[1];
	int n = 0;
	int rc = start_one(kids, &n, 1);
	if (rc <= 0) return rc;
	reap_children(kids, &n, 1);
	return 1;
}
