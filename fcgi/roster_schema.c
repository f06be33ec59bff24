/* The column tables of the nine rostering files (OneRoster 1.2 CSV binding, 1.2.1 corrections) and the Japan
 * Profile extension columns. Sources: /work/shared/oneroster.md §1.4 and §2.1. */
#include <string.h>
#include "roster_schema.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define STATUS_DLM {"sourcedId", "sourced_id", RS_GUID, 1, NULL, NULL}, \
	{"status", NULL, RS_STATUS, 0, NULL, NULL}, {"dateLastModified", NULL, RS_DATETIME, 0, NULL, NULL}

const char *const rs_status_codes[] = {"active", "tobedeleted", NULL};
const char *const rs_org_types[] = {"department", "school", "district", "local", "state", "national", NULL};
const char *const rs_session_types[] = {"gradingPeriod", "semester", "schoolYear", "term", NULL};
const char *const rs_class_types[] = {"homeroom", "scheduled", NULL};
const char *const rs_role_types[] = {"primary", "secondary", NULL};
const char *const rs_roles[] = {"aide", "counselor", "districtAdministrator", "guardian", "parent", "principal",
				    "proctor", "relative", "siteAdministrator", "student", "systemAdministrator",
				    "teacher", NULL};
const char *const rs_enrollment_roles[] = {"administrator", "proctor", "student", "teacher", "guardian", NULL};
const char *const rs_sexes[] = {"male", "female", "unspecified", "other", NULL};
const char *const rs_jp_grades[] = {"P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3", "H1", "H2", "H3",
				    "E1", "E2", "E3", NULL};

static const struct rs_col academic_sessions[] = {
	STATUS_DLM,
	{"title", "title", RS_STR, 1, NULL, NULL},
	{"type", "type", RS_ENUM, 1, rs_session_types, NULL},
	{"startDate", "start_date", RS_DATE, 1, NULL, NULL},
	{"endDate", "end_date", RS_DATE, 1, NULL, NULL},
	{"parentSourcedId", "parent_sourced_id", RS_GUID, 0, NULL, "academicSessions"},
	{"schoolYear", "school_year", RS_YEAR, 1, NULL, NULL},
};
static const struct rs_col orgs[] = {
	STATUS_DLM,
	{"name", "name", RS_STR, 1, NULL, NULL},
	{"type", "type", RS_ENUM, 1, rs_org_types, NULL},
	{"identifier", "identifier", RS_STR, 0, NULL, NULL},
	{"parentSourcedId", "parent_sourced_id", RS_GUID, 0, NULL, "orgs"},
};
static const struct rs_col courses[] = {
	STATUS_DLM,
	{"schoolYearSourcedId", "school_year_sourced_id", RS_GUID, 0, NULL, "academicSessions"},
	{"title", "title", RS_STR, 1, NULL, NULL},
	{"courseCode", "course_code", RS_STR, 0, NULL, NULL},
	{"grades", "grades", RS_LIST, 0, NULL, NULL},
	{"orgSourcedId", "org_sourced_id", RS_GUID, 1, NULL, "orgs"},
	{"subjects", "subjects", RS_LIST, 0, NULL, NULL},
	{"subjectCodes", "subject_codes", RS_LIST, 0, NULL, NULL},
};
static const struct rs_col classes[] = {
	STATUS_DLM,
	{"title", "title", RS_STR, 1, NULL, NULL},
	{"grades", "grades", RS_LIST, 0, NULL, NULL},
	{"courseSourcedId", "course_sourced_id", RS_GUID, 1, NULL, "courses"},
	{"classCode", "class_code", RS_STR, 0, NULL, NULL},
	{"classType", "class_type", RS_ENUM, 1, rs_class_types, NULL},
	{"location", "location", RS_STR, 0, NULL, NULL},
	{"schoolSourcedId", "school_sourced_id", RS_GUID, 1, NULL, "orgs"},
	{"termSourcedIds", "term_sourced_ids", RS_GUIDLIST, 1, NULL, "academicSessions"},
	{"subjects", "subjects", RS_LIST, 0, NULL, NULL},
	{"subjectCodes", "subject_codes", RS_LIST, 0, NULL, NULL},
	{"periods", "periods", RS_LIST, 0, NULL, NULL},
};
#define USERS_HEAD STATUS_DLM, \
	{"enabledUser", "enabled_user", RS_BOOL, 1, NULL, NULL}, \
	{"username", "username", RS_STR, 1, NULL, NULL}, \
	{"userIds", "user_ids", RS_USERIDS, 0, NULL, NULL}, \
	{"givenName", "given_name", RS_STR, 1, NULL, NULL}, \
	{"familyName", "family_name", RS_STR, 1, NULL, NULL}, \
	{"middleName", "middle_name", RS_STR, 0, NULL, NULL}, \
	{"identifier", "identifier", RS_STR, 0, NULL, NULL}, \
	{"email", "email", RS_STR, 0, NULL, NULL}, \
	{"sms", "sms", RS_STR, 0, NULL, NULL}, \
	{"phone", "phone", RS_STR, 0, NULL, NULL}, \
	{"agentSourcedIds", "agent_sourced_ids", RS_GUIDLIST, 0, NULL, "users"}, \
	{"grades", "grades", RS_LIST, 0, NULL, NULL}, \
	{"password", NULL, RS_STR, 0, NULL, NULL}, \
	{"userMasterIdentifier", "user_master_identifier", RS_STR, 0, NULL, NULL}
#define USERS_TAIL \
	{"preferredGivenName", "preferred_given_name", RS_STR, 0, NULL, NULL}, \
	{"preferredMiddleName", "preferred_middle_name", RS_STR, 0, NULL, NULL}, \
	{"preferredFamilyName", "preferred_family_name", RS_STR, 0, NULL, NULL}, \
	{"primaryOrgSourcedId", "primary_org_sourced_id", RS_GUID, 0, NULL, "orgs"}, \
	{"pronouns", "pronouns", RS_STR, 0, NULL, NULL}
static const struct rs_col users[] = { USERS_HEAD, USERS_TAIL };
static const struct rs_col users_1_2[] = {
	USERS_HEAD,
	{"resourceSourcedIds", "resource_sourced_ids", RS_GUIDLIST, 0, NULL, NULL},
	USERS_TAIL,
};
static const struct rs_col users_meta[] = {
	{"metadata.jp.kanaGivenName", NULL, RS_STR, 0, NULL, NULL},
	{"metadata.jp.kanaFamilyName", NULL, RS_STR, 0, NULL, NULL},
	{"metadata.jp.kanaMiddleName", NULL, RS_STR, 0, NULL, NULL},
	{"metadata.jp.homeClass", NULL, RS_GUID, 0, NULL, "classes"},
	{"metadata.jp.kanaPreferredFamilyName", NULL, RS_STR, 0, NULL, NULL},
	{"metadata.jp.kanaPreferredGivenName", NULL, RS_STR, 0, NULL, NULL},
	{"metadata.jp.kanaPreferredMiddleName", NULL, RS_STR, 0, NULL, NULL},
};
static const struct rs_col roles_cols[] = {
	STATUS_DLM,
	{"userSourcedId", "user_sourced_id", RS_GUID, 1, NULL, "users"},
	{"roleType", "role_type", RS_ENUM, 1, rs_role_types, NULL},
	{"role", "role", RS_ENUM, 1, rs_roles, NULL},
	{"beginDate", "begin_date", RS_DATE, 0, NULL, NULL},
	{"endDate", "end_date", RS_DATE, 0, NULL, NULL},
	{"orgSourcedId", "org_sourced_id", RS_GUID, 1, NULL, "orgs"},
	{"userProfileSourcedId", "user_profile_sourced_id", RS_GUID, 0, NULL, "userProfiles"},
};
static const struct rs_col user_profiles[] = {
	STATUS_DLM,
	{"userSourcedId", "user_sourced_id", RS_GUID, 1, NULL, "users"},
	{"profileType", "profile_type", RS_STR, 1, NULL, NULL},
	{"vendorId", "vendor_id", RS_STR, 1, NULL, NULL},
	{"applicationId", "application_id", RS_STR, 0, NULL, NULL},
	{"description", "description", RS_STR, 0, NULL, NULL},
	{"credentialType", "credential_type", RS_STR, 1, NULL, NULL},
	{"username", "username", RS_STR, 1, NULL, NULL},
	{"password", NULL, RS_STR, 0, NULL, NULL},
};
static const struct rs_col enrollments[] = {
	STATUS_DLM,
	{"classSourcedId", "class_sourced_id", RS_GUID, 1, NULL, "classes"},
	{"schoolSourcedId", "school_sourced_id", RS_GUID, 1, NULL, "orgs"},
	{"userSourcedId", "user_sourced_id", RS_GUID, 1, NULL, "users"},
	{"role", "role", RS_ENUM, 1, rs_enrollment_roles, NULL},
	{"primary", "is_primary", RS_BOOL, 0, NULL, NULL},
	{"beginDate", "begin_date", RS_DATE, 0, NULL, NULL},
	{"endDate", "end_date", RS_DATE, 0, NULL, NULL},
};
static const struct rs_col classes_meta[] = {
	{"metadata.jp.specialNeeds", NULL, RS_BOOL, 0, NULL, NULL},
};
static const struct rs_col enrollments_meta[] = {
	{"metadata.jp.ShussekiNo", NULL, RS_INT, 0, NULL, NULL},
	{"metadata.jp.PublicFlg", NULL, RS_BOOL, 0, NULL, NULL},
	{"metadata.jp.shussekiNo", NULL, RS_INT, 0, NULL, NULL},
	{"metadata.jp.publicFlg", NULL, RS_BOOL, 0, NULL, NULL},
};
static const struct rs_col demographics[] = {
	STATUS_DLM,
	{"birthDate", "birth_date", RS_DATE, 0, NULL, NULL},
	{"sex", "sex", RS_ENUM, 0, rs_sexes, NULL},
	{"americanIndianOrAlaskaNative", "american_indian_or_alaska_native", RS_BOOL, 0, NULL, NULL},
	{"asian", "asian", RS_BOOL, 0, NULL, NULL},
	{"blackOrAfricanAmerican", "black_or_african_american", RS_BOOL, 0, NULL, NULL},
	{"nativeHawaiianOrOtherPacificIslander", "native_hawaiian_or_other_pacific_islander", RS_BOOL, 0, NULL, NULL},
	{"white", "white", RS_BOOL, 0, NULL, NULL},
	{"demographicRaceTwoOrMoreRaces", "demographic_race_two_or_more_races", RS_BOOL, 0, NULL, NULL},
	{"hispanicOrLatinoEthnicity", "hispanic_or_latino_ethnicity", RS_BOOL, 0, NULL, NULL},
	{"countryOfBirthCode", "country_of_birth_code", RS_STR, 0, NULL, NULL},
	{"stateOfBirthAbbreviation", "state_of_birth_abbreviation", RS_STR, 0, NULL, NULL},
	{"cityOfBirth", "city_of_birth", RS_STR, 0, NULL, NULL},
	{"publicSchoolResidenceStatus", "public_school_residence_status", RS_STR, 0, NULL, NULL},
};

const struct rs_file rs_files[RS_NFILES] = {
	{RS_ACADEMIC_SESSIONS, "academicSessions", "roster_academic_sessions", academic_sessions, N(academic_sessions),
	 NULL, 0, NULL, 0},
	{RS_ORGS, "orgs", "roster_orgs", orgs, N(orgs), NULL, 0, NULL, 0},
	{RS_COURSES, "courses", "roster_courses", courses, N(courses), NULL, 0, NULL, 0},
	{RS_CLASSES, "classes", "roster_classes", classes, N(classes), NULL, 0, classes_meta, N(classes_meta)},
	{RS_USERS, "users", "roster_users", users, N(users), users_1_2, N(users_1_2), users_meta, N(users_meta)},
	{RS_USER_PROFILES, "userProfiles", "roster_user_profiles", user_profiles, N(user_profiles), NULL, 0, NULL, 0},
	{RS_ROLES, "roles", "roster_roles", roles_cols, N(roles_cols), NULL, 0, NULL, 0},
	{RS_ENROLLMENTS, "enrollments", "roster_enrollments", enrollments, N(enrollments), NULL, 0, enrollments_meta,
	 N(enrollments_meta)},
	{RS_DEMOGRAPHICS, "demographics", "roster_demographics", demographics, N(demographics), NULL, 0, NULL, 0},
};

const char *const rs_other_files[] = {
	"categories", "lineItems", "lineItemLearningObjectiveIds", "lineItemScoreScales", "results",
	"resultLearningObjectiveIds", "resultScoreScales", "scoreScales", "resources", "classResources",
	"courseResources", "userResources", NULL,
};

const struct rs_file *rs_file_by_name(const char *name)
{
	for (int i = 0; i < RS_NFILES; i++)
		if (strcmp(rs_files[i].name, name) == 0)
			return &rs_files[i];
	return NULL;
}

const struct rs_file *rs_file_by_filename(const char *filename)
{
	size_t n = strlen(filename);
	if (n < 5 || strcmp(filename + n - 4, ".csv") != 0)
		return NULL;
	for (int i = 0; i < RS_NFILES; i++)
		if (strlen(rs_files[i].name) == n - 4 && strncmp(rs_files[i].name, filename, n - 4) == 0)
			return &rs_files[i];
	return NULL;
}

const struct rs_col *rs_col_by_name(const struct rs_file *f, const char *name)
{
	for (int i = 0; i < f->ncols; i++)
		if (strcmp(f->cols[i].name, name) == 0)
			return &f->cols[i];
	for (int i = 0; i < f->nalt; i++)
		if (strcmp(f->alt[i].name, name) == 0)
			return &f->alt[i];
	for (int i = 0; i < f->nmeta; i++)
		if (strcmp(f->meta[i].name, name) == 0)
			return &f->meta[i];
	return NULL;
}

const char *rs_sql_type(enum rs_type t)
{
	switch (t) {
	case RS_STR: case RS_GUID: case RS_ENUM: return "text";
	case RS_DATE: return "date";
	case RS_BOOL: return "boolean";
	case RS_INT: case RS_YEAR: return "integer";
	case RS_LIST: case RS_GUIDLIST: case RS_USERIDS: return "text[]";
	default: return NULL;
	}
}
