/* systemd socket activation without systemd: the test holds the listening socket (as systemd does), starts
 * `rstream fcgi` with it on fd 3 (LISTEN_FDS/LISTEN_PID), then replaces the master while a client keeps asking.
 * Every request is answered: connections made while no master runs wait in the socket's queue. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static char dir[64], sock_path[128];

static void put_param(unsigned char *b, size_t *n, const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v);
	b[(*n)++] = (unsigned char)kl;
	b[(*n)++] = (unsigned char)vl;
	memcpy(b + *n, k, kl); *n += kl;
	memcpy(b + *n, v, vl); *n += vl;
}

static void record(int fd, int type, const unsigned char *body, size_t len)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)len, 0, 0};
	cr_assert_eq(write(fd, h, 8), 8);
	if (len) cr_assert_eq(write(fd, body, len), (ssize_t)len);
}

static int fcgi_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
	return fd;
}

/* a FastCGI request written on fd: FCGI_KEEP_CONN when keep (the web server keeps the connection), a body */
static void fcgi_send_req(int fd, int keep, const char *method, const char *uri, const char *body)
{
	unsigned char begin[8] = {0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0}, p[512];
	size_t n = 0;
	char len[16];
	snprintf(len, sizeof len, "%zu", body ? strlen(body) : 0);
	record(fd, 1, begin, 8);
	put_param(p, &n, "REQUEST_METHOD", method);
	put_param(p, &n, "REQUEST_URI", uri);
	put_param(p, &n, "REMOTE_ADDR", "127.0.0.1");
	put_param(p, &n, "CONTENT_LENGTH", len);
	put_param(p, &n, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	record(fd, 4, p, n);
	record(fd, 4, NULL, 0);
	if (body && *body) record(fd, 5, (const unsigned char *)body, strlen(body));
	record(fd, 5, NULL, 0);
}

/* a FastCGI GET /healthz written on fd */
static void fcgi_send(int fd)
{
	fcgi_send_req(fd, 0, "GET", "/healthz", NULL);
}

/* read the answer: the HTTP status from the Status header (200 when absent), -1 when the stream breaks */
static int fcgi_read(int fd)
{
	char out[65536];
	size_t got = 0;
	for (;;) {
		unsigned char h[8];
		size_t k = 0;
		while (k < 8) { ssize_t r = read(fd, h + k, 8 - k); if (r <= 0) return -1; k += (size_t)r; }
		size_t len = ((size_t)h[4] << 8) | h[5], pad = h[6], left = len + pad;
		char body[65536 + 256];
		k = 0;
		while (k < left) { ssize_t r = read(fd, body + k, left - k); if (r <= 0) return -1; k += (size_t)r; }
		if (h[1] == 6 && got + len < sizeof out) { memcpy(out + got, body, len); got += len; }
		if (h[1] == 3) break;
	}
	out[got] = 0;
	const char *s = strstr(out, "Status: ");
	return s ? atoi(s + 8) : got ? 200 : -1;
}

static int fcgi_get(void)
{
	int fd = fcgi_connect();
	if (fd < 0) return -1;
	fcgi_send(fd);
	int st = fcgi_read(fd);
	close(fd);
	return st;
}

static int listen_sock;
static const char *workers = "2", *kept_max;   /* the next start_master's RSTREAM_WORKERS, RSTREAM_KEPT_CONNECTIONS */

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/rs-ops-sock-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock_path, sizeof sock_path, "%s/fcgi.sock", dir);
	listen_sock = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	cr_assert_eq(bind(listen_sock, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(listen_sock, 256), 0);
}

static void teardown(void)
{
	char c[128];
	snprintf(c, sizeof c, "rm -rf '%s'", dir);
	if (system(c)) {}
}

TestSuite(ops_socket, .init = setup, .fini = teardown, .timeout = 300);

/* start a master the way systemd does: the socket on fd 3, LISTEN_PID = the new process */
static pid_t start_master(const char *log)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (listen_sock != 3) { dup2(listen_sock, 3); close(listen_sock); }
		char v[32];
		snprintf(v, sizeof v, "%d", (int)getpid());
		setenv("LISTEN_PID", v, 1);
		setenv("LISTEN_FDS", "1", 1);
		/* must not be used: the inherited socket wins */
		setenv("RSTREAM_LISTEN", "unix:/nonexistent/never.sock", 1);
		setenv("RSTREAM_WORKERS", workers, 1);
		if (kept_max) setenv("RSTREAM_KEPT_CONNECTIONS", kept_max, 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
		execl(t_env("RSTREAM_BIN"), "rstream", "fcgi", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void wait_serving(void)
{
	for (int i = 0; i < 600 && fcgi_get() != 200; i++) usleep(100000);
	cr_assert_eq(fcgi_get(), 200, "the master never answered on the inherited socket (see %s/master.log)", dir);
}

Test(ops_socket, a_restart_with_an_inherited_socket_refuses_no_request)
{
	char log[128], stop[128];
	snprintf(log, sizeof log, "%s/master.log", dir);
	snprintf(stop, sizeof stop, "%s/stop", dir);
	pid_t a = start_master(log);
	wait_serving();

	/* a client asking without pause, in its own process, counting answers */
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t client = fork();
	if (client == 0) {
		close(pfd[0]);
		long ok = 0, bad = 0;
		while (access(stop, F_OK) != 0) { if (fcgi_get() == 200) ok++; else bad++; }
		char b[64];
		int n = snprintf(b, sizeof b, "%ld %ld", ok, bad);
		if (write(pfd[1], b, (size_t)n)) {}
		_exit(0);
	}
	close(pfd[1]);
	usleep(300000);

	/* systemctl restart: the old master drains and exits, the socket stays open in its owner */
	kill(a, SIGTERM);
	int st;
	cr_assert_eq(waitpid(a, &st, 0), a);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the old master exits cleanly");
	struct stat sb;
	cr_assert_eq(stat(sock_path, &sb), 0, "the master must not unlink a socket it did not create");
	/* a request made while no master runs is queued, and answered by the next one */
	int waiting = fcgi_connect();
	cr_assert_geq(waiting, 0, "connect refused while the service restarts");
	fcgi_send(waiting);
	pid_t b = start_master(log);
	cr_assert_eq(fcgi_read(waiting), 200, "the queued request was answered by the new master");
	close(waiting);
	wait_serving();
	usleep(300000);

	int fd = open(stop, O_CREAT | O_WRONLY, 0644);
	close(fd);
	char res[64] = "";
	cr_assert_gt(read(pfd[0], res, sizeof res - 1), 0);
	waitpid(client, NULL, 0);
	long ok = 0, bad = -1;
	cr_assert_eq(sscanf(res, "%ld %ld", &ok, &bad), 2);
	cr_assert_eq(bad, 0, "%ld requests failed across the restart (%ld answered)", bad, ok);
	cr_assert_gt(ok, 10);
	kill(b, SIGTERM);
	waitpid(b, NULL, 0);
	/* the master's own socket (RSTREAM_LISTEN) was never created */
	cr_assert_neq(stat("/nonexistent/never.sock", &sb), 0);
}

Test(ops_socket, a_wrong_listen_pid_is_ignored)
{
	/* LISTEN_PID of another process: the variables are for someone else; the master uses RSTREAM_LISTEN */
	char p[160], cmd[1024];
	snprintf(p, sizeof p, "%s/own.sock", dir);
	snprintf(cmd, sizeof cmd, "LISTEN_PID=1 LISTEN_FDS=1 RSTREAM_LISTEN='unix:%s' RSTREAM_WORKERS=1 RSTREAM_LOG_DIR= timeout -s TERM 5 '%s' fcgi "
		 ">>'%s/other.log' 2>&1; test -e '%s' || grep -q 'listening on unix:%s' '%s/other.log'", p, t_env("RSTREAM_BIN"), dir, p, p, dir);
	cr_assert_eq(system(cmd), 0, "the master did not listen on its own socket (see %s/other.log)", dir);
}

/* a connection whose reads give up after 5 s: a request left unanswered fails the test instead of hanging it */
static int kept_connect(void)
{
	int fd = fcgi_connect();
	cr_assert_geq(fd, 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static int kept_get(int fd)
{
	fcgi_send_req(fd, 1, "GET", "/healthz", NULL);
	return fcgi_read(fd);
}

/* the web server closed nothing, so a closed connection is the worker's doing: 0 bytes within 5 s */
static int closed_by_worker(int fd)
{
	char c;
	return read(fd, &c, 1) == 0;
}

Test(ops_socket, kept_connections_carry_many_requests_and_an_idle_one_pins_no_worker)
{
	char log[128];
	snprintf(log, sizeof log, "%s/kept.log", dir);
	workers = "1";   /* one worker: an idle kept connection that pinned it would leave every other request waiting */
	pid_t m = start_master(log);
	wait_serving();

	int k1 = kept_connect();
	for (int i = 0; i < 3; i++) cr_assert_eq(kept_get(k1), 200, "request %d on the kept connection", i + 1);
	/* a body the handler never reads (405 before any body is read) is read to its end before the next request */
	fcgi_send_req(k1, 1, "POST", "/healthz", "a=1&b=2");
	cr_assert_eq(fcgi_read(k1), 405);
	cr_assert_eq(kept_get(k1), 200, "the request after an unread body");

	/* k1 idle and kept: a second kept connection and a closing one are served all the same */
	int k2 = kept_connect();
	cr_assert_eq(kept_get(k2), 200, "a new connection while another kept one is idle (see %s)", log);
	int c = kept_connect();
	fcgi_send_req(c, 0, "GET", "/healthz", NULL);
	cr_assert_eq(fcgi_read(c), 200);
	cr_assert(closed_by_worker(c), "a connection without FCGI_KEEP_CONN is closed after its request");
	close(c);
	cr_assert_eq(kept_get(k1), 200, "the first kept connection still serves");
	cr_assert_eq(kept_get(k2), 200);
	/* the web server closing a kept connection frees it; the worker goes on */
	close(k1);
	cr_assert_eq(kept_get(k2), 200);
	close(k2);
	kill(m, SIGTERM);
	int st;
	cr_assert_eq(waitpid(m, &st, 0), m);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the master drains and exits cleanly with kept connections");
}

Test(ops_socket, a_connection_past_kept_connections_is_closed_after_its_request)
{
	char log[128];
	snprintf(log, sizeof log, "%s/kept-max.log", dir);
	workers = "1";
	kept_max = "1";
	pid_t m = start_master(log);
	wait_serving();
	int k1 = kept_connect(), k2 = kept_connect();
	cr_assert_eq(kept_get(k1), 200);
	cr_assert_eq(kept_get(k2), 200, "the connection past the limit is answered");
	cr_assert(closed_by_worker(k2), "and then closed: the worker keeps kept_connections = 1");
	cr_assert_eq(kept_get(k1), 200, "the kept one still serves");
	close(k1);
	close(k2);
	kill(m, SIGTERM);
	waitpid(m, NULL, 0);
}

/* sockets a process holds (its listening socket, database and Redis connections, kept FastCGI connections) */
static int sockets_of(pid_t pid)
{
	char path[64], link[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	int n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		char p[96];
		snprintf(p, sizeof p, "%s/%d", path, fd);
		ssize_t l = readlink(p, link, sizeof link - 1);
		if (l > 0 && !strncmp(link, "socket:", 7)) n++;
	}
	return n;
}

/* the master's workers, from /proc/<master>/task/<master>/children */
static int workers_of(pid_t m, pid_t *out, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)m, (int)m);
	FILE *f = fopen(path, "r");
	if (!f) return 0;
	int n = 0, p;
	while (n < max && fscanf(f, "%d", &p) == 1) out[n++] = p;
	fclose(f);
	return n;
}

Test(ops_socket, kept_connections_spread_over_the_workers)
{
	char log[128];
	snprintf(log, sizeof log, "%s/spread.log", dir);
	workers = "4";
	pid_t m = start_master(log);
	wait_serving();
	pid_t w[8];
	int nw = 0, base[8];
	for (int i = 0; i < 100 && (nw = workers_of(m, w, 8)) < 4; i++) usleep(50000);
	cr_assert_eq(nw, 4);
	usleep(300000);   /* every worker connected to its database and Redis */
	for (int i = 0; i < nw; i++) base[i] = sockets_of(w[i]);
	/* one request at a time, as a quiet web server sends them: a new connection wakes the first worker waiting,
	 * so without the spread one worker would keep all 24; one closed after its request is opened again, as nginx
	 * does */
	enum { CONNS = 24 };
	int fds[CONNS], reopened = 0;
	for (int c = 0; c < CONNS; c++) {
		for (int tries = 0;; tries++) {
			cr_assert_lt(tries, 20, "connection %d was never kept", c);
			fds[c] = kept_connect();
			cr_assert_eq(kept_get(fds[c]), 200);
			struct pollfd pf = {fds[c], POLLIN, 0};
			char b;
			if (poll(&pf, 1, 200) == 1 && read(fds[c], &b, 1) == 0) {   /* closed after its request */
				close(fds[c]);
				reopened++;
				continue;
			}
			break;
		}
	}
	int total = 0, most = 0;
	for (int i = 0; i < nw; i++) {
		int held = sockets_of(w[i]) - base[i];
		total += held;
		if (held > most) most = held;
	}
	cr_assert_eq(total, CONNS, "the workers hold every kept connection");
	cr_assert_leq(most, CONNS / 4 + CONNS / 32 + 3, "no worker holds much more than its share (%d of %d; %d reopened)",
		      most, CONNS, reopened);
	for (int c = 0; c < CONNS; c++) cr_assert_eq(kept_get(fds[c]), 200, "kept connection %d still serves", c);
	for (int c = 0; c < CONNS; c++) close(fds[c]);
	kill(m, SIGTERM);
	waitpid(m, NULL, 0);
}
