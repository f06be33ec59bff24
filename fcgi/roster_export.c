/* Roster export. Every text cell goes through the same formula protection as rcsv_put_cell (a leading apostrophe
 * before = + - @, or before an apostrophe that precedes one of those), done in SQL so PostgreSQL's own CSV
 * writer can stream the rows; roster_import reverses it with rcsv_unprotect. One REPEATABLE READ snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "roster_csv.h"
#include "roster_export.h"
#include "roster_rules.h"
#include "roster_schema.h"


static void cell(buf *q, const struct rs_col *c)
{
	char x[200];
	if (!c->column) {
		buf_puts(q, "NULL");
		return;
	}
	switch (c->type) {
	case RS_BOOL:
		buf_printf(q, "CASE WHEN %s THEN 'true' WHEN NOT %s THEN 'false' END", c->column, c->column);
		return;
	case RS_DATE:
		buf_printf(q, "to_char(%s, 'YYYY-MM-DD')", c->column);
		return;
	case RS_YEAR: case RS_INT:
		buf_printf(q, "%s::text", c->column);
		return;
	case RS_LIST: case RS_GUIDLIST: case RS_USERIDS:
		snprintf(x, sizeof x, "NULLIF(array_to_string(%s, ','), '')", c->column);
		break;
	default:
		snprintf(x, sizeof x, "%s", c->column);
	}
	buf_printf(q, "CASE WHEN %s ~ '^([=+@-]|''[=+@''-])' THEN '''' || %s ELSE %s END", x, x, x);
}

static int meta_exported(const struct rs_col *m)
{
	/* enrollments carry both ShussekiNo spellings on input; the export writes the Japan Profile v1.2.1 one */
	return strcmp(m->name, "metadata.jp.shussekiNo") != 0 && strcmp(m->name, "metadata.jp.publicFlg") != 0;
}

static void meta_cell(buf *q, const struct rs_col *m)
{
	const char *key = m->name + 9;
	char x[200];
	if (strcmp(key, "jp.ShussekiNo") == 0)
		snprintf(x, sizeof x, "COALESCE(metadata ->> 'jp.ShussekiNo', metadata ->> 'jp.shussekiNo')");
	else if (strcmp(key, "jp.PublicFlg") == 0)
		snprintf(x, sizeof x, "COALESCE(metadata ->> 'jp.PublicFlg', metadata ->> 'jp.publicFlg')");
	else
		snprintf(x, sizeof x, "(metadata ->> '%s')", key);
	buf_printf(q, "CASE WHEN %s ~ '^([=+@-]|''[=+@''-])' THEN '''' || %s ELSE %s END", x, x, x);
}

/* Extension keys in metadata beyond the Japan Profile's known columns: exported as metadata.<key> columns after
 * them, so a round trip loses nothing. Keys come from imported headers: the SQL literal is escaped here. */
static PGresult *extra_keys(const struct rs_file *f, const char *where)
{
	buf q = {0};
	buf_printf(&q, "SELECT DISTINCT k FROM %s, jsonb_object_keys(metadata) k WHERE %s", f->table, where);
	for (int i = 0; i < f->nmeta; i++)
		buf_printf(&q, " AND k <> '%s'", f->meta[i].name + 9);
	buf_puts(&q, " ORDER BY 1 LIMIT 128");
	PGresult *r = db_exec(q.p, 0, NULL);
	buf_free(&q);
	return r;
}

static void sql_literal(buf *q, const char *s)
{
	buf_puts(q, "'");
	for (; *s; s++)
		buf_append(q, *s == '\'' ? "''" : s, *s == '\'' ? 2 : 1);
	buf_puts(q, "'");
}

static int export_file(const struct rs_file *f, int delta, zipw *z, long *rows, char *err, size_t errlen)
{
	buf q = {0}, head = {0};
	int rc = -1;
	const char *where = delta ? "date_last_modified > current_setting('rstream.export_since')::timestamptz"
				  : "status = 'active'";
	PGresult *keys = extra_keys(f, where);
	if (!keys) {
		snprintf(err, errlen, "export query failed: %s", db_error());
		return -1;
	}
	for (int i = 0; i < f->ncols; i++)
		rcsv_put_cell(&head, f->cols[i].name, i == 0);
	for (int i = 0; i < f->nmeta; i++)
		if (meta_exported(&f->meta[i]))
			rcsv_put_cell(&head, f->meta[i].name, 0);
	for (int i = 0; i < PQntuples(keys); i++) {
		char *h = NULL;
		if (asprintf(&h, "metadata.%s", PQgetvalue(keys, i, 0)) < 0)
			goto out;
		rcsv_put_cell(&head, h, 0);
		free(h);
	}
	buf_puts(&head, "\r\n");
	buf_puts(&q, "COPY (SELECT ");
	for (int i = 0; i < f->ncols; i++) {
		if (i)
			buf_puts(&q, ", ");
		if (i == 1)
			buf_puts(&q, delta ? "status" : "NULL");
		else if (i == 2)
			buf_puts(&q, delta ? "to_char(date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
				      : "NULL");
		else
			cell(&q, &f->cols[i]);
	}
	for (int i = 0; i < f->nmeta; i++)
		if (meta_exported(&f->meta[i])) {
			buf_puts(&q, ", ");
			meta_cell(&q, &f->meta[i]);
		}
	for (int i = 0; i < PQntuples(keys); i++) {
		buf x = {0};
		buf_puts(&x, "(metadata ->> ");
		sql_literal(&x, PQgetvalue(keys, i, 0));
		buf_puts(&x, ")");
		buf_printf(&q, ", CASE WHEN %s ~ '^([=+@-]|''[=+@''-])' THEN '''' || %s ELSE %s END", x.p, x.p, x.p);
		buf_free(&x);
	}
	buf_printf(&q, " FROM %s WHERE %s ORDER BY sourced_id) TO STDOUT WITH (FORMAT csv)", f->table, where);
	char name[64];
	snprintf(name, sizeof name, "%s.csv", f->name);
	if (zipw_begin(z, name) < 0 || zipw_write(z, head.p, head.len) < 0) {
		snprintf(err, errlen, "write failed");
		goto out;
	}
	PGresult *r = db_exec(q.p, 0, NULL);
	if (!r) {
		snprintf(err, errlen, "export query failed: %s", db_error());
		goto out;
	}
	PQclear(r);
	PGconn *c = db_conn();
	char *line;
	int n, wfail = 0;
	buf out = {0};
	while ((n = PQgetCopyData(c, &line, 0)) > 0) {
		/* PostgreSQL ends CSV rows with LF; the bundle uses CRLF like most SIS exports */
		if (n > 0 && line[n - 1] == '\n')
			n--;
		buf_append(&out, line, (size_t)n);
		buf_append(&out, "\r\n", 2);
		PQfreemem(line);
		(*rows)++;
		if (out.len > 65536) {
			wfail |= zipw_write(z, out.p, out.len) < 0;
			buf_reset(&out);
		}
	}
	if (out.len)
		wfail |= zipw_write(z, out.p, out.len) < 0;
	buf_free(&out);
	int ok = n == -1;
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ok = 0;
		PQclear(r);
	}
	if (!ok || wfail) {
		snprintf(err, errlen, "%s", wfail ? "write failed" : "export copy failed");
		goto out;
	}
	if (zipw_end(z) < 0) {
		snprintf(err, errlen, "write failed");
		goto out;
	}
	rc = 0;
out:
	PQclear(keys);
	buf_free(&q);
	buf_free(&head);
	return rc;
}

int roster_export_write(const char *since, zipw_sink sink, void *ud, struct roster_export_result *res,
			char *err, size_t errlen)
{
	int delta = since && *since;
	int rc = -1;
	zipw *z = NULL;
	memset(res, 0, sizeof *res);
	res->counts = json_object_new_object();
	if (delta && !rr_datetime_ok(since)) {
		snprintf(err, errlen, "invalid --since time (ISO 8601, e.g. 2026-05-01T00:00:00Z)");
		return -1;
	}
	if (db_begin() < 0 || db_cmd("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) < 0) {
		snprintf(err, errlen, "database: %s", db_error());
		db_rollback();
		return -1;
	}
	if (delta && DB_CMD("SELECT set_config('rstream.export_since', $1, true)", since) < 0) {
		snprintf(err, errlen, "invalid since time: %s", db_error());
		goto out;
	}
	z = zipw_new(sink, ud);
	buf m = {0};
	buf_puts(&m, "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\n");
	static const char *const all[] = {"academicSessions", "categories", "classes", "classResources", "courses",
		"courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems",
		"lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales",
		"roles", "scoreScales", "userProfiles", "userResources", "users", NULL};
	for (int i = 0; all[i]; i++)
		buf_printf(&m, "file.%s,%s\r\n", all[i], rs_file_by_name(all[i]) ? (delta ? "delta" : "bulk") : "absent");
	buf_puts(&m, "source.systemName,R-Stream\r\n");
	int bad = zipw_begin(z, "manifest.csv") < 0 || zipw_write(z, m.p, m.len) < 0 || zipw_end(z) < 0;
	buf_free(&m);
	if (bad) {
		snprintf(err, errlen, "write failed");
		goto out;
	}
	for (int i = 0; i < RS_NFILES; i++) {
		long n = 0;
		if (export_file(&rs_files[i], delta, z, &n, err, errlen) < 0)
			goto out;
		res->rows += n;
		json_object_object_add(res->counts, rs_files[i].name, json_object_new_int64(n));
	}
	if (zipw_finish(z) < 0) {
		snprintf(err, errlen, "write failed");
		goto out;
	}
	rc = 0;
out:
	db_rollback();
	zipw_free(z);
	return rc;
}
