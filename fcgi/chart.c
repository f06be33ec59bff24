/* Bar chart geometry: bars scaled to the largest value, a label row underneath. */
#include "chart.h"

json_object *chart_bars(const char *const *labels, const long *values, int n, int width, int height)
{
	const int label_h = 18, top = 14, gap = 6;
	long max = 1;
	for (int i = 0; i < n; i++) if (values[i] > max) max = values[i];
	int slot = n > 0 ? width / n : width;
	int w = slot - gap > 4 ? slot - gap : 4;
	if (w > 56) w = 56;   /* few bars: keep them bar-shaped, centred in their slot */
	int plot = height - label_h - top;
	json_object *bars = json_object_new_array();
	for (int i = 0; i < n; i++) {
		int h = (int)((double)values[i] / (double)max * plot);
		if (values[i] > 0 && h < 2) h = 2;   /* a non-zero value stays visible */
		json_object *b = json_object_new_object();
		json_object_object_add(b, "x", json_object_new_int(i * slot + (slot - w) / 2));
		json_object_object_add(b, "y", json_object_new_int(top + plot - h));
		json_object_object_add(b, "w", json_object_new_int(w));
		json_object_object_add(b, "h", json_object_new_int(h));
		json_object_object_add(b, "lx", json_object_new_int(i * slot + slot / 2));
		json_object_object_add(b, "ly", json_object_new_int(height - 4));
		json_object_object_add(b, "vy", json_object_new_int(top + plot - h - 3));
		json_object_object_add(b, "label", json_object_new_string(labels[i] ? labels[i] : ""));
		json_object_object_add(b, "value", json_object_new_int64(values[i]));
		json_object_array_add(bars, b);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "width", json_object_new_int(width));
	json_object_object_add(o, "height", json_object_new_int(height));
	json_object_object_add(o, "max", json_object_new_int64(max));
	json_object_object_add(o, "bars", bars);
	return o;
}
