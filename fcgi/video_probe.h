/* What an uploaded file really is, decided by ffprobe (never by its name): a playable video, or a reason
 * to reject it. Reasons are message keys (conf/i18n/ja.video.json, en.video.json) so the user reads them in ja or en. */
#ifndef RS_VIDEO_PROBE_H
#define RS_VIDEO_PROBE_H
#include <json-c/json.h>
#include "arena.h"

#define VIDEO_MAX_AUDIO 8

/* one stream's own timing, for the truncation check: a 10 s picture with 30 s of narration is not cut short */
struct video_probe_stream {
	int index;                 /* absolute stream index in the file */
	double start, duration;    /* seconds; duration < 0 when the container does not say */
	char lang[8];              /* BCP 47 primary tag ("ja", "en") or "" (audio only) */
};

struct video_probe {
	const char *reason;        /* NULL = accepted; else a message key, e.g. "video_reject_no_video" */
	double duration, start;    /* the container's duration and start time, seconds */
	int width, height, rotation, sar_num, sar_den;
	double fps;
	int has_audio;
	/* the picture we publish: the default-disposition video stream, else the first (cover art never) */
	struct video_probe_stream video;
	/* audio streams, the default one first; has_audio == (naudio > 0) */
	int naudio;
	struct video_probe_stream audio[VIDEO_MAX_AUDIO];
	long bit_rate;
	char format[64], vcodec[32], acodec[32];
};

/* Decide from ffprobe's JSON (-show_format -show_streams). max_duration in seconds (0 = no limit). Pure. */
void video_probe_parse(const char *json, double max_duration, struct video_probe *p);
/* Run ffprobe on path (fork/exec, no shell) and decide, including a check for a truncated file.
 * Returns 0 when ffprobe could be run (p->reason tells the verdict), -1 if it could not run at all. */
int video_probe_file(const char *path, double max_duration, struct video_probe *p);
/* The probe summary as JSON (for videos.probe). */
json_object *video_probe_json(const struct video_probe *p);

/* Run argv (no shell), capture stdout and stderr (each up to max bytes; the rest is drained), kill after
 * timeout_s seconds. Returns the exit status (0..255), or -1 if it could not run / was killed. */
int video_run_capture(char *const argv[], buf *out, buf *err, size_t max, int timeout_s);
#endif
