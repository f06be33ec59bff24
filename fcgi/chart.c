/* Chart geometry for server-rendered SVG: bars, line/area with labelled axes, heat map. Computed here (pure,
 * unit-tested), drawn by templates/partials/bars.html and templates/stats/{line,heat}.html. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "chart.h"

static void add_int(json_object *o, const char *k, long v) { json_object_object_add(o, k, json_object_new_int64(v)); }
static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }

int chart_text_width(const char *s, int font_px)
{
	/* wide (CJK, kana) characters take about a full em, Latin about 0.58 em */
	double w = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if ((*p & 0xC0) == 0x80) continue;
		w += *p >= 0xE1 ? font_px : *p >= 0x80 ? 0.7 * font_px : 0.58 * font_px;
	}
	return (int)ceil(w);
}

void chart_clip(const char *s, int max_chars, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	int chars = 0;
	if (!outlen) return;
	s = s ? s : "";
	while (s[i]) {
		size_t len = 1;
		while (s[i + len] && ((unsigned char)s[i + len] & 0xC0) == 0x80) len++;
		if (chars == max_chars) {
			if (o + 3 < outlen) { memcpy(out + o, "\xE2\x80\xA6", 3); o += 3; }   /* … */
			break;
		}
		if (o + len >= outlen) break;
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
		chars++;
	}
	out[o] = 0;
}

json_object *chart_bars(const char *const *labels, const long *values, int n, int width, int height)
{
	const int top = 14, gap = 6, font = 11;
	long max = 1;
	int maxw = 0;
	for (int i = 0; i < n; i++) {
		if (values[i] > max) max = values[i];
		int tw = chart_text_width(labels[i], font);
		if (tw > maxw) maxw = tw;
	}
	int slot = n > 0 ? width / n : width;
	int w = slot - gap > 4 ? slot - gap : 4;
	if (w > 56) w = 56;   /* few bars: keep them bar-shaped, centred in their slot */
	/* labels wider than their slot are turned 40 degrees (and get the room that takes); when even turned
	 * labels would touch (slots narrower than a line), only every k-th is written */
	int rot = maxw > slot - 4;
	int label_h = rot ? (int)(maxw * 0.65) + 10 : 18;
	if (label_h > height / 2) label_h = height / 2;
	int every = rot && slot < font + 3 ? (font + 3 + slot - 1) / slot : 1;
	int plot = height - label_h - top;
	json_object *bars = json_object_new_array();
	for (int i = 0; i < n; i++) {
		int h = (int)((double)values[i] / (double)max * plot);
		if (values[i] > 0 && h < 2) h = 2;   /* a non-zero value stays visible */
		json_object *b = json_object_new_object();
		add_int(b, "x", i * slot + (slot - w) / 2);
		add_int(b, "y", top + plot - h);
		add_int(b, "w", w);
		add_int(b, "h", h);
		add_int(b, "lx", i * slot + slot / 2);
		add_int(b, "ly", rot ? top + plot + 12 : height - 4);
		add_int(b, "vy", top + plot - h - 3);
		add_str(b, "label", labels[i]);
		json_object_object_add(b, "show_label", json_object_new_boolean(i % every == 0));
		json_object_object_add(b, "rot", json_object_new_boolean(rot));
		add_int(b, "value", values[i]);
		json_object_array_add(bars, b);
	}
	json_object *o = json_object_new_object();
	add_int(o, "width", width);
	add_int(o, "height", height);
	add_int(o, "max", max);
	json_object_object_add(o, "bars", bars);
	return o;
}

/* a "nice" tick step (1, 2 or 5 times a power of ten) giving at most 5 steps up to max */
static double nice_step(double max)
{
	if (!(max > 0)) return 1;
	double raw = max / 5, p = pow(10, floor(log10(raw))), m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void fmt_num(char *out, size_t n, double v, double step)
{
	if (step >= 1 || v == 0) snprintf(out, n, "%.0f", v);
	else snprintf(out, n, "%.1f", v);
}

json_object *chart_line(const struct chart_axes *ax, const char *const *labels, const double *values, int n)
{
	const int left = 48, right = 12, top = 12, bottom = 40, font = 12;
	int pw = ax->width - left - right, ph = ax->height - top - bottom;
	double max = ax->ymax > 0 ? ax->ymax : 0;
	if (!(ax->ymax > 0))
		for (int i = 0; i < n; i++) if (values[i] > max) max = values[i];
	/* an axis from the data counts things (views, people): whole-number steps */
	double step = nice_step(max > 0 ? max : 1);
	if (!(ax->ymax > 0) && step < 1) step = 1;
	double top_v = ax->ymax > 0 ? ax->ymax : ceil((max > 0 ? max : 1) / step) * step;
	if (ax->ymax > 0) step = nice_step(top_v);
	json_object *o = json_object_new_object(), *pts = json_object_new_array(), *xt = json_object_new_array(),
		    *yt = json_object_new_array();
	char path[64];
	/* the polyline, and the same closed down to the baseline for the area */
	size_t cap = (size_t)n * 24 + 64;
	char *line = malloc(cap), *area = malloc(cap + 64);
	line[0] = area[0] = 0;
	size_t ll = 0, al = 0;
	int base = top + ph;
	for (int i = 0; i < n; i++) {
		int x = left + (n > 1 ? (int)lround((double)i * pw / (n - 1)) : pw / 2);
		double v = values[i] < 0 ? 0 : values[i] > top_v ? top_v : values[i];
		int y = base - (int)lround(v / top_v * ph);
		ll += (size_t)snprintf(line + ll, cap - ll, "%s%d %d", i ? " L" : "M", x, y);
		if (!i) al += (size_t)snprintf(area + al, cap + 64 - al, "M%d %d L%d %d", x, base, x, y);
		else al += (size_t)snprintf(area + al, cap + 64 - al, " L%d %d", x, y);
		if (i == n - 1) al += (size_t)snprintf(area + al, cap + 64 - al, " L%d %d Z", x, base);
		json_object *p = json_object_new_object();
		add_int(p, "x", x);
		add_int(p, "y", y);
		add_str(p, "label", labels[i]);
		char vs[32];
		fmt_num(vs, sizeof vs, values[i], ax->ymax > 0 && ax->ymax <= 100 ? 0.1 : 1);
		add_str(p, "value", vs);
		json_object_array_add(pts, p);
	}
	/* x labels: as many as fit side by side (every k-th point), the last one always, none touching */
	int maxw = 0;
	for (int i = 0; i < n; i++) { int tw = chart_text_width(labels[i], font); if (tw > maxw) maxw = tw; }
	double px = n > 1 ? (double)pw / (n - 1) : pw;
	int every = (int)ceil((maxw + 10) / px);
	if (every < 1) every = 1;
	const char *prev = NULL;
	for (int i = 0; i < n; i++) {
		int last = i == n - 1;
		if (!last && (i % every || (n - 1 - i) * px < maxw + 10)) continue;
		/* short videos: several buckets share a second; one label is enough */
		if (prev && !strcmp(prev, labels[i] ? labels[i] : "")) continue;
		prev = labels[i] ? labels[i] : "";
		json_object *t = json_object_new_object();
		add_int(t, "x", left + (n > 1 ? (int)lround((double)i * pw / (n - 1)) : pw / 2));
		add_int(t, "y", base + 15);
		add_str(t, "label", labels[i]);
		json_object_array_add(xt, t);
	}
	for (double v = 0; v <= top_v + step / 1000; v += step) {
		json_object *t = json_object_new_object();
		char s[32];
		fmt_num(s, sizeof s, v, step);
		add_int(t, "y", base - (int)lround(v / top_v * ph));
		add_int(t, "x", left - 6);
		add_int(t, "gx1", left);
		add_int(t, "gx2", left + pw);
		add_str(t, "label", s);
		json_object_array_add(yt, t);
	}
	add_int(o, "width", ax->width);
	add_int(o, "height", ax->height);
	add_int(o, "left", left);
	add_int(o, "right", left + pw);
	add_int(o, "top", top);
	add_int(o, "base", base);
	add_str(o, "line", n ? line : "");
	add_str(o, "area", ax->area && n ? area : "");
	json_object_object_add(o, "is_area", json_object_new_boolean(ax->area));
	json_object_object_add(o, "dots", json_object_new_boolean(n <= 62));
	json_object_object_add(o, "points", pts);
	json_object_object_add(o, "xticks", xt);
	json_object_object_add(o, "yticks", yt);
	add_str(o, "title", ax->title);
	add_str(o, "x_title", ax->x_title);
	add_str(o, "y_title", ax->y_title);
	add_int(o, "x_title_x", left + pw / 2);
	add_int(o, "x_title_y", ax->height - 4);
	snprintf(path, sizeof path, "rotate(-90 12 %d)", top + ph / 2);
	add_str(o, "y_title_transform", path);
	add_int(o, "y_title_y", top + ph / 2);
	free(line);
	free(area);
	return o;
}

json_object *chart_heat(const char *const *rows, int nr, const char *const *cols, int nc, const int *values,
			const int *done, const char *title)
{
	const int cell = 24, left = 130, top = 96, font = 11;
	json_object *o = json_object_new_object(), *cells = json_object_new_array(), *rl = json_object_new_array(),
		    *cl = json_object_new_array();
	char clip[128];
	for (int c = 0; c < nc; c++) {
		json_object *t = json_object_new_object();
		int x = left + c * cell + cell / 2, y = top - 6;
		chart_clip(cols[c], 10, clip, sizeof clip);
		add_int(t, "x", x);
		add_int(t, "y", y);
		char tf[64];
		snprintf(tf, sizeof tf, "rotate(-55 %d %d)", x, y);
		add_str(t, "transform", tf);
		add_str(t, "label", clip);
		add_str(t, "full", cols[c]);
		json_object_array_add(cl, t);
	}
	for (int r = 0; r < nr; r++) {
		json_object *t = json_object_new_object();
		chart_clip(rows[r], 9, clip, sizeof clip);
		add_int(t, "x", left - 6);
		add_int(t, "y", top + r * cell + cell / 2 + font / 3);
		add_str(t, "label", clip);
		add_str(t, "full", rows[r]);
		json_object_array_add(rl, t);
		for (int c = 0; c < nc; c++) {
			int v = values[r * nc + c];
			json_object *e = json_object_new_object();
			add_int(e, "x", left + c * cell + 1);
			add_int(e, "y", top + r * cell + 1);
			add_int(e, "w", cell - 2);
			add_int(e, "h", cell - 2);
			/* colour band 0..9 of the percentage, 10 for completed; -1 (nothing watched) gets its own pale band */
			int complete = done ? done[r * nc + c] : v >= 100;
			add_int(e, "band", complete ? 10 : v < 0 ? -1 : v >= 90 ? 9 : v / 10);
			add_int(e, "value", v < 0 ? 0 : v);
			add_str(e, "row", rows[r]);
			add_str(e, "col", cols[c]);
			json_object_array_add(cells, e);
		}
	}
	add_int(o, "width", left + nc * cell + 8);
	add_int(o, "height", top + nr * cell + 8);
	add_str(o, "title", title);
	json_object_object_add(o, "cells", cells);
	json_object_object_add(o, "rows", rl);
	json_object_object_add(o, "cols", cl);
	return o;
}
