/* OneRoster 1.2 REST entity descriptors and the row → JSON mapping (references as {href,sourcedId,type},
 * strict dateLastModified, users with roles[]/userProfiles[]/userIds[], metadata with the jp.* keys as stored). */
#include "roster_api.h"
#include "roster_schema.h"
#include <stdio.h>
#include <string.h>

#define FS (RFF_FILTER | RFF_SORT | RFF_SELECT)
#define FX (RFF_FILTER | RFF_SELECT)
#define F(name, col, type, flags) {name, name, col, type, flags, NULL, NULL, 0, NULL}
#define REF(name, json, col, ref) {name, json, col, RF_STR, FS, ref, NULL, 0, NULL}
#define LIST(name, col) {name, name, col, RF_LIST, FX, NULL, NULL, 0, NULL}
#define REFLIST(name, json, col, ref) {name, json, col, RF_LIST, FX, ref, NULL, RO_REFLIST, NULL}
#define COMPUTED(json, col, ref, out) {json, json, col, RF_NONE, RFF_SELECT, ref, NULL, out, NULL}
#define EXISTS(name, json, col, inner, codes) {name, json, col, RF_EXISTS, RFF_FILTER, NULL, inner, 0, codes}
#define META(name, key) {"metadata." name, "metadata", "(t.metadata ->> '" key "')", RF_STR, RFF_FILTER | RFF_SORT, \
			 NULL, NULL, 0, NULL}
/* a text field with a code list: = and != with a value outside it are refused (invaliddata) */
#define CODED(name, col, codes) {name, name, col, RF_STR, FS, NULL, NULL, 0, codes}
#define COMMON \
	F("sourcedId", "t.sourced_id", RF_STR, FS), \
	CODED("status", "t.status", rs_status_codes), \
	F("dateLastModified", "t.date_last_modified", RF_DATETIME, FS), \
	COMPUTED("metadata", "t.metadata", NULL, RO_JSON)
#define N(x) ((int)(sizeof x / sizeof x[0]))

static const struct rf_field org_fields[] = {
	COMMON,
	F("name", "t.name", RF_STR, FS),
	CODED("type", "t.type", rs_org_types),
	F("identifier", "t.identifier", RF_STR, FS),
	REF("parent.sourcedId", "parent", "t.parent_sourced_id", "org"),
	COMPUTED("children", "(SELECT array_to_json(array_agg(c.sourced_id ORDER BY c.sourced_id)) FROM roster_orgs c "
		 "WHERE c.parent_sourced_id = t.sourced_id)", "org", RO_REFLIST),
};
const struct ra_entity ra_orgs = {"orgs", "org", "roster_orgs", org_fields, N(org_fields)};

static const struct rf_field session_fields[] = {
	COMMON,
	F("title", "t.title", RF_STR, FS),
	F("startDate", "t.start_date", RF_DATE, FS),
	F("endDate", "t.end_date", RF_DATE, FS),
	CODED("type", "t.type", rs_session_types),
	REF("parent.sourcedId", "parent", "t.parent_sourced_id", "academicSession"),
	COMPUTED("children", "(SELECT array_to_json(array_agg(c.sourced_id ORDER BY c.sourced_id)) "
		 "FROM roster_academic_sessions c WHERE c.parent_sourced_id = t.sourced_id)", "academicSession",
		 RO_REFLIST),
	{"schoolYear", "schoolYear", "t.school_year", RF_INT, FS, NULL, NULL, RO_TEXT, NULL},
};
const struct ra_entity ra_sessions = {"academicSessions", "academicSession", "roster_academic_sessions",
				      session_fields, N(session_fields)};

static const struct rf_field course_fields[] = {
	COMMON,
	F("title", "t.title", RF_STR, FS),
	REF("schoolYear.sourcedId", "schoolYear", "t.school_year_sourced_id", "academicSession"),
	F("courseCode", "t.course_code", RF_STR, FS),
	LIST("grades", "t.grades"),
	LIST("subjects", "t.subjects"),
	REF("org.sourcedId", "org", "t.org_sourced_id", "org"),
	LIST("subjectCodes", "t.subject_codes"),
};
const struct ra_entity ra_courses = {"courses", "course", "roster_courses", course_fields, N(course_fields)};

static const struct rf_field class_fields[] = {
	COMMON,
	F("title", "t.title", RF_STR, FS),
	F("classCode", "t.class_code", RF_STR, FS),
	CODED("classType", "t.class_type", rs_class_types),
	F("location", "t.location", RF_STR, FS),
	LIST("grades", "t.grades"),
	LIST("subjects", "t.subjects"),
	REF("course.sourcedId", "course", "t.course_sourced_id", "course"),
	REF("school.sourcedId", "school", "t.school_sourced_id", "org"),
	REFLIST("terms.sourcedId", "terms", "t.term_sourced_ids", "academicSession"),
	LIST("subjectCodes", "t.subject_codes"),
	LIST("periods", "t.periods"),
	META("jp.specialNeeds", "jp.specialNeeds"),
};
const struct ra_entity ra_classes = {"classes", "class", "roster_classes", class_fields, N(class_fields)};

#define ROLE_EXISTS "EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id " \
		    "AND ro.status = 'active' AND %s)"
static const struct rf_field user_fields[] = {
	COMMON,
	F("userMasterIdentifier", "t.user_master_identifier", RF_STR, FS),
	F("username", "t.username", RF_STR, FS),
	{"userIds", "userIds", "t.user_ids", RF_LIST, FX, NULL, NULL, RO_USERIDS, NULL},
	F("enabledUser", "t.enabled_user", RF_BOOL, FX),
	F("givenName", "t.given_name", RF_STR, FS),
	F("familyName", "t.family_name", RF_STR, FS),
	F("middleName", "t.middle_name", RF_STR, FS),
	F("preferredFirstName", "t.preferred_given_name", RF_STR, FS),
	F("preferredMiddleName", "t.preferred_middle_name", RF_STR, FS),
	F("preferredLastName", "t.preferred_family_name", RF_STR, FS),
	F("pronouns", "t.pronouns", RF_STR, FS),
	COMPUTED("roles", "(SELECT json_agg(json_build_array(ro.role_type, ro.role, ro.org_sourced_id, "
		 "ro.user_profile_sourced_id, ro.begin_date, ro.end_date) ORDER BY ro.role_type, ro.sourced_id) "
		 "FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id AND ro.status = 'active')", "org", RO_ROLES),
	/* role and roleType have code lists like status: a value outside them is refused, not an empty page */
	EXISTS("role", "roles", ROLE_EXISTS, "ro.role", rs_roles),
	EXISTS("roles.role", "roles", ROLE_EXISTS, "ro.role", rs_roles),
	EXISTS("roles.roleType", "roles", ROLE_EXISTS, "ro.role_type", rs_role_types),
	EXISTS("roles.org.sourcedId", "roles", ROLE_EXISTS, "ro.org_sourced_id", NULL),
	COMPUTED("userProfiles", "(SELECT json_agg(json_build_array(p.sourced_id, p.profile_type, p.vendor_id, "
		 "p.application_id, p.description, p.credential_type, p.username) ORDER BY p.sourced_id) "
		 "FROM roster_user_profiles p WHERE p.user_sourced_id = t.sourced_id AND p.status = 'active')", NULL,
		 RO_PROFILES),
	REF("primaryOrg.sourcedId", "primaryOrg", "t.primary_org_sourced_id", "org"),
	F("identifier", "t.identifier", RF_STR, FS),
	F("email", "t.email", RF_STR, FS),
	F("sms", "t.sms", RF_STR, FS),
	F("phone", "t.phone", RF_STR, FS),
	REFLIST("agents.sourcedId", "agents", "t.agent_sourced_ids", "user"),
	LIST("grades", "t.grades"),
	META("jp.kanaGivenName", "jp.kanaGivenName"),
	META("jp.kanaFamilyName", "jp.kanaFamilyName"),
	META("jp.kanaMiddleName", "jp.kanaMiddleName"),
	META("jp.homeClass", "jp.homeClass"),
};
const struct ra_entity ra_users = {"users", "user", "roster_users", user_fields, N(user_fields)};

static const struct rf_field enrollment_fields[] = {
	COMMON,
	REF("user.sourcedId", "user", "t.user_sourced_id", "user"),
	REF("class.sourcedId", "class", "t.class_sourced_id", "class"),
	REF("school.sourcedId", "school", "t.school_sourced_id", "org"),
	CODED("role", "t.role", rs_enrollment_roles),
	F("primary", "t.is_primary", RF_BOOL, FX),
	F("beginDate", "t.begin_date", RF_DATE, FS),
	F("endDate", "t.end_date", RF_DATE, FS),
};
const struct ra_entity ra_enrollments = {"enrollments", "enrollment", "roster_enrollments", enrollment_fields,
					 N(enrollment_fields)};

static const struct rf_field demographic_fields[] = {
	COMMON,
	F("birthDate", "t.birth_date", RF_DATE, FS),
	CODED("sex", "t.sex", rs_sexes),
	F("americanIndianOrAlaskaNative", "t.american_indian_or_alaska_native", RF_BOOL, FX),
	F("asian", "t.asian", RF_BOOL, FX),
	F("blackOrAfricanAmerican", "t.black_or_african_american", RF_BOOL, FX),
	F("nativeHawaiianOrOtherPacificIslander", "t.native_hawaiian_or_other_pacific_islander", RF_BOOL, FX),
	F("white", "t.white", RF_BOOL, FX),
	F("demographicRaceTwoOrMoreRaces", "t.demographic_race_two_or_more_races", RF_BOOL, FX),
	F("hispanicOrLatinoEthnicity", "t.hispanic_or_latino_ethnicity", RF_BOOL, FX),
	F("countryOfBirthCode", "t.country_of_birth_code", RF_STR, FS),
	F("stateOfBirthAbbreviation", "t.state_of_birth_abbreviation", RF_STR, FS),
	F("cityOfBirth", "t.city_of_birth", RF_STR, FS),
	F("publicSchoolResidenceStatus", "t.public_school_residence_status", RF_STR, FS),
};
const struct ra_entity ra_demographics = {"demographics", "demographics", "roster_demographics", demographic_fields,
					  N(demographic_fields)};

/* ---- SELECT ---- */

static int is_selected(const struct ra_entity *e, const struct roster_query *q, int i)
{
	const struct rf_field *f = &e->fields[i];
	if (!(f->flags & RFF_SELECT) || !f->column) return 0;
	return !q || roster_field_selected(q, f->json);
}

const char *ra_select_sql(arena *a, const struct ra_entity *e, const struct roster_query *q)
{
	buf b = {0};
	int k = 0;
	for (int i = 0; i < e->nfields; i++) {
		if (!is_selected(e, q, i)) continue;
		const struct rf_field *f = &e->fields[i];
		if (k++) buf_puts(&b, ", ");
		switch (f->type) {
		case RF_DATETIME:
			buf_printf(&b, "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", f->column);
			break;
		case RF_DATE: buf_printf(&b, "to_char(%s, 'YYYY-MM-DD')", f->column); break;
		case RF_LIST: buf_printf(&b, "array_to_json(%s)", f->column); break;
		default: buf_puts(&b, f->column); break;
		}
	}
	if (!k) buf_puts(&b, "t.sourced_id");
	char *s = arena_strdup(a, b.p);
	buf_free(&b);
	return s;
}

/* ---- JSON ---- */

const char *ra_ref_collection(const char *type)
{
	static const char *const map[][2] = {
		{"org", "orgs"}, {"academicSession", "academicSessions"}, {"course", "courses"}, {"class", "classes"},
		{"user", "users"}, {"enrollment", "enrollments"}, {"demographics", "demographics"}, {"term", "terms"},
		{"gradingPeriod", "gradingPeriods"}, {"student", "students"}, {"teacher", "teachers"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], type)) return map[i][1];
	return "orgs";
}

/* Percent-encode everything outside the GUID alphabet so an href is always a valid URL path segment. */
static void path_escape(buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '.' ||
		    *p == '_' || *p == '-' || *p == '@' || *p == '~')
			buf_append(b, (const char *)p, 1);
		else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_append(b, e, 3);
		}
	}
}

json_object *ra_ref(const char *base, const char *type, const char *sourced_id)
{
	buf b = {0};
	buf_printf(&b, "%s/%s/", base, ra_ref_collection(type));
	path_escape(&b, sourced_id);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "href", json_object_new_string(b.p));
	json_object_object_add(o, "sourcedId", json_object_new_string(sourced_id));
	json_object_object_add(o, "type", json_object_new_string(type));
	buf_free(&b);
	return o;
}

static const char *item_str(json_object *arr, size_t i)
{
	json_object *v = json_object_array_get_idx(arr, i);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void add_opt_str(json_object *o, const char *key, const char *v)
{
	if (v) json_object_object_add(o, key, json_object_new_string(v));
}

/* JSON text from the database (our own SELECT list: arrays, metadata objects). One tokener per process is reused:
 * a page maps hundreds of these values and a fresh tokener per value is most of the cost. */
static json_object *db_json(const char *text)
{
	static json_tokener *tok;
	if (!text) return NULL;
	if (!tok && !(tok = json_tokener_new_ex(32))) return NULL;
	json_tokener_reset(tok);
	json_object *v = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		if (v) json_object_put(v);
		return NULL;
	}
	return v;
}

/* Parse JSON text from the database; an array is expected for lists. NULL text → empty array. */
static json_object *parse_array(const char *text)
{
	json_object *v = db_json(text);
	if (v && json_object_is_type(v, json_type_array)) return v;
	if (v) json_object_put(v);
	return json_object_new_array();
}

static json_object *map_roles(const char *base, const char *text)
{
	json_object *in = parse_array(text), *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(in); i++) {
		json_object *r = json_object_array_get_idx(in, i);
		if (!json_object_is_type(r, json_type_array)) continue;
		json_object *o = json_object_new_object();
		add_opt_str(o, "roleType", item_str(r, 0));
		add_opt_str(o, "role", item_str(r, 1));
		if (item_str(r, 2)) json_object_object_add(o, "org", ra_ref(base, "org", item_str(r, 2)));
		add_opt_str(o, "userProfile", item_str(r, 3));
		add_opt_str(o, "beginDate", item_str(r, 4));
		add_opt_str(o, "endDate", item_str(r, 5));
		json_object_array_add(out, o);
	}
	json_object_put(in);
	return out;
}

static json_object *map_profiles(const char *text)
{
	json_object *in = parse_array(text), *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(in); i++) {
		json_object *r = json_object_array_get_idx(in, i);
		if (!json_object_is_type(r, json_type_array)) continue;
		json_object *o = json_object_new_object();
		add_opt_str(o, "profileId", item_str(r, 0));
		add_opt_str(o, "profileType", item_str(r, 1));
		add_opt_str(o, "vendorId", item_str(r, 2));
		add_opt_str(o, "applicationId", item_str(r, 3));
		add_opt_str(o, "description", item_str(r, 4));
		json_object *creds = json_object_new_array(), *c = json_object_new_object();
		add_opt_str(c, "type", item_str(r, 5));
		add_opt_str(c, "username", item_str(r, 6));
		json_object_array_add(creds, c);
		json_object_object_add(o, "credentials", creds);
		json_object_array_add(out, o);
	}
	json_object_put(in);
	return out;
}

/* "{type:identifier}" (the CSV form kept in the table) → {"type","identifier"}; anything else is kept as identifier. */
static json_object *map_user_ids(const char *text)
{
	json_object *in = parse_array(text), *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(in); i++) {
		const char *s = item_str(in, i);
		if (!s) continue;
		json_object *o = json_object_new_object();
		size_t n = strlen(s);
		const char *colon = strchr(s, ':');
		if (n >= 4 && s[0] == '{' && s[n - 1] == '}' && colon) {
			json_object_object_add(o, "type", json_object_new_string_len(s + 1, (int)(colon - s - 1)));
			json_object_object_add(o, "identifier",
					       json_object_new_string_len(colon + 1, (int)(s + n - 1 - colon - 1)));
		} else {
			json_object_object_add(o, "type", json_object_new_string(""));
			json_object_object_add(o, "identifier", json_object_new_string(s));
		}
		json_object_array_add(out, o);
	}
	json_object_put(in);
	return out;
}

static json_object *map_reflist(const char *base, const char *type, const char *text)
{
	json_object *in = parse_array(text), *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(in); i++) {
		const char *s = item_str(in, i);
		if (s) json_object_array_add(out, ra_ref(base, type, s));
	}
	json_object_put(in);
	return out;
}

static json_object *field_json(const struct rf_field *f, const char *v, const char *base)
{
	switch (f->out) {
	case RO_TEXT: return v ? json_object_new_string(v) : NULL;
	case RO_REFLIST: return map_reflist(base, f->ref, v);
	case RO_ROLES: return map_roles(base, v);
	case RO_PROFILES: return map_profiles(v);
	case RO_USERIDS: return map_user_ids(v);
	case RO_JSON: {
		json_object *o = db_json(v);
		return o ? o : json_object_new_object();
	}
	default: break;
	}
	if (f->type == RF_LIST) return parse_array(v);
	if (!v) return NULL;
	if (f->ref) return ra_ref(base, f->ref, v);
	if (f->type == RF_BOOL) return json_object_new_boolean(!strcmp(v, "t") || !strcmp(v, "true"));
	return json_object_new_string(v);
}

json_object *ra_row_json(const struct ra_entity *e, const struct roster_query *q, const char *const *vals,
			 const char *base)
{
	json_object *o = json_object_new_object();
	int k = 0;
	for (int i = 0; i < e->nfields; i++) {
		if (!is_selected(e, q, i)) continue;
		const struct rf_field *f = &e->fields[i];
		json_object *v = field_json(f, vals[k++], base);
		if (v) json_object_object_add(o, f->json, v);
	}
	return o;
}

json_object *ra_status_info(const char *code_minor, const char *description, const char *field)
{
	json_object *minor = json_object_new_object();
	json_object_object_add(minor, "imsx_codeMinorFieldName", json_object_new_string(field ? field : "TargetEndSystem"));
	json_object_object_add(minor, "imsx_codeMinorFieldValue", json_object_new_string(code_minor));
	json_object *arr = json_object_new_array();
	json_object_array_add(arr, minor);
	json_object *cm = json_object_new_object();
	json_object_object_add(cm, "imsx_codeMinorField", arr);
	json_object *si = json_object_new_object();
	json_object_object_add(si, "imsx_codeMajor", json_object_new_string("failure"));
	json_object_object_add(si, "imsx_severity", json_object_new_string("error"));
	json_object_object_add(si, "imsx_description", json_object_new_string(description));
	json_object_object_add(si, "imsx_CodeMinor", cm);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "imsx_StatusInfo", si);
	return o;
}
