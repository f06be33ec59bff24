/* Route table types and matching. routes.c holds the table itself, one line a route. */
#ifndef RS_ROUTER_H
#define RS_ROUTER_H
#include "http.h"

enum perm {
	PERM_NONE = 0,      /* anyone, no session needed */
	PERM_LOGIN,         /* any logged-in user (viewer and up) */
	PERM_CREATOR,       /* creator or admin */
	PERM_ADMIN,         /* admin only */
};
enum route_flags {
	RF_NOCSRF = 1,      /* state-changing route exempt from CSRF (login form, token endpoints, APIs with bearer) */
	RF_BODYFILE = 2,    /* body arrives as a file from nginx; do not read it into memory */
	RF_RAWBODY = 4,     /* do not parse the body as form/JSON (handler reads r->body) */
	RF_SMALLJSON = 8,   /* a JSON body of a few fields (login): at most JSON_SMALL_VALUES values, not JSON_MAX_VALUES */
	RF_TOKEN_AUTH = 16, /* hot path: the session token's signature and expiry are checked, the account is not loaded
			     * (no PostgreSQL); the handler re-checks revocation where it stores (viewing heartbeats) */
	RF_REPLICA = 32,    /* reads that tolerate a little lag: may be answered by the read replica (db_replica.h) */
};

typedef void (*handler_fn)(req *r);
struct route {
	const char *method;   /* GET POST PUT DELETE PATCH */
	const char *pattern;  /* "/users/:id/edit"; a trailing "*" matches the rest into param "rest" */
	handler_fn fn;
	enum perm perm;
	int flags;
	const char *name;     /* metrics label; defaults to pattern */
};

extern const struct route routes[];
extern const int nroutes;

/* Match method+path. Returns the route or NULL; *method_mismatch=1 when the path exists with another method.
 * Params go into r->pnames/pvals (decoded, in r->a). */
const struct route *route_match(const struct route *table, int n, req *r, const char *method, const char *path,
				int *method_mismatch);
int perm_allows(enum perm p, const struct user *u);
int role_rank(const char *role);   /* guest 0, viewer 1, creator 2, admin 3, unknown -1 */
#endif
