/* Route matching: literal segments, ":name" params, and a trailing "*" for the rest of the path.
 * The table is small and static; a linear scan is faster than anything cleverer at this size. */
#include "router.h"
#include <string.h>

int role_rank(const char *role)
{
	if (!role) return -1;
	if (!strcmp(role, "guest")) return 0;
	if (!strcmp(role, "viewer")) return 1;
	if (!strcmp(role, "creator")) return 2;
	if (!strcmp(role, "admin")) return 3;
	return -1;
}

int perm_allows(enum perm p, const struct user *u)
{
	switch (p) {
	case PERM_NONE: return 1;
	case PERM_LOGIN: return u != NULL;
	case PERM_CREATOR: return u && role_rank(u->role) >= 2;
	case PERM_ADMIN: return u && role_rank(u->role) >= 3;
	}
	return 0;
}

/* Match one pattern; on success params are stored into r. */
static int match(req *r, const char *pat, const char *path)
{
	int np = 0;
	const char *names[8], *vals[8];
	size_t vlens[8];
	while (*pat && *path) {
		if (*pat == '*') {
			if (np == 8) return 0;
			names[np] = "rest"; vals[np] = path; vlens[np] = strlen(path); np++;
			path += strlen(path);
			pat++;
			break;
		}
		if (*pat == ':') {
			const char *pe = pat + 1;
			while (*pe && *pe != '/') pe++;
			size_t seglen = strcspn(path, "/");
			if (seglen == 0 || np == 8) return 0;
			names[np] = arena_strndup(r->a, pat + 1, (size_t)(pe - pat - 1));
			vals[np] = path; vlens[np] = seglen; np++;
			pat = pe;
			path += seglen;
			continue;
		}
		if (*pat != *path) return 0;
		pat++; path++;
	}
	if (*pat == '*' && !*path) { if (np < 8) { names[np] = "rest"; vals[np] = path; vlens[np] = 0; np++; } pat++; }
	if (*pat || *path) return 0;
	/* an encoded NUL would cut the param short ("1%00x" read as "1"); nginx refuses it, Apache may not */
	for (int i = 0; i < np; i++) if (memmem(vals[i], vlens[i], "%00", 3)) return 0;
	r->nparams = np;
	for (int i = 0; i < np; i++) {
		r->pnames[i] = names[i];
		r->pvals[i] = url_decode(r->a, vals[i], vlens[i]);
	}
	return 1;
}

const struct route *route_match(const struct route *table, int n, req *r, const char *method, const char *path,
				int *method_mismatch)
{
	*method_mismatch = 0;
	int is_head = !strcmp(method, "HEAD");
	for (int i = 0; i < n; i++) {
		if (!match(r, table[i].pattern, path)) continue;
		/* "*" takes every method: a catch-all at the end of the table answers in its area's own error format */
		if (!strcmp(table[i].method, method) || !strcmp(table[i].method, "*") ||
		    (is_head && !strcmp(table[i].method, "GET")))
			return &table[i];
		*method_mismatch = 1;
	}
	r->nparams = 0;
	return NULL;
}
