/* Roster import: one pass over each CSV (validate while streaming, COPY rows into a temporary staging table),
 * then set-based SQL for duplicates and references (anti-joins against staging and stored rows), then set-based
 * upserts, all inside one transaction: a failure or a killed worker leaves the previous state untouched.
 * Memory is constant: one CSV record, one 256 KiB COPY buffer, and at most MAX_STORED findings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libpq-fe.h>
#include "cache.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "roster_import.h"
#include "zipread.h"

#define MAX_STORED 20000
#define COPY_FLUSH (256 * 1024)
#define REF_LIMIT "1000"

struct stored { char *file, *col, *rule, *ja, *en; long line; int sev; };

struct fstate {
	const struct rs_file *f;
	char filename[300];
	int entry;                  /* zip entry index or -1 */
	int mode;                   /* RM_BULK / RM_DELTA; RM_ABSENT = not in this import */
	int header_done, staged, broken, in_copy;
	struct rr_header h;
	long rows, active;
	char path[4096];            /* unpacked bundle: the CSV file in the directory ("" = not there) */
	FILE *spool;                /* target table was empty: rows for a direct COPY into it (NULL otherwise) */
	long spooled;
	unsigned char bad[RR_MAX_COLS];
};

struct imp {
	const struct roster_import_opts *o;
	struct roster_import_result *res;
	struct rr_ctx rr;
	struct stored *fs;
	int nfs, capfs;
	struct fstate files[RS_NFILES];
	struct fstate *cur;
	zipr *z;
	int changed[RS_NFILES];     /* records of the file were deleted or updated: their dependants need a look */
	int dir;                    /* o->path is a directory holding the CSVs (CLI: vendors hand bundles out unzipped) */
	buf copy, scratch, row;
	char now[64];               /* the transaction's timestamp: dateLastModified of every row it writes */
	uint64_t bytes_total, bytes_done;
	struct timespec t0;
	long last_report;
	int fatal;
	const char *phase;
	PGconn *conn;
	char dberr[512];
};

/* The import runs on its own connection so the job runner can keep writing progress and heartbeats (and see
 * cancellation) on the process connection while this one holds the import transaction open. */
static PGresult *ix(struct imp *im, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(im->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
		return r;
	snprintf(im->dberr, sizeof im->dberr, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(im->conn));
	size_t l = strlen(im->dberr);
	while (l && im->dberr[l - 1] == '\n')
		im->dberr[--l] = 0;
	PQclear(r);
	return NULL;
}

static int icmd(struct imp *im, const char *sql, int n, const char *const *params)
{
	PGresult *r = ix(im, sql, n, params);
	PQclear(r);
	return r ? 0 : -1;
}
#define IX(im, sql, ...) ix((im), (sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
			    (const char *const[]){__VA_ARGS__})
#define ICMD(im, sql, ...) icmd((im), (sql), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
				(const char *const[]){__VA_ARGS__})

static void irollback(struct imp *im)
{
	PQclear(PQexec(im->conn, "ROLLBACK"));
}

static double elapsed(const struct imp *im)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - im->t0.tv_sec) + (double)(t.tv_nsec - im->t0.tv_nsec) / 1e9;
}

static int report(struct imp *im, double pct)
{
	if (!im->o->progress)
		return 0;
	double s = elapsed(im);
	json_object *st = json_object_new_object();
	json_object_object_add(st, "phase", json_object_new_string(im->phase));
	json_object_object_add(st, "rows", json_object_new_int64(im->res->rows));
	json_object_object_add(st, "rows_per_s", json_object_new_int64(s > 0.01 ? (int64_t)((double)im->res->rows / s) : 0));
	json_object_object_add(st, "errors", json_object_new_int64(im->rr.errors));
	json_object_object_add(st, "warnings", json_object_new_int64(im->rr.warnings));
	json_object_object_add(st, "pct", json_object_new_double(pct));
	if (im->cur)
		json_object_object_add(st, "file", json_object_new_string(im->cur->filename));
	int rc = im->o->progress(im->o->ud, pct, im->phase, st);
	json_object_put(st);
	return rc;
}

static void fail(struct imp *im, const char *what, const char *detail)
{
	if (im->fatal)
		return;
	im->fatal = 1;
	snprintf(im->res->error, sizeof im->res->error, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	log_error("roster import %ld: %s", im->o->import_id, im->res->error);
}

/* ---- findings ---- */

static void keep_finding(void *ud, const struct rr_finding *f)
{
	struct imp *im = ud;
	if (im->o->on_finding)
		im->o->on_finding(im->o->finding_ud, f);
	if (im->nfs >= MAX_STORED)
		return;
	if (im->nfs == im->capfs) {
		int cap = im->capfs ? im->capfs * 2 : 256;
		struct stored *n = realloc(im->fs, (size_t)cap * sizeof *n);
		if (!n)
			return;
		im->fs = n;
		im->capfs = cap;
	}
	struct stored *s = &im->fs[im->nfs++];
	s->file = strdup(f->file);
	s->col = strdup(f->col);
	s->rule = strdup(f->rule);
	s->ja = strdup(f->msg_ja);
	s->en = strdup(f->msg_en);
	s->line = f->line;
	s->sev = f->sev;
}

void roster_copy_escape(buf *b, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '\\': rep = "\\\\"; break;
		case '\t': rep = "\\t"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		default: continue;
		}
		buf_append(b, s + start, i - start);
		buf_puts(b, rep);
		start = i + 1;
	}
	buf_append(b, s + start, n - start);
}

static int store_findings(struct imp *im)
{
	char id[32];
	if (!im->o->import_id)
		return 0;
	snprintf(id, sizeof id, "%ld", im->o->import_id);
	if (icmd(im, "BEGIN", 0, NULL) < 0)
		return -1;
	if (ICMD(im, "DELETE FROM roster_import_findings WHERE import_id = $1", id) < 0)
		goto bad;
	if (im->nfs > 0) {
		PGresult *r = ix(im, "COPY roster_import_findings (import_id, file, line, col, rule, severity, message_ja, "
				       "message_en) FROM STDIN", 0, NULL);
		if (!r)
			goto bad;
		PQclear(r);
		PGconn *c = im->conn;
		buf b = {0};
		for (int i = 0; i < im->nfs; i++) {
			struct stored *s = &im->fs[i];
			buf_printf(&b, "%s\t", id);
			roster_copy_escape(&b, s->file, strlen(s->file));
			buf_printf(&b, "\t%ld\t", s->line);
			roster_copy_escape(&b, s->col, strlen(s->col));
			buf_printf(&b, "\t%s\t%s\t", s->rule, s->sev == RR_ERROR ? "error" : "warning");
			roster_copy_escape(&b, s->ja, strlen(s->ja));
			buf_puts(&b, "\t");
			roster_copy_escape(&b, s->en, strlen(s->en));
			buf_puts(&b, "\n");
			if (b.len > COPY_FLUSH || i == im->nfs - 1) {
				if (PQputCopyData(c, b.p, (int)b.len) != 1)
					break;
				buf_reset(&b);
			}
		}
		buf_free(&b);
		PQputCopyEnd(c, NULL);
		int ok = 1;
		while ((r = PQgetResult(c))) {
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				ok = 0;
			PQclear(r);
		}
		if (!ok)
			goto bad;
	}
	return icmd(im, "COMMIT", 0, NULL);
bad:
	log_error("roster import %s: storing findings failed: %s", id, im->dberr);
	irollback(im);
	return -1;
}

/* ---- staging ---- */

static const char *short_name(const struct rs_file *f) { return f->table + 7; }   /* roster_users -> users */

static int stage_begin(struct imp *im, struct fstate *fs)
{
	buf sql = {0};
	buf_printf(&sql, "CREATE TEMP TABLE stg_%s (line bigint, status text", short_name(fs->f));
	for (int i = 0; i < fs->h.nlayout; i++)
		if (fs->h.layout[i].column)
			buf_printf(&sql, ", %s %s", fs->h.layout[i].column, rs_sql_type(fs->h.layout[i].type));
	buf_puts(&sql, ", metadata jsonb) ON COMMIT DROP");
	int rc = icmd(im, sql.p, 0, NULL);
	buf_reset(&sql);
	if (rc < 0) {
		buf_free(&sql);
		fail(im, "staging table", im->dberr);
		return -1;
	}
	buf_printf(&sql, "SELECT NOT EXISTS (SELECT 1 FROM %s)", fs->f->table);
	PGresult *e = ix(im, sql.p, 0, NULL);
	if (e && PQgetvalue(e, 0, 0)[0] == 't')
		fs->spool = tmpfile();
	PQclear(e);
	buf_reset(&sql);
	buf_printf(&sql, "COPY stg_%s FROM STDIN", short_name(fs->f));
	PGresult *r = ix(im, sql.p, 0, NULL);
	buf_free(&sql);
	if (!r) {
		fail(im, "COPY", im->dberr);
		return -1;
	}
	PQclear(r);
	fs->in_copy = 1;
	return 0;
}

static int copy_flush(struct imp *im)
{
	if (im->copy.len == 0)
		return 0;
	if (PQputCopyData(im->conn, im->copy.p, (int)im->copy.len) != 1) {
		fail(im, "COPY", PQerrorMessage(im->conn));
		return -1;
	}
	buf_reset(&im->copy);
	return 0;
}

static int stage_end(struct imp *im, struct fstate *fs)
{
	if (!fs->in_copy)
		return 0;
	fs->in_copy = 0;
	int ok = copy_flush(im) == 0;
	PGconn *c = im->conn;
	PQputCopyEnd(c, ok ? NULL : "aborted");
	PGresult *r;
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
			fail(im, "COPY", PQresultErrorMessage(r));
			ok = 0;
		}
		PQclear(r);
	}
	if (ok)
		fs->staged = 1;
	return ok ? 0 : -1;
}

/* Postgres array literal {"a","b"} from a comma list, items trimmed */
static void put_array(struct imp *im, buf *out, const char *v)
{
	buf *s = &im->scratch;
	buf_reset(s);
	buf_puts(s, "{");
	const char *p = v;
	int first = 1;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && *p == ' ') { p++; len--; }
		while (len && p[len - 1] == ' ') len--;
		if (!first)
			buf_puts(s, ",");
		first = 0;
		buf_puts(s, "\"");
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '"' || p[i] == '\\')
				buf_append(s, "\\", 1);
			buf_append(s, p + i, 1);
		}
		buf_puts(s, "\"");
		if (!e)
			break;
		p = e + 1;
	}
	buf_puts(s, "}");
	roster_copy_escape(out, s->p, s->len);
}

/* One row in COPY text form. The "core" (every stored column, then metadata) is encoded once and used twice:
 * after (line, status) for the staging table, and, when the target table was empty, followed by (status,
 * dateLastModified) in the spool file that the apply phase COPYs straight into the target. Empty lists and
 * metadata are written as {} so the same text fits the NOT NULL columns of the target. */
static void encode_row(struct imp *im, struct fstate *fs, long line, char **v, int deleted)
{
	buf *b = &im->row;
	const struct rr_header *h = &fs->h;
	buf_reset(b);
	for (int i = 0, first = 1; i < h->nlayout; i++) {
		const struct rs_col *c = &h->layout[i];
		if (!c->column)
			continue;
		if (!first)
			buf_append(b, "\t", 1);
		first = 0;
		int list = c->type == RS_LIST || c->type == RS_GUIDLIST || c->type == RS_USERIDS;
		if (!*v[i] || fs->bad[i]) {
			if (list)
				buf_append(b, "{}", 2);
			else
				buf_append(b, "\\N", 2);
			continue;
		}
		if (c->type == RS_BOOL)
			buf_append(b, (v[i][0] == 't' || v[i][0] == 'T') ? "t" : "f", 1);
		else if (list)
			put_array(im, b, v[i]);
		else
			roster_copy_escape(b, v[i], strlen(v[i]));
	}
	buf_append(b, "\t", 1);
	if (h->nmeta == 0) {
		buf_append(b, "{}", 2);
	} else {
		json_object *m = json_object_new_object();
		for (int i = h->nlayout; i < h->n; i++)
			if (h->meta_key[i] && *v[i] && !fs->bad[i])
				json_object_object_add(m, h->meta_key[i], json_object_new_string(v[i]));
		size_t jl;
		const char *js = json_object_to_json_string_length(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
								  &jl);
		roster_copy_escape(b, js, jl);
		json_object_put(m);
	}
	buf_printf(&im->copy, "%ld\t%s\t", line, deleted ? "tobedeleted" : "active");
	buf_append(&im->copy, b->p, b->len);
	buf_append(&im->copy, "\n", 1);
	if (fs->spool && !deleted && im->rr.errors == 0) {
		fwrite(b->p, 1, b->len, fs->spool);
		fprintf(fs->spool, "\tactive\t%s\n", im->now);
		fs->spooled++;
	}
}

static int on_row(void *ud, long line, int n, char **v, size_t *lens)
{
	struct imp *im = ud;
	struct fstate *fs = im->cur;
	(void)lens;
	if (!fs->header_done) {
		fs->header_done = 1;
		if (rr_header_map(&im->rr, fs->f, fs->filename, n, v, &fs->h) < 0) {
			fs->broken = 1;
			return -1;
		}
		return stage_begin(im, fs);
	}
	for (int i = 0; i < n; i++)
		v[i] = (char *)rcsv_unprotect(v[i]);
	int deleted = 0;
	rr_check_row(&im->rr, &fs->h, fs->mode == RM_DELTA, line, n, v, fs->bad, &deleted);
	fs->rows++;
	im->res->rows++;
	if (n == fs->h.n) {
		encode_row(im, fs, line, v, deleted);
		fs->active += !deleted;
	}
	if (im->copy.len > COPY_FLUSH && copy_flush(im) < 0)
		return -1;
	if (im->res->rows - im->last_report >= 5000) {
		im->last_report = im->res->rows;
		double pct = im->bytes_total ? 70.0 * (double)im->bytes_done / (double)im->bytes_total : 0;
		if (report(im, pct > 70 ? 70 : pct) < 0) {
			fail(im, "cancelled", NULL);
			return -1;
		}
	}
	return 0;
}

struct source { struct imp *im; FILE *f; };

static ssize_t source_read(void *p, void *out, size_t n)
{
	struct source *s = p;
	ssize_t got;
	if (s->f) {
		got = (ssize_t)fread(out, 1, n, s->f);
		if (got == 0 && ferror(s->f))
			return -1;
	} else {
		got = zipr_read(s->im->z, out, n);
	}
	if (got > 0)
		s->im->bytes_done += (uint64_t)got;
	return got;
}

static void read_file(struct imp *im, struct fstate *fs)
{
	struct source src = { im, NULL };
	struct rcsv_error e;
	im->cur = fs;
	if (fs->entry >= 0) {
		if (zipr_entry_open(im->z, fs->entry) < 0) {
			rr_add(&im->rr, fs->filename, 0, "", "ZIP-001", zipr_error(im->z));
			fs->broken = 1;
			return;
		}
	} else {
		src.f = fopen(fs->path[0] ? fs->path : im->o->path, "rb");
		if (!src.f) {
			fail(im, "cannot open the uploaded file", NULL);
			return;
		}
	}
	int rc = rcsv_parse(NULL, source_read, &src, on_row, im, &e);
	if (src.f)
		fclose(src.f);
	if (rc == -1) {
		if (fs->entry >= 0 && zipr_error(im->z)[0] && strcmp(e.code, "CSV-IO-001") == 0)
			rr_add(&im->rr, fs->filename, e.line, "", "ZIP-001", zipr_error(im->z));
		else
			rr_add_csv(&im->rr, fs->filename, &e);
		fs->broken = 1;
	}
	if (!fs->header_done && rc == 0) {
		rr_add(&im->rr, fs->filename, 1, "", "OR-HDR-005", NULL);
		fs->broken = 1;
	}
	if (stage_end(im, fs) < 0)
		fs->broken = 1;
	im->cur = NULL;
}

/* ---- set-based checks ---- */

static const char *kind_column(enum rs_file_id id)
{
	return id == RS_ORGS || id == RS_ACADEMIC_SESSIONS ? "type" : id == RS_CLASSES ? "class_type" : "NULL::text";
}

/* eff_<x>: the ids that will exist after this import (staging for bulk, staging + stored for delta, stored when
 * the file is not part of the import) */
static int make_eff(struct imp *im, enum rs_file_id id, int *made)
{
	if (made[id])
		return 0;
	const struct rs_file *f = &rs_files[id];
	struct fstate *fs = &im->files[id];
	const char *n = short_name(f), *k = kind_column(id);
	buf q = {0};
	if (fs->mode == RM_BULK && fs->staged)
		buf_printf(&q, "CREATE TEMP TABLE eff_%s ON COMMIT DROP AS SELECT sourced_id, %s AS kind FROM stg_%s "
			   "WHERE status = 'active' AND sourced_id IS NOT NULL", n, k, n);
	else if (fs->mode == RM_DELTA && fs->staged)
		buf_printf(&q, "CREATE TEMP TABLE eff_%s ON COMMIT DROP AS SELECT sourced_id, %s AS kind FROM stg_%s "
			   "WHERE status = 'active' AND sourced_id IS NOT NULL UNION ALL SELECT r.sourced_id, %s%s FROM %s r "
			   "WHERE r.status = 'active' AND NOT EXISTS (SELECT 1 FROM stg_%s s WHERE s.sourced_id = r.sourced_id)",
			   n, k, n, strcmp(k, "NULL::text") ? "r." : "", k, f->table, n);
	else
		buf_printf(&q, "CREATE TEMP TABLE eff_%s ON COMMIT DROP AS SELECT sourced_id, %s AS kind FROM %s "
			   "WHERE status = 'active'", n, k, f->table);
	int rc = icmd(im, q.p, 0, NULL);
	buf_reset(&q);
	if (rc == 0) {
		buf_printf(&q, "ANALYZE eff_%s", n);
		rc = icmd(im, q.p, 0, NULL);
	}
	buf_free(&q);
	if (rc < 0) {
		fail(im, "reference check", im->dberr);
		return -1;
	}
	made[id] = 1;
	return 0;
}

struct ref_rule {
	enum rs_file_id from;
	const char *expr;        /* column or expression in stg_<from> */
	const char *col;         /* CSV header for the finding */
	int list;
	enum rs_file_id to;
	const char *kind;        /* required kind of the target, or NULL */
	const char *rule_missing, *rule_kind;
	int required;            /* stored dependant of a removed target: 1 = removed with it, 0 = reference cleared */
};

static const struct ref_rule ref_rules[] = {
	{RS_ACADEMIC_SESSIONS, "parent_sourced_id", "parentSourcedId", 0, RS_ACADEMIC_SESSIONS, NULL, "OR-REF-001", NULL, 0},
	{RS_ORGS, "parent_sourced_id", "parentSourcedId", 0, RS_ORGS, NULL, "OR-REF-001", NULL, 0},
	{RS_COURSES, "school_year_sourced_id", "schoolYearSourcedId", 0, RS_ACADEMIC_SESSIONS, "schoolYear", "OR-REF-001",
	 "OR-REF-002", 0},
	{RS_COURSES, "org_sourced_id", "orgSourcedId", 0, RS_ORGS, NULL, "OR-REF-001", NULL, 1},
	{RS_CLASSES, "course_sourced_id", "courseSourcedId", 0, RS_COURSES, NULL, "OR-REF-001", NULL, 1},
	{RS_CLASSES, "school_sourced_id", "schoolSourcedId", 0, RS_ORGS, "school", "OR-REF-001", "OR-REF-002", 1},
	{RS_CLASSES, "term_sourced_ids", "termSourcedIds", 1, RS_ACADEMIC_SESSIONS, NULL, "OR-REF-001", NULL, 1},
	{RS_USERS, "agent_sourced_ids", "agentSourcedIds", 1, RS_USERS, NULL, "OR-REF-001", NULL, 0},
	{RS_USERS, "primary_org_sourced_id", "primaryOrgSourcedId", 0, RS_ORGS, NULL, "OR-REF-001", NULL, 0},
	{RS_USERS, "metadata ->> 'jp.homeClass'", "metadata.jp.homeClass", 0, RS_CLASSES, "homeroom", "JP-HOME-001",
	 "JP-HOME-002", 0},
	{RS_USER_PROFILES, "user_sourced_id", "userSourcedId", 0, RS_USERS, NULL, "OR-REF-001", NULL, 1},
	{RS_ROLES, "user_sourced_id", "userSourcedId", 0, RS_USERS, NULL, "OR-REF-001", NULL, 1},
	{RS_ROLES, "org_sourced_id", "orgSourcedId", 0, RS_ORGS, NULL, "OR-REF-001", NULL, 1},
	{RS_ROLES, "user_profile_sourced_id", "userProfileSourcedId", 0, RS_USER_PROFILES, NULL, "OR-REF-001", NULL, 0},
	{RS_ENROLLMENTS, "class_sourced_id", "classSourcedId", 0, RS_CLASSES, NULL, "OR-REF-001", NULL, 1},
	{RS_ENROLLMENTS, "school_sourced_id", "schoolSourcedId", 0, RS_ORGS, "school", "OR-REF-001", "OR-REF-002", 1},
	{RS_ENROLLMENTS, "user_sourced_id", "userSourcedId", 0, RS_USERS, NULL, "OR-REF-001", NULL, 1},
	{RS_DEMOGRAPHICS, "sourced_id", "sourcedId", 0, RS_USERS, NULL, "OR-REF-001", NULL, 1},
};

static int report_rows(struct imp *im, const char *sql, const char *file, const char *col, const char *rule)
{
	PGresult *r = ix(im, sql, 0, NULL);
	if (!r) {
		fail(im, "validation query", im->dberr);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		char detail[300];
		if (PQnfields(r) > 2 && !PQgetisnull(r, i, 2))
			snprintf(detail, sizeof detail, "%s (%s)", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
		else
			snprintf(detail, sizeof detail, "%s", PQgetvalue(r, i, 1));
		rr_add(&im->rr, file, atol(PQgetvalue(r, i, 0)), col, rule, detail);
	}
	PQclear(r);
	return 0;
}

static int has_column(const struct fstate *fs, const char *expr)
{
	if (strncmp(expr, "metadata", 8) == 0)
		return rr_header_pos(&fs->h, "metadata.jp.homeClass") >= 0;
	for (int i = 0; i < fs->h.nlayout; i++)
		if (fs->h.layout[i].column && strcmp(fs->h.layout[i].column, expr) == 0)
			return 1;
	return 0;
}

static int check_sets(struct imp *im)
{
	int made[RS_NFILES] = {0};
	buf q = {0};
	int rc = -1;
	for (int i = 0; i < RS_NFILES; i++) {
		struct fstate *fs = &im->files[i];
		if (!fs->staged)
			continue;
		const char *n = short_name(fs->f);
		buf_reset(&q);
		buf_printf(&q, "ANALYZE stg_%s", n);
		if (icmd(im, q.p, 0, NULL) < 0)
			goto db;
		buf_reset(&q);
		buf_printf(&q, "SELECT max(line), sourced_id, 'lines ' || min(line) || ', ' || max(line) FROM stg_%s "
			   "WHERE sourced_id IS NOT NULL GROUP BY sourced_id HAVING count(*) > 1 ORDER BY 1 LIMIT " REF_LIMIT, n);
		if (report_rows(im, q.p, fs->filename, "sourcedId", "OR-DUP-001") < 0)
			goto out;
		if (fs->mode == RM_DELTA) {
			buf_reset(&q);
			buf_printf(&q, "SELECT s.line, s.sourced_id FROM stg_%s s WHERE s.status = 'tobedeleted' AND NOT EXISTS "
				   "(SELECT 1 FROM %s r WHERE r.sourced_id = s.sourced_id) ORDER BY 1 LIMIT " REF_LIMIT,
				   n, fs->f->table);
			if (report_rows(im, q.p, fs->filename, "sourcedId", "OR-DELTA-003") < 0)
				goto out;
		}
	}
	for (size_t k = 0; k < sizeof ref_rules / sizeof ref_rules[0]; k++) {
		const struct ref_rule *rr = &ref_rules[k];
		struct fstate *fs = &im->files[rr->from];
		if (!fs->staged || !has_column(fs, rr->expr))
			continue;
		/* a target file that could not be read already failed the import: its ids would only add noise */
		if (im->files[rr->to].broken)
			continue;
		if (make_eff(im, rr->to, made) < 0)
			goto out;
		const char *n = short_name(fs->f), *t = short_name(&rs_files[rr->to]);
		buf_reset(&q);
		if (rr->list)
			buf_printf(&q, "SELECT s.line, u.x FROM stg_%s s CROSS JOIN LATERAL unnest(s.%s) u(x) WHERE s.status = "
				   "'active' AND NOT EXISTS (SELECT 1 FROM eff_%s e WHERE e.sourced_id = u.x) ORDER BY 1 LIMIT "
				   REF_LIMIT, n, rr->expr, t);
		else
			buf_printf(&q, "SELECT s.line, (s.%s) FROM stg_%s s WHERE s.status = 'active' AND (s.%s) IS NOT NULL AND "
				   "NOT EXISTS (SELECT 1 FROM eff_%s e WHERE e.sourced_id = (s.%s)) ORDER BY 1 LIMIT " REF_LIMIT,
				   rr->expr, n, rr->expr, t, rr->expr);
		if (report_rows(im, q.p, fs->filename, rr->col, rr->rule_missing) < 0)
			goto out;
		if (rr->kind && !rr->list) {
			buf_reset(&q);
			buf_printf(&q, "SELECT s.line, (s.%s), e.kind FROM stg_%s s JOIN eff_%s e ON e.sourced_id = (s.%s) WHERE "
				   "s.status = 'active' AND e.kind IS DISTINCT FROM '%s' ORDER BY 1 LIMIT " REF_LIMIT,
				   rr->expr, n, t, rr->expr, rr->kind);
			if (report_rows(im, q.p, fs->filename, rr->col, rr->rule_kind) < 0)
				goto out;
		}
		if (report(im, 70.0 + 15.0 * (double)(k + 1) / (double)(sizeof ref_rules / sizeof ref_rules[0])) < 0) {
			fail(im, "cancelled", NULL);
			goto out;
		}
	}
	if (im->rr.jp && im->files[RS_ROLES].staged) {
		if (report_rows(im, "SELECT min(line), user_sourced_id FROM stg_roles WHERE status = 'active' GROUP BY "
				"user_sourced_id HAVING bool_or(role_type = 'secondary') AND NOT bool_or(role_type = 'primary') "
				"ORDER BY 1 LIMIT " REF_LIMIT, im->files[RS_ROLES].filename, "roleType", "JP-ROLE-001") < 0)
			goto out;
	}
	rc = 0;
	goto out;
db:
	fail(im, "validation query", im->dberr);
out:
	buf_free(&q);
	return rc;
}

/* ---- apply ---- */

static json_object *file_counts(struct imp *im, struct fstate *fs)
{
	json_object *c = json_object_object_get(im->res->counts, fs->f->name);
	if (!c) {
		c = json_object_new_object();
		json_object_object_add(c, "mode", json_object_new_string(rm_mode_name((enum rm_mode)fs->mode)));
		json_object_object_add(c, "rows", json_object_new_int64(fs->rows));
		json_object_object_add(im->res->counts, fs->f->name, c);
	}
	return c;
}

/* The target table was empty when this import started: COPY the spooled rows straight in, the same path a raw
 * COPY takes (multi-row inserts), instead of INSERT … SELECT from staging. */
static int apply_spool(struct imp *im, struct fstate *fs)
{
	buf q = {0};
	char chunk[65536];
	size_t n;
	int ok = 1;
	buf_printf(&q, "COPY %s (", fs->f->table);
	for (int i = 0, first = 1; i < fs->h.nlayout; i++)
		if (fs->h.layout[i].column) {
			buf_printf(&q, "%s%s", first ? "" : ", ", fs->h.layout[i].column);
			first = 0;
		}
	buf_puts(&q, ", metadata, status, date_last_modified) FROM STDIN");
	PGresult *r = ix(im, q.p, 0, NULL);
	buf_free(&q);
	if (!r) {
		fail(im, "apply", im->dberr);
		return -1;
	}
	PQclear(r);
	fflush(fs->spool);
	rewind(fs->spool);
	while (ok && (n = fread(chunk, 1, sizeof chunk, fs->spool)) > 0)
		ok = PQputCopyData(im->conn, chunk, (int)n) == 1;
	if (ferror(fs->spool))
		ok = 0;
	PQputCopyEnd(im->conn, ok ? NULL : "spool read failed");
	while ((r = PQgetResult(im->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
			fail(im, "apply", PQresultErrorMessage(r));
			ok = 0;
		}
		PQclear(r);
	}
	if (!ok) {
		fail(im, "apply", "spool");
		return -1;
	}
	json_object *c = file_counts(im, fs);
	json_object_object_add(c, "inserted", json_object_new_int64(fs->spooled));
	json_object_object_add(c, "updated", json_object_new_int64(0));
	json_object_object_add(c, "unchanged", json_object_new_int64(0));
	json_object_object_add(c, "deleted", json_object_new_int64(0));
	return 0;
}

static int apply_file(struct imp *im, struct fstate *fs)
{
	if (fs->spool)
		return apply_spool(im, fs);
	const char *n = short_name(fs->f), *t = fs->f->table;
	buf q = {0}, cols = {0}, sel = {0}, set = {0}, old = {0}, neu = {0};
	int rc = -1;
	for (int i = 1; i < fs->h.nlayout; i++) {
		const struct rs_col *c = &fs->h.layout[i];
		if (!c->column)
			continue;
		int list = c->type == RS_LIST || c->type == RS_GUIDLIST || c->type == RS_USERIDS;
		buf_printf(&cols, ", %s", c->column);
		if (list)
			buf_printf(&sel, ", COALESCE(%s, '{}')", c->column);
		else
			buf_printf(&sel, ", %s", c->column);
		buf_printf(&set, ", %s = EXCLUDED.%s", c->column, c->column);
		buf_printf(&old, ", t.%s", c->column);
		buf_printf(&neu, ", EXCLUDED.%s", c->column);
	}
	buf_printf(&q, "WITH up AS (INSERT INTO %s AS t (sourced_id, status, date_last_modified%s, metadata) "
		   "SELECT sourced_id, 'active', now()%s, COALESCE(metadata, '{}') FROM stg_%s WHERE status = 'active' "
		   "ON CONFLICT (sourced_id) DO UPDATE SET status = 'active', date_last_modified = now()%s, "
		   "metadata = EXCLUDED.metadata WHERE (t.status%s, t.metadata) IS DISTINCT FROM ('active'%s, EXCLUDED.metadata) "
		   "RETURNING (xmax = 0) AS ins) "
		   "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up",
		   t, cols.p ? cols.p : "", sel.p ? sel.p : "", n, set.p ? set.p : "", old.p ? old.p : "",
		   neu.p ? neu.p : "");
	PGresult *r = ix(im, q.p, 0, NULL);
	if (!r)
		goto db;
	long ins = atol(PQgetvalue(r, 0, 0)), upd = atol(PQgetvalue(r, 0, 1));
	PQclear(r);
	buf_reset(&q);
	if (fs->mode == RM_BULK)
		buf_printf(&q, "UPDATE %s t SET status = 'tobedeleted', date_last_modified = now() WHERE t.status = 'active' "
			   "AND NOT EXISTS (SELECT 1 FROM stg_%s s WHERE s.sourced_id = t.sourced_id AND s.status = 'active')",
			   t, n);
	else
		buf_printf(&q, "UPDATE %s t SET status = 'tobedeleted', date_last_modified = now() FROM stg_%s s "
			   "WHERE s.status = 'tobedeleted' AND s.sourced_id = t.sourced_id AND t.status = 'active'", t, n);
	r = ix(im, q.p, 0, NULL);
	if (!r)
		goto db;
	long del = atol(PQcmdTuples(r));
	PQclear(r);
	im->changed[fs->f->id] = del > 0 || upd > 0;
	json_object *c = file_counts(im, fs);
	json_object_object_add(c, "inserted", json_object_new_int64(ins));
	json_object_object_add(c, "updated", json_object_new_int64(upd));
	json_object_object_add(c, "unchanged", json_object_new_int64(fs->active - ins - upd));
	json_object_object_add(c, "deleted", json_object_new_int64(del));
	rc = 0;
	goto out;
db:
	fail(im, "apply", im->dberr);
out:
	buf_free(&q);
	buf_free(&cols);
	buf_free(&sel);
	buf_free(&set);
	buf_free(&old);
	buf_free(&neu);
	return rc;
}

/* ---- referential consistency of the stored roster (after the files are applied, same transaction) ----
 * A record a bulk file leaves out (or a delta row deletes) may still be referenced by stored records of files this
 * import does not carry. The stored roster must pass the importer's own reference checks afterwards, so:
 *  - an import made only of bulk files is complete for its entities: stored dependants go with what it removed
 *    (required reference: the dependant becomes tobedeleted; optional reference: it is cleared), repeated until
 *    nothing dangles (org -> class -> enrollment);
 *  - an import with a delta file is refused (OR-REF-003) when a record it deletes is still referenced by a stored
 *    active record it does not delete too: a delta says what changed and nothing else. */

/* the file name findings about stored rows of this entity carry (stable for the whole import) */
static const char *file_label(struct imp *im, int id)
{
	struct fstate *fs = &im->files[id];
	if (!fs->filename[0])
		snprintf(fs->filename, sizeof fs->filename, "%s.csv", rs_files[id].name);
	return fs->filename;
}

/* "NOT EXISTS (a live target of the right kind with sourced_id = <ref>)" */
static void no_live_target(buf *q, const struct ref_rule *rr, const char *ref)
{
	buf_printf(q, "NOT EXISTS (SELECT 1 FROM %s t WHERE t.sourced_id = %s AND t.status = 'active'",
		   rs_files[rr->to].table, ref);
	/* the kind is an error only for OR- rules (a homeClass that is not a homeroom is a warning) */
	if (rr->kind && strncmp(rr->rule_kind, "OR-", 3) == 0)
		buf_printf(q, " AND t.%s = '%s'", kind_column(rr->to), rr->kind);
	buf_puts(q, ")");
}

/* WHERE condition on stored row d of rr->from: active, and its reference misses a live target */
static void dangling_cond(buf *q, const struct ref_rule *rr)
{
	if (rr->list) {
		buf_printf(q, "d.status = 'active' AND EXISTS (SELECT 1 FROM unnest(d.%s) u(x) WHERE ", rr->expr);
		no_live_target(q, rr, "u.x");
		buf_puts(q, ")");
	} else {
		char ref[96];
		snprintf(ref, sizeof ref, "(d.%s)", rr->expr);
		buf_printf(q, "d.status = 'active' AND %s IS NOT NULL AND ", ref);
		no_live_target(q, rr, ref);
	}
}

/* bulk-only import: remove or clear stored dependants of removed records until none is left */
static int cascade(struct imp *im, int *users_touched)
{
	const size_t nrules = sizeof ref_rules / sizeof ref_rules[0];
	long removed[RS_NFILES] = {0}, cleared[RS_NFILES] = {0};
	buf q = {0};
	int rc = -1;
	/* a worklist: only rules whose target file lost or changed records are run (a bulk import into empty tables
	 * runs none); removing dependants makes their file the next target; 8 rounds cover the deepest chain */
	int dirty[RS_NFILES];
	memcpy(dirty, im->changed, sizeof dirty);
	for (int pass = 0, changed = 1; changed && pass < 8; pass++) {
		int next[RS_NFILES] = {0};
		changed = 0;
		for (size_t k = 0; k < nrules; k++) {
			const struct ref_rule *rr = &ref_rules[k];
			if (!dirty[rr->to])
				continue;
			const char *table = rs_files[rr->from].table;
			buf_reset(&q);
			if (rr->required && rr->list) {
				/* a class keeps the terms that remain; one with none left goes */
				buf_printf(&q, "UPDATE %s d SET date_last_modified = now(), status = CASE WHEN EXISTS (SELECT 1 FROM "
					   "unnest(d.%s) u(x) WHERE NOT (", table, rr->expr);
				no_live_target(&q, rr, "u.x");
				buf_printf(&q, ")) THEN 'active' ELSE 'tobedeleted' END, %s = ARRAY(SELECT u.x FROM unnest(d.%s) "
					   "WITH ORDINALITY u(x, i) WHERE NOT (", rr->expr, rr->expr);
				no_live_target(&q, rr, "u.x");
				buf_puts(&q, ") ORDER BY u.i) WHERE ");
			} else if (rr->required) {
				buf_printf(&q, "UPDATE %s d SET status = 'tobedeleted', date_last_modified = now() WHERE ", table);
			} else if (rr->list) {
				buf_printf(&q, "UPDATE %s d SET date_last_modified = now(), %s = ARRAY(SELECT u.x FROM unnest(d.%s) "
					   "WITH ORDINALITY u(x, i) WHERE NOT (", table, rr->expr, rr->expr);
				no_live_target(&q, rr, "u.x");
				buf_puts(&q, ") ORDER BY u.i) WHERE ");
			} else if (strncmp(rr->expr, "metadata", 8) == 0) {
				buf_printf(&q, "UPDATE %s d SET metadata = d.metadata - 'jp.homeClass', date_last_modified = now() "
					   "WHERE ", table);
			} else {
				buf_printf(&q, "UPDATE %s d SET %s = NULL, date_last_modified = now() WHERE ", table, rr->expr);
			}
			dangling_cond(&q, rr);
			PGresult *r = ix(im, q.p, 0, NULL);
			if (!r)
				goto db;
			long n = atol(PQcmdTuples(r));
			PQclear(r);
			if (n == 0)
				continue;
			changed = 1;
			next[rr->from] |= rr->required;
			if (rr->required)
				removed[rr->from] += n;
			else
				cleared[rr->from] += n;
			char d[160];
			snprintf(d, sizeof d, "%ld (%s)", n, rs_files[rr->to].name);
			rr_add(&im->rr, file_label(im, rr->from), 0, rr->col, rr->required ? "OR-CASCADE-001" : "OR-CASCADE-002", d);
			if (rr->from == RS_USERS || rr->from == RS_ROLES || rr->from == RS_ENROLLMENTS)
				*users_touched = 1;
		}
		memcpy(dirty, next, sizeof dirty);
	}
	for (int i = 0; i < RS_NFILES; i++)
		if (removed[i] || cleared[i]) {
			json_object *c = json_object_object_get(im->res->counts, rs_files[i].name);
			if (!c) {
				c = json_object_new_object();
				json_object_object_add(im->res->counts, rs_files[i].name, c);
			}
			json_object_object_add(c, "cascade_deleted", json_object_new_int64(removed[i]));
			json_object_object_add(c, "cascade_cleared", json_object_new_int64(cleared[i]));
		}
	rc = 0;
	goto out;
db:
	fail(im, "cascade", im->dberr);
out:
	buf_free(&q);
	return rc;
}

/* import with a delta file: name every stored dependant of a record this import removed */
static int refuse_dangling(struct imp *im)
{
	buf q = {0};
	for (size_t k = 0; k < sizeof ref_rules / sizeof ref_rules[0]; k++) {
		const struct ref_rule *rr = &ref_rules[k];
		if (!im->changed[rr->to])
			continue;
		buf_reset(&q);
		/* only references this import broke: the target changed in this transaction */
		if (rr->list)
			buf_printf(&q, "SELECT 0, d.sourced_id, u.x FROM %s d CROSS JOIN LATERAL unnest(d.%s) u(x) JOIN %s g ON "
				   "g.sourced_id = u.x AND g.date_last_modified = now() WHERE ", rs_files[rr->from].table, rr->expr,
				   rs_files[rr->to].table);
		else
			buf_printf(&q, "SELECT 0, d.sourced_id, (d.%s) FROM %s d JOIN %s g ON g.sourced_id = (d.%s) AND "
				   "g.date_last_modified = now() WHERE ", rr->expr, rs_files[rr->from].table,
				   rs_files[rr->to].table, rr->expr);
		dangling_cond(&q, rr);
		if (rr->list) {
			buf_puts(&q, " AND ");
			no_live_target(&q, rr, "u.x");
		}
		buf_puts(&q, " ORDER BY 2 LIMIT " REF_LIMIT);
		PGresult *r = ix(im, q.p, 0, NULL);
		if (!r) {
			fail(im, "reference check", im->dberr);
			buf_free(&q);
			return -1;
		}
		for (int i = 0; i < PQntuples(r); i++) {
			char d[300];
			snprintf(d, sizeof d, "%s → %s", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
			rr_add(&im->rr, file_label(im, rr->from), 0, rr->col, "OR-REF-003", d);
		}
		PQclear(r);
	}
	buf_free(&q);
	return 0;
}

static int keep_consistent(struct imp *im, int *users_touched)
{
	for (int i = 0; i < RS_NFILES; i++)
		if (im->files[i].staged && im->files[i].mode == RM_DELTA)
			return refuse_dangling(im);
	return cascade(im, users_touched);
}

/* Rostered users become platform accounts (SPEC §2 role mapping, no password). Only users touched by this import
 * (their row, a role or an enrollment changed) are synced. An email already used by another account is left out. */
#define RANK_OF(role) "CASE WHEN status <> 'active' THEN 0 WHEN " role " IN ('administrator', 'systemAdministrator', " \
	"'sysAdmin', 'districtAdministrator', 'siteAdministrator', 'principal') THEN 3 WHEN " role " IN ('teacher', 'aide') " \
	"THEN 2 ELSE 1 END"
/* One hash aggregate over roles + enrollments gives each user's highest role and whether any of them changed in
 * this import; users whose own row or any role/enrollment changed are synced. A deleted roster user claims no
 * e-mail (its disabled account keeps the one it has), so it cannot collide with the active user that now has it. */
static const char *SYNC_USERS =
	"WITH rk AS (SELECT u AS sid, max(rank) AS rank, bool_or(changed) AS changed FROM ("
	"   SELECT user_sourced_id AS u, " RANK_OF("role") " AS rank, date_last_modified = now() AS changed FROM roster_roles"
	"   UNION ALL SELECT user_sourced_id, " RANK_OF("role") ", date_last_modified = now() FROM roster_enrollments) a"
	"   GROUP BY u),"
	" src AS (SELECT ru.sourced_id, ru.username, ru.family_name, ru.given_name, ru.primary_org_sourced_id, ru.status,"
	"   ru.enabled_user, CASE WHEN ru.status = 'active' AND ru.email LIKE '%_@_%' THEN lower(btrim(ru.email)) END AS em,"
	"   COALESCE(rk.rank, 1) AS rank"
	"   FROM roster_users ru LEFT JOIN rk ON rk.sid = ru.sourced_id"
	"   WHERE ru.date_last_modified = now() OR rk.changed),"
	" dup AS (SELECT lower(btrim(email)) AS e FROM roster_users WHERE status = 'active' AND email LIKE '%_@_%'"
	"   GROUP BY 1 HAVING count(*) > 1),"
	" taken AS (SELECT DISTINCT lower(o.email) AS e FROM users o JOIN src ON lower(o.email) = src.em"
	"   WHERE o.sourced_id IS DISTINCT FROM src.sourced_id)"
	" INSERT INTO users (email, username, name, role, sourced_id, org_sourced_id, disabled)"
	" SELECT CASE WHEN d.e IS NULL AND t.e IS NULL THEN s.em END, s.username, btrim(s.family_name || ' ' || s.given_name),"
	"  CASE s.rank WHEN 3 THEN 'admin' WHEN 2 THEN 'creator' ELSE 'viewer' END,"
	"  s.sourced_id, s.primary_org_sourced_id, s.status <> 'active' OR NOT s.enabled_user"
	" FROM src s LEFT JOIN dup d ON d.e = s.em LEFT JOIN taken t ON t.e = s.em"
	" ON CONFLICT (sourced_id) DO UPDATE SET email = COALESCE(EXCLUDED.email, users.email),"
	"  username = EXCLUDED.username, name = EXCLUDED.name, role = EXCLUDED.role,"
	"  org_sourced_id = EXCLUDED.org_sourced_id, disabled = EXCLUDED.disabled, updated_at = now()"
	" WHERE (users.email, users.username, users.name, users.role, users.org_sourced_id, users.disabled) IS DISTINCT FROM"
	"  (COALESCE(EXCLUDED.email, users.email), EXCLUDED.username, EXCLUDED.name, EXCLUDED.role, EXCLUDED.org_sourced_id,"
	"   EXCLUDED.disabled)";

static int sync_users(struct imp *im)
{
	/* fresh statistics for the tables this import just filled, or the planner guesses from the old sizes */
	if (icmd(im, "ANALYZE roster_users, users", 0, NULL) < 0) {
		fail(im, "platform accounts", im->dberr);
		return -1;
	}
	PGresult *r = ix(im, SYNC_USERS, 0, NULL);
	if (!r) {
		fail(im, "platform accounts", im->dberr);
		return -1;
	}
	json_object_object_add(im->res->counts, "accounts", json_object_new_int64(atol(PQcmdTuples(r))));
	PQclear(r);
	return 0;
}

/* For REST writes (h_roster_api.c): the same account sync on the process connection, inside the caller's
 * transaction. 0 / -1. */
int roster_sync_accounts(void)
{
	PGresult *r = DB_EXEC0(SYNC_USERS);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* ---- bundle layout ---- */

static int setup_zip(struct imp *im)
{
	char err[256];
	im->z = zipr_open(im->o->path, &zip_default_limits, err, sizeof err);
	if (!im->z) {
		rr_add(&im->rr, "bundle", 0, "", "ZIP-001", err);
		return -1;
	}
	/* manifest.csv at the root, or inside a single top folder (a zipped directory) */
	int mi = zipr_find(im->z, "manifest.csv");
	size_t plen = 0;
	for (int i = 0; mi < 0 && i < zipr_count(im->z); i++) {
		const char *name = zipr_entry(im->z, i)->name, *slash = strchr(name, '/');
		if (slash && strcmp(slash + 1, "manifest.csv") == 0) {
			mi = i;
			plen = (size_t)(slash - name) + 1;
		}
	}
	if (mi < 0) {
		rr_add(&im->rr, "manifest.csv", 0, "", "OR-MAN-001", NULL);
		return -1;
	}
	const char *prefix = zipr_entry(im->z, mi)->name;
	const char *names[64];
	int idx[64], n = 0;
	for (int i = 0; i < zipr_count(im->z) && n < 64; i++) {
		const struct zip_entry *e = zipr_entry(im->z, i);
		if (e->is_dir || strncmp(e->name, prefix, plen) != 0 || strchr(e->name + plen, '/'))
			continue;
		names[n] = e->name + plen;
		idx[n++] = i;
	}
	struct roster_manifest m;
	struct source src = { im, NULL };
	if (zipr_entry_open(im->z, mi) < 0) {
		rr_add(&im->rr, "manifest.csv", 0, "", "ZIP-001", zipr_error(im->z));
		return -1;
	}
	/* a bad manifest line fails the import, but the files it does describe are still checked: the admin gets the
	 * whole list of problems at once */
	if (roster_manifest_parse(&im->rr, source_read, &src, &m) < 0 && !m.usable)
		return -1;
	roster_manifest_check(&im->rr, &m, names, n);
	int any = 0;
	for (int f = 0; f < RS_NFILES; f++) {
		im->files[f].mode = m.mode[f];
		if (m.mode[f] == RM_ABSENT)
			continue;
		snprintf(im->files[f].filename, sizeof im->files[f].filename, "%s.csv", rs_files[f].name);
		for (int k = 0; k < n; k++)
			if (strcmp(names[k], im->files[f].filename) == 0) {
				im->files[f].entry = idx[k];
				im->bytes_total += zipr_entry(im->z, idx[k])->usize;
			}
		any = 1;
	}
	if (!any)
		rr_add(&im->rr, "manifest.csv", 0, "", "ZIP-002", NULL);
	return any ? 0 : -1;
}

/* An unpacked bundle: manifest.csv and the CSVs in one directory, read as the zip's entries would be. */
static int setup_dir(struct imp *im)
{
	char p[4096];
	struct stat st;
	const char *names[64];
	char *owned[64];
	int n = 0, rc = -1;
	DIR *d = opendir(im->o->path);
	if (!d) {
		rr_add(&im->rr, "bundle", 0, "", "CSV-IO-001", im->o->path);
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) && n < 64) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".csv") != 0)
			continue;
		owned[n] = strdup(e->d_name);
		names[n] = owned[n];
		n++;
	}
	closedir(d);
	snprintf(p, sizeof p, "%s/manifest.csv", im->o->path);
	struct source src = { im, fopen(p, "rb") };
	if (!src.f) {
		rr_add(&im->rr, "manifest.csv", 0, "", "OR-MAN-001", NULL);
		goto out;
	}
	struct roster_manifest m;
	int bad = roster_manifest_parse(&im->rr, source_read, &src, &m) < 0 && !m.usable;
	fclose(src.f);
	if (bad)
		goto out;
	roster_manifest_check(&im->rr, &m, names, n);
	int any = 0;
	for (int f = 0; f < RS_NFILES; f++) {
		struct fstate *fs = &im->files[f];
		fs->mode = m.mode[f];
		if (m.mode[f] == RM_ABSENT)
			continue;
		snprintf(fs->filename, sizeof fs->filename, "%s.csv", rs_files[f].name);
		snprintf(fs->path, sizeof fs->path, "%s/%s.csv", im->o->path, rs_files[f].name);
		if (stat(fs->path, &st) != 0)
			fs->path[0] = 0;
		else
			im->bytes_total += (uint64_t)st.st_size;
		any = 1;
	}
	if (!any)
		rr_add(&im->rr, "manifest.csv", 0, "", "ZIP-002", NULL);
	rc = any ? 0 : -1;
out:
	for (int i = 0; i < n; i++)
		free(owned[i]);
	return rc;
}

static int setup_single(struct imp *im)
{
	const char *base = im->o->filename ? strrchr(im->o->filename, '/') : NULL;
	base = base ? base + 1 : im->o->filename ? im->o->filename : "";
	const struct rs_file *f = rs_file_by_filename(base);
	if (!f) {
		rr_add(&im->rr, base[0] ? base : "upload", 0, "", "ZIP-002", base);
		return -1;
	}
	struct fstate *fs = &im->files[f->id];
	fs->mode = im->o->single_delta ? RM_DELTA : RM_BULK;
	snprintf(fs->filename, sizeof fs->filename, "%s", base);
	FILE *fp = fopen(im->o->path, "rb");
	if (fp) {
		fseeko(fp, 0, SEEK_END);
		im->bytes_total = (uint64_t)ftello(fp);
		fclose(fp);
	}
	return 0;
}

static void finish_counts(struct imp *im)
{
	for (int i = 0; i < RS_NFILES; i++)
		if (im->files[i].mode != RM_ABSENT && im->files[i].header_done)
			file_counts(im, &im->files[i]);
	json_object_object_add(im->res->counts, "errors", json_object_new_int64(im->rr.errors));
	json_object_object_add(im->res->counts, "warnings", json_object_new_int64(im->rr.warnings));
	json_object_object_add(im->res->counts, "findings_dropped", json_object_new_int64(im->rr.dropped + (im->rr.errors +
		im->rr.warnings - im->rr.dropped > MAX_STORED ? im->rr.errors + im->rr.warnings - im->rr.dropped - MAX_STORED : 0)));
	json_object_object_add(im->res->counts, "rows", json_object_new_int64(im->res->rows));
	json_object_object_add(im->res->counts, "seconds", json_object_new_double(elapsed(im)));
}

static void update_import_row(struct imp *im)
{
	char id[32], dry[8];
	if (!im->o->import_id)
		return;
	snprintf(id, sizeof id, "%ld", im->o->import_id);
	snprintf(dry, sizeof dry, "%s", im->res->applied ? "true" : "false");
	const char *state = im->fatal ? "running" : im->rr.errors ? "failed" : im->res->held ? "held" : "done";
	const char *err = im->fatal ? im->res->error : NULL;
	char msg[200];
	if (!im->fatal && im->rr.errors) {
		snprintf(msg, sizeof msg, "validation found %ld errors: nothing was changed", im->rr.errors);
		err = msg;
	}
	if (!im->fatal && im->res->held)
		err = "quality check failed: held for review, nothing was changed";
	const char *counts = json_object_to_json_string_ext(im->res->counts, JSON_C_TO_STRING_PLAIN);
	if (ICMD(im, "UPDATE roster_imports SET state = $2, counts = $3::jsonb, error = $4, "
		   "finished_at = CASE WHEN $2 = 'running' THEN NULL ELSE now() END WHERE id = $1",
		   id, state, counts, err) < 0)
		log_error("roster import %s: cannot update its row: %s", id, im->dberr);
	(void)dry;
}

int roster_import_run(const struct roster_import_opts *o, struct roster_import_result *res)
{
	struct imp *im = calloc(1, sizeof *im);
	int in_tx = 0;
	memset(res, 0, sizeof *res);
	res->counts = json_object_new_object();
	if (!im) {
		snprintf(res->error, sizeof res->error, "out of memory");
		return -1;
	}
	im->o = o;
	im->res = res;
	im->phase = "reading";
	clock_gettime(CLOCK_MONOTONIC, &im->t0);
	rr_init(&im->rr, keep_finding, im, o->jp);
	for (int i = 0; i < RS_NFILES; i++) {
		im->files[i].f = &rs_files[i];
		im->files[i].entry = -1;
	}
	im->conn = PQconnectdb(o->conninfo ? o->conninfo : cfg.database_url ? cfg.database_url : "");
	if (PQstatus(im->conn) != CONNECTION_OK) {
		snprintf(res->error, sizeof res->error, "database: %s", PQerrorMessage(im->conn));
		PQfinish(im->conn);
		free(im);
		return -1;
	}
	/* the set-based checks hash-join a million staged rows against the referenced ids: give this one session room
	 * so the hashes stay in memory (server side; the importer's own memory stays constant) */
	{
		char set[160];
		snprintf(set, sizeof set, "SET work_mem = '%ldMB'", config_get_int("roster_import_work_mem_mb", 64));
		PQclear(PQexec(im->conn, set));
		snprintf(set, sizeof set, "SET temp_buffers = '%ldMB'", config_get_int("roster_import_temp_buffers_mb", 64));
		PQclear(PQexec(im->conn, set));
		/* a killed importer's backend stops its long statements within a second (PostgreSQL >= 14) */
		PQclear(PQexec(im->conn, "SET client_connection_check_interval = '1s'"));
		/* visible in pg_stat_activity: which process holds the import transaction */
		snprintf(set, sizeof set, "SET application_name = 'rstream roster_import pid=%ld id=%ld'", (long)getpid(),
			 o->import_id);
		PQclear(PQexec(im->conn, set));
	}
	if (o->import_id) {
		char id[32];
		snprintf(id, sizeof id, "%ld", o->import_id);
		ICMD(im, "UPDATE roster_imports SET state = 'running', started_at = now(), error = NULL WHERE id = $1", id);
	}
	struct stat st;
	im->dir = stat(o->path, &st) == 0 && S_ISDIR(st.st_mode);
	int ok = im->dir ? setup_dir(im) : zip_sniff(o->path) ? setup_zip(im) : setup_single(im);
	if (ok == 0) {
		if (icmd(im, "BEGIN", 0, NULL) < 0) {
			fail(im, "database", im->dberr);
			goto done;
		}
		in_tx = 1;
		/* one import at a time: two bulk imports interleaving their upserts and tobedeleted marks would deadlock
		 * or undo each other; the lock goes with the transaction (and with a killed worker's connection) */
		if (icmd(im, "SELECT pg_advisory_xact_lock(7215, 1)", 0, NULL) < 0) {
			fail(im, "database", im->dberr);
			goto done;
		}
		PGresult *nr = ix(im, "SELECT now()::text", 0, NULL);
		if (!nr) {
			fail(im, "database", im->dberr);
			goto done;
		}
		snprintf(im->now, sizeof im->now, "%s", PQgetvalue(nr, 0, 0));
		PQclear(nr);
		report(im, 0);
		for (int i = 0; i < RS_NFILES && !im->fatal; i++) {
			struct fstate *fs = &im->files[i];
			if (fs->mode == RM_ABSENT || (im->z && fs->entry < 0) || (im->dir && !fs->path[0]))
				continue;
			read_file(im, fs);
		}
		double t_read = elapsed(im), t_check = 0, t_apply = 0, t_accounts = 0;
		if (!im->fatal) {
			im->phase = "checking";
			report(im, 70);
			check_sets(im);
			t_check = elapsed(im);
		}
		if (!im->fatal && im->rr.errors == 0) {
			im->phase = "applying";
			report(im, 85);
			int users_touched = 0;
			for (int i = 0; i < RS_NFILES && !im->fatal; i++)
				if (im->files[i].staged) {
					if (apply_file(im, &im->files[i]) < 0)
						break;
					users_touched |= i == RS_USERS || i == RS_ROLES || i == RS_ENROLLMENTS;
				}
			if (!im->fatal)
				keep_consistent(im, &users_touched);
			t_apply = elapsed(im);
			if (!im->fatal && im->rr.errors == 0 && users_touched)
				sync_users(im);
			t_accounts = elapsed(im);
		}
		double t_dataset = 0;
		if (!im->fatal && im->rr.errors == 0 && !o->dry_run && o->before_commit) {
			double t0 = elapsed(im);
			int h = o->before_commit(o->commit_ud, im->conn, res->rows);
			t_dataset = elapsed(im) - t0;
			if (h < 0)
				fail(im, "quality check", "the dataset check could not run");
			res->held = h == 1;
		}
		if (!im->fatal && im->rr.errors == 0 && !o->dry_run && !res->held && o->may_commit && o->may_commit(o->ud, im->conn) != 1)
			fail(im, "cancelled", NULL);
		if (!im->fatal && im->rr.errors == 0 && !o->dry_run && !res->held) {
			if (icmd(im, "COMMIT", 0, NULL) < 0)
				fail(im, "commit", im->dberr);
			else {
				res->applied = 1;
				/* REST caches key on this generation: they turn over at once */
				redisReply *x = cache_cmd("INCR roster:gen");
				if (x)
					freeReplyObject(x);
			}
		} else {
			irollback(im);
		}
		in_tx = 0;
		/* where the time went (bench/roster/import.sh prints it) */
		json_object *tm = json_object_new_object();
		json_object_object_add(tm, "read_validate_stage", json_object_new_double(t_read));
		if (t_check > 0)
			json_object_object_add(tm, "set_checks", json_object_new_double(t_check - t_read));
		if (t_apply > 0)
			json_object_object_add(tm, "apply", json_object_new_double(t_apply - t_check));
		if (t_accounts > 0)
			json_object_object_add(tm, "accounts", json_object_new_double(t_accounts - t_apply));
		/* the dataset fingerprints and quality checks (dataset.c), inside the transaction before COMMIT */
		if (t_dataset > 0)
			json_object_object_add(tm, "dataset_checks", json_object_new_double(t_dataset));
		json_object_object_add(tm, "commit", json_object_new_double(elapsed(im) - (t_accounts > 0 ? t_accounts : t_read) - t_dataset));
		json_object_object_add(res->counts, "timing", tm);
	}
done:
	if (in_tx)
		irollback(im);
	im->phase = "done";
	res->errors = im->rr.errors;
	res->warnings = im->rr.warnings;
	finish_counts(im);
	if (!im->fatal)
		store_findings(im);
	update_import_row(im);
	report(im, 100);
	for (int i = 0; i < RS_NFILES; i++) {
		rr_header_free(&im->files[i].h);
		if (im->files[i].spool)
			fclose(im->files[i].spool);
	}
	for (int i = 0; i < im->nfs; i++) {
		free(im->fs[i].file);
		free(im->fs[i].col);
		free(im->fs[i].rule);
		free(im->fs[i].ja);
		free(im->fs[i].en);
	}
	free(im->fs);
	buf_free(&im->copy);
	buf_free(&im->scratch);
	buf_free(&im->row);
	if (im->z)
		zipr_close(im->z);
	int fatal = im->fatal;
	PQfinish(im->conn);
	free(im);
	return fatal ? -1 : 0;
}
