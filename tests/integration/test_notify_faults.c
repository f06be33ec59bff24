/* The worker killed in the middle of a fan-out: after its restart (and the lease expiring) the job runs again,
 * and every student has the notice exactly once (the unique key per event and user), with one e-mail each. */
#include <sys/stat.h>
#include <sys/wait.h>
#include "notify_helpers.h"
#include "worker_helpers.h"

Test(notify_faults, worker_killed_mid_fanout_delivers_each_notice_exactly_once, .timeout = 150)
{
	const char *tag = lh_tag();
	char s[3][64];
	const char *st[3];
	long ids[3];
	for (int i = 0; i < 3; i++) { snprintf(s[i], sizeof s[i], "nkf%d-%s", i, tag); st[i] = s[i]; }
	/* hold the fan-out inside PostgreSQL: an EXCLUSIVE lock on notifications makes its INSERT wait */
	PGconn *c = PQconnectdb(t_env("DATABASE_URL"));
	cr_assert_eq(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "BEGIN"));
	PGresult *lr = PQexec(c, "LOCK TABLE notifications IN EXCLUSIVE MODE");
	cr_assert_eq(PQresultStatus(lr), PGRES_COMMAND_OK);
	PQclear(lr);
	/* the request itself only enqueues: it answers while the fan-out is blocked */
	long aid = nh_assign(tag, st, 3, ids, NULL, "途中で止まる配信");
	int waiting = 0;
	for (int i = 0; i < 300 && !waiting; i++) {
		char *w = lh_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%%SELECT DISTINCT x.user_id, $4::text AS event_key%%'");
		waiting = w && atoi(w) > 0;
		free(w);
		if (!waiting) usleep(100000);
	}
	cr_assert(waiting, "the worker is inside the fan-out, waiting for the lock");
	cr_assert_gt(read_pid("worker"), 0);
	kill_all_workers();
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	start_worker();
	/* the lost job comes back after its lease (30 s) and runs again */
	char *v = nh_wait("done", 100, "SELECT state FROM jobs WHERE kind = 'notify_fanout' AND payload->>'event' = 'assignment:%ld' "
			  "ORDER BY id LIMIT 1", aid);
	cr_assert_str_eq(v, "done");
	free(v);
	v = lh_sql("SELECT attempts FROM jobs WHERE kind = 'notify_fanout' AND payload->>'event' = 'assignment:%ld' ORDER BY id LIMIT 1", aid);
	cr_assert_geq(atoi(v), 2, "the job ran again after the kill (attempts %s)", v);
	free(v);
	for (int i = 0; i < 3; i++) {
		v = lh_sql("SELECT count(*) FROM notifications WHERE user_id = %ld AND event_key = 'assignment:%ld'", ids[i], aid);
		cr_assert_str_eq(v, "1", "student %d: exactly one notice", i);
		free(v);
		v = lh_sql("SELECT count(*) FROM mail_outbox o JOIN notifications x ON x.id = o.notification_id "
			   "WHERE x.user_id = %ld AND x.event_key = 'assignment:%ld'", ids[i], aid);
		cr_assert_str_eq(v, "1", "student %d: exactly one e-mail queued", i);
		free(v);
	}
}
