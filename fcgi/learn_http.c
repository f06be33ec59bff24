/* Helpers shared by the learn handlers: ids and roles as SQL text, JSON member access, errors from the learn
 * catalog, page rendering with the learn assets, and who may see a course. */
#include <stdarg.h>
#include <string.h>
#include "learn.h"
#include "video_access.h"

const char *learn_uid(req *r) { return arena_printf(r->a, "%ld", r->user ? r->user->id : 0L); }
const char *learn_role(req *r) { return r->user ? r->user->role : "guest"; }

json_object *learn_field(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

const char *learn_str(json_object *o, const char *k)
{
	json_object *v = learn_field(o, k);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void learn_fail(req *r, int status, const char *code)
{
	res_error(r, status, code, tr(r, arena_printf(r->a, "learn_err_%s", code)), NULL);
}

void learn_page(req *r, int status, const char *name, json_object *ctx, const char *title_key, ...)
{
	json_object *styles = json_object_new_array(), *scripts = json_object_new_array();
	json_object_array_add(styles, json_object_new_string("/static/css/learn.css"));
	va_list ap;
	va_start(ap, title_key);
	for (const char *s; (s = va_arg(ap, const char *));) json_object_array_add(scripts, json_object_new_string(s));
	va_end(ap);
	json_object_object_add(ctx, "styles", styles);
	json_object_object_add(ctx, "scripts", scripts);
	if (title_key && !json_object_object_get_ex(ctx, "title", NULL))
		json_object_object_add(ctx, "title", json_object_new_string(tr(r, title_key)));
	res_html(r, status, arena_printf(r->a, "learn/%s", name), ctx);
}

void learn_course_access_sql(buf *out, int uid_param, int role_param)
{
	/* video_access_sql_rule reads alias v: courses have the same visibility columns */
	buf_puts(out, "(");
	video_access_sql_rule(out, uid_param, role_param);
	buf_printf(out, " OR ($%d <> 'guest' AND EXISTS (SELECT 1 FROM assignments a "
		   "JOIN assignment_classes ac ON ac.assignment_id = a.id "
		   "JOIN roster_classes rc ON rc.sourced_id = ac.class_sourced_id AND rc.status = 'active' "
		   "JOIN roster_enrollments e ON e.class_sourced_id = ac.class_sourced_id AND e.status = 'active' "
		   "JOIN users cu ON cu.sourced_id = e.user_sourced_id WHERE cu.id = $%d::bigint AND a.course_id = v.id)))",
		   role_param, uid_param);
}
