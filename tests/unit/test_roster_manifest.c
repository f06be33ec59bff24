/* roster manifest: modes per file, versions, unknown files and properties, and the comparison with the files that
 * are actually in the bundle. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "roster_rules.h"

static int parse(const char *text, struct rr_ctx *c, struct roster_manifest *m)
{
	struct rcsv_mem mem = { text, strlen(text), 0 };
	rr_init(c, NULL, NULL, 1);
	return roster_manifest_parse(c, rcsv_mem_read, &mem, m);
}

static int count_rule(const struct rr_ctx *c, const char *rule)
{
	long n = 0;
	for (int i = 0; i < c->nper; i++)
		if (strcmp(c->per[i].rule, rule) == 0)
			n += c->per[i].n;
	return (int)n;
}

static const char *GOOD = "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\n"
	"file.academicSessions,bulk\r\nfile.categories,absent\r\nfile.classes,bulk\r\nfile.orgs,delta\r\n"
	"file.users,bulk\r\nfile.enrollments,bulk\r\nsource.systemName,校務支援\r\n";

Test(roster_manifest, reads_modes_per_file)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse(GOOD, &c, &m), 0);
	cr_assert_eq(m.mode[RS_USERS], RM_BULK);
	cr_assert_eq(m.mode[RS_ORGS], RM_DELTA);
	cr_assert_eq(m.mode[RS_ROLES], RM_ABSENT);   /* missing row means absent */
	cr_assert_str_eq(m.or_version, "1.2");
	cr_assert_eq(c.errors + c.warnings, 0);
}

Test(roster_manifest, accepts_the_japan_version_strings)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2_JP\n", &c, &m), 0);
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2.1\n", &c, &m), 0);
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n", &c, &m), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-006"), 1);
}

Test(roster_manifest, rejects_unknown_files_in_the_manifest)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.pets,bulk\n", &c, &m), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-002"), 1);
}

Test(roster_manifest, rejects_a_bad_mode_and_a_bad_header)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,full\n", &c, &m), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-003"), 1);
	cr_assert_eq(parse("name,value\nmanifest.version,1.0\n", &c, &m), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-001"), 1);
	cr_assert_eq(parse("", &c, &m), -1);
}

Test(roster_manifest, warns_about_gradebook_files_and_unknown_properties)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.results,bulk\n"
			   "color,blue\n", &c, &m), 0);
	cr_assert_eq(count_rule(&c, "OR-MAN-007"), 1);
	cr_assert_eq(count_rule(&c, "OR-MAN-009"), 1);
}

Test(roster_manifest, rejects_duplicate_properties_and_wrong_cell_counts)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,bulk\n"
			   "file.users,delta\nfile.orgs,bulk,extra\n", &c, &m), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-010"), 1);
	cr_assert_eq(count_rule(&c, "OR-MAN-008"), 1);
}

Test(roster_manifest, requires_listed_files_and_ignores_unlisted_ones)
{
	struct rr_ctx c;
	struct roster_manifest m;
	cr_assert_eq(parse(GOOD, &c, &m), 0);
	const char *names[] = {"manifest.csv", "academicSessions.csv", "classes.csv", "orgs.csv", "users.csv",
			       "roles.csv", "notes.txt"};
	cr_assert_eq(roster_manifest_check(&c, &m, names, 7), -1);
	cr_assert_eq(count_rule(&c, "OR-MAN-004"), 1);   /* enrollments.csv is missing */
	cr_assert_eq(count_rule(&c, "OR-MAN-005"), 1);   /* roles.csv not listed */
}

static char last_en[512];
static void keep_msg(void *ud, const struct rr_finding *f)
{
	(void)ud;
	snprintf(last_en, sizeof last_en, "%s", f->msg_en);
}

Test(roster_manifest, a_bad_mode_names_the_key_and_the_value)
{
	struct rr_ctx c;
	struct roster_manifest m;
	struct rcsv_mem mem;
	const char *t = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.scoreScales,\n";
	mem = (struct rcsv_mem){ t, strlen(t), 0 };
	rr_init(&c, keep_msg, NULL, 1);
	cr_assert_eq(roster_manifest_parse(&c, rcsv_mem_read, &mem, &m), -1);
	cr_assert(strstr(last_en, "file.scoreScales: ''"), "%s", last_en);
}
