/* Command-line roster import and export: `rstream import FILE|DIR [--dry-run] [--delta] [--no-jp]` and
 * `rstream export [--since T] OUT.zip`. They run in the foreground (no job) and print findings and counts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "audit.h"
#include "config.h"
#include "db.h"
#include "roster_export.h"
#include "roster_import.h"
#include "zipread.h"

static void print_finding(void *ud, const struct rr_finding *f)
{
	long *n = ud;
	if ((*n)++ < 200)
		fprintf(stderr, "%s:%ld: %s %s [%s] %s\n", f->file, f->line, f->sev == RR_ERROR ? "error" : "warning",
			f->rule, f->col, f->msg_en);
	else if (*n == 201)
		fprintf(stderr, "... more findings in the import report\n");
}

static int progress(void *ud, double pct, const char *phase, json_object *stats)
{
	(void)ud;
	(void)stats;
	if (isatty(2))
		fprintf(stderr, "\r%-9s %5.1f%%", phase, pct);
	return 0;
}

/* an unpacked bundle (a directory holding manifest.csv and the CSVs) is recorded as a bundle, like a zip */
static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int roster_cli_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'}, {"delta", no_argument, NULL, 'd'}, {"no-jp", no_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	struct roster_import_opts o = { .jp = 1 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n') o.dry_run = 1;
		else if (c == 'd') o.single_delta = 1;
		else if (c == 'b') o.jp = 0;
		else return 2;
	}
	if (optind != argc - 1) {
		fputs("usage: rstream import FILE|DIR [--dry-run] [--delta] [--no-jp]\n", stderr);
		return 2;
	}
	o.path = argv[optind];
	const char *base = strrchr(o.path, '/');
	o.filename = base ? base + 1 : o.path;
	long nf = 0;
	o.on_finding = print_finding;
	o.finding_ud = &nf;
	o.progress = progress;
	PGresult *r = DB_EXEC("INSERT INTO roster_imports (filename, path, mode, dry_run, state) VALUES ($1, $2, "
			      "CASE WHEN $3 THEN 'zip' ELSE 'csv' END, $4, 'running') RETURNING id",
			      o.filename, o.path, is_dir(o.path) || zip_sniff(o.path) ? "true" : "false",
			      o.dry_run ? "true" : "false");
	if (r) {
		o.import_id = atol(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	struct roster_import_result res;
	int rc = roster_import_run(&o, &res);
	if (isatty(2))
		fputc('\n', stderr);
	printf("import %ld: %ld rows, %ld errors, %ld warnings, %s\n", o.import_id, res.rows, res.errors, res.warnings,
	       rc < 0 ? res.error : res.applied ? "applied" : o.dry_run && !res.errors ? "dry run: nothing changed"
							: "nothing changed");
	printf("%s\n", json_object_to_json_string_ext(res.counts, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (rc < 0 && o.import_id) {
		char id[32];
		snprintf(id, sizeof id, "%ld", o.import_id);
		DB_CMD("UPDATE roster_imports SET state = 'failed', finished_at = now() WHERE id = $1", id);
	}
	json_object *d = json_object_new_object();
	json_object_object_add(d, "import_id", json_object_new_int64(o.import_id));
	json_object_object_add(d, "file", json_object_new_string(o.filename));
	json_object_object_add(d, "dry_run", json_object_new_boolean(o.dry_run));
	json_object_object_add(d, "errors", json_object_new_int64(res.errors));
	audit_record(NULL, "cli", "roster.import", o.filename, d, rc < 0 || res.errors ? 422 : 200, res.rows);
	json_object_put(d);
	json_object_put(res.counts);
	return rc < 0 ? 1 : res.errors ? 3 : 0;
}

int roster_cli_export(int argc, char **argv)
{
	static const struct option opts[] = { {"since", required_argument, NULL, 's'}, {NULL, 0, NULL, 0} };
	const char *since = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's') since = optarg;
		else return 2;
	}
	if (optind != argc - 1) {
		fputs("usage: rstream export [--since 2026-05-01T00:00:00Z] OUT.zip\n", stderr);
		return 2;
	}
	struct roster_export_result res;
	char err[256];
	FILE *f = fopen(argv[optind], "wb");
	if (!f) {
		perror(argv[optind]);
		return 1;
	}
	int rc = roster_export_write(since, zipw_sink_file, f, &res, err, sizeof err);
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "rstream export: %s\n", err);
		return 1;
	}
	json_object_put(res.counts);
	printf("exported %ld rows (%s) to %s\n", res.rows, since ? "delta" : "bulk", argv[optind]);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "since", since ? json_object_new_string(since) : NULL);
	audit_record(NULL, "cli", "roster.export", argv[optind], d, 200, res.rows);
	json_object_put(d);
	return 0;
}
