/* Notifications end to end on the real stack: an assignment reaches its students in the app and by e-mail
 * (received by the SMTP sink, Japanese subject decoded), mark read, exactly-once fan-out, e-mail refused or
 * dropped (retried, then failed and shown to the admin), webhooks signed with HMAC, retried, auto-disabled,
 * the SSRF guard, subscriptions and the signed unsubscribe link. */
#include "notify_helpers.h"

static char *admin_h(void)
{
	char *tok = t_admin_token(), *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok) > 0);
	return h;
}

Test(notify, assignment_reaches_students_in_app_and_by_email_once, .timeout = 120)
{
	const char *tag = lh_tag();
	char s1[64], s2[64], title[96];
	snprintf(s1, sizeof s1, "ns1-%s", tag);
	snprintf(s2, sizeof s2, "ns2-%s", tag);
	snprintf(title, sizeof title, "分数のたし算 %s", tag);
	const char *st[2] = {s1, s2};
	long ids[2];
	char *hs[2];
	long aid = nh_assign(tag, st, 2, ids, hs, title);

	char *n = nh_wait("1", 30, "SELECT count(*) FROM notifications WHERE user_id = %ld AND event_key = 'assignment:%ld'", ids[0], aid);
	cr_assert_str_eq(n, "1", "the student has one in-app notice");
	free(n);
	json_object *o = lh_json("GET", "/api/v1/notifications", hs[0], NULL, 200);
	cr_assert_str_eq(lh_get(o, "items.0.kind"), "assignment_new");
	cr_assert(strstr(lh_get(o, "items.0.text"), title), "text names the assignment: %s", lh_get(o, "items.0.text"));
	cr_assert(strstr(lh_get(o, "items.0.text"), "課題"), "Japanese first");
	cr_assert_str_eq(lh_get(o, "unread"), "1");
	long nid = atol(lh_get(o, "items.0.id"));
	json_object_put(o);

	/* the e-mail, as the SMTP sink received it */
	char rcpt[128];
	snprintf(rcpt, sizeof rcpt, "%s@learn.test", s1);
	struct nh_mail *m = nh_mail_for(rcpt, 40);
	cr_assert_not_null(m, "the sink received a mail for %s", rcpt);
	cr_assert(strstr(m->subject_raw, "=?UTF-8?B?"), "the subject is RFC 2047 encoded: %s", m->subject_raw);
	cr_assert(strstr(m->subject, "課題「") && strstr(m->subject, title), "decoded subject: %s", m->subject);
	cr_assert(strstr(m->raw, "\r\nMessage-ID: <") && strstr(m->raw, "\r\nDate: ") && strstr(m->raw, "charset=UTF-8"));
	cr_assert(strstr(m->raw, "\r\nList-Unsubscribe: <http"), "one-click unsubscribe header");
	cr_assert(strstr(m->body, title) && strstr(m->body, "/notify/unsubscribe?u="), "body: %s", m->body);
	/* the From display name is Japanese too, encoded */
	cr_assert(strstr(m->raw, "From: =?UTF-8?B?"), "encoded From name");

	/* the unsubscribe link works without a session; a forged one is refused */
	char *u = strstr(m->body, "/notify/unsubscribe?u=");
	char link[512];
	size_t k = 0;
	while (u[k] && u[k] != '\n' && u[k] != '\r' && k < sizeof link - 1) { link[k] = u[k]; k++; }
	link[k] = 0;
	struct http_res r;
	cr_assert_eq(http_do("GET", link, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "unsubscribe page: %d", r.status);
	cr_assert(strstr(r.body, "メールを停止"));
	http_free(&r);
	char bad[520];
	snprintf(bad, sizeof bad, "%.*s0000000000000000000000000000000", (int)(strlen(link) - 32), link);
	cr_assert_eq(http_do("POST", bad, "Accept: application/json\r\n", "", 0, &r), 0);
	cr_assert_eq(r.status, 400, "forged token refused: %d", r.status);
	http_free(&r);
	cr_assert_eq(http_do("POST", link, "Content-Type: application/x-www-form-urlencoded\r\n", "List-Unsubscribe=One-Click", 26, &r), 0);
	cr_assert_eq(r.status, 200, "one-click unsubscribe: %d %s", r.status, r.body);
	http_free(&r);
	char *pref = lh_sql("SELECT enabled FROM notify_prefs WHERE user_id = %ld AND kind = 'assignment_new' AND channel = 'email'", ids[0]);
	cr_assert_str_eq(pref, "f");
	free(pref);
	nh_mail_free(m);

	/* mark read: bad input first, another's notice changes nothing, then mine */
	json_object_put(lh_json("POST", "/api/v1/notifications/read", hs[0], "{\"ids\":\"x\"}", 422));
	json_object_put(lh_json("POST", "/api/v1/notifications/read", hs[0], "{}", 422));
	json_object_put(lh_json("POST", "/api/v1/notifications/read", hs[0], "[1]", 400));
	json_object_put(lh_json("POST", "/api/v1/notifications/read", hs[0], "{\"ids\":[-4]}", 422));
	json_object_put(lh_json("GET", "/api/v1/notifications?limit=0", hs[0], NULL, 400));
	json_object_put(lh_json("GET", "/api/v1/notifications?unread=yes", hs[0], NULL, 400));
	char body[128];
	snprintf(body, sizeof body, "{\"ids\":[%ld]}", nid);
	o = lh_json("POST", "/api/v1/notifications/read", hs[1], body, 200);
	cr_assert_str_eq(lh_get(o, "updated"), "0", "a student cannot mark another's notice");
	json_object_put(o);
	o = lh_json("POST", "/api/v1/notifications/read", hs[0], body, 200);
	cr_assert_str_eq(lh_get(o, "updated"), "1");
	cr_assert_str_eq(lh_get(o, "unread"), "0");
	json_object_put(o);
	o = lh_json("GET", "/api/v1/notifications?unread=1", hs[0], NULL, 200);
	cr_assert_eq(json_object_array_length(json_object_object_get(o, "items")), 0);
	json_object_put(o);

	/* the same event fanned out again (a retried job) adds nothing: one notice and one mail per person */
	free(lh_sql("WITH j AS (INSERT INTO jobs (kind, payload) SELECT kind, payload FROM jobs WHERE kind = 'notify_fanout' "
		    "AND payload->>'event' = 'assignment:%ld' LIMIT 1 RETURNING id) SELECT pg_notify('rstream_jobs', 'notify_fanout') FROM j", aid));
	n = nh_wait("0", 30, "SELECT count(*) FROM jobs WHERE kind = 'notify_fanout' AND payload->>'event' = 'assignment:%ld' "
		    "AND state <> 'done'", aid);
	cr_assert_str_eq(n, "0");
	free(n);
	n = lh_sql("SELECT count(*) FROM notifications WHERE event_key = 'assignment:%ld'", aid);
	cr_assert_str_eq(n, "2", "two students, two notices");
	free(n);
	n = lh_sql("SELECT count(*) FROM mail_outbox o JOIN notifications x ON x.id = o.notification_id WHERE x.event_key = 'assignment:%ld'", aid);
	cr_assert_str_eq(n, "2");
	free(n);
	free(hs[0]); free(hs[1]);
}

Test(notify, refused_or_dropped_mail_is_retried_then_failed_and_shown_to_the_admin, .timeout = 120)
{
	const char *tag = lh_tag();
	char s1[64], s2[64];
	snprintf(s1, sizeof s1, "refuse-%s", tag);
	snprintf(s2, sizeof s2, "drop-%s", tag);
	const char *st[2] = {s1, s2};
	long ids[2];
	nh_assign(tag, st, 2, ids, NULL, "届かないメール");
	for (int i = 0; i < 2; i++) {
		/* test config: 3 attempts, 1 s then 2 s apart */
		char *v = nh_wait("failed 3", 60, "SELECT state || ' ' || attempts FROM mail_outbox WHERE user_id = %ld", ids[i]);
		cr_assert_str_eq(v, "failed 3", "user %ld: %s", ids[i], v);
		free(v);
		v = lh_sql("SELECT last_error FROM mail_outbox WHERE user_id = %ld", ids[i]);
		cr_assert(v && *v, "the reason is kept");
		free(v);
	}
	char *v = lh_sql("SELECT last_error FROM mail_outbox WHERE user_id = %ld", ids[0]);
	cr_assert(strstr(v, "550"), "the server's refusal is recorded: %s", v);
	free(v);
	/* the admin sees it, and can send it again */
	char *h = admin_h();
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%s", h);
	struct http_res r;
	char cookie_csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), cookie_csrf);
	char ch[1024];
	snprintf(ch, sizeof ch, "Cookie: %s\r\n", cookie);
	cr_assert_eq(http_do("GET", "/admin/webhooks", ch, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	char email[128];
	snprintf(email, sizeof email, "%s@learn.test", s1);
	cr_assert(strstr(r.body, email), "the failed mail is listed for the admin");
	http_free(&r);
	char *mid = lh_sql("SELECT id FROM mail_outbox WHERE user_id = %ld", ids[0]);
	char path[96];
	snprintf(path, sizeof path, "/api/v1/mail/%s/retry", mid);
	json_object_put(lh_json("POST", path, h, NULL, 200));
	v = lh_sql("SELECT attempts FROM mail_outbox WHERE id = %s AND state IN ('queued', 'failed')", mid);
	cr_assert_not_null(v);
	free(v);
	free(mid); free(h); free(cookie);
}

static char *make_hook(const char *h, const char *url, const char *kinds, char secret[80], long *id)
{
	char body[1024];
	snprintf(body, sizeof body, "{\"name\":\"テスト %s\",\"url\":\"%s\",\"kinds\":%s}", lh_tag(), url, kinds);
	json_object *o = lh_json("POST", "/api/v1/webhooks", h, body, 201);
	snprintf(secret, 80, "%s", lh_get(o, "secret"));
	*id = atol(lh_get(o, "id"));
	json_object_put(o);
	return NULL;
}

Test(notify, webhook_receives_signed_slack_json_then_retries_and_disables, .timeout = 180)
{
	char *h = admin_h();
	struct nh_recv *rv = nh_recv_start(21, 200);
	char url[128], secret[80];
	long hook;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", rv->port);
	make_hook(h, url, "[\"assignment_new\"]", secret, &hook);
	const char *tag = lh_tag();
	char s1[64], title[96];
	snprintf(s1, sizeof s1, "nws-%s", tag);
	snprintf(title, sizeof title, "Webhook 課題 %s", tag);
	const char *st[1] = {s1};
	long ids[1];
	long aid = nh_assign(tag, st, 1, ids, NULL, title);
	char *v = nh_wait("sent 200", 40, "SELECT state || ' ' || status_code FROM webhook_deliveries WHERE webhook_id = %ld "
			  "AND event_key = 'assignment:%ld'", hook, aid);
	cr_assert_str_eq(v, "sent 200");
	free(v);
	/* the signature: hex HMAC-SHA256(secret, timestamp "." body) */
	pthread_mutex_lock(&rv->mu);
	char *sig = strcasestr(rv->last_head, "X-RStream-Signature: sha256="), *ts = strcasestr(rv->last_head, "X-RStream-Timestamp: ");
	cr_assert(sig && ts, "signature headers: %s", rv->last_head);
	char tsv[32], sigv[65];
	sscanf(ts + 21, "%31[0-9]", tsv);
	sscanf(sig + 28, "%64[0-9a-f]", sigv);
	char msg[70000];
	int ml = snprintf(msg, sizeof msg, "%s.%s", tsv, rv->last_body);
	unsigned char mac[32];
	unsigned int mlen = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)ml, mac, &mlen);
	char want[65];
	for (int i = 0; i < 32; i++) sprintf(want + 2 * i, "%02x", mac[i]);
	cr_assert_str_eq(sigv, want, "HMAC matches");
	json_object *body = json_tokener_parse(rv->last_body);
	pthread_mutex_unlock(&rv->mu);
	cr_assert_not_null(body);
	cr_assert(strstr(lh_get(body, "text"), title), "Slack text: %s", lh_get(body, "text"));
	cr_assert_not_null(lh_get(body, "attachments.0.fields.0.title"), "structured fields");
	cr_assert_str_eq(lh_get(body, "rstream.kind"), "assignment_new");
	json_object_put(body);

	/* now the endpoint fails: each delivery is tried 3 times with backoff, then failed; 5 failures in a row
	 * disable the endpoint, and the admin sees why */
	pthread_mutex_lock(&rv->mu);
	rv->status = 500;
	pthread_mutex_unlock(&rv->mu);
	long aids[2];
	for (int i = 0; i < 2; i++) {
		char t2[64], s2[64];
		snprintf(t2, sizeof t2, "%sf%d", lh_tag(), i);
		snprintf(s2, sizeof s2, "nwf-%s", t2);
		const char *st2[1] = {s2};
		long id2[1];
		aids[i] = nh_assign(t2, st2, 1, id2, NULL, "失敗する Webhook");
	}
	v = nh_wait("f", 60, "SELECT enabled FROM webhooks WHERE id = %ld", hook);
	cr_assert_str_eq(v, "f", "disabled after repeated failures");
	free(v);
	v = lh_sql("SELECT disabled_reason FROM webhooks WHERE id = %ld", hook);
	cr_assert(v && strstr(v, "HTTP 500"), "reason: %s", v);
	free(v);
	v = lh_sql("SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
		   "WHERE d.webhook_id = %ld AND a.status_code = 500", hook);
	cr_assert_geq(atoi(v), 5, "every attempt is logged with its status code (%s)", v);
	free(v);
	v = lh_sql("SELECT max(attempts) FROM webhook_deliveries WHERE webhook_id = %ld AND event_key IN ('assignment:%ld', 'assignment:%ld')",
		   hook, aids[0], aids[1]);
	cr_assert_geq(atoi(v), 3, "retried (%s)", v);
	free(v);
	/* retries were spaced out: the pause before the third attempt is longer than before the second */
	v = lh_sql("SELECT bool_and(g2 > g1) FROM (SELECT d.id, "
		   "(array_agg(a.at ORDER BY a.id))[2] - (array_agg(a.at ORDER BY a.id))[1] AS g1, "
		   "(array_agg(a.at ORDER BY a.id))[3] - (array_agg(a.at ORDER BY a.id))[2] AS g2 "
		   "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = %ld "
		   "GROUP BY d.id HAVING count(*) >= 3) x", hook);
	cr_assert_str_eq(v, "t", "exponential backoff");
	free(v);
	/* the admin page shows the disabled endpoint and the status codes */
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	char ch[1024];
	snprintf(ch, sizeof ch, "Cookie: %s\r\n", cookie);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/admin/webhooks", ch, NULL, 0, &r), 0);
	cr_assert(strstr(r.body, "webhook-disabled") && strstr(r.body, "HTTP 500"));
	http_free(&r);
	/* a timeout is a failure too (the receiver answers after the 3 s limit) */
	pthread_mutex_lock(&rv->mu);
	rv->status = 200;
	rv->sleep_s = 5;
	pthread_mutex_unlock(&rv->mu);
	char p[96];
	snprintf(p, sizeof p, "/api/v1/webhooks/%ld/enable", hook);
	json_object_put(lh_json("POST", p, h, NULL, 200));
	free(lh_sql("UPDATE webhook_deliveries SET state = 'queued', attempts = 0, next_at = now() WHERE webhook_id = %ld "
		    "AND event_key = 'assignment:%ld' RETURNING 1", hook, aids[0]));
	v = nh_wait("t", 40, "SELECT EXISTS (SELECT 1 FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
		    "WHERE d.webhook_id = %ld AND a.error ILIKE '%%timeout%%')", hook);
	cr_assert_str_eq(v, "t", "timed out attempt logged");
	free(v);
	snprintf(p, sizeof p, "/api/v1/webhooks/%ld/delete", hook);
	json_object_put(lh_json("POST", p, h, NULL, 200));
	free(cookie); free(h);
}

Test(notify, webhook_urls_to_internal_addresses_or_other_schemes_are_refused)
{
	char *h = admin_h();
	static const struct { const char *url, *code; } bad[] = {
		{"ftp://example.com/x", "url_scheme"}, {"file:///etc/passwd", "url_scheme"}, {"gopher://127.0.0.1/", "url_scheme"},
		{"http://10.1.2.3/hook", "url_private"}, {"http://192.168.0.1/", "url_private"}, {"http://172.16.5.4/", "url_private"},
		{"http://169.254.169.254/latest/meta-data/", "url_private"}, {"http://[::ffff:10.0.0.1]/", "url_private"},
		{"http://[fd00::1]/", "url_private"}, {"http://0.0.0.0/", "url_private"}, {"http://100.64.0.1/", "url_private"},
		{"http://user:pw@example.com/", "url_invalid"}, {"not a url", "url_invalid"},
		{"http://no-such-host.invalid/", "url_resolve"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char body[512];
		snprintf(body, sizeof body, "{\"name\":\"x\",\"url\":\"%s\",\"kinds\":[\"roster_failed\"]}", bad[i].url);
		json_object *o = lh_json("POST", "/api/v1/webhooks", h, body, 422);
		cr_assert_str_eq(lh_get(o, "error.code"), bad[i].code, "%s", bad[i].url);
		json_object_put(o);
	}
	json_object_put(lh_json("POST", "/api/v1/webhooks", h, "{\"name\":\"x\",\"url\":\"http://127.0.0.1:9/\",\"kinds\":[\"nope\"]}", 422));
	json_object_put(lh_json("POST", "/api/v1/webhooks", h, "{\"name\":\"x\",\"url\":\"http://127.0.0.1:9/\",\"kinds\":[]}", 422));
	/* not for pupils and teachers */
	long uid;
	char vs[64];
	snprintf(vs, sizeof vs, "nssrf-%s", lh_tag());
	char *vh = lh_user("viewer", vs, &uid);
	json_object_put(lh_json("POST", "/api/v1/webhooks", vh, "{\"name\":\"x\",\"url\":\"http://127.0.0.1:9/\",\"kinds\":[\"roster_failed\"]}", 403));
	free(vh); free(h);
}

Test(notify, subscribers_hear_of_new_videos_they_may_watch)
{
	const char *tag = lh_tag();
	char c[64], v1[64], v2[64];
	snprintf(c, sizeof c, "nsc-%s", tag);
	snprintf(v1, sizeof v1, "nsv1-%s", tag);
	snprintf(v2, sizeof v2, "nsv2-%s", tag);
	long cid, u1, u2;
	free(lh_user("creator", c, &cid));
	char *h1 = lh_user("viewer", v1, &u1), *h2 = lh_user("viewer", v2, &u2);
	char body[128];
	snprintf(body, sizeof body, "{\"kind\":\"creator\",\"id\":%ld}", cid);
	json_object_put(lh_json("POST", "/api/v1/subscriptions", h1, body, 201));
	json_object_put(lh_json("POST", "/api/v1/subscriptions", h1, "{\"kind\":\"school\",\"id\":1}", 422));
	json_object_put(lh_json("POST", "/api/v1/subscriptions", h1, "{\"kind\":\"creator\",\"id\":999999999}", 404));
	json_object_put(lh_json("POST", "/api/v1/subscriptions", h1, "{\"kind\":\"creator\",\"id\":\"1\"}", 422));
	/* u2 subscribes too, but the second video is private: only the public one reaches them */
	json_object_put(lh_json("POST", "/api/v1/subscriptions", h2, body, 201));
	char *pub = lh_video(cid, "public", 60, "公開の新作"), *priv = lh_video(cid, "private", 60, "非公開");
	char *idp = lh_sql("SELECT id FROM videos WHERE public_id = '%s'", pub), *idq = lh_sql("SELECT id FROM videos WHERE public_id = '%s'", priv);
	const char *vids[2] = {idp, idq};
	for (int i = 0; i < 2; i++)
		free(lh_sql("WITH j AS (INSERT INTO jobs (kind, payload) VALUES ('notify_fanout', jsonb_build_object('kind', 'video_new', "
			    "'event', 'video:%s', 'audience', 'video_subscribers', 'audience_id', %s, 'data', jsonb_build_object('title', 'x'))) "
			    "RETURNING id) SELECT pg_notify('rstream_jobs', 'notify_fanout') FROM j", vids[i], vids[i]));
	char *n = nh_wait("2", 30, "SELECT count(*) FROM notifications WHERE event_key = 'video:%s'", idp);
	cr_assert_str_eq(n, "2", "both subscribers hear of the public video");
	free(n);
	n = nh_wait("0", 30, "SELECT count(*) FROM jobs WHERE kind = 'notify_fanout' AND payload->>'event' = 'video:%s' AND state <> 'done'", idq);
	free(n);
	n = lh_sql("SELECT count(*) FROM notifications WHERE event_key = 'video:%s'", idq);
	cr_assert_str_eq(n, "0", "nobody hears of a video they may not watch");
	free(n);
	char p[96];
	snprintf(p, sizeof p, "/api/v1/subscriptions/creator/%ld", cid);
	struct http_res r;
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%s", h1);
	cr_assert_eq(http_do("DELETE", p, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 204);
	http_free(&r);
	json_object *o = lh_json("GET", "/api/v1/subscriptions", h1, NULL, 200);
	cr_assert_eq(json_object_array_length(json_object_object_get(o, "items")), 0);
	json_object_put(o);
	/* preferences: bad kinds and channels are refused; a saved choice reads back */
	json_object_put(lh_json("PUT", "/api/v1/notifications/preferences", h1, "{\"prefs\":[{\"kind\":\"roster_failed\",\"channel\":\"email\",\"enabled\":true}]}", 422));
	json_object_put(lh_json("PUT", "/api/v1/notifications/preferences", h1, "{\"prefs\":[{\"kind\":\"video_new\",\"channel\":\"sms\",\"enabled\":true}]}", 422));
	json_object_put(lh_json("PUT", "/api/v1/notifications/preferences", h1, "{\"digest\":\"weekly\"}", 422));
	o = lh_json("PUT", "/api/v1/notifications/preferences", h1, "{\"prefs\":[{\"kind\":\"video_new\",\"channel\":\"email\",\"enabled\":true}],\"digest\":\"daily\"}", 200);
	cr_assert_str_eq(lh_get(o, "digest"), "daily");
	cr_assert_str_eq(lh_get(o, "prefs.0.kind"), "video_new");
	cr_assert_str_eq(lh_get(o, "prefs.0.email"), "true");
	json_object_put(o);
	free(h1); free(h2); free(pub); free(priv); free(idp); free(idq);
}

Test(notify, an_assignment_due_within_a_day_is_announced_once, .timeout = 60)
{
	const char *tag = lh_tag();
	char s1[64];
	snprintf(s1, sizeof s1, "ndue-%s", tag);
	const char *st[1] = {s1};
	long ids[1];
	long aid = nh_assign(tag, st, 1, ids, NULL, "もうすぐ締め切り");
	free(lh_sql("UPDATE assignments SET due_at = now() + interval '3 hours' WHERE id = %ld RETURNING 1", aid));
	/* the worker scans every 5 s in the test configuration */
	char *v = nh_wait("1", 30, "SELECT count(*) FROM notifications WHERE user_id = %ld AND event_key = 'due:%ld' AND kind = 'assignment_due'", ids[0], aid);
	cr_assert_str_eq(v, "1");
	free(v);
	sleep(6);   /* another scan ran: still one */
	v = lh_sql("SELECT count(*) FROM notifications WHERE event_key = 'due:%ld'", aid);
	cr_assert_str_eq(v, "1");
	free(v);
}
