/* Webhook delivery: the SSRF guard, signing, the Slack-compatible message, and the notify_webhook job with
 * per-delivery retries (exponential backoff), a log of every attempt and automatic disabling of an endpoint
 * after webhook.disable_after consecutive failures. */
#include "webhook.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "jobs.h"
#include "log.h"
#include "notify.h"
#include "oidc.h"

static int v4_class(const unsigned char *a)
{
	if (a[0] == 127) return ADDR_LOOPBACK;
	if (a[0] == 0 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224 ||
	    (a[0] == 192 && a[1] == 0 && a[2] == 0) || (a[0] == 198 && (a[1] & 0xfe) == 18))
		return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

int webhook_addr_class(const char *ip)
{
	unsigned char a[16];
	if (!ip) return -1;
	if (inet_pton(AF_INET, ip, a) == 1) return v4_class(a);
	if (inet_pton(AF_INET6, ip, a) != 1) return -1;
	static const unsigned char loop[16] = {[15] = 1}, any[16] = {0};
	if (!memcmp(a, loop, 16)) return ADDR_LOOPBACK;
	if (!memcmp(a, any, 16)) return ADDR_PRIVATE;
	/* IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::/96 carry an IPv4 address: judge that */
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12)) return v4_class(a + 12);
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff ||
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || (a[0] == 0 && a[1] == 0))
		return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

int webhook_addr_allowed(int cls)
{
	const char *a = notify_conf("webhook.allow_private", "RSTREAM_WEBHOOK_ALLOW_PRIVATE", "none");
	if (cls == ADDR_PUBLIC) return 1;
	if (cls == ADDR_LOOPBACK) return !strcmp(a, "loopback") || !strcmp(a, "all");
	if (cls == ADDR_PRIVATE) return !strcmp(a, "all");
	return 0;
}

int webhook_url_check(const char *url, char *resolve, size_t rlen, const char **why, char *err, size_t errlen)
{
	int rc = -1;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	struct addrinfo *ai = NULL;
	*why = "notify_err_url_invalid";
	err[0] = 0;
	if (!url || strlen(url) > 2000 || strpbrk(url, " \t\r\n")) goto out;
	CURLU *u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) { curl_url_cleanup(u); goto out; }
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_cleanup(u);
	if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https"))) { *why = "notify_err_url_scheme"; goto out; }
	if (!host || !*host || user) goto out;
	/* strip the brackets of an IPv6 literal for the resolver */
	char h[300];
	snprintf(h, sizeof h, "%s", host);
	if (h[0] == '[') { size_t n = strlen(h); if (n > 2 && h[n - 1] == ']') { memmove(h, h + 1, n - 2); h[n - 2] = 0; } }
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	int g = getaddrinfo(h, port, &hints, &ai);
	if (g != 0) { *why = "notify_err_url_resolve"; snprintf(err, errlen, "%s", gai_strerror(g)); goto out; }
	char first[INET6_ADDRSTRLEN] = "";
	for (struct addrinfo *p = ai; p; p = p->ai_next) {
		char ip[INET6_ADDRSTRLEN];
		const void *src = p->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
							  : (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
		if (!inet_ntop(p->ai_family, src, ip, sizeof ip)) continue;
		/* every address must pass: a name with one public and one private address is refused */
		if (!webhook_addr_allowed(webhook_addr_class(ip))) {
			*why = "notify_err_url_private";
			snprintf(err, errlen, "%s", ip);
			goto out;
		}
		if (!first[0]) snprintf(first, sizeof first, "%s", ip);
	}
	if (!first[0]) { *why = "notify_err_url_resolve"; goto out; }
	if (strchr(first, ':')) snprintf(resolve, rlen, "%s:%s:[%s]", h, port, first);
	else snprintf(resolve, rlen, "%s:%s:%s", h, port, first);
	*why = NULL;
	rc = 0;
out:
	if (ai) freeaddrinfo(ai);
	curl_free(scheme); curl_free(host); curl_free(port); curl_free(user);
	return rc;
}

void webhook_sign(const char *secret, const char *ts, const char *body, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t tl = strlen(ts);
	unsigned char *msg = malloc(tl + 1 + len);
	memcpy(msg, ts, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + len, mac, &n);
	free(msg);
	for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void field(json_object *fields, const char *title, const char *value)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "title", json_object_new_string(title));
	json_object_object_add(f, "value", json_object_new_string(value));
	json_object_object_add(f, "short", json_object_new_boolean(1));
	json_object_array_add(fields, f);
}

json_object *webhook_message(const char *lang, const char *kind, const char *event, json_object *payload)
{
	char *text = notify_text(lang, kind, payload);
	char key[96];
	snprintf(key, sizeof key, "notify_kind_%s", kind);
	json_object *m = json_object_new_object(), *att = json_object_new_object(), *fields = json_object_new_array(), *v;
	json_object_object_add(m, "text", json_object_new_string(text));
	field(fields, i18n_get(lang, "notify_field_kind"), i18n_get(lang, key));
	if (payload && json_object_object_get_ex(payload, "title", &v))
		field(fields, i18n_get(lang, "notify_field_title"), json_object_get_string(v));
	if (payload && json_object_object_get_ex(payload, "detail", &v))
		field(fields, i18n_get(lang, "notify_field_detail"), json_object_get_string(v));
	json_object_object_add(att, "fallback", json_object_new_string(text));
	if (payload && json_object_object_get_ex(payload, "href", &v)) {
		char link[2200];
		snprintf(link, sizeof link, "%s%s", cfg.public_url ? cfg.public_url : "", json_object_get_string(v));
		json_object_object_add(att, "title_link", json_object_new_string(link));
	}
	json_object_object_add(att, "title", json_object_new_string(text));
	json_object_object_add(att, "fields", fields);
	json_object *atts = json_object_new_array();
	json_object_array_add(atts, att);
	json_object_object_add(m, "attachments", atts);
	/* the same event as data, for receivers that are not Slack */
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "kind", json_object_new_string(kind));
	json_object_object_add(ev, "event", json_object_new_string(event));
	json_object_object_add(ev, "data", payload ? json_object_get(payload) : json_object_new_object());
	json_object_object_add(m, "rstream", ev);
	free(text);
	return m;
}

static size_t discard(char *d, size_t sz, size_t nm, void *ud) { (void)d; (void)ud; return sz * nm; }

/* One POST. Returns the HTTP status (0 when none) and fills err on a transport error. */
static long post(const char *url, const char *resolve, const char *secret, const char *kind, const char *delivery,
		 const char *body, char *err, size_t errlen)
{
	char ts[24], sig[65], h1[128], h2[128], h3[128], h4[128];
	snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
	webhook_sign(secret, ts, body, strlen(body), sig);
	snprintf(h1, sizeof h1, "X-RStream-Signature: sha256=%s", sig);
	snprintf(h2, sizeof h2, "X-RStream-Timestamp: %s", ts);
	snprintf(h3, sizeof h3, "X-RStream-Event: %s", kind);
	snprintf(h4, sizeof h4, "X-RStream-Delivery: %s", delivery);
	struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	hs = curl_slist_append(hs, h1); hs = curl_slist_append(hs, h2);
	hs = curl_slist_append(hs, h3); hs = curl_slist_append(hs, h4);
	hs = curl_slist_append(hs, "User-Agent: R-Stream-Webhook/1");
	struct curl_slist *rs = curl_slist_append(NULL, resolve);
	CURL *c = curl_easy_init();
	char ebuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, rs);   /* the address the guard checked, not a second lookup */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, notify_conf_int("webhook.timeout_seconds", "RSTREAM_WEBHOOK_TIMEOUT", 10));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) snprintf(err, errlen, "%s: %s", curl_easy_strerror(rc), ebuf[0] ? ebuf : "-");
	else if (code < 200 || code > 299) snprintf(err, errlen, "HTTP %ld", code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hs);
	curl_slist_free_all(rs);
	return rc == CURLE_OK ? code : 0;
}

int job_notify_webhook(struct job *j)
{
	char maxs[16], base[16], dis[16];
	snprintf(maxs, sizeof maxs, "%ld", notify_conf_int("webhook.max_attempts", "RSTREAM_WEBHOOK_MAX_ATTEMPTS", 5));
	snprintf(base, sizeof base, "%ld", notify_conf_int("webhook.retry_base_seconds", "RSTREAM_WEBHOOK_RETRY_BASE", 30));
	snprintf(dis, sizeof dis, "%ld", notify_conf_int("webhook.disable_after", "RSTREAM_WEBHOOK_DISABLE_AFTER", 10));
	const char *lang = notify_conf("webhook.lang", NULL, "ja");
	int sent = 0, failed = 0;
	time_t until = time(NULL) + 120;
	while (time(NULL) < until) {
		PGresult *r = DB_EXEC0(
			"UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_at = now() + interval '10 minutes' "
			"FROM webhooks w WHERE w.id = d.webhook_id AND d.id = (SELECT d2.id FROM webhook_deliveries d2 "
			"  JOIN webhooks w2 ON w2.id = d2.webhook_id AND w2.enabled WHERE d2.state = 'queued' AND d2.next_at <= now() "
			"  ORDER BY d2.next_at, d2.id FOR UPDATE OF d2 SKIP LOCKED LIMIT 1) "
			"RETURNING d.id, d.webhook_id, w.url, w.secret_sealed, d.kind, d.event_key, d.payload::text");
		if (!r) { snprintf(j->error, sizeof j->error, "database: %.900s", db_error()); return -1; }
		if (!PQntuples(r)) {
			PQclear(r);
			if (notify_wait_next_due("SELECT extract(epoch FROM min(d.next_at) - now()) FROM webhook_deliveries d "
						 "JOIN webhooks w ON w.id = d.webhook_id AND w.enabled WHERE d.state = 'queued'", until))
				continue;
			break;
		}
		char id[24], hook[24], err[600] = "", resolve[400], codes[16] = "";
		snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
		snprintf(hook, sizeof hook, "%s", PQgetvalue(r, 0, 1));
		const char *why = NULL;
		long code = 0;
		char *secret = oidc_secret_open(cfg.secret, PQgetvalue(r, 0, 3));
		if (!secret) snprintf(err, sizeof err, "the endpoint's secret cannot be opened (RSTREAM_SECRET changed?)");
		else if (webhook_url_check(PQgetvalue(r, 0, 2), resolve, sizeof resolve, &why, err, sizeof err) < 0) {
			char d[300];
			snprintf(d, sizeof d, "%s", err);
			snprintf(err, sizeof err, "refused: %s %s", i18n_get("en", why), d);
		} else {
			json_object *pl = json_tokener_parse(PQgetvalue(r, 0, 6));
			json_object *m = webhook_message(lang, PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), pl);
			code = post(PQgetvalue(r, 0, 2), resolve, secret, PQgetvalue(r, 0, 4), id,
				    json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN), err, sizeof err);
			json_object_put(m);
			json_object_put(pl);
		}
		free(secret);
		PQclear(r);
		if (code) snprintf(codes, sizeof codes, "%ld", code);
		int ok = code >= 200 && code <= 299;
		DB_CMD("INSERT INTO webhook_attempts (delivery_id, status_code, error) VALUES ($1::bigint, $2::int, NULLIF($3, ''))",
		       id, codes[0] ? codes : NULL, ok ? "" : err);
		if (ok) {
			DB_CMD("UPDATE webhook_deliveries SET state = 'sent', status_code = $2::int, last_error = NULL, "
			       "finished_at = now() WHERE id = $1::bigint", id, codes);
			DB_CMD("UPDATE webhooks SET failures = 0 WHERE id = $1::bigint", hook);
			sent++;
		} else {
			DB_CMD("UPDATE webhook_deliveries SET status_code = $2::int, last_error = $3, "
			       "state = CASE WHEN attempts >= $4::int THEN 'failed' ELSE 'queued' END, "
			       "finished_at = CASE WHEN attempts >= $4::int THEN now() END, "
			       "next_at = now() + make_interval(secs => LEAST(86400, $5::int * power(2, attempts - 1))) "
			       "WHERE id = $1::bigint", id, codes[0] ? codes : NULL, err, maxs, base);
			/* consecutive failures of the endpoint: past the limit it is switched off and the admin sees why */
			PGresult *d = DB_EXEC("UPDATE webhooks SET failures = failures + 1, "
					      "enabled = CASE WHEN failures + 1 >= $2::int THEN false ELSE enabled END, "
					      "disabled_at = CASE WHEN failures + 1 >= $2::int AND enabled THEN now() ELSE disabled_at END, "
					      "disabled_reason = CASE WHEN failures + 1 >= $2::int AND enabled THEN $3 ELSE disabled_reason END "
					      "WHERE id = $1::bigint RETURNING enabled", hook, dis, err);
			if (d && PQntuples(d) && PQgetvalue(d, 0, 0)[0] == 'f') log_warn("webhook %s disabled after repeated failures", hook);
			PQclear(d);
			log_warn("webhook delivery %s failed: %s", id, err);
			failed++;
		}
		job_progress(j, 50, "delivering");
	}
	json_object *st = json_object_new_object();
	json_object_object_add(st, "sent", json_object_new_int(sent));
	json_object_object_add(st, "failed_attempts", json_object_new_int(failed));
	job_set_stats(j, st);
	json_object_put(st);
	return 0;
}
