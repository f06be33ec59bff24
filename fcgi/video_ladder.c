/* The HLS ladder: rung sizes from the probed source and the one-pass ffmpeg command line.
 * Everything here is pure so the ladder rules are unit-tested without running ffmpeg. */
#include "video_ladder.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { int short_side, kbps; } ladder[VIDEO_MAX_RUNGS] = {
	{1080, 5000}, {720, 2800}, {480, 1400}, {360, 800},
};

static int even(double v)
{
	long n = lround(v / 2.0) * 2;
	return n < 2 ? 2 : (int)n;
}

int video_display_size(const struct video_src *s, int *w, int *h)
{
	if (s->width <= 0 || s->height <= 0 || s->width > 16384 || s->height > 16384) return -1;
	double dw = s->width, dh = s->height;
	if (s->sar_num > 0 && s->sar_den > 0 && s->sar_num != s->sar_den) {
		double sar = (double)s->sar_num / s->sar_den;
		if (sar < 0.1 || sar > 10) return -1;
		dw *= sar;
	}
	int rot = ((s->rotation % 360) + 360) % 360;
	if (rot == 90 || rot == 270) { double t = dw; dw = dh; dh = t; }
	*w = even(dw);
	*h = even(dh);
	return 0;
}

static void rung_set(struct video_rung *r, int short_side, int w, int h, int kbps)
{
	int portrait = h > w;
	int ss = portrait ? w : h, ls = portrait ? h : w;
	int nls = even((double)ls * short_side / ss), nss = even(short_side);
	r->width = portrait ? nss : nls;
	r->height = portrait ? nls : nss;
	snprintf(r->name, sizeof r->name, "%dp", nss);
	r->video_kbps = kbps;
	r->maxrate_kbps = kbps * 107 / 100;
	r->bufsize_kbps = kbps * 3 / 2;
}

int video_ladder_rungs(const struct video_src *s, struct video_rung out[VIDEO_MAX_RUNGS])
{
	int w, h;
	if (video_display_size(s, &w, &h) < 0) return -1;
	int ss = w < h ? w : h, n = 0;
	for (int i = 0; i < VIDEO_MAX_RUNGS; i++)
		if (ladder[i].short_side <= ss) rung_set(&out[n++], ladder[i].short_side, w, h, ladder[i].kbps);
	if (n == 0) {
		/* small source: one rung at its own (even) size, bitrate scaled by pixel count */
		double px = (double)w * h / (640.0 * 360.0);
		int kbps = (int)(800 * px);
		rung_set(&out[n++], ss, w, h, kbps < 150 ? 150 : kbps);
	}
	return n;
}

void video_storyboard_plan(const struct video_src *s, struct video_storyboard *sb)
{
	double d = s->duration > 0 ? s->duration : 1;
	sb->interval = d <= 200 ? 2.0 : ceil(d / 100.0);
	sb->count = (int)ceil(d / sb->interval);
	if (sb->count < 1) sb->count = 1;
	if (sb->count > 100) sb->count = 100;
	sb->cols = sb->count < 10 ? sb->count : 10;
	sb->rows = (sb->count + sb->cols - 1) / sb->cols;
	int w = 160, h = 90;
	if (video_display_size(s, &w, &h) == 0) {
		if (w >= h) { h = even(160.0 * h / w); w = 160; }
		else { w = even(160.0 * w / h); h = 160; }
	}
	sb->thumb_w = w;
	sb->thumb_h = h;
}

long video_rung_bandwidth(const struct video_rung *r, int has_audio)
{
	return (long)r->maxrate_kbps * 1000 + (has_audio ? VIDEO_AUDIO_KBPS * 1000 : 0);
}

double video_out_fps(const struct video_src *s)
{
	double src = s->fps > 0 && s->fps <= 240 ? s->fps : 30, f = src;
	for (int k = 2; s->max_fps > 0 && f > s->max_fps + 0.01; k++) f = src / k;
	return f;
}

int video_poster_rung(const struct video_rung *rungs, int n)
{
	for (int i = 0; i < n; i++)
		if (rungs[i].width <= 1280 && rungs[i].height <= 1280) return i;
	return n - 1;
}

/* NTSC rates as exact rationals (29.97 is 30000/1001, not 2997/100): the fps filter then keeps the source's grid */
static void fps_text(double f, char *out, size_t n)
{
	long k = lround(f * 1.001);
	if (fabs(f - k * 1000.0 / 1001.0) < 1e-3 && fabs(f - (double)k) > 1e-3) snprintf(out, n, "%ld000/1001", k);
	else snprintf(out, n, "%.6g", f);
}

struct argv_b { arena *a; char **v; int n, cap; };

static void push(struct argv_b *b, const char *s)
{
	if (b->n + 2 > b->cap) {
		int cap = b->cap ? b->cap * 2 : 64;
		char **nv = arena_alloc(b->a, sizeof(char *) * (size_t)cap);
		if (b->n) memcpy(nv, b->v, sizeof(char *) * (size_t)b->n);
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = arena_strdup(b->a, s);
	b->v[b->n] = NULL;
}

char **video_ladder_argv(arena *a, const struct video_src *s, const struct video_rung *rungs, int nrungs,
			 const struct video_storyboard *sb, const struct video_ladder_opts *o)
{
	if (nrungs < 1 || nrungs > VIDEO_MAX_RUNGS || !o->input || !o->outdir) return NULL;
	struct argv_b b = {a, NULL, 0, 0};
	buf g = {0};
	char tmp[512];
	int seg = o->seg_seconds > 0 ? o->seg_seconds : 6;
	double fps = video_out_fps(s);
	int gop = (int)lround(fps * VIDEO_KEYFRAME_SECONDS);
	if (gop < 1) gop = 1;
	char fpss[32];
	fps_text(fps, fpss, sizeof fpss);
	int na = s->naudio > 0 ? (s->naudio > VIDEO_MAX_AUDIO_OUT ? VIDEO_MAX_AUDIO_OUT : s->naudio) : s->has_audio ? 1 : 0;
	int groups = na >= 2;   /* several languages: alternate audio renditions instead of sound muxed per rung */

	/* poster: the largest rung that fits in 1280x1280. Ten candidate frames spread from a tenth of the way in
	 * (at most 5 s), the dark ones dropped (a fade-in, a black opening), and ffmpeg's thumbnail filter picks the
	 * one most like the others; when none is bright enough the job falls back to video_poster_argv */
	int pi = video_poster_rung(rungs, nrungs);
	double pt = s->duration > 0 ? s->duration / 10 : 0;
	if (pt > 5) pt = 5;
	double step = s->duration > pt ? (s->duration - pt) / 10 : 0.04;
	if (step < 0.04) step = 0.04;

	int imgs = !o->no_images;
	/* one constant frame rate for everything: a variable-rate source keeps its last, held frame (the encoder's
	 * own rate conversion drops it), and the cap applies; a shorter picture is held to the end of the sound */
	buf_printf(&g, "[0:%d]fps=%s", s->vstream, fpss);
	if (s->vpad > 0.05) buf_printf(&g, ",tpad=stop_mode=clone:stop_duration=%.3f", s->vpad);
	buf_printf(&g, ",split=%d", nrungs + (imgs ? 2 : 0));
	for (int i = 0; i < nrungs; i++) buf_printf(&g, "[s%d]", i);
	if (imgs) buf_puts(&g, "[sp][sb]");
	for (int i = 0; i < nrungs; i++)
		buf_printf(&g, ";[s%d]scale=%d:%d:flags=bicubic,setsar=1,format=yuv420p[v%d]", i, rungs[i].width,
			   rungs[i].height, i);
	if (imgs) buf_printf(&g, ";[sp]select='gte(t\\,%.3f)*(isnan(prev_selected_t)+gte(t-prev_selected_t\\,%.3f))',"
			     "scale=%d:%d,setsar=1,format=yuv420p,signalstats,"
			     "metadata=select:key=lavfi.signalstats.YAVG:value=%d:function=greater,thumbnail=10,"
			     "format=yuvj420p[poster]", pt, step, rungs[pi].width, rungs[pi].height, VIDEO_POSTER_MIN_LUMA);
	/* exactly one frame per storyboard cue, from t=0 (a late first picture fills the start) to the last cue
	 * (the last frame is repeated): the sprite never has an empty tile under a cue */
	if (imgs) buf_printf(&g, ";[sb]fps=1000/%ld:start_time=0:round=down:eof_action=pass,tpad=stop_mode=clone:stop=%d,trim=end_frame=%d,"
			     "scale=%d:%d,setsar=1,tile=%dx%d,format=yuvj420p[story]",
			     lround(sb->interval * 1000), sb->count, sb->count, sb->thumb_w, sb->thumb_h, sb->cols, sb->rows);

	const char *head[] = {"ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", "-nostats"};
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) push(&b, head[i]);
	if (o->progress_fd > 0) {
		push(&b, "-progress");
		snprintf(tmp, sizeof tmp, "pipe:%d", o->progress_fd);
		push(&b, tmp);
	}
	if (o->threads > 0) {
		push(&b, "-threads");
		snprintf(tmp, sizeof tmp, "%d", o->threads);
		push(&b, tmp);
	}
	push(&b, "-i");
	push(&b, o->input);
	push(&b, "-filter_complex");
	push(&b, g.p);
	buf_free(&g);
	char amap[VIDEO_MAX_AUDIO_OUT][16];
	for (int j = 0; j < na; j++) {
		if (s->naudio > 0) snprintf(amap[j], sizeof amap[j], "0:%d", s->aindex[j]);
		else snprintf(amap[j], sizeof amap[j], "0:a:0");
	}
	for (int i = 0; i < nrungs; i++) {
		snprintf(tmp, sizeof tmp, "[v%d]", i);
		push(&b, "-map"); push(&b, tmp);
		if (na == 1) { push(&b, "-map"); push(&b, amap[0]); }
	}
	for (int j = 0; groups && j < na; j++) { push(&b, "-map"); push(&b, amap[j]); }
	push(&b, "-c:v"); push(&b, "libx264");
	push(&b, "-preset"); push(&b, o->preset && *o->preset ? o->preset : "veryfast");
	push(&b, "-profile:v"); push(&b, "high");
	for (int i = 0; i < nrungs; i++) {
		snprintf(tmp, sizeof tmp, "-b:v:%d", i); push(&b, tmp);
		snprintf(tmp, sizeof tmp, "%dk", rungs[i].video_kbps); push(&b, tmp);
		snprintf(tmp, sizeof tmp, "-maxrate:v:%d", i); push(&b, tmp);
		snprintf(tmp, sizeof tmp, "%dk", rungs[i].maxrate_kbps); push(&b, tmp);
		snprintf(tmp, sizeof tmp, "-bufsize:v:%d", i); push(&b, tmp);
		snprintf(tmp, sizeof tmp, "%dk", rungs[i].bufsize_kbps); push(&b, tmp);
	}
	/* aligned keyframes: every rung cuts at the same 2 s marks, so segments line up across the ladder */
	snprintf(tmp, sizeof tmp, "%d", gop);
	push(&b, "-g"); push(&b, tmp);
	push(&b, "-keyint_min"); push(&b, tmp);
	push(&b, "-sc_threshold"); push(&b, "0");
	snprintf(tmp, sizeof tmp, "expr:gte(t,n_forced*%d)", VIDEO_KEYFRAME_SECONDS);
	push(&b, "-force_key_frames"); push(&b, tmp);
	if (na) {
		push(&b, "-c:a"); push(&b, "aac");
		snprintf(tmp, sizeof tmp, "%dk", VIDEO_AUDIO_KBPS);
		push(&b, "-b:a"); push(&b, tmp);
		push(&b, "-ac"); push(&b, "2");
		push(&b, "-ar"); push(&b, "48000");
	}
	push(&b, "-f"); push(&b, "hls");
	snprintf(tmp, sizeof tmp, "%d", seg);
	push(&b, "-hls_time"); push(&b, tmp);
	push(&b, "-hls_playlist_type"); push(&b, "vod");
	push(&b, "-hls_segment_type"); push(&b, "fmp4");
	push(&b, "-hls_flags"); push(&b, "independent_segments");
	push(&b, "-hls_fmp4_init_filename"); push(&b, "init.mp4");
	snprintf(tmp, sizeof tmp, "%s/%%v/seg_%%05d.m4s", o->outdir);
	push(&b, "-hls_segment_filename"); push(&b, tmp);
	push(&b, "-master_pl_name"); push(&b, "master.m3u8");
	buf m = {0};
	for (int j = 0; groups && j < na; j++) {
		/* alang is [a-z]{2,3} or empty (video_probe), so it cannot break the map's syntax */
		buf_printf(&m, "a:%d,agroup:aud,name:audio%d", j, j);
		if (s->alang[j][0]) buf_printf(&m, ",language:%s", s->alang[j]);
		buf_puts(&m, j == 0 ? ",default:yes " : " ");
	}
	for (int i = 0; i < nrungs; i++) {
		if (i) buf_puts(&m, " ");
		if (groups) buf_printf(&m, "v:%d,agroup:aud,name:%s", i, rungs[i].name);
		else if (na) buf_printf(&m, "v:%d,a:%d,name:%s", i, i, rungs[i].name);
		else buf_printf(&m, "v:%d,name:%s", i, rungs[i].name);
	}
	push(&b, "-var_stream_map"); push(&b, m.p);
	buf_free(&m);
	snprintf(tmp, sizeof tmp, "%s/%%v/index.m3u8", o->outdir);
	push(&b, tmp);
	if (!imgs) return b.v;
	push(&b, "-map"); push(&b, "[poster]");
	push(&b, "-frames:v"); push(&b, "1");
	push(&b, "-update"); push(&b, "1");
	push(&b, "-q:v"); push(&b, "3");
	snprintf(tmp, sizeof tmp, "%s/poster.jpg", o->outdir);
	push(&b, tmp);
	push(&b, "-map"); push(&b, "[story]");
	push(&b, "-frames:v"); push(&b, "1");
	push(&b, "-update"); push(&b, "1");
	push(&b, "-q:v"); push(&b, "5");
	snprintf(tmp, sizeof tmp, "%s/storyboard.jpg", o->outdir);
	push(&b, tmp);
	return b.v;
}

static void vtt_time(buf *out, double t)
{
	long ms = lround(t * 1000);
	buf_printf(out, "%02ld:%02ld:%02ld.%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

void video_storyboard_vtt(const struct video_storyboard *sb, double duration, const char *sprite, buf *out)
{
	buf_puts(out, "WEBVTT\n");
	for (int i = 0; i < sb->count; i++) {
		double a = i * sb->interval, e = (i + 1) * sb->interval;
		if (duration > 0 && a >= duration) break;
		if (duration > 0 && e > duration) e = duration;
		buf_puts(out, "\n");
		vtt_time(out, a);
		buf_puts(out, " --> ");
		vtt_time(out, e);
		buf_printf(out, "\n%s#xywh=%d,%d,%d,%d\n", sprite, (i % sb->cols) * sb->thumb_w,
			   (i / sb->cols) * sb->thumb_h, sb->thumb_w, sb->thumb_h);
	}
}

char *video_master_fix(arena *a, const char *master, int has_audio)
{
	buf out = {0};
	int variants = 0, bad = 0;
	const char *p = master;
	while (*p) {
		size_t l = strcspn(p, "\n");
		char *line = arena_strndup(a, p, l);
		if (l && line[l - 1] == '\r') line[--l] = 0;
		if (!strncmp(line, "#EXT-X-STREAM-INF:", 18)) {
			variants++;
			if (!strstr(line, "BANDWIDTH=") || !strstr(line, "RESOLUTION=")) bad = 1;
			buf_puts(&out, line);
			if (!strstr(line, "CODECS=")) {
				/* ffmpeg could not tell: announce High profile level 4.0, the ceiling of our ladder */
				buf_puts(&out, has_audio ? ",CODECS=\"avc1.640028,mp4a.40.2\"" : ",CODECS=\"avc1.640028\"");
			}
		} else {
			buf_puts(&out, line);
		}
		buf_puts(&out, "\n");
		p += l;
		if (*p == '\n') p++;
	}
	char *res = (variants && !bad) ? arena_strdup(a, out.p) : NULL;
	buf_free(&out);
	return res;
}

long video_master_bandwidth(const char *master, const char *name)
{
	size_t nl = strlen(name);
	long bw = -1;
	for (const char *p = master; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!strncmp(p, "#EXT-X-STREAM-INF:", 18)) {
			const char *b = strstr(p, "BANDWIDTH=");
			bw = b && b < p + l ? strtol(b + 10, NULL, 10) : -1;
		} else if (l && p[0] != '#') {
			if (bw >= 0 && l >= nl + 11 && !strncmp(p, name, nl) && !strncmp(p + nl, "/index.m3u8", 11)) return bw;
			bw = -1;
		}
		p = e ? e + 1 : NULL;
	}
	return -1;
}

double video_playlist_duration(const char *pl)
{
	double sum = 0;
	int segs = 0, end = 0;
	for (const char *p = pl; p && *p;) {
		double d;
		if (!strncmp(p, "#EXTINF:", 8) && sscanf(p + 8, "%lf", &d) == 1 && d >= 0) { sum += d; segs++; }
		if (!strncmp(p, "#EXT-X-ENDLIST", 14)) end = 1;
		p = strchr(p, '\n');
		if (p) p++;
	}
	return segs && end ? sum : -1;
}

char **video_poster_argv(arena *a, const struct video_src *s, const char *input, const char *out, int w, int h)
{
	struct argv_b b = {a, NULL, 0, 0};
	char g[256];
	snprintf(g, sizeof g, "[0:%d]thumbnail=50,scale=%d:%d,setsar=1,format=yuvj420p[p]", s->vstream, w, h);
	const char *v[] = {"ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", "-i", input, "-filter_complex", g,
			   "-map", "[p]", "-frames:v", "1", "-update", "1", "-q:v", "3", out};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) push(&b, v[i]);
	return b.v;
}
