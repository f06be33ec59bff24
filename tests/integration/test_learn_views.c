/* Viewing heartbeats through the whole stack: nginx → FastCGI → Redis stream → worker → PostgreSQL.
 * Cumulative ranges merge as a union, completion follows the share rule, bad input changes nothing. */
#include "learn_helpers.h"

static char *name(const char *prefix)
{
	char *s;
	cr_assert(asprintf(&s, "%s-%s", prefix, lh_tag()) > 0);
	return s;
}

Test(learn_views, cumulative_beats_merge_into_one_union_and_complete_at_ninety_percent)
{
	long tid, uid;
	char *tname = name("lvt"), *sname = name("lvs");
	char *th = lh_user("creator", tname, &tid), *sh = lh_user("viewer", sname, &uid);
	char *pid = lh_video(tid, "public", 100, "Union");
	char *s = lh_session(sh, pid);
	/* the second beat repeats the first one's ranges (cumulative); a stale third one changes nothing */
	cr_assert_eq(lh_beat(sh, s, pid, 10, "[[0,10]]"), 202);
	cr_assert_eq(lh_beat(sh, s, pid, 40, "[[0,20],[30,40]]"), 202);
	cr_assert_eq(lh_beat(sh, s, pid, 10, "[[0,10]]"), 202);
	cr_assert_eq(lh_wait_watched(uid, pid, 30000, 20), 30000);
	char *done = lh_sql("SELECT completed_at IS NOT NULL FROM view_progress p JOIN videos v ON v.id = p.video_id "
			    "WHERE p.user_id = %ld AND v.public_id = '%s'", uid, pid);
	cr_assert_str_eq(done, "f");
	free(done);
	/* a second playback session of the same video: its ranges join the first's */
	char *s2 = lh_session(sh, pid);
	cr_assert_eq(lh_beat(sh, s2, pid, 89.5, "[[15,35],[40,89.5]]"), 202);
	cr_assert_eq(lh_wait_watched(uid, pid, 89500, 20), 89500);
	done = lh_sql("SELECT completed_at IS NOT NULL FROM view_progress p JOIN videos v ON v.id = p.video_id "
		      "WHERE p.user_id = %ld AND v.public_id = '%s'", uid, pid);
	cr_assert_str_eq(done, "f", "89.5 %% is not complete");
	free(done);
	cr_assert_eq(lh_beat(sh, s2, pid, 90.5, "[[15,35],[40,90.5]]"), 202);
	cr_assert_eq(lh_wait_watched(uid, pid, 90500, 20), 90500);
	done = lh_sql("SELECT completed_at IS NOT NULL FROM view_progress p JOIN videos v ON v.id = p.video_id "
		      "WHERE p.user_id = %ld AND v.public_id = '%s'", uid, pid);
	cr_assert_str_eq(done, "t", "90.5 %% is complete");
	free(done);
	/* the resume position follows the newest beat, and the playback API hands it out */
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", pid);
	json_object *o = lh_json("GET", path, sh, NULL, 200);
	cr_assert_eq(atof(lh_get(o, "playback.position")), 90.5);
	json_object_put(o);
	/* the history shows it */
	o = lh_json("GET", "/api/v1/me/history", sh, NULL, 200);
	cr_assert_str_eq(lh_get(o, "history.0.video"), pid);
	cr_assert_str_eq(lh_get(o, "history.0.completed"), "true");
	cr_assert_eq(atoi(lh_get(o, "history.0.percent")), 90);
	json_object_put(o);
	char *n = lh_sql("SELECT count(*) FROM view_sessions vs JOIN videos v ON v.id = vs.video_id WHERE v.public_id = '%s'", pid);
	cr_assert_str_eq(n, "2", "one row per playback session");
	free(n);
	free(s); free(s2); free(pid); free(th); free(sh); free(tname); free(sname);
}

static void expect(const char *h, const char *body, int status, const char *code)
{
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/views/heartbeat", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, status, "%s → %d %.300s", body, r.status, r.body);
	if (code) {
		char want[96];
		snprintf(want, sizeof want, "\"code\":\"%s\"", code);
		cr_assert(strstr(r.body, want), "%s: wanted %s, got %.300s", body, code, r.body);
	}
	http_free(&r);
}

Test(learn_views, bad_heartbeats_get_a_clear_error_and_change_nothing)
{
	long tid, uid, oid;
	char *tname = name("lbt"), *sname = name("lbs"), *oname = name("lbo");
	char *th = lh_user("creator", tname, &tid), *sh = lh_user("viewer", sname, &uid), *oh = lh_user("viewer", oname, &oid);
	char *pid = lh_video(tid, "public", 60, "Bad input"), *priv = lh_video(tid, "private", 60, "Private");
	char *s = lh_session(sh, pid), *other = lh_session(oh, pid);
	char b[20000];
#define BEAT(sess, vid, pos, ranges) (snprintf(b, sizeof b, "{\"session\":\"%s\",\"video\":\"%s\",\"position\":%s,\"rate\":1,\"ranges\":%s}", sess, vid, pos, ranges), b)
	expect(sh, BEAT(s, pid, "10", "[[0,61.5]]"), 422, "range_value");
	expect(sh, BEAT(s, pid, "10", "[[20,10]]"), 422, "range_reversed");
	expect(sh, BEAT(s, pid, "10", "[[0,20],[10,30]]"), 422, "range_overlap");
	expect(sh, BEAT(s, pid, "-1", "[[0,10]]"), 422, "position");
	expect(sh, BEAT(s, pid, "\"10\"", "[[0,10]]"), 422, "position");
	expect(sh, BEAT(s, pid, "NaN", "[[0,10]]"), 422, "position");
	expect(sh, BEAT(s, pid, "10", "[[0,NaN]]"), 422, "range_value");
	expect(sh, BEAT(s, pid, "10", "[[0,Infinity]]"), 422, "range_value");
	expect(sh, BEAT(s, pid, "10", "\"0-10\""), 422, "ranges_type");
	expect(sh, BEAT(s, pid, "10", "[[0,1],[2,3],[4,5],[6,7],[8,9],[10,11],[12,13],[14,15],[16,17],[18,19],[20,21]]"), 202, NULL);
	char big[20000];
	/* 210 ranges inside [0, 53] that overlap nothing: refused for their number */
	snprintf(big, sizeof big, "[");
	for (int i = 0; i < 210; i++) snprintf(big + strlen(big), sizeof big - strlen(big), "%s[%d.%03d,%d.%03d]", i ? "," : "", i / 4, (i % 4) * 200, i / 4, (i % 4) * 200 + 100);
	strcat(big, "]");
	expect(sh, BEAT(s, pid, "10", big), 422, "too_many_ranges");
	/* a forged session id, another user's session, the session of another video */
	char forged[256];
	snprintf(forged, sizeof forged, "%s", s);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
	expect(sh, BEAT(forged, pid, "10", "[[0,10]]"), 403, "bad_session");
	expect(sh, BEAT(other, pid, "10", "[[0,10]]"), 403, "bad_session");
	expect(sh, BEAT(s, priv, "10", "[[0,10]]"), 403, "session_video");
	expect(sh, BEAT(s, "ffffffffffffffff", "10", "[[0,10]]"), 404, "video_not_found");
	/* nobody hands out a session for a video one may not watch */
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", priv);
	json_object_put(lh_json("GET", path, sh, NULL, 403));
	/* a huge body: 413 before anything is parsed */
	char *huge = malloc(40000);
	memset(huge, ' ', 39999);
	huge[39999] = 0;
	memcpy(huge, "{\"pad\":\"", 8);
	memset(huge + 8, 'x', 39980);
	memcpy(huge + 39988, "\"}", 3);
	expect(sh, huge, 413, NULL);
	free(huge);
	expect(sh, "not json", 400, "malformed");
	expect(sh, "[1,2]", 400, "malformed");
	/* cookie path: without the CSRF token refused, with it (in the body, as a beacon sends it) accepted */
	char csrf[65], email[128];
	snprintf(email, sizeof email, "%s@learn.test", sname);
	char *cookie = t_browser_login(email, LH_PASSWORD, csrf);
	cr_assert_not_null(cookie);
	char ch[1024];
	snprintf(ch, sizeof ch, "Cookie: %s\r\n", cookie);
	expect(ch, BEAT(s, pid, "12", "[[0,12]]"), 403, "csrf");
	snprintf(b, sizeof b, "{\"session\":\"%s\",\"video\":\"%s\",\"position\":12,\"rate\":1,\"ranges\":[[0,12]],\"csrf\":\"%s\"}", s, pid, csrf);
	struct http_res r;
	snprintf(ch, sizeof ch, "Cookie: %s\r\nContent-Type: text/plain;charset=UTF-8\r\n", cookie);
	cr_assert_eq(http_do("POST", "/api/v1/views/heartbeat", ch, b, strlen(b), &r), 0);
	cr_assert_eq(r.status, 202, "beacon-style beat: %d %.200s", r.status, r.body);
	http_free(&r);
	/* only the two good beats arrived: [0,12] ∪ the eleven one-second ranges = 12 s + [12,13] … [20,21] = 17 s */
	cr_assert_eq(lh_wait_watched(uid, pid, 17000, 20), 17000);
	char *n = lh_sql("SELECT count(*) FROM view_progress p JOIN videos v ON v.id = p.video_id WHERE v.public_id = '%s'", priv);
	cr_assert_str_eq(n, "0");
	free(n);
	n = lh_sql("SELECT count(*) FROM view_progress WHERE user_id = %ld", oid);
	cr_assert_str_eq(n, "0");
	free(n);
#undef BEAT
	free(cookie); free(s); free(other); free(pid); free(priv); free(th); free(sh); free(oh); free(tname); free(sname); free(oname);
}

/* The heartbeat route loads no account (RF_TOKEN_AUTH: no PostgreSQL on the hot path). A session ended by logout
 * is refused at once (its jti is revoked in Redis); beats of a token issued before a password change, or of a
 * disabled account, are accepted by the handler but dropped by the flusher, which checks PostgreSQL set-based. */
Test(learn_views, beats_of_an_ended_session_or_outdated_token_are_not_stored, .timeout = 90)
{
	long tid, a, b, c;
	char *tname = name("lrt"), *an = name("lra"), *bn = name("lrb"), *cn = name("lrc");
	char *th = lh_user("creator", tname, &tid);
	char *ah = lh_user("viewer", an, &a), *bh = lh_user("viewer", bn, &b), *ch = lh_user("viewer", cn, &c);
	char *pid = lh_video(tid, "public", 100, "Revoked");
	char *as = lh_session(ah, pid), *bs = lh_session(bh, pid), *cs = lh_session(ch, pid);
	cr_assert_eq(lh_beat(ah, as, pid, 10, "[[0,10]]"), 202);
	cr_assert_eq(lh_beat(bh, bs, pid, 10, "[[0,10]]"), 202);
	cr_assert_eq(lh_beat(ch, cs, pid, 10, "[[0,10]]"), 202);
	cr_assert_eq(lh_wait_watched(a, pid, 10000, 20), 10000);
	cr_assert_eq(lh_wait_watched(b, pid, 10000, 20), 10000);
	cr_assert_eq(lh_wait_watched(c, pid, 10000, 20), 10000);

	/* a: logged out → 401 on the next beat */
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", ah);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/logout", hdr, "{}", 2, &r), 0);
	cr_assert_lt(r.status, 300, "logout: %d %.200s", r.status, r.body);
	http_free(&r);
	cr_assert_eq(lh_beat(ah, as, pid, 50, "[[0,50]]"), 401);

	/* b: password changed (token generation bumped); c: account disabled */
	free(lh_sql("UPDATE users SET token_gen = token_gen + 1 WHERE id = %ld RETURNING 1", b));
	free(lh_sql("UPDATE users SET disabled = true WHERE id = %ld RETURNING 1", c));
	int sb = lh_beat(bh, bs, pid, 60, "[[0,60]]"), sc = lh_beat(ch, cs, pid, 70, "[[0,70]]");
	cr_assert(sb == 202 || sb == 401, "outdated token: %d", sb);
	cr_assert(sc == 202 || sc == 401, "disabled account: %d", sc);

	/* a later beat of a valid session is flushed: everything before it in the stream was handled too */
	long d;
	char *dn = name("lrd"), *dh = lh_user("viewer", dn, &d), *ds = lh_session(dh, pid);
	cr_assert_eq(lh_beat(dh, ds, pid, 20, "[[0,20]]"), 202);
	cr_assert_eq(lh_wait_watched(d, pid, 20000, 20), 20000);
	cr_assert_eq(lh_wait_watched(a, pid, 10000, 1), 10000, "the logged-out session's beat was not stored");
	cr_assert_eq(lh_wait_watched(b, pid, 10000, 1), 10000, "the outdated token's beat was not stored");
	cr_assert_eq(lh_wait_watched(c, pid, 10000, 1), 10000, "the disabled account's beat was not stored");
	free(as); free(bs); free(cs); free(ds); free(pid);
	free(th); free(ah); free(bh); free(ch); free(dh);
	free(tname); free(an); free(bn); free(cn); free(dn);
}

/* Beats that reach a worker together (nginx's kept connections) share one Redis round trip: each must still get
 * its own answer and land once. Twelve sessions of one viewer, sent at the same instant from twelve processes. */
struct beats { char *cookie, **session; const char *video; };

/* beat i: seconds i*10 to i*10+10 of its own session */
static int send_beat(int i, void *arg)
{
	struct beats *b = arg;
	char ranges[64];
	snprintf(ranges, sizeof ranges, "[[%d,%d]]", i * 10, i * 10 + 10);
	return lh_beat(b->cookie, b->session[i], b->video, i * 10 + 10, ranges) == 202 ? 0 : -1;
}

Test(learn_views, beats_sent_at_once_are_each_answered_and_merged_once)
{
	long tid, uid;
	char *tname = name("lbt"), *sname = name("lbs");
	char *th = lh_user("creator", tname, &tid), *sh = lh_user("viewer", sname, &uid);
	char *pid = lh_video(tid, "public", 600, "Together");
	enum { N = 12 };
	char *s[N];
	for (int i = 0; i < N; i++) s[i] = lh_session(sh, pid);
	struct beats b = {sh, s, pid};
	int failed = t_at_once(N, send_beat, &b);
	cr_assert_eq(failed, 0, "%d of %d beats sent together were not answered 202", failed, N);
	cr_assert_eq(lh_wait_watched(uid, pid, N * 10000, 20), N * 10000, "the union of the twelve ranges");
	char *rows = lh_sql("SELECT count(*) || ' ' || sum(watched_ms) FROM view_sessions s JOIN videos v ON v.id = s.video_id "
			    "WHERE s.user_id = %ld AND v.public_id = '%s'", uid, pid);
	cr_assert_str_eq(rows, "12 120000", "one session row per playback session, 10 s each");
	free(rows);
	for (int i = 0; i < N; i++) free(s[i]);
	free(pid); free(th); free(sh); free(tname); free(sname);
}
