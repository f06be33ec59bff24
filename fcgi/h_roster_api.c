/* OneRoster 1.2 rostering REST API under /ims/oneroster/rostering/v1p2/: every collection, single-object and
 * nested endpoint, answered from the roster_* tables. Each request is authenticated (client token or admin API
 * token), scope-checked, rate-limited and audited; errors are imsx_StatusInfo payloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "audit.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "roster_api.h"
#include "roster_filter.h"
#include "roster_rules.h"
#include "roster_schema.h"
#include "video_srt.h"


#define SC_READ (SC_CORE | SC_ROSTER)

/* Provided by the importer when present: turn the roster users touched in the current transaction (their
 * dateLastModified = now()) into platform accounts with the SPEC §2 role mapping. */
__attribute__((weak)) int roster_sync_accounts(void);

/* An endpoint: path segments ("*" = an id), the entity answered, the rows it covers (SQL over alias t with
 * the path ids as $1, $2), the scopes that may read it, and for nested endpoints the parent that must exist. */
struct endpoint {
	const char *path;
	const struct ra_entity *e;
	const char *where;
	int scopes;
	const char *parent_sql;    /* returns a row when the parent exists */
	const char *parent_type;   /* for the 404 message */
};

#define IS_SCHOOL "SELECT 1 FROM roster_orgs WHERE sourced_id = $1 AND type = 'school'"
#define IS_CLASS "SELECT 1 FROM roster_classes WHERE sourced_id = $1"
#define HAS_ROLE(role) "EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id " \
		       "AND ro.role = '" role "' AND ro.status = 'active')"
#define IN_CLASS(role) "EXISTS (SELECT 1 FROM roster_enrollments en WHERE en.user_sourced_id = t.sourced_id " \
		       "AND en.class_sourced_id = $1 AND en.role = '" role "' AND en.status = 'active')"
#define IN_SCHOOL_CLASS(role) "EXISTS (SELECT 1 FROM roster_enrollments en WHERE en.user_sourced_id = t.sourced_id " \
			      "AND en.school_sourced_id = $1 AND en.class_sourced_id = $2 AND en.role = '" role "' " \
			      "AND en.status = 'active')"
#define AT_SCHOOL(role) "EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id " \
			"AND ro.org_sourced_id = $1 AND ro.role = '" role "' AND ro.status = 'active')"
#define CLASSES_OF_USER "EXISTS (SELECT 1 FROM roster_enrollments en WHERE en.class_sourced_id = t.sourced_id " \
			"AND en.user_sourced_id = $1 AND en.status = 'active')"
#define USER_WITH_ROLE(role) "SELECT 1 FROM roster_roles WHERE user_sourced_id = $1 AND role = '" role "'"

static const struct endpoint endpoints[] = {
	{"academicSessions", &ra_sessions, NULL, SC_READ, NULL, NULL},
	{"academicSessions/*", &ra_sessions, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"classes", &ra_classes, NULL, SC_READ, NULL, NULL},
	{"classes/*", &ra_classes, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"classes/*/students", &ra_users, IN_CLASS("student"), SC_ROSTER, IS_CLASS, "class"},
	{"classes/*/teachers", &ra_users, IN_CLASS("teacher"), SC_ROSTER, IS_CLASS, "class"},
	{"courses", &ra_courses, NULL, SC_READ, NULL, NULL},
	{"courses/*", &ra_courses, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"courses/*/classes", &ra_classes, "t.course_sourced_id = $1", SC_ROSTER,
	 "SELECT 1 FROM roster_courses WHERE sourced_id = $1", "course"},
	{"demographics", &ra_demographics, NULL, SC_DEMOGRAPHICS, NULL, NULL},
	{"demographics/*", &ra_demographics, "t.sourced_id = $1", SC_DEMOGRAPHICS, NULL, NULL},
	{"enrollments", &ra_enrollments, NULL, SC_READ, NULL, NULL},
	{"enrollments/*", &ra_enrollments, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"gradingPeriods", &ra_sessions, "t.type = 'gradingPeriod'", SC_READ, NULL, NULL},
	{"gradingPeriods/*", &ra_sessions, "t.sourced_id = $1 AND t.type = 'gradingPeriod'", SC_READ, NULL, NULL},
	{"orgs", &ra_orgs, NULL, SC_READ, NULL, NULL},
	{"orgs/*", &ra_orgs, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"schools", &ra_orgs, "t.type = 'school'", SC_READ, NULL, NULL},
	{"schools/*", &ra_orgs, "t.sourced_id = $1 AND t.type = 'school'", SC_READ, NULL, NULL},
	{"schools/*/classes", &ra_classes, "t.school_sourced_id = $1", SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/courses", &ra_courses, "t.org_sourced_id = $1", SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/enrollments", &ra_enrollments, "t.school_sourced_id = $1", SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/students", &ra_users, AT_SCHOOL("student"), SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/teachers", &ra_users, AT_SCHOOL("teacher"), SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/terms", &ra_sessions, "t.type = 'term' AND EXISTS (SELECT 1 FROM roster_classes c "
	 "WHERE c.school_sourced_id = $1 AND t.sourced_id = ANY(c.term_sourced_ids))", SC_ROSTER, IS_SCHOOL, "school"},
	{"schools/*/classes/*/enrollments", &ra_enrollments, "t.school_sourced_id = $1 AND t.class_sourced_id = $2",
	 SC_ROSTER, "SELECT 1 FROM roster_classes WHERE school_sourced_id = $1 AND sourced_id = $2", "class"},
	{"schools/*/classes/*/students", &ra_users, IN_SCHOOL_CLASS("student"), SC_ROSTER,
	 "SELECT 1 FROM roster_classes WHERE school_sourced_id = $1 AND sourced_id = $2", "class"},
	{"schools/*/classes/*/teachers", &ra_users, IN_SCHOOL_CLASS("teacher"), SC_ROSTER,
	 "SELECT 1 FROM roster_classes WHERE school_sourced_id = $1 AND sourced_id = $2", "class"},
	{"students", &ra_users, HAS_ROLE("student"), SC_READ, NULL, NULL},
	{"students/*", &ra_users, "t.sourced_id = $1 AND " HAS_ROLE("student"), SC_READ, NULL, NULL},
	{"students/*/classes", &ra_classes, CLASSES_OF_USER, SC_ROSTER, USER_WITH_ROLE("student"), "student"},
	{"teachers", &ra_users, HAS_ROLE("teacher"), SC_READ, NULL, NULL},
	{"teachers/*", &ra_users, "t.sourced_id = $1 AND " HAS_ROLE("teacher"), SC_READ, NULL, NULL},
	{"teachers/*/classes", &ra_classes, CLASSES_OF_USER, SC_ROSTER, USER_WITH_ROLE("teacher"), "teacher"},
	{"terms", &ra_sessions, "t.type = 'term'", SC_READ, NULL, NULL},
	{"terms/*", &ra_sessions, "t.sourced_id = $1 AND t.type = 'term'", SC_READ, NULL, NULL},
	{"terms/*/classes", &ra_classes, "$1 = ANY(t.term_sourced_ids)", SC_ROSTER,
	 "SELECT 1 FROM roster_academic_sessions WHERE sourced_id = $1 AND type = 'term'", "term"},
	{"terms/*/gradingPeriods", &ra_sessions, "t.type = 'gradingPeriod' AND t.parent_sourced_id = $1", SC_ROSTER,
	 "SELECT 1 FROM roster_academic_sessions WHERE sourced_id = $1 AND type = 'term'", "term"},
	{"users", &ra_users, NULL, SC_READ, NULL, NULL},
	{"users/*", &ra_users, "t.sourced_id = $1", SC_READ, NULL, NULL},
	{"users/*/classes", &ra_classes, CLASSES_OF_USER, SC_ROSTER, "SELECT 1 FROM roster_users WHERE sourced_id = $1",
	 "user"},
};
#define NENDPOINTS ((int)(sizeof endpoints / sizeof endpoints[0]))

/* The state of one API call, carried to the audit row. */
struct call {
	req *r;
	struct api_caller who;
	const char *filter;
	int authed;
};

static void roster_api_write(struct call *c, const struct ra_entity *e, const char *id, int del);

static void imsx_error(struct call *c, int status, const char *code_minor, const char *desc, const char *field)
{
	req *r = c->r;
	res_json(r, status, ra_status_info(code_minor, desc, field));
	json_object *d = json_object_new_object();
	if (c->filter) json_object_object_add(d, "filter", json_object_new_string(c->filter));
	if (r->query_string && *r->query_string)
		json_object_object_add(d, "query", json_object_new_string(r->query_string));
	json_object_object_add(d, "error", json_object_new_string(code_minor));
	int write = !strcmp(r->method, "PUT") || !strcmp(r->method, "DELETE");
	audit_record(r, c->who.actor[0] ? c->who.actor : "anonymous", write ? "roster.write" : "roster.read", r->path, d,
		     status, -1);
	json_object_put(d);
}

/* the base the caller used: the official path or the seed's alias */
static const char *base_path(const req *r)
{
	size_t n = strlen(RA_SEED_PATH);
	return !strncmp(r->path, RA_SEED_PATH, n) && (r->path[n] == '/' || !r->path[n]) ? RA_SEED_PATH : RA_BASE_PATH;
}

/* Split the raw path after the base into decoded segments; match against the endpoint table.
 * Returns the endpoint (ids filled) or NULL. */
static const struct endpoint *route_endpoint(req *r, const char **ids, int *nids, const char **segs_out,
					     int *nsegs_out)
{
	const char *p = r->path + strlen(base_path(r));
	if (*p != '/') return NULL;
	p++;
	const char *segs[8];
	int n = 0;
	while (*p) {
		if (n == 8) return NULL;
		size_t len = strcspn(p, "/");
		if (len == 0) return NULL;
		segs[n] = url_decode(r->a, p, len);
		/* a sourcedId is UTF-8 text: %FF or %00 would reach PostgreSQL as an invalid string (a 500) */
		if (memmem(p, len, "%00", 3) || !video_utf8_valid(segs[n], strlen(segs[n]))) return NULL;
		n++;
		p += len;
		if (*p == '/') { p++; if (!*p) break; }   /* tolerate one trailing slash */
	}
	if (n == 0) return NULL;
	for (int i = 0; i < NENDPOINTS; i++) {
		const char *q = endpoints[i].path;
		int k = 0, ok = 1;
		*nids = 0;
		while (*q && ok) {
			size_t len = strcspn(q, "/");
			if (k >= n) { ok = 0; break; }
			if (len == 1 && *q == '*') ids[(*nids)++] = segs[k];
			else if (strlen(segs[k]) != len || strncmp(segs[k], q, len)) ok = 0;
			k++;
			q += len;
			if (*q == '/') q++;
		}
		if (ok && k == n) {
			for (int j = 0; j < n; j++) segs_out[j] = segs[j];
			*nsegs_out = n;
			return &endpoints[i];
		}
	}
	for (int j = 0; j < n; j++) segs_out[j] = segs[j];
	*nsegs_out = n;
	return NULL;
}

static int is_single(const struct endpoint *ep)
{
	size_t n = strlen(ep->path);
	return n >= 2 && !strcmp(ep->path + n - 2, "/*");
}

static const char *href_base(req *r)
{
	const char *pub = cfg.public_url && *cfg.public_url ? cfg.public_url : "";
	size_t n = strlen(pub);
	if (n && pub[n - 1] == '/') n--;
	return arena_printf(r->a, "%.*s%s", (int)n, pub, base_path(r));
}

/* A filter on status or dateLastModified is a delta/tombstone query: then tobedeleted rows are returned too;
 * otherwise collections list active records only. */
static int wants_all_statuses(const struct roster_query *q)
{
	for (int i = 0; i < q->npred; i++) {
		const char *n = q->pred[i].field->name;
		if (!strcmp(n, "status") || !strcmp(n, "dateLastModified")) return 1;
	}
	return 0;
}

static const char **row_values(req *r, PGresult *res, int row)
{
	int nf = PQnfields(res);
	const char **v = arena_alloc(r->a, sizeof *v * (size_t)(nf ? nf : 1));
	for (int i = 0; i < nf; i++) v[i] = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);
	return v;
}

/* Link header (RFC 8288): first/prev/next/last, keeping every other query parameter. */
static void link_header(req *r, const struct roster_query *q, long total)
{
	buf keep = {0};
	for (int i = 0; i < r->nquery; i++) {
		if (!strcmp(r->query[i].k, "offset") || !strcmp(r->query[i].k, "limit")) continue;
		const char *const kv[] = {url_encode(r->a, r->query[i].k), "=", url_encode(r->a, r->query[i].v), "&"};
		for (int k = 0; k < 4; k++) buf_puts(&keep, kv[k]);
	}
	const char *base = arena_printf(r->a, "%s?%slimit=%ld&offset=", r->path, keep.p ? keep.p : "", q->limit);
	buf_free(&keep);
	long last = total > 0 ? ((total - 1) / q->limit) * q->limit : 0, prev = q->offset - q->limit;
	const char *p = q->offset > 0 ? arena_printf(r->a, ", <%s%ld>; rel=\"prev\"", base, prev > 0 ? prev : 0) : "";
	const char *n = q->offset + q->limit < total
		? arena_printf(r->a, ", <%s%ld>; rel=\"next\"", base, q->offset + q->limit) : "";
	res_header(r, "Link", arena_printf(r->a, "<%s0>; rel=\"first\"%s%s, <%s%ld>; rel=\"last\"", base, p, n, base, last));
}

static int parent_exists(const struct endpoint *ep, const char **ids, int nids)
{
	PGresult *res = db_exec(ep->parent_sql, nids, ids);
	if (!res) return -1;
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) > 0 : -1;
	PQclear(res);
	return ok;
}

/* ---- result cache ----
 * Collection pages and X-Total-Count values are kept in Redis under a key made of the SQL, its parameters and the
 * roster generation: the newest dateLastModified of every roster table and the tables' change counters (re-read at
 * most once a second per worker), and the Redis counter roster:gen, bumped after the commit of every import and
 * API write. A delta query (filter on dateLastModified or status) reads roster:gen on every request, so a polling
 * client never gets a page from before a write the app committed ahead of its request: the counter moves after the
 * commit and the page under the new key is computed after that read. Other pages read it with the once-a-second
 * part, or at once when a worker of this host wrote (shared_writes). Changes made outside the app (psql) show
 * within a second, or once their session flushes its table statistics (up to 10 s while it sits idle). Redis
 * down: no caching, same answers. */

static char gen_db[360];
static char gen_value[400];
static double gen_at = -10;
static volatile unsigned long *shared_writes;   /* bumped by a worker of this host after its roster write committed */
static unsigned long seen_writes;

int roster_cache_shared_init(void)
{
	if (shared_writes) return 0;
	void *p = mmap(NULL, sizeof *shared_writes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	shared_writes = p;
	return 0;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void roster_cache_changed(void)
{
	redisReply *rep = cache_cmd("INCR roster:gen");
	if (rep) freeReplyObject(rep);
	gen_at = -10;
	/* after the INCR: a worker that sees the new count reads the new roster:gen */
	if (shared_writes) __atomic_add_fetch(shared_writes, 1, __ATOMIC_SEQ_CST);
}

/* The generation: the database part (newest dateLastModified per table and the write counters, read at most once
 * a second and after a write by this host), then roster:gen from Redis, which every import increments. */
static int gen_db_fresh(void)
{
	double now = now_mono();
	unsigned long writes = shared_writes ? __atomic_load_n(shared_writes, __ATOMIC_SEQ_CST) : 0;
	int stale = now - gen_at >= 1.0 || !gen_db[0] || writes != seen_writes;
	seen_writes = writes;
	if (!stale) return 0;
	PGresult *res = db_exec_prepared("SELECT concat_ws('/', (SELECT max(date_last_modified) FROM roster_orgs), "
				 "(SELECT max(date_last_modified) FROM roster_academic_sessions), "
				 "(SELECT max(date_last_modified) FROM roster_courses), "
				 "(SELECT max(date_last_modified) FROM roster_classes), "
				 "(SELECT max(date_last_modified) FROM roster_users), "
				 "(SELECT max(date_last_modified) FROM roster_roles), "
				 "(SELECT max(date_last_modified) FROM roster_user_profiles), "
				 "(SELECT max(date_last_modified) FROM roster_enrollments), "
				 "(SELECT max(date_last_modified) FROM roster_demographics), "
				 /* changes that keep dateLastModified (hard deletes, a long import committing with an
				  * older timestamp) still move the statistics counters, flushed within a second or so */
				 "(SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables "
				 " WHERE relname IN ('roster_orgs', 'roster_academic_sessions', 'roster_courses', "
				 "'roster_classes', 'roster_users', 'roster_roles', 'roster_user_profiles', "
				 "'roster_enrollments', 'roster_demographics')))", 0, NULL);   /* planning it cost more than running it */
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res) PQclear(res);
		return -1;
	}
	snprintf(gen_db, sizeof gen_db, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	gen_at = now;
	gen_value[0] = 0;   /* the Redis part is read again with it */
	return 0;
}

/* gen_value: gen_db joined with Redis's answer to GET roster:gen; empty when Redis did not answer (then nothing is
 * cached until it does) */
static void gen_join(const redisReply *rep)
{
	gen_value[0] = 0;
	if (rep && (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_NIL))
		snprintf(gen_value, sizeof gen_value, "%s|%s", gen_db, rep->type == REDIS_REPLY_STRING ? rep->str : "0");
}

/* for pages other than deltas: the generation as last read (at most a second old, or older by this host's own
 * writes not at all); NULL when it can not be known (then nothing is cached) */
static const char *roster_generation(void)
{
	if (gen_db_fresh() < 0) return NULL;
	if (!gen_value[0]) {
		redisReply *rep = cache_cmd("GET roster:gen");
		gen_join(rep);
		if (rep) freeReplyObject(rep);
	}
	return gen_value[0] ? gen_value : NULL;
}

static const char *cache_key(req *r, const char *kind, const char *sql, const char **params, int np, const char *gen,
			     const char *base)
{
	buf b = {0};   /* appended, not printed: the SQL is long (see arena_printf) */
	const char *head[] = {gen, "\n", base, "\n", sql, "\n"};
	for (size_t i = 0; i < sizeof head / sizeof *head; i++) buf_puts(&b, head[i]);
	for (int i = 0; i < np; i++) {
		buf_puts(&b, params[i] ? params[i] : "\x1e");
		buf_append(&b, "\x1f", 1);
	}
	char hex[65];
	sha256_hex(b.p, b.len, hex);
	buf_free(&b);
	return arena_printf(r->a, "rapi:%s:%s", kind, hex);
}

static int cache_seconds(void) { return (int)config_get_int("roster_api_cache_seconds", 60); }

/* The cached text for key, copied into the arena, or NULL. */
static char *cache_fetch(req *r, const char *key, size_t *len)
{
	redisReply *rep = cache_cmd("GET %s", key);
	char *v = NULL;
	if (rep && rep->type == REDIS_REPLY_STRING) {
		v = arena_strndup(r->a, rep->str, rep->len);
		*len = rep->len;
	}
	if (rep) freeReplyObject(rep);
	return v;
}

static void cache_store(const char *key, const char *val, size_t len)
{
	redisReply *rep = cache_cmd("SETEX %s %d %b", key, cache_seconds(), val, len);
	if (rep) freeReplyObject(rep);
}

/* Hot pages are also kept in the worker itself (keys include the generation, so they age out with it). Delta
 * windows live only here: since a poll's since is moved to the next change, a few dozen windows serve every
 * client between two imports, so there are slots for them (a page of 100 users is ~60 KB). */
#define LOCAL_PAGES 64
#define LOCAL_PAGE_MAX (128 * 1024)   /* at most 8 MB per worker (RSS budget 32 MB) */
/* a kept page; an answer being sent holds a reference too (res_body_shared), so eviction frees it only after that.
 * gz: its body gzipped, made at the first request that accepts gzip (learning tools do): sent as it is, a page is
 * 4 KB instead of 60 (nginx compressing every answer again had cost a third of the throughput) */
struct local_page { int refs; size_t len; char *gz; size_t gzlen; char val[]; };
static struct { char key[80]; struct local_page *page; double at; } local_pages[LOCAL_PAGES];

static void local_page_unref(void *p)
{
	struct local_page *pg = p;
	if (--pg->refs == 0) {
		free(pg->gz);
		free(pg);
	}
}

/* A cached page is "total rows\n" and the body: the body's start, or NULL for a malformed entry. Parsed from a short
 * copy of the head: sscanf on the entry itself would first measure all of its ~60 KB. */
static const char *page_head(const char *v, size_t len, long *total, long *nrows)
{
	char head[48];
	size_t n = len < sizeof head - 1 ? len : sizeof head - 1;
	memcpy(head, v, n);
	head[n] = 0;
	int used;
	if (sscanf(head, "%ld %ld%n", total, nrows, &used) != 2 || head[used] != '\n') return NULL;
	return v + used + 1;
}

/* the worker's own copy; the caller takes a reference when it answers from it */
static struct local_page *local_fetch(const char *key)
{
	double now = now_mono();
	for (int i = 0; i < LOCAL_PAGES; i++)
		if (local_pages[i].page && !strcmp(local_pages[i].key, key) && now - local_pages[i].at < cache_seconds())
			return local_pages[i].page;
	return NULL;
}

static void local_store(const char *key, const char *val, size_t len)
{
	if (len > LOCAL_PAGE_MAX || strlen(key) >= sizeof local_pages[0].key) return;
	int slot = 0;
	for (int i = 0; i < LOCAL_PAGES; i++) {
		if (!local_pages[i].page) { slot = i; break; }
		if (local_pages[i].at < local_pages[slot].at) slot = i;
	}
	struct local_page *pg = malloc(sizeof *pg + len + 1);
	if (!pg) return;
	pg->refs = 1;
	pg->len = len;
	pg->gz = NULL;
	pg->gzlen = 0;
	memcpy(pg->val, val, len);
	pg->val[len] = 0;
	if (local_pages[slot].page) local_page_unref(local_pages[slot].page);
	snprintf(local_pages[slot].key, sizeof local_pages[slot].key, "%s", key);
	local_pages[slot].page = pg;
	local_pages[slot].at = now_mono();
}

/* The key query of a page: its sourcedIds in order ($np-1 the limit, $np the offset), and with total the count of all
 * matching rows beside each. A total reads every matching row anyway, so the page is cut by row_number, not by
 * LIMIT: PostgreSQL 15 costs a LIMIT above count(*) OVER () as if the scan stopped early, and picked a walk of the
 * whole primary key in sourcedId order (47 ms over 200,000 users) over the (dateLastModified, sourcedId) range of
 * a delta window and a sort of its 3,800 rows (3 ms). */
static const char *keys_sql(req *r, const struct ra_entity *e, const char *where_sql, const char *order, int np,
			    int total)
{
	if (!total)
		return arena_printf(r->a, "SELECT t.sourced_id FROM %s t WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
				    e->table, where_sql, order, np - 1, np);
	return arena_printf(r->a, "SELECT k.sourced_id, k.total FROM (SELECT t.sourced_id, count(*) OVER () AS total, "
			    "row_number() OVER (ORDER BY %s) AS rn FROM %s t WHERE %s) k WHERE k.rn > $%d::bigint AND "
			    "k.rn <= $%d::bigint + $%d::bigint ORDER BY k.rn", order, e->table, where_sql, np, np, np - 1);
}

/* A page in two statements, for filters that must be planned with their values (a delta window, lists, an
 * offset): the key query is quick to plan; the wide SELECT (roles, profiles, children subqueries) is prepared once
 * per field selection and looks up the page's sourcedIds in order. Planning the whole statement on every request
 * cost several times what running it did. With total, the key query also counts the matching rows
 * (count(*) OVER ()): a delta window is read whole to sort it anyway, so the count costs nothing more. */
static PGresult *page_by_keys(req *r, const struct ra_entity *e, const struct roster_query *q, const char *where_sql,
			      const char *order, int np, const char *const *params, long *total)
{
	const char *key_sql = keys_sql(r, e, where_sql, order, np, total != NULL);
	PGresult *keys = db_exec(key_sql, np, params);
	int n = keys && PQresultStatus(keys) == PGRES_TUPLES_OK ? PQntuples(keys) : 0;
	if (!n) return keys;
	if (total) *total = strtol(PQgetvalue(keys, 0, 1), NULL, 10);
	const char **ids = arena_alloc(r->a, sizeof *ids * (size_t)n);
	for (int i = 0; i < n; i++) ids[i] = PQgetvalue(keys, i, 0);
	const char *arr[1] = {db_text_array(r->a, ids, n)};
	PQclear(keys);
	const char *wide = arena_printf(r->a, "SELECT %s FROM unnest($1::text[]) WITH ORDINALITY k(id, n) JOIN %s t "
				       "ON t.sourced_id = k.id ORDER BY k.n", ra_select_sql(r->a, e, q), e->table);
	return db_exec_prepared(wide, 1, arr);
}

/* ---- row cache ----
 * A delta window or an offset page is rarely asked twice (every client polls with its own since), but its records
 * are: each poll after an import reads the same changed records. So such pages keep each record's JSON text in a
 * Redis hash per roster generation, field selection and href base (the generation of the page cache, so a record
 * is never older than a cached page would be). Which records, and the total, come from the key query, or for a
 * plain delta window inside the table's newest 4,096 changes from the worker's copy of those (recent_window); the
 * wide query and the JSON mapping run only for records not cached yet. The hash expires
 * roster_api_cache_seconds after it was made, however often it is read or extended. */
static int recent_window(req *r, const struct ra_entity *e, const struct roster_query *q, const char *gen,
			 const char ***ids, int *n, long *total);

static int rows_page(req *r, const struct ra_entity *e, const struct roster_query *q, int plain, const char *where_sql,
		     const char *order, int np, const char *const *params, const char *gen, const char *base,
		     long *total, buf *body, int *nrows)
{
	const char **ids;
	int n;
	if (!(plain && total && recent_window(r, e, q, gen, &ids, &n, total) == 0)) {
		const char *key_sql = keys_sql(r, e, where_sql, order, np, total != NULL);
		PGresult *keys = db_exec(key_sql, np, params);
		if (!keys || PQresultStatus(keys) != PGRES_TUPLES_OK) {
			if (keys) PQclear(keys);
			return -1;
		}
		n = PQntuples(keys);
		if (n && total) *total = strtol(PQgetvalue(keys, 0, 1), NULL, 10);
		ids = arena_alloc(r->a, sizeof *ids * (size_t)(n + 2));
		for (int i = 0; i < n; i++) ids[i + 2] = arena_strdup(r->a, PQgetvalue(keys, i, 0));
		PQclear(keys);
	}
	const char **json = arena_alloc(r->a, sizeof *json * (size_t)(n + 1));
	for (int i = 0; i < n; i++) json[i] = NULL;
	/* k.n, the last column, says which requested record a row is (one deleted meanwhile is simply missing) */
	const char *wide = arena_printf(r->a, "SELECT %s, k.n FROM unnest($1::text[]) WITH ORDINALITY k(id, n) JOIN %s t "
				       "ON t.sourced_id = k.id ORDER BY k.n", ra_select_sql(r->a, e, q), e->table);
	char hex[65];
	const char *hk = arena_printf(r->a, "%s\n%s\n%s", gen, base, wide);
	sha256_hex(hk, strlen(hk), hex);
	const char *hash = arena_printf(r->a, "rapi:rows:%s", hex);
	if (n) {
		ids[0] = "HMGET";
		ids[1] = hash;
		redisReply *rep = cache_cmd_argv(n + 2, ids, NULL);
		if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == (size_t)n)
			for (int i = 0; i < n; i++)
				if (rep->element[i]->type == REDIS_REPLY_STRING)
					json[i] = arena_strndup(r->a, rep->element[i]->str, rep->element[i]->len);
		if (rep) freeReplyObject(rep);
	}
	int nmiss = 0;
	const char **miss = arena_alloc(r->a, sizeof *miss * (size_t)(n + 1));
	int *miss_at = arena_alloc(r->a, sizeof *miss_at * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		if (!json[i]) { miss[nmiss] = ids[i + 2]; miss_at[nmiss++] = i; }
	if (nmiss) {
		const char *arr[1] = {db_text_array(r->a, miss, nmiss)};
		PGresult *res = db_exec_prepared(wide, 1, arr);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
			if (res) PQclear(res);
			return -1;
		}
		int nf = PQnfields(res), nset = 2;
		const char **set = arena_alloc(r->a, sizeof *set * (size_t)(2 * nmiss + 2));
		for (int j = 0; j < PQntuples(res); j++) {
			long k = strtol(PQgetvalue(res, j, nf - 1), NULL, 10) - 1;
			if (k < 0 || k >= nmiss) continue;
			json_object *o = ra_row_json(e, q, row_values(r, res, j), base);
			json[miss_at[k]] = arena_strdup(r->a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
											      JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
			set[nset++] = miss[k];
			set[nset++] = json[miss_at[k]];
		}
		PQclear(res);
		if (nset > 2) {
			set[0] = "HSET";
			set[1] = hash;
			redisReply *rep = cache_cmd_argv(nset, set, NULL);
			if (rep) freeReplyObject(rep);
			rep = cache_cmd("EXPIRE %s %d NX", hash, cache_seconds());
			/* a Redis before 7 knows no NX: then each write extends the hash's life, but it never lives forever */
			if (rep && rep->type == REDIS_REPLY_ERROR) {
				freeReplyObject(rep);
				rep = cache_cmd("EXPIRE %s %d", hash, cache_seconds());
			}
			if (rep) freeReplyObject(rep);
		}
	}
	/* the page as json-c would print it: {"coll":[row,row]} */
	buf_printf(body, "{\"%s\":[", e->coll);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (!json[i]) continue;
		if (k++) buf_append(body, ",", 1);
		buf_puts(body, json[i]);
	}
	buf_puts(body, "]}");
	*nrows = k;
	return 0;
}

static void read_audit(struct call *c, long count)
{
	req *r = c->r;
	json_object *d = json_object_new_object();
	if (c->filter) json_object_object_add(d, "filter", json_object_new_string(c->filter));
	if (r->query_string && *r->query_string)
		json_object_object_add(d, "query", json_object_new_string(r->query_string));
	audit_record(r, c->who.actor, "roster.read", r->path, d, 200, count);
	json_object_put(d);
}

/* Answer a collection page: body, X-Total-Count, Link. */
static void send_page(struct call *c, const struct roster_query *q, const char *body, size_t len, long total,
		      long nrows, struct local_page *pg)
{
	req *r = c->r;
	int gzip = pg && http_accepts_gzip(req_header(r, "Accept-Encoding"));
	if (gzip && !pg->gz) pg->gz = http_gzip(body, len, &pg->gzlen);
	if (gzip && pg->gz) {
		pg->refs++;
		res_body_shared(r, 200, "application/json; charset=utf-8", pg->gz, pg->gzlen, local_page_unref, pg);
		res_header(r, "Content-Encoding", "gzip");
	} else if (pg) {   /* a worker-kept page: sent from where it is, not copied (a tenth of the worker's time) */
		pg->refs++;
		res_body_shared(r, 200, "application/json; charset=utf-8", body, len, local_page_unref, pg);
	} else {
		res_body(r, 200, "application/json; charset=utf-8", body, len);
	}
	res_header(r, "Vary", "Accept-Encoding");
	res_header(r, "X-Total-Count", arena_printf(r->a, "%ld", total));
	link_header(r, q, total);
	read_audit(c, nrows);
}

/* Equality on plain columns only: a generic plan estimates those from the column statistics as a custom plan
 * would; lists, subqueries and ranges it can only guess. */
static int eq_only(const struct roster_query *q)
{
	for (int i = 0; i < q->npred; i++) {
		enum rf_type t = q->pred[i].field->type;
		if (q->pred[i].op != RF_EQ || t == RF_LIST || t == RF_EXISTS || t == RF_DATETIME) return 0;
	}
	return 1;
}

/* A delta poll names its own instant (dateLastModified > 'since'), and every client polls with another one, so its
 * page was never in the cache. The rows changed after an instant are the rows changed at or after the first change
 * that follows it, so the instant is moved to that change (a binary search in the table's recent instants, or one
 * probe of the (date_last_modified, sourced_id) index): polls that see the same changes share one window, one page
 * and one cache entry. It stays exact: a delta
 * request reads the generation afresh, a write after the probe changes the generation and so the key, and the
 * probe's answer is remembered per worker under the generation too (a client asking again skips the probe).
 * No change after the instant: the window is empty, spelled 'infinity'. -1: the database failed. */
#define SINCE_MEMO 64
static struct { char key[160]; char value[48]; int has_us; long long us; } since_memo[SINCE_MEMO];
static unsigned since_next;

/* The newest instants a table changed at (distinct, ascending, from its newest RECENT_ROWS rows), read once per
 * table and generation: a delta's since is then moved by a binary search, not an index probe per request (clients
 * poll with their own instants, so the memo below seldom holds theirs). They hold every instant from the first
 * on; a since before that is probed as before. */
#define RECENT_ROWS 4096
static struct recent {
	const char *table;
	char *gen;          /* malloc'd */
	int n;
	long long *us;      /* microseconds since 1970 */
	char (*text)[40];   /* PostgreSQL's text of each, as a probe would give it */
	/* the same rows one by one, in sourcedId order as PostgreSQL sorts it: a delta window inside them is cut here
	 * (recent_window), without a key query */
	int nrows, whole;   /* whole: they are every row with a dateLastModified */
	long long *row_us;
	char **row_id;      /* into ids, malloc'd */
	char *ids;
} recents[12];

struct instant_row { long long us; int row; };

static int by_instant(const void *a, const void *b)
{
	const struct instant_row *x = a, *y = b;
	return (x->us > y->us) - (x->us < y->us);
}

static struct recent *recent_changes(const char *table, const char *gen)
{
	struct recent *rc = NULL;
	for (size_t i = 0; i < sizeof recents / sizeof *recents && !rc; i++)
		if (!recents[i].table || !strcmp(recents[i].table, table)) rc = &recents[i];
	if (!rc) return NULL;
	if (rc->table && rc->gen && !strcmp(rc->gen, gen)) return rc;
	free(rc->gen);
	rc->gen = NULL;
	rc->table = table;
	rc->n = rc->nrows = 0;
	free(rc->ids);
	rc->ids = NULL;
	/* the rows in sourcedId order as PostgreSQL sorts it; the distinct instants are sorted out of them here */
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT sourced_id, (extract(epoch FROM date_last_modified) * 1000000)::bigint, "
		 "date_last_modified::text FROM (SELECT sourced_id, date_last_modified FROM %s WHERE date_last_modified "
		 "IS NOT NULL ORDER BY date_last_modified DESC LIMIT %d) x ORDER BY sourced_id", table, RECENT_ROWS);
	PGresult *res = db_exec_prepared(sql, 0, NULL);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) > RECENT_ROWS) {
		if (res) PQclear(res);
		return NULL;
	}
	int n = PQntuples(res);
	size_t bytes = 0;
	for (int i = 0; i < n; i++) bytes += (size_t)PQgetlength(res, i, 0) + 1;
	if (!rc->us) {
		rc->us = malloc(RECENT_ROWS * sizeof *rc->us);
		rc->text = malloc(RECENT_ROWS * sizeof *rc->text);
		rc->row_us = malloc(RECENT_ROWS * sizeof *rc->row_us);
		rc->row_id = malloc(RECENT_ROWS * sizeof *rc->row_id);
	}
	rc->ids = malloc(bytes + 1);
	struct instant_row *by = malloc((size_t)(n ? n : 1) * sizeof *by);
	if (!rc->us || !rc->text || !rc->row_us || !rc->row_id || !rc->ids || !by) {
		free(by);
		PQclear(res);
		return NULL;
	}
	char *at = rc->ids;
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)PQgetlength(res, i, 0);
		memcpy(at, PQgetvalue(res, i, 0), len + 1);
		rc->row_id[i] = at;
		at += len + 1;
		rc->row_us[i] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		by[i] = (struct instant_row){rc->row_us[i], i};
	}
	qsort(by, (size_t)n, sizeof *by, by_instant);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (!m || by[i].us != rc->us[m - 1]) {
			rc->us[m] = by[i].us;
			snprintf(rc->text[m++], sizeof rc->text[0], "%s", PQgetvalue(res, by[i].row, 2));
		}
	free(by);
	PQclear(res);
	rc->n = m;
	rc->nrows = n;
	rc->whole = n < RECENT_ROWS;
	rc->gen = strdup(gen);
	return rc->gen ? rc : NULL;
}

/* A plain delta page (the window's predicate alone, in sourcedId order) cut from the table's recent rows: its ids
 * (arena) and the window's total; -1 when the window reaches below the recent rows (then the key query answers).
 * The recent rows are the newest RECENT_ROWS by dateLastModified, so every row changed at or after an instant
 * later than their oldest one is among them; they are read under the generation, as the page cache is. */
static int recent_window(req *r, const struct ra_entity *e, const struct roster_query *q, const char *gen,
			 const char ***ids, int *n, long *total)
{
	const struct rf_pred *p = &q->pred[0];
	if (q->npred != 1 || q->sort || q->desc || p->op != RF_GE || !p->has_us || p->field->type != RF_DATETIME ||
	    strcmp(p->field->column, "t.date_last_modified"))
		return -1;
	long long since = p->us;
	struct recent *rc = recent_changes(e->table, gen);
	if (!rc || !rc->nrows || (!rc->whole && since <= rc->us[0])) return -1;
	*ids = arena_alloc(r->a, sizeof **ids * (size_t)(q->limit + 2));
	*n = 0;
	long seen = 0;
	for (int i = 0; i < rc->nrows; i++) {
		if (rc->row_us[i] < since) continue;
		if (seen >= q->offset && *n < q->limit) (*ids)[2 + (*n)++] = rc->row_id[i];
		seen++;
	}
	*total = seen;
	return 0;
}

static int canonical_since(req *r, const struct ra_entity *e, struct roster_query *q, const char *gen)
{
	for (int i = 0; i < q->npred; i++) {
		struct rf_pred *p = &q->pred[i];
		if (p->field->type != RF_DATETIME || strcmp(p->field->column, "t.date_last_modified") ||
		    (p->op != RF_GT && p->op != RF_GE))
			continue;
		char key[160];
		int kl = snprintf(key, sizeof key, "%s|%s|%s|%s", gen, e->table, p->op == RF_GT ? ">" : ">=", p->value);
		int fits = kl < (int)sizeof key, k = 0;
		while (fits && k < SINCE_MEMO && strcmp(since_memo[k].key, key)) k++;
		if (fits && k < SINCE_MEMO) {
			p->value = arena_strdup(r->a, since_memo[k].value);
			p->has_us = since_memo[k].has_us;
			p->us = since_memo[k].us;
			p->op = RF_GE;
			continue;
		}
		struct recent *rc = recent_changes(e->table, gen);
		long long since;
		int at;
		if (rc && rf_datetime_us(p->value, &since) == 0 &&
		    (at = rf_first_change(rc->us, rc->n, since, p->op == RF_GE)) >= 0) {
			p->value = at == rc->n ? "infinity" : arena_strdup(r->a, rc->text[at]);
			p->has_us = at < rc->n;
			p->us = at < rc->n ? rc->us[at] : 0;
			p->op = RF_GE;
			continue;
		}
		const char *sql = arena_printf(r->a, "SELECT min(date_last_modified) FROM %s WHERE date_last_modified %s "
					       "$1::timestamptz", e->table, p->op == RF_GT ? ">" : ">=");
		PGresult *res = DB_PREP(sql, p->value);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) { if (res) PQclear(res); return -1; }
		p->value = PQgetisnull(res, 0, 0) ? "infinity" : arena_strdup(r->a, PQgetvalue(res, 0, 0));
		p->op = RF_GE;
		PQclear(res);
		if (fits && strlen(p->value) < sizeof since_memo[0].value) {
			unsigned k = since_next++ % SINCE_MEMO;
			snprintf(since_memo[k].key, sizeof since_memo[k].key, "%s", key);
			snprintf(since_memo[k].value, sizeof since_memo[k].value, "%s", p->value);
			since_memo[k].has_us = 0;   /* a probe's answer: older than the recent rows, so not cut from them */
		}
	}
	return 0;
}

struct delta_call {
	struct call c;
	const struct endpoint *ep;
	const char *ids[4];
	int nids, gen_ok;
	struct roster_query q;
};
static void delta_resume(req *r, redisReply **rep);
static void api_page(struct call *c, const struct endpoint *ep, const char **ids, int nids, struct roster_query *qp,
		     const char *gen);

static void api_get(struct call *c, const struct endpoint *ep, const char **ids, int nids)
{
	req *r = c->r;
	const struct ra_entity *e = ep->e;
	struct roster_query q;
	struct rf_error err;
	int single = is_single(ep);
	memset(&err, 0, sizeof err);
	c->filter = req_query(r, "filter");
	int rc = single ? (memset(&q, 0, sizeof q), q.limit = 1, roster_fields_parse(r->a, e->fields, e->nfields,
										   req_query(r, "fields"), &q, &err))
			: roster_query_parse(r->a, e->fields, e->nfields, c->filter, req_query(r, "sort"),
					     req_query(r, "orderBy"), req_query(r, "fields"), req_query(r, "limit"),
					     req_query(r, "offset"), &q, &err);
	if (rc) { imsx_error(c, 400, err.code_minor, err.msg, err.param); return; }

	int delta = wants_all_statuses(&q);
	if (delta && !single && cache_seconds() > 0) {
		/* a delta reads roster:gen afresh (an import on any host must show at once): that GET is left to the
		 * server, which sends it in one pipeline with those of the other requests ready, and goes on in
		 * delta_resume */
		struct delta_call *d = arena_alloc(r->a, sizeof *d);
		d->c = *c;
		d->ep = ep;
		d->nids = nids;
		for (int i = 0; i < nids; i++) d->ids[i] = ids[i];
		d->q = q;
		d->gen_ok = gen_db_fresh() == 0;
		r->deferred_arg = d;
		const char **get = arena_alloc(r->a, 2 * sizeof *get);
		get[0] = "GET";
		get[1] = "roster:gen";
		req_defer_redis(r, 1, (const int[]){2}, (const char **const[]){get}, delta_resume);
		return;
	}
	api_page(c, ep, ids, nids, &q, single || cache_seconds() <= 0 ? NULL : roster_generation());
}

/* a delta once Redis answered for roster:gen */
static void delta_resume(req *r, redisReply **rep)
{
	struct delta_call *d = r->deferred_arg;
	d->c.r = r;
	const char *gen = NULL;
	if (d->gen_ok) {
		gen_join(rep[0]);   /* the freshest one, for the other pages too */
		gen = gen_value[0] ? arena_strdup(r->a, gen_value) : NULL;
	}
	api_page(&d->c, d->ep, d->ids, d->nids, &d->q, gen);
}

/* The page of a GET, from the caches under the generation gen (NULL: uncached). */
static void api_page(struct call *c, const struct endpoint *ep, const char **ids, int nids, struct roster_query *qp,
		     const char *gen)
{
	req *r = c->r;
	const struct ra_entity *e = ep->e;
	struct roster_query q = *qp;
	int single = is_single(ep), delta = wants_all_statuses(&q);
	if (gen && canonical_since(r, e, &q, gen) < 0) {
		imsx_error(c, 503, "server_busy", "database unavailable", NULL);
		return;
	}
	const char *params[8];
	int np = 0;
	for (int i = 0; i < nids; i++) params[np++] = ids[i];
	buf where = {0};
	buf_puts(&where, ep->where ? ep->where : "TRUE");
	const char *fsql = roster_filter_sql(r->a, &q, np + 1, params, &np);
	if (*fsql) buf_printf(&where, " AND %s", fsql);
	if (!single && !delta) buf_puts(&where, " AND t.status = 'active'");
	const char *where_sql = arena_strdup(r->a, where.p);
	buf_free(&where);
	char lim[24], off[24];
	snprintf(lim, sizeof lim, "%ld", q.limit);
	snprintf(off, sizeof off, "%ld", q.offset);
	params[np++] = lim;
	params[np++] = off;
	/* late row lookup: the filter, order and page pick sourcedIds only (narrow rows to sort, index-only where
	 * possible); the wide columns and subqueries are computed for the page's rows alone */
	const char *order = roster_order_sql(r->a, &q, "t.sourced_id");
	const char *sql = single
		? arena_printf(r->a, "SELECT %s FROM %s t WHERE %s LIMIT $%d OFFSET $%d", ra_select_sql(r->a, e, &q),
			       e->table, where_sql, np - 1, np)
		: arena_printf(r->a, "SELECT %s FROM %s t JOIN (SELECT t.sourced_id FROM %s t WHERE %s ORDER BY %s "
			       "LIMIT $%d OFFSET $%d) k ON k.sourced_id = t.sourced_id ORDER BY %s",
			       ra_select_sql(r->a, e, &q), e->table, e->table, where_sql, order, np - 1, np, order);
	const char *base = href_base(r);
	const char *page_key = gen ? cache_key(r, "page", sql, params, np, gen, base) : NULL;
	/* a prepared statement may run with a generic plan: fine for equality filters and a first page (the plan
	 * follows the index), a disaster for a range such as a delta window (planned for a third of the table) */
	int prep = q.offset == 0 && eq_only(&q);
	/* windows and offset pages are built from the row cache; their pages are kept in the worker only (the rows
	 * are in Redis already, and copying a whole page there again cost more than rebuilding it from the rows) */
	int by_rows = !single && !prep && gen;
	if (page_key) {
		size_t len;
		struct local_page *pg = local_fetch(page_key);
		const char *v = pg ? pg->val : NULL;
		if (pg) len = pg->len;
		else if (!by_rows && (v = cache_fetch(r, page_key, &len))) local_store(page_key, v, len);
		long total, nrows;
		const char *body_at;
		if (v && (body_at = page_head(v, len, &total, &nrows))) {
			send_page(c, &q, body_at, len - (size_t)(body_at - v), total, nrows, pg);
			return;
		}
	}

	if (ep->parent_sql) {
		int pe = parent_exists(ep, ids, nids);
		if (pe < 0) { imsx_error(c, 503, "server_busy", "database unavailable", NULL); return; }
		if (!pe) {
			imsx_error(c, 404, "unknownobject", arena_printf(r->a, "unknown %s: %s", ep->parent_type, ids[nids - 1]),
				   "sourcedId");
			return;
		}
	}
	long window_total = -1;
	int nrows = 0;
	const char *body = NULL;
	size_t blen = 0;
	json_object *o = NULL;
	if (by_rows) {
		buf rb = {0};
		if (rows_page(r, e, &q, !ep->where && nids == 0, where_sql, order, np, params, gen, base,
			      delta ? &window_total : NULL, &rb, &nrows) < 0) {
			buf_free(&rb);
			log_error("roster api query failed: %s", db_error());
			imsx_error(c, 500, "internal_server_error", "query failed", NULL);
			return;
		}
		body = arena_strndup(r->a, rb.p, rb.len);
		blen = rb.len;
		buf_free(&rb);
	} else {
		PGresult *res = prep ? db_exec_prepared(sql, np, params)
			: single ? db_exec(sql, np, params)
			: page_by_keys(r, e, &q, where_sql, order, np, params, delta ? &window_total : NULL);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("roster api query failed: %s", db_error());
			if (res) PQclear(res);
			imsx_error(c, 500, "internal_server_error", "query failed", NULL);
			return;
		}
		nrows = PQntuples(res);
		if (single) {
			if (nrows == 0) {
				PQclear(res);
				imsx_error(c, 404, "unknownobject", arena_printf(r->a, "unknown %s: %s", e->single, ids[0]),
					   "sourcedId");
				return;
			}
			o = json_object_new_object();
			json_object_object_add(o, e->single, ra_row_json(e, &q, row_values(r, res, 0), base));
			PQclear(res);
			res_json(r, 200, o);
			read_audit(c, 1);
			return;
		}
		json_object *arr = json_object_new_array_ext(nrows ? nrows : 1);
		for (int i = 0; i < nrows; i++) json_object_array_add(arr, ra_row_json(e, &q, row_values(r, res, i), base));
		PQclear(res);
		o = json_object_new_object();
		json_object_object_add(o, e->coll, arr);
		body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		blen = strlen(body);
	}

	/* X-Total-Count: a page that starts at 0 and is not full already knows the total; so does a delta page */
	long total = window_total >= 0 ? window_total : nrows;
	if (window_total < 0 && (q.offset > 0 || nrows >= q.limit)) {
		const char *csql = arena_printf(r->a, "SELECT count(*) FROM %s t WHERE %s", e->table, where_sql);
		const char *count_key = gen ? cache_key(r, "count", csql, params, np - 2, gen, "") : NULL;
		size_t len;
		char *v = count_key ? cache_fetch(r, count_key, &len) : NULL;
		if (v) total = strtol(v, NULL, 10);
		else {
			PGresult *cr = eq_only(&q) ? db_exec_prepared(csql, np - 2, params) : db_exec(csql, np - 2, params);
			if (cr && PQresultStatus(cr) == PGRES_TUPLES_OK) {
				total = strtol(PQgetvalue(cr, 0, 0), NULL, 10);
				if (count_key) cache_store(count_key, PQgetvalue(cr, 0, 0), strlen(PQgetvalue(cr, 0, 0)));
			} else log_error("roster api count failed: %s", db_error());
			if (cr) PQclear(cr);
		}
	}
	if (page_key) {
		buf cv = {0};
		buf_printf(&cv, "%ld %d\n", total, nrows);
		buf_append(&cv, body, blen);
		if (!by_rows) cache_store(page_key, cv.p, cv.len);
		local_store(page_key, cv.p, cv.len);
		buf_free(&cv);
	}
	send_page(c, &q, body, blen, total, nrows, NULL);
	if (o) json_object_put(o);
}

/* Authenticate; on failure answer and return -1. */
static int api_auth(struct call *c)
{
	const char *cm;
	char msg[160];
	long retry = 0;
	int st = oauth_authenticate(c->r, &c->who, &cm, msg, sizeof msg, &retry);
	if (st == 0) { c->authed = 1; return 0; }
	if (st == 429) res_header(c->r, "Retry-After", arena_printf(c->r->a, "%ld", retry > 0 ? retry : 1));
	if (st == 401) res_header(c->r, "WWW-Authenticate", "Bearer realm=\"oneroster\"");
	imsx_error(c, st, cm, msg, NULL);
	return -1;
}

void h_roster_api(req *r)
{
	struct call c = {.r = r};
	const char *ids[4], *segs[8];
	int nids = 0, nsegs = 0;
	if (api_auth(&c)) return;
	const struct endpoint *ep = route_endpoint(r, ids, &nids, segs, &nsegs);
	int write = !strcmp(r->method, "PUT") || !strcmp(r->method, "DELETE");
	if (write) {
		/* writes: PUT/DELETE /{collection}/{id} of a main entity, admins only */
		if (!c.who.is_admin) { imsx_error(&c, 403, "forbidden", "writes need an admin API token", NULL); return; }
		if (!ep || !is_single(ep) || ep->where == NULL || strcmp(ep->where, "t.sourced_id = $1")) {
			imsx_error(&c, 404, "unknownobject", "no writable collection at this path", NULL);
			return;
		}
		roster_api_write(&c, ep->e, ids[0], !strcmp(r->method, "DELETE"));
		return;
	}
	if (!ep) { imsx_error(&c, 404, "unknownobject", "unknown endpoint", NULL); return; }
	if (!(c.who.scopes & ep->scopes)) {
		char need[256];
		oauth_scopes_format(ep->scopes, 0, need, sizeof need);
		imsx_error(&c, 403, "forbidden", arena_printf(r->a, "insufficient scope: needs one of %s", need), NULL);
		return;
	}
	api_get(&c, ep, ids, nids);
}

/* Any other method, or a path outside the API, under /ims/oneroster/: the spec's imsx_StatusInfo payload (a
 * client parses that, not the app's error JSON), with Allow on a wrong method. */
void h_roster_api_other(req *r)
{
	struct call c = {.r = r};
	size_t nb = strlen(RA_BASE_PATH), ns = strlen(RA_SEED_PATH);
	int api = (!strncmp(r->path, RA_BASE_PATH, nb) && (r->path[nb] == '/' || !r->path[nb])) ||
		  (!strncmp(r->path, RA_SEED_PATH, ns) && (r->path[ns] == '/' || !r->path[ns]));
	if (api && strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		res_header(r, "Allow", "GET, HEAD, PUT, DELETE");
		imsx_error(&c, 405, "invaliddata", arena_printf(r->a, "method %s is not allowed here (allowed: GET, HEAD, "
							  "PUT, DELETE)", r->method), NULL);
		return;
	}
	imsx_error(&c, 404, "unknownobject", "unknown endpoint", NULL);
}

/* ---- writes ---- */

/* The CSV column a JSON member feeds: references ("parent": {"sourcedId"}) feed "parentSourcedId", reference lists
 * ("terms": [...]) feed "termSourcedIds"; users' preferredFirst/LastName are the CSV preferredGiven/FamilyName. */
static const char *json_key_for(arena *a, const char *csv)
{
	if (!strcmp(csv, "preferredGivenName")) return "preferredFirstName";
	if (!strcmp(csv, "preferredFamilyName")) return "preferredLastName";
	size_t n = strlen(csv);
	if (n > 10 && !strcmp(csv + n - 10, "SourcedIds")) return arena_printf(a, "%.*ss", (int)(n - 10), csv);
	if (n > 9 && !strcmp(csv + n - 9, "SourcedId") && strcmp(csv, "sourcedId"))
		return arena_strndup(a, csv, n - 9);
	return csv;
}

/* A reference given as {"sourcedId": x} or as the bare string x. */
static const char *ref_id(json_object *v)
{
	json_object *s;
	if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
	if (json_object_is_type(v, json_type_object) && json_object_object_get_ex(v, "sourcedId", &s) &&
	    json_object_is_type(s, json_type_string))
		return json_object_get_string(s);
	return NULL;
}

/* One JSON value as CSV cell text; NULL when the value has a shape the column can not take. */
static const char *cell_text(arena *a, const struct rs_col *col, json_object *v)
{
	if (!v || json_object_is_type(v, json_type_null)) return "";
	if (col->type == RS_LIST || col->type == RS_GUIDLIST || col->type == RS_USERIDS) {
		if (!json_object_is_type(v, json_type_array)) return NULL;
		buf b = {0};
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *it = json_object_array_get_idx(v, i);
			const char *s = NULL;
			json_object *ty, *id;
			if (col->type == RS_GUIDLIST) s = ref_id(it);
			else if (col->type == RS_USERIDS && json_object_is_type(it, json_type_object) &&
				 json_object_object_get_ex(it, "type", &ty) && json_object_object_get_ex(it, "identifier", &id))
				s = arena_printf(a, "{%s:%s}", json_object_get_string(ty), json_object_get_string(id));
			else if (json_object_is_type(it, json_type_string)) s = json_object_get_string(it);
			/* items are joined with commas, so an item may not contain one */
			if (!s || strchr(s, ',')) { buf_free(&b); return NULL; }
			buf_printf(&b, "%s%s", i ? "," : "", s);
		}
		const char *out = arena_strdup(a, b.p ? b.p : "");
		buf_free(&b);
		return out;
	}
	if (col->ref) return ref_id(v);
	if (json_object_is_type(v, json_type_boolean)) return json_object_get_boolean(v) ? "true" : "false";
	if (json_object_is_type(v, json_type_int)) return arena_printf(a, "%lld", (long long)json_object_get_int64(v));
	if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
	return NULL;
}

struct write_findings { arena *a; buf msg; int n; };

static void collect_finding(void *ud, const struct rr_finding *f)
{
	struct write_findings *w = ud;
	if (f->sev != RR_ERROR) return;
	if (w->n++ < 10) buf_printf(&w->msg, "%s%s [%s %s]", w->msg.len ? "; " : "", f->msg_en, f->rule, f->col);
}

static const struct rs_file *file_for(const struct ra_entity *e)
{
	for (int i = 0; i < RS_NFILES; i++)
		if (!strcmp(rs_files[i].table, e->table)) return &rs_files[i];
	return NULL;
}

static void write_audit(struct call *c, const char *op, int status)
{
	json_object *d = json_object_new_object();
	json_object_object_add(d, "op", json_object_new_string(op));
	audit_record(c->r, c->who.actor, "roster.write", c->r->path, d, status, status < 300 ? 1 : 0);
	json_object_put(d);
}

static void write_error(struct call *c, int status, const char *minor, const char *desc)
{
	res_json(c->r, status, ra_status_info(minor, desc, NULL));
	write_audit(c, !strcmp(c->r->method, "DELETE") ? "delete" : "put", status);
}

/* Users and enrollments decide platform accounts and their roles: keep those in step, in the same transaction. */
static int sync_accounts(const struct ra_entity *e)
{
	if ((e != &ra_users && e != &ra_enrollments) || !roster_sync_accounts) return 0;
	return roster_sync_accounts();
}

static void roster_api_delete(struct call *c, const struct ra_entity *e, const char *id)
{
	req *r = c->r;
	const char *sql = arena_printf(r->a, "UPDATE %s SET status = 'tobedeleted', date_last_modified = now() "
				       "WHERE sourced_id = $1 RETURNING status", e->table);
	if (db_begin() < 0) { write_error(c, 503, "server_busy", "database unavailable"); return; }
	PGresult *res = DB_EXEC(sql, id);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res) PQclear(res);
		db_rollback();
		write_error(c, 500, "internal_server_error", "delete failed");
		return;
	}
	int n = PQntuples(res);
	PQclear(res);
	if (!n) {
		db_rollback();
		write_error(c, 404, "unknownobject", arena_printf(r->a, "unknown %s: %s", e->single, id));
		return;
	}
	if (sync_accounts(e) < 0 || db_commit() < 0) {
		db_rollback();
		write_error(c, 500, "internal_server_error", "delete failed");
		return;
	}
	roster_cache_changed();
	res_body(r, 204, NULL, NULL, 0);
	write_audit(c, "delete", 204);
}

/* PUT: the JSON object is turned into the CSV row the importer would read, checked with the importer's rules
 * (roster_rules.h: required fields, types, code lists, Japan Profile), its references checked against stored
 * rows, then upserted as an active record with a new dateLastModified. */
static void roster_api_write(struct call *c, const struct ra_entity *e, const char *id, int del)
{
	req *r = c->r;
	if (del) { roster_api_delete(c, e, id); return; }
	const char *ct = r->content_type ? r->content_type : "";
	if (strncmp(ct, "application/json", 16)) {
		write_error(c, 415, "invaliddata", "Content-Type must be application/json");
		return;
	}
	json_object *obj;
	if (!r->json || !json_object_object_get_ex(r->json, e->single, &obj) || !json_object_is_type(obj, json_type_object)) {
		write_error(c, 400, "invaliddata", arena_printf(r->a, "the body must be {\"%s\": {...}}", e->single));
		return;
	}
	json_object *sid;
	if (json_object_object_get_ex(obj, "sourcedId", &sid) &&
	    (!json_object_is_type(sid, json_type_string) || strcmp(json_object_get_string(sid), id))) {
		write_error(c, 400, "invaliddata", "sourcedId in the body differs from the path");
		return;
	}
	const struct rs_file *f = file_for(e);
	if (!f) { write_error(c, 404, "unknownobject", "this collection is read-only"); return; }
	json_object *meta = NULL;
	json_object_object_get_ex(obj, "metadata", &meta);
	if (meta && !json_object_is_type(meta, json_type_object)) {
		write_error(c, 400, "invaliddata", "metadata must be an object");
		return;
	}
	/* header + row: the spec columns, then the known metadata columns present in the body */
	int n = 0;
	char **names = arena_alloc(r->a, sizeof *names * (size_t)(f->ncols + f->nmeta));
	char **vals = arena_alloc(r->a, sizeof *vals * (size_t)(f->ncols + f->nmeta));
	const struct rs_col **cols = arena_alloc(r->a, sizeof *cols * (size_t)(f->ncols + f->nmeta));
	for (int i = 0; i < f->ncols; i++) {
		const struct rs_col *col = &f->cols[i];
		const char *v;
		if (i == 0) v = id;
		else if (i == 1 || i == 2) v = "";
		else {
			json_object *jv = NULL;
			json_object_object_get_ex(obj, json_key_for(r->a, col->name), &jv);
			v = cell_text(r->a, col, jv);
			if (!v) {
				write_error(c, 400, "invaliddata", arena_printf(r->a, "%s has the wrong JSON type",
										 json_key_for(r->a, col->name)));
				return;
			}
		}
		names[n] = (char *)col->name;
		vals[n] = arena_strdup(r->a, v);
		cols[n++] = col;
	}
	for (int i = 0; meta && i < f->nmeta; i++) {
		json_object *jv;
		if (!json_object_object_get_ex(meta, f->meta[i].name + 9, &jv)) continue;
		const char *v = cell_text(r->a, &f->meta[i], jv);
		if (!v) { write_error(c, 400, "invaliddata", arena_printf(r->a, "%s has the wrong JSON type", f->meta[i].name)); return; }
		names[n] = (char *)f->meta[i].name;
		vals[n] = arena_strdup(r->a, v);
		cols[n++] = &f->meta[i];
	}
	struct write_findings w = {.a = r->a};
	struct rr_ctx rc;
	struct rr_header h;
	rr_init(&rc, collect_finding, &w, (int)config_get_int("roster_jp_rules", 1));
	const char *fname = arena_printf(r->a, "%s.csv", f->name);
	unsigned char *bad = arena_alloc(r->a, (size_t)n + 1);
	int deleted = 0;
	if (rr_header_map(&rc, f, fname, n, names, &h) == 0) rr_check_row(&rc, &h, 0, 1, n, vals, bad, &deleted);
	rr_header_free(&h);
	/* references must resolve to stored records */
	for (int i = 0; i < n && !rc.errors; i++) {
		if (!cols[i]->ref || !*vals[i]) continue;
		const struct rs_file *rf = rs_file_by_name(cols[i]->ref);
		if (!rf) continue;
		const char *q = arena_printf(r->a, "SELECT count(DISTINCT sourced_id) = cardinality(string_to_array($1, ',')) "
					     "FROM %s WHERE sourced_id = ANY(string_to_array($1, ','))", rf->table);
		PGresult *res = DB_EXEC(q, vals[i]);
		int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
		if (res) PQclear(res);
		if (!ok) {
			rc.errors++;
			buf_printf(&w.msg, "%s%s refers to an unknown record: %s", w.msg.len ? "; " : "", names[i], vals[i]);
		}
	}
	if (rc.errors) {
		write_error(c, 400, "invaliddata", w.msg.p ? w.msg.p : "invalid data");
		buf_free(&w.msg);
		return;
	}
	buf_free(&w.msg);

	/* upsert: typed casts from the schema, lists split on commas, metadata as given */
	buf cl = {0}, vl = {0}, up = {0};
	const char **params = arena_alloc(r->a, sizeof *params * (size_t)(n + 2));
	int np = 0;
	for (int i = 0; i < f->ncols; i++) {
		const struct rs_col *col = &f->cols[i];
		if (!col->column) continue;
		params[np++] = *vals[i] ? vals[i] : NULL;
		const char *t = rs_sql_type(col->type);
		if (t && !strcmp(t, "text[]"))
			buf_printf(&vl, "%scoalesce(string_to_array($%d, ','), '{}')", np > 1 ? ", " : "", np);
		else if (col->type == RS_YEAR || col->type == RS_INT)
			buf_printf(&vl, "%s$%d::integer", np > 1 ? ", " : "", np);
		else buf_printf(&vl, "%s$%d%s%s", np > 1 ? ", " : "", np, t ? "::" : "", t ? t : "");
		buf_printf(&cl, "%s%s", np > 1 ? ", " : "", col->column);
		if (strcmp(col->column, "sourced_id")) buf_printf(&up, "%s = EXCLUDED.%s, ", col->column, col->column);
	}
	params[np++] = meta ? json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN) : "{}";
	const char *sql = arena_printf(r->a, "INSERT INTO %s (%s, metadata, status, date_last_modified) "
				       "VALUES (%s, $%d::jsonb, 'active', now()) ON CONFLICT (sourced_id) DO UPDATE SET "
				       "%smetadata = EXCLUDED.metadata, status = 'active', date_last_modified = now() "
				       "RETURNING (xmax = 0)", e->table, cl.p, vl.p, np, up.p ? up.p : "");
	buf_free(&cl);
	buf_free(&vl);
	buf_free(&up);
	if (db_begin() < 0) { write_error(c, 503, "server_busy", "database unavailable"); return; }
	PGresult *res = db_exec(sql, np, params);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("roster api write failed: %s", db_error());
		if (res) PQclear(res);
		db_rollback();
		write_error(c, 400, "invaliddata", "the record could not be stored");
		return;
	}
	int created = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (sync_accounts(e) < 0 || db_commit() < 0) {
		db_rollback();
		write_error(c, 500, "internal_server_error", "the record could not be stored");
		return;
	}
	roster_cache_changed();
	json_object *o = json_object_new_object();
	json_object *pair = json_object_new_object();
	json_object_object_add(pair, "suppliedSourcedId", json_object_new_string(id));
	json_object_object_add(pair, "allocatedSourcedId", json_object_new_string(id));
	json_object_object_add(o, "sourcedIdPairs", pair);
	res_json(r, created ? 201 : 200, o);
	write_audit(c, created ? "create" : "update", created ? 201 : 200);
}
