/* Backup and restore end to end: data made through the product (users, a roster import, a transcoded video,
 * viewing), `rstream backup`, then `rstream restore` into a FRESH stack (its own STACK_DIR and ports at
 * HTTP_PORT+11..13); every table's rows, the video's HLS files and source compared; a corrupted backup and a
 * wrong key refused with nothing touched. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/wait.h>
#include "harness.h"
#include "learn_helpers.h"
#include "video_helpers.h"

static char scratch[128], stackdir[256], fresh_env[2048];

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) return strdup("");
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* the fresh stack: PostgreSQL, Redis and nginx only; the restore brings the data */
static void fresh_start(void)
{
	int base = atoi(t_env("HTTP_PORT"));
	snprintf(scratch, sizeof scratch, "/tmp/rstream-ops-backup-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch));
	chmod(scratch, 0755);   /* PostgreSQL runs as an unprivileged user when the tests run as root */
	snprintf(stackdir, sizeof stackdir, "%s/stack", scratch);
	snprintf(fresh_env, sizeof fresh_env, "STACK_DIR='%s' HTTP_PORT=%d PG_PORT=%d REDIS_PORT=%d STACK_NO_APP=1 STACK_FSYNC=off",
		 stackdir, base + 11, base + 12, base + 13);
	cr_assert_eq(sh("%s bash '%s/scripts/stack.sh' start >'%s/fresh-stack.log' 2>&1", fresh_env, t_env("RSTREAM_ROOT"), scratch), 0,
		     "the fresh stack did not start (see %s/fresh-stack.log)", scratch);
	/* the key lives apart from the backup directory, as on a real host */
	cr_assert_eq(sh("umask 077; openssl rand -hex 32 >'%s/backup.key' && openssl rand -hex 32 >'%s/other.key'", scratch, scratch), 0);
}

static void fresh_stop(void)
{
	if (!stackdir[0]) return;
	sh("%s bash '%s/scripts/stack.sh' stop >>'%s/fresh-stack.log' 2>&1", fresh_env, t_env("RSTREAM_ROOT"), scratch);
	sh("rm -rf '%s'", scratch);
	stackdir[0] = 0;
}

TestSuite(ops_backup, .timeout = 900, .fini = fresh_stop);

/* rstream with the repository settings; `fresh` points DATABASE_URL and the data directory at the fresh stack */
static int rs(int fresh, const char *key, const char *args, const char *out)
{
	int base = atoi(t_env("HTTP_PORT"));
	char env[2048] = "";
	if (fresh)
		snprintf(env, sizeof env, "DATABASE_URL=postgresql://rstream@127.0.0.1:%d/rstream REDIS_URL=redis://127.0.0.1:%d/0 "
			 "RSTREAM_DATA_DIR='%s/data'", base + 12, base + 13, stackdir);
	return sh("%s RSTREAM_BACKUP_DIR='%s/repo' RSTREAM_BACKUP_KEY_FILE='%s/%s' '%s' %s >'%s/%s' 2>&1",
		  env, scratch, scratch, key, t_env("RSTREAM_BIN"), args, scratch, out);
}

static PGconn *fresh_db(void)
{
	char url[256];
	snprintf(url, sizeof url, "postgresql://rstream@127.0.0.1:%d/rstream", atoi(t_env("HTTP_PORT")) + 12);
	PGconn *c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "fresh database: %s", PQerrorMessage(c));
	return c;
}

#define MAXT 128
struct fp { int n; char name[MAXT][64]; char sum[MAXT][80]; };

/* every public table's row count and a checksum over all its rows */
static void fingerprint(PGconn *c, struct fp *f)
{
	PGresult *t = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
	cr_assert_eq(PQresultStatus(t), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	f->n = 0;
	for (int i = 0; i < PQntuples(t) && f->n < MAXT; i++) {
		char sql[512];
		const char *name = PQgetvalue(t, i, 0);
		/* an order-free sum of per-row hashes: constant memory on the 60,000-user rosters other tests import */
		snprintf(sql, sizeof sql, "SELECT count(*) || ' ' || coalesce(sum(('x' || substr(md5(x::text), 1, 15))::bit(60)::bigint::numeric), 0) "
			 "FROM public.\"%s\" x", name);
		PGresult *r = PQexec(c, sql);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", name, PQerrorMessage(c));
		snprintf(f->name[f->n], 64, "%s", name);
		snprintf(f->sum[f->n], 80, "%s", PQgetvalue(r, 0, 0));
		f->n++;
		PQclear(r);
	}
	PQclear(t);
}

/* a few rows of a table, for a failure message */
static char *rows_of(PGconn *c, const char *table)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT string_agg(x::text, ' | ') FROM (SELECT x FROM public.\"%s\" x ORDER BY x::text LIMIT 3) x", table);
	PGresult *r = PQexec(c, sql);
	char *out = strdup(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : PQerrorMessage(c));
	PQclear(r);
	return out;
}

static const char *fp_get(const struct fp *f, const char *name)
{
	for (int i = 0; i < f->n; i++) if (!strcmp(f->name[i], name)) return f->sum[i];
	return NULL;
}

static long objects_count(void)
{
	char p[512];
	snprintf(p, sizeof p, "find '%s/repo/objects' -type f | wc -l >'%s/count'", scratch, scratch);
	sh("%s", p);
	snprintf(p, sizeof p, "%s/count", scratch);
	char *s = slurp(p);
	long n = atol(s);
	free(s);
	return n;
}

Test(ops_backup, restores_everything_into_a_fresh_stack_and_refuses_a_corrupted_backup)
{
	fresh_start();
	const char *data = t_env("RSTREAM_DATA_DIR");

	/* ---- data, made the way users make it ---- */
	char sourced[64];
	snprintf(sourced, sizeof sourced, "opsb-t-%s", lh_tag());
	long tid;
	char *th = lh_user("creator", sourced, &tid);
	char bundle[256];
	snprintf(bundle, sizeof bundle, "%s/roster.zip", scratch);
	cr_assert_eq(sh("python3 '%s/scripts/gen_roster_bundle.py' --users 40 --seed %d --out '%s' >/dev/null && "
			"'%s' import '%s' --delta >'%s/import.log' 2>&1", t_env("RSTREAM_ROOT"), 7000 + getpid() % 1000, bundle,
			t_env("RSTREAM_BIN"), bundle, scratch), 0, "roster import failed (see %s/import.log)", scratch);
	char *clip = vh_clip("opsb.mp4", "320x240", "2", 1, NULL);
	char *vid = vh_upload_ok(th, clip, "バックアップ確認");
	json_object *v = vh_wait(th, vid, 300);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready");
	json_object_put(v);
	char *sess = lh_session(th, vid);
	cr_assert_eq(lh_beat(th, sess, vid, 1.5, "[[0,1.5]]"), 202);
	cr_assert_eq(lh_wait_watched(tid, vid, 1500, 30), 1500, "the viewing was not recorded");

	/* ---- refused setups ---- */
	cr_assert_neq(sh("cp '%s/backup.key' '%s/in.key' && mkdir -p '%s/repo' && mv '%s/in.key' '%s/repo/in.key'",
			 scratch, scratch, scratch, scratch, scratch), -1);
	cr_assert_neq(rs(0, "repo/in.key", "backup", "keyinside.out"), 0, "a key inside the backup directory is refused");
	cr_assert_eq(sh("rm -f '%s/repo/in.key'", scratch), 0);
	cr_assert_eq(sh("chmod 644 '%s/other.key'", scratch), 0);
	cr_assert_neq(rs(0, "other.key", "backup", "keymode.out"), 0, "a key readable by others is refused");
	cr_assert_eq(sh("chmod 600 '%s/other.key'", scratch), 0);

	/* ---- back up, twice: the second copies no unchanged media file again ---- */
	struct fp before, after, restored;
	fingerprint(t_db(), &before);
	cr_assert_eq(rs(0, "backup.key", "backup", "backup1.out"), 0, "rstream backup failed (see %s/backup1.out)", scratch);
	long objs = objects_count();
	sleep(1);   /* snapshot names have one-second resolution */
	cr_assert_eq(rs(0, "backup.key", "backup", "backup2.out"), 0, "second backup failed");
	/* the restore below takes the newest snapshot: a table unchanged from before the first backup to after the
	 * second is the same in both */
	fingerprint(t_db(), &after);
	char p[512];
	snprintf(p, sizeof p, "%s/backup2.out", scratch);
	char *out2 = slurp(p);
	long files = 0, newfiles = -1;
	const char *s = strstr(out2, "), ");
	cr_assert(s && sscanf(s, "), %ld files %*d bytes, %ld new files", &files, &newfiles) == 2, "backup output: %s", out2);
	cr_assert_gt(files, 3);
	cr_assert_lt(newfiles, files, "an incremental backup re-copied every file: %s", out2);
	/* retention dropped the first snapshot (one per day): objects only it named may go, none beyond the new files come */
	cr_assert_leq(objects_count(), objs + newfiles, "objects added beyond the new files");
	free(out2);
	cr_assert_eq(rs(0, "backup.key", "backup verify", "verify.out"), 0, "verify of a good backup failed");

	/* ---- restore into the fresh stack ---- */
	int rc = rs(1, "backup.key", "restore", "restore.out");
	snprintf(p, sizeof p, "%s/restore.out", scratch);
	char *rout = slurp(p);
	cr_assert_eq(rc, 0, "restore failed: %s", rout);
	free(rout);
	PGconn *fc = fresh_db();
	fingerprint(fc, &restored);
	/* tables nobody wrote to while the backup ran must come back identical, row for row */
	const char *must[] = {"users", "roster_users", "roster_enrollments", "roster_classes", "videos", "view_progress",
			      "schema_migrations", "roster_imports"};
	for (size_t i = 0; i < sizeof must / sizeof *must; i++) {
		cr_assert_not_null(fp_get(&before, must[i]), "no table %s", must[i]);
		cr_assert_str_eq(fp_get(&before, must[i]), fp_get(&after, must[i]), "%s changed while the backup ran", must[i]);
	}
	int compared = 0;
	for (int i = 0; i < before.n; i++) {
		const char *a = fp_get(&after, before.name[i]);
		if (!a || strcmp(a, before.sum[i])) continue;   /* written to during the backup (job queue, throttles) */
		const char *got = fp_get(&restored, before.name[i]);
		if (!got || strcmp(got, before.sum[i]))
			cr_assert_fail("table %s differs after the restore (%s / %s):\nsource: %s\nrestored: %s", before.name[i],
				       before.sum[i], got ? got : "(missing)", rows_of(t_db(), before.name[i]), rows_of(fc, before.name[i]));
		compared++;
	}
	cr_assert_geq(compared, (int)(sizeof must / sizeof *must));
	/* a sample row, read back by value */
	const char *pv[] = {sourced};
	PGresult *r = PQexecParams(fc, "SELECT u.role, v.status FROM users u JOIN videos v ON v.owner_id = u.id WHERE u.sourced_id = $1",
				   1, NULL, pv, NULL, NULL, 0);
	cr_assert_eq(PQntuples(r), 1, "the teacher and the video are in the restored database");
	cr_assert_str_eq(PQgetvalue(r, 0, 1), "ready");
	PQclear(r);
	/* the HLS ladder and the source, byte for byte */
	cr_assert_eq(sh("diff -r '%s/hls/%s' '%s/data/hls/%s' >/dev/null", data, vid, stackdir, vid), 0, "HLS files differ");
	cr_assert_eq(sh("cmp -s '%s/uploads/videos/%s.src' '%s/data/uploads/videos/%s.src'", data, vid, stackdir, vid), 0,
		     "the source file differs");
	cr_assert_eq(sh("ls '%s/data/hls/%s' | grep -q m3u8", stackdir, vid), 0, "no playlist restored");
	/* nothing left in the staging area */
	cr_assert_eq(sh("[ -z \"$(ls -A '%s/data/tmp' | grep restore)\" ]", stackdir), 0);

	/* ---- refusals leave the fresh stack exactly as it is ---- */
	PQclear(PQexec(fc, "UPDATE users SET name = 'marker-after-restore' WHERE id = (SELECT min(id) FROM users)"));
	cr_assert_eq(sh("ls '%s/data/hls/%s'/*.m3u8 | head -n 1 | xargs -I{} sh -c 'echo tampered > {}'", stackdir, vid), 0);
	cr_assert_neq(rs(1, "backup.key", "restore", "notempty.out"), 0, "restore onto a non-empty database needs --force");
	cr_assert_neq(rs(1, "other.key", "restore --force", "wrongkey.out"), 0, "a wrong key is refused");
	/* flip one byte in the largest stored object */
	cr_assert_eq(sh("f=$(find '%s/repo/objects' -type f -printf '%%s %%p\\n' | sort -n | tail -n 1 | cut -d' ' -f2-) && "
			"printf '\\377' | dd of=\"$f\" bs=1 seek=1000 conv=notrunc 2>/dev/null", scratch), 0);
	cr_assert_neq(rs(1, "backup.key", "restore --force", "corrupt.out"), 0, "a corrupted backup must be refused");
	snprintf(p, sizeof p, "%s/corrupt.out", scratch);
	char *cout = slurp(p);
	cr_assert(strstr(cout, "CORRUPTED") && strstr(cout, "nothing was restored"), "unclear refusal: %s", cout);
	free(cout);
	cr_assert_neq(rs(0, "backup.key", "backup verify", "verify2.out"), 0, "verify finds the damage too");
	r = PQexec(fc, "SELECT count(*) FROM users WHERE name = 'marker-after-restore'");
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "1", "the refused restore touched the database");
	PQclear(r);
	cr_assert_eq(sh("grep -qx tampered \"$(ls '%s/data/hls/%s'/*.m3u8 | head -n 1)\"", stackdir, vid), 0,
		     "the refused restore touched the media");
	PQfinish(fc);
	free(th); free(clip); free(vid); free(sess);
}
