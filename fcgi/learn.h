/* The learn area (courses, assignments, viewing progress): what its handlers share with the rest of the app. */
#ifndef RS_LEARN_H
#define RS_LEARN_H
#include <json-c/json.h>
#include "http.h"

#define LEARN_STREAM "learn:beats"
#define LEARN_GROUP "learn"
#define LEARN_BODY_MAX 16384   /* a heartbeat with LEARN_MAX_RANGES ranges fits well within this */

/* A signed playback session id for r->user watching video pk (public id pid, duration in seconds), or NULL for
 * guests and videos of unknown length. Issued only after the caller checked that the user may watch. */
const char *learn_playback_session(req *r, const char *pk, const char *pid, double duration);
/* Share of a video's unique seconds that makes it complete (config learn_complete_share, default 0.9). */
double learn_complete_share(void);
/* The deployment's time zone for dates shown to people (config timezone, default Asia/Tokyo). */
const char *learn_tz(void);
/* Worker side: move buffered beats from Redis into PostgreSQL. Returns beats applied, -1 on error.
 * budget_ms bounds one call; the jobs worker calls it every loop. While beats flow, a tick gathers them for
 * learn_flush_gather_ms (default 200) before the next batch, unless the last read filled a whole batch. */
int learn_flush_tick(int budget_ms);
/* How long the worker may sleep before learn_flush_tick wants to run again: 0 (more beats are waiting), the rest
 * of the gathering time while beats flow, else 1000. */
int learn_flush_wait_ms(void);
/* For a home page that includes {{> learn/my_assignments_list}}: adds "my_assignments" to ctx. */
void learn_home_context(req *r, json_object *ctx);
void learn_teacher_home_context(req *r, json_object *ctx);   /* "given_assignments" */
/* Demo data (rstream seed): a course, a class with a teacher and students, an assignment, some viewing. */
int learn_seed_demo(void);

/* small helpers shared by the learn handlers (h_learn_*.c) */
const char *learn_uid(req *r);                       /* r->user's id as text, "0" for guests */
const char *learn_role(req *r);                      /* r->user's role, "guest" for guests */
json_object *learn_field(json_object *o, const char *k);
const char *learn_str(json_object *o, const char *k);   /* string member or NULL */
void learn_fail(req *r, int status, const char *code);   /* error with message learn_err_<code> */
/* Render templates/learn/<name>.html with the learn stylesheet and scripts (NULL-terminated list). ctx borrowed. */
void learn_page(req *r, int status, const char *name, json_object *ctx, const char *title_key, ...);
/* SQL condition over alias c (courses) for what the viewer may see: the video visibility rule, or an assignment
 * of the course to one of their classes. $uid_param and $role_param as in video_access_sql. */
void learn_course_access_sql(buf *out, int uid_param, int role_param);
#endif
