/* Faults on the heartbeat path: the worker killed in the middle of a flush, Redis restarted mid-stream, a FastCGI
 * worker killed mid-request. Afterwards the merged totals in PostgreSQL equal what the client sent: nothing lost,
 * nothing counted twice. The client behaves like the player: a failed beat's ranges go out with the next one. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include "learn_helpers.h"
#include "worker_helpers.h"

static void kill_worker(void)
{
	long pid = read_pid("worker");
	cr_assert_gt(pid, 0);
	kill((pid_t)pid, SIGKILL);
	for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++) usleep(50000);
}

static char *ranges_upto(int n)
{
	/* n ranges [10k, 10k+5] seconds, k < n: what a player that watched 5 s of every 10 has sent */
	char *s = malloc((size_t)n * 24 + 4);
	strcpy(s, "[");
	for (int k = 0; k < n; k++) sprintf(s + strlen(s), "%s[%d,%d]", k ? "," : "", 10 * k, 10 * k + 5);
	strcat(s, "]");
	return s;
}

struct viewer { long uid; char *h, *pid, *session; };

static struct viewer viewer(const char *what, double duration)
{
	struct viewer v;
	long tid;
	char tname[64], sname[64];
	snprintf(tname, sizeof tname, "lft-%s-%s", what, lh_tag());
	snprintf(sname, sizeof sname, "lfs-%s-%s", what, lh_tag());
	char *th = lh_user("creator", tname, &tid);
	free(th);
	v.h = lh_user("viewer", sname, &v.uid);
	v.pid = lh_video(tid, "public", duration, what);
	v.session = lh_session(v.h, v.pid);
	return v;
}

/* send the cumulative beat for k ranges until it is taken (the player's retry) */
static void beat_until_taken(struct viewer *v, int k)
{
	char *r = ranges_upto(k);
	int st = 0;
	for (int i = 0; i < 100 && st != 202; i++) {
		st = lh_beat(v->h, v->session, v->pid, 10.0 * k, r);
		if (st != 202) usleep(200000);
	}
	cr_assert_eq(st, 202);
	free(r);
}

Test(learn_faults, worker_killed_in_the_middle_of_a_flush_loses_and_doubles_nothing, .timeout = 120)
{
	struct viewer v = viewer("killflush", 600);
	beat_until_taken(&v, 3);
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 15000, 20), 15000);
	/* hold the flush inside PostgreSQL: a lock on view_sessions makes learn_flush() wait mid-batch */
	PGconn *c = PQconnectdb(t_env("DATABASE_URL"));
	cr_assert_eq(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "BEGIN"));
	PGresult *lr = PQexec(c, "LOCK TABLE view_sessions IN EXCLUSIVE MODE");
	cr_assert_eq(PQresultStatus(lr), PGRES_COMMAND_OK);
	PQclear(lr);
	for (int k = 4; k <= 20; k++) beat_until_taken(&v, k);
	int waiting = 0;
	for (int i = 0; i < 200 && !waiting; i++) {
		char *w = lh_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%%learn_flush%%'");
		waiting = w && atoi(w) > 0;
		free(w);
		if (!waiting) usleep(100000);
	}
	cr_assert(waiting, "the worker is inside a flush, waiting for the lock");
	kill_worker();
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	/* the batch may or may not have committed after the worker died; either way it is still pending in Redis */
	start_worker();
	for (int k = 21; k <= 25; k++) beat_until_taken(&v, k);
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 25 * 5000, 40), 25 * 5000, "merged total = what the client sent");
	char *n = lh_sql("SELECT watched_ms FROM view_sessions vs JOIN videos x ON x.id = vs.video_id WHERE x.public_id = '%s'", v.pid);
	cr_assert_str_eq(n, "125000");
	free(n);
	free(v.h); free(v.pid); free(v.session);
}

Test(learn_faults, redis_restarted_mid_stream_loses_nothing, .timeout = 120)
{
	struct viewer v = viewer("redis", 600);
	for (int k = 1; k <= 5; k++) beat_until_taken(&v, k);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "redis-cli -p %s shutdown >/dev/null 2>&1; sleep 0.3", t_env("REDIS_PORT"));
	run(cmd);
	/* while Redis is away the handler says 503 with Retry-After; the player keeps its ranges */
	char *r = ranges_upto(8);
	int st = lh_beat(v.h, v.session, v.pid, 80, r);
	free(r);
	cr_assert_eq(st, 503, "heartbeat with Redis down: %d", st);
	snprintf(cmd, sizeof cmd, "redis-server '%s/redis/redis.conf' >/dev/null 2>&1; for i in $(seq 50); do "
		 "redis-cli -p %s ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1", stack_dir(), t_env("REDIS_PORT"));
	cr_assert_eq(run(cmd), 0, "Redis is back");
	for (int k = 9; k <= 12; k++) beat_until_taken(&v, k);
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 12 * 5000, 40), 12 * 5000);
	free(v.h); free(v.pid); free(v.session);
}

Test(learn_faults, fastcgi_worker_killed_mid_request_loses_nothing, .timeout = 120)
{
	struct viewer v = viewer("fcgi", 1200);
	long master = read_pid("fcgi");
	cr_assert_gt(master, 0);
	int failed = 0;
	for (int k = 1; k <= 60; k++) {
		if (k % 10 == 5) {
			/* kill every FastCGI worker child of the master while beats are in flight */
			char cmd[256];
			snprintf(cmd, sizeof cmd, "for p in $(ps -o pid= --ppid %ld); do kill -KILL $p; done", master);
			pid_t p = fork();
			if (p == 0) { usleep(2000); execl("/bin/sh", "sh", "-c", cmd, (char *)NULL); _exit(127); }
			char *r = ranges_upto(k);
			int st = lh_beat(v.h, v.session, v.pid, 10.0 * k, r);
			free(r);
			failed += st != 202;
			waitpid(p, NULL, 0);
			continue;
		}
		beat_until_taken(&v, k);
	}
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 60 * 5000, 40), 60 * 5000, "(%d beats failed on the way)", failed);
	free(v.h); free(v.pid); free(v.session);
}

/* The heartbeat path does not touch PostgreSQL (signed token, signed playback session, Redis): with the database
 * stopped, pupils' beats are still taken into the Redis stream, and applied once it is back. */
Test(learn_faults, beats_are_taken_while_postgres_is_down_and_applied_after, .timeout = 180)
{
	struct viewer v = viewer("pgdown", 600);
	beat_until_taken(&v, 2);
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 2 * 5000, 30), 2 * 5000);
	char sh[1024];
	snprintf(sh, sizeof sh, "bash '%s/scripts/stack.sh' stop-pg >>'%s/log/faults-stack.log' 2>&1 9>&-",
		 t_env("RSTREAM_ROOT"), stack_dir());
	cr_assert_eq(run(sh), 0, "stack.sh stop-pg failed");
	char *r = ranges_upto(6);
	int st = lh_beat(v.h, v.session, v.pid, 60, r);
	free(r);
	snprintf(sh, sizeof sh, "bash '%s/scripts/stack.sh' start-pg >>'%s/log/faults-stack.log' 2>&1 9>&-",
		 t_env("RSTREAM_ROOT"), stack_dir());
	cr_assert_eq(run(sh), 0, "stack.sh start-pg failed");
	cr_assert_eq(st, 202, "a beat is taken while PostgreSQL is down (got %d)", st);
	cr_assert_eq(lh_wait_watched(v.uid, v.pid, 6 * 5000, 60), 6 * 5000, "applied once PostgreSQL is back");
	free(v.h); free(v.pid); free(v.session);
}
