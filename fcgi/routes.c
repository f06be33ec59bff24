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
/* roster api */
void h_roster_api(req *), h_oauth_token(req *);
/* video */

const struct route routes[] = {
	/* core */
	{"GET",    "/healthz",                 h_healthz,        PERM_NONE,  0, NULL},
	{"GET",    "/readyz",                  h_readyz,         PERM_NONE,  0, NULL},
	{"GET",    "/metrics",                 h_metrics,        PERM_NONE,  0, NULL},
	{"GET",    "/login",                   h_login_form,     PERM_NONE,  0, NULL},
	{"POST",   "/login",                   h_login_post,     PERM_NONE,  0, NULL},
	{"POST",   "/logout",                  h_logout,         PERM_LOGIN, 0, NULL},
	{"POST",   "/lang",                    h_lang,           PERM_NONE,  0, NULL},
	{"GET",    "/",                        h_dashboard,      PERM_LOGIN, 0, NULL},
	{"GET",    "/admin/users",             h_users_list,     PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/new",         h_user_new,       PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users",             h_user_create,    PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/:id",         h_user_show,      PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/users/:id/edit",    h_user_edit,      PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users/:id",         h_user_update,    PERM_ADMIN, 0, NULL},
	{"POST",   "/admin/users/:id/disable", h_user_disable,   PERM_ADMIN, 0, NULL},
	{"GET",    "/admin/jobs",              h_jobs_list,      PERM_CREATOR, 0, NULL},
	{"GET",    "/admin/jobs/:id",          h_job_show,       PERM_CREATOR, 0, NULL},
	{"POST",   "/api/v1/auth/login",       h_api_login,      PERM_NONE,  RF_NOCSRF, NULL},
	{"POST",   "/api/v1/auth/logout",      h_api_logout,     PERM_LOGIN, 0, NULL},
	{"GET",    "/api/v1/me",               h_api_me,         PERM_LOGIN, 0, NULL},
	{"GET",    "/api/v1/users",            h_api_users,      PERM_ADMIN, 0, NULL},
	{"GET",    "/api/v1/stats/summary",    h_stats_summary,  PERM_LOGIN, 0, NULL},
	{"GET",    "/api/v1/jobs",             h_api_jobs,       PERM_CREATOR, 0, NULL},
	{"GET",    "/api/v1/jobs/:id",         h_api_job,        PERM_LOGIN, 0, NULL},
	{"POST",   "/api/v1/jobs/:id/cancel",  h_api_job_cancel, PERM_CREATOR, 0, NULL},
	/* roster import */
	/* roster api */
	{"GET",    "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF, "roster_api_read"},
	{"PUT",    "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF, "roster_api_write"},
	{"DELETE", "/ims/oneroster/rostering/v1p2/*", h_roster_api, PERM_NONE, RF_NOCSRF, "roster_api_write"},
	{"POST",   "/oauth/token",             h_oauth_token,    PERM_NONE,  RF_NOCSRF, NULL},
	/* video */
};
const int nroutes = sizeof routes / sizeof routes[0];
