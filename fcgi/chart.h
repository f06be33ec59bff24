/* Bar charts for server-rendered pages: geometry computed here, drawn as SVG by templates/partials/bars.html
 * (no JavaScript, no inline style, so the CSP stays strict). */
#ifndef RS_CHART_H
#define RS_CHART_H
#include <json-c/json.h>

/* Returns {"width","height","bars":[{x,y,w,h,label,value,lx,ly}],"max"}; labels are copied. */
json_object *chart_bars(const char *const *labels, const long *values, int n, int width, int height);
#endif
