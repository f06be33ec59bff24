/* Logic-less templates (mustache subset) over json-c values.
 * {{name}} escaped, {{{name}}} or {{& name}} raw, {{%name}} percent-encoded (one URL path segment),
 * {{#sec}}…{{/sec}}, {{^inv}}…{{/inv}}, {{> partial}},
 * {{! comment}}, dotted names (a.b.c), {{.}} for the current item. Compiled once per process. */
#ifndef RS_TEMPLATE_H
#define RS_TEMPLATE_H
#include <json-c/json.h>
#include "arena.h"

typedef struct tmpl tmpl;
tmpl *tmpl_compile(const char *name, const char *src, char *err, int errlen);
void tmpl_free(tmpl *t);
/* Load every templates/<name>.html (recursively; name = relative path without .html). */
int tmpl_load_dir(const char *dir, char *err, int errlen);
const tmpl *tmpl_get(const char *name);
/* Register an already-compiled template under name (tests). Takes ownership. */
void tmpl_register(const char *name, tmpl *t);
int tmpl_render(const tmpl *t, json_object *ctx, buf *out);          /* 0 ok */
int tmpl_render_name(const char *name, json_object *ctx, buf *out);  /* -1 if unknown */
void html_escape(buf *out, const char *s, size_t n);
#endif
