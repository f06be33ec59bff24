/* libpq wrapper: one connection per process, re-opened after a failure.
 * Every statement goes through PQexecParams: parameters are never spliced into SQL text. */
#include "db.h"
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "arena.h"
#include "db_replica.h"
#include "log.h"
#include "metrics.h"

static PGconn *conn;
static char *conn_url;
static char last_error[1024];
static char last_state[6];
static int in_tx;
static int outage;   /* a statement failed because PostgreSQL could not be reached (not because of the SQL) */

int db_connect(const char *url)
{
	if (url != conn_url) { free(conn_url); conn_url = strdup(url); }
	if (conn) PQfinish(conn);
	conn = PQconnectdb(conn_url);
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(last_error, sizeof last_error, "%s", PQerrorMessage(conn));
		log_error("database connect failed: %s", last_error);
		metrics_inc("rstream_postgres_errors_total", "kind=\"connect\"", 1);
		PQfinish(conn);
		conn = NULL;
		return -1;
	}
	PQsetNoticeProcessor(conn, NULL, NULL);
	in_tx = 0;
	return 0;
}

/* One statement may be in flight without a wait (db_send_prepared). Its result is read at the next use of the
 * connection, and kept for db_sent_result. */
static int sent;
static PGresult *sent_res;

static void read_sent(void)
{
	if (!sent) return;
	sent = 0;
	PGresult *r;
	PQclear(sent_res);
	sent_res = NULL;
	while ((r = PQgetResult(conn))) {
		if (!sent_res) sent_res = r;
		else PQclear(r);
	}
}

PGconn *db_conn(void)
{
	read_sent();
	if (conn && PQstatus(conn) == CONNECTION_OK) return conn;
	if (!conn_url) return NULL;
	if (conn) { PQreset(conn); if (PQstatus(conn) == CONNECTION_OK) { in_tx = 0; return conn; } }
	db_connect(conn_url);
	return conn;
}

void db_close(void)
{
	if (conn) PQfinish(conn);
	conn = NULL;
	db_replica_close();
}

const char *db_error(void) { return last_error; }
int db_outage(void) { return outage; }
void db_outage_clear(void) { outage = 0; }
const char *db_sqlstate(void) { return last_state; }

/* the statements a replica can answer: a read (a WITH that writes is refused there and runs on the primary) */
static int is_read(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(') sql++;
	return !strncasecmp(sql, "SELECT", 6) || !strncasecmp(sql, "WITH", 4);
}

/* inside a read scope (db_replica.h) a read goes to the replica; any failure there is retried on the primary */
static PGresult *exec_replica(const char *sql, int n, const char *const *params)
{
	PGconn *c = in_tx || !is_read(sql) ? NULL : db_replica_pick();
	if (!c) return NULL;
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return res;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	/* 25006: a write in disguise (read-only transaction); anything else: the replica's trouble */
	if (!state || strcmp(state, "25006")) db_replica_failed();
	PQclear(res);
	return NULL;
}

static PGresult *exec_once(const char *sql, int n, const char *const *params)
{
	PGconn *c = db_conn();
	if (!c) { snprintf(last_error, sizeof last_error, "database unavailable"); outage = 1; return NULL; }
	return PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
}

/* A failed statement for /metrics: "unavailable" when PostgreSQL could not be reached, else "query" with the
 * SQLSTATE class (23 = a constraint the caller may expect, 42 = a bug in our SQL, 53 = out of resources …). */
static void count_error(void)
{
	char labels[64];
	if (outage || !last_state[0]) snprintf(labels, sizeof labels, "kind=\"unavailable\"");
	else snprintf(labels, sizeof labels, "kind=\"query\",class=\"%.2s\"", last_state);
	metrics_inc("rstream_postgres_errors_total", labels, 1);
}

PGresult *db_exec(const char *sql, int n, const char *const *params)
{
	last_error[0] = 0;
	last_state[0] = 0;
	PGresult *res = exec_replica(sql, n, params);
	if (res) return res;
	res = exec_once(sql, n, params);
	/* a dropped connection outside a transaction is safe to retry once */
	if ((!res || PQresultStatus(res) == PGRES_FATAL_ERROR) && !in_tx && conn && PQstatus(conn) == CONNECTION_BAD) {
		PQclear(res);
		res = exec_once(sql, n, params);
	}
	if (!res) { count_error(); return NULL; }
	ExecStatusType st = PQresultStatus(res);
	/* a fatal error on a connection that went bad is the server going away, not this statement's fault */
	if (st == PGRES_FATAL_ERROR && conn && PQstatus(conn) == CONNECTION_BAD) outage = 1;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN && st != PGRES_COPY_OUT) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		snprintf(last_state, sizeof last_state, "%s", state ? state : "");
		/* 08xxx connection exception, 57P0x shutdown / starting up: the server, not the statement */
		if (!strncmp(last_state, "08", 2) || !strncmp(last_state, "57P", 3)) outage = 1;
		snprintf(last_error, sizeof last_error, "%s", PQresultErrorMessage(res));
		size_t l = strlen(last_error);
		while (l && (last_error[l - 1] == '\n')) last_error[--l] = 0;
		PQclear(res);
		count_error();
		return NULL;
	}
	return res;
}

/* Prepared statements, per connection (db.h). Planning a short lookup costs PostgreSQL several times what running
 * it does (the stats pages' video lookup: 0.38 ms planning, 0.08 ms execution; a roster page query about as much
 * as running it): a statement asked for on every request is parsed and planned once per connection. Two caches,
 * the primary's and the replica's (a read inside a read scope runs there), each of up to DB_PREPARED statements,
 * the least recently used deallocated first; a cache is forgotten when its connection is a new backend. */
#define DB_PREPARED 64
struct stmt_cache {
	struct { char *sql; char name[24]; unsigned long used; } e[DB_PREPARED];
	int pid;
};
static struct stmt_cache primary_stmts, replica_stmts;
static unsigned long prepared_tick, prepared_seq;

static void prepared_forget(struct stmt_cache *pc, int i)
{
	free(pc->e[i].sql);
	pc->e[i].sql = NULL;
}

/* the name of sql prepared on c (pc: c's cache), preparing it now if needed; NULL if it could not be */
static const char *prepared_name(PGconn *c, struct stmt_cache *pc, const char *sql, int n, int *slot_out)
{
	if (PQbackendPID(c) != pc->pid) {
		for (int i = 0; i < DB_PREPARED; i++) prepared_forget(pc, i);
		pc->pid = PQbackendPID(c);
	}
	int slot = -1, lru = 0;
	for (int i = 0; i < DB_PREPARED && slot < 0; i++) {
		if (pc->e[i].sql && !strcmp(pc->e[i].sql, sql)) slot = i;
		else if (!pc->e[i].sql || (pc->e[lru].sql && pc->e[i].used < pc->e[lru].used)) lru = i;
	}
	if (slot < 0) {
		slot = lru;
		char dealloc[48];
		if (pc->e[slot].sql) {
			snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", pc->e[slot].name);
			PQclear(PQexec(c, dealloc));
			prepared_forget(pc, slot);
		}
		snprintf(pc->e[slot].name, sizeof pc->e[slot].name, "rs_db_%lu", ++prepared_seq);
		PGresult *res = PQprepare(c, pc->e[slot].name, sql, n, NULL);
		int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!ok || !(pc->e[slot].sql = strdup(sql))) return NULL;
	}
	pc->e[slot].used = ++prepared_tick;
	*slot_out = slot;
	return pc->e[slot].name;
}

PGresult *db_exec_prepared(const char *sql, int n, const char *const *params)
{
	/* in a transaction a failure would abort it before the plain retry below */
	if (in_tx) return db_exec(sql, n, params);
	PGconn *replica = is_read(sql) ? db_replica_pick() : NULL, *c = replica ? replica : db_conn();
	struct stmt_cache *pc = replica ? &replica_stmts : &primary_stmts;
	if (!c || PQtransactionStatus(c) != PQTRANS_IDLE) return db_exec(sql, n, params);
	int slot;
	const char *name = prepared_name(c, pc, sql, n, &slot);
	if (!name) return db_exec(sql, n, params);
	last_error[0] = 0;
	last_state[0] = 0;
	PGresult *res = PQexecPrepared(c, name, n, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return res;
	/* it did not run: forget the statement (the session may have been reset) and take the plain path, which
	 * reconnects, retries (a replica failure on the primary) and reports the error as every other statement's */
	PQclear(res);
	prepared_forget(pc, slot);
	return db_exec(sql, n, params);
}

int db_send_prepared(const char *sql, int n, const char *const *params)
{
	PGconn *c = in_tx ? NULL : db_conn();
	if (!c || PQtransactionStatus(c) != PQTRANS_IDLE) return -1;
	int slot;
	const char *name = prepared_name(c, &primary_stmts, sql, n, &slot);
	if (!name || !PQsendQueryPrepared(c, name, n, params, NULL, NULL, 0)) return -1;
	sent = 1;
	return 0;
}

int db_in_transaction(void)
{
	/* a statement in flight was sent outside a transaction, and nothing can have begun one since (that would have
	 * read its result first) */
	return !sent && conn && PQtransactionStatus(conn) != PQTRANS_IDLE;
}

PGresult *db_sent_result(void)
{
	read_sent();
	PGresult *r = sent_res;
	sent_res = NULL;
	if (conn && PQstatus(conn) == CONNECTION_BAD) outage = 1;
	if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)) {
		snprintf(last_error, sizeof last_error, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
		count_error();
	}
	return r;
}

int db_cmd(const char *sql, int n, const char *const *params)
{
	PGresult *res = db_exec(sql, n, params);
	if (!res) return -1;
	PQclear(res);
	return 0;
}

int db_begin(void)
{
	if (db_cmd("BEGIN", 0, NULL) < 0) return -1;
	in_tx = 1;
	return 0;
}

int db_commit(void)
{
	int rc = db_cmd("COMMIT", 0, NULL);
	in_tx = 0;
	return rc;
}

void db_rollback(void)
{
	read_sent();
	if (conn && PQstatus(conn) == CONNECTION_OK) {
		PGresult *r = PQexec(conn, "ROLLBACK");
		PQclear(r);
	}
	in_tx = 0;
}

/* type OIDs from pg_type.h */
#define BOOLOID 16
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define FLOAT4OID 700
#define FLOAT8OID 701
#define NUMERICOID 1700
#define JSONOID 114
#define JSONBOID 3802

json_object *db_row_json(PGresult *res, int row)
{
	json_object *o = json_object_new_object();
	int nf = PQnfields(res);
	for (int c = 0; c < nf; c++) {
		const char *name = PQfname(res, c);
		if (PQgetisnull(res, row, c)) { json_object_object_add(o, name, NULL); continue; }
		const char *v = PQgetvalue(res, row, c);
		Oid t = PQftype(res, c);
		json_object *jv;
		size_t nl = strlen(name);
		if (t == JSONOID || t == JSONBOID || (nl > 5 && !strcmp(name + nl - 5, "_json"))) {
			jv = json_tokener_parse(v);
		} else if (t == INT8OID || t == INT4OID || t == INT2OID) {
			jv = json_object_new_int64(strtoll(v, NULL, 10));
		} else if (t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID) {
			jv = json_object_new_double(strtod(v, NULL));
		} else if (t == BOOLOID) {
			jv = json_object_new_boolean(v[0] == 't');
		} else {
			jv = json_object_new_string(v);
		}
		json_object_object_add(o, name, jv);
	}
	return o;
}

json_object *db_rows_json(PGresult *res)
{
	json_object *a = json_object_new_array();
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) json_object_array_add(a, db_row_json(res, i));
	return a;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* List sql/NNN_*.sql sorted by name. */
static int list_migrations(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	char **names = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 8 || strcmp(e->d_name + l - 4, ".sql") || e->d_name[0] < '0' || e->d_name[0] > '9') continue;
		names = realloc(names, sizeof *names * (size_t)(n + 1));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	*out = names;
	return n;
}

static void free_list(char **names, int n)
{
	for (int i = 0; i < n; i++) free(names[i]);
	free(names);
}

static int ensure_table(void)
{
	return db_cmd("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
		      "applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL);
}

int db_migrations_pending(const char *dir)
{
	char **names;
	int n = list_migrations(dir, &names), pending = 0;
	if (n < 0) return -1;
	PGresult *res = DB_EXEC0("SELECT name FROM schema_migrations");
	if (!res) { free_list(names, n); return -1; }
	for (int i = 0; i < n; i++) {
		int found = 0;
		for (int k = 0; k < PQntuples(res) && !found; k++) found = !strcmp(PQgetvalue(res, k, 0), names[i]);
		pending += !found;
	}
	PQclear(res);
	free_list(names, n);
	return pending;
}

int db_migrate(const char *dir, int verbose)
{
	char **names;
	int rc = 0;
	if (!db_conn()) return -1;
	/* one migrator at a time across processes */
	if (ensure_table() < 0 || db_cmd("SELECT pg_advisory_lock(727271)", 0, NULL) < 0) return -1;
	int n = list_migrations(dir, &names);
	if (n < 0) { log_error("cannot read migrations dir %s", dir); db_cmd("SELECT pg_advisory_unlock(727271)", 0, NULL); return -1; }
	for (int i = 0; i < n && rc == 0; i++) {
		PGresult *r = DB_EXEC("SELECT 1 FROM schema_migrations WHERE name = $1", names[i]);
		int done = r && PQntuples(r) > 0;
		PQclear(r);
		if (!r) { rc = -1; break; }
		if (done) continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "r");
		if (!f) { log_error("cannot read %s", path); rc = -1; break; }
		buf sql = {0};
		char chunk[8192];
		size_t k;
		while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&sql, chunk, k);
		fclose(f);
		/* multi-statement file: simple query protocol inside an explicit transaction */
		PGresult *res = PQexec(conn, "BEGIN");
		PQclear(res);
		res = PQexec(conn, sql.p ? sql.p : "");
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("migration %s failed: %s", names[i], PQresultErrorMessage(res));
			PQclear(res);
			res = PQexec(conn, "ROLLBACK");
			PQclear(res);
			rc = -1;
		} else {
			PQclear(res);
			const char *p[1] = {names[i]};
			res = PQexecParams(conn, "INSERT INTO schema_migrations(name) VALUES ($1)", 1, NULL, p, NULL, NULL, 0);
			int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			PQclear(res);
			res = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
			PQclear(res);
			if (!ok) rc = -1;
			else if (verbose) fprintf(stderr, "applied %s\n", names[i]);
		}
		buf_free(&sql);
	}
	free_list(names, n);
	db_cmd("SELECT pg_advisory_unlock(727271)", 0, NULL);
	return rc;
}

void db_after_fork(void)
{
	/* closing the socket alone leaves the parent's session untouched; PQfinish would send Terminate */
	if (conn) close(PQsocket(conn));
	conn = NULL;
	in_tx = 0;
	sent = 0;   /* the parent's statement: its result is the parent's to read */
	sent_res = NULL;
	db_replica_after_fork();
	if (conn_url) db_connect(conn_url);
}

const char *db_text_array(arena *a, const char *const *items, int n)
{
	buf b = {0};
	buf_puts(&b, "{");
	for (int i = 0; i < n; i++) {
		buf_puts(&b, i ? ",\"" : "\"");
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\') buf_append(&b, "\\", 1);
			buf_append(&b, p, 1);
		}
		buf_puts(&b, "\"");
	}
	buf_puts(&b, "}");
	char *s = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return s;
}
