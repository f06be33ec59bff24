/* Job "transcode": payload {"video_id": <videos.id>}. Probes the stored source, runs the one-pass ladder with
 * -progress on a pipe and the segments on disk (media time written / duration = the job's %), keeps ffmpeg's last lines for the UI on failure,
 * and publishes data_dir/hls/.tmp-<id>-<attempt> as data_dir/hls/<id> with one rename. */
#include "job_transcode.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "arena.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "video_ladder.h"
#include "video_probe.h"
#include "video_store.h"

#define PROGRESS_FD 3

static void tail_keep(char *tail, size_t cap, const char *data, size_t n)
{
	size_t have = strlen(tail);
	if (n >= cap - 1) { memcpy(tail, data + n - (cap - 1), cap - 1); tail[cap - 1] = 0; return; }
	if (have + n >= cap) {
		size_t drop = have + n - (cap - 1);
		memmove(tail, tail + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(tail + have, data, n);
	tail[have + n] = 0;
}

/* the last few lines only, starting at a line boundary */
static void tail_lines(char *tail, int lines)
{
	size_t n = strlen(tail);
	while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r')) tail[--n] = 0;
	int seen = 0;
	for (size_t i = n; i > 0; i--)
		if (tail[i - 1] == '\n' && ++seen == lines) { memmove(tail, tail + i, n - i + 1); return; }
}

static void progress_at(struct video_transcode *t, double seconds_done)
{
	if (t->probe->duration <= 0 || !t->progress) return;
	double pct = seconds_done / t->probe->duration * 100.0;
	if (pct > 99) pct = 99;
	if (pct > t->last_pct) { t->last_pct = pct; t->progress(t->ctx, pct); }
}

/* "out_time_us=1234567" (ffmpeg >= 4.4) or "out_time_ms=…" (also microseconds, historically) */
static void progress_line(struct video_transcode *t, const char *line)
{
	long long us;
	if ((sscanf(line, "out_time_us=%lld", &us) == 1 || sscanf(line, "out_time_ms=%lld", &us) == 1) && us >= 0)
		progress_at(t, us / 1e6);
}

/* ffmpeg holds back its -progress reports until every output has had a frame, and the storyboard's one frame
 * comes at the end: so the job's % is also read from the first rung's segments on disk (all but the newest,
 * which is still being written, are whole). */
static void progress_from_segments(struct video_transcode *t, const char *seg_dir)
{
	DIR *d = opendir(seg_dir);
	if (!d) return;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) n += !strncmp(e->d_name, "seg_", 4);
	closedir(d);
	if (n > 1) progress_at(t, (double)(n - 1) * t->seg_seconds);
}

static int run_ffmpeg(struct video_transcode *t, char **argv, const char *seg_dir)
{
	int pp[2] = {-1, -1}, pe[2] = {-1, -1}, rc = -1;
	if (pipe2(pp, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		snprintf(t->error_tail, sizeof t->error_tail, "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) { snprintf(t->error_tail, sizeof t->error_tail, "fork: %s", strerror(errno)); goto out; }
	if (pid == 0) {
		/* ffmpeg dies with the job process: a killed job never leaves an orphan encoder writing files */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); }
		dup2(pe[1], 2);
		dup2(pp[1], PROGRESS_FD);   /* dup2 clears O_CLOEXEC on the new descriptor */
		execvp(argv[0], argv);
		_exit(127);
	}
	t->ffmpeg_pid = pid;
	close(pp[1]); pp[1] = -1;
	close(pe[1]); pe[1] = -1;
	struct pollfd fds[2] = {{pp[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	char line[512];
	size_t ll = 0;
	int open_fds = 2, cancelled = 0;
	time_t counted = 0;
	while (open_fds > 0) {
		int n = poll(fds, 2, 1000);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) break;
		if (!cancelled && t->cancelled && t->cancelled(t->ctx)) { kill(pid, SIGTERM); cancelled = 1; }
		if (time(NULL) != counted) { counted = time(NULL); progress_from_segments(t, seg_dir); }
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
			char chunk[4096];
			ssize_t k = read(fds[i].fd, chunk, sizeof chunk);
			if (k <= 0) { fds[i].fd = -1; open_fds--; continue; }
			if (i == 1) { tail_keep(t->error_tail, sizeof t->error_tail, chunk, (size_t)k); continue; }
			for (ssize_t c = 0; c < k; c++) {
				if (chunk[c] == '\n') { line[ll] = 0; progress_line(t, line); ll = 0; }
				else if (ll < sizeof line - 1) line[ll++] = chunk[c];
			}
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	t->ffmpeg_pid = 0;
	tail_lines(t->error_tail, 12);
	if (cancelled) { snprintf(t->error_tail, sizeof t->error_tail, "cancelled"); goto out; }
	if (WIFSIGNALED(status)) {
		char m[64];
		snprintf(m, sizeof m, "\nffmpeg killed by signal %d", WTERMSIG(status));
		tail_keep(t->error_tail, sizeof t->error_tail, m, strlen(m));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char m[64];
		snprintf(m, sizeof m, "\nffmpeg exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) snprintf(m, sizeof m, "ffmpeg could not be run");
		tail_keep(t->error_tail, sizeof t->error_tail, m, strlen(m));
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (pp[i] >= 0) close(pp[i]);
		if (pe[i] >= 0) close(pe[i]);
	}
	return rc;
}

static char *slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	char *s = malloc(max + 1);
	size_t n = s ? fread(s, 1, max, f) : 0;
	int more = fgetc(f) != EOF;
	fclose(f);
	if (!s || more) { free(s); return NULL; }
	s[n] = 0;
	return s;
}

static int write_file(const char *path, const char *data, size_t n)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f) return -1;
	int ok = fwrite(data, 1, n, f) == n;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) { unlink(tmp); return -1; }
	return 0;
}

void video_transcode_src(const struct video_probe *p, double max_fps, struct video_src *s)
{
	memset(s, 0, sizeof *s);
	s->width = p->width;
	s->height = p->height;
	s->rotation = p->rotation;
	s->sar_num = p->sar_num;
	s->sar_den = p->sar_den;
	s->fps = p->fps;
	s->duration = p->duration;
	s->has_audio = p->has_audio;
	s->vstream = p->video.index;
	s->max_fps = max_fps;
	for (int i = 0; i < p->naudio && i < VIDEO_MAX_AUDIO_OUT; i++) {
		s->aindex[i] = p->audio[i].index;
		snprintf(s->alang[i], sizeof s->alang[i], "%s", p->audio[i].lang);
		s->naudio++;
	}
	/* a 10 s screen recording with 30 s of narration: hold the last picture until the sound ends */
	if (p->video.duration > 0) {
		double vend = p->video.start - p->start + p->video.duration;
		if (p->duration - vend > 0.05) s->vpad = p->duration - vend;
	}
}

/* A file the ladder announces must exist and have bytes: "dir/name" */
static int have_file(const char *dir, const char *name, char *err, size_t en)
{
	char path[4400];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (video_file_size(path) > 0) return 0;
	snprintf(err, en, "%s is missing or empty", name);
	return -1;
}

/* A media playlist: complete (#EXT-X-ENDLIST), its init segment and every media segment present and not empty.
 * URIs are plain file names next to the playlist (ffmpeg writes them so); anything else is refused. */
static int check_playlist(const char *outdir, const char *rel, double *duration, char *err, size_t en)
{
	char dir[4400], path[4400];
	snprintf(path, sizeof path, "%s/%s", outdir, rel);
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) *slash = 0;
	char *pl = slurp(path, 8 << 20);
	if (!pl) { snprintf(err, en, "%s is missing", rel); return -1; }
	int rc = 0, segs = 0;
	double d = video_playlist_duration(pl);
	if (d < 0) { snprintf(err, en, "%s is incomplete", rel); rc = -1; }
	for (char *line = pl; rc == 0 && line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl) *nl = 0;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r') line[--l] = 0;
		char name[256] = "";
		if (!strncmp(line, "#EXT-X-MAP:URI=\"", 16)) sscanf(line + 16, "%255[^\"]", name);
		else if (l && line[0] != '#') snprintf(name, sizeof name, "%s", line);
		if (name[0]) {
			if (strchr(name, '/') || name[0] == '.') { snprintf(err, en, "%s names %s", rel, name); rc = -1; }
			else rc = have_file(dir, name, err, en);
			if (line[0] != '#') segs++;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (rc == 0 && segs == 0) { snprintf(err, en, "%s has no segments", rel); rc = -1; }
	free(pl);
	if (rc == 0 && duration) *duration = d;
	return rc;
}

/* Every rendition and alternate audio playlist named by the master (URIs "name/index.m3u8"). */
static int check_master_targets(const char *outdir, const char *master, double *duration, char *err, size_t en)
{
	int n = 0;
	*duration = -1;
	for (const char *p = master; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char uri[256] = "";
		const char *u = strstr(p, "URI=\"");
		if (!strncmp(p, "#EXT-X-MEDIA:", 13) && u && u < p + l) sscanf(u + 5, "%255[^\"]", uri);
		else if (l && p[0] != '#' && l < sizeof uri) { memcpy(uri, p, l); uri[l] = 0; uri[strcspn(uri, "\r")] = 0; }
		if (uri[0]) {
			if (strstr(uri, "..") || uri[0] == '/') { snprintf(err, en, "master names %s", uri); return -1; }
			double d;
			if (check_playlist(outdir, uri, &d, err, en) < 0) return -1;
			/* the first video variant is the published duration (every rung cuts at the same frames) */
			if (p[0] != '#' && *duration < 0) *duration = d;
			n++;
		}
		p = e ? e + 1 : NULL;
	}
	if (!n || *duration < 0) { snprintf(err, en, "master.m3u8 names no rendition"); return -1; }
	return 0;
}

int video_transcode_run(struct video_transcode *t)
{
	arena *a = arena_new(0);
	int rc = -1;
	t->error_tail[0] = 0;
	t->renditions = NULL;
	const struct video_probe *p = t->probe;
	struct video_src s;
	video_transcode_src(p, t->max_fps, &s);
	struct video_rung rungs[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, rungs);
	if (n < 1) { snprintf(t->error_tail, sizeof t->error_tail, "unusable picture size %dx%d", p->width, p->height); goto out; }
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	if (video_mkdirs(t->outdir) < 0) {
		snprintf(t->error_tail, sizeof t->error_tail, "mkdir %s: %s", t->outdir, strerror(errno));
		goto out;
	}
	struct video_ladder_opts o = {.input = t->input, .outdir = t->outdir, .seg_seconds = t->seg_seconds,
				      .preset = t->preset, .progress_fd = PROGRESS_FD};
	char **argv = video_ladder_argv(a, &s, rungs, n, &sb, &o);
	char seg_dir[4200];
	snprintf(seg_dir, sizeof seg_dir, "%s/%s", t->outdir, rungs[0].name);
	if (!argv || run_ffmpeg(t, argv, seg_dir) < 0) goto out;

	/* the master playlist must carry BANDWIDTH, RESOLUTION and CODECS for every rung */
	char path[4200];
	snprintf(path, sizeof path, "%s/master.m3u8", t->outdir);
	char *master = slurp(path, 1 << 16);
	char *fixed = master ? video_master_fix(a, master, p->has_audio) : NULL;
	free(master);
	if (!fixed) {
		/* ffmpeg's HLS muxer may exit 0 after its writes failed: name the usual cause, a full media volume */
		struct statvfs fs;
		if (statvfs(t->outdir, &fs) == 0 && (unsigned long long)fs.f_bavail * fs.f_frsize < 1024 * 1024)
			snprintf(t->error_tail, sizeof t->error_tail, "no space left on the media volume");
		else
			snprintf(t->error_tail, sizeof t->error_tail, "ffmpeg wrote no usable master playlist");
		goto out;
	}
	if (write_file(path, fixed, strlen(fixed)) < 0) {
		snprintf(t->error_tail, sizeof t->error_tail, "cannot rewrite master playlist");
		goto out;
	}
	/* ffmpeg exits 0 when an output got no frame at all (no bright frame for the poster; a source whose
	 * first picture comes late): every announced file is checked, and a missing poster is made again */
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/index.m3u8", rungs[i].name);
		if (!strstr(fixed, path)) {
			snprintf(t->error_tail, sizeof t->error_tail, "rendition %s is missing", rungs[i].name);
			goto out;
		}
	}
	if (check_master_targets(t->outdir, fixed, &t->duration, t->error_tail, sizeof t->error_tail) < 0) goto out;
	snprintf(path, sizeof path, "%s/poster.jpg", t->outdir);
	if (video_file_size(path) <= 0) {
		int pi = video_poster_rung(rungs, n);
		char **pv = video_poster_argv(a, &s, t->input, path, rungs[pi].width, rungs[pi].height);
		buf perr = {0};
		int prc = video_run_capture(pv, NULL, &perr, 2048, 600);
		if (prc != 0 || video_file_size(path) <= 0) {
			snprintf(t->error_tail, sizeof t->error_tail, "no poster frame: %s", perr.p ? perr.p : "");
			buf_free(&perr);
			goto out;
		}
		buf_free(&perr);
	}
	if (have_file(t->outdir, "storyboard.jpg", t->error_tail, sizeof t->error_tail) < 0) goto out;
	buf vtt = {0};
	/* cues cover the published picture, which is what the seek bar shows */
	video_storyboard_vtt(&sb, t->duration, "storyboard.jpg", &vtt);
	snprintf(path, sizeof path, "%s/storyboard.vtt", t->outdir);
	int wr = write_file(path, vtt.p, vtt.len);
	buf_free(&vtt);
	if (wr < 0) { snprintf(t->error_tail, sizeof t->error_tail, "cannot write storyboard.vtt"); goto out; }

	/* one source of truth for the bandwidth: what master.m3u8 announces to players */
	t->renditions = json_object_new_array();
	for (int i = 0; i < n; i++) {
		long bw = video_master_bandwidth(fixed, rungs[i].name);
		if (bw <= 0) {
			snprintf(t->error_tail, sizeof t->error_tail, "master.m3u8 has no BANDWIDTH for %s", rungs[i].name);
			goto out;
		}
		json_object *r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(rungs[i].name));
		json_object_object_add(r, "width", json_object_new_int(rungs[i].width));
		json_object_object_add(r, "height", json_object_new_int(rungs[i].height));
		json_object_object_add(r, "bandwidth", json_object_new_int64(bw));
		json_object_array_add(t->renditions, r);
	}
	rc = 0;
out:
	arena_free(a);
	return rc;
}

int video_publish_dir(const char *tmpdir, const char *finaldir)
{
	if (rename(tmpdir, finaldir) == 0) return 0;
	int e = errno;
	struct stat st;
	/* NFS: a retransmitted RENAME the server already carried out answers ENOENT; the ladder is in place */
	if (e == ENOENT && lstat(tmpdir, &st) < 0 && errno == ENOENT && lstat(finaldir, &st) == 0) return 0;
	errno = e;
	if (e != EEXIST && e != ENOTEMPTY) return -1;
	/* a ladder is already published (re-transcode): swap both names atomically, then drop the old one */
	if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, finaldir, RENAME_EXCHANGE) < 0) return -1;
	video_rmtree(tmpdir);
	return 0;
}

/* temp dirs of earlier attempts for this video (a killed worker leaves them behind) */
static void remove_stale_tmp(const char *hls_root, const char *pid)
{
	DIR *d = opendir(hls_root);
	if (!d) return;
	char prefix[64], path[4200];
	snprintf(prefix, sizeof prefix, ".tmp-%s-", pid);
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			snprintf(path, sizeof path, "%s/%s", hls_root, e->d_name);
			video_rmtree(path);
		}
	closedir(d);
}

static void job_progress_cb(void *ctx, double pct) { job_progress(ctx, pct, "transcoding"); }
static int job_cancel_cb(void *ctx) { return job_cancelled(ctx); }

/* captions uploaded so far go into every ladder we publish */
static void copy_captions(const char *pid, const char *outdir)
{
	char dir[4200], src[4400], dst[4400];
	if (video_caption_dir(dir, sizeof dir, pid) < 0) return;
	DIR *d = opendir(dir);
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "captions-", 9)) continue;
		snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
		snprintf(dst, sizeof dst, "%s/%s", outdir, e->d_name);
		if (video_copy_file(src, dst) < 0) log_warn("copy caption %s: %s", src, strerror(errno));
	}
	closedir(d);
}

int job_transcode(struct job *j)
{
	json_object *v;
	int rc = -1;
	PGresult *res = NULL;
	struct video_transcode t = {0};
	char ids[24], src[4200], root[4200], tmp[4400], fin[4400];
	if (!json_object_object_get_ex(j->payload, "video_id", &v) || json_object_get_int64(v) <= 0) {
		snprintf(j->error, sizeof j->error, "payload has no video_id");
		return -2;
	}
	snprintf(ids, sizeof ids, "%lld", (long long)json_object_get_int64(v));
	res = DB_EXEC("SELECT public_id, status FROM videos WHERE id = $1::bigint", ids);
	if (!res) { snprintf(j->error, sizeof j->error, "database: %s", db_error()); return -1; }
	if (PQntuples(res) == 0) { PQclear(res); snprintf(j->error, sizeof j->error, "video %s is gone", ids); return -2; }
	char pid[20];
	snprintf(pid, sizeof pid, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	snprintf(root, sizeof root, "%s/hls", cfg.data_dir);
	if (video_source_path(src, sizeof src, pid) < 0 || video_hls_dir(fin, sizeof fin, pid) < 0) {
		snprintf(j->error, sizeof j->error, "bad video id");
		return -2;
	}
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%d", root, pid, j->attempt);
	video_mkdirs(root);
	remove_stale_tmp(root, pid);
	DB_CMD("UPDATE videos SET status = 'transcoding', updated_at = now() WHERE id = $1::bigint", ids);
	job_progress(j, 0, "probing");

	struct video_probe p;
	double maxd = (double)config_get_int("video.max_duration_s", 4 * 3600);
	if (video_probe_file(src, maxd, &p) < 0) { snprintf(j->error, sizeof j->error, "ffprobe could not be run"); goto fail; }
	if (p.reason) {
		/* the source changed or vanished since upload: nothing a retry can fix */
		DB_CMD("UPDATE videos SET status = 'rejected', reject_reason = $2, updated_at = now() WHERE id = $1::bigint",
		       ids, p.reason);
		snprintf(j->error, sizeof j->error, "source rejected: %s", p.reason);
		return -2;
	}
	t.input = src;
	t.outdir = tmp;
	t.probe = &p;
	t.preset = config_get("video.x264_preset", "veryfast");
	t.seg_seconds = (int)config_get_int("video.segment_seconds", 6);
	t.max_fps = (double)config_get_int("video.max_fps", 30);
	if (t.seg_seconds < 2 || t.seg_seconds > 30) t.seg_seconds = 6;
	t.progress = job_progress_cb;
	t.cancelled = job_cancel_cb;
	t.ctx = j;
	if (video_transcode_run(&t) < 0) {
		snprintf(j->error, sizeof j->error, "%s", t.error_tail);
		goto fail;
	}
	copy_captions(pid, tmp);
	job_progress(j, 99.5, "publishing");
	json_object *stats = json_object_new_object();
	json_object_object_add(stats, "renditions", json_object_new_int((int)json_object_array_length(t.renditions)));
	json_object_object_add(stats, "duration_s", json_object_new_double(t.duration));
	job_set_stats(j, stats);
	json_object_put(stats);
	/* the publish is fenced: with the job row locked and this attempt's lease checked, the rename, the video row
	 * and the job's done state go together; an attempt whose lease expired (another host took the job over)
	 * publishes nothing. The rename is atomic on a local disk and on NFS (one server-side RENAME). */
	if (db_begin() < 0) { snprintf(j->error, sizeof j->error, "database: %s", db_error()); goto fail; }
	int held = job_lease_hold(j);
	if (held != 1) {
		db_rollback();
		if (held == 0) { snprintf(j->error, sizeof j->error, "lease lost before publishing"); rc = -3; video_rmtree(tmp); goto out; }
		snprintf(j->error, sizeof j->error, "database: %s", db_error());
		goto fail;
	}
	char dur[32];
	snprintf(dur, sizeof dur, "%.3f", t.duration);
	const char *rend = json_object_to_json_string_ext(t.renditions, JSON_C_TO_STRING_PLAIN);
	res = DB_EXEC("UPDATE videos SET status = 'ready', renditions = $2::jsonb, duration = $3::float8, "
		      "poster = 'poster.jpg', storyboard = 'storyboard.vtt', error_tail = NULL, updated_at = now() "
		      "WHERE id = $1::bigint RETURNING id", ids, rend, dur);
	if (!res) {
		snprintf(j->error, sizeof j->error, "database: %s", db_error());
		db_rollback();
		goto fail;
	}
	int still_there = PQntuples(res) == 1;
	PQclear(res);
	res = NULL;
	if (!still_there) {
		/* the video was deleted while it was transcoding: nothing to publish */
		db_rollback();
		video_rmtree(tmp);
		snprintf(j->error, sizeof j->error, "video %s was deleted during the transcode", pid);
		return -2;
	}
	if (video_publish_dir(tmp, fin) < 0) {
		/* e.g. NFS refusing the rename (permissions, stale handle, full): the row stays as it was, retry */
		snprintf(j->error, sizeof j->error, "publish %s: %s", fin, strerror(errno));
		log_error("transcode of video %s: %s", pid, j->error);
		db_rollback();
		goto fail;
	}
	if (job_complete(j) != 1 || db_commit() < 0) {
		/* published but not recorded: the retry republishes (atomic exchange) and records */
		snprintf(j->error, sizeof j->error, "database: %s", db_error());
		db_rollback();
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	video_rmtree(tmp);
	{
		const char *tail = t.error_tail[0] ? t.error_tail : j->error;
		const char *last = j->attempt >= j->max_attempts ? "1" : "0";
		/* a failure is written only while this attempt holds the lease: a taken-over attempt (its ffmpeg stopped
		 * as if cancelled) must not mark the video failed under the attempt that now runs it */
		if (db_begin() == 0) {
			int held = job_lease_hold(j);
			if (held == 1)
				DB_CMD("UPDATE videos SET error_tail = $2, status = CASE WHEN $3 = '1' THEN 'failed' ELSE 'queued' END, "
				       "updated_at = now() WHERE id = $1::bigint", ids, tail, last);
			if (db_commit() < 0) db_rollback();
			if (held == 0) { rc = -3; goto out; }
		}
		log_warn("transcode of video %s failed (attempt %d/%d)", pid, j->attempt, j->max_attempts);
	}
out:
	json_object_put(t.renditions);
	return rc;
}
