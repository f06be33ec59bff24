/* OneRoster REST query parameters: the filter grammar (field op 'value', at most two predicates joined by AND/OR),
 * sort, orderBy, fields, limit and offset, checked against a per-endpoint field whitelist. No HTTP in here.
 * Output is a parameterised SQL fragment ($n placeholders + a params array): SQL text never comes from the request. */
#ifndef RS_ROSTER_FILTER_H
#define RS_ROSTER_FILTER_H
#include "arena.h"

enum rf_type {
	RF_STR,        /* text column: all operators, ~ = case-insensitive contains */
	RF_BOOL,       /* boolean column: = and != with 'true' / 'false' */
	RF_INT,        /* integer column */
	RF_DATE,       /* date column, value YYYY-MM-DD */
	RF_DATETIME,   /* timestamptz column, value ISO 8601 (lenient: offsets, no millis) */
	RF_LIST,       /* text[] column: = (contains item), != (does not contain), ~ (an item contains) */
	RF_EXISTS,     /* column is "EXISTS (… AND %s)"; the predicate on `inner` goes where %s is */
	RF_NONE,       /* selectable only (computed JSON such as roles[]): never filtered or sorted */
};
enum rf_flags { RFF_FILTER = 1, RFF_SORT = 2, RFF_SELECT = 4 };

/* One field of an endpoint's whitelist. `name` is what a client writes in filter/sort (may be dotted:
 * "school.sourcedId"); `json` is the top-level JSON member it belongs to (for `fields`); `column` the SQL
 * expression from our own constant tables. `ref` names the referenced type for JSON references (roster_api.c). */
struct rf_field {
	const char *name;
	const char *json;
	const char *column;
	enum rf_type type;
	int flags;
	const char *ref;       /* reference type ("org", "user", …) or NULL */
	const char *inner;     /* RF_EXISTS: column compared inside the subquery */
	int out;               /* JSON output kind (enum ra_out in roster_api.h); 0 = by type */
	const char *const *codes; /* code list of the field (NULL-terminated) or NULL: = and != take only these */
};

enum rf_op { RF_EQ, RF_NE, RF_GT, RF_GE, RF_LT, RF_LE, RF_CONTAINS };

struct rf_pred {
	const struct rf_field *field;
	enum rf_op op;
	const char *value;
	int has_us;              /* a datetime the server moved to a known change: us is that instant in microseconds */
	long long us;
};

#define RF_MAX_FIELDS 48
#define RF_MAX_FILTER_LEN 2048
#define RF_MAX_VALUE_LEN 512
#define RF_LIMIT_DEFAULT 100
#define RF_LIMIT_MAX 10000
#define RF_OFFSET_MAX 100000000L

struct roster_query {
	int npred;                     /* 0, 1 or 2 */
	struct rf_pred pred[2];
	int join_or;                   /* 1: OR, 0: AND */
	const struct rf_field *sort;   /* NULL: by sourcedId */
	int desc;
	const struct rf_field *fields[RF_MAX_FIELDS]; /* selected top-level members (one entry per json name) */
	int nfields;                   /* 0: all */
	long limit, offset;
};

/* codeMinor values of the OneRoster imsx vocabulary */
#define RF_INVALID_FILTER "invalid_filter_field"
#define RF_INVALID_SORT "invalid_sort_field"
#define RF_INVALID_SELECTION "invalid_selection_field"
#define RF_INVALID_DATA "invaliddata"

struct rf_error {
	const char *code_minor;   /* one of the RF_INVALID_* */
	const char *param;        /* "filter", "sort", "orderBy", "fields", "limit", "offset" */
	char msg[256];
};

/* Look a field up by its filter/sort name (exact, case-sensitive). */
const struct rf_field *rf_lookup(const struct rf_field *wl, int n, const char *name);

/* Parse the filter expression alone. filter may be NULL or "" (no predicates). 0 ok, -1 with err filled. */
int roster_filter_parse(arena *a, const struct rf_field *wl, int n, const char *filter, struct roster_query *q,
			struct rf_error *err);

/* Parse every collection parameter (any may be NULL = absent). 0 ok, -1 with err. */
int roster_query_parse(arena *a, const struct rf_field *wl, int n, const char *filter, const char *sort,
		       const char *order_by, const char *fields, const char *limit, const char *offset,
		       struct roster_query *q, struct rf_error *err);
/* Only `fields` (single-object reads). */
int roster_fields_parse(arena *a, const struct rf_field *wl, int n, const char *fields, struct roster_query *q,
			struct rf_error *err);

/* SQL for the filter: "(pred1 AND pred2)" or "" when there is no filter. Placeholders start at $first;
 * values are appended to params[*np] (room for 2 more is needed). */
const char *roster_filter_sql(arena *a, const struct roster_query *q, int first, const char **params, int *np);
/* ORDER BY body, e.g. "t.family_name DESC, t.sourced_id DESC". id_column is the tie-breaker. */
const char *roster_order_sql(arena *a, const struct roster_query *q, const char *id_column);
/* 1 if the JSON member `json` is selected by q->fields (or no selection was given). */
int roster_field_selected(const struct roster_query *q, const char *json);

/* Parse an ISO 8601 date-time into the strict form YYYY-MM-DDTHH:MM:SS.sssZ (UTC). 0 ok, -1 bad. */
int rf_datetime_normalize(const char *in, char out[32]);
int rf_date_valid(const char *s);   /* YYYY-MM-DD with a real calendar date */
/* A normalized date-time (rf_datetime_normalize's YYYY-MM-DDTHH:MM:SS.mmmZ) as microseconds since 1970; -1 when
 * it is not one. */
int rf_datetime_us(const char *norm, long long *us);
/* In the ascending instants t[0..n-1], which hold every distinct instant from t[0] on: the index of the first one
 * after since (or at it, when ge), n when there is none; -1 when since is before t[0] (an earlier instant may
 * exist that t does not hold). */
int rf_first_change(const long long *t, int n, long long since, int ge);
#endif
