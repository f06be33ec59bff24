/* Helpers for the notification tests (header-only, static): waiting for rows, reading what the SMTP sink
 * received (decoded subject and body), and a loopback webhook receiver on the HTTP port + 21. */
#ifndef RS_NOTIFY_HELPERS_H
#define RS_NOTIFY_HELPERS_H
#include "learn_helpers.h"
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* poll a SQL value until it equals want (bounded); returns the last value (malloc'd, may be NULL) */
__attribute__((unused)) static char *nh_wait(const char *want, int seconds, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return t_db_wait(sql, 0, NULL, want, seconds * 1000);
}

/* base64 text (no line breaks) → malloc'd bytes, NUL-terminated */
__attribute__((unused)) static char *nh_b64(const char *s, size_t n)
{
	unsigned char *out = calloc(1, n + 4);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0) len = 0;
	while (n > 0 && s[n - 1] == '=') { n--; if (len) len--; }
	out[len] = 0;
	return (char *)out;
}

struct nh_mail { char *raw, *subject, *body, *subject_raw; };

/* decode a header value made of RFC 2047 B words (or plain text) */
__attribute__((unused)) static char *nh_decode_header(const char *v)
{
	char *out = calloc(1, strlen(v) + 1);
	const char *p = v;
	while (*p) {
		const char *w = strstr(p, "=?UTF-8?B?");
		if (!w) { if (!strstr(v, "=?")) strcat(out, p); break; }
		const char *e = strstr(w + 10, "?=");
		if (!e) break;
		char *d = nh_b64(w + 10, (size_t)(e - w - 10));
		strcat(out, d);
		free(d);
		p = e + 2;
	}
	return out;
}

/* the first message the sink received for rcpt, waiting up to seconds; NULL when none came */
__attribute__((unused)) static struct nh_mail *nh_mail_for(const char *rcpt, int seconds)
{
	char want[300];
	snprintf(want, sizeof want, "X-Sink-To: %s\r\n", rcpt);
	for (int i = 0; i < seconds * 5; i++) {
		DIR *d = opendir(t_env("RSTREAM_TEST_MAIL_DIR"));
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strstr(e->d_name, ".eml") || strstr(e->d_name, ".tmp")) continue;
			char path[1024];
			snprintf(path, sizeof path, "%s/%s", t_env("RSTREAM_TEST_MAIL_DIR"), e->d_name);
			FILE *f = fopen(path, "rb");
			if (!f) continue;
			char *raw = calloc(1, 1 << 20);
			size_t n = fread(raw, 1, (1 << 20) - 1, f);
			fclose(f);
			raw[n] = 0;
			if (!strstr(raw, want)) { free(raw); continue; }
			closedir(d);
			struct nh_mail *m = calloc(1, sizeof *m);
			m->raw = raw;
			/* Subject: with folded continuation lines */
			char *s = strstr(raw, "\r\nSubject: ");
			if (s) {
				s += 11;
				char *end = s;
				while (*end && !(end[0] == '\r' && end[1] == '\n' && end[2] != ' ')) end++;
				m->subject_raw = strndup(s, (size_t)(end - s));
				m->subject = nh_decode_header(m->subject_raw);
			}
			char *b = strstr(raw, "\r\n\r\n");
			if (b) {
				b += 4;
				char *clean = calloc(1, strlen(b) + 1);
				for (char *q = b, *o = clean; *q; q++) if (*q != '\r' && *q != '\n') *o++ = *q;
				m->body = nh_b64(clean, strlen(clean));
				free(clean);
			}
			return m;
		}
		if (d) closedir(d);
		usleep(200000);
	}
	return NULL;
}

__attribute__((unused)) static void nh_mail_free(struct nh_mail *m)
{
	if (!m) return;
	free(m->raw); free(m->subject); free(m->body); free(m->subject_raw); free(m);
}

/* ---- webhook receiver ---- */
struct nh_recv {
	int port, fd, status, sleep_s, count;
	char last_head[8192], last_body[65536];
	pthread_mutex_t mu;
	pthread_t th;
};

static void *nh_recv_loop(void *arg)
{
	struct nh_recv *rv = arg;
	for (;;) {
		int c = accept(rv->fd, NULL, NULL);
		if (c < 0) return NULL;
		char buf[80000];
		size_t n = 0;
		ssize_t k;
		char *hend = NULL;
		while (n < sizeof buf - 1 && (k = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
			n += (size_t)k;
			buf[n] = 0;
			hend = strstr(buf, "\r\n\r\n");
			if (hend) {
				char *cl = strcasestr(buf, "Content-Length:");
				size_t want = cl ? (size_t)atol(cl + 15) : 0;
				if (n >= (size_t)(hend + 4 - buf) + want) break;
			}
		}
		pthread_mutex_lock(&rv->mu);
		int st = rv->status, sl = rv->sleep_s;
		if (hend) {
			snprintf(rv->last_head, sizeof rv->last_head, "%.*s", (int)(hend - buf), buf);
			snprintf(rv->last_body, sizeof rv->last_body, "%s", hend + 4);
		}
		rv->count++;
		pthread_mutex_unlock(&rv->mu);
		if (sl) sleep((unsigned)sl);
		char resp[128];
		int len = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", st);
		if (write(c, resp, (size_t)len) < 0) {}
		close(c);
	}
}

__attribute__((unused)) static struct nh_recv *nh_recv_start(int offset, int status)
{
	struct nh_recv *rv = calloc(1, sizeof *rv);
	rv->port = atoi(t_env("HTTP_PORT")) + offset;
	rv->status = status;
	pthread_mutex_init(&rv->mu, NULL);
	rv->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(rv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)rv->port), .sin_addr.s_addr = htonl(0x7f000001)};
	cr_assert_eq(bind(rv->fd, (struct sockaddr *)&a, sizeof a), 0, "bind the webhook receiver on %d", rv->port);
	cr_assert_eq(listen(rv->fd, 16), 0);
	pthread_create(&rv->th, NULL, nh_recv_loop, rv);
	return rv;
}

__attribute__((unused)) static int nh_recv_count(struct nh_recv *rv)
{
	pthread_mutex_lock(&rv->mu);
	int n = rv->count;
	pthread_mutex_unlock(&rv->mu);
	return n;
}

/* a class with a teacher and students (users with e-mail <sourced>@learn.test), a ready video, and an
 * assignment of it to the class made through the API; returns the assignment id */
__attribute__((unused)) static long nh_assign(const char *tag, const char **students, int n, long *student_ids,
					      char **student_headers, const char *title)
{
	char t[96], cls[96];
	snprintf(t, sizeof t, "nt-%s", tag);
	snprintf(cls, sizeof cls, "ncls-%s", tag);
	long tid;
	char *th = lh_user("creator", t, &tid);
	for (int i = 0; i < n; i++) {
		char *h = lh_user("viewer", students[i], &student_ids[i]);
		if (student_headers) student_headers[i] = h; else free(h);
	}
	lh_class(cls, "通知テスト組", t, students, n);
	char *pid = lh_video(tid, "private", 120, title);
	char body[512];
	snprintf(body, sizeof body, "{\"video\":\"%s\",\"classes\":[\"%s\"]}", pid, cls);
	json_object *o = lh_json("POST", "/api/v1/assignments", th, body, 201);
	long id = atol(lh_get(o, "assignment.id"));
	json_object_put(o);
	free(th);
	free(pid);
	return id;
}
#endif
