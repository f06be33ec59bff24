/* The audit log pages (admin): search by actor, action, object, time range, result and IP address, paginated by id;
 * the CSV export of the same search, streamed in keyset batches; the retention setting. Rows are append-only for
 * the application (sql/091_protect_audit.sql): nothing here changes one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "netaddr.h"
#include "timefmt.h"
#include "ui.h"

#define PAGE 50

static void add_str(json_object *o, const char *k, const char *v) { json_object_object_add(o, k, json_object_new_string(v ? v : "")); }

/* Filters shared by the page and the CSV. actor: exact, or a prefix ending in *; action: exact; object: part of the
 * target; from/to: days (YYYY-MM-DD, inclusive) in the viewer's zone; result: ok (< 400), error (>= 400) or one
 * status; ip: an address or a CIDR range. */
struct audit_filter { const char *actor, *action, *object, *from, *to, *result, *ip, *zone; };

static const char *qv(req *r, const char *name)
{
	const char *v = req_query(r, name);
	return v ? v : "";
}

/* echoed into the page and bound as parameters: capped, no control characters */
static int q_ok(const char *v, size_t max)
{
	if (strlen(v) > max) return 0;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20) return 0;
	return 1;
}

static int date_ok(const char *s)
{
	if (!*s) return 1;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
	/* a real calendar day: PostgreSQL would answer 2024-02-31 or year 0 with an error (a 500 here) */
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static int result_ok(const char *s)
{
	if (!*s || !strcmp(s, "ok") || !strcmp(s, "error")) return 1;
	return strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

/* NULL when the filter is acceptable, else the catalog key of what is wrong */
static const char *audit_filter_read(req *r, struct audit_filter *f)
{
	f->actor = qv(r, "actor");
	f->action = qv(r, "action");
	f->object = qv(r, "object");
	f->from = qv(r, "from");
	f->to = qv(r, "to");
	f->result = qv(r, "result");
	f->ip = qv(r, "ip");
	f->zone = time_zone_of(r);
	if (!q_ok(f->actor, 200) || !q_ok(f->action, 100) || !q_ok(f->object, 200)) return "error_bad_query";
	if (!date_ok(f->from) || !date_ok(f->to)) return "audit_err_date";
	/* the same length, so text order is date order */
	if (*f->from && *f->to && strcmp(f->from, f->to) > 0) return "audit_err_range";
	if (!result_ok(f->result)) return "audit_err_result";
	if (*f->ip && (strlen(f->ip) > 64 || !cidr_valid(f->ip))) return "audit_err_ip";
	return NULL;
}

/* $1 actor, $2 action, $3 object, $4 from, $5 to, $6 result, $7 ip, $8 zone. Casts go through NULLIF so that an
 * empty filter never reaches one (the planner may fold a constant cast before the OR decides). The stored ip is the
 * parsed client address (request.c); anything else in that column is skipped rather than cast. */
#define AUDIT_WHERE "($1 = '' OR a.actor = $1 OR (right($1, 1) = '*' AND starts_with(a.actor, rtrim($1, '*')))) " \
	"AND ($2 = '' OR a.action = $2) AND ($3 = '' OR strpos(a.target, $3) > 0) " \
	"AND ($4 = '' OR a.at >= (NULLIF($4, '')::date)::timestamp AT TIME ZONE $8) " \
	"AND ($5 = '' OR a.at < (NULLIF($5, '')::date + 1)::timestamp AT TIME ZONE $8) " \
	"AND ($6 = '' OR ($6 = 'ok' AND a.status < 400) OR ($6 = 'error' AND a.status >= 400) OR a.status::text = $6) " \
	"AND ($7 = '' OR CASE WHEN a.ip ~ '^[0-9A-Fa-f:.]+$' THEN a.ip::inet <<= NULLIF($7, '')::inet ELSE false END)"
#define AUDIT_PARAMS(f) (f).actor, (f).action, (f).object, (f).from, (f).to, (f).result, (f).ip, (f).zone

static const char *filter_query(req *r, const struct audit_filter *f)
{
	return arena_printf(r->a, "actor=%s&action=%s&object=%s&from=%s&to=%s&result=%s&ip=%s", url_encode(r->a, f->actor),
			    url_encode(r->a, f->action), url_encode(r->a, f->object), url_encode(r->a, f->from),
			    url_encode(r->a, f->to), url_encode(r->a, f->result), url_encode(r->a, f->ip));
}

static json_object *rows_or_empty(PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK ? db_rows_json(res) : json_object_new_array();
}

static json_object *result_options(req *r, const char *selected)
{
	static const char *const values[] = {"", "ok", "error"};
	static const char *const labels[] = {"rosterapi_all", "audit_result_ok", "audit_result_error"};
	json_object *a = json_object_new_array();
	for (int i = 0; i < 3; i++) {
		json_object *o = json_object_new_object();
		add_str(o, "value", values[i]);
		add_str(o, "label", tr(r, labels[i]));
		json_object_object_add(o, "selected", json_object_new_boolean(!strcmp(values[i], selected)));
		json_object_array_add(a, o);
	}
	return a;
}

void h_audit_list(req *r)
{
	struct audit_filter f;
	int bad = 0;
	long before = req_query_long(r, "before", 0, 0, 1L << 62, &bad);
	const char *err = audit_filter_read(r, &f);
	if (bad && !err) err = "error_bad_query";
	json_object *ctx = json_object_new_object();
	add_str(ctx, "title", tr(r, "rosterapi_audit_title"));
	add_str(ctx, "actor", f.actor);
	add_str(ctx, "action", f.action);
	add_str(ctx, "object", f.object);
	add_str(ctx, "from", f.from);
	add_str(ctx, "to", f.to);
	add_str(ctx, "ip", f.ip);
	add_str(ctx, "result", f.result);
	json_object_object_add(ctx, "results", result_options(r, f.result));
	const char *qs = filter_query(r, &f);
	add_str(ctx, "csv_url", arena_printf(r->a, "/admin/audit.csv?%s", qs));
	json_object *rows;
	if (err) {
		/* the form stays filled in, with what is wrong said above it */
		add_str(ctx, "error", tr(r, err));
		rows = json_object_new_array();
	} else {
		char bs[24];
		snprintf(bs, sizeof bs, "%ld", before);
		PGresult *res = DB_EXEC("SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at, a.actor, "
					"a.action, a.target, a.ip, a.status, a.result_count, a.detail::text AS detail_text "
					"FROM audit_log a WHERE ($9::bigint = 0 OR a.id < $9::bigint) AND " AUDIT_WHERE
					" ORDER BY a.id DESC LIMIT 51", AUDIT_PARAMS(f), bs);
		if (!res) { json_object_put(ctx); res_unavailable(r); return; }
		rows = rows_or_empty(res);
		PQclear(res);
	}
	size_t n = json_object_array_length(rows);
	if (n > PAGE) {
		json_object_array_del_idx(rows, PAGE, n - PAGE);
		json_object *id = json_object_object_get(json_object_array_get_idx(rows, PAGE - 1), "id");
		add_str(ctx, "next_url", arena_printf(r->a, "/admin/audit?%s&before=%s", qs, json_object_get_string(id)));
	}
	if (before) add_str(ctx, "first_url", arena_printf(r->a, "/admin/audit?%s", qs));
	time_localize(r, rows, TIME_LIST, (const char *const[]){"at", NULL});
	tr_codes(r, rows, "audit_action_", (const char *const[]){"action", NULL});
	json_object_object_add(ctx, "rows", rows);
	PGresult *ar = DB_EXEC("SELECT action, action = $1 AS selected FROM (SELECT DISTINCT action FROM audit_log "
			       "WHERE at > now() - interval '90 days') s ORDER BY action LIMIT 100", f.action);
	json_object_object_add(ctx, "actions", rows_or_empty(ar));
	tr_codes(r, json_object_object_get(ctx, "actions"), "audit_action_", (const char *const[]){"action", NULL});
	if (ar) PQclear(ar);
	PGresult *rr = DB_EXEC0("SELECT value FROM settings WHERE key = 'audit_retention_days'");
	add_str(ctx, "retention_days", rr && PQresultStatus(rr) == PGRES_TUPLES_OK && PQntuples(rr) ? PQgetvalue(rr, 0, 0) : "1095");
	if (rr) PQclear(rr);
	res_html(r, err ? 400 : 200, "audit/list", ctx);
	json_object_put(ctx);
}

/* A CSV cell, always quoted; a leading = + - @ (or tab/CR) gets a ' so a spreadsheet shows it as text. */
static void csv_cell(buf *b, const char *s, int last)
{
	buf_puts(b, "\"");
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r') buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '"') buf_puts(b, "\"\"");
		else buf_append(b, p, 1);
	}
	buf_puts(b, last ? "\"\r\n" : "\",");
}

void h_audit_csv(req *r)
{
	struct audit_filter f;
	const char *err = audit_filter_read(r, &f);
	if (err) { res_error(r, 400, "bad_query", tr(r, err), NULL); return; }
	res_header(r, "Content-Disposition", "attachment; filename=\"audit.csv\"");
	res_header(r, "Cache-Control", "no-store");
	res_stream_begin(r, 200, "text/csv; charset=utf-8");
	static const char *const head[] = {"id", "at", "actor", "action", "target", "ip", "status", "result_count", "detail"};
	buf b = {0};
	buf_puts(&b, "\xEF\xBB\xBF");   /* BOM: spreadsheet programs then read UTF-8 */
	for (int i = 0; i < 9; i++) csv_cell(&b, head[i], i == 8);
	res_write(r, b.p, b.len);
	/* keyset batches: constant memory however large the log is */
	char after[24] = "0";
	long total = 0;
	for (;;) {
		PGresult *res = DB_EXEC("SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
					"a.actor, a.action, a.target, coalesce(a.ip, ''), a.status, "
					"coalesce(a.result_count::text, ''), a.detail::text FROM audit_log a "
					"WHERE a.id > $9::bigint AND " AUDIT_WHERE " ORDER BY a.id LIMIT 5000",
					AUDIT_PARAMS(f), after);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
			/* headers are gone: the file ends short, and the log says why */
			log_error("audit csv: %s", db_error());
			if (res) PQclear(res);
			break;
		}
		int n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			buf_reset(&b);
			for (int k = 0; k < 9; k++) csv_cell(&b, PQgetvalue(res, i, k), k == 8);
			res_write(r, b.p, b.len);
		}
		if (n) snprintf(after, sizeof after, "%s", PQgetvalue(res, n - 1, 0));
		PQclear(res);
		total += n;
		if (n < 5000) break;
	}
	buf_free(&b);
	json_object *d = json_object_new_object();
	add_str(d, "actor", f.actor);
	add_str(d, "action", f.action);
	add_str(d, "object", f.object);
	add_str(d, "from", f.from);
	add_str(d, "to", f.to);
	add_str(d, "result", f.result);
	add_str(d, "ip", f.ip);
	audit_record(r, NULL, "audit.export", "/admin/audit.csv", d, 200, total);
	json_object_put(d);
}

/* POST /admin/audit/retention: days to keep audit rows (1..36500); the daily audit_retention job applies it. */
void h_audit_retention(req *r)
{
	const char *v = req_form(r, "days");
	char *end = NULL;
	long days = v && *v ? strtol(v, &end, 10) : 0;
	if (!v || !*v || *end || days < 1 || days > 36500) {
		res_error(r, 400, "bad_retention", tr(r, "rosterapi_audit_retention_bad"), NULL);
		return;
	}
	char ds[24];
	snprintf(ds, sizeof ds, "%ld", days);
	if (DB_CMD("INSERT INTO settings (key, value, updated_at) VALUES ('audit_retention_days', $1, now()) "
		   "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()", ds) < 0) {
		res_error(r, 500, "db_error", tr(r, "rosterapi_clients_err_db"), NULL);
		return;
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "days", json_object_new_int64(days));
	audit_record(r, NULL, "audit.retention_setting", "settings:audit_retention_days", d, 200, 1);
	json_object_put(d);
	res_redirect(r, "/admin/audit");
}
