/* ffprobe: run it without a shell, parse its JSON with json-c, and decide whether the file is a video we take.
 * Cover art in an audio file is a "video" stream with disposition.attached_pic: that is not a video. */
#include "video_probe.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

static int jint(json_object *o, const char *k, int def)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, k, &v)) return def;
	return json_object_get_int(v);
}

static double jnum(json_object *o, const char *k)
{
	const char *s = jstr(o, k);
	if (!s) {
		json_object *v;
		if (o && json_object_object_get_ex(o, k, &v) &&
		    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
			return json_object_get_double(v);
		return NAN;
	}
	char *end;
	double d = strtod(s, &end);
	return end == s ? NAN : d;
}

static double ratio(const char *s)
{
	int a, b;
	if (!s || sscanf(s, "%d/%d", &a, &b) != 2 || a <= 0 || b <= 0) return 0;
	return (double)a / b;
}

/* rotation from the display matrix side data (ffmpeg >= 5) or the legacy "rotate" tag */
static int stream_rotation(json_object *st)
{
	json_object *sd, *tags;
	if (json_object_object_get_ex(st, "side_data_list", &sd) && json_object_is_type(sd, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(sd); i++) {
			json_object *e = json_object_array_get_idx(sd, i), *rot;
			if (json_object_object_get_ex(e, "rotation", &rot)) return -json_object_get_int(rot);
		}
	}
	if (json_object_object_get_ex(st, "tags", &tags)) {
		const char *r = jstr(tags, "rotate");
		if (r) return atoi(r);
	}
	return 0;
}

static json_object *video_disp(json_object *st)
{
	json_object *d = NULL;
	json_object_object_get_ex(st, "disposition", &d);
	return d;
}

/* "00:00:10.000000000" (Matroska's per-stream DURATION tag) */
static double hms(const char *s)
{
	int h, m;
	double sec;
	if (!s || sscanf(s, "%d:%d:%lf", &h, &m, &sec) != 3 || h < 0 || m < 0 || sec < 0) return -1;
	return h * 3600.0 + m * 60.0 + sec;
}

static void stream_timing(json_object *st, int index, struct video_probe_stream *o)
{
	o->index = index;
	double start = jnum(st, "start_time"), d = jnum(st, "duration");
	o->start = isnan(start) ? 0 : start;
	if (isnan(d) || d <= 0) {
		json_object *tags;
		d = json_object_object_get_ex(st, "tags", &tags) ? hms(jstr(tags, "DURATION")) : -1;
	}
	o->duration = d > 0 ? d : -1;
}

/* ISO 639-2 (what containers store) to the BCP 47 tag HLS wants; other codes of 2-3 letters pass through */
static void lang_tag(const char *in, char *out, size_t n)
{
	static const char *map[][2] = {
		{"jpn", "ja"}, {"eng", "en"}, {"zho", "zh"}, {"chi", "zh"}, {"kor", "ko"}, {"spa", "es"}, {"fra", "fr"},
		{"fre", "fr"}, {"deu", "de"}, {"ger", "de"}, {"por", "pt"}, {"ita", "it"}, {"rus", "ru"}, {"vie", "vi"},
		{"tha", "th"}, {"ind", "id"}, {"ara", "ar"}, {"hin", "hi"}, {"tgl", "tl"}, {"fil", "fil"}, {"nep", "ne"},
	};
	out[0] = 0;
	if (!in) return;
	size_t l = strlen(in);
	if (l < 2 || l > 3 || !strcmp(in, "und")) return;
	for (size_t i = 0; i < l; i++) if (in[i] < 'a' || in[i] > 'z') return;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(in, map[i][0])) { snprintf(out, n, "%s", map[i][1]); return; }
	snprintf(out, n, "%s", in);
}

void video_probe_parse(const char *json, double max_duration, struct video_probe *p)
{
	memset(p, 0, sizeof *p);
	p->reason = "video_reject_unreadable";
	json_object *root = json ? json_tokener_parse(json) : NULL, *streams, *format;
	if (!root || !json_object_is_type(root, json_type_object)) goto out;
	if (!json_object_object_get_ex(root, "format", &format) ||
	    !json_object_object_get_ex(root, "streams", &streams) || !json_object_is_type(streams, json_type_array))
		goto out;
	const char *fname = jstr(format, "format_name");
	snprintf(p->format, sizeof p->format, "%s", fname ? fname : "");
	json_object *video = NULL;
	int cover = 0, audio = 0, adef = 0, decodable = 0, nstreams = (int)json_object_array_length(streams);
	for (int i = 0; i < nstreams; i++) {
		json_object *st = json_object_array_get_idx(streams, (size_t)i), *disp = NULL;
		const char *type = jstr(st, "codec_type");
		if (jstr(st, "codec_name")) decodable++;
		if (!type) continue;
		json_object_object_get_ex(st, "disposition", &disp);
		int def = jint(disp, "default", 0);
		if (!strcmp(type, "audio")) {
			if (!audio) snprintf(p->acodec, sizeof p->acodec, "%s", jstr(st, "codec_name") ? jstr(st, "codec_name") : "");
			audio = 1;
			if (p->naudio == VIDEO_MAX_AUDIO) continue;
			struct video_probe_stream *a = &p->audio[p->naudio++];
			stream_timing(st, i, a);
			const char *lang = NULL;
			json_object *tags;
			if (json_object_object_get_ex(st, "tags", &tags)) lang = jstr(tags, "language");
			lang_tag(lang, a->lang, sizeof a->lang);
			/* the default track leads: it is the one every rung (or the default rendition) plays */
			if (def && !adef) {
				struct video_probe_stream t = *a;
				memmove(&p->audio[1], &p->audio[0], sizeof p->audio[0] * (size_t)(p->naudio - 1));
				p->audio[0] = t;
				adef = 1;
			}
		} else if (!strcmp(type, "video")) {
			if (jint(disp, "attached_pic", 0)) { cover = 1; continue; }
			/* a screen plus a camera: the stream marked default is the lesson; otherwise the first */
			if (!video || (def && !jint(video_disp(video), "default", 0))) { video = st; stream_timing(st, i, &p->video); }
		}
	}
	p->has_audio = audio;
	if (nstreams == 0 || decodable == 0) {
		/* nothing with a codec at all (an mp4 cut inside its header): unreadable/incomplete, not "no picture" */
		p->reason = "video_reject_unreadable";
		goto out;
	}
	if (!video) {
		p->reason = cover ? "video_reject_cover_art" : audio ? "video_reject_audio_only" : "video_reject_no_video";
		goto out;
	}
	/* playlists and lists of other files (an HLS .m3u8, an ffconcat list, a DASH manifest, an SDP description)
	 * make ffmpeg read files on this server or open sockets: never a video we take */
	if (fname && (!strcmp(fname, "hls") || !strcmp(fname, "concat") || !strcmp(fname, "dash") || !strcmp(fname, "sdp"))) {
		p->reason = "video_reject_unreadable";
		goto out;
	}
	/* a single picture (png, jpeg, …) read by an image demuxer is not a video either */
	if (fname && (strstr(fname, "_pipe") || !strcmp(fname, "image2") || !strcmp(fname, "tty"))) {
		p->reason = "video_reject_no_video";
		goto out;
	}
	snprintf(p->vcodec, sizeof p->vcodec, "%s", jstr(video, "codec_name") ? jstr(video, "codec_name") : "");
	p->width = jint(video, "width", 0);
	p->height = jint(video, "height", 0);
	p->rotation = stream_rotation(video);
	const char *sar = jstr(video, "sample_aspect_ratio");
	if (sar && sscanf(sar, "%d:%d", &p->sar_num, &p->sar_den) != 2) p->sar_num = p->sar_den = 0;
	p->fps = ratio(jstr(video, "avg_frame_rate"));
	if (p->fps <= 0 || p->fps > 240) p->fps = ratio(jstr(video, "r_frame_rate"));
	if (p->fps > 240) p->fps = 0;
	double fs = jnum(format, "start_time");
	p->start = isnan(fs) ? 0 : fs;
	double d = jnum(format, "duration");
	if (isnan(d) || d <= 0) d = jnum(video, "duration");
	double br = jnum(format, "bit_rate");
	p->bit_rate = isnan(br) ? 0 : (long)br;
	if (p->width <= 0 || p->height <= 0 || p->width > 16384 || p->height > 16384 || isnan(d) || d < 0.1) goto out;
	p->duration = d;
	if (max_duration > 0 && d > max_duration) { p->reason = "video_reject_too_long"; goto out; }
	p->reason = NULL;
out:
	json_object_put(root);
}

json_object *video_probe_json(const struct video_probe *p)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(p->format));
	json_object_object_add(o, "video_codec", json_object_new_string(p->vcodec));
	json_object_object_add(o, "audio_codec", json_object_new_string(p->acodec));
	json_object_object_add(o, "width", json_object_new_int(p->width));
	json_object_object_add(o, "height", json_object_new_int(p->height));
	json_object_object_add(o, "rotation", json_object_new_int(p->rotation));
	json_object_object_add(o, "sar_num", json_object_new_int(p->sar_num));
	json_object_object_add(o, "sar_den", json_object_new_int(p->sar_den));
	json_object_object_add(o, "fps", json_object_new_double(p->fps));
	json_object_object_add(o, "duration", json_object_new_double(p->duration));
	json_object_object_add(o, "has_audio", json_object_new_boolean(p->has_audio));
	json_object_object_add(o, "bit_rate", json_object_new_int64(p->bit_rate));
	return o;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int video_run_capture(char *const argv[], buf *out, buf *err, size_t max, int timeout_s)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc = -1;
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) goto out;
	pid_t pid = fork();
	if (pid < 0) goto out;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigset_t none;   /* a FastCGI worker blocks SIGTERM while it serves; the tool must not inherit that */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0) dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]); po[1] = -1;
	close(pe[1]); pe[1] = -1;
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	buf *dst[2] = {out, err};
	double deadline = mono_now() + timeout_s;
	int open_fds = 2, killed = 0;
	while (open_fds > 0) {
		int left = (int)((deadline - mono_now()) * 1000);
		if (left <= 0) { kill(pid, SIGKILL); killed = 1; break; }
		int n = poll(fds, 2, left);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
			char chunk[8192];
			ssize_t k = read(fds[i].fd, chunk, sizeof chunk);
			if (k <= 0) { fds[i].fd = -1; open_fds--; continue; }
			if (dst[i] && dst[i]->len < max)
				buf_append(dst[i], chunk, (size_t)k < max - dst[i]->len ? (size_t)k : max - dst[i]->len);
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	if (!killed && WIFEXITED(status)) rc = WEXITSTATUS(status);
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0) close(po[i]);
		if (pe[i] >= 0) close(pe[i]);
	}
	return rc;
}

/* A file cut short can still have a complete index (moov first): read the packets of one stream's last seconds
 * and require that they exist, reach near that stream's own end, and that the demuxer did not hit the end of the
 * file early. Each stream is judged against its own duration: narration longer than the picture is not a cut. */
static int stream_truncated(const char *path, int index, double start, double span)
{
	char sel[16], from[48];
	snprintf(sel, sizeof sel, "%d", index);
	snprintf(from, sizeof from, "%.3f%%", start + span > 5 ? start + span - 5 : 0);
	char *argv[] = {"ffprobe", "-v", "error", "-select_streams", sel, "-read_intervals", from,
			"-show_entries", "packet=pts_time", "-of", "csv=p=0", (char *)path, NULL};
	buf out = {0}, err = {0};
	int rc = video_run_capture(argv, &out, &err, 1 << 20, 60), truncated = 0;
	if (rc != 0) truncated = 1;
	else if (err.p && (strstr(err.p, "partial file") || strstr(err.p, "Truncat") || strstr(err.p, "truncat")))
		truncated = 1;
	else {
		double last = -1;
		for (char *line = out.p; line && *line;) {
			char *nl = strchr(line, '\n');
			double v;
			if (sscanf(line, "%lf", &v) == 1 && v > last) last = v;
			line = nl ? nl + 1 : NULL;
		}
		double need = start + (span - 3 > span * 0.8 ? span - 3 : span * 0.8);
		if (last < 0 || last < need) truncated = 1;
	}
	buf_free(&out);
	buf_free(&err);
	return truncated;
}

static int looks_truncated(const char *path, const struct video_probe *p)
{
	int judged = 0;
	if (p->video.duration > 0) {
		if (stream_truncated(path, p->video.index, p->video.start, p->video.duration)) return 1;
		judged = 1;
	}
	for (int i = 0; i < p->naudio && i < 3; i++)
		if (p->audio[i].duration > 0) {
			if (stream_truncated(path, p->audio[i].index, p->audio[i].start, p->audio[i].duration)) return 1;
			judged = 1;
		}
	/* no stream says how long it is: the picture must reach the container's end */
	return judged ? 0 : stream_truncated(path, p->video.index, p->video.start, p->duration);
}

int video_probe_file(const char *path, double max_duration, struct video_probe *p)
{
	memset(p, 0, sizeof *p);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) { p->reason = "video_reject_unreadable"; return 0; }
	if (st.st_size == 0) { p->reason = "video_reject_empty"; return 0; }
	char *argv[] = {"ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", (char *)path, NULL};
	buf out = {0}, err = {0};
	int rc = video_run_capture(argv, &out, &err, 4 << 20, 60);
	if (rc == 127 || rc == -1) {
		buf_free(&out);
		buf_free(&err);
		if (rc == -1) { p->reason = "video_reject_unreadable"; return 0; }
		return -1;
	}
	if (rc != 0) p->reason = "video_reject_unreadable";
	else video_probe_parse(out.p, max_duration, p);
	buf_free(&out);
	buf_free(&err);
	if (!p->reason && looks_truncated(path, p)) p->reason = "video_reject_truncated";
	return 0;
}
