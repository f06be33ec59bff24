/* roster_rules: header mapping (order, duplicates, metadata at the end, both users headers), row checks (required,
 * formats, code lists, bulk/delta status rules) and Japan Profile rules, each with its rule code. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "roster_rules.h"

struct got { int n; char rule[64][24]; char col[64][48]; long line[64]; int sev[64]; char en[64][256]; };

static void sink(void *ud, const struct rr_finding *f)
{
	struct got *g = ud;
	if (g->n < 64) {
		snprintf(g->rule[g->n], 24, "%s", f->rule);
		snprintf(g->col[g->n], 48, "%s", f->col);
		snprintf(g->en[g->n], 256, "%s", f->msg_en);
		g->line[g->n] = f->line;
		g->sev[g->n] = f->sev;
	}
	g->n++;
}

static int has(const struct got *g, const char *rule)
{
	for (int i = 0; i < g->n && i < 64; i++)
		if (strcmp(g->rule[i], rule) == 0)
			return 1;
	return 0;
}

/* split a comma line (no quotes) into a static array */
static int split(const char *line, char **out)
{
	static char bufs[4][4096];
	static int k;
	char *b = bufs[k++ % 4];
	snprintf(b, 4096, "%s", line);
	int n = 0;
	char *p = b;
	for (;;) {
		out[n++] = p;
		char *c = strchr(p, '|');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	return n;
}

static const char *USERS = "sourcedId|status|dateLastModified|enabledUser|username|userIds|givenName|familyName|"
	"middleName|identifier|email|sms|phone|agentSourcedIds|grades|password|userMasterIdentifier|"
	"preferredGivenName|preferredMiddleName|preferredFamilyName|primaryOrgSourcedId|pronouns";

static void map(struct rr_ctx *c, struct got *g, const char *file, const char *hdr, struct rr_header *h, int expect)
{
	char *names[64];
	int n = split(hdr, names);
	memset(g, 0, sizeof *g);
	rr_init(c, sink, g, 1);
	cr_assert_eq(rr_header_map(c, rs_file_by_name(file), "x.csv", n, names, h), expect,
		     "%s", g->n ? g->en[0] : "");
}

Test(roster_rules, maps_the_1_2_1_users_header_with_japan_profile_columns)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "%s|metadata.jp.kanaGivenName|metadata.jp.kanaFamilyName|metadata.jp.homeClass|"
		 "metadata.vendor.extra", USERS);
	map(&c, &g, "users", hdr, &h, 0);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(h.nmeta, 4);
	cr_assert_str_eq(h.meta_key[22], "jp.kanaGivenName");
	cr_assert_str_eq(h.meta_key[25], "vendor.extra");
	cr_assert_null(h.col[25]);
	cr_assert(h.has_kana);
	rr_header_free(&h);
}

Test(roster_rules, maps_the_1_2_users_header_with_resource_sourced_ids)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "users", "sourcedId|status|dateLastModified|enabledUser|username|userIds|givenName|familyName|"
	    "middleName|identifier|email|sms|phone|agentSourcedIds|grades|password|userMasterIdentifier|"
	    "resourceSourcedIds|preferredGivenName|preferredMiddleName|preferredFamilyName|primaryOrgSourcedId|pronouns",
	    &h, 0);
	cr_assert_eq(h.nlayout, 23);
	cr_assert_str_eq(h.col[17]->name, "resourceSourcedIds");
	rr_header_free(&h);
}

Test(roster_rules, rejects_a_header_in_the_wrong_order)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|type|name|identifier|parentSourcedId", &h, -1);
	cr_assert(has(&g, "OR-HDR-003"));
	cr_assert_eq(g.line[0], 1);
}

Test(roster_rules, rejects_a_missing_column)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|parentSourcedId", &h, -1);
	cr_assert(has(&g, "OR-HDR-001"));
	cr_assert_str_eq(g.col[0], "identifier");
}

Test(roster_rules, rejects_duplicate_headers)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId|metadata.x|metadata.x",
	    &h, -1);
	cr_assert(has(&g, "OR-HDR-002"));
}

Test(roster_rules, rejects_unknown_non_metadata_columns_but_accepts_metadata_at_the_end)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId|color", &h, -1);
	cr_assert(has(&g, "OR-HDR-004"));
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId|metadata.color", &h, 0);
	rr_header_free(&h);
	map(&c, &g, "orgs", "metadata.color|sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId", &h, -1);
}

static int row(struct rr_ctx *c, struct rr_header *h, int delta, const char *line, int *deleted)
{
	char *v[64];
	unsigned char bad[64];
	int n = split(line, v);
	return rr_check_row(c, h, delta, 2, n, v, bad, deleted);
}

Test(roster_rules, reports_required_fields_formats_and_code_lists)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del;
	map(&c, &g, "enrollments", "sourcedId|status|dateLastModified|classSourcedId|schoolSourcedId|userSourcedId|role|"
	    "primary|beginDate|endDate", &h, 0);
	cr_assert_eq(row(&c, &h, 0, "e1|||c1|s1|u1|student|false|2026-04-01|2027-03-31", &del), 0);
	cr_assert_eq(g.n, 0);
	cr_assert(row(&c, &h, 0, "e2|||c1|s1||pupil|maybe|2026-02-30|", &del) >= 4);
	cr_assert(has(&g, "OR-REQ-001"));
	cr_assert(has(&g, "OR-ENUM-001"));
	cr_assert(has(&g, "OR-FMT-005"));
	cr_assert(has(&g, "OR-FMT-002"));
	cr_assert_eq(row(&c, &h, 0, "bad id!|||c1|s1|u1|student|false||", &del), 1);
	cr_assert(has(&g, "OR-FMT-001"));
	cr_assert_eq(row(&c, &h, 0, "e3|||c1|s1|u1|student", &del), 1);
	cr_assert(has(&g, "OR-ROW-001"));
	rr_header_free(&h);
}

Test(roster_rules, bulk_rows_with_status_warn_once_and_delta_rows_need_status)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del;
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId", &h, 0);
	row(&c, &h, 0, "o1|active|2026-01-01T00:00:00Z|学校|school||", &del);
	row(&c, &h, 0, "o2|active|2026-01-01T00:00:00Z|学校|school||", &del);
	cr_assert_eq(c.warnings, 1);
	cr_assert_eq(c.errors, 0);
	cr_assert(has(&g, "OR-BULK-001"));
	cr_assert_eq(row(&c, &h, 1, "o3|||学校|school||", &del), 2);
	cr_assert(has(&g, "OR-DELTA-001"));
	cr_assert(has(&g, "OR-DELTA-002"));
	int before = g.n;
	cr_assert_eq(row(&c, &h, 1, "o4|tobedeleted|2026-05-01T10:00:00.000Z||||", &del), 0, "%s", g.en[before]);
	cr_assert_eq(del, 1);
	rr_header_free(&h);
}

Test(roster_rules, applies_japan_profile_rules)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del;
	char hdr[2048];
	snprintf(hdr, sizeof hdr, "%s|metadata.jp.kanaGivenName|metadata.jp.kanaFamilyName", USERS);
	map(&c, &g, "users", hdr, &h, 0);
	cr_assert_eq(row(&c, &h, 0, "u1|||true|taro|{mext:123}|太郎|山田|||||||P1||||||||タロウ|やまだ", &del), 0);
	cr_assert_eq(g.n, 0, "%s", g.en[0]);
	cr_assert_eq(row(&c, &h, 0, "u2|||true|jiro|{bad}|次郎|山田|||||||G9||||||||ｼﾞﾛｳ|Yamada", &del), 2);
	cr_assert(has(&g, "OR-FMT-008"));
	cr_assert(has(&g, "JP-GRADE-001"));
	cr_assert(has(&g, "JP-KANA-001"));
	cr_assert(has(&g, "JP-KANA-002"));
	rr_header_free(&h);

	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId", &h, 0);
	row(&c, &h, 0, "d1|||市教委|district|12345|o9", &del);
	row(&c, &h, 0, "o1|||本校|department||", &del);
	cr_assert(has(&g, "JP-ORG-001"));
	cr_assert(has(&g, "JP-ORG-002"));
	cr_assert(has(&g, "JP-ORG-004"));
	rr_header_free(&h);

	map(&c, &g, "academicSessions", "sourcedId|status|dateLastModified|title|type|startDate|endDate|parentSourcedId|"
	    "schoolYear", &h, 0);
	cr_assert_eq(row(&c, &h, 0, "y1|||2026年度|schoolYear|2026-04-01|2027-03-31||2026", &del), 0);
	cr_assert_eq(g.n, 0);
	row(&c, &h, 0, "t1|||前期|term|2026-04-01|2026-09-30|y1|2026", &del);
	cr_assert(has(&g, "JP-SESS-001"));
	cr_assert(has(&g, "JP-SESS-002"));
	rr_header_free(&h);
}

Test(roster_rules, accepts_both_shusseki_no_spellings_and_checks_their_types)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del;
	map(&c, &g, "enrollments", "sourcedId|status|dateLastModified|classSourcedId|schoolSourcedId|userSourcedId|role|"
	    "primary|beginDate|endDate|metadata.jp.ShussekiNo|metadata.jp.PublicFlg", &h, 0);
	cr_assert_eq(row(&c, &h, 0, "e1|||c1|s1|u1|student|false|||12|true", &del), 0);
	cr_assert_eq(row(&c, &h, 0, "e2|||c1|s1|u1|student|false|||twelve|true", &del), 1);
	cr_assert(has(&g, "OR-FMT-006"));
	rr_header_free(&h);
	map(&c, &g, "enrollments", "sourcedId|status|dateLastModified|classSourcedId|schoolSourcedId|userSourcedId|role|"
	    "primary|beginDate|endDate|metadata.jp.shussekiNo|metadata.jp.publicFlg", &h, 0);
	cr_assert_str_eq(h.meta_key[10], "jp.shussekiNo");
	cr_assert_eq(row(&c, &h, 0, "e1|||c1|s1|u1|student|true|||3|yes", &del), 1);
	cr_assert(has(&g, "JP-ENR-001"));
	rr_header_free(&h);
}

Test(roster_rules, keeps_at_most_a_thousand_findings_per_rule_but_counts_all)
{
	struct rr_ctx c;
	int n = 0;
	rr_init(&c, NULL, &n, 1);
	for (int i = 0; i < 5000; i++)
		rr_add(&c, "users.csv", i + 2, "givenName", "OR-REQ-001", NULL);
	cr_assert_eq(c.errors, 5000);
	cr_assert_eq(c.dropped, 4000);
}

Test(roster_rules, every_rule_has_both_languages)
{
	for (const struct rr_rule *r = rr_rules; r->code; r++) {
		cr_assert(r->en && *r->en, "%s", r->code);
		cr_assert(r->ja && *r->ja, "%s", r->code);
	}
	cr_assert_eq(rr_rule("JP-GRADE-001")->sev, RR_ERROR);
	cr_assert_eq(rr_rule("OR-BULK-001")->sev, RR_WARNING);
}

Test(roster_rules, value_checkers_accept_lenient_datetimes)
{
	cr_assert(rr_datetime_ok("2026-04-01T00:00:00.000Z"));
	cr_assert(rr_datetime_ok("2026-04-01T09:00:00+09:00"));
	cr_assert(rr_datetime_ok("2026-04-01T09:00"));
	cr_assert(rr_datetime_ok("2026-04-01"));
	cr_assert(!rr_datetime_ok("2026-13-01T00:00:00Z"));
	cr_assert(!rr_datetime_ok("yesterday"));
	cr_assert(rr_date_ok("2024-02-29"));
	cr_assert(!rr_date_ok("2025-02-29"));
	cr_assert(rr_userid_ok("{mext:A-123}"));
	cr_assert(!rr_userid_ok("mext:1"));
	cr_assert(rr_is_kana("やまだ タロウ"));
	cr_assert(!rr_is_kana("山田"));
}

/* every code the CSV reader reports is a registered rule (an unknown one was filed as CSV-IO-001) */
Test(roster_rules, every_csv_reader_code_is_registered)
{
	const char *codes[] = {"CSV-ENC-001", "CSV-ENC-002", "CSV-ENC-003", "CSV-IO-001", "CSV-QUOTE-001",
			       "CSV-QUOTE-002", "CSV-SIZE-001", "CSV-SIZE-002", "CSV-SIZE-003"};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		cr_assert_not_null(rr_rule(codes[i]), "%s is not in rr_rules", codes[i]);
}

Test(roster_rules, a_tobedeleted_row_in_a_bulk_file_is_deleted_and_named_on_its_line)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del = 0;
	char *v[64];
	unsigned char bad[64];
	map(&c, &g, "orgs", "sourcedId|status|dateLastModified|name|type|identifier|parentSourcedId", &h, 0);
	row(&c, &h, 0, "o1|||学校|school||", &del);
	cr_assert_eq(del, 0);
	int n = split("o9|tobedeleted|||||", v);
	rr_check_row(&c, &h, 0, 7, n, v, bad, &del);
	cr_assert_eq(del, 1, "the row deletes its record instead of storing it as active");
	cr_assert(has(&g, "OR-BULK-002"));
	cr_assert_eq(g.line[g.n - 1], 7, "the finding is on the row's own line");
	cr_assert_eq(c.errors, 0, "a deleted row needs no name or type");
	cr_assert(!has(&g, "OR-BULK-001"));
	rr_header_free(&h);
}

/* Defect 8: a user without a kana name gets the same finding whether the columns are absent or empty */
Test(roster_rules, missing_kana_is_one_rule_for_absent_and_empty_columns)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	int del;
	char hdr[2048];
	const char *row22 = "u1|||true|user1||太郎|山田||||||||||||||";
	map(&c, &g, "users", USERS, &h, 0);
	row(&c, &h, 0, row22, &del);
	cr_assert(has(&g, "JP-KANA-003"), "no kana columns at all");
	cr_assert_str_eq(g.col[g.n - 1], "metadata.jp.kanaGivenName");
	long absent = c.warnings;
	rr_header_free(&h);
	snprintf(hdr, sizeof hdr, "%s|metadata.jp.kanaGivenName|metadata.jp.kanaFamilyName", USERS);
	map(&c, &g, "users", hdr, &h, 0);
	char line[256];
	snprintf(line, sizeof line, "%s||", row22);
	row(&c, &h, 0, line, &del);
	cr_assert(has(&g, "JP-KANA-003"), "empty kana columns");
	cr_assert_str_eq(g.col[g.n - 1], "metadata.jp.kanaGivenName");
	cr_assert_eq(c.warnings, absent, "the same findings either way");
	snprintf(line, sizeof line, "%s|タロウ|ヤマダ", row22);
	memset(&g, 0, sizeof g);
	row(&c, &h, 0, line, &del);
	cr_assert(!has(&g, "JP-KANA-003"));
	rr_header_free(&h);
}

/* Defect 3: every header problem in one pass, with the likely intended name */
Test(roster_rules, names_every_header_problem_at_once_with_suggestions)
{
	struct rr_ctx c;
	struct got g;
	struct rr_header h;
	map(&c, &g, "users", "sourcedId|status|dateLastModified|enabledUser|username|userIds|givenName|familyName|"
	    "middleName|identifier|email|sms|phone|agentSourcedIds|grades|password|userMasterIdentifier|"
	    "prefferedGivenName|prefferedMiddleName|prefferedFamilyName|primaryOrgSourcedId|pronouns|role||"
	    "metadata.jp.kanaGivenName", &h, -1);
	int unknown = 0, missing = 0, empty = 0, suggested = 0, role = 0;
	for (int i = 0; i < g.n; i++) {
		if (!strcmp(g.rule[i], "OR-HDR-004")) {
			unknown++;
			suggested += strstr(g.en[i], "did you mean preferred") != NULL;
			empty += strstr(g.en[i], "(empty, column 24)") != NULL;
			role += !strcmp(g.col[i], "role");
		}
		missing += !strcmp(g.rule[i], "OR-HDR-001");
	}
	cr_assert_eq(unknown, 5, "three misspellings, role and the empty name");
	cr_assert_eq(suggested, 3);
	cr_assert_eq(empty, 1);
	cr_assert_eq(role, 1);
	cr_assert_eq(missing, 3, "the three preferred* columns are missing");
	cr_assert(!has(&g, "OR-HDR-003"), "no order complaint when names are wrong");
}
