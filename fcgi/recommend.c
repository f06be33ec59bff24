/* Recommendations: the SQL that turns the worker's co-view tables (sql/093_recommend.sql) and the catalog's links
 * into lists a viewer may watch. The visibility rule is video_access_sql(), written into each statement, so a
 * private video can never appear, whatever the stored neighbours say. */
#include "recommend.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db.h"
#include "log.h"
#include "video_access.h"

#define RECOMMEND_COLS \
	"v.id AS pk, v.public_id AS id, v.title, v.status, v.visibility, v.duration, v.poster, v.owner_id, " \
	"COALESCE(u.name, '') AS owner_name, " \
	"to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

/* Content candidates per kind are capped so a category of 50,000 videos costs no more than one of 50. */
#define CONTENT_CAP "200"

PGresult *recommend_related(const char *pk, const char *uid, const char *role, int k)
{
	buf sql = {0};
	/* src 0: next in a course; 1: watched together; 2: shared course (3) / category (2) / tag (1) / owner (0.5) */
	buf_puts(&sql,
		 "WITH c AS ("
		 " SELECT nx.video_id AS id, 0 AS src, 1.0::float8 AS score FROM course_videos cv "
		 "  JOIN course_videos nx ON nx.course_id = cv.course_id AND nx.position > cv.position "
		 "  WHERE cv.video_id = $3::bigint AND NOT EXISTS (SELECT 1 FROM course_videos mid WHERE mid.course_id = cv.course_id "
		 "   AND mid.position > cv.position AND mid.position < nx.position) "
		 " UNION ALL SELECT other_id, 1, score FROM recommend_related WHERE video_id = $3::bigint "
		 " UNION ALL (SELECT cv2.video_id, 2, 3.0 FROM course_videos cv JOIN course_videos cv2 ON cv2.course_id = cv.course_id "
		 "  WHERE cv.video_id = $3::bigint ORDER BY cv2.video_id DESC LIMIT " CONTENT_CAP ") "
		 " UNION ALL (SELECT vc2.video_id, 2, 2.0 FROM video_categories vc JOIN video_categories vc2 ON vc2.category_id = vc.category_id "
		 "  WHERE vc.video_id = $3::bigint ORDER BY vc2.video_id DESC LIMIT " CONTENT_CAP ") "
		 " UNION ALL (SELECT vt2.video_id, 2, 1.0 FROM video_tags vt JOIN video_tags vt2 ON vt2.tag_id = vt.tag_id "
		 "  WHERE vt.video_id = $3::bigint ORDER BY vt2.video_id DESC LIMIT " CONTENT_CAP ") "
		 " UNION ALL (SELECT o.id, 2, 0.5 FROM videos me JOIN videos o ON o.owner_id = me.owner_id "
		 "  WHERE me.id = $3::bigint ORDER BY o.created_at DESC, o.id DESC LIMIT " CONTENT_CAP ")), "
		 "g AS (SELECT id, min(src) AS src, max(score) FILTER (WHERE src < 2) AS best, "
		 " COALESCE(sum(score) FILTER (WHERE src = 2), 0) AS shared FROM c WHERE id <> $3::bigint GROUP BY id) "
		 "SELECT " RECOMMEND_COLS ", CASE g.src WHEN 0 THEN 'next_in_course' WHEN 1 THEN 'watched_together' "
		 " ELSE 'similar' END AS reason "
		 "FROM g JOIN videos v ON v.id = g.id LEFT JOIN users u ON u.id = v.owner_id "
		 "WHERE v.status = 'ready' AND ");
	video_access_sql(&sql, 1, 2);
	buf_puts(&sql, " ORDER BY g.src, g.best DESC NULLS LAST, g.shared DESC, v.created_at DESC, v.id DESC LIMIT $4::int");
	char lim[16];
	snprintf(lim, sizeof lim, "%d", k);
	PGresult *res = DB_EXEC(sql.p, uid, role, pk, lim);
	buf_free(&sql);
	if (!res) log_error("recommend related: %s", db_error());
	return res;
}

PGresult *recommend_for_user(const char *uid, const char *role, int k)
{
	buf sql = {0};
	/* src 0: assigned to one of my classes, not finished (earliest due first); 1: from my recent views;
	 * 2: most viewed; 3: newest. Started videos are in "continue watching", finished ones are done: both out
	 * (assignments keep started ones: they are the pupil's work) */
	buf_puts(&sql,
		 "WITH c AS ("
		 " SELECT av.video_id AS id, 0 AS src, -extract(epoch FROM COALESCE(min(a.due_at), 'infinity'::timestamptz))::float8 "
		 "   - min(av.position) * 1e-3 AS score "
		 "  FROM assignment_students s JOIN assignments a ON a.id = s.assignment_id "
		 "  JOIN assignment_videos av ON av.assignment_id = s.assignment_id "
		 "  WHERE s.user_id = $1::bigint AND (a.start_at IS NULL OR a.start_at <= now()) GROUP BY av.video_id "
		 " UNION ALL SELECT video_id, 1, score FROM recommend_for_user($1::bigint, 50) "
		 " UNION ALL (SELECT video_id, 2, views::float8 FROM search_docs WHERE views > 0 ORDER BY views DESC, video_id DESC LIMIT 50) "
		 " UNION ALL (SELECT id, 3, extract(epoch FROM created_at) FROM videos WHERE status = 'ready' "
		 "  ORDER BY created_at DESC, id DESC LIMIT 50)), "
		 "g AS (SELECT DISTINCT ON (id) id, src, score FROM c ORDER BY id, src, score DESC) "
		 "SELECT " RECOMMEND_COLS ", CASE g.src WHEN 0 THEN 'assigned' WHEN 1 THEN 'because_you_watched' "
		 " WHEN 2 THEN 'popular' ELSE 'new' END AS reason "
		 "FROM g JOIN videos v ON v.id = g.id LEFT JOIN users u ON u.id = v.owner_id "
		 "LEFT JOIN view_progress p ON p.user_id = $1::bigint AND p.video_id = v.id "
		 "WHERE v.status = 'ready' AND p.completed_at IS NULL AND (g.src = 0 OR p.user_id IS NULL) AND ");
	video_access_sql(&sql, 1, 2);
	buf_puts(&sql, " ORDER BY g.src, g.score DESC, v.id DESC LIMIT $3::int");
	char lim[16];
	snprintf(lim, sizeof lim, "%d", k);
	PGresult *res = DB_EXEC(sql.p, uid, role, lim);
	buf_free(&sql);
	if (!res) log_error("recommend for user: %s", db_error());
	return res;
}

int recommend_tick(int max)
{
	/* the worker loops fast while heartbeats flow: look every 2 s unless the last pass was full */
	static struct timespec last;
	static int was_full;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!was_full && (ts.tv_sec - last.tv_sec) * 1000 + (ts.tv_nsec - last.tv_nsec) / 1000000 < 2000) return 0;
	last = ts;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", max);
	PGresult *res = DB_EXEC("SELECT recommend_refresh($1::int)", lim);
	if (!res) {
		/* 42883/42P01: the migration has not run yet on this database */
		if (strcmp(db_sqlstate(), "42883") && strcmp(db_sqlstate(), "42P01")) log_warn("recommend: %s", db_error());
		was_full = 0;
		return 0;
	}
	int n = PQntuples(res) ? (int)strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	was_full = n >= max;
	return n;
}
