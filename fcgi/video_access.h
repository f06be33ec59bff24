/* Who may watch a video: admin all; the owner; public for everyone including guests; org for users of that org;
 * class for users enrolled in one of the video's classes; private for the owner only. An assignment of the video
 * (directly or in a course) to a class the user is enrolled in lets them watch it too (sql/050_learn.sql). */
#ifndef RS_VIDEO_ACCESS_H
#define RS_VIDEO_ACCESS_H
#include "http.h"

/* Pure rule. role/uid describe the viewer (role NULL, uid 0 = not logged in). 1 allowed, 0 not. */
int video_access_decide(const char *role, long uid, long owner_id, const char *visibility, int in_org, int in_class);
/* May r->user watch videos.id = video_pk? Reads the row and the viewer's org / enrolments. 1, 0, or -1 (db). */
int video_may_watch(req *r, const char *video_pk);
/* May r->user edit/delete it (admin, or a creator who owns it)? */
int video_may_manage(req *r, long owner_id);
/* SQL condition over alias v selecting videos the viewer may watch; $uid_param is the viewer's id as text
 * ("0" for guests) and $role_param the role. Written into out. */
void video_access_sql(buf *out, int uid_param, int role_param);
/* A short name for what this viewer may watch: viewers with the same scope see the same videos under
 * video_access_sql; a change of role, organisation, active class enrolments or assignment grants changes it
 * (the list cache, catalog_cache.c, keys on it). "g" for guests; NULL on a database error. */
const char *video_access_scope(req *r);
/* The visibility rule alone, without the assignment grant: for tables shaped like videos (courses). */
void video_access_sql_rule(buf *out, int uid_param, int role_param);
#endif
