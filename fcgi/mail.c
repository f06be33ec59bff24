/* E-mail composition and SMTP delivery, and the notify_mail job that drains the outbox with per-message
 * retries (exponential backoff) until mail.max_attempts, after which a message is 'failed' for the admin. */
#include "mail.h"
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "auth.h"
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "jobs.h"
#include "log.h"
#include "notify.h"
#include "signin_mail.h"

int mail_addr_ok(const char *a)
{
	if (!a) return 0;
	size_t n = strlen(a);
	if (n < 3 || n > 254) return 0;
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@')) return 0;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("<>\"(),;:\\[]", *p)) return 0;
	return 1;
}

int mail_addr_of(const char *from, char *out, size_t outlen)
{
	const char *lt = from ? strrchr(from, '<') : NULL, *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt) snprintf(out, outlen, "%.*s", (int)(gt - lt - 1), lt + 1);
	else snprintf(out, outlen, "%s", from ? from : "");
	return mail_addr_ok(out) ? 0 : -1;
}

static void b64(buf *out, const unsigned char *in, size_t n)
{
	char *tmp = malloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)tmp, in, (int)n);
	buf_append(out, tmp, (size_t)len);
	free(tmp);
}

void mail_encode_header(buf *out, const char *text)
{
	int plain = 1;
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p >= 0x7f || (unsigned char)*p < 0x20 || (p[0] == '=' && p[1] == '?')) plain = 0;
	if (plain && strlen(text) <= 900) { buf_puts(out, text); return; }
	/* 45 bytes → 60 base64 characters + 12 for "=?UTF-8?B?" "?=" = 72 ≤ 75; never split a UTF-8 sequence */
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0;
	int first = 1;
	while (i < n) {
		size_t take = n - i > 45 ? 45 : n - i;
		while (take > 0 && i + take < n && (s[i + take] & 0xC0) == 0x80) take--;
		if (!take) take = 1;
		if (!first) buf_puts(out, "\r\n ");
		buf_puts(out, "=?UTF-8?B?");
		b64(out, s + i, take);
		buf_puts(out, "?=");
		i += take;
		first = 0;
	}
}

int mail_compose(struct mail_msg *m, buf *out)
{
	char from_addr[256];
	if (!mail_addr_ok(m->to) || mail_addr_of(m->from, from_addr, sizeof from_addr) < 0) return -1;
	if (strpbrk(m->from, "\r\n") || (m->unsub_url && strpbrk(m->unsub_url, "\r\n<>"))) return -1;
	char rnd[33], date[64];
	random_hex(rnd, 16);
	snprintf(m->message_id, sizeof m->message_id, "<%s@%s>", rnd, strchr(from_addr, '@') + 1);
	struct tm tm;
	gmtime_r(&m->date, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* the display name may be Japanese: encode what precedes the address */
	const char *lt = strrchr(m->from, '<');
	buf_puts(out, "From: ");
	if (lt && lt > m->from) {
		char name[256];
		size_t k = (size_t)(lt - m->from);
		while (k && m->from[k - 1] == ' ') k--;
		snprintf(name, sizeof name, "%.*s", (int)k, m->from);
		mail_encode_header(out, name);
		buf_printf(out, " <%s>\r\n", from_addr);
	} else buf_printf(out, "%s\r\n", from_addr);
	buf_printf(out, "To: <%s>\r\nSubject: ", m->to);
	mail_encode_header(out, m->subject);
	buf_printf(out, "\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n"
		   "Auto-Submitted: auto-generated\r\n", date, m->message_id);
	if (m->unsub_url)
		buf_printf(out, "List-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", m->unsub_url);
	buf_puts(out, "\r\n");
	/* body: CRLF line ends, base64 in lines of 76 */
	buf body = {0};
	for (const char *p = m->body; *p; p++) {
		if (*p == '\n' && (p == m->body || p[-1] != '\r')) buf_puts(&body, "\r\n");
		else buf_append(&body, p, 1);
	}
	buf enc = {0};
	b64(&enc, (const unsigned char *)(body.p ? body.p : ""), body.len);
	for (size_t i = 0; i < enc.len; i += 76) {
		buf_append(out, enc.p + i, enc.len - i > 76 ? 76 : enc.len - i);
		buf_puts(out, "\r\n");
	}
	buf_free(&body);
	buf_free(&enc);
	return 0;
}

int mail_configured(void)
{
	const char *u = notify_conf("mail.smtp_url", "RSTREAM_SMTP_URL", NULL);
	return u && *u;
}

struct reader { const char *p; size_t left; };

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct reader *r = ud;
	size_t n = size * nmemb;
	if (n > r->left) n = r->left;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

int mail_send(const char *from_addr, const char *to_addr, const char *message, size_t len, char *err, int errlen)
{
	const char *url = notify_conf("mail.smtp_url", "RSTREAM_SMTP_URL", NULL);
	if (!url || (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8))) {
		snprintf(err, (size_t)errlen, "mail.smtp_url is not an smtp:// or smtps:// URL");
		return -1;
	}
	CURL *c = curl_easy_init();
	if (!c) { snprintf(err, (size_t)errlen, "curl init failed"); return -1; }
	char ebuf[CURL_ERROR_SIZE] = "";
	struct reader rd = {message, len};
	struct curl_slist *rcpt = curl_slist_append(NULL, to_addr);
	char from[300];
	snprintf(from, sizeof from, "<%s>", from_addr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, notify_conf_int("mail.timeout_seconds", NULL, 30));
	/* STARTTLS: "required" refuses a server without it, "try" upgrades when offered, "off" never */
	const char *tls = notify_conf("mail.starttls", "RSTREAM_SMTP_STARTTLS", "off");
	if (!strcmp(tls, "required")) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	else if (!strcmp(tls, "try")) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	const char *user = notify_conf("mail.user", "RSTREAM_SMTP_USER", NULL);
	const char *pass = notify_conf("mail.password", "RSTREAM_SMTP_PASSWORD", NULL);
	if (user && *user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
	}
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		snprintf(err, (size_t)errlen, "%s: %s (SMTP %ld)", curl_easy_strerror(rc), ebuf[0] ? ebuf : "-", code);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

/* Subject and body of one outbox row, in the person's language. */
static int render(PGresult *r, char **subject, char **body, const char *lang, long uid)
{
	const char *pub = cfg.public_url ? cfg.public_url : "";
	buf b = {0};
	int digest = !PQgetisnull(r, 0, 4);
	if (!digest) {
		json_object *pl = json_tokener_parse(PQgetvalue(r, 0, 6));
		char *text = notify_text(lang, PQgetvalue(r, 0, 5), pl);
		json_object *h;
		*subject = NULL;
		if (asprintf(subject, "[R-Stream] %s", text) < 0) *subject = NULL;
		buf_printf(&b, "%s\n\n", text);
		if (pl && json_object_object_get_ex(pl, "detail", &h)) buf_printf(&b, "%s\n\n", json_object_get_string(h));
		if (pl && json_object_object_get_ex(pl, "href", &h)) buf_printf(&b, "%s%s\n\n", pub, json_object_get_string(h));
		free(text);
		json_object_put(pl);
	} else {
		/* digest: one line and link per notification, oldest first */
		char uids[24];
		snprintf(uids, sizeof uids, "%ld", uid);
		PGresult *n = DB_EXEC("SELECT kind, payload FROM notifications WHERE id = ANY ($1::bigint[]) AND user_id = $2::bigint "
				      "ORDER BY id", PQgetvalue(r, 0, 4), uids);
		int cnt = n ? PQntuples(n) : 0;
		char cs[16];
		snprintf(cs, sizeof cs, "%d", cnt);
		json_object *v = json_object_new_object();
		json_object_object_add(v, "count", json_object_new_string(cs));
		char *subj = notify_fill(i18n_get(lang, "notify_mail_digest_subject"), v);
		json_object_put(v);
		*subject = NULL;
		if (asprintf(subject, "[R-Stream] %s", subj) < 0) *subject = NULL;
		free(subj);
		for (int i = 0; i < cnt; i++) {
			json_object *pl = json_tokener_parse(PQgetvalue(n, i, 1)), *h;
			char *text = notify_text(lang, PQgetvalue(n, i, 0), pl);
			buf_printf(&b, "・%s\n", text);
			if (pl && json_object_object_get_ex(pl, "href", &h)) buf_printf(&b, "  %s%s\n", pub, json_object_get_string(h));
			free(text);
			json_object_put(pl);
		}
		buf_puts(&b, "\n");
		PQclear(n);
	}
	*body = b.p ? strdup(b.p) : strdup("");
	buf_free(&b);
	return *subject ? 0 : -1;
}

int job_notify_mail(struct job *j)
{
	if (!mail_configured()) { snprintf(j->error, sizeof j->error, "no SMTP server configured (mail.smtp_url)"); return -2; }
	const char *from = notify_conf("mail.from", "RSTREAM_MAIL_FROM", "R-Stream <noreply@localhost>");
	char from_addr[256];
	if (mail_addr_of(from, from_addr, sizeof from_addr) < 0) {
		snprintf(j->error, sizeof j->error, "mail.from is not an address");
		return -2;
	}
	char maxs[16], base[16];
	snprintf(maxs, sizeof maxs, "%ld", notify_conf_int("mail.max_attempts", "RSTREAM_MAIL_MAX_ATTEMPTS", 6));
	snprintf(base, sizeof base, "%ld", notify_conf_int("mail.retry_base_seconds", "RSTREAM_MAIL_RETRY_BASE", 60));
	int sent = 0, failed = 0;
	time_t until = time(NULL) + 120;
	while (time(NULL) < until) {
		/* claim: the lease (next_at pushed out) lets another worker retry a row whose sender died */
		PGresult *r = DB_EXEC0(
			"UPDATE mail_outbox o SET attempts = attempts + 1, next_at = now() + interval '10 minutes' "
			"FROM users u WHERE u.id = o.user_id AND o.id = (SELECT id FROM mail_outbox WHERE state = 'queued' "
			"  AND next_at <= now() ORDER BY next_at, id FOR UPDATE SKIP LOCKED LIMIT 1) "
			"RETURNING o.id, o.user_id, u.email, COALESCE(u.lang, 'ja'), o.digest_of::text, "
			"(SELECT kind FROM notifications WHERE id = o.notification_id), "
			"(SELECT payload::text FROM notifications WHERE id = o.notification_id), o.attempts, "
			"(SELECT kind FROM notifications WHERE id = o.notification_id), o.mail_kind, o.sealed");
		if (!r) { snprintf(j->error, sizeof j->error, "database: %.900s", db_error()); return -1; }
		if (!PQntuples(r)) {
			PQclear(r);
			if (notify_wait_next_due("SELECT extract(epoch FROM min(next_at) - now()) FROM mail_outbox WHERE state = 'queued'", until))
				continue;
			break;
		}
		char id[24], err[600] = "";
		snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
		long uid = strtol(PQgetvalue(r, 0, 1), NULL, 10);
		const char *lang = PQgetvalue(r, 0, 3);
		char *subject = NULL, *body = NULL;
		int ok = -1;
		struct mail_msg m = {.from = from, .to = PQgetvalue(r, 0, 2), .date = time(NULL)};
		char url[1024];
		int rendered = 0;
		if (!PQgetisnull(r, 0, 9)) {
			/* a sign-in link (signin_mail.c): no unsubscribe, the person asked for it or an admin sent it */
			rendered = signin_mail_render(lang, PQgetvalue(r, 0, 9), PQgetvalue(r, 0, 10), &subject, &body) == 0;
			if (!rendered) snprintf(err, sizeof err, "could not open the sealed link");
		} else if (render(r, &subject, &body, lang, uid) == 0) {
			char tok[33];
			const char *kind = PQgetisnull(r, 0, 8) ? "all" : PQgetvalue(r, 0, 8);
			notify_unsub_token(cfg.secret, uid, kind, tok);
			snprintf(url, sizeof url, "%s/notify/unsubscribe?u=%ld&k=%s&t=%s", cfg.public_url ? cfg.public_url : "", uid, kind, tok);
			buf full = {0};
			buf_printf(&full, "%s---\n%s\n%s\n", body, i18n_get(lang, "notify_mail_unsub"), url);
			free(body);
			body = strdup(full.p);
			buf_free(&full);
			m.unsub_url = url;
			rendered = 1;
		} else snprintf(err, sizeof err, "could not render the message");
		if (rendered) {
			m.subject = subject;
			m.body = body;
			buf msg = {0};
			if (mail_compose(&m, &msg) < 0) snprintf(err, sizeof err, "the address is not usable for e-mail");
			else ok = mail_send(from_addr, m.to, msg.p, msg.len, err, sizeof err);
			buf_free(&msg);
		}
		free(subject);
		free(body);
		PQclear(r);
		if (ok == 0) {
			/* a sent link is not kept, even sealed */
			DB_CMD("UPDATE mail_outbox SET state = 'sent', sent_at = now(), last_error = NULL, message_id = $2, sealed = NULL "
			       "WHERE id = $1::bigint", id, m.message_id);
			sent++;
		} else {
			/* backoff base × 2^(attempts-1), capped at a day; after max attempts the row is failed, for the admin */
			DB_CMD("UPDATE mail_outbox SET last_error = $2, "
			       "state = CASE WHEN attempts >= $3::int THEN 'failed' ELSE 'queued' END, "
			       "next_at = now() + make_interval(secs => LEAST(86400, $4::int * power(2, attempts - 1))) "
			       "WHERE id = $1::bigint", id, err, maxs, base);
			log_warn("mail %s to user %ld failed: %s", id, uid, err);
			failed++;
		}
		job_progress(j, 50, "sending");
	}
	json_object *st = json_object_new_object();
	json_object_object_add(st, "sent", json_object_new_int(sent));
	json_object_object_add(st, "failed_attempts", json_object_new_int(failed));
	job_set_stats(j, st);
	json_object_put(st);
	return 0;
}
