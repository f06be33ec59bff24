/* Validation of roster CSV files: the rule catalog (code, severity, ja/en message), findings, header mapping,
 * per-row checks (required, types, code lists, bulk/delta status rules, Japan Profile rules) and the manifest.
 * Reference and duplicate checks are set-based SQL in roster_import.c; they report through the same catalog. */
#ifndef RS_ROSTER_RULES_H
#define RS_ROSTER_RULES_H
#include "roster_csv.h"
#include "roster_schema.h"

enum rr_severity { RR_ERROR = 0, RR_WARNING = 1 };

struct rr_rule { const char *code; enum rr_severity sev; const char *en, *ja; };
extern const struct rr_rule rr_rules[];
const struct rr_rule *rr_rule(const char *code);

struct rr_finding {
	const char *file;    /* "users.csv", "manifest.csv", "bundle" */
	long line;           /* 0 = whole file */
	const char *col;     /* header name or "" */
	const char *rule;
	enum rr_severity sev;
	const char *msg_ja, *msg_en;
};
typedef void (*rr_emit_fn)(void *ud, const struct rr_finding *f);

#define RR_MAX_PER_RULE 1000   /* findings kept per (file, rule); all are counted */

struct rr_ctx {
	rr_emit_fn emit;      /* may be NULL: count only */
	void *ud;
	int jp;               /* apply Japan Profile rules */
	long errors, warnings, dropped;
	struct { const char *file, *rule; long n; } per[192];
	int nper;
};
void rr_init(struct rr_ctx *c, rr_emit_fn emit, void *ud, int jp);
/* Record a finding; detail (value, names) is appended to both messages (may be NULL). */
void rr_add(struct rr_ctx *c, const char *file, long line, const char *col, const char *rule, const char *detail);
/* Same with a CSV reader error (its code is the rule). */
void rr_add_csv(struct rr_ctx *c, const char *file, const struct rcsv_error *e);

#define RR_MAX_COLS 256
struct rr_header {
	const struct rs_file *f;
	const char *filename;
	int n;                                  /* columns in the CSV */
	const struct rs_col *layout;            /* base layout matched (cols or alt) */
	int nlayout;
	const struct rs_col *col[RR_MAX_COLS];  /* definition per CSV column; NULL for an unknown metadata column */
	char *meta_key[RR_MAX_COLS];            /* "jp.kanaGivenName" for metadata columns, else NULL (malloc'd) */
	int nmeta;
	int has_kana;                           /* the JP kana name columns are present */
	int warned_bulk;
};
/* Map a header row. 0 ok; -1 after emitting header errors (the file cannot be read further). */
int rr_header_map(struct rr_ctx *c, const struct rs_file *f, const char *filename, int n, char **names,
		  struct rr_header *h);
void rr_header_free(struct rr_header *h);
int rr_header_pos(const struct rr_header *h, const char *name);   /* CSV index of a column or -1 */

/* Check one data row. bad[i] is set for columns whose value must not be stored (typed staging gets NULL).
 * *deleted = 1 for a delta row with status tobedeleted. Returns the number of errors in the row. */
int rr_check_row(struct rr_ctx *c, struct rr_header *h, int delta, long line, int n, char **v,
		 unsigned char *bad, int *deleted);

/* value checks (exposed for tests and the REST write path) */
int rr_guid_ok(const char *s);
int rr_date_ok(const char *s);
int rr_datetime_ok(const char *s);
int rr_bool_ok(const char *s);        /* 1 true/false, 2 other case (TRUE), 0 bad */
int rr_int_ok(const char *s);
int rr_userid_ok(const char *s);      /* {type:identifier} */
int rr_has_halfwidth_kana(const char *s);
int rr_is_kana(const char *s);        /* only hiragana/katakana, prolonged sound mark, spaces */
int rr_jp_grade_ok(const char *s);

/* ---- manifest.csv ---- */
enum rm_mode { RM_ABSENT = 0, RM_BULK, RM_DELTA };
struct roster_manifest {
	enum rm_mode mode[RS_NFILES];
	char version[16], or_version[16];
	int listed[RS_NFILES];          /* a file.x row was present */
	int usable;                     /* header and CSV were sound: the files can be checked despite bad lines */
};
/* Parse manifest.csv; findings go to c. 0 usable, -1 errors. */
int roster_manifest_parse(struct rr_ctx *c, rcsv_read_fn rd, void *src, struct roster_manifest *m);
/* Compare with the bundle's entry names: listed bulk/delta files must exist (error), unlisted CSVs are ignored
 * with a warning. 0 ok, -1 errors. */
int roster_manifest_check(struct rr_ctx *c, const struct roster_manifest *m, const char *const *names, int n);
const char *rm_mode_name(enum rm_mode m);
#endif
