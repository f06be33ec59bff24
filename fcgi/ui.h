/* View helpers for lists: numbered pages with a total, and sortable column headers. */
#ifndef RS_UI_H
#define RS_UI_H
#include "http.h"

/* {"total","page","pages","prev","next","numbers":[{"n","url","current"} or {"gap":true}]}: the first and last
 * pages, two either side of the current one, gaps between. base ends with the list's query ("…?q=x"); "&page=N"
 * is appended. */
json_object *ui_pager(req *r, const char *base, long page, long per_page, long total);
/* One header link per sortable column: {"<col>_url", "<col>_sort": "ascending"|"descending"|""} added to ctx.
 * Clicking the current column reverses it. base is the list's query without sort/dir/page. */
void ui_sort_links(req *r, json_object *ctx, const char *base, const char *const *cols, const char *sort, int desc);
#endif
