/* The HLS ladder: which renditions a source gets, and the single ffmpeg command that makes all of them.
 * Pure functions (no I/O): the transcode job runs what video_ladder_argv builds. */
#ifndef RS_VIDEO_LADDER_H
#define RS_VIDEO_LADDER_H
#include "arena.h"

#define VIDEO_MAX_RUNGS 4
#define VIDEO_MAX_AUDIO_OUT 8
/* a poster frame needs this average luma (0-255, limited-range black is 16): never a black frame or a fade-in */
#define VIDEO_POSTER_MIN_LUMA 40

/* What ffprobe told us about the source (coded size; rotation in degrees; sample aspect ratio). */
struct video_src {
	int width, height;
	int rotation;            /* 0, 90, 180, 270 (any value is normalised) */
	int sar_num, sar_den;    /* 0/0 or 1/1 = square pixels */
	double fps;              /* average frame rate, 0 if unknown */
	double duration;         /* seconds */
	int has_audio;
	int vstream;             /* absolute index of the video stream to publish ("0:N"); the first when 0 */
	double vpad;             /* seconds of picture to add (last frame held) where the sound runs longer */
	double max_fps;          /* frame rate cap (video.max_fps); 0 = none. 60 -> 30, 50 -> 25 */
	/* audio streams by absolute index, the default first; naudio 0 with has_audio = the first audio stream.
	 * Two or more become alternate audio renditions (one group, LANGUAGE from alang) in the master playlist. */
	int naudio;
	int aindex[VIDEO_MAX_AUDIO_OUT];
	char alang[VIDEO_MAX_AUDIO_OUT][8];
};

struct video_rung {
	char name[16];           /* "720p" */
	int width, height;       /* even, display orientation */
	int video_kbps, maxrate_kbps, bufsize_kbps;
};

struct video_ladder_opts {
	const char *input;       /* source file */
	const char *outdir;      /* directory to write into (exists) */
	int seg_seconds;         /* HLS segment length, multiple of the 2 s keyframe interval is best */
	const char *preset;      /* libx264 preset */
	int progress_fd;         /* -progress pipe:N; 0 = none */
	int threads;             /* 0 = ffmpeg's choice */
	int no_images;           /* 1: ladder only, no poster/storyboard outputs (bench's per-rung runs) */
};

/* Storyboard geometry: one sprite of cols x rows thumbnails, one every interval seconds. */
struct video_storyboard {
	double interval;
	int count, cols, rows;
	int thumb_w, thumb_h;
};

#define VIDEO_AUDIO_KBPS 128
#define VIDEO_KEYFRAME_SECONDS 2

/* Display size after rotation and SAR, both even. -1 if the source size is unusable. */
int video_display_size(const struct video_src *s, int *w, int *h);
/* Rungs 1080/720/480/360 by the short side, never upscaled; a source below 360 gets one rung at its own size.
 * Returns the number of rungs (1..VIDEO_MAX_RUNGS), or -1 if the source size is unusable. */
int video_ladder_rungs(const struct video_src *s, struct video_rung out[VIDEO_MAX_RUNGS]);
void video_storyboard_plan(const struct video_src *s, struct video_storyboard *sb);
/* The ffmpeg argv (NULL-terminated, in the arena) for one pass: decode once, split, scale per rung,
 * libx264 + AAC stereo, keyframes every 2 s, fMP4 HLS with master.m3u8, poster.jpg, storyboard.jpg. */
char **video_ladder_argv(arena *a, const struct video_src *s, const struct video_rung *rungs, int nrungs,
			 const struct video_storyboard *sb, const struct video_ladder_opts *o);
/* WebVTT for the storyboard sprite (cue -> "storyboard.jpg#xywh=x,y,w,h"). */
void video_storyboard_vtt(const struct video_storyboard *sb, double duration, const char *sprite, buf *out);
/* Check a master playlist has BANDWIDTH, RESOLUTION and CODECS on every variant; add CODECS where missing
 * (avc1.640028,mp4a.40.2 style fallbacks). Returns a new text (arena) or NULL if it has no variants. */
char *video_master_fix(arena *a, const char *master, int has_audio);
/* Bandwidth (bits/s) announced for a rung (what we ask ffmpeg for; the published number is in master.m3u8). */
long video_rung_bandwidth(const struct video_rung *r, int has_audio);
/* The frame rate the ladder is encoded at: the source's, divided by the smallest whole number that brings it
 * under max_fps (60 -> 30, 50 -> 25); 30 when the source does not say. */
double video_out_fps(const struct video_src *s);
/* The rung the poster is taken at: the largest that fits in 1280x1280. */
int video_poster_rung(const struct video_rung *rungs, int n);
/* BANDWIDTH of the variant whose URI is "<name>/index.m3u8" in a master playlist; -1 if absent. */
long video_master_bandwidth(const char *master, const char *name);
/* Sum of #EXTINF in a media playlist (the published duration), -1 without #EXT-X-ENDLIST or segments. */
double video_playlist_duration(const char *playlist);
/* Fallback poster when no frame of the main pass was bright enough: ffmpeg's thumbnail filter (the frame most
 * like its neighbours) over the first frames, scaled to w x h. NULL-terminated argv in the arena. */
char **video_poster_argv(arena *a, const struct video_src *s, const char *input, const char *out, int w, int h);
#endif
