/* Integration-test support: a small HTTP/1.0 client over plain sockets for the stack that tests/run.sh
 * starts, plus direct database access through libpq. See harness.h for the contract. */
#include "harness.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_SECONDS 60

const char *t_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr, "harness: environment variable %s is not set (run the tests through tests/run.sh)\n", name);
		abort();
	}
	return v;
}

/* ---- growable byte buffer ---- */
struct sbuf { char *p; size_t len, cap; };

static void sb_add(struct sbuf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1) cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) abort();
	sb_add(b, s, (size_t)n);
	free(s);
}

/* ---- connection ---- */
static int connect_test_server(void)
{
	const char *url = t_env("RSTREAM_TEST_URL");
	char host[256] = "127.0.0.1", port[16] = "80";
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof host) return -1;
	memcpy(host, p, hl);
	host[hl] = 0;
	if (p[hl] == ':') {
		size_t pl = strcspn(p + hl + 1, "/");
		if (pl == 0 || pl >= sizeof port) return -1;
		memcpy(port, p + hl + 1, pl);
		port[pl] = 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) return -1;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_SECONDS};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Send all bytes; 0 ok, -1 when the peer stopped reading (it may still have answered, e.g. 413). */
static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int has_header(const char *headers, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = headers; l && *l;) {
		if (!strncasecmp(l, name, nl) && l[nl] == ':') return 1;
		l = strchr(l, '\n');
		if (l) l++;
	}
	return 0;
}

/* Parse "HTTP/1.x NNN ...\r\nheaders\r\n\r\nbody" into out. */
static void parse_response(struct sbuf *raw, struct http_res *out)
{
	memset(out, 0, sizeof *out);
	char *data = raw->p ? raw->p : "";
	char *sep = strstr(data, "\r\n\r\n");
	size_t hlen = sep ? (size_t)(sep - data) : strlen(data);
	size_t boff = sep ? hlen + 4 : raw->len;
	out->head = strndup(data, hlen);
	if (!out->head) abort();
	if (!strncmp(data, "HTTP/", 5)) {
		const char *sp = strchr(data, ' ');
		if (sp) out->status = atoi(sp + 1);
	}
	size_t blen = raw->len > boff ? raw->len - boff : 0;
	const char *cl = http_header(out, "Content-Length");
	if (cl) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);
		if (end != cl && n < blen) blen = (size_t)n;
	}
	out->body = malloc(blen + 1);
	if (!out->body) abort();
	memcpy(out->body, data + boff, blen);
	out->body[blen] = 0;
	out->body_len = blen;
}

/* One request: the head, then the body from memory or from an open file. */
static int http_exchange(const char *method, const char *path, const char *extra_headers,
			 const char *body, size_t body_len, int body_fd, struct http_res *out)
{
	memset(out, 0, sizeof *out);
	int fd = connect_test_server();
	if (fd < 0) return -1;
	const char *url = t_env("RSTREAM_TEST_URL");
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	struct sbuf req = {0};
	sb_printf(&req, "%s %s HTTP/1.0\r\nHost: %.*s\r\nConnection: close\r\nUser-Agent: rstream-harness\r\n",
		  method, path, (int)strcspn(host, "/"), host);
	int has_body = body != NULL || body_fd >= 0 || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
		       !strcmp(method, "PATCH");
	if (has_body) sb_printf(&req, "Content-Length: %zu\r\n", body_len);
	/* A body without an explicit type: JSON when it looks like JSON, else a urlencoded form. */
	if (body && body_len && !(extra_headers && has_header(extra_headers, "Content-Type")))
		sb_printf(&req, "Content-Type: %s\r\n",
			  (body[0] == '{' || body[0] == '[') ? "application/json" : "application/x-www-form-urlencoded");
	if (extra_headers) sb_add(&req, extra_headers, strlen(extra_headers));
	sb_add(&req, "\r\n", 2);
	int ok = send_all(fd, req.p, req.len) == 0;
	free(req.p);
	if (ok && body && body_len) ok = send_all(fd, body, body_len) == 0;
	if (ok && body_fd >= 0) {
		char chunk[65536];
		ssize_t n;
		while (ok && (n = read(body_fd, chunk, sizeof chunk)) > 0) ok = send_all(fd, chunk, (size_t)n) == 0;
	}
	/* Read to EOF even after a failed send: the server may have answered early (413) and closed.
	 * No shutdown(SHUT_WR): nginx takes a half-closed client as gone and drops proxied requests (499). */
	struct sbuf raw = {0};
	char chunk[65536];
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		sb_add(&raw, chunk, (size_t)n);
	}
	close(fd);
	parse_response(&raw, out);
	free(raw.p);
	return 0;
}

int http_do(const char *method, const char *path, const char *extra_headers, const char *body, size_t body_len,
	    struct http_res *out)
{
	return http_exchange(method, path, extra_headers, body, body ? body_len : 0, -1, out);
}

int http_do_file(const char *method, const char *path, const char *extra_headers, const char *file,
		 struct http_res *out)
{
	int bfd = open(file, O_RDONLY | O_CLOEXEC);
	if (bfd < 0) {
		fprintf(stderr, "harness: cannot open %s: %s\n", file, strerror(errno));
		memset(out, 0, sizeof *out);
		return -1;
	}
	struct stat st;
	if (fstat(bfd, &st) < 0) { close(bfd); memset(out, 0, sizeof *out); return -1; }
	int rc = http_exchange(method, path, extra_headers, NULL, (size_t)st.st_size, bfd, out);
	close(bfd);
	return rc;
}

/* nth (0-based) header line called name: pointer to its value and its length, or NULL. */
static const char *header_nth(const char *head, const char *name, int nth, size_t *len)
{
	size_t nl = strlen(name);
	const char *l = head ? strchr(head, '\n') : NULL;   /* skip the status line */
	while (l && *l) {
		l++;
		if (!strncasecmp(l, name, nl) && l[nl] == ':' && nth-- == 0) {
			const char *v = l + nl + 1;
			while (*v == ' ' || *v == '\t') v++;
			size_t n = strcspn(v, "\r\n");
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
			*len = n;
			return v;
		}
		l = strchr(l, '\n');
	}
	return NULL;
}

const char *http_header(const struct http_res *r, const char *name)
{
	static char value[8192];
	size_t n;
	const char *v = header_nth(r->head, name, 0, &n);
	if (!v) return NULL;
	if (n >= sizeof value) n = sizeof value - 1;
	memcpy(value, v, n);
	value[n] = 0;
	return value;
}

void http_free(struct http_res *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* ---- logins ---- */
char *t_login(const char *email, const char *password)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct http_res r;
	char *token = NULL;
	if (http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\nAccept: application/json\r\n",
		    body, strlen(body), &r) == 0) {
		json_object *res = r.status == 200 ? json_tokener_parse(r.body) : NULL, *t;
		if (res && json_object_object_get_ex(res, "token", &t) && json_object_is_type(t, json_type_string))
			token = strdup(json_object_get_string(t));
		else
			fprintf(stderr, "harness: login of %s failed: HTTP %d %.300s\n", email, r.status, r.body);
		json_object_put(res);
		http_free(&r);
	}
	json_object_put(o);
	return token;
}

char *t_admin_token(void)
{
	static char *token;
	if (!token) token = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	return token;
}

/* Add every "Set-Cookie: name=value; ..." of r to the cookie jar "a=1; b=2" (replacing same names). */
static void jar_update(struct sbuf *jar, const struct http_res *r)
{
	size_t n;
	for (int i = 0; header_nth(r->head, "Set-Cookie", i, &n); i++) {
		const char *v = header_nth(r->head, "Set-Cookie", i, &n);
		size_t pair = strcspn(v, ";\r\n");
		if (pair > n) pair = n;
		const char *eq = memchr(v, '=', pair);
		if (!eq) continue;
		size_t nlen = (size_t)(eq - v);
		/* rebuild the jar without the old cookie of that name */
		struct sbuf next = {0};
		char *save = NULL, *copy = strdup(jar->p ? jar->p : "");
		for (char *c = strtok_r(copy, ";", &save); c; c = strtok_r(NULL, ";", &save)) {
			while (*c == ' ') c++;
			if (!strncmp(c, v, nlen) && c[nlen] == '=') continue;
			if (next.len) sb_add(&next, "; ", 2);
			sb_add(&next, c, strlen(c));
		}
		free(copy);
		/* an emptied cookie (logout, expiry) is dropped */
		if ((size_t)(eq + 1 - v) < pair) {
			if (next.len) sb_add(&next, "; ", 2);
			sb_add(&next, v, pair);
		}
		free(jar->p);
		*jar = next;
		if (!jar->p) sb_add(jar, "", 0);
	}
}

/* The value of attribute attr in the first tag containing marker, HTML-unescaped enough for tokens. */
static int tag_attr(const char *html, const char *marker, const char *attr, char *out, size_t outlen)
{
	const char *m = strstr(html, marker);
	if (!m) return -1;
	const char *lt = m;
	while (lt > html && *lt != '<') lt--;
	const char *gt = strchr(m, '>');
	if (!gt) return -1;
	char pat[64];
	snprintf(pat, sizeof pat, " %s=\"", attr);
	for (const char *p = lt; p && p < gt; p++) {
		p = strstr(p, pat);
		if (!p || p > gt) break;
		p += strlen(pat);
		size_t n = strcspn(p, "\"");
		if (n >= outlen) return -1;
		memcpy(out, p, n);
		out[n] = 0;
		return 0;
	}
	return -1;
}

static char *form_escape(const char *s)
{
	struct sbuf b = {0};
	sb_add(&b, "", 0);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') sb_add(&b, s, 1);
		else sb_printf(&b, "%%%02X", c);
	}
	return b.p;
}

char *t_browser_login(const char *email, const char *password, char csrf[65])
{
	struct sbuf jar = {0};
	sb_add(&jar, "", 0);
	char form_csrf[256] = "", *hdr = NULL, *body = NULL, *e = NULL, *pw = NULL, *tok = NULL;
	struct http_res r = {0};
	csrf[0] = 0;

	if (http_do("GET", "/login", NULL, NULL, 0, &r) != 0 || r.status != 200) {
		fprintf(stderr, "harness: GET /login answered %d\n", r.status);
		goto fail;
	}
	jar_update(&jar, &r);
	if (tag_attr(r.body, "name=\"_csrf\"", "value", form_csrf, sizeof form_csrf) != 0) {
		fprintf(stderr, "harness: no _csrf input on /login\n");
		goto fail;
	}
	http_free(&r);

	e = form_escape(email);
	pw = form_escape(password);
	tok = form_escape(form_csrf);
	if (asprintf(&body, "email=%s&password=%s&_csrf=%s", e, pw, tok) < 0) abort();
	if (asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", jar.p) < 0) abort();
	if (http_do("POST", "/login", hdr, body, strlen(body), &r) != 0 || r.status >= 400) {
		fprintf(stderr, "harness: POST /login answered %d: %.300s\n", r.status, r.body ? r.body : "");
		goto fail;
	}
	jar_update(&jar, &r);
	http_free(&r);
	if (!strstr(jar.p, "rs_session=")) {
		fprintf(stderr, "harness: POST /login set no rs_session cookie for %s\n", email);
		goto fail;
	}

	free(hdr);
	if (asprintf(&hdr, "Cookie: %s\r\n", jar.p) < 0) abort();
	if (http_do("GET", "/", hdr, NULL, 0, &r) != 0 || r.status != 200) {
		fprintf(stderr, "harness: GET / after login answered %d\n", r.status);
		goto fail;
	}
	char meta[128];
	if (tag_attr(r.body, "name=\"csrf-token\"", "content", meta, sizeof meta) != 0 || strlen(meta) > 64) {
		fprintf(stderr, "harness: no <meta name=\"csrf-token\"> on /\n");
		goto fail;
	}
	memcpy(csrf, meta, strlen(meta) + 1);   /* length checked above */
	http_free(&r);
	free(hdr); free(body); free(e); free(pw); free(tok);
	return jar.p;
fail:
	http_free(&r);
	free(hdr); free(body); free(e); free(pw); free(tok); free(jar.p);
	return NULL;
}

/* ---- database ---- */
PGconn *t_db(void)
{
	static PGconn *conn;
	if (conn && PQstatus(conn) != CONNECTION_OK) PQreset(conn);
	if (!conn) {
		conn = PQconnectdb(t_env("DATABASE_URL"));
		if (PQstatus(conn) != CONNECTION_OK) {
			fprintf(stderr, "harness: cannot connect to the database: %s", PQerrorMessage(conn));
			abort();
		}
	}
	return conn;
}

char *t_db_value(const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(t_db(), sql, n, NULL, params, NULL, NULL, 0);
	/* the server was restarted under us (fault suite): libpq learns it only now; reconnect and ask once more */
	if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    (PQstatus(t_db()) == CONNECTION_BAD || !PQresultErrorField(res, PG_DIAG_SQLSTATE))) {
		PQclear(res);
		PQreset(t_db());
		res = PQexecParams(t_db(), sql, n, NULL, params, NULL, NULL, 0);
	}
	char *v = NULL;
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strdup(PQgetvalue(res, 0, 0));
	else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		fprintf(stderr, "harness: query failed: %s\n  %s\n", PQresultErrorMessage(res), sql);
	PQclear(res);
	return v;
}

char *t_db_wait(const char *sql, int n, const char *const *params, const char *want, int ms)
{
	char *v = NULL;
	for (int waited = 0;; waited += 50) {
		free(v);
		v = t_db_value(sql, n, params);
		if ((v && !strcmp(v, want)) || waited >= ms) return v;
		usleep(50000);
	}
}

int t_at_once(int n, int (*child)(int i, void *arg), void *arg)
{
	pid_t kids[n];
	int failed = 0;
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0) failed++;
		if (kids[i] == 0) _exit(child(i, arg) == 0 ? 0 : 1);
	}
	for (int i = 0; i < n; i++) {
		int st;
		if (kids[i] <= 0) continue;
		while (waitpid(kids[i], &st, 0) < 0)
			if (errno != EINTR) { st = -1; break; }
		failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return failed;
}

/* Run argv (no shell), output to stderr of the test; returns the exit status or -1. */
static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) dup2(devnull, STDOUT_FILENO);   /* `user add` prints the password */
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long t_make_user(const char *email, const char *role, const char *password)
{
	const char *bin = t_env("RSTREAM_BIN");
	const char *params[1] = {email};
	char *id = t_db_value("SELECT id FROM users WHERE lower(email) = lower($1)", 1, params);
	int rc;
	if (id) {
		char *argv[] = {(char *)bin, "user", "passwd", "--email", (char *)email, "--password", (char *)password, NULL};
		rc = run_cmd(argv);
		/* the role may differ from an earlier test's: set it directly */
		const char *p2[2] = {email, role};
		free(t_db_value("UPDATE users SET role = $2, disabled = false, failed_logins = 0, locked_until = NULL WHERE lower(email) = lower($1) RETURNING id", 2, p2));
	} else {
		char name[256];
		snprintf(name, sizeof name, "Test %s", role);
		char *argv[] = {(char *)bin, "user", "add", "--email", (char *)email, "--name", name,
				"--role", (char *)role, "--password", (char *)password, NULL};
		rc = run_cmd(argv);
	}
	free(id);
	if (rc != 0) {
		fprintf(stderr, "harness: rstream user add/passwd for %s exited %d\n", email, rc);
		return -1;
	}
	id = t_db_value("SELECT id FROM users WHERE lower(email) = lower($1)", 1, params);
	long v = id ? atol(id) : -1;
	free(id);
	return v;
}

/* ---- jobs ---- */
const char *t_wait_job(long job_id, int timeout_seconds)
{
	static char state[64];
	char path[64], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/jobs/%ld", job_id);
	const char *token = t_admin_token();
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token ? token : "");
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	snprintf(state, sizeof state, "timeout");
	for (;;) {
		struct http_res r;
		if (http_do("GET", path, hdr, NULL, 0, &r) == 0 && r.status == 200) {
			json_object *o = json_tokener_parse(r.body), *job, *st;
			if (o && json_object_object_get_ex(o, "job", &job) && json_object_object_get_ex(job, "state", &st)) {
				snprintf(state, sizeof state, "%s", json_object_get_string(st));
			}
			json_object_put(o);
		}
		http_free(&r);
		if (!strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "cancelled") ||
		    !strcmp(state, "dead"))
			return state;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_seconds) {
			fprintf(stderr, "harness: job %ld still '%s' after %ds\n", job_id, state, timeout_seconds);
			snprintf(state, sizeof state, "timeout");
			return state;
		}
		usleep(200 * 1000);
	}
}

int t_children(int parent, int *out, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < max) {
		if (!isdigit((unsigned char)e->d_name[0])) continue;
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f) continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = 0;
		char *rp = strrchr(buf, ')');   /* comm may hold spaces: fields restart after the last ')' */
		char state;
		int ppid;
		if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent && state != 'Z')
			out[n++] = atoi(e->d_name);
	}
	if (d) closedir(d);
	return n;
}
