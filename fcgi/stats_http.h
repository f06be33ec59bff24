/* The stats pages' shared request helpers (h_stats.c), for the per-student page (h_stats_student.c). */
#ifndef RS_STATS_HTTP_H
#define RS_STATS_HTTP_H
#include "http.h"
#include "stats.h"
const char *stats_today(req *r);   /* YYYY-MM-DD in the deployment's zone, NULL on a database error */
/* from/to of the query as a range (30 days by default); 0 ok, -1 with a 400 sent */
int stats_read_range(req *r, const char *today, struct stats_range *rg);
void stats_add_range(req *r, json_object *ctx, const struct stats_range *rg);
/* templates/stats/<name>.html with the stats stylesheet; ctx borrowed */
void stats_render(req *r, const char *name, json_object *ctx, const char *title_key);
void stats_fail(req *r, int status, const char *code);   /* message stats_err_<code> */
/* the query's rows streamed as CSV (UTF-8 with BOM) under head; 0, or -1 with an error sent */
int stats_csv(req *r, const char *filename, const char *const *head, int ncols, const char *sql, int np, const char *const *params);
#endif
