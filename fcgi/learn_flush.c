/* The heartbeat flusher, run by `rstream worker`: reads beats from the Redis stream with a consumer group,
 * applies a batch in one PostgreSQL statement (learn_flush() in sql/050_learn.sql: union of ranges, so applying
 * a beat twice changes nothing) and only after the commit XACKs and XDELs it. A worker killed mid-batch leaves
 * the batch pending: the next worker of the host (same consumer name) reads its pending entries first, and
 * another host's worker claims entries idle for learn_claim_idle_ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "arena.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "learn.h"
#include "learn_ranges.h"
#include "log.h"

#define BATCH 2000

static int group_ready;
static char consumer[128];

static int ensure_group(void)
{
	if (group_ready) return 0;
	redisReply *r = cache_cmd("XGROUP CREATE " LEARN_STREAM " " LEARN_GROUP " 0 MKSTREAM");
	if (!r) return -1;
	int ok = r->type == REDIS_REPLY_STATUS || (r->type == REDIS_REPLY_ERROR && strstr(r->str, "BUSYGROUP"));
	if (!ok) log_error("learn: XGROUP CREATE: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	if (!ok) return -1;
	if (!consumer[0]) {
		char host[64] = "";
		gethostname(host, sizeof host - 1);
		/* one name per host: a restarted worker finds what its predecessor left pending */
		snprintf(consumer, sizeof consumer, "%s", config_get("learn_consumer", host[0] ? host : "worker"));
	}
	group_ready = 1;
	return 0;
}

struct batch {
	buf sids, uids, vids, ranges, pos, rates, ms, jtis, gens;
	const char **ids;
	size_t *idlens;
	int n, bad;
};

static void add_sep(struct batch *b)
{
	const char *sep = b->n ? "," : "{";
	buf_puts(&b->sids, sep); buf_puts(&b->uids, sep); buf_puts(&b->vids, sep); buf_puts(&b->ranges, sep);
	buf_puts(&b->pos, sep); buf_puts(&b->rates, sep); buf_puts(&b->ms, sep);
	buf_puts(&b->jtis, sep); buf_puts(&b->gens, sep);
}

/* one stream entry: id "ms-seq", field b = "sid uid vid pos_ms rate ranges jti gen" (written by h_learn_views.c;
 * entries written before the token check have no "jti gen" and are applied as they were accepted) */
static int parse_entry(struct batch *b, redisReply *e)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) return -1;
	redisReply *f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements != 2 || f->element[1]->type != REDIS_REPLY_STRING) return -1;
	char sid[33], lit[LEARN_MAX_RANGES * 34 + 4], jti[40] = "";
	long uid, vid, pos, gen = -1;
	double rate;
	if (f->element[1]->len >= sizeof lit) return -1;
	int got = sscanf(f->element[1]->str, "%32[0-9a-f] %ld %ld %ld %lf %6800s %39[0-9A-Za-z_-] %ld",
			 sid, &uid, &vid, &pos, &rate, lit, jti, &gen);
	if (got == 6) { jti[0] = 0; gen = -1; }
	else if (got != 8 || gen < 0) return -1;
	struct learn_range rg[LEARN_MAX_RANGES];
	int n;
	long ms = strtol(e->element[0]->str, NULL, 10);
	if (learn_ranges_scan(lit, rg, &n) < 0 || uid <= 0 || vid <= 0 || pos < 0 || ms <= 0 || !(rate > 0 && rate <= 16))
		return -1;
	char canon[sizeof lit];
	learn_ranges_format(rg, n, canon, sizeof canon);
	add_sep(b);
	buf_puts(&b->sids, sid);
	buf_printf(&b->uids, "%ld", uid);
	buf_printf(&b->vids, "%ld", vid);
	buf_printf(&b->ranges, "\"%s\"", canon);
	buf_printf(&b->pos, "%ld", pos);
	buf_printf(&b->rates, "%.4g", rate);
	buf_printf(&b->ms, "%ld", ms);
	buf_printf(&b->jtis, "\"%s\"", jti);
	buf_printf(&b->gens, "%ld", gen);
	b->n++;
	return 0;
}

/* XACK then XDEL the ids: the beats are in PostgreSQL now */
static void ack(struct batch *b, int total)
{
	for (int k = 0; k < 2; k++) {
		b->ids[0] = k ? "XDEL" : "XACK";
		b->idlens[0] = 4;
		int off = k ? 1 : 0;   /* XDEL has no group argument */
		if (k) { b->ids[1] = "XDEL"; b->idlens[1] = 4; b->ids[2] = LEARN_STREAM; b->idlens[2] = strlen(LEARN_STREAM); }
		redisReply *r = cache_cmd_argv(total + 3 - off, b->ids + off, b->idlens + off);
		if (!r || r->type == REDIS_REPLY_ERROR) log_warn("learn: %s failed (the beats will be applied again, harmlessly)", k ? "XDEL" : "XACK");
		if (r) freeReplyObject(r);
	}
}

/* Apply the entries of one XREADGROUP / XAUTOCLAIM reply. Returns entries handled, -1 when PostgreSQL failed. */
static int apply(redisReply *entries)
{
	if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) return 0;
	int total = (int)entries->elements;
	struct batch b = {0};
	b.ids = calloc((size_t)total + 3, sizeof *b.ids);
	b.idlens = calloc((size_t)total + 3, sizeof *b.idlens);
	int rc = -1;
	b.ids[1] = LEARN_STREAM; b.idlens[1] = strlen(LEARN_STREAM);
	b.ids[2] = LEARN_GROUP; b.idlens[2] = strlen(LEARN_GROUP);
	int k = 0;
	for (int i = 0; i < total; i++) {
		redisReply *e = entries->element[i];
		/* XAUTOCLAIM lists entries deleted meanwhile as nil: nothing to apply, nothing to ack */
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || e->element[0]->type != REDIS_REPLY_STRING) continue;
		b.ids[3 + k] = e->element[0]->str;
		b.idlens[3 + k] = e->element[0]->len;
		k++;
		if (parse_entry(&b, e) < 0) { b.bad++; log_warn("learn: dropping malformed beat %s", e->element[0]->str); }
	}
	if (b.n > 0) {
		buf_puts(&b.sids, "}"); buf_puts(&b.uids, "}"); buf_puts(&b.vids, "}"); buf_puts(&b.ranges, "}");
		buf_puts(&b.pos, "}"); buf_puts(&b.rates, "}"); buf_puts(&b.ms, "}");
		buf_puts(&b.jtis, "}"); buf_puts(&b.gens, "}");
		char share[32];
		snprintf(share, sizeof share, "%.6f", learn_complete_share());
		char ttl[24];
		snprintf(ttl, sizeof ttl, "%ld", config_get_int("learn_session_ttl", 86400));
		/* the handler loaded no account: beats of a disabled account, of a token revoked since (logout) or issued
		 * before a password change are dropped here, set-based, and acked with the rest.
		 * stats_mark (sql/060_stats.sql) in the same statement: the rollups' dirty marks commit with the beats */
		PGresult *res = DB_EXEC("SELECT learn_flush(array_agg(sid), array_agg(uid), array_agg(vid), array_agg(mr), "
					"array_agg(pos), array_agg(rate), array_agg(ms), $10::float8), "
					"stats_mark(array_agg(uid), array_agg(vid), array_agg(ms), $11, $12::bigint) "
					"FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::int8multirange[], $5::bigint[], "
					"$6::real[], $7::bigint[], $8::text[], $9::bigint[]) AS b(sid, uid, vid, mr, pos, rate, ms, jti, gen) "
					"WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = b.uid AND NOT u.disabled "
					"  AND (b.gen < 0 OR u.token_gen = b.gen)) "
					"AND (b.jti = '' OR NOT EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.jti = b.jti))",
					b.sids.p, b.uids.p, b.vids.p, b.ranges.p, b.pos.p, b.rates.p, b.ms.p, b.jtis.p, b.gens.p,
					share, learn_tz(), ttl);
		if (!res) { log_error("learn: flush of %d beats failed (kept in Redis): %s", b.n, db_error()); goto out; }
		PQclear(res);
	}
	if (k) ack(&b, k);
	rc = k;
out:
	buf_free(&b.sids); buf_free(&b.uids); buf_free(&b.vids); buf_free(&b.ranges);
	buf_free(&b.pos); buf_free(&b.rates); buf_free(&b.ms); buf_free(&b.jtis); buf_free(&b.gens);
	free(b.ids);
	free(b.idlens);
	return rc;
}

/* the entries array of an XREADGROUP reply: [[stream, [entries]]] */
static redisReply *read_entries(redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return NULL;
	redisReply *s = r->element[0];
	return s->type == REDIS_REPLY_ARRAY && s->elements == 2 ? s->element[1] : NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* When the last read got beats, the next read waits until gather_ms after it, so a batch holds what arrived
 * meanwhile: PostgreSQL's cost per statement (a few ms) is shared by hundreds of beats instead of a handful. A
 * full batch (more waiting) or an empty read (idle: the first beat goes at once) does not wait. */
static double last_read;
static int flowing, full;

static double gather_ms(void) { return (double)config_get_int("learn_flush_gather_ms", 200); }

int learn_flush_wait_ms(void)
{
	if (full) return 0;
	if (!flowing) return 1000;
	double left = last_read + gather_ms() - now_ms();
	return left <= 0 ? 0 : left >= 1000 ? 1000 : (int)left + 1;
}

int learn_flush_tick(int budget_ms)
{
	static double last_fail;
	double t0 = now_ms();
	if (last_fail && t0 - last_fail < 1000) return 0;   /* Redis or PostgreSQL down: retry once a second */
	if (flowing && !full && t0 - last_read < gather_ms()) return 0;
	last_read = t0;
	flowing = full = 0;
	if (ensure_group() < 0) { last_fail = t0; return -1; }
	int applied = 0;
	/* 0: what this host's worker left pending (e.g. killed mid-batch); 1: other consumers' stale entries;
	 * 2: new beats */
	for (int phase = 0; phase < 3; ) {
		redisReply *r = NULL, *entries = NULL;
		if (phase == 0) {
			r = cache_cmd("XREADGROUP GROUP " LEARN_GROUP " %s COUNT %d STREAMS " LEARN_STREAM " 0", consumer, BATCH);
			entries = read_entries(r);
		} else if (phase == 1) {
			r = cache_cmd("XAUTOCLAIM " LEARN_STREAM " " LEARN_GROUP " %s %ld 0-0 COUNT %d", consumer,
				      config_get_int("learn_claim_idle_ms", 60000), BATCH);
			entries = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 ? r->element[1] : NULL;
		} else {
			r = cache_cmd("XREADGROUP GROUP " LEARN_GROUP " %s COUNT %d STREAMS " LEARN_STREAM " >", consumer, BATCH);
			entries = read_entries(r);
		}
		if (!r || r->type == REDIS_REPLY_ERROR) {
			/* NOGROUP: the stream was lost with Redis; make the group again next time */
			if (r && strstr(r->str, "NOGROUP")) group_ready = 0;
			if (r) freeReplyObject(r);
			last_fail = t0;
			return applied ? applied : -1;
		}
		int n = apply(entries);
		freeReplyObject(r);
		if (n < 0) { last_fail = t0; return applied ? applied : -1; }
		applied += n;
		full = phase == 2 && n == BATCH;
		if (n < BATCH || phase == 1) phase++;
		if (now_ms() - t0 > budget_ms) break;
	}
	last_fail = 0;
	flowing = applied > 0;
	return applied;
}
