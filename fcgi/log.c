/* JSON-lines logging: one object per line, easy to ship and grep. Three streams (access, error, security), each
 * a file under log.dir or stderr. Every process appends with O_APPEND and writes a line with one write(2), so the
 * lines of the pre-forked workers never interleave; log_reopen after a rotation needs no restart. */
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "http.h"

static const char *component = "rstream";
static const char *const file_names[LOG_NSTREAMS] = {"error.log", "access.log", "security.log"};
static int fds[LOG_NSTREAMS] = {2, 2, 2};
static char *dir;   /* long-lived: the paths log_reopen opens again */

void log_init(const char *c) { component = c; }
const char *log_dir(void) { return dir; }

static int open_one(const char *d, int s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", d, file_names[s]);
	/* 0640: the group (www-data on a host) may read, nobody else; CLOEXEC: ffmpeg and other children get none */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int log_open(const char *d, char *err, size_t errlen)
{
	if (!d || !*d) return 0;
	if (mkdir(d, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "log.dir %s: %s", d, strerror(errno));
		return -1;
	}
	int nfd[LOG_NSTREAMS];
	for (int s = 0; s < LOG_NSTREAMS; s++) {
		nfd[s] = open_one(d, s);
		if (nfd[s] >= 0) continue;
		snprintf(err, errlen, "log.dir %s/%s: %s", d, file_names[s], strerror(errno));
		while (s-- > 0) close(nfd[s]);
		return -1;
	}
	log_flush();
	for (int s = 0; s < LOG_NSTREAMS; s++) {
		if (fds[s] != 2) close(fds[s]);
		fds[s] = nfd[s];
	}
	free(dir);
	dir = strdup(d);
	return 0;
}

/* The access stream of a FastCGI worker is buffered (log_buffer_access): a write(2) per request was a tenth of a
 * small request's cost. Lines wait at most a second, or until the worker goes idle or exits (log_flush); a worker
 * that crashes loses at most that second of access lines. One write holds whole lines only, and O_APPEND lands
 * it whole at the end of the file. */
static char abuf[32768];
static size_t alen;
static time_t afirst;
static int abuffered;

void log_buffer_access(int on)
{
	static int at_exit;
	if (!at_exit) at_exit = !atexit(log_flush);   /* any exit(), not only the worker loop's */
	log_flush();
	abuffered = on;
}

void log_flush(void)
{
	if (!alen) return;
	if (write(fds[LOG_ACCESS], abuf, alen) < 0 && fds[LOG_ACCESS] != 2) {
		if (write(2, abuf, alen) < 0) {}
	}
	alen = 0;
}

/* 1: the line is in the buffer */
static int buffer_access(const char *text, size_t len, time_t now)
{
	if (!abuffered) return 0;
	if (len + 1 > sizeof abuf / 2) { log_flush(); return 0; }   /* written at once, after the lines before it */
	if (alen + len + 1 > sizeof abuf) log_flush();
	if (!alen) afirst = now;
	memcpy(abuf + alen, text, len);
	abuf[alen + len] = '\n';
	alen += len + 1;
	if (now - afirst >= 1) log_flush();
	return 1;
}

int log_reopen(void)
{
	if (!dir) return 0;
	log_flush();
	int rc = 0;
	for (int s = 0; s < LOG_NSTREAMS; s++) {
		int fd = open_one(dir, s);
		if (fd < 0) {
			rc = -1;
			log_msg("error", "log reopen: %s/%s: %s (still writing to the old file)", dir, file_names[s], strerror(errno));
			continue;
		}
		/* dup2 swaps atomically: a line written meanwhile lands in the old file or the new one, never nowhere */
		if (dup2(fd, fds[s]) < 0) rc = -1;
		else fcntl(fds[s], F_SETFD, FD_CLOEXEC);
		close(fd);
	}
	return rc;
}

/* the pid on every line without a system call per line: kept, and forgotten in a forked child */
static pid_t my_pid;
static void forget_pid(void) { my_pid = 0; }

static pid_t log_pid(void)
{
	static int registered;
	if (!registered) registered = !pthread_atfork(NULL, NULL, forget_pid);
	if (!my_pid) my_pid = getpid();
	return my_pid;
}

static time_t stamp(char *out, size_t n)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%03ldZ", (long)(tv.tv_usec / 1000));
	return tv.tv_sec;
}

void log_to(enum log_stream s, json_object *line)
{
	char ts[40];
	time_t now = stamp(ts, sizeof ts);
	json_object_object_add(line, "ts", json_object_new_string(ts));
	if (!json_object_object_get_ex(line, "level", NULL))
		json_object_object_add(line, "level", json_object_new_string("info"));
	json_object_object_add(line, "component", json_object_new_string(component));
	json_object_object_add(line, "pid", json_object_new_int(log_pid()));
	size_t len;
	const char *text = json_object_to_json_string_length(line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == LOG_ACCESS && buffer_access(text, len, now)) {
		json_object_put(line);
		return;
	}
	/* one write per line: O_APPEND makes each write land whole at the end of the file */
	char small[4096], *b = len + 1 <= sizeof small ? small : malloc(len + 1);
	if (b) {
		memcpy(b, text, len);
		b[len] = '\n';
		if (write(fds[s], b, len + 1) < 0 && fds[s] != 2) {
			if (write(2, b, len + 1) < 0) {}   /* the disk is full or gone: stderr (journald) rather than nothing */
		}
		if (b != small) free(b);
	}
	json_object_put(line);
}

/* s as a JSON string, escaped as json-c does with JSON_C_TO_STRING_NOSLASHESCAPE (UTF-8 passes through) */
static void json_quote(buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\') continue;
		buf_append(b, run, (size_t)(s - run));
		char e[8];
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default: snprintf(e, sizeof e, "\\u%04x", c); buf_append(b, e, 6);
		}
		run = s + 1;
	}
	buf_append(b, run, (size_t)(s - run));
	buf_append(b, "\"", 1);
}

void log_access_kv(const struct log_kv *kv, int n)
{
	static buf line;   /* kept between calls: one allocation for the worker's life */
	char ts[40], pid[16];
	time_t now = stamp(ts, sizeof ts);
	snprintf(pid, sizeof pid, "%d", (int)log_pid());
	const struct log_kv tail[] = {{"ts", ts, 0}, {"level", "info", 0}, {"component", component, 0}, {"pid", pid, 1}};
	buf_reset(&line);
	buf_append(&line, "{", 1);
	for (int i = 0; i < n + 4; i++) {
		const struct log_kv *f = i < n ? &kv[i] : &tail[i - n];
		if (!f->v) continue;
		if (line.len > 1) buf_append(&line, ",", 1);
		json_quote(&line, f->k);
		buf_append(&line, ":", 1);
		if (f->raw) buf_puts(&line, f->v);
		else json_quote(&line, f->v);
	}
	buf_append(&line, "}", 1);
	if (buffer_access(line.p, line.len, now)) return;
	buf_append(&line, "\n", 1);
	if (write(fds[LOG_ACCESS], line.p, line.len) < 0 && fds[LOG_ACCESS] != 2) {
		if (write(2, line.p, line.len) < 0) {}
	}
}

void log_json(json_object *line) { log_to(LOG_ERROR, line); }

void log_msg(const char *level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "level", json_object_new_string(level));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	log_json(o);
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v && *v && !json_object_object_get_ex(o, k, NULL)) json_object_object_add(o, k, json_object_new_string(v));
}

void log_security(struct req *r, const char *event, json_object *fields)
{
	json_object *o = fields ? fields : json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(event));
	if (!json_object_object_get_ex(o, "level", NULL))
		json_object_object_add(o, "level", json_object_new_string("warn"));
	if (r) {
		add_str(o, "request_id", r->request_id);
		add_str(o, "traceparent", r->traceparent);
		add_str(o, "ip", r->client_ip);
		add_str(o, "user", r->log_user);
		add_str(o, "method", r->method);
		add_str(o, "path", r->path);
	}
	log_to(LOG_SECURITY, o);
}

/* parameters whose values are credentials: OAuth/OIDC (code, state, tokens), sign-in links, passwords, signatures */
static int secret_param(const char *k, size_t n)
{
	static const char *const names[] = {"code", "state", "nonce", "password", "pass", "secret", "key", "sig",
					    "signature", "md5", "jwt", "session", "assertion", "code_verifier", "otp"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && !strncasecmp(k, names[i], n)) return 1;
	static const char *const tails[] = {"token", "secret", "password", "key"};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		size_t t = strlen(tails[i]);
		if (n >= t && !strncasecmp(k + n - t, tails[i], t)) return 1;
	}
	return 0;
}

void log_redact_query(const char *qs, char *out, size_t n)
{
	size_t o = 0;
	if (!n) return;
	while (qs && *qs && o + 1 < n) {
		size_t pl = strcspn(qs, "&;"), kl = strcspn(qs, "=&;");
		const char *part = qs;
		size_t keep = pl;
		if (kl < pl && secret_param(qs, kl)) keep = kl + 1;   /* "token=" stays, its value goes */
		for (size_t i = 0; i < keep && o + 1 < n; i++) out[o++] = part[i];
		if (keep != pl)
			for (const char *red = "REDACTED"; *red && o + 1 < n; red++) out[o++] = *red;
		qs += pl;
		if (*qs && o + 1 < n) out[o++] = *qs++;
	}
	out[o] = 0;
}
