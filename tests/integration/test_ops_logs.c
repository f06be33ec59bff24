/* The log streams (docs/operations.md#log-streams): security events and access lines as JSON with the request id
 * and traceparent, in the stack's log dir; no secret in any log; rotation by rename + SIGHUP loses no line; and a
 * SIGHUP reloads rstream.conf (a broken one is refused) without a failed request. The last two run their own
 * `rstream fcgi` on a socket in a temporary directory, spoken to over FastCGI, so the stack is not disturbed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

TestSuite(ops_logs, .timeout = 300);

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) return NULL;
	size_t cap = 65536, n = 0, k;
	char *b = malloc(cap);
	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n < 2) b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[n] = 0;
	return b;
}

/* the first line of path holding needle, parsed (NULL when none yet) */
static json_object *line_with(const char *path, const char *needle)
{
	char *b = slurp(path);
	if (!b) return NULL;
	char *hit = strstr(b, needle);
	json_object *o = NULL;
	if (hit) {
		char *s = hit, *e = strchr(hit, '\n');
		while (s > b && s[-1] != '\n') s--;
		if (e) *e = 0;
		o = json_tokener_parse(s);
		cr_assert_not_null(o, "not a JSON line in %s: %s", path, s);
	}
	free(b);
	return o;
}

/* lines are written when the request ends (access) or while it runs (security): wait a little for them */
static json_object *wait_line(const char *path, const char *needle)
{
	for (int i = 0; i < 200; i++) {
		json_object *o = line_with(path, needle);
		if (o) return o;
		usleep(50 * 1000);
	}
	cr_assert_fail("no line with %s in %s", needle, path);
	return NULL;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void stack_log(char *out, size_t n, const char *name) { snprintf(out, n, "%s/log/%s", t_env("STACK_DIR"), name); }

static void random_hex(char *out, int bytes)
{
	static unsigned seed;
	if (!seed) seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
	for (int i = 0; i < bytes; i++) sprintf(out + 2 * i, "%02x", rand_r(&seed) & 0xff);
}

Test(ops_logs, a_failed_login_is_a_security_line_with_the_request_id)
{
	char rid[40], email[96], body[256], hdr[256], path[512];
	random_hex(rid + 4, 8);
	memcpy(rid, "sec-", 4);
	snprintf(email, sizeof email, "nobody-%s@ops-logs.example", rid + 4);
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"Wrong-%s\"}", email, rid + 4);
	snprintf(hdr, sizeof hdr, "Content-Type: application/json\r\nX-Request-Id: %s\r\n", rid);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 401);
	const char *tp = http_header(&r, "traceparent");
	cr_assert_not_null(tp, "no traceparent in the answer");
	char trace[64];
	snprintf(trace, sizeof trace, "%s", tp);
	http_free(&r);

	stack_log(path, sizeof path, "security.log");
	char needle[64];
	snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", rid);
	json_object *o = wait_line(path, needle);
	cr_assert_str_eq(str(o, "event"), "login_failed");
	cr_assert_str_eq(str(o, "account"), email);
	cr_assert_str_eq(str(o, "traceparent"), trace, "the security line carries the traceparent the client got");
	cr_assert_str_eq(str(o, "ip"), "127.0.0.1");
	cr_assert_not_null(str(o, "ts"));
	cr_assert_null(strstr(json_object_to_json_string(o), "Wrong-"), "the password reached the security log");
	json_object_put(o);
}

Test(ops_logs, every_request_has_an_access_line_with_the_traceparent_it_was_answered_with)
{
	char rid[40], hdr[256], path[512], trace_in[33];
	random_hex(trace_in, 16);
	random_hex(rid + 4, 8);
	memcpy(rid, "acc-", 4);
	snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\ntraceparent: 00-%s-00f067aa0ba902b7-01\r\n", rid, trace_in);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/healthz?lang=ja&token=abc&code=def", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	const char *tp = http_header(&r, "traceparent");
	cr_assert_not_null(tp);
	char echoed[64];
	snprintf(echoed, sizeof echoed, "%s", tp);
	http_free(&r);
	/* the caller's trace goes on, with a span of our own */
	cr_assert_eq(strncmp(echoed, "00-", 3), 0);
	cr_assert_eq(strncmp(echoed + 3, trace_in, 32), 0, "trace id not kept: %s", echoed);
	cr_assert_neq(strncmp(echoed + 36, "00f067aa0ba902b7", 16), 0, "the span id must be ours");

	stack_log(path, sizeof path, "access.log");
	char needle[64];
	snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", rid);
	json_object *o = wait_line(path, needle);
	cr_assert_str_eq(str(o, "traceparent"), echoed);
	cr_assert_str_eq(str(o, "method"), "GET");
	cr_assert_str_eq(str(o, "path"), "/healthz");
	cr_assert_str_eq(str(o, "status"), "200");
	cr_assert_str_eq(str(o, "query"), "lang=ja&token=REDACTED&code=REDACTED");
	json_object_put(o);

	/* a malformed incoming traceparent starts a new trace instead of being copied */
	snprintf(hdr, sizeof hdr, "traceparent: 00-zz-not-a-trace\r\n");
	cr_assert_eq(http_do("GET", "/healthz", hdr, NULL, 0, &r), 0);
	tp = http_header(&r, "traceparent");
	cr_assert(tp && strlen(tp) == 55 && !strstr(tp, "zz"), "traceparent %s", tp ? tp : "(none)");
	http_free(&r);
}

/* every file in the stack's log dir, searched for s: the name of the first holding it, or NULL */
static const char *log_holding(const char *s)
{
	static char hit[256];
	char dir[512];
	stack_log(dir, sizeof dir, "");
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	struct dirent *e;
	const char *found = NULL;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char p[1024];
		snprintf(p, sizeof p, "%s%s", dir, e->d_name);
		char *b = slurp(p);
		if (b && strstr(b, s)) { snprintf(hit, sizeof hit, "%s", e->d_name); found = hit; }
		free(b);
	}
	closedir(d);
	return found;
}

Test(ops_logs, no_secret_reaches_any_log_after_sign_ins_with_tokens)
{
	char tag[17], email[96], pw[64], wrong[64], hdr[2048], body[512], path[512];
	random_hex(tag, 8);
	snprintf(email, sizeof email, "opslogs-%s@ops-logs.example", tag);
	snprintf(pw, sizeof pw, "Ops-Logs-Pass-%s", tag);
	snprintf(wrong, sizeof wrong, "Ops-Logs-Wrong-%s", tag);
	cr_assert_gt(t_make_user(email, "viewer", pw), 0);

	/* a bearer token, used */
	char *token = t_login(email, pw);
	cr_assert_not_null(token);
	struct http_res r;
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token);
	cr_assert_eq(http_do("GET", "/api/v1/me", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);
	/* a browser session, used */
	char csrf[65];
	char *cookie = t_browser_login(email, pw, csrf);
	cr_assert_not_null(cookie);
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
	cr_assert_eq(http_do("GET", "/", hdr, NULL, 0, &r), 0);
	http_free(&r);
	/* a wrong password, a wrong client secret, credentials in a query string */
	snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, wrong);
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 401);
	http_free(&r);
	char csecret[33], qtoken[33], qcode[33], qstate[33];
	random_hex(csecret, 16);
	random_hex(qtoken, 16);
	random_hex(qcode, 16);
	random_hex(qstate, 16);
	snprintf(body, sizeof body, "grant_type=client_credentials&client_id=opslogs-%s&client_secret=%s", tag, csecret);
	cr_assert_eq(http_do("POST", "/oauth/token", "Content-Type: application/x-www-form-urlencoded\r\n", body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 401);
	http_free(&r);
	char last[256], rid[40];
	snprintf(rid, sizeof rid, "sweep-%s", tag);
	snprintf(last, sizeof last, "/ops-logs-%s?token=%s&code=%s&state=%s", tag, qtoken, qcode, qstate);
	snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\n", rid);
	cr_assert_eq(http_do("GET", last, hdr, NULL, 0, &r), 0);
	http_free(&r);

	/* every log has what it will get about these requests: the app's access line, nginx's (flushed each second) */
	char needle[96];
	snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", rid);
	stack_log(path, sizeof path, "access.log");
	json_object_put(wait_line(path, needle));
	snprintf(needle, sizeof needle, "/ops-logs-%s", tag);
	stack_log(path, sizeof path, "nginx-access.log");
	json_object_put(wait_line(path, needle));

	/* the security stream saw the sign-ins and the refusals */
	stack_log(path, sizeof path, "security.log");
	char *sec = slurp(path);
	cr_assert_not_null(sec);
	snprintf(needle, sizeof needle, "\"account\":\"%s\"", email);
	cr_assert_not_null(strstr(sec, needle));
	cr_assert_not_null(strstr(sec, "\"event\":\"login_succeeded\""));
	snprintf(needle, sizeof needle, "\"client_id\":\"opslogs-%s\"", tag);
	cr_assert_not_null(strstr(sec, needle), "the refused OAuth client is not in security.log");
	free(sec);

	const char *jwt = strchr(cookie, '=');
	char session[1024];
	snprintf(session, sizeof session, "%.*s", (int)strcspn(jwt + 1, ";"), jwt + 1);
	const char *secrets[][2] = {{"password", pw}, {"wrong password", wrong}, {"bearer token", token},
				    {"session cookie", session}, {"CSRF token", csrf}, {"client secret", csecret},
				    {"token= value", qtoken}, {"code= value", qcode}, {"state= value", qstate}};
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		const char *f = log_holding(secrets[i][1]);
		cr_assert_null(f, "the %s is in log/%s", secrets[i][0], f);
	}
	free(token);
	free(cookie);
}

/* ---- an own master: rotation and reload ---- */

static char dir[64], sock_path[128], conf_path[128], logs[128];
static pid_t master;

static void put_param(unsigned char *b, size_t *n, const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v);
	b[(*n)++] = (unsigned char)kl;
	b[(*n)++] = (unsigned char)vl;
	memcpy(b + *n, k, kl); *n += kl;
	memcpy(b + *n, v, vl); *n += vl;
}

static int record(int fd, int type, const unsigned char *body, size_t len)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)len, 0, 0};
	if (write(fd, h, 8) != 8) return -1;
	if (len && write(fd, body, len) != (ssize_t)len) return -1;
	return 0;
}

/* GET /healthz over FastCGI with a request id and a declared Content-Length (its body is empty); the HTTP status,
 * -1 when the connection fails or breaks */
static int fcgi_get(const char *rid, long content_length)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
	unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}, p[512];
	size_t n = 0;
	char cl[24];
	snprintf(cl, sizeof cl, "%ld", content_length);
	put_param(p, &n, "REQUEST_METHOD", "GET");
	put_param(p, &n, "REQUEST_URI", "/healthz");
	put_param(p, &n, "REMOTE_ADDR", "127.0.0.1");
	if (rid) put_param(p, &n, "HTTP_X_REQUEST_ID", rid);
	if (content_length) put_param(p, &n, "CONTENT_LENGTH", cl);
	/* an answer that needs no body (413) may come, and the connection close, before the last record is
	 * written: a failed write is not the answer, what can be read is */
	if (!record(fd, 1, begin, 8) && !record(fd, 4, p, n) && !record(fd, 4, NULL, 0)) record(fd, 5, NULL, 0);
	char out[8192];
	size_t got = 0;
	int status = -1;
	for (;;) {
		unsigned char h[8];
		size_t k = 0;
		while (k < 8) { ssize_t r = read(fd, h + k, 8 - k); if (r <= 0) goto out; k += (size_t)r; }
		size_t len = ((size_t)h[4] << 8) | h[5], left = len + h[6];
		char body[65536 + 256];
		k = 0;
		while (k < left) { ssize_t r = read(fd, body + k, left - k); if (r <= 0) goto out; k += (size_t)r; }
		if (h[1] == 6 && got + len < sizeof out) { memcpy(out + got, body, len); got += len; }
		if (h[1] == 3) break;
	}
	out[got] = 0;
	const char *s = strstr(out, "Status: ");
	status = s ? atoi(s + 8) : 200;
out:
	close(fd);
	return status;
}

static void write_conf(const char *extra)
{
	FILE *f = fopen(conf_path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# test_ops_logs\nlog.dir = %s\n%s", logs, extra);
	fclose(f);
}

static void own_setup(void)
{
	signal(SIGPIPE, SIG_IGN);   /* see fcgi_get: EPIPE instead of death */
	snprintf(dir, sizeof dir, "/tmp/rs-ops-logs-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock_path, sizeof sock_path, "%s/fcgi.sock", dir);
	snprintf(conf_path, sizeof conf_path, "%s/rstream.conf", dir);
	snprintf(logs, sizeof logs, "%s/logs", dir);
	write_conf("body_limit = 1048576\n");
	char log[192];
	snprintf(log, sizeof log, "%s/master.log", dir);
	master = fork();
	cr_assert_geq(master, 0);
	if (master == 0) {
		setpgid(0, 0);   /* its own group: stop_master can kill it with its workers */
		char l[160];
		snprintf(l, sizeof l, "unix:%s", sock_path);
		setenv("RSTREAM_LISTEN", l, 1);
		setenv("RSTREAM_WORKERS", "2", 1);
		setenv("RSTREAM_CONFIG", conf_path, 1);
		unsetenv("RSTREAM_LOG_DIR");   /* the stack's: here log.dir comes from the file */
		unsetenv("LISTEN_PID");
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a crashed test leaves no master behind */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
		execl(t_env("RSTREAM_BIN"), "rstream", "fcgi", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && fcgi_get(NULL, 0) != 200; i++) usleep(100000);
	cr_assert_eq(fcgi_get(NULL, 0), 200, "the master never answered (see %s/master.log)", dir);
}

/* SIGTERM drains; a master that has not ended within 30 s is killed with its workers */
static void stop_master(void)
{
	kill(master, SIGTERM);
	int i = 0;
	while (i++ < 300 && waitpid(master, NULL, WNOHANG) == 0) usleep(100 * 1000);
	if (i > 300) {
		kill(-master, SIGKILL);
		waitpid(master, NULL, 0);
	}
	master = 0;
}

static void own_teardown(void)
{
	if (master > 0) stop_master();
	char c[128];
	snprintf(c, sizeof c, "rm -rf '%s'", dir);
	if (system(c)) {}
}

/* a client in its own process asking without pause with ids rot-00000000, rot-00000001, … until dir/stop exists;
 * reports "answered failed" on the pipe */
static pid_t client_start(int *rfd)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		char stop[128], rid[32];
		snprintf(stop, sizeof stop, "%s/stop", dir);
		long ok = 0, bad = 0;
		while (access(stop, F_OK) != 0) {
			snprintf(rid, sizeof rid, "rot-%08ld", ok + bad);
			if (fcgi_get(rid, 0) == 200) ok++; else bad++;
		}
		char b[64];
		int n = snprintf(b, sizeof b, "%ld %ld", ok, bad);
		if (write(pfd[1], b, (size_t)n)) {}
		_exit(0);
	}
	close(pfd[1]);
	*rfd = pfd[0];
	return pid;
}

static void client_stop(pid_t pid, int rfd, long *ok, long *bad)
{
	char stop[128], res[64] = "";
	snprintf(stop, sizeof stop, "%s/stop", dir);
	close(open(stop, O_CREAT | O_WRONLY, 0644));
	cr_assert_gt(read(rfd, res, sizeof res - 1), 0);
	close(rfd);
	waitpid(pid, NULL, 0);
	cr_assert_eq(sscanf(res, "%ld %ld", ok, bad), 2);
	unlink(stop);
}

/* how many access lines each rot- id has in the file: counts[i] += lines of rot-i */
static long count_ids(const char *path, int *counts, long n)
{
	char *b = slurp(path);
	if (!b) return 0;
	long lines = 0;
	for (char *p = strstr(b, "\"request_id\":\"rot-"); p; p = strstr(p + 1, "\"request_id\":\"rot-")) {
		long i = strtol(p + 18, NULL, 10);
		if (i >= 0 && i < n) counts[i]++;
		lines++;
	}
	free(b);
	return lines;
}

Test(ops_logs, a_renamed_log_and_a_sighup_lose_no_line, .init = own_setup, .fini = own_teardown)
{
	char cur[192], old[192];
	snprintf(cur, sizeof cur, "%s/access.log", logs);
	snprintf(old, sizeof old, "%s/access.log.1", logs);
	int rfd;
	pid_t client = client_start(&rfd);
	usleep(500 * 1000);
	/* what logrotate does: rename, then ask for a reopen */
	cr_assert_eq(rename(cur, old), 0);
	cr_assert_eq(kill(master, SIGHUP), 0);
	struct stat st;
	for (int i = 0; i < 600 && (stat(cur, &st) != 0 || st.st_size == 0); i++) usleep(50 * 1000);
	cr_assert_eq(stat(cur, &st), 0, "no new access.log after SIGHUP");
	usleep(500 * 1000);
	long ok, bad;
	client_stop(client, rfd, &ok, &bad);
	cr_assert_eq(bad, 0, "%ld requests failed across the reopen (%ld answered)", bad, ok);
	cr_assert_gt(ok, 10);
	/* the master drains: every worker has written what it served */
	stop_master();
	int *counts = calloc((size_t)ok, sizeof *counts);
	long before = count_ids(old, counts, ok), after = count_ids(cur, counts, ok);
	cr_assert_gt(before, 0, "nothing was written before the rename");
	cr_assert_gt(after, 0, "nothing was written to the new file");
	for (long i = 0; i < ok; i++)
		cr_assert_eq(counts[i], 1, "request rot-%08ld has %d access lines (one expected)", i, counts[i]);
	free(counts);
	/* the other streams were reopened too */
	snprintf(cur, sizeof cur, "%s/error.log", logs);
	json_object_put(wait_line(cur, "SIGHUP: configuration reloaded"));
}

Test(ops_logs, a_sighup_applies_a_changed_config_and_refuses_a_broken_one, .init = own_setup, .fini = own_teardown)
{
	/* GET with Content-Length 5000 and no body: over body_limit it is 413, under it the body is short (400) */
	cr_assert_eq(fcgi_get(NULL, 5000), 400);
	int rfd;
	pid_t client = client_start(&rfd);
	write_conf("body_limit = 4096\n");
	cr_assert_eq(kill(master, SIGHUP), 0);
	int st = 0;
	for (int i = 0; i < 600 && (st = fcgi_get(NULL, 5000)) != 413; i++) usleep(50 * 1000);
	cr_assert_eq(st, 413, "body_limit = 4096 was not applied after SIGHUP");

	write_conf("body_limit = a lot\n");
	cr_assert_eq(kill(master, SIGHUP), 0);
	char err[192];
	snprintf(err, sizeof err, "%s/error.log", logs);
	json_object *o = wait_line(err, "configuration refused");
	cr_assert_str_eq(str(o, "level"), "error");
	cr_assert_not_null(strstr(str(o, "msg"), "body_limit"), "the refusal names the key: %s", str(o, "msg"));
	json_object_put(o);
	/* the running configuration stayed: every worker, old or new, still has body_limit = 4096 */
	for (int i = 0; i < 20; i++) cr_assert_eq(fcgi_get(NULL, 5000), 413);
	long ok, bad;
	client_stop(client, rfd, &ok, &bad);
	cr_assert_eq(bad, 0, "%ld requests failed across the reloads (%ld answered)", bad, ok);
	cr_assert_gt(ok, 10);
}
