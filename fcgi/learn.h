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
 * budget_ms bounds one call; the jobs worker calls it every loop. */
int learn_flush_tick(int budget_ms);
/* Demo data (rstream seed): a course, a class with a teacher and students, an assignment, some viewing. */
int learn_seed_demo(void);
#endif
