/* Numbered pages and sortable headers for the admin lists (users, roster people). The handler validates page,
 * sort and dir; this only builds links and labels for the template. */
#include <string.h>
#include "ui.h"

static void add_number(req *r, json_object *a, const char *base, long n, long page)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_int64(n));
	json_object_object_add(o, "url", json_object_new_string(arena_printf(r->a, "%s&page=%ld", base, n)));
	json_object_object_add(o, "current", json_object_new_boolean(n == page));
	json_object_array_add(a, o);
}

json_object *ui_pager(req *r, const char *base, long page, long per_page, long total)
{
	long pages = total ? (total + per_page - 1) / per_page : 1;
	json_object *p = json_object_new_object();
	json_object_object_add(p, "total", json_object_new_int64(total));
	json_object_object_add(p, "page", json_object_new_int64(page));
	json_object_object_add(p, "pages", json_object_new_int64(pages));
	if (page > 1) json_object_object_add(p, "prev", json_object_new_string(arena_printf(r->a, "%s&page=%ld", base, page - 1)));
	if (page < pages) json_object_object_add(p, "next", json_object_new_string(arena_printf(r->a, "%s&page=%ld", base, page + 1)));
	json_object *nums = json_object_new_array();
	long last = 0;
	for (long n = 1; n <= pages; n++) {
		if (n != 1 && n != pages && (n < page - 2 || n > page + 2)) continue;
		if (last && n > last + 1) {
			json_object *gap = json_object_new_object();
			json_object_object_add(gap, "gap", json_object_new_boolean(1));
			json_object_array_add(nums, gap);
		}
		add_number(r, nums, base, n, page);
		last = n;
	}
	json_object_object_add(p, "numbers", nums);
	json_object_object_add(p, "several", json_object_new_boolean(pages > 1));
	return p;
}

void ui_sort_links(req *r, json_object *ctx, const char *base, const char *const *cols, const char *sort, int desc)
{
	for (int i = 0; cols[i]; i++) {
		int cur = sort && !strcmp(sort, cols[i]);
		json_object_object_add(ctx, arena_printf(r->a, "%s_url", cols[i]), json_object_new_string(
			arena_printf(r->a, "%s&sort=%s&dir=%s", base, cols[i], cur && !desc ? "desc" : "asc")));
		json_object_object_add(ctx, arena_printf(r->a, "%s_sort", cols[i]),
				       json_object_new_string(cur ? (desc ? "descending" : "ascending") : "none"));
	}
}
