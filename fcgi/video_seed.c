/* Demo content for `rstream seed`: a 20 s clip made by ffmpeg's test sources, public, with captions,
 * registered and queued for transcoding so a newcomer can watch something at once. Idempotent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "video_probe.h"
#include "video_seed.h"
#include "video_store.h"

#define DEMO_ID "0000000000000de0"

int video_is_demo(const char *public_id) { return public_id && !strcmp(public_id, DEMO_ID); }

static const char *demo_vtt_ja =
	"WEBVTT\n\n00:00:00.500 --> 00:00:05.000\nR-Stream へようこそ。これはデモ動画です。\n\n"
	"00:00:05.000 --> 00:00:10.000\n画質・再生速度・字幕はプレーヤーのメニューから選べます。\n\n"
	"00:00:10.000 --> 00:00:19.500\nシークバーにマウスを重ねるとサムネイルが表示されます。\n";
static const char *demo_vtt_en =
	"WEBVTT\n\n00:00:00.500 --> 00:00:05.000\nWelcome to R-Stream. This is a demo video.\n\n"
	"00:00:05.000 --> 00:00:10.000\nPick quality, speed and captions from the player menus.\n\n"
	"00:00:10.000 --> 00:00:19.500\nHover over the seek bar to see thumbnails.\n";

static int write_text(const char *dir, const char *name, const char *text)
{
	char p[4400];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

int video_seed_demo(void)
{
	PGresult *res = DB_EXEC("SELECT 1 FROM videos WHERE public_id = $1", DEMO_ID);
	if (!res) { log_error("video seed: %s", db_error()); return -1; }
	int exists = PQntuples(res) > 0;
	PQclear(res);
	if (exists) return 0;

	char src[4200], dir[4200];
	snprintf(dir, sizeof dir, "%s/uploads/videos", cfg.data_dir);
	if (video_mkdirs(dir) < 0 || video_source_path(src, sizeof src, DEMO_ID) < 0) return -1;
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20", "-c:v", "libx264",
			"-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-f", "mp4", src, NULL};
	buf err = {0};
	int rc = video_run_capture(argv, NULL, &err, 4096, 300);
	if (rc != 0) {
		log_error("video seed: ffmpeg failed: %s", err.p ? err.p : "(no output)");
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	struct video_probe p;
	if (video_probe_file(src, 0, &p) < 0 || p.reason) { log_error("video seed: demo clip not accepted"); return -1; }
	json_object *pj = video_probe_json(&p);
	char dur[32], size[24];
	snprintf(dur, sizeof dur, "%.3f", p.duration);
	snprintf(size, sizeof size, "%lld", (long long)video_file_size(src));
	if (db_begin() < 0) { json_object_put(pj); return -1; }
	res = DB_EXEC("INSERT INTO videos (public_id, title, description, owner_id, status, visibility, source_name, "
		      "source_size, duration, width, height, probe) "
		      "VALUES ($1, 'R-Stream デモ / demo', $2, (SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1), "
		      "'queued', 'public', 'demo.mp4', $3::bigint, $4::float8, 1280, 720, $5::jsonb) RETURNING id",
		      DEMO_ID, "ffmpeg のテスト映像 (testsrc2 + sine) で作ったデモ動画です。\nA demo clip made with ffmpeg's test sources.",
		      size, dur, json_object_to_json_string_ext(pj, JSON_C_TO_STRING_PLAIN));
	json_object_put(pj);
	if (!res || PQntuples(res) != 1) { PQclear(res); db_rollback(); log_error("video seed: %s", db_error()); return -1; }
	char pk[24];
	snprintf(pk, sizeof pk, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (DB_CMD("INSERT INTO categories (slug, name_ja, name_en) VALUES ('demo', 'デモ', 'Demo') ON CONFLICT (slug) DO NOTHING") < 0 ||
	    DB_CMD("INSERT INTO video_categories (video_id, category_id) SELECT $1::bigint, id FROM categories WHERE slug = 'demo'", pk) < 0 ||
	    DB_CMD("INSERT INTO tags (name) VALUES ('demo'), ('ffmpeg') ON CONFLICT (name) DO NOTHING") < 0 ||
	    DB_CMD("INSERT INTO video_tags (video_id, tag_id) SELECT $1::bigint, id FROM tags WHERE name IN ('demo', 'ffmpeg')", pk) < 0 ||
	    DB_CMD("INSERT INTO captions (video_id, lang, label, path) VALUES ($1::bigint, 'ja', '日本語', 'captions-ja.vtt'), "
		   "($1::bigint, 'en', 'English', 'captions-en.vtt')", pk) < 0) {
		db_rollback();
		log_error("video seed: %s", db_error());
		return -1;
	}
	if (db_commit() < 0) return -1;
	/* the transcode job copies caption masters into the ladder it publishes */
	char cdir[4200];
	if (video_caption_dir(cdir, sizeof cdir, DEMO_ID) < 0 || video_mkdirs(cdir) < 0 ||
	    write_text(cdir, "captions-ja.vtt", demo_vtt_ja) < 0 || write_text(cdir, "captions-en.vtt", demo_vtt_en) < 0)
		log_warn("video seed: could not write demo captions");
	else
		DB_CMD("INSERT INTO search_dirty (video_id) VALUES ($1::bigint) ON CONFLICT DO NOTHING", pk);   /* reads the files */
	json_object *payload = json_object_new_object();
	json_object_object_add(payload, "video_id", json_object_new_int64(strtoll(pk, NULL, 10)));
	long job = job_enqueue("transcode", payload, 0);
	json_object_put(payload);
	if (job < 0) return -1;
	char js[24];
	snprintf(js, sizeof js, "%ld", job);
	DB_CMD("UPDATE videos SET job_id = $2::bigint WHERE id = $1::bigint", pk, js);
	log_info("video seed: demo video %s queued (job %ld)", DEMO_ID, job);
	return 0;
}
