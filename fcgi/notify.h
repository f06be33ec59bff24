/* Notifications: events fan out (in the worker, set-based) into the in-app list, the e-mail outbox and admin
 * webhooks. Requests and jobs only enqueue one notify_fanout job per event; nothing here blocks a request. */
#ifndef RS_NOTIFY_H
#define RS_NOTIFY_H
#include <time.h>
#include <json-c/json.h>
#include "http.h"

struct notify_kind {
	const char *kind;      /* notifications.kind, catalog keys notify_kind_<kind>, notify_text_<kind> */
	int inapp, email;      /* defaults when the person chose nothing */
	const char *min_role;  /* who can receive it: viewer (anyone), creator, admin */
};
extern const struct notify_kind notify_kinds[];
extern const int nnotify_kinds;
const struct notify_kind *notify_kind_find(const char *kind);

/* Enqueue the fan-out of one event. audience: "user" (id), "admins", "assignment" (id: its students),
 * "video_subscribers" (id: videos.id; subscribers of its creator or categories who may watch it).
 * event: unique key of the event ("assignment:12"); data: {"title","href",...} (borrowed). Returns the job id
 * or -1. */
long notify_emit(const char *kind, const char *event, const char *audience, long audience_id, json_object *data);
/* Hooks for other areas: an assignment was created (after commit). */
void notify_assignment_created(long assignment_id);

/* Text of a notification in lang: notify_text_<kind> with {title} and {detail} filled from payload. malloc'd. */
char *notify_text(const char *lang, const char *kind, json_object *payload);
/* Replace {name} placeholders in tmpl by members of vals (strings). malloc'd. Pure (unit-tested). */
char *notify_fill(const char *tmpl, json_object *vals);

/* Unsubscribe link tokens: hex HMAC-SHA256 over "unsub|uid|kind" with the server secret (32 hex chars). */
void notify_unsub_token(const char *secret, long uid, const char *kind, char out[33]);
int notify_unsub_check(const char *secret, long uid, const char *kind, const char *token);   /* 1 ok */

/* For a page of videos by one creator (key: users.id) or in one category (key: slug): adds "notify_sub"
 * {kind,id,name,on,next} to ctx for templates/notify/subscribe.html (h_notify.c). */
void notify_subscribe_ctx(req *r, json_object *ctx, const char *kind, const char *key);
/* Layout hook (response.c): adds notify_unread / notify_unread_label for the header's bell. */
void notify_layout(req *r, json_object *ctx);
/* Worker loop hook (jobs.c): due-soon scan, digests, and starting delivery jobs when rows are due. */
void notify_schedule_tick(void);
/* Start a delivery job of kind ("notify_mail" | "notify_webhook") when rows are due and none is active. */
void notify_kick(const char *kind);
int notify_wait_next_due(const char *next_due_sql, time_t until);
/* Read a notify setting: the environment variable env when set, else config key, else def. */
const char *notify_conf(const char *key, const char *env, const char *def);
long notify_conf_int(const char *key, const char *env, long def);
#endif
