/* Demo data for `rstream seed`, on the demo roster that `make run` imports (scripts/run.sh): the demo teacher's
 * class that holds the demo pupil gets a course with the demo video, an assignment due in a week, and some
 * viewing (the demo pupil part way, a classmate done). Before the roster is imported there is nothing to do;
 * run.sh seeds again after the import. Idempotent. */
#include <stdio.h>
#include <string.h>
#include "db.h"
#include "learn.h"
#include "log.h"

#define SEED_TEACHER "t000001@sakura.example.jp"
#define SEED_PUPIL "s000011"
#define SEED_VIDEO "0000000000000de0"
#define SEED_COURSE "はじめての R-Stream"

int learn_seed_demo(void)
{
	/* the class both teach and attend, with the teacher's id and one classmate of the pupil */
	PGresult *res = DB_EXEC(
		"SELECT te.class_sourced_id, t.id, (SELECT m.id FROM roster_enrollments me JOIN users m ON m.sourced_id = me.user_sourced_id "
		"  WHERE me.class_sourced_id = te.class_sourced_id AND me.role = 'student' AND me.status = 'active' "
		"  AND m.id <> p.id ORDER BY m.username LIMIT 1) "
		"FROM users t JOIN roster_enrollments te ON te.user_sourced_id = t.sourced_id AND te.role = 'teacher' AND te.status = 'active' "
		"JOIN roster_enrollments pe ON pe.class_sourced_id = te.class_sourced_id AND pe.role = 'student' AND pe.status = 'active' "
		"JOIN users p ON p.sourced_id = pe.user_sourced_id AND p.username = $2 "
		"WHERE t.email = $1 ORDER BY te.class_sourced_id LIMIT 1", SEED_TEACHER, SEED_PUPIL);
	if (!res) { log_error("learn seed: %s", db_error()); return -1; }
	if (!PQntuples(res)) {
		PQclear(res);
		log_info("learn seed: the demo roster is not imported (yet): no demo course");
		return 0;
	}
	char cls[256], tid[24], mate[24];
	snprintf(cls, sizeof cls, "%s", PQgetvalue(res, 0, 0));
	snprintf(tid, sizeof tid, "%s", PQgetvalue(res, 0, 1));
	snprintf(mate, sizeof mate, "%s", PQgetisnull(res, 0, 2) ? "0" : PQgetvalue(res, 0, 2));
	PQclear(res);
	if (db_begin() < 0) return -1;
	int rc = DB_CMD("INSERT INTO courses (title, description, owner_id, visibility, class_sourced_ids) "
			"SELECT $1, 'デモのコースです。動画を見ると進捗が記録されます。', $2::bigint, 'class', ARRAY[$3] "
			"WHERE NOT EXISTS (SELECT 1 FROM courses WHERE title = $1 AND owner_id = $2::bigint)", SEED_COURSE, tid, cls);
	if (rc == 0)
		rc = DB_CMD("INSERT INTO course_videos (course_id, video_id, position) SELECT c.id, v.id, 0 FROM courses c, videos v "
			    "WHERE c.title = $1 AND c.owner_id = $2::bigint AND v.public_id = $3 ON CONFLICT DO NOTHING",
			    SEED_COURSE, tid, SEED_VIDEO);
	/* due at 17:00 local time a week from today */
	if (rc == 0)
		rc = DB_CMD("INSERT INTO assignments (course_id, created_by, start_at, due_at) "
			    "SELECT c.id, c.owner_id, now(), (date_trunc('day', now() AT TIME ZONE $3) + interval '7 days 17 hours') "
			    "AT TIME ZONE $3 FROM courses c WHERE c.title = $1 AND c.owner_id = $2::bigint "
			    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.course_id = c.id)", SEED_COURSE, tid, learn_tz());
	if (rc == 0)
		rc = DB_CMD("INSERT INTO assignment_classes (assignment_id, class_sourced_id) SELECT a.id, $3 FROM assignments a "
			    "JOIN courses c ON c.id = a.course_id WHERE c.title = $1 AND c.owner_id = $2::bigint ON CONFLICT DO NOTHING",
			    SEED_COURSE, tid, cls);
	if (rc < 0 || db_commit() < 0) { log_error("learn seed: %s", db_error()); db_rollback(); return -1; }
	/* viewing, through the same merge the worker uses: the pupil watched the first 12 s, the classmate all of it */
	char share[32];
	snprintf(share, sizeof share, "%.6f", learn_complete_share());
	res = DB_EXEC("SELECT learn_flush(array_agg('de' || lpad(to_hex(u.id), 14, '0')), array_agg(u.id), array_agg(v.id), "
		      "array_agg(CASE WHEN u.username = $1 THEN '{[0,12000)}'::int8multirange "
		      "ELSE int8multirange(int8range(0, (v.duration * 1000)::bigint)) END), "
		      "array_agg(CASE WHEN u.username = $1 THEN 12000 ELSE 0 END::bigint), array_agg(1::real), "
		      "array_agg((extract(epoch FROM now()) * 1000)::bigint), $3::float8) "
		      "FROM users u, videos v WHERE v.public_id = '" SEED_VIDEO "' AND v.duration > 0 "
		      "AND (u.username = $1 OR u.id = $2::bigint) "
		      "AND NOT EXISTS (SELECT 1 FROM view_progress p WHERE p.user_id = u.id AND p.video_id = v.id)",
		      SEED_PUPIL, mate, share);
	if (!res) { log_error("learn seed: %s", db_error()); return -1; }
	PQclear(res);
	return 0;
}
