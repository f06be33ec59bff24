/* OneRoster 1.2 REST: entity descriptors (field whitelists shared by filter/sort/fields and the JSON mapping),
 * the SELECT list they imply, and the mapping of one result row to the spec's JSON. No HTTP in here. */
#ifndef RS_ROSTER_API_H
#define RS_ROSTER_API_H
#include <json-c/json.h>
#include "arena.h"
#include "roster_filter.h"

#define RA_BASE_PATH "/ims/oneroster/rostering/v1p2"
/* the seed's path (clients written to seed 001): an alias served by the same handler */
#define RA_SEED_PATH "/ims/oneroster/v1p2"

/* How a selected column becomes JSON (rf_field.out). */
enum ra_out {
	RO_AUTO = 0,   /* by rf_field.type: text, boolean, date, date-time, list; with .ref: a reference */
	RO_TEXT,       /* always a string (integers such as schoolYear are strings in the JSON binding) */
	RO_REFLIST,    /* JSON array text of sourcedIds → array of references of type .ref */
	RO_JSON,       /* JSON text embedded as is (metadata) */
	RO_ROLES,      /* users.roles[]: JSON array of [roleType, role, org, userProfile, beginDate, endDate] */
	RO_USERIDS,    /* users.userIds[]: "{type:identifier}" items → {type, identifier} */
	RO_PROFILES,   /* users.userProfiles[]: JSON array of [id, profileType, vendorId, applicationId, description,
	                * credentialType, username] */
};

struct ra_entity {
	const char *coll;       /* collection envelope key: "users" */
	const char *single;     /* single-object envelope key: "user" */
	const char *table;      /* "roster_users" (aliased t) */
	const struct rf_field *fields;
	int nfields;
};
extern const struct ra_entity ra_orgs, ra_sessions, ra_courses, ra_classes, ra_users, ra_enrollments,
	ra_demographics;

/* SELECT list (no "SELECT") of the members q selects (all when q is NULL or has no fields), in whitelist order. */
const char *ra_select_sql(arena *a, const struct ra_entity *e, const struct roster_query *q);
/* Map one row: vals[i] is the text of column i of ra_select_sql's list (NULL = SQL NULL).
 * base is the href prefix (".../ims/oneroster/rostering/v1p2"). Returns a new object. */
json_object *ra_row_json(const struct ra_entity *e, const struct roster_query *q, const char *const *vals,
			 const char *base);
/* A reference {href, sourcedId, type}. */
json_object *ra_ref(const char *base, const char *type, const char *sourced_id);
/* The collection path a reference type lives under ("org" → "orgs"). */
const char *ra_ref_collection(const char *type);

/* The result cache (h_roster_api.c). Map the host-wide write counter before the workers fork (-1: no memory);
 * call changed after a roster change committed: every host sees it within a second, delta polls at once, and
 * every page read by a worker of this host at once. */
int roster_cache_shared_init(void);
void roster_cache_changed(void);

/* imsx_StatusInfo error body: codeMajor failure, severity error, codeMinor as given. */
json_object *ra_status_info(const char *code_minor, const char *description, const char *field);
#endif
