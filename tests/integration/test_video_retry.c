/* A transcode whose ffmpeg is killed mid-way publishes nothing, keeps the failure for the UI, and completes on the
 * retry the job system schedules. */
#include <dirent.h>
#include <signal.h>
#include "video_helpers.h"

/* pid of an ffmpeg writing into hls/.tmp-<id>-*, or 0 */
static pid_t find_ffmpeg(const char *id)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char want[64];
	snprintf(want, sizeof want, ".tmp-%s-", id);
	pid_t found = 0;
	while (d && (e = readdir(d)) && !found) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0) continue;
		char p[64], cmd[8192];
		snprintf(p, sizeof p, "/proc/%ld/cmdline", pid);
		FILE *f = fopen(p, "rb");
		if (!f) continue;
		size_t n = fread(cmd, 1, sizeof cmd - 1, f);
		fclose(f);
		cmd[n] = 0;
		if (strcmp(cmd, "ffmpeg")) continue;   /* argv[0] */
		for (size_t i = 0; i < n; i++) if (!cmd[i]) cmd[i] = ' ';
		if (strstr(cmd, want)) found = (pid_t)pid;
	}
	if (d) closedir(d);
	return found;
}

Test(video_retry, killed_ffmpeg_leaves_nothing_published_and_the_retry_completes, .timeout = 240)
{
	char *h = vh_admin();
	/* long enough to be caught running, small enough to stay quick */
	char *f = vh_clip("long.mp4", "640x360", "40", 1, NULL);
	char *id = vh_upload_ok(h, f, "Killed");
	pid_t pid = 0;
	time_t start = time(NULL);
	while (!(pid = find_ffmpeg(id))) {
		cr_assert_lt(time(NULL) - start, 60, "ffmpeg for %s never started", id);
		usleep(5000);
	}
	cr_assert_eq(kill(pid, SIGKILL), 0);
	/* the failed attempt is recorded with ffmpeg's reason and nothing is published */
	const char *p[1] = {id};
	char *tail = NULL;
	start = time(NULL);
	while (!(tail = t_db_value("SELECT error_tail FROM videos WHERE public_id = $1 AND error_tail IS NOT NULL", 1, p))) {
		cr_assert_lt(time(NULL) - start, 60, "the failure was not recorded");
		usleep(20000);
	}
	cr_assert(strstr(tail, "signal 9"), "the reason is kept: %s", tail);
	char *dir = vh_data_path("hls/%s", id);
	struct stat st;
	char *ready = t_db_value("SELECT status FROM videos WHERE public_id = $1", 1, p);
	if (strcmp(ready, "ready")) cr_assert_neq(stat(dir, &st), 0, "no half-published ladder after the kill");
	json_object *v = vh_wait(h, id, 180);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "retry failed: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	char *attempts = t_db_value("SELECT j.attempts FROM jobs j JOIN videos v ON v.job_id = j.id WHERE v.public_id = $1", 1, p);
	cr_assert_geq(atoi(attempts), 2, "ran again");
	cr_assert_eq(stat(dir, &st), 0, "published after the retry");
	/* no temp directories are left behind */
	char *root = vh_data_path("hls%s", ""), want[64];
	snprintf(want, sizeof want, ".tmp-%s-", id);
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) cr_assert_null(strstr(e->d_name, want), "left behind: %s", e->d_name);
	if (d) closedir(d);
	free(root); free(attempts); free(ready); free(dir); free(tail); free(id); free(f); free(h);
}

static pid_t parent_of(pid_t pid)
{
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f) return 0;
	pid_t pp = 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "PPid:", 5)) pp = (pid_t)atoi(line + 5);
	fclose(f);
	return pp;
}

Test(video_retry, killed_job_process_takes_its_ffmpeg_along_and_the_job_runs_again, .timeout = 240)
{
	char *h = vh_admin();
	char *f = vh_clip("long2.mp4", "640x360", "40", 1, NULL);
	char *id = vh_upload_ok(h, f, "Job killed");
	pid_t ff = 0;
	time_t start = time(NULL);
	while (!(ff = find_ffmpeg(id))) {
		cr_assert_lt(time(NULL) - start, 60, "ffmpeg for %s never started", id);
		usleep(5000);
	}
	pid_t job = parent_of(ff);
	cr_assert_gt(job, 1, "the job process that runs ffmpeg");
	cr_assert_eq(kill(job, SIGKILL), 0);
	/* ffmpeg must not outlive its job process (PR_SET_PDEATHSIG) */
	start = time(NULL);
	while (kill(ff, 0) == 0) {
		char st[64], buf[256] = "";
		snprintf(st, sizeof st, "/proc/%d/stat", (int)ff);
		FILE *s = fopen(st, "r");
		if (s) { if (!fgets(buf, sizeof buf, s)) buf[0] = 0; fclose(s); }
		if (strstr(buf, ") Z ")) break;   /* a zombie waiting for its reaper is gone for our purpose */
		cr_assert_lt(time(NULL) - start, 10, "ffmpeg %d still runs after its job process was killed", (int)ff);
		usleep(20000);
	}
	char *dir = vh_data_path("hls/%s", id);
	struct stat sst;
	const char *p[1] = {id};
	char *status = t_db_value("SELECT status FROM videos WHERE public_id = $1", 1, p);
	if (strcmp(status, "ready")) cr_assert_neq(stat(dir, &sst), 0, "nothing published by the killed attempt");
	json_object *v = vh_wait(h, id, 180);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "retry failed: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	char *attempts = t_db_value("SELECT j.attempts FROM jobs j JOIN videos v ON v.job_id = j.id WHERE v.public_id = $1", 1, p);
	cr_assert_geq(atoi(attempts), 2, "ran again");
	cr_assert_eq(stat(dir, &sst), 0);
	free(attempts); free(status); free(dir); free(id); free(f); free(h);
}
