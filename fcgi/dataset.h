/* Datasets and their versions: the content-addressed file store, versions made from roster imports, roster
 * exports and statistics exports, the row fingerprints diffs compare, the worker's schedule and retention. */
#ifndef RS_DATASET_H
#define RS_DATASET_H
#include <json-c/json.h>
#include <libpq-fe.h>
#include "roster_import.h"

/* ---- file store: data_dir/datasets/objects/<sha[0:2]>/<sha> ---- */
int dataset_file_sha256(const char *path, char hex[65], long long *size);   /* 0 ok / -1 */
/* The object's path for a sha256 (hex, checked) into out. 0 ok / -1 for a malformed hash. */
int dataset_object_path(const char *sha, char *out, size_t outlen);
/* Store a file once by content: hard link (or copy) into the store unless present. 0 ok / -1 with err. */
int dataset_store(const char *path, char sha[65], long long *size, char *err, size_t errlen);

/* The default dataset of a kind ("roster_import" | "roster_export" | "stats_export"); -1 on error. */
long dataset_default(const char *kind);

/* ---- roster imports (job_roster_import.c) ---- */
struct dataset_import {
	long import_id, dataset_id, version_id;
	int force;          /* an admin applies a held draft: no hold this time */
	int block;          /* the dataset blocks bulk imports whose check fails */
	char worst[8];
};
/* Before the run: record (or find, on a retry) the import's version as a draft. 0 ok, 1 nothing to record (dry
 * run), -1 error (logged; the import runs without a version). */
int dataset_import_begin(struct dataset_import *d, long import_id, int force);
/* roster_import_opts.before_commit: fingerprints and quality check inside the import's transaction. */
int dataset_import_hold(void *ud, PGconn *conn, long rows);
/* After the run: counts and findings on the version, published when applied, the error check when refused. */
void dataset_import_end(struct dataset_import *d, int rc, const struct roster_import_result *res);

/* ---- exports ---- */
void dataset_export_done(long export_id, const char *path, json_object *counts, long created_by);
/* A statistics CSV written to tmp_path (moved or removed here) becomes a version of the default stats dataset. */
void dataset_stats_export(const char *filename, const char *tmp_path, long rows, long created_by);

/* ---- worker ---- */
/* Scheduled checks (datasets.check_schedule, minute resolution in the deployment's zone) and retention. */
void dataset_schedule_tick(void);
/* Retention of one dataset (0 = all): delete versions that are neither among the newest keep_versions nor younger
 * than keep_days, never the published one; files no version uses any more are removed. Returns versions deleted. */
long dataset_retention(long dataset_id);
#endif
