/* Demo data for `rstream seed` (after the demo users and the demo video): a school and a class 5年1組 in the
 * roster with the demo teacher and the two demo students, a course holding the demo video, an assignment of
 * it to the class due in a week, and some viewing (one student part way, one done). Idempotent. */
#include <stdio.h>
#include "db.h"
#include "learn.h"
#include "log.h"

#define SEED_CLASS "demo-class-5-1"

static const char *steps[] = {
	/* the demo accounts become rostered users (only where nothing else claimed them) */
	"UPDATE users SET sourced_id = 'demo-t-sato' WHERE email = 'sato.teacher@example.jp' AND sourced_id IS NULL",
	"UPDATE users SET sourced_id = 'demo-s-tanaka' WHERE email = 'tanaka.student@example.jp' AND sourced_id IS NULL",
	"UPDATE users SET sourced_id = 'demo-s-takahashi' WHERE email = 'takahashi.student@example.jp' AND sourced_id IS NULL",
	"INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('demo-school', 'デモ小学校', 'school') ON CONFLICT DO NOTHING",
	"INSERT INTO roster_users (sourced_id, username, given_name, family_name, primary_org_sourced_id) VALUES "
	"('demo-t-sato', 'sato.teacher', '花子', '佐藤', 'demo-school'), "
	"('demo-s-tanaka', 'tanaka.student', '太郎', '田中', 'demo-school'), "
	"('demo-s-takahashi', 'takahashi.student', 'さくら', '高橋', 'demo-school') ON CONFLICT DO NOTHING",
	"INSERT INTO roster_classes (sourced_id, title, course_sourced_id, class_type, school_sourced_id) VALUES "
	"('" SEED_CLASS "', '5年1組', 'demo-course', 'homeroom', 'demo-school') ON CONFLICT DO NOTHING",
	"INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) VALUES "
	"('demo-e-sato', '" SEED_CLASS "', 'demo-school', 'demo-t-sato', 'teacher'), "
	"('demo-e-tanaka', '" SEED_CLASS "', 'demo-school', 'demo-s-tanaka', 'student'), "
	"('demo-e-takahashi', '" SEED_CLASS "', 'demo-school', 'demo-s-takahashi', 'student') ON CONFLICT DO NOTHING",
	/* the course and its assignment, once */
	"INSERT INTO courses (title, description, owner_id, visibility, class_sourced_ids) "
	"SELECT 'はじめての R-Stream', 'デモのコースです。動画を見ると進捗が記録されます。', u.id, 'class', '{" SEED_CLASS "}' "
	"FROM users u WHERE u.email = 'sato.teacher@example.jp' "
	"AND NOT EXISTS (SELECT 1 FROM courses WHERE title = 'はじめての R-Stream' AND owner_id = u.id)",
	"INSERT INTO course_videos (course_id, video_id, position) SELECT c.id, v.id, 0 FROM courses c, videos v "
	"WHERE c.title = 'はじめての R-Stream' AND v.public_id = '0000000000000de0' ON CONFLICT DO NOTHING",
};

int learn_seed_demo(void)
{
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (db_cmd(steps[i], 0, NULL) < 0) { log_error("learn seed: %s", db_error()); return -1; }
	/* due at 17:00 local time a week from today */
	if (DB_CMD("INSERT INTO assignments (course_id, created_by, start_at, due_at) "
		   "SELECT c.id, c.owner_id, now(), (date_trunc('day', now() AT TIME ZONE $1) + interval '7 days 17 hours') "
		   "AT TIME ZONE $1 FROM courses c WHERE c.title = 'はじめての R-Stream' "
		   "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.course_id = c.id)", learn_tz()) < 0 ||
	    DB_CMD("INSERT INTO assignment_classes (assignment_id, class_sourced_id) SELECT a.id, '" SEED_CLASS "' "
		   "FROM assignments a JOIN courses c ON c.id = a.course_id WHERE c.title = 'はじめての R-Stream' "
		   "ON CONFLICT DO NOTHING") < 0) {
		log_error("learn seed: %s", db_error());
		return -1;
	}
	/* viewing, through the same merge the worker uses: tanaka watched 12 s, takahashi all of it */
	char share[32];
	snprintf(share, sizeof share, "%.6f", learn_complete_share());
	PGresult *res = DB_EXEC("SELECT learn_flush(array_agg('de' || lpad(to_hex(u.id), 14, '0')), array_agg(u.id), "
				"array_agg(v.id), array_agg(CASE WHEN u.email LIKE 'tanaka%' THEN '{[0,12000)}'::int8multirange "
				"ELSE int8multirange(int8range(0, (v.duration * 1000)::bigint)) END), "
				"array_agg(CASE WHEN u.email LIKE 'tanaka%' THEN 12000 ELSE 0 END::bigint), array_agg(1::real), "
				"array_agg((extract(epoch FROM now()) * 1000)::bigint), $1::float8) "
				"FROM users u, videos v WHERE v.public_id = '0000000000000de0' AND v.duration > 0 "
				"AND u.email IN ('tanaka.student@example.jp', 'takahashi.student@example.jp') "
				"AND NOT EXISTS (SELECT 1 FROM view_progress p WHERE p.user_id = u.id AND p.video_id = v.id)", share);
	if (!res) { log_error("learn seed: %s", db_error()); return -1; }
	PQclear(res);
	return 0;
}
