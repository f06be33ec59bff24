/* OneRoster 1.2 CSV file definitions (+ Japan Profile metadata columns): header names in order, types, code
 * lists, requiredness, references and the SQL column each maps to. Data only; checks live in roster_rules.c. */
#ifndef RS_ROSTER_SCHEMA_H
#define RS_ROSTER_SCHEMA_H

enum rs_type {
	RS_STR,        /* free text */
	RS_GUID,       /* [0-9A-Za-z./@_-]{1,255} */
	RS_ENUM,       /* one of codes (base spec also allows "ext:…") */
	RS_DATE,       /* YYYY-MM-DD */
	RS_DATETIME,   /* ISO 8601 */
	RS_YEAR,       /* YYYY */
	RS_BOOL,       /* true | false */
	RS_INT,        /* base-10 integer */
	RS_LIST,       /* comma list of free items (or of codes when codes != NULL) */
	RS_GUIDLIST,   /* comma list of GUIDs */
	RS_USERIDS,    /* comma list of {type:identifier} */
	RS_STATUS,     /* active | tobedeleted */
};

struct rs_col {
	const char *name;            /* CSV header */
	const char *column;          /* SQL column, NULL = not stored (status, dateLastModified, password) */
	enum rs_type type;
	int required;                /* required in active rows */
	const char *const *codes;    /* NULL-terminated code list for RS_ENUM / coded RS_LIST */
	const char *ref;             /* referenced file ("orgs"), NULL if none */
};

enum rs_file_id { RS_ACADEMIC_SESSIONS, RS_ORGS, RS_COURSES, RS_CLASSES, RS_USERS, RS_USER_PROFILES, RS_ROLES,
		  RS_ENROLLMENTS, RS_DEMOGRAPHICS, RS_NFILES };

struct rs_file {
	enum rs_file_id id;
	const char *name;            /* "users" (file = name + ".csv", manifest key "file." + name) */
	const char *table;           /* roster_users */
	const struct rs_col *cols;   /* spec columns in order */
	int ncols;
	const struct rs_col *alt;    /* alternative accepted header (users: CSV 1.2 with resourceSourcedIds) */
	int nalt;
	const struct rs_col *meta;   /* known metadata.* columns (Japan Profile), any order, at the end */
	int nmeta;
};

extern const struct rs_file rs_files[RS_NFILES];   /* in processing order */
/* Manifest keys for files we do not import (gradebook, resources): accepted, must be "absent" to be used. */
extern const char *const rs_other_files[];

const struct rs_file *rs_file_by_name(const char *name);            /* "users" */
const struct rs_file *rs_file_by_filename(const char *filename);    /* "users.csv" (case-sensitive) */
const struct rs_col *rs_col_by_name(const struct rs_file *f, const char *name);  /* base or meta */
const char *rs_sql_type(enum rs_type t);                            /* text, date, boolean, integer, text[] or NULL */

extern const char *const rs_jp_grades[];
extern const char *const rs_status_codes[];
/* code lists (NULL-terminated), shared with the REST filter's value check */
extern const char *const rs_org_types[], *const rs_session_types[], *const rs_class_types[], *const rs_role_types[],
	*const rs_roles[], *const rs_enrollment_roles[], *const rs_sexes[];
#endif
