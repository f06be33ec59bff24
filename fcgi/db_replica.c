/* The read replica: one extra libpq connection per process to DATABASE_READ_URL, used only inside a read scope.
 * Its health (reachable, replay lag) is checked at most once a second per process and cached: a replica that is
 * down or further behind than database_read_max_lag_ms makes reads fall back to the primary, counted in /metrics.
 * Read-your-writes: a write request marks its author in Redis for a few seconds; that author reads the primary. */
#include "db_replica.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cache.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

enum health { H_UNKNOWN, H_OK, H_DOWN, H_LAG };

static PGconn *rconn;
static enum health health;
static double checked_at;
static int in_scope, checking;
static int ryw;                     /* -1 not looked up yet in this scope, 0 no recent write, 1 recent write */
static char who[80];

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *read_url(void)
{
	const char *u = config_get("database_read_url", NULL);
	return u && *u ? u : NULL;
}

static long max_lag_ms(void)
{
	long v = config_get_int("database_read_max_lag_ms", 2000);
	return v < 0 ? 0 : v;
}

int db_replica_configured(void) { return read_url() != NULL; }

void db_replica_begin(const char *identity)
{
	in_scope = read_url() != NULL;
	ryw = identity ? -1 : 0;
	snprintf(who, sizeof who, "%s", identity ? identity : "");
}

void db_replica_end(void) { in_scope = 0; }

void db_replica_wrote(const char *identity)
{
	if (!identity || !read_url()) return;
	/* long enough for any replica we still read from (lag within the limit, checked each second) to have it */
	long ttl = (max_lag_ms() + 999) / 1000 + 2;
	redisReply *r = cache_cmd("SET rs:ryw:%s 1 EX %ld", identity, ttl);
	if (r) freeReplyObject(r);
}

static void fallback(const char *reason)
{
	char labels[48];
	snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
	metrics_inc("rstream_db_replica_fallbacks_total", labels, 1);
}

static void drop(void)
{
	if (rconn) PQfinish(rconn);
	rconn = NULL;
}

/* the replica has replayed the primary's WAL up to lsn, looking for up to tries × 20 ms */
static int caught_up(const char *lsn, int tries)
{
	const char *params[1] = {lsn};
	for (int i = 0; i < tries; i++) {
		if (i) usleep(20000);
		PGresult *r = PQexecParams(rconn, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", 1, NULL, params, NULL,
					   NULL, 0);
		int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		if (ok) return 1;
	}
	return 0;
}

static enum health check(void)
{
	if (!rconn || PQstatus(rconn) != CONNECTION_OK) {
		drop();
		/* a replica host that does not answer must not stall the request for long */
		const char *keys[] = {"dbname", "connect_timeout", NULL};
		const char *vals[] = {read_url(), "2", NULL};
		rconn = PQconnectdbParams(keys, vals, 1);
		if (PQstatus(rconn) != CONNECTION_OK) {
			log_warn("read replica unreachable: %s", PQerrorMessage(rconn));
			drop();
			return H_DOWN;
		}
		PQsetNoticeProcessor(rconn, NULL, NULL);
	}
	PGresult *r = PQexec(rconn, "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::text, '0/0'), "
				    "(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("read replica check failed: %s", PQerrorMessage(rconn));
		PQclear(r);
		drop();
		return H_DOWN;
	}
	int standby = PQgetvalue(r, 0, 0)[0] == 't';
	char lsn[64];
	snprintf(lsn, sizeof lsn, "%s", PQgetvalue(r, 0, 1));
	long age_ms = PQgetisnull(r, 0, 2) ? -1 : strtol(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	if (!standby) return H_OK;   /* promoted, or a primary named as the read URL: nothing to lag behind */
	/* behind only when the primary has WAL the replica has not replayed; then the lag is the age of the last
	 * replayed commit (an idle primary leaves an old timestamp on an up-to-date replica: not lag) */
	r = DB_EXEC("SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), $1::pg_lsn)::bigint, "
		    "pg_current_wal_flush_lsn()::text", lsn);
	if (!r) return H_OK == health ? H_OK : H_UNKNOWN;   /* the primary's trouble is not the replica's */
	long behind = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	char primary_lsn[64];
	snprintf(primary_lsn, sizeof primary_lsn, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	if (behind <= 0) return H_OK;
	/* A primary idle for longer than the limit that has just written (a commit, a standby snapshot) is "behind"
	 * for the instant its record takes to stream and replay, with an old last commit: lag only if the replica has
	 * still not replayed that point a moment later. Only flushed WAL streams, so the point is the primary's flush
	 * position. The look lasts up to 500 ms on a loaded host (a full run saw 2 s of age and 56 bytes not replayed
	 * after 100 ms), but only when the replica was not already lagging: a replica far behind costs one look. */
	if ((age_ms < 0 || age_ms > max_lag_ms()) && caught_up(primary_lsn, health == H_LAG ? 1 : 25)) return H_OK;
	if (age_ms < 0 || age_ms > max_lag_ms()) {
		if (health != H_LAG) log_warn("read replica %ld bytes / %ld ms behind: reading the primary", behind, age_ms);
		return H_LAG;
	}
	return H_OK;
}

PGconn *db_replica_pick(void)
{
	if (!in_scope || checking) return NULL;
	if (ryw < 0) {
		char key[100];
		snprintf(key, sizeof key, "rs:ryw:%s", who);
		redisReply *r = cache_cmd("EXISTS %s", key);
		/* Redis down: we cannot know, so the author's reads stay on the primary */
		ryw = !r || r->type != REDIS_REPLY_INTEGER || r->integer != 0;
		if (r) freeReplyObject(r);
	}
	if (ryw) { fallback("recent_write"); return NULL; }
	double t = mono();
	if (health == H_UNKNOWN || t - checked_at >= 1.0) {
		checking = 1;
		health = check();
		checking = 0;
		checked_at = t;
	}
	if (health == H_DOWN) { fallback("down"); return NULL; }
	if (health != H_OK) { fallback("lag"); return NULL; }
	metrics_inc("rstream_db_replica_reads_total", "", 1);
	return rconn;
}

void db_replica_failed(void)
{
	fallback("error");
	if (rconn && PQstatus(rconn) != CONNECTION_OK) {
		/* the replica went away: no more tries from this process until the next check */
		drop();
		health = H_DOWN;
		checked_at = mono();
	}
}

void db_replica_after_fork(void)
{
	if (rconn) close(PQsocket(rconn));
	rconn = NULL;
	health = H_UNKNOWN;
}

void db_replica_close(void) { drop(); }
