/* Recommendations: "watched together" neighbours counted by the worker (sql/093_recommend.sql), a content fallback
 * (same course, category, tag, owner) and a personal list. Builds and runs SQL only; knows nothing of HTTP. */
#ifndef RS_RECOMMEND_H
#define RS_RECOMMEND_H
#include <libpq-fe.h>

/* Why a video is suggested; the same words are the "reason" field of the API and an i18n key suffix. */
#define RECOMMEND_REASONS "next_in_course, watched_together, similar, assigned, because_you_watched, popular, new"

/* Videos to suggest next to videos.id = pk for the viewer (uid as text, "0" for guests; role), at most k, best
 * first: the next video of a course it is in, then watched-together neighbours, then shared course / category /
 * tag / owner. Only ready videos the viewer may watch (video_access_sql, in the statement). Columns: those of
 * RECOMMEND_COLS plus "reason". NULL on a database error (logged). */
PGresult *recommend_related(const char *pk, const char *uid, const char *role, int k);
/* The personal list for a signed-in user: their assignments not yet finished, then neighbours of their recent
 * views they have not started, then the most viewed and the newest (so a new user's list is not empty). */
PGresult *recommend_for_user(const char *uid, const char *role, int k);
/* Worker: count up to max newly viewed (user, video) pairs into the co-view tables and re-rank the touched
 * videos' neighbours. Returns how many were taken (max: more are waiting), 0 on error (logged). */
int recommend_tick(int max);
#endif
