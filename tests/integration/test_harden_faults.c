/* The fault suite (issue 7, item 15; findings 2 and 10): PostgreSQL and Redis taken away under load and during an
 * import, kill -9 of a FastCGI worker, the master, the job worker and ffmpeg, a full media volume. Each test asserts
 * what users see (503 + Retry-After, never a 401 or a redirect to /login, no lost or half-applied data) and prints
 * how long recovery took (bounded generously: timings are for bench/, not for assertions).
 * Runs last (tests/run.sh orders *_faults binaries last) and leaves the stack healthy for the browser tests.
 * Not covered: a clock jump (no faketime on Debian 12's default set, and the container cannot set the clock). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include "video_helpers.h"

#define RECOVERY_BOUND 60.0   /* seconds: generous, the point is that it recovers by itself */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* scripts/stack.sh CMD for the test stack (tests/run.sh exported STACK_DIR and the ports) */
static int stack(const char *cmd)
{
	char sh[1024];
	snprintf(sh, sizeof sh, "bash '%s/scripts/stack.sh' %s >>'%s/log/faults-stack.log' 2>&1 9>&-", t_env("RSTREAM_ROOT"),
		 cmd, t_env("STACK_DIR"));
	return system(sh);
}

static int read_pid(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/run/%s.pid", t_env("STACK_DIR"), name);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) { if (fscanf(f, "%d", &pid) != 1) pid = 0; fclose(f); }
	return pid;
}

static int get(const char *path, const char *hdr, char *retry_after, size_t ralen, char *ctype, size_t ctlen, char *loc,
	       size_t loclen)
{
	struct http_res r;
	if (http_do("GET", path, hdr, NULL, 0, &r) != 0) return -1;
	const char *v;
	if (retry_after) snprintf(retry_after, ralen, "%s", (v = http_header(&r, "Retry-After")) ? v : "");
	if (ctype) snprintf(ctype, ctlen, "%s", (v = http_header(&r, "Content-Type")) ? v : "");
	if (loc) snprintf(loc, loclen, "%s", (v = http_header(&r, "Location")) ? v : "");
	int st = r.status;
	http_free(&r);
	return st;
}

/* Seconds until GET path (with hdr) answers 200; -1 after the bound. */
static double wait_200(const char *path, const char *hdr, double bound)
{
	double t0 = mono();
	while (mono() - t0 < bound) {
		if (get(path, hdr, NULL, 0, NULL, 0, NULL, 0) == 200) return mono() - t0;
		usleep(100 * 1000);
	}
	return -1;
}

/* The stack answers again and is fully ready (database, Redis, migrations): the next test starts clean. */
static void assert_healthy(void)
{
	double s = wait_200("/readyz", NULL, RECOVERY_BOUND);
	cr_assert_geq(s, 0, "/readyz not 200 within %.0fs", RECOVERY_BOUND);
}

static char *login_json(const char *email, const char *password)
{
	char *b;
	cr_assert(asprintf(&b, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password) > 0);
	return b;
}

/* ---- a load generator in a child process: pupils reading their page and the API, counted by outcome ---- */
struct tally {
	atomic_int stop;
	atomic_long total, ok, unavailable, unavailable_no_retry, logged_out, conn_err, other;
	atomic_int last_other;
};
static struct tally *load;
static pid_t load_pid;

static void load_start(const char *bearer_hdr, const char *cookie_hdr)
{
	load = mmap(NULL, sizeof *load, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(load != MAP_FAILED);
	memset(load, 0, sizeof *load);
	load_pid = fork();
	cr_assert_geq(load_pid, 0);
	if (load_pid) return;
	for (long i = 0; !atomic_load(&load->stop); i++) {
		int browser = i % 2;
		char ra[32], loc[256];
		int st = get(browser ? "/" : "/api/v1/me", browser ? cookie_hdr : bearer_hdr, ra, sizeof ra, NULL, 0, loc, sizeof loc);
		atomic_fetch_add(&load->total, 1);
		if (st == 200) atomic_fetch_add(&load->ok, 1);
		else if (st == 503) atomic_fetch_add(ra[0] ? &load->unavailable : &load->unavailable_no_retry, 1);
		else if (st == 401 || (st == 303 && strstr(loc, "/login"))) atomic_fetch_add(&load->logged_out, 1);
		else if (st < 0) atomic_fetch_add(&load->conn_err, 1);
		else { atomic_fetch_add(&load->other, 1); atomic_store(&load->last_other, st); }
		usleep(20 * 1000);
	}
	_exit(0);
}

static void load_stop(const char *what)
{
	atomic_store(&load->stop, 1);
	waitpid(load_pid, NULL, 0);
	fprintf(stderr, "faults: %s: %ld requests: %ld ok, %ld 503 with Retry-After, %ld 503 without, %ld logged out, "
		"%ld connection errors, %ld other (last %d)\n", what, atomic_load(&load->total), atomic_load(&load->ok),
		atomic_load(&load->unavailable), atomic_load(&load->unavailable_no_retry), atomic_load(&load->logged_out),
		atomic_load(&load->conn_err), atomic_load(&load->other), atomic_load(&load->last_other));
}

/* a pupil with an API token and a browser session */
struct pupil { char *bearer, *cookie, email[96]; };

static struct pupil pupil(const char *email)
{
	struct pupil p = {0};
	snprintf(p.email, sizeof p.email, "%s", email);
	free(t_db_value("DELETE FROM login_throttle RETURNING 1", 0, NULL));
	cr_assert(t_make_user(email, "viewer", "Faults-pass-1234") > 0);
	char *tok = t_login(email, "Faults-pass-1234"), csrf[65];
	char *jar = t_browser_login(email, "Faults-pass-1234", csrf);
	cr_assert(tok && jar);
	cr_assert(asprintf(&p.bearer, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	cr_assert(asprintf(&p.cookie, "Cookie: %s\r\n", jar) > 0);
	free(tok);
	free(jar);
	return p;
}

TestSuite(faults, .timeout = 300);

Test(faults, a_postgres_outage_answers_503_and_locks_nobody_out)
{
	struct pupil p = pupil("faults.pg@test.example");
	cr_assert_eq(stack("stop-pg"), 0, "stack.sh stop-pg failed (see log/faults-stack.log)");
	usleep(1200 * 1000);   /* past the workers' one-second session cache: the check must reach the database */

	char ra[32], ct[128], loc[256];
	/* the right password, six times: answered 503, never "wrong password", never counted */
	char *body = login_json(p.email, "Faults-pass-1234");
	for (int i = 0; i < 6; i++) {
		struct http_res r;
		cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
		cr_assert_eq(r.status, 503, "login %d during the outage answered %d: %s", i, r.status, r.body);
		cr_assert(http_header(&r, "Retry-After"), "no Retry-After");
		cr_assert(strstr(r.body, "\"unavailable\""), "JSON envelope: %s", r.body);
		http_free(&r);
	}
	/* the login form: an HTML error page, not the form with "wrong password" */
	{
		struct http_res r;
		cr_assert_eq(http_do("GET", "/login", NULL, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "the login form needs no database");
		const char *sc = http_header(&r, "Set-Cookie");
		char pre[128] = "", csrf[128] = "";
		if (sc) snprintf(pre, sizeof pre, "%.*s", (int)strcspn(sc, ";"), sc);
		const char *m = strstr(r.body, "name=\"_csrf\" value=\"");
		if (m) snprintf(csrf, sizeof csrf, "%.*s", (int)strcspn(m + 20, "\""), m + 20);
		http_free(&r);
		char hdr[512], form[512];
		snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", pre);
		snprintf(form, sizeof form, "email=faults.pg%%40test.example&password=Faults-pass-1234&_csrf=%s", csrf);
		cr_assert_eq(http_do("POST", "/login", hdr, form, strlen(form), &r), 0);
		cr_assert_eq(r.status, 503, "form login during the outage answered %d", r.status);
		cr_assert(http_header(&r, "Retry-After"));
		cr_assert(strstr(http_header(&r, "Content-Type"), "text/html"));
		cr_assert(strstr(r.body, "一時的に利用できません"), "a Japanese page says what is going on");
		http_free(&r);
	}
	/* valid sessions: 503, not 401 and not a redirect to /login */
	cr_assert_eq(get("/api/v1/me", p.bearer, ra, sizeof ra, ct, sizeof ct, NULL, 0), 503);
	cr_assert(ra[0] && strstr(ct, "application/json"));
	cr_assert_eq(get("/", p.cookie, ra, sizeof ra, ct, sizeof ct, loc, sizeof loc), 503, "redirected to %s", loc);
	cr_assert(ra[0] && strstr(ct, "text/html"));

	double t0 = mono();
	cr_assert_eq(stack("start-pg"), 0, "stack.sh start-pg failed");
	double back = wait_200("/api/v1/me", p.bearer, RECOVERY_BOUND);
	fprintf(stderr, "faults: PostgreSQL outage: the old token works again %.2fs after the restart began\n", mono() - t0);
	cr_assert_geq(back, 0, "the session did not come back");
	cr_assert_eq(get("/", p.cookie, NULL, 0, NULL, 0, NULL, 0), 200, "the browser session survived");
	/* nothing was counted: the account logs in at once, no throttle rows */
	char *n = t_db_value("SELECT count(*) FROM login_throttle", 0, NULL);
	cr_assert(n && !strcmp(n, "0"), "failures counted during the outage: %s", n ? n : "?");
	free(n);
	char *tok = t_login(p.email, "Faults-pass-1234");
	cr_assert(tok, "login after the outage");
	free(tok);
	free(body);
	assert_healthy();
}

Test(faults, a_postgres_restart_under_load_gives_503s_only_and_recovers)
{
	struct pupil p = pupil("faults.pgload@test.example");
	load_start(p.bearer, p.cookie);
	usleep(500 * 1000);
	double t0 = mono();
	cr_assert_eq(stack("restart-pg"), 0, "stack.sh restart-pg failed");
	double back = wait_200("/api/v1/me", p.bearer, RECOVERY_BOUND);
	fprintf(stderr, "faults: PostgreSQL restart under load: serving again %.2fs after the restart began\n", mono() - t0);
	usleep(500 * 1000);
	load_stop("PostgreSQL restart");
	cr_assert_geq(back, 0, "not serving again within %.0fs", RECOVERY_BOUND);
	cr_assert_eq(atomic_load(&load->logged_out), 0, "sessions ended by a database restart");
	cr_assert_eq(atomic_load(&load->unavailable_no_retry), 0, "503 without Retry-After");
	cr_assert_eq(atomic_load(&load->other), 0, "answers other than 200/503: last %d", atomic_load(&load->last_other));
	cr_assert_eq(atomic_load(&load->conn_err), 0);
	cr_assert_gt(atomic_load(&load->ok), 0);
	assert_healthy();
}

Test(faults, a_redis_restart_under_load_costs_nothing)
{
	struct pupil p = pupil("faults.redis@test.example");
	load_start(p.bearer, p.cookie);
	usleep(500 * 1000);
	cr_assert_eq(stack("stop-redis"), 0, "stack.sh stop-redis failed");
	/* Redis is a cache: with it gone, logging in and out still works and a logout still holds (PostgreSQL) */
	char *tok = t_login(p.email, "Faults-pass-1234");
	cr_assert(tok, "login without Redis");
	char hdr[1200];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/logout", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "logout without Redis: %d", r.status);
	http_free(&r);
	cr_assert_eq(get("/api/v1/me", hdr, NULL, 0, NULL, 0, NULL, 0), 401, "a logged-out token works without Redis");
	double t0 = mono();
	cr_assert_eq(stack("start-redis"), 0, "stack.sh start-redis failed");
	usleep(500 * 1000);
	load_stop("Redis restart");
	fprintf(stderr, "faults: Redis restart: ready again %.2fs after the start\n", wait_200("/readyz", NULL, RECOVERY_BOUND) + (mono() - t0));
	cr_assert_eq(get("/api/v1/me", hdr, NULL, 0, NULL, 0, NULL, 0), 401, "the logout held across the restart");
	cr_assert_eq(atomic_load(&load->logged_out), 0);
	cr_assert_eq(atomic_load(&load->ok), atomic_load(&load->total), "every request answered 200 with Redis gone");
	free(tok);
	assert_healthy();
}

/* A Redis that is alive but does not answer (frozen here with SIGSTOP; a disk stall under its AOF does the same)
 * holds a request one command timeout (1 s) at most: the command is not sent again on a new connection, and the
 * worker leaves Redis alone for a second after it. Each search below misses the caches (its own words), so it
 * asks Redis twice (GET, then SET): with a retry per command that had been four seconds per request. */
Test(faults, a_frozen_redis_holds_a_request_one_timeout_at_most)
{
	struct pupil p = pupil("faults.frozen@test.example");
	int rpid = read_pid("redis");
	cr_assert_gt(rpid, 0, "no Redis pid file");
	cr_assert_eq(get("/api/v1/search?q=warm", p.bearer, NULL, 0, NULL, 0, NULL, 0), 200);
	cr_assert_eq(kill(rpid, SIGSTOP), 0);
	double worst = 0, t0 = mono();
	int n = 0, ok = 0;
	while (mono() - t0 < 4.0) {
		char path[96];
		snprintf(path, sizeof path, "/api/v1/search?q=frozen%d", n);
		double t = mono();
		int st = get(path, p.bearer, NULL, 0, NULL, 0, NULL, 0);
		if (mono() - t > worst) worst = mono() - t;
		n++;
		ok += st == 200;
	}
	kill(rpid, SIGCONT);
	fprintf(stderr, "faults: frozen Redis: %d searches in 4 s, %d answered 200, the slowest in %.2fs\n", n, ok, worst);
	cr_assert_eq(ok, n, "every search answered 200 with Redis frozen");
	cr_assert_lt(worst, 1.7, "a request waited %.2fs on a frozen Redis (one timeout is 1 s)", worst);
	assert_healthy();
	struct http_res m;   /* and operators see why */
	cr_assert_eq(http_do("GET", "/metrics", NULL, NULL, 0, &m), 0);
	cr_assert(strstr(m.body, "rstream_redis_errors_total{kind=\"timeout\"}"), "no timeout counter in /metrics");
	http_free(&m);
}

Test(faults, a_postgres_restart_during_an_import_applies_all_of_it_or_nothing)
{
	char zip[256], cmd[1024];
	snprintf(zip, sizeof zip, "/tmp/rs_faults_%d.zip", getpid());
	snprintf(cmd, sizeof cmd, "python3 '%s/scripts/gen_roster_bundle.py' --users 4000 --seed 9107 --out '%s'",
		 t_env("RSTREAM_ROOT"), zip);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "python3 -c \"import zipfile,csv,io,sys; z=zipfile.ZipFile(sys.argv[1]); "
		 "print(sum(1 for _ in csv.DictReader(io.TextIOWrapper(z.open('users.csv'), 'utf-8-sig'))))\" '%s'", zip);
	FILE *pf = popen(cmd, "r");
	long want = 0;
	cr_assert(pf && fscanf(pf, "%ld", &want) == 1 && want > 0);
	pclose(pf);
	char *before = t_db_value("SELECT count(*) FROM roster_users", 0, NULL);
	cr_assert(before);

	struct http_res r;
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=bundle.zip", vh_admin(), zip, &r), 0);
	cr_assert_eq(r.status, 202, "upload: %d %s", r.status, r.body);
	json_object *o = vh_json(&r);
	long job = atol(vh_str(o, "import.job_id"));
	json_object_put(o);
	http_free(&r);
	/* restart PostgreSQL while the import job runs */
	char js[32];
	snprintf(js, sizeof js, "%ld", job);
	const char *jp[1] = {js};
	char *state = NULL;
	for (int i = 0; i < 600; i++) {
		free(state);
		state = t_db_value("SELECT state FROM jobs WHERE id = $1::bigint", 1, jp);
		if (state && strcmp(state, "queued")) break;
		usleep(20 * 1000);
	}
	fprintf(stderr, "faults: import job %ld is %s when PostgreSQL restarts\n", job, state ? state : "?");
	free(state);
	double t0 = mono();
	cr_assert_eq(stack("restart-pg"), 0);
	const char *final = t_wait_job(job, 240);
	fprintf(stderr, "faults: import after the restart ended %s %.2fs after the restart began\n", final, mono() - t0);
	char *after = t_db_value("SELECT count(*) FROM roster_users", 0, NULL);
	char *attempts = t_db_value("SELECT attempts FROM jobs WHERE id = $1::bigint", 1, jp);
	fprintf(stderr, "faults: import attempts: %s; roster users %s -> %s (bundle: %ld)\n", attempts ? attempts : "?", before,
		after ? after : "?", want);
	cr_assert(after);
	long added = atol(after) - atol(before);
	/* all-or-nothing: the retried import lands whole; a failed one leaves nothing behind */
	if (!strcmp(final, "done")) cr_assert_eq(added, want, "done, but %ld of %ld users applied", added, want);
	else cr_assert_eq(added, 0, "import %s with %ld of %ld users half-applied", final, added, want);
	cr_assert_str_eq(final, "done", "the import was retried to the end after the restart");
	unlink(zip);
	free(before); free(after); free(attempts);
	assert_healthy();
}

Test(faults, kill_9_of_a_fastcgi_worker_under_load_ends_no_session)
{
	struct pupil p = pupil("faults.worker@test.example");
	int master = read_pid("fcgi"), w[64];
	cr_assert_gt(master, 0);
	load_start(p.bearer, p.cookie);
	usleep(300 * 1000);
	int n = t_children(master, w, 64);
	cr_assert_gt(n, 0);
	double t0 = mono();
	cr_assert_eq(kill(w[0], SIGKILL), 0);
	int back = 0;
	while (!back && mono() - t0 < RECOVERY_BOUND) {
		int w2[64], m = t_children(master, w2, 64), victim = 0;
		for (int i = 0; i < m; i++) victim |= w2[i] == w[0];
		back = !victim && m >= n;
		usleep(50 * 1000);
	}
	fprintf(stderr, "faults: kill -9 of worker %d: pool whole again after %.2fs\n", w[0], mono() - t0);
	usleep(500 * 1000);
	load_stop("worker kill");
	cr_assert(back, "the pool did not come back");
	cr_assert_eq(atomic_load(&load->logged_out), 0);
	cr_assert_eq(atomic_load(&load->unavailable_no_retry), 0);
	cr_assert_eq(atomic_load(&load->other), 0, "last other status %d", atomic_load(&load->last_other));
	assert_healthy();
}

Test(faults, kill_9_of_the_fastcgi_master_is_restarted_by_the_supervisor)
{
	struct pupil p = pupil("faults.master@test.example");
	int master = read_pid("fcgi");
	cr_assert_gt(master, 0);
	load_start(p.bearer, p.cookie);
	usleep(300 * 1000);
	double t0 = mono();
	cr_assert_eq(kill(master, SIGKILL), 0);
	double back = -1;
	while (mono() - t0 < RECOVERY_BOUND) {
		int now = read_pid("fcgi");
		if (now > 0 && now != master && get("/api/v1/me", p.bearer, NULL, 0, NULL, 0, NULL, 0) == 200) { back = mono() - t0; break; }
		usleep(100 * 1000);
	}
	fprintf(stderr, "faults: kill -9 of the master %d: serving again after %.2fs (new master %d)\n", master, back,
		read_pid("fcgi"));
	usleep(300 * 1000);
	load_stop("master kill");
	cr_assert_geq(back, 0, "the master was not restarted");
	/* while no master ran: the API said 503 + Retry-After (nginx), nobody was logged out */
	cr_assert_eq(atomic_load(&load->logged_out), 0);
	cr_assert_eq(atomic_load(&load->unavailable_no_retry), 0);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "grep -qF 'rstream fcgi (pid %d) ended: killed by signal 9; restarting' '%s/log/fcgi.log'",
		 master, t_env("STACK_DIR"));
	cr_assert_eq(system(cmd), 0, "the supervisor logged the restart of master %d", master);
	assert_healthy();
}

/* The newest transcode job and its state, once it runs. */
static long running_transcode(const char *video_id, double bound)
{
	const char *p[1] = {video_id};
	double t0 = mono();
	while (mono() - t0 < bound) {
		char *j = t_db_value("SELECT j.id FROM videos v JOIN jobs j ON j.id = v.job_id WHERE v.public_id = $1 "
				     "AND j.state = 'running'", 1, p);
		if (j) { long id = atol(j); free(j); return id; }
		usleep(20 * 1000);
	}
	return 0;
}

static int ffmpeg_of_stack(void)
{
	char want[1024];
	snprintf(want, sizeof want, "%s/hls/.tmp-", t_env("RSTREAM_DATA_DIR"));
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)) && !found) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
		char path[300], buf[8192];
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f) continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
		buf[n] = 0;
		if (!strncmp(buf, "ffmpeg ", 7) && strstr(buf, want)) found = atoi(e->d_name);
	}
	if (d) closedir(d);
	return found;
}

Test(faults, kill_9_of_the_job_worker_mid_transcode_loses_no_video)
{
	char *clip = vh_clip("faults-worker.mp4", "640x360", "6", 1, NULL);
	char *id = vh_upload_ok(vh_admin(), clip, "faults worker kill");
	long job = running_transcode(id, 60);
	cr_assert_gt(job, 0, "the transcode never ran");
	int worker = read_pid("worker");
	double t0 = mono();
	cr_assert_eq(kill(worker, SIGKILL), 0);
	json_object *o = vh_wait(vh_admin(), id, 180);
	fprintf(stderr, "faults: kill -9 of the job worker %d mid-transcode: video %s %.2fs later (new worker %d)\n", worker,
		vh_str(o, "video.status"), mono() - t0, read_pid("worker"));
	cr_assert_str_eq(vh_str(o, "video.status"), "ready", "the job was re-run after its lease expired");
	cr_assert_neq(read_pid("worker"), worker, "the supervisor started a new job worker");
	json_object_put(o);
	char *master = vh_data_path("hls/%s/master.m3u8", id);
	cr_assert_eq(access(master, R_OK), 0, "no master playlist");
	free(master);
	free(id);
	free(clip);
	assert_healthy();
}

Test(faults, kill_9_of_ffmpeg_fails_the_attempt_and_the_retry_finishes)
{
	char *clip = vh_clip("faults-ffmpeg.mp4", "1280x720", "8", 1, NULL);
	char *id = vh_upload_ok(vh_admin(), clip, "faults ffmpeg kill");
	long job = running_transcode(id, 60);
	cr_assert_gt(job, 0);
	int ff = 0;
	double t0 = mono();
	while (!ff && mono() - t0 < 60) { ff = ffmpeg_of_stack(); if (!ff) usleep(10 * 1000); }
	cr_assert_gt(ff, 0, "no ffmpeg of this stack seen");
	t0 = mono();
	cr_assert_eq(kill(ff, SIGKILL), 0);
	json_object *o = vh_wait(vh_admin(), id, 180);
	fprintf(stderr, "faults: kill -9 of ffmpeg %d: video %s %.2fs later\n", ff, vh_str(o, "video.status"), mono() - t0);
	cr_assert_str_eq(vh_str(o, "video.status"), "ready");
	json_object_put(o);
	char js[32];
	snprintf(js, sizeof js, "%ld", job);
	const char *jp[1] = {js};
	char *attempts = t_db_value("SELECT attempts FROM jobs WHERE id = $1::bigint", 1, jp);
	cr_assert(attempts && atoi(attempts) >= 2, "the killed attempt counted: %s", attempts ? attempts : "?");
	free(attempts);
	free(id);
	free(clip);
	assert_healthy();
}

static char media_mount[1024];
static void unmount_media(void)
{
	if (media_mount[0]) umount2(media_mount, MNT_DETACH);
	media_mount[0] = 0;
}

Test(faults, a_full_media_volume_fails_the_transcode_cleanly_and_it_recovers, .fini = unmount_media)
{
	if (geteuid() != 0) cr_skip_test("not root: cannot mount a size-limited tmpfs over the media volume");
	char hls[1024];
	snprintf(hls, sizeof hls, "%s/hls", t_env("RSTREAM_DATA_DIR"));
	if (mount("rstream-faults", hls, "tmpfs", 0, "size=192k,mode=0755") != 0)
		cr_skip_test("cannot mount a tmpfs over %s (%s): no disk-full test here", hls, strerror(errno));
	snprintf(media_mount, sizeof media_mount, "%s", hls);
	char *clip = vh_clip("faults-full.mp4", "640x360", "4", 1, NULL);
	char *id = vh_upload_ok(vh_admin(), clip, "faults disk full");
	/* the first attempt fails for lack of space: the video says so and is not ready */
	const char *p[1] = {id};
	char *tail = NULL;
	double t0 = mono();
	while (!tail && mono() - t0 < 90) {
		tail = t_db_value("SELECT error_tail FROM videos WHERE public_id = $1 AND error_tail IS NOT NULL", 1, p);
		if (!tail) usleep(100 * 1000);
	}
	cr_assert(tail, "no attempt failed on the full volume");
	fprintf(stderr, "faults: disk full: the attempt failed with: %.200s\n", tail);
	cr_assert(strstr(tail, "no space left"), "the video says the volume is full: %s", tail);
	char *st = t_db_value("SELECT status FROM videos WHERE public_id = $1", 1, p);
	cr_assert(st && strcmp(st, "ready"), "a video on a full disk is not ready: %s", st ? st : "?");
	/* nothing half-written is left behind on the volume */
	DIR *d = opendir(hls);
	struct dirent *e;
	int leftovers = 0;
	while (d && (e = readdir(d))) leftovers += !strncmp(e->d_name, ".tmp-", 5);
	if (d) closedir(d);
	cr_assert_eq(leftovers, 0, "a failed attempt left its temporary ladder behind");
	unmount_media();
	t0 = mono();
	json_object *o = vh_wait(vh_admin(), id, 180);
	fprintf(stderr, "faults: disk full: ready %.2fs after space came back\n", mono() - t0);
	cr_assert_str_eq(vh_str(o, "video.status"), "ready", "the retry finished once there was space");
	json_object_put(o);
	free(tail); free(st); free(id); free(clip);
	assert_healthy();
}
