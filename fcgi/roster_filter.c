/* OneRoster REST query parameters parsed into a typed struct, then turned into parameterised SQL.
 * The only SQL text that leaves here comes from the whitelist tables and from fixed operator strings. */
#include "roster_filter.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(struct rf_error *e, const char *code, const char *param, const char *fmt, const char *arg)
{
	e->code_minor = code;
	e->param = param;
	snprintf(e->msg, sizeof e->msg, fmt, arg ? arg : "");
	return -1;
}

const struct rf_field *rf_lookup(const struct rf_field *wl, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(wl[i].name, name)) return &wl[i];
	return NULL;
}

/* ---- dates ---- */

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
	return d[m - 1];
}

static int date_parse(const char *s, int *y, int *m, int *d)
{
	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-') return -1;
	if (digits(s, 4, y) || digits(s + 5, 2, m) || digits(s + 8, 2, d)) return -1;
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m)) return -1;
	return 0;
}

int rf_date_valid(const char *s)
{
	int y, m, d;
	return s && strlen(s) == 10 && date_parse(s, &y, &m, &d) == 0;
}

int rf_datetime_normalize(const char *in, char out[32])
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
	if (!in || date_parse(in, &y, &mo, &d)) return -1;
	const char *p = in + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi)) return -1;
		p += 5;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec)) return -1;
			p += 3;
			if (*p == '.' || *p == ',') {
				p++;
				int nd = 0, scale = 100;
				while (isdigit((unsigned char)*p)) {
					if (nd < 3) { ms += (*p - '0') * scale; scale /= 10; }
					nd++; p++;
				}
				if (nd == 0 || nd > 9) return -1;
			}
		}
		if (h > 23 || mi > 59 || sec > 60) return -1;
		if (*p == 'Z' || *p == 'z') p++;
		else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om = 0;
			p++;
			if (digits(p, 2, &oh)) return -1;
			p += 2;
			if (*p == ':') p++;
			if (*p) { if (digits(p, 2, &om)) return -1; p += 2; }
			if (oh > 23 || om > 59) return -1;
			off = sign * (oh * 60 + om);
		}
	}
	if (*p) return -1;
	struct tm tm = {0};
	tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
	tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
	time_t t = timegm(&tm) - (time_t)off * 60;
	struct tm u;
	if (!gmtime_r(&t, &u)) return -1;
	if (u.tm_year + 1900 > 9999 || u.tm_year + 1900 < 1) return -1;
	char tmp[96];
	int len = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.tm_year + 1900, u.tm_mon + 1,
			   u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
	if (len != 24) return -1;
	memcpy(out, tmp, 25);
	return 0;
}

int rf_datetime_us(const char *norm, long long *us)
{
	char check[32];
	int y, mo, d, h, mi, sec, ms;
	if (!norm || strlen(norm) != 24 || rf_datetime_normalize(norm, check) || strcmp(check, norm) ||
	    sscanf(norm, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms) != 7)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
	*us = (long long)timegm(&tm) * 1000000 + ms * 1000LL;
	return 0;
}

int rf_first_change(const long long *t, int n, long long since, int ge)
{
	if (n <= 0 || since < t[0]) return -1;
	int lo = 0, hi = n;   /* the first index whose instant is after since (ge: not before it) */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (ge ? t[mid] < since : t[mid] <= since) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/* ---- filter ---- */

static int is_field_char(int c) { return isalnum(c) || c == '.' || c == '_'; }

static void skip_ws(const char **p) { while (**p == ' ' || **p == '\t') (*p)++; }

static int parse_op(const char **p, enum rf_op *op)
{
	const char *s = *p;
	if (s[0] == '!' && s[1] == '=') { *op = RF_NE; *p += 2; return 0; }
	if (s[0] == '>' && s[1] == '=') { *op = RF_GE; *p += 2; return 0; }
	if (s[0] == '<' && s[1] == '=') { *op = RF_LE; *p += 2; return 0; }
	if (s[0] == '=') { *op = RF_EQ; *p += 1; return 0; }
	if (s[0] == '>') { *op = RF_GT; *p += 1; return 0; }
	if (s[0] == '<') { *op = RF_LT; *p += 1; return 0; }
	if (s[0] == '~') { *op = RF_CONTAINS; *p += 1; return 0; }
	return -1;
}

/* Check the value against the field type (and normalise dates); the operator must make sense for the type. */
static int check_value(arena *a, struct rf_pred *pr, struct rf_error *e)
{
	const struct rf_field *f = pr->field;
	switch (f->type) {
	case RF_BOOL:
		if (pr->op != RF_EQ && pr->op != RF_NE)
			return fail(e, RF_INVALID_DATA, "filter", "field %s accepts only = and !=", f->name);
		if (strcmp(pr->value, "true") && strcmp(pr->value, "false"))
			return fail(e, RF_INVALID_DATA, "filter", "field %s takes 'true' or 'false'", f->name);
		break;
	case RF_INT: {
		if (pr->op == RF_CONTAINS)
			return fail(e, RF_INVALID_DATA, "filter", "operator ~ is not supported for field %s", f->name);
		const char *s = pr->value;
		if (*s == '-') s++;
		if (!*s || strlen(s) > 18) return fail(e, RF_INVALID_DATA, "filter", "field %s takes an integer", f->name);
		for (; *s; s++)
			if (!isdigit((unsigned char)*s))
				return fail(e, RF_INVALID_DATA, "filter", "field %s takes an integer", f->name);
		break;
	}
	case RF_DATE:
		if (pr->op == RF_CONTAINS)
			return fail(e, RF_INVALID_DATA, "filter", "operator ~ is not supported for field %s", f->name);
		if (!rf_date_valid(pr->value))
			return fail(e, RF_INVALID_DATA, "filter", "field %s takes a date YYYY-MM-DD", f->name);
		break;
	case RF_DATETIME: {
		if (pr->op == RF_CONTAINS)
			return fail(e, RF_INVALID_DATA, "filter", "operator ~ is not supported for field %s", f->name);
		char norm[32];
		if (rf_datetime_normalize(pr->value, norm))
			return fail(e, RF_INVALID_DATA, "filter",
				    "field %s takes a date-time such as 2024-05-01T00:00:00.000Z", f->name);
		pr->value = arena_strdup(a, norm);
		break;
	}
	case RF_LIST:
		if (pr->op != RF_EQ && pr->op != RF_NE && pr->op != RF_CONTAINS)
			return fail(e, RF_INVALID_DATA, "filter", "field %s accepts only =, != and ~", f->name);
		break;
	case RF_STR:
	case RF_EXISTS:
		/* a value outside the code list can match nothing: say so instead of answering an empty page */
		if (f->codes && (pr->op == RF_EQ || pr->op == RF_NE) && strncmp(pr->value, "ext:", 4) != 0) {
			int known = 0;
			for (const char *const *c = f->codes; *c && !known; c++)
				known = !strcmp(*c, pr->value);
			if (!known) {
				buf l = {0};
				for (const char *const *c = f->codes; *c; c++)
					buf_printf(&l, "%s%s", c == f->codes ? "" : ", ", *c);
				snprintf(e->msg, sizeof e->msg, "'%.60s' is not a value of field %s (one of: %s)", pr->value,
					 f->name, l.p);
				buf_free(&l);
				e->code_minor = RF_INVALID_DATA;
				e->param = "filter";
				return -1;
			}
		}
		break;
	case RF_NONE:
		return fail(e, RF_INVALID_FILTER, "filter", "field %s cannot be filtered", f->name);
	}
	return 0;
}

/* pred := field ws* op ws* quoted. The quoted value ends at an unescaped '; '' and \' are quotes, \\ a backslash. */
static int parse_pred(arena *a, const struct rf_field *wl, int n, const char **pp, struct rf_pred *pr,
		      struct rf_error *e)
{
	const char *p = *pp;
	skip_ws(&p);
	const char *f0 = p;
	while (is_field_char((unsigned char)*p)) p++;
	if (p == f0) return fail(e, RF_INVALID_DATA, "filter", "malformed filter: expected a field name%s", NULL);
	char *fname = arena_strndup(a, f0, (size_t)(p - f0));
	if (!isalpha((unsigned char)fname[0]))
		return fail(e, RF_INVALID_DATA, "filter", "malformed filter: '%.60s' is not a field name", fname);
	const struct rf_field *f = rf_lookup(wl, n, fname);
	if (!f || !(f->flags & RFF_FILTER))
		return fail(e, RF_INVALID_FILTER, "filter", "unknown filter field: %.100s", fname);
	skip_ws(&p);
	if (parse_op(&p, &pr->op)) {
		char opbuf[16];
		size_t k = 0;
		while (p[k] && p[k] != '\'' && p[k] != ' ' && k < sizeof opbuf - 1) { opbuf[k] = p[k]; k++; }
		opbuf[k] = 0;
		return fail(e, RF_INVALID_DATA, "filter", "unknown filter operator '%s' (use = != > >= < <= ~)", opbuf);
	}
	skip_ws(&p);
	if (*p != '\'') {
		if (*p == '=' || *p == '<' || *p == '>' || *p == '!' || *p == '~')
			return fail(e, RF_INVALID_DATA, "filter", "unknown filter operator after field %s", fname);
		return fail(e, RF_INVALID_DATA, "filter", "the value for %s must be in single quotes", fname);
	}
	p++;
	buf v = {0};
	for (;;) {
		if (!*p) { buf_free(&v); return fail(e, RF_INVALID_DATA, "filter", "unbalanced quotes in filter%s", NULL); }
		if (*p == '\\' && (p[1] == '\'' || p[1] == '\\')) { buf_append(&v, p + 1, 1); p += 2; continue; }
		if (*p == '\'') {
			if (p[1] == '\'') { buf_append(&v, "'", 1); p += 2; continue; }
			p++;
			break;
		}
		buf_append(&v, p, 1);
		p++;
		if (v.len > RF_MAX_VALUE_LEN) {
			buf_free(&v);
			return fail(e, RF_INVALID_DATA, "filter", "filter value too long (max %s characters)", "512");
		}
	}
	pr->field = f;
	pr->value = arena_strndup(a, v.p ? v.p : "", v.len);
	buf_free(&v);
	*pp = p;
	return check_value(a, pr, e);
}

int roster_filter_parse(arena *a, const struct rf_field *wl, int n, const char *filter, struct roster_query *q,
			struct rf_error *e)
{
	q->npred = 0;
	q->join_or = 0;
	if (!filter || !*filter) return 0;
	if (strlen(filter) > RF_MAX_FILTER_LEN)
		return fail(e, RF_INVALID_DATA, "filter", "filter too long (max %s characters)", "2048");
	const char *p = filter;
	if (parse_pred(a, wl, n, &p, &q->pred[0], e)) return -1;
	q->npred = 1;
	skip_ws(&p);
	if (!*p) return 0;
	/* the joiner needs whitespace on both sides: "x='1' AND y='2'" */
	if (p == filter || (p[-1] != ' ' && p[-1] != '\t'))
		return fail(e, RF_INVALID_DATA, "filter", "malformed filter: unexpected text after a value: %.60s", p);
	if (!strncasecmp(p, "AND", 3) && (p[3] == ' ' || p[3] == '\t')) { q->join_or = 0; p += 3; }
	else if (!strncasecmp(p, "OR", 2) && (p[2] == ' ' || p[2] == '\t')) { q->join_or = 1; p += 2; }
	else return fail(e, RF_INVALID_DATA, "filter", "malformed filter: expected AND or OR before: %.60s", p);
	if (parse_pred(a, wl, n, &p, &q->pred[1], e)) return -1;
	q->npred = 2;
	skip_ws(&p);
	if (!*p) return 0;
	if (!strncasecmp(p, "AND", 3) || !strncasecmp(p, "OR", 2))
		return fail(e, RF_INVALID_DATA, "filter", "a filter has at most two predicates%s", NULL);
	return fail(e, RF_INVALID_DATA, "filter", "malformed filter: unexpected text: %.60s", p);
}

/* ---- sort, fields, paging ---- */

static int parse_count(const char *s, long max, long *out)
{
	if (!*s || strlen(s) > 12) return -1;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p)) return -1;
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno || v > max) return -1;
	*out = v;
	return 0;
}

int roster_fields_parse(arena *a, const struct rf_field *wl, int n, const char *fields, struct roster_query *q,
			struct rf_error *e)
{
	q->nfields = 0;
	if (!fields) return 0;
	if (!*fields) return fail(e, RF_INVALID_SELECTION, "fields", "fields is empty%s", NULL);
	if (strlen(fields) > 2048) return fail(e, RF_INVALID_SELECTION, "fields", "fields too long%s", NULL);
	const char *p = fields;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		while (len && (*p == ' ')) { p++; len--; }
		while (len && p[len - 1] == ' ') len--;
		char *name = arena_strndup(a, p, len);
		if (!*name) return fail(e, RF_INVALID_SELECTION, "fields", "empty name in fields%s", NULL);
		const struct rf_field *f = NULL;
		for (int i = 0; i < n; i++)
			if ((wl[i].flags & RFF_SELECT) && !strcmp(wl[i].json, name)) { f = &wl[i]; break; }
		if (!f) return fail(e, RF_INVALID_SELECTION, "fields", "unknown field in fields: %.100s", name);
		int dup = 0;
		for (int i = 0; i < q->nfields; i++)
			if (!strcmp(q->fields[i]->json, f->json)) dup = 1;
		if (!dup) {
			if (q->nfields >= RF_MAX_FIELDS)
				return fail(e, RF_INVALID_SELECTION, "fields", "too many fields%s", NULL);
			q->fields[q->nfields++] = f;
		}
		if (!c) break;
		p = c + 1;
	}
	return 0;
}

int roster_query_parse(arena *a, const struct rf_field *wl, int n, const char *filter, const char *sort,
		       const char *order_by, const char *fields, const char *limit, const char *offset,
		       struct roster_query *q, struct rf_error *e)
{
	memset(q, 0, sizeof *q);
	q->limit = RF_LIMIT_DEFAULT;
	if (limit) {
		if (parse_count(limit, RF_LIMIT_MAX, &q->limit) || q->limit < 1)
			return fail(e, RF_INVALID_DATA, "limit", "limit must be an integer from 1 to %s", "10000");
	}
	if (offset) {
		if (parse_count(offset, RF_OFFSET_MAX, &q->offset))
			return fail(e, RF_INVALID_DATA, "offset", "offset must be an integer from 0 to %s", "100000000");
	}
	if (sort) {
		const struct rf_field *f = rf_lookup(wl, n, sort);
		if (!f || !(f->flags & RFF_SORT))
			return fail(e, RF_INVALID_SORT, "sort", "unknown sort field: %.100s", sort);
		q->sort = f;
	}
	if (order_by) {
		if (!strcasecmp(order_by, "asc")) q->desc = 0;
		else if (!strcasecmp(order_by, "desc")) q->desc = 1;
		else return fail(e, RF_INVALID_DATA, "orderBy", "orderBy must be asc or desc, not %.40s", order_by);
	}
	if (roster_fields_parse(a, wl, n, fields, q, e)) return -1;
	return roster_filter_parse(a, wl, n, filter, q, e);
}

/* ---- SQL ---- */

static const char *op_sql(enum rf_op op)
{
	switch (op) {
	case RF_EQ: return "=";
	case RF_NE: return "<>";
	case RF_GT: return ">";
	case RF_GE: return ">=";
	case RF_LT: return "<";
	case RF_LE: return "<=";
	case RF_CONTAINS: return "~";
	}
	return "=";
}

static const char *cast_for(enum rf_type t)
{
	switch (t) {
	case RF_BOOL: return "::boolean";
	case RF_INT: return "::bigint";
	case RF_DATE: return "::date";
	case RF_DATETIME: return "::timestamptz";
	default: return "";
	}
}

/* One comparison of `col` with $ph. */
static char *compare_sql(arena *a, const char *col, enum rf_type type, enum rf_op op, int ph)
{
	if (type == RF_LIST) {
		if (op == RF_EQ) return arena_printf(a, "$%d = ANY(%s)", ph, col);
		if (op == RF_NE) return arena_printf(a, "NOT ($%d = ANY(coalesce(%s, '{}')))", ph, col);
		return arena_printf(a, "EXISTS (SELECT 1 FROM unnest(%s) AS li(v) WHERE strpos(lower(li.v), lower($%d)) > 0)",
				    col, ph);
	}
	if (op == RF_CONTAINS) return arena_printf(a, "strpos(lower(%s::text), lower($%d)) > 0", col, ph);
	if (op == RF_NE) return arena_printf(a, "%s IS DISTINCT FROM $%d%s", col, ph, cast_for(type));
	return arena_printf(a, "%s %s $%d%s", col, op_sql(op), ph, cast_for(type));
}

static char *pred_sql(arena *a, const struct rf_pred *p, int ph)
{
	const struct rf_field *f = p->field;
	if (f->type == RF_EXISTS) {
		/* the whitelist column holds "%s" exactly once: splice the comparison on `inner` there */
		const char *mark = strstr(f->column, "%s");
		char *cmp = compare_sql(a, f->inner, RF_STR, p->op, ph);
		if (!mark) return arena_strdup(a, "FALSE");
		return arena_printf(a, "%.*s%s%s", (int)(mark - f->column), f->column, cmp, mark + 2);
	}
	return compare_sql(a, f->column, f->type, p->op, ph);
}

const char *roster_filter_sql(arena *a, const struct roster_query *q, int first, const char **params, int *np)
{
	if (q->npred == 0) return "";
	char *s1 = pred_sql(a, &q->pred[0], first);
	params[(*np)++] = q->pred[0].value;
	if (q->npred == 1) return arena_printf(a, "(%s)", s1);
	char *s2 = pred_sql(a, &q->pred[1], first + 1);
	params[(*np)++] = q->pred[1].value;
	return arena_printf(a, "(%s %s %s)", s1, q->join_or ? "OR" : "AND", s2);
}

const char *roster_order_sql(arena *a, const struct roster_query *q, const char *id_column)
{
	const char *dir = q->desc ? "DESC" : "ASC";
	if (!q->sort || !strcmp(q->sort->column, id_column)) return arena_printf(a, "%s %s", id_column, dir);
	return arena_printf(a, "%s %s NULLS LAST, %s %s", q->sort->column, dir, id_column, dir);
}

int roster_field_selected(const struct roster_query *q, const char *json)
{
	if (q->nfields == 0) return 1;
	for (int i = 0; i < q->nfields; i++)
		if (!strcmp(q->fields[i]->json, json)) return 1;
	return 0;
}
