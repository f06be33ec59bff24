/* The route table: one line a route. Method, pattern, handler, required permission, flags.
 * Each area declares its handlers just above its lines. */
#include "router.h"

/* core */
void h_healthz(req *), h_readyz(req *), h_metrics(req *);
void h_login_form(req *), h_login_post(req *), h_logout(req *), h_lang(req *);
void h_api_login(req *), h_api_logout(req *), h_api_me(req *);
void h_dashboard(req *), h_stats_summary(req *);
void h_users_list(req *), h_user_new(req *), h_user_create(req *), h_user_show(req *), h_user_edit(req *),
	h_user_update(req *), h_user_disable(req *), h_api_users(req *);
void h_jobs_list(req *), h_job_show(req *), h_api_jobs(req *), h_api_job(req *), h_api_job_cancel(req *);
/* roster import */
void h_roster_imports_list(req *), h_roster_import_new(req *), h_roster_import_show(req *), h_roster_import_rerun(req *),
	h_roster_exports_list(req *), h_roster_export_create(req *), h_api_roster_import_create(req *),
	h_api_roster_imports(req *), h_api_roster_import(req *), h_api_roster_import_findings(req *),
	h_api_roster_export_create(req *), h_api_roster_export(req *), h_api_roster_export_download(req *);
/* roster api */
void h_roster_api(req *), h_oauth_token(req *);
void h_roster_orgs(req *), h_roster_org(req *), h_roster_classes(req *), h_roster_class(req *), h_roster_users(req *),
	h_clients_list(req *), h_client_create(req *), h_client_revoke(req *), h_audit_list(req *), h_audit_csv(req *),
	h_audit_retention(req *);
/* video */
void h_videos_list(req *), h_video_upload_page(req *), h_video_edit(req *), h_video_update(req *), h_video_delete(req *);
void h_categories_page(req *), h_category_create(req *), h_category_delete(req *), h_tag_create(req *), h_tag_delete(req *);
void h_watch(req *), h_api_playback(req *), h_api_position(req *), h_api_categories(req *);
void h_api_videos(req *), h_api_video(req *), h_api_video_create(req *), h_api_video_update(req *), h_api_video_delete(req *);
void h_api_upload_create(req *), h_api_upload_show(req *), h_api_upload_chunk(req *), h_api_upload_complete(req *),
	h_api_upload_cancel(req *);
void h_api_caption_put(req *), h_api_caption_delete(req *), h_api_poster_put(req *);
/* hardening: login throttle unlock */
void h_user_unlock(req *), h_api_user_unlock(req *);
/* hardening: upload admission (nginx auth_request) */
void h_upload_auth(req *);
/* sign-in and homes (h_home.c, h_signin.c, h_oidc.c) */
void h_home(req *), h_api_me_home(req *);
void h_login_code_form(req *), h_login_code_post(req *), h_cards_classes(req *), h_cards_class(req *), h_cards_issue(req *);
void h_reset_form(req *), h_reset_post(req *), h_reset_link_create(req *);
void h_oidc_start(req *), h_oidc_callback(req *), h_oidc_providers(req *), h_oidc_provider_new(req *),
	h_oidc_provider_create(req *), h_oidc_provider_edit(req *), h_oidc_provider_update(req *);
/* learn: viewing heartbeats, history, courses, assignments */
void h_api_heartbeat(req *), h_api_my_history(req *), h_my_history(req *);
void h_api_courses(req *), h_api_course(req *), h_api_course_create(req *), h_api_course_update(req *),
	h_api_course_delete(req *), h_courses_page(req *), h_course_page(req *), h_course_new_page(req *),
	h_course_edit_page(req *);
void h_api_my_assignments(req *), h_my_assignments(req *), h_api_assignments(req *), h_api_assignment_create(req *),
	h_api_assignment(req *), h_api_assignment_delete(req *), h_assignment_page(req *), h_assignment_csv(req *),
	h_assignments_page(req *);
/* ui */
void h_api_job_retry(req *), h_roster_person(req *), h_api_picker_orgs(req *), h_api_picker_classes(req *);
/* notify: in-app list, preferences, subscriptions, unsubscribe links, admin webhooks and mail outbox (h_notify.c) */
void h_notifications_page(req *), h_notification_read(req *), h_notifications_read_all(req *), h_api_notifications(req *),
	h_api_notifications_read(req *), h_notify_settings_page(req *), h_notify_settings_post(req *), h_api_notify_prefs(req *),
	h_api_notify_prefs_put(req *), h_api_subscriptions(req *), h_api_subscription_create(req *),
	h_api_subscription_delete(req *), h_subscription_form(req *), h_unsubscribe_page(req *), h_unsubscribe_post(req *),
	h_webhooks_page(req *), h_webhook_create_form(req *), h_webhook_action_form(req *), h_api_webhooks(req *),
	h_api_webhook_create(req *), h_api_webhook_deliveries(req *), h_api_webhook_action(req *), h_mail_retry(req *);
/* search */
void h_search_page(req *), h_api_search(req *), h_api_search_suggest(req *);
/* settings: the admin settings page and its API, the logo */
void h_settings_page(req *), h_settings_post(req *), h_settings_logo_delete(req *), h_api_settings(req *),
	h_api_settings_update(req *), h_api_settings_logo_put(req *), h_api_settings_logo_delete(req *), h_site_logo(req *);
/* bulk actions on lists */
void h_users_bulk(req *), h_api_users_bulk(req *), h_videos_bulk(req *), h_api_videos_bulk(req *);
/* stats: per video, per class, platform KPIs (h_stats.c) */
void h_api_video_stats(req *), h_stats_video_page(req *), h_stats_video_daily_csv(req *), h_stats_video_retention_csv(req *);
void h_api_class_stats(req *), h_stats_class_page(req *), h_stats_class_csv(req *);
void h_api_stats_kpis(req *), h_stats_kpis_page(req *), h_stats_kpis_csv(req *), h_stats_clients_csv(req *), h_stats_index(req *);
void h_roster_api_other(req *);
/* mail8: e-mailed reset links and invitations (h_signin_mail.c) */
void h_forgot_form(req *), h_forgot_post(req *), h_reset_mail_create(req *), h_api_forgot(req *), h_api_reset(req *),
	h_api_invitations(req *), h_api_invitation_create(req *), h_api_invitation_resend(req *), h_api_invitation_revoke(req *),
	h_api_invitation_class(req *);
void h_invitations(req *), h_invitation_create(req *), h_invitation_resend(req *), h_invitation_revoke(req *),
	h_invitation_class(req *);
void h_invite_form(req *), h_invite_post(req *);
/* mail8: per-student stats (h_stats_student.c) */
void h_api_student_stats(req *), h_stats_me(req *), h_stats_student_page(req *), h_stats_student_csv(req *);
/* protect: TOTP second factor (h_mfa.c), audit search (h_audit.c), data-subject requests (h_dsr.c) */
void h_login_mfa_form(req *), h_login_mfa_post(req *), h_mfa_enrol_form(req *), h_mfa_enrol_post(req *), h_mfa_account(req *),
	h_mfa_admin_reset(req *), h_api_mfa_reset(req *), h_mfa_disable(req *);
void h_dsr_page(req *), h_dsr_export(req *), h_dsr_erase(req *), h_api_dsr_erase(req *);

/* datasets: versions of imports and exports, diffs, quality checks (h_datasets.c) */
void h_datasets_list(req *), h_dataset_create(req *), h_dataset_show(req *), h_dataset_update(req *),
	h_dataset_check(req *), h_dataset_version(req *), h_dataset_version_apply(req *), h_dataset_version_discard(req *),
	h_dataset_diff(req *), h_dataset_quality(req *), h_dataset_quality_csv(req *);
void h_api_datasets(req *), h_api_dataset_create(req *), h_api_dataset(req *), h_api_dataset_update(req *),
	h_api_dataset_versions(req *), h_api_dataset_version(req *), h_api_dataset_version_file(req *),
	h_api_dataset_version_apply(req *), h_api_dataset_version_discard(req *), h_api_dataset_diff(req *),
	h_api_dataset_quality_rows(req *), h_api_dataset_check(req *), h_api_dataset_retention(req *);
/* find: recommendations (h_recommend.c) */
void h_api_video_related(req *), h_api_me_recommendations(req *);

const struct route routes[] = {
	/* core */
	{"GET",    "/healthz",                 h_healthz,        PERM_NONE,  0, NULL},
	{"GET",    "/readyz",                  h_readyz,         PERM_NONE,  0, NULL},
	{"GET",    "/metrics",                 h_metrics,        PERM_NONE,  0, NULL},
	{"GET",    "/login",                   h_login_form,     PERM_NONE,  0, NULL},
	{"POST",   "/login",                   h_login_post,     PERM_NONE,  0, NULL},
	{"POST",   "/logout",                  h_logout,         PERM_LOGIN, 0, NULL},
	{"POST",   "/lang",                    h_lang,           PERM_NONE,  0, NULL},
	{"GET",    "/",                        h_home,           PERM_LOGIN, 0, NULL},
	{"GET",    "/admin/users",             h_users_list,     PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/new",         h_user_new,       PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users",             h_user_create,    PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/:id",         h_user_show,      PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/:id/edit",    h_user_edit,      PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users/:id",         h_user_update,    PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users/:id/disable", h_user_disable,   PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/jobs",              h_jobs_list,      PERM_CREATOR, 0, NULL},
	{"GET",    "/admin/jobs/:id",          h_job_show,       PERM_CREATOR, 0, NULL},
	{"POST",   "/api/v1/auth/login",       h_api_login,      PERM_NONE,  RF_NOCSRF | RF_SMALLJSON, NULL},
	{"POST",   "/api/v1/auth/logout",      h_api_logout,     PERM_LOGIN, 0, NULL},
	{"POST",   "/api/v1/auth/forgot",      h_api_forgot,     PERM_NONE,  RF_NOCSRF | RF_SMALLJSON, NULL},
	{"POST",   "/api/v1/auth/reset",       h_api_reset,      PERM_NONE,  RF_NOCSRF | RF_SMALLJSON, NULL},
	{"GET",    "/api/v1/me",               h_api_me,         PERM_LOGIN, 0, NULL},
	{"GET",    "/api/v1/users",            h_api_users,      PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/stats/summary",    h_stats_summary,  PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/jobs",             h_api_jobs,       PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/jobs/:id",         h_api_job,        PERM_LOGIN, 0, NULL},
	{"POST",   "/api/v1/jobs/:id/cancel",  h_api_job_cancel, PERM_CREATOR, 0, NULL},
	/* roster import */
	{"GET",    "/admin/roster/imports",                 h_roster_imports_list,        PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/imports/new",             h_roster_import_new,          PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/imports/:id",             h_roster_import_show,         PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/roster/imports/:id/rerun",       h_roster_import_rerun,        PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/exports",                 h_roster_exports_list,        PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/roster/exports",                 h_roster_export_create,       PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/roster/imports",                h_api_roster_import_create,   PERM_ADMIN, RF_BODYFILE, "roster_import_upload"},
	{"GET",    "/api/v1/roster/imports",                h_api_roster_imports,         PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/roster/imports/:id",            h_api_roster_import,          PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/roster/imports/:id/findings",   h_api_roster_import_findings, PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/roster/exports",                h_api_roster_export_create,   PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/roster/exports/:id",            h_api_roster_export,          PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/roster/exports/:id/download",   h_api_roster_export_download, PERM_ADMIN, 0, NULL},
	/* roster api */
	{"GET",    "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF | RF_REPLICA, "roster_api_read"},
	{"PUT",    "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF, "roster_api_write"},
	{"DELETE", "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF, "roster_api_write"},
	{"POST",   "/oauth/token",             h_oauth_token,    PERM_NONE,  RF_NOCSRF, NULL},
	{"GET",    "/admin/roster/orgs",       h_roster_orgs,    PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/orgs/:id",   h_roster_org,     PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/classes",    h_roster_classes, PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/classes/:id", h_roster_class,  PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/roster/users",      h_roster_users,   PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/clients",           h_clients_list,   PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/clients",           h_client_create,  PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/clients/:id/revoke", h_client_revoke, PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/audit",             h_audit_list,     PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/audit.csv",         h_audit_csv,      PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/audit/retention",   h_audit_retention, PERM_ADMIN, 0, NULL},
	/* video */
	{"GET",    "/videos",                              h_videos_list,         PERM_NONE,    RF_REPLICA, NULL},
	{"GET",    "/videos/upload",                       h_video_upload_page,   PERM_CREATOR, 0, NULL},
	{"GET",    "/videos/:id/edit",                     h_video_edit,          PERM_CREATOR, 0, NULL},
	{"POST",   "/videos/:id",                          h_video_update,        PERM_CREATOR, 0, NULL},
	{"POST",   "/videos/:id/delete",                   h_video_delete,        PERM_CREATOR, 0, NULL},
	{"GET",    "/watch/:id",                           h_watch,               PERM_NONE,    0, NULL},
	{"GET",    "/admin/categories",                    h_categories_page,     PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/categories",                    h_category_create,     PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/categories/:id/delete",         h_category_delete,     PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/tags",                          h_tag_create,          PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/tags/:id/delete",               h_tag_delete,          PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/categories",                   h_api_categories,      PERM_NONE,    0, NULL},
	{"POST",   "/api/v1/videos/uploads",               h_api_upload_create,   PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/videos/uploads/:id",           h_api_upload_show,     PERM_CREATOR, 0, NULL},
	{"PUT",    "/api/v1/videos/uploads/:id",           h_api_upload_chunk,    PERM_CREATOR, RF_BODYFILE, "video_upload_chunk"},
	{"DELETE", "/api/v1/videos/uploads/:id",           h_api_upload_cancel,   PERM_CREATOR, 0, NULL},
	{"POST",   "/api/v1/videos/uploads/:id/complete",  h_api_upload_complete, PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/videos",                       h_api_videos,          PERM_NONE,    RF_REPLICA, NULL},
	{"POST",   "/api/v1/videos",                       h_api_video_create,    PERM_CREATOR, RF_BODYFILE, "video_upload"},
	{"GET",    "/api/v1/videos/:id",                   h_api_video,           PERM_NONE,    0, NULL},
	{"PUT",    "/api/v1/videos/:id",                   h_api_video_update,    PERM_CREATOR, 0, NULL},
	{"DELETE", "/api/v1/videos/:id",                   h_api_video_delete,    PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/videos/:id/playback",          h_api_playback,        PERM_NONE,    0, NULL},
	{"POST",   "/api/v1/videos/:id/position",          h_api_position,        PERM_LOGIN,   0, NULL},
	{"PUT",    "/api/v1/videos/:id/captions",          h_api_caption_put,     PERM_CREATOR, RF_RAWBODY, NULL},
	{"DELETE", "/api/v1/videos/:id/captions/:lang",    h_api_caption_delete,  PERM_CREATOR, 0, NULL},
	{"PUT",    "/api/v1/videos/:id/poster",            h_api_poster_put,      PERM_CREATOR, RF_RAWBODY, NULL},
	/* hardening: an admin lifts the login throttle of an account */
	{"POST",   "/admin/users/:id/unlock",              h_user_unlock,         PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/users/:id/unlock",             h_api_user_unlock,     PERM_ADMIN,   0, NULL},
	/* hardening: nginx asks this (internal location) before it stores an upload body */
	{"GET",    "/_rstream/upload-auth",                h_upload_auth,         PERM_NONE,    0, "upload_auth"},
	/* sign-in: login cards, password reset links, OpenID Connect; per-role homes */
	{"GET",    "/api/v1/me/home",                      h_api_me_home,         PERM_LOGIN,   0, NULL},
	{"GET",    "/login/code",                          h_login_code_form,     PERM_NONE,    0, NULL},
	{"POST",   "/login/code",                          h_login_code_post,     PERM_NONE,    0, NULL},
	{"GET",    "/cards",                               h_cards_classes,       PERM_CREATOR, 0, NULL},
	{"GET",    "/cards/:class",                        h_cards_class,         PERM_CREATOR, 0, NULL},
	{"POST",   "/cards/:class",                        h_cards_issue,         PERM_CREATOR, 0, NULL},
	{"GET",    "/password/reset",                      h_reset_form,          PERM_NONE,    0, NULL},
	{"POST",   "/password/reset",                      h_reset_post,          PERM_NONE,    0, NULL},
	{"POST",   "/admin/users/:id/reset-link",          h_reset_link_create,   PERM_ADMIN,   0, NULL},
	{"GET",    "/oidc/start/:id",                      h_oidc_start,          PERM_NONE,    0, NULL},
	{"GET",    "/oidc/callback",                       h_oidc_callback,       PERM_NONE,    0, NULL},
	{"GET",    "/admin/sso",                           h_oidc_providers,      PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/sso/new",                       h_oidc_provider_new,   PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/sso",                           h_oidc_provider_create, PERM_ADMIN,  0, NULL},
	{"GET",    "/admin/sso/:id/edit",                  h_oidc_provider_edit,  PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/sso/:id",                       h_oidc_provider_update, PERM_ADMIN,  0, NULL},
	/* learn: viewing heartbeats, history, courses, assignments */
	{"POST",   "/api/v1/views/heartbeat",              h_api_heartbeat,       PERM_LOGIN,   RF_NOCSRF | RF_RAWBODY | RF_TOKEN_AUTH, NULL},
	{"GET",    "/api/v1/me/history",                   h_api_my_history,      PERM_LOGIN,   0, NULL},
	{"GET",    "/my/history",                          h_my_history,          PERM_LOGIN,   0, NULL},
	{"GET",    "/api/v1/courses",                      h_api_courses,         PERM_NONE,    0, NULL},
	{"POST",   "/api/v1/courses",                      h_api_course_create,   PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/courses/:id",                  h_api_course,          PERM_NONE,    0, NULL},
	{"PUT",    "/api/v1/courses/:id",                  h_api_course_update,   PERM_CREATOR, 0, NULL},
	{"DELETE", "/api/v1/courses/:id",                  h_api_course_delete,   PERM_CREATOR, 0, NULL},
	{"GET",    "/courses",                             h_courses_page,        PERM_LOGIN,   0, NULL},
	{"GET",    "/courses/new",                         h_course_new_page,     PERM_CREATOR, 0, NULL},
	{"GET",    "/courses/:id",                         h_course_page,         PERM_LOGIN,   0, NULL},
	{"GET",    "/courses/:id/edit",                    h_course_edit_page,    PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/me/assignments",               h_api_my_assignments,  PERM_LOGIN,   0, NULL},
	{"GET",    "/my/assignments",                      h_my_assignments,      PERM_LOGIN,   0, NULL},
	{"GET",    "/api/v1/assignments",                  h_api_assignments,     PERM_CREATOR, 0, NULL},
	{"POST",   "/api/v1/assignments",                  h_api_assignment_create, PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/assignments/:id",              h_api_assignment,      PERM_CREATOR, 0, NULL},
	{"DELETE", "/api/v1/assignments/:id",              h_api_assignment_delete, PERM_CREATOR, 0, NULL},
	{"GET",    "/assignments",                         h_assignments_page,    PERM_CREATOR, 0, NULL},
	{"GET",    "/assignments/:id",                     h_assignment_page,     PERM_CREATOR, 0, NULL},
	{"GET",    "/assignments/:id/export.csv",          h_assignment_csv,      PERM_CREATOR, 0, NULL},

	/* ui: job retry, a rostered person's page, pickers (search by name instead of typing ids) */
	{"POST",   "/api/v1/jobs/:id/retry",               h_api_job_retry,       PERM_CREATOR, 0, NULL},
	{"GET",    "/admin/roster/users/:id",              h_roster_person,       PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/pickers/orgs",                 h_api_picker_orgs,     PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/pickers/classes",              h_api_picker_classes,  PERM_CREATOR, 0, NULL},

	/* notify: in-app list, preferences, subscriptions, unsubscribe links, admin webhooks and mail outbox */
	{"GET",    "/notifications",                       h_notifications_page,  PERM_LOGIN,   0, NULL},
	{"POST",   "/notifications/read-all",              h_notifications_read_all, PERM_LOGIN, 0, NULL},
	{"POST",   "/notifications/:id/read",              h_notification_read,   PERM_LOGIN,   0, NULL},
	{"GET",    "/notifications/settings",              h_notify_settings_page, PERM_LOGIN,  0, NULL},
	{"POST",   "/notifications/settings",              h_notify_settings_post, PERM_LOGIN,  0, NULL},
	{"POST",   "/notifications/subscriptions",         h_subscription_form,   PERM_LOGIN,   0, NULL},
	{"GET",    "/api/v1/notifications",                h_api_notifications,   PERM_LOGIN,   0, NULL},
	{"POST",   "/api/v1/notifications/read",           h_api_notifications_read, PERM_LOGIN, 0, NULL},
	{"GET",    "/api/v1/notifications/preferences",    h_api_notify_prefs,    PERM_LOGIN,   0, NULL},
	{"PUT",    "/api/v1/notifications/preferences",    h_api_notify_prefs_put, PERM_LOGIN,  0, NULL},
	{"GET",    "/api/v1/subscriptions",                h_api_subscriptions,   PERM_LOGIN,   0, NULL},
	{"POST",   "/api/v1/subscriptions",                h_api_subscription_create, PERM_LOGIN, 0, NULL},
	{"DELETE", "/api/v1/subscriptions/:kind/:id",      h_api_subscription_delete, PERM_LOGIN, 0, NULL},
	/* the signed link in every e-mail: works without a session, so no CSRF token (the signature is the proof) */
	{"GET",    "/notify/unsubscribe",                  h_unsubscribe_page,    PERM_NONE,    0, NULL},
	{"POST",   "/notify/unsubscribe",                  h_unsubscribe_post,    PERM_NONE,    RF_NOCSRF, NULL},
	{"GET",    "/admin/webhooks",                      h_webhooks_page,       PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/webhooks",                      h_webhook_create_form, PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/webhooks/:id/:action",          h_webhook_action_form, PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/mail/:id/retry",                h_mail_retry,          PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/webhooks",                     h_api_webhooks,        PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/webhooks",                     h_api_webhook_create,  PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/webhooks/:id/deliveries",      h_api_webhook_deliveries, PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/webhooks/:id/:action",         h_api_webhook_action,  PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/mail/:id/retry",               h_mail_retry,          PERM_ADMIN,   0, NULL},
	/* search: results page, JSON search, suggest-as-you-type (visibility is applied in their SQL) */
	{"GET",    "/search",                              h_search_page,         PERM_NONE,    0, NULL},
	{"GET",    "/api/v1/search",                       h_api_search,          PERM_NONE,    0, NULL},
	{"GET",    "/api/v1/search/suggest",               h_api_search_suggest,  PERM_NONE,    0, NULL},
	/* settings: site name and logo, language and zone, password policy, sign-in methods, upload limits */
	{"GET",    "/admin/settings",                      h_settings_page,       PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/settings",                      h_settings_post,       PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/settings/logo/delete",          h_settings_logo_delete, PERM_ADMIN,  0, NULL},
	{"GET",    "/api/v1/settings",                     h_api_settings,        PERM_ADMIN,   0, NULL},
	{"PUT",    "/api/v1/settings",                     h_api_settings_update, PERM_ADMIN,   RF_SMALLJSON, NULL},
	{"PUT",    "/api/v1/settings/logo",                h_api_settings_logo_put, PERM_ADMIN, RF_RAWBODY, NULL},
	{"DELETE", "/api/v1/settings/logo",                h_api_settings_logo_delete, PERM_ADMIN, 0, NULL},
	{"GET",    "/site/logo",                           h_site_logo,           PERM_NONE,    0, NULL},

	/* bulk: many users or videos at once (one statement, one audit row) */
	{"POST",   "/admin/bulk/users",                    h_users_bulk,          PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/users/bulk",                   h_api_users_bulk,      PERM_ADMIN,   0, NULL},
	{"POST",   "/bulk/videos",                         h_videos_bulk,         PERM_CREATOR, 0, NULL},
	{"POST",   "/api/v1/videos/bulk",                  h_api_videos_bulk,     PERM_CREATOR, 0, NULL},
	/* stats: per video, per class, platform KPIs (h_stats.c); rollups in sql/060_stats.sql */
	{"GET",    "/api/v1/videos/:id/stats",             h_api_video_stats,     PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/classes/:sourcedId/stats",     h_api_class_stats,     PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/stats/kpis",                   h_api_stats_kpis,      PERM_ADMIN,   RF_REPLICA, NULL},
	{"GET",    "/stats",                               h_stats_index,         PERM_CREATOR, RF_REPLICA, NULL},
	{"GET",    "/stats/videos/:id",                    h_stats_video_page,    PERM_CREATOR, RF_REPLICA, NULL},
	{"GET",    "/stats/videos/:id/daily.csv",          h_stats_video_daily_csv, PERM_CREATOR, 0, NULL},
	{"GET",    "/stats/videos/:id/retention.csv",      h_stats_video_retention_csv, PERM_CREATOR, 0, NULL},
	{"GET",    "/stats/classes/:sourcedId",            h_stats_class_page,    PERM_CREATOR, RF_REPLICA, NULL},
	{"GET",    "/stats/classes/:sourcedId/export.csv", h_stats_class_csv,     PERM_CREATOR, 0, NULL},
	{"GET",    "/admin/stats",                         h_stats_kpis_page,     PERM_ADMIN,   RF_REPLICA, NULL},
	{"GET",    "/admin/stats/daily.csv",               h_stats_kpis_csv,      PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/stats/clients.csv",             h_stats_clients_csv,   PERM_ADMIN,   0, NULL},
	/* roster2: the seed's paths as aliases (same handlers, same auth), and the OneRoster error payload (with
	 * Allow) for any other method or path under /ims/oneroster/ */
	{"GET",    "/ims/oneroster/v1p2/*",                h_roster_api,          PERM_NONE,    RF_NOCSRF | RF_REPLICA, "roster_api_read"},
	{"PUT",    "/ims/oneroster/v1p2/*",                h_roster_api,          PERM_NONE,    RF_NOCSRF, "roster_api_write"},
	{"DELETE", "/ims/oneroster/v1p2/*",                h_roster_api,          PERM_NONE,    RF_NOCSRF, "roster_api_write"},
	{"GET",    "/health",                              h_healthz,             PERM_NONE,    0, NULL},
	{"*",      "/ims/oneroster/*",                     h_roster_api_other,    PERM_NONE,    RF_NOCSRF, "roster_api_other"},
	/* mail8: "forgot password", reset links by e-mail, invitations (h_signin_mail.c) */
	{"GET",    "/password/forgot",                     h_forgot_form,         PERM_NONE,    0, NULL},
	{"POST",   "/password/forgot",                     h_forgot_post,         PERM_NONE,    0, NULL},
	{"POST",   "/admin/users/:id/reset-mail",          h_reset_mail_create,   PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/invitations",                   h_invitations,         PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/invitations",                   h_invitation_create,   PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/invitations/class",             h_invitation_class,    PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/invitations/:id/resend",        h_invitation_resend,   PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/invitations/:id/revoke",        h_invitation_revoke,   PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/invitations",                  h_api_invitations,     PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/invitations",                  h_api_invitation_create, PERM_ADMIN, RF_SMALLJSON, NULL},
	{"POST",   "/api/v1/invitations/class",            h_api_invitation_class, PERM_ADMIN,  RF_SMALLJSON, NULL},
	{"POST",   "/api/v1/invitations/:id/resend",       h_api_invitation_resend, PERM_ADMIN, 0, NULL},
	{"DELETE", "/api/v1/invitations/:id",              h_api_invitation_revoke, PERM_ADMIN, 0, NULL},
	{"GET",    "/invite",                              h_invite_form,         PERM_NONE,    0, NULL},
	{"POST",   "/invite",                              h_invite_post,         PERM_NONE,    0, NULL},
	/* mail8: per student, for the student, their teachers and admins (h_stats_student.c) */
	{"GET",    "/api/v1/users/:id/stats",              h_api_student_stats,   PERM_LOGIN,   0, NULL},
	{"GET",    "/stats/me",                            h_stats_me,            PERM_LOGIN,   0, NULL},
	{"GET",    "/stats/students/:id",                  h_stats_student_page,  PERM_LOGIN,   0, NULL},
	{"GET",    "/stats/students/:id/history.csv",      h_stats_student_csv,   PERM_LOGIN,   0, NULL},
	/* protect: the code step after a first factor and forced enrolment hold only the rs_mfa cookie (PERM_NONE:
	 * the handlers check it); enrolling by choice and the account page need a session */
	{"GET",    "/login/mfa",                           h_login_mfa_form,      PERM_NONE,    0, NULL},
	{"POST",   "/login/mfa",                           h_login_mfa_post,      PERM_NONE,    0, NULL},
	{"GET",    "/login/mfa/enrol",                     h_mfa_enrol_form,      PERM_NONE,    0, NULL},
	{"POST",   "/login/mfa/enrol",                     h_mfa_enrol_post,      PERM_NONE,    0, NULL},
	{"GET",    "/account/mfa",                         h_mfa_account,         PERM_LOGIN,   0, NULL},
	{"GET",    "/account/mfa/enrol",                   h_mfa_enrol_form,      PERM_LOGIN,   0, NULL},
	{"POST",   "/account/mfa/enrol",                   h_mfa_enrol_post,      PERM_LOGIN,   0, NULL},
	{"POST",   "/account/mfa/disable",                 h_mfa_disable,         PERM_LOGIN,   0, NULL},
	{"POST",   "/admin/users/:id/mfa/reset",           h_mfa_admin_reset,     PERM_ADMIN,   0, NULL},
	{"DELETE", "/api/v1/users/:id/mfa",                h_api_mfa_reset,       PERM_ADMIN,   0, NULL},
	/* protect: data-subject requests (export everything held about a person, erase them) */
	{"GET",    "/admin/users/:id/privacy",             h_dsr_page,            PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/users/:id/export.zip",          h_dsr_export,          PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/users/:id/erase",               h_dsr_erase,           PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/users/:id/export",             h_dsr_export,          PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/users/:id/erase",              h_api_dsr_erase,       PERM_ADMIN,   0, NULL},
	/* datasets: versions of imports and exports, diffs, quality checks (h_datasets.c, dataset.c, quality.c) */
	{"GET",    "/admin/datasets",                      h_datasets_list,       PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/datasets",                      h_dataset_create,      PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/datasets/:id",                  h_dataset_show,        PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/datasets/:id",                  h_dataset_update,      PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/datasets/:id/check",            h_dataset_check,       PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/datasets/:id/retention",        h_api_dataset_retention, PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/datasets/:id/diff",             h_dataset_diff,        PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/datasets/:id/quality",          h_dataset_quality,     PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/datasets/:id/quality.csv",      h_dataset_quality_csv, PERM_ADMIN,   0, NULL},
	{"GET",    "/admin/datasets/:id/versions/:n",      h_dataset_version,     PERM_ADMIN,   0, NULL},
	{"POST",   "/admin/datasets/:id/versions/:n/apply", h_dataset_version_apply, PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/datasets/:id/versions/:n/discard", h_dataset_version_discard, PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/datasets",                     h_api_datasets,        PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/datasets",                     h_api_dataset_create,  PERM_ADMIN,   RF_SMALLJSON, NULL},
	{"GET",    "/api/v1/datasets/:id",                 h_api_dataset,         PERM_ADMIN,   0, NULL},
	{"PUT",    "/api/v1/datasets/:id",                 h_api_dataset_update,  PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/datasets/:id/versions",        h_api_dataset_versions, PERM_ADMIN,  0, NULL},
	{"GET",    "/api/v1/datasets/:id/versions/:n",     h_api_dataset_version, PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/datasets/:id/versions/:n/file", h_api_dataset_version_file, PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/datasets/:id/versions/:n/apply", h_api_dataset_version_apply, PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/datasets/:id/versions/:n/discard", h_api_dataset_version_discard, PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/datasets/:id/diff",            h_api_dataset_diff,    PERM_ADMIN,   0, NULL},
	{"GET",    "/api/v1/datasets/:id/quality",         h_api_dataset_quality_rows, PERM_ADMIN, 0, NULL},
	{"POST",   "/api/v1/datasets/:id/check",           h_api_dataset_check,   PERM_ADMIN,   0, NULL},
	{"POST",   "/api/v1/datasets/:id/retention",       h_api_dataset_retention, PERM_ADMIN, 0, NULL},
	/* find: recommendations (visibility is applied in their SQL; related also checks the video like /watch) */
	{"GET",    "/api/v1/videos/:id/related",           h_api_video_related,   PERM_NONE,    0, NULL},
	{"GET",    "/api/v1/me/recommendations",           h_api_me_recommendations, PERM_LOGIN, 0, NULL},
};
const int nroutes = sizeof routes / sizeof routes[0];
