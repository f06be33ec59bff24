/* Charts for server-rendered pages: geometry computed here, drawn as SVG by templates/partials/bars.html and
 * templates/stats/line.html, heat.html (no JavaScript, no inline style, so the CSP stays strict). */
#ifndef RS_CHART_H
#define RS_CHART_H
#include <stddef.h>
#include <json-c/json.h>

/* Returns {"width","height","bars":[{x,y,w,h,label,value,lx,ly,rot,show_label}],"max"}; labels are copied.
 * Labels wider than their slot are rotated (rot) and thinned (show_label) so they never overlap. */
json_object *chart_bars(const char *const *labels, const long *values, int n, int width, int height);

struct chart_axes {
	int width, height;
	double ymax;              /* fixed top of the y axis (100 for percentages), 0 = from the data */
	int area;                 /* fill under the line */
	const char *title, *x_title, *y_title;
};
/* Line (or area) over n points: {"line","area" (SVG path data), "points":[{x,y,label,value}],
 * "xticks":[{x,y,label}] (thinned to fit), "yticks":[{x,y,label}], axis titles and positions}. */
json_object *chart_line(const struct chart_axes *ax, const char *const *labels, const double *values, int n);
/* Heat map of nr rows × nc columns, values[r * nc + c] in 0..100 or -1 for none; done (may be NULL: 100 means
 * done) marks completed cells, drawn in their own band 10:
 * {"width","height","cells":[{x,y,w,h,band,value,row,col}],"rows":[{x,y,label}],"cols":[{x,y,label,transform}]}. */
json_object *chart_heat(const char *const *rows, int nr, const char *const *cols, int nc, const int *values,
			const int *done, const char *title);
/* Estimated width in pixels of UTF-8 text at font_px (wide characters a full em). */
int chart_text_width(const char *s, int font_px);
/* Copy at most max_chars characters of UTF-8 s, adding … when cut. */
void chart_clip(const char *s, int max_chars, char *out, size_t outlen);
#endif
