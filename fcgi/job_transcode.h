/* The transcode: one ffmpeg process builds the whole ladder into a temp directory, then one rename publishes it.
 * video_transcode_run has no database in it (bench/video uses it); job_transcode is the job kind. */
#ifndef RS_JOB_TRANSCODE_H
#define RS_JOB_TRANSCODE_H
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "jobs.h"
#include "video_ladder.h"
#include "video_probe.h"

typedef void (*video_progress_fn)(void *ctx, double pct);
typedef int (*video_cancel_fn)(void *ctx);

struct video_transcode {
	const char *input;          /* source file */
	const char *outdir;         /* temp directory to write into (created) */
	const struct video_probe *probe;
	const char *preset;         /* libx264 preset */
	int seg_seconds;
	double max_fps;             /* video.max_fps; 0 = no cap */
	video_progress_fn progress; /* may be NULL */
	video_cancel_fn cancelled;  /* may be NULL */
	void *ctx;
	/* results */
	char error_tail[2048];      /* ffmpeg's last lines on failure */
	json_object *renditions;    /* [{"name","width","height","bandwidth"}] on success (caller puts); bandwidth is
	                             * the BANDWIDTH published in master.m3u8 */
	double duration;            /* the published duration (sum of the first rung's segments) */
	pid_t ffmpeg_pid;
	double last_pct;
};

/* The ladder's view of a probed source (streams, padding of a picture shorter than its sound, fps cap). */
void video_transcode_src(const struct video_probe *p, double max_fps, struct video_src *s);
/* Run the ladder into t->outdir, fix the master playlist, write storyboard.vtt, make a poster when no frame was
 * bright enough, then check every announced file (playlists, init and media segments, poster, storyboard) exists
 * and is not empty. 0 ok, -1 failed (t->error_tail says why). */
int video_transcode_run(struct video_transcode *t);
/* Publish tmpdir as finaldir with one rename(2) (an atomic exchange when a previous ladder exists). */
int video_publish_dir(const char *tmpdir, const char *finaldir);
int job_transcode(struct job *j);
#endif
