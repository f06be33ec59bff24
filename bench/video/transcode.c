/* Transcode benchmark: the R-Stream pipeline (video_transcode_run: one ffmpeg with -progress, master playlist check,
 * storyboard VTT) beside the same bare one-pass ffmpeg command, and beside one ffmpeg process per rung, in one run.
 * Usage: transcode INPUT WORKDIR PRESET SEGMENT_SECONDS ROUNDS. Prints one line per run and a summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "job_transcode.h"
#include "video_ladder.h"
#include "video_probe.h"
#include "video_store.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double child_cpu(void)
{
	struct rusage u;
	getrusage(RUSAGE_CHILDREN, &u);
	return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int run(char **argv)
{
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) { execvp(argv[0], argv); _exit(127); }
	int st;
	while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void print_argv(FILE *f, char **v)
{
	for (; *v; v++) {
		int plain = strspn(*v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,=%") == strlen(*v);
		fprintf(f, plain ? "%s" : "'%s'", *v);
		fputs(v[1] ? " " : "\n", f);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc != 6) { fprintf(stderr, "usage: %s INPUT WORKDIR PRESET SEGMENT_SECONDS ROUNDS\n", argv[0]); return 2; }
	const char *input = argv[1], *work = argv[2], *preset = argv[3];
	int seg = atoi(argv[4]), rounds = atoi(argv[5]);
	if (rounds < 1 || rounds > 20) rounds = 1;
	struct video_probe p;
	if (video_probe_file(input, 0, &p) < 0 || p.reason) { fprintf(stderr, "input rejected: %s\n", p.reason ? p.reason : "ffprobe"); return 1; }
	struct video_src s;
	video_transcode_src(&p, 30, &s);
	struct video_rung rungs[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, rungs);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	arena *a = arena_new(0);
	char dir[4096];
	double wall[3][20], cpu[3][20];
	const char *names[3] = {"pipeline", "bare", "per-rung"};
	printf("source: %dx%d %.1f s, %d rungs, preset %s, segments %d s\n", p.width, p.height, p.duration, n, preset, seg);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 3; k++) {
			int m = (k + r) % 3;   /* rotate the order so no mode always runs on a cold or warm cache */
			snprintf(dir, sizeof dir, "%s/%s", work, names[m]);
			video_rmtree(dir);
			video_mkdirs(dir);
			double t0 = now(), c0 = child_cpu();
			int ok = 0;
			if (m == 0) {
				struct video_transcode t = {.input = input, .outdir = dir, .probe = &p, .preset = preset, .seg_seconds = seg,
							     .max_fps = 30};
				ok = video_transcode_run(&t) == 0;
				if (!ok) fprintf(stderr, "pipeline failed: %s\n", t.error_tail);
				json_object_put(t.renditions);
			} else if (m == 1) {
				struct video_ladder_opts o = {.input = input, .outdir = dir, .seg_seconds = seg, .preset = preset};
				char **v = video_ladder_argv(a, &s, rungs, n, &sb, &o);
				if (r == 0) { printf("bare command: "); print_argv(stdout, v); }
				ok = run(v) == 0;
			} else {
				ok = 1;
				for (int i = 0; i < n && ok; i++) {
					char sub[4200];
					snprintf(sub, sizeof sub, "%s/%d", dir, i);
					video_mkdirs(sub);
					struct video_ladder_opts o = {.input = input, .outdir = sub, .seg_seconds = seg, .preset = preset,
								      .no_images = i > 0};
					ok = run(video_ladder_argv(a, &s, &rungs[i], 1, &sb, &o)) == 0;
				}
			}
			wall[m][r] = now() - t0;
			cpu[m][r] = child_cpu() - c0;
			printf("round %d %-9s %s wall %.2f s  cpu %.2f s\n", r + 1, names[m], ok ? "ok    " : "FAILED", wall[m][r], cpu[m][r]);
			fflush(stdout);
			if (!ok) return 1;
		}
	}
	double w[3], c[3];
	for (int m = 0; m < 3; m++) { w[m] = median(wall[m], rounds); c[m] = median(cpu[m], rounds); }
	printf("RESULT pipeline_s=%.2f bare_s=%.2f per_rung_s=%.2f pipeline_cpu=%.2f bare_cpu=%.2f per_rung_cpu=%.2f "
	       "pipeline_over_bare=%.3f per_rung_over_pipeline=%.2f per_rung_over_pipeline_cpu=%.2f\n",
	       w[0], w[1], w[2], c[0], c[1], c[2], w[0] / w[1], w[2] / w[0], c[2] / c[0]);
	arena_free(a);
	return 0;
}
