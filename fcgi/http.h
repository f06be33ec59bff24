/* The request object handed to every handler, and the response it builds.
 * Handlers read with req_*, answer with res_*; the server sends the buffered response after the handler returns. */
#ifndef RS_HTTP_H
#define RS_HTTP_H
#include <stddef.h>
#include <json-c/json.h>
#include "arena.h"

typedef struct kv { const char *k, *v; } kv;

struct user {
	long id;
	const char *email, *name, *role;   /* role: admin | creator | viewer | guest */
	const char *lang;                  /* ja | en | NULL (=Accept-Language) */
	const char *time_zone;             /* IANA zone, NULL = the deployment's (timefmt.h) */
	const char *sourced_id;            /* OneRoster sourcedId, may be NULL */
	const char *jti;                   /* session token id (for CSRF + logout) */
	long exp;                          /* token expiry, unix seconds */
	long gen;                          /* the account's token generation the token was issued at */
	int via_bearer;                    /* authenticated by Authorization: Bearer (no CSRF needed) */
};

struct route;
struct redisReply;
#define REQ_DEFER_MAX 4
typedef struct req req;
struct req {
	arena *a;
	void *fcgx;                        /* FCGX_Request*, NULL in unit tests */
	const char *method, *path, *query_string, *content_type, *remote_addr;
	long content_length;
	kv *query;   int nquery;
	kv *form;    int nform;            /* urlencoded body */
	kv *cookies; int ncookies;
	const char *body; size_t body_len; /* small bodies, read into the arena */
	const char *body_file;             /* large bodies written to disk by nginx (RSTREAM_BODY_FILE) */
	json_object *json;                 /* parsed JSON body, put by the server; freed after the request */
	const char *pnames[8], *pvals[8]; int nparams; /* route :params */
	struct user *user;                 /* NULL when not logged in */
	const char *lang;                  /* "ja" or "en", always set */
	const char *csrf;                  /* token for this page's forms, set by session_load; NULL for JSON */
	const char *request_id, *traceparent, *client_ip;
	const struct route *route;
	/* response */
	int status;
	buf headers;                       /* "Name: value\r\n" lines */
	buf body_out;
	/* or a body not copied (res_body_shared): owned elsewhere, kept alive until release(owner) after the answer */
	const char *body_shared;
	size_t body_shared_len;
	void (*body_release)(void *owner);
	void *body_owner;
	int streamed;                      /* res_stream_begin was called: body already sent */
	const char *log_user;              /* who, for the access log (user email or api client id) */
	/* a last step left to the server (req_defer_redis): Redis commands, sent in one round trip with those of
	 * other requests ready at the same time, then done() answers from their replies */
	int ndeferred;
	int deferred_argc[REQ_DEFER_MAX];
	const char **deferred_argv[REQ_DEFER_MAX];
	void (*deferred_done)(req *r, struct redisReply **replies);
	void *deferred_arg;                /* the handler's own, for done() */
	int may_defer;                     /* set by the server: its answer may wait for a batch (audit rows, audit.c) */
};

/* Leave the request's last step to the server: n (<= REQ_DEFER_MAX) Redis commands, each an argument vector
 * that lives in r->a, and done(r, replies) that answers from their replies (NULL entries: Redis unreachable).
 * The server sends the commands of every such request it has ready in one pipeline (heartbeats under load), or at
 * once when there is no other. The commands may be sent twice after a lost connection: idempotent ones only. */
void req_defer_redis(req *r, int n, const int *argc, const char **const *argv,
		     void (*done)(req *r, struct redisReply **replies));

/* ---- request ---- */
const char *req_query(req *r, const char *name);
const char *req_form(req *r, const char *name);
int req_form_posted(req *r);   /* the body was an urlencoded form */
const char *req_cookie(req *r, const char *name);
const char *req_param(req *r, const char *name);
const char *req_header(req *r, const char *name);   /* "X-Forwarded-For", "Authorization" … */
int http_accepts_gzip(const char *accept_encoding);   /* a header value; NULL: no */
const char *req_env(req *r, const char *cgi_name); /* raw FastCGI param, e.g. "RSTREAM_BODY_FILE" */
int req_wants_json(req *r);                         /* /api/, /ims/, /oauth/ or Accept: application/json */
long req_query_long(req *r, const char *name, long def, long min, long max, int *bad);
/* A route :param that must be a database id: a positive decimal that fits a bigint. 0 when it is not. */
long req_param_id(req *r, const char *name);
long parse_id(const char *v);                       /* the same test for any string */

/* pure parsers (unit-tested) */
/* -1 on too many pairs, -2 when a decoded name or value holds NUL or is not UTF-8 */
int parse_urlencoded(arena *a, const char *s, size_t len, kv **out, int *n);
int parse_cookies(arena *a, const char *s, kv **out, int *n);
char *url_decode(arena *a, const char *s, size_t len);
char *url_encode(arena *a, const char *s);
/* JSON bodies: bounded by value count and depth before json-c builds anything (json_prescan). */
#define JSON_MAX_VALUES 2000     /* cap per body, checked before json-c builds anything */
#define JSON_SMALL_VALUES 32     /* routes flagged RF_SMALLJSON (login) */
#define JSON_MAX_DEPTH 16
enum { JSON_MALFORMED = -1, JSON_TOO_BIG = -2, JSON_NUL = -3 };
int json_prescan(const char *s, size_t len, int max_values, int max_depth, char *err, int errlen);
/* NULL with *why (JSON_*) and a message on error. */
json_object *json_parse_bounded(const char *s, size_t len, int max_values, int max_depth, int *why, char *err,
				int errlen);
/* Parse JSON text with the default limits: NULL and a message on error. */
json_object *json_parse_limited(const char *s, size_t len, char *err, int errlen);

/* ---- response ---- */
void res_header(req *r, const char *name, const char *value);
void res_body(req *r, int status, const char *content_type, const char *data, size_t len);
/* The same without a copy: data stays valid until release(owner), which the server calls once the answer is
 * written (or when another res_* call replaces the body). For big bodies a worker keeps (cached API pages). */
void res_body_shared(req *r, int status, const char *content_type, const char *data, size_t len,
		     void (*release)(void *owner), void *owner);
/* empty the body (a shared one is released) */
void res_body_reset(req *r);
void res_json(req *r, int status, json_object *obj);   /* takes ownership of obj */
/* data as a gzip member (malloc'd, *out_len bytes), for a body a worker keeps and sends many times; NULL on failure */
char *http_gzip(const char *data, size_t len, size_t *out_len);
/* One error shape: {"error":{"code","message","details"}} for JSON clients, an HTML page otherwise. */
void res_error(req *r, int status, const char *code, const char *message, json_object *details);
void res_redirect(req *r, const char *location);        /* 303 See Other */
/* A dependency (PostgreSQL) is unreachable: 503 + Retry-After in the error shape of the client. */
#define RETRY_AFTER_OUTAGE "5"
void res_unavailable(req *r);
/* Render templates/<name>.html inside the layout. ctx is borrowed; t (messages), user, csrf, lang are added. */
void res_html(req *r, int status, const char *tmpl, json_object *ctx);
/* Streaming: send headers now, then write chunks (for exports). */
void res_stream_begin(req *r, int status, const char *content_type);
void res_write(req *r, const char *data, size_t len);

/* helpers for handlers */
const char *tr(req *r, const char *key);              /* message in the request's language (i18n.c) */
const char *tr_n(req *r, const char *key, long n);    /* the same with every "#" replaced by n */
/* A code value shown to people (OneRoster type or status, role, job state, audit action, true/false): the
 * catalog's prefix+value, else the value itself. tr_codes adds "<field>_label" for each field of an object or
 * of every object in an array; "a, b" lists are labelled item by item. */
const char *tr_code(req *r, const char *prefix, const char *value);
void tr_codes(req *r, json_object *obj, const char *prefix, const char *const *fields);
#endif
