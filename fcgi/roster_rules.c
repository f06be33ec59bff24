/* Row, header and manifest checks for roster CSV files, and the rule catalog every finding refers to.
 * Findings are capped per (file, rule) so a million bad rows cost constant memory; all are counted. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "roster_rules.h"

const struct rr_rule rr_rules[] = {
	{"ZIP-001", RR_ERROR, "the zip file cannot be read", "zip ファイルを読み込めません"},
	{"ZIP-002", RR_ERROR, "no roster file found (expected manifest.csv or a known CSV file name such as users.csv)",
	 "名簿ファイルが見つかりません（manifest.csv または users.csv などの既知のファイル名が必要です）"},
	{"CSV-ENC-001", RR_ERROR, "the file is not UTF-8", "ファイルが UTF-8 ではありません"},
	{"CSV-ENC-002", RR_ERROR, "the file is UTF-16", "ファイルが UTF-16 です"},
	{"CSV-ENC-003", RR_ERROR, "a field contains a NUL byte (0x00)", "値に NUL バイト (0x00) が含まれています"},
	{"CSV-QUOTE-001", RR_ERROR, "malformed quotes", "引用符の誤り"},
	{"CSV-QUOTE-002", RR_ERROR, "unterminated quoted field", "引用符が閉じられていません"},
	{"CSV-SIZE-001", RR_ERROR, "field too large", "値が大きすぎます"},
	{"CSV-SIZE-002", RR_ERROR, "too many columns", "列が多すぎます"},
	{"CSV-SIZE-003", RR_ERROR, "too many records", "行が多すぎます"},
	{"CSV-IO-001", RR_ERROR, "the file could not be read", "ファイルを読み込めません"},
	{"OR-MAN-001", RR_ERROR, "manifest.csv is missing or its header is not \"propertyName,value\"",
	 "manifest.csv が無いか、ヘッダーが \"propertyName,value\" ではありません"},
	{"OR-MAN-002", RR_ERROR, "unknown file in the manifest", "manifest に未知のファイルがあります"},
	{"OR-MAN-003", RR_ERROR, "invalid manifest value (expected absent, bulk or delta)",
	 "manifest の値が不正です（absent / bulk / delta のいずれか）"},
	{"OR-MAN-004", RR_ERROR, "a file listed as bulk or delta in the manifest is missing from the bundle",
	 "manifest で bulk / delta とされたファイルがバンドルにありません"},
	{"OR-MAN-005", RR_WARNING, "file in the bundle is not listed in the manifest (or listed absent): ignored",
	 "manifest に記載の無い（または absent の）ファイルは無視しました"},
	{"OR-MAN-006", RR_ERROR, "unsupported manifest.version or oneroster.version (expected 1.0 and 1.2, 1.2.1 or 1.2_JP)",
	 "manifest.version または oneroster.version が未対応です（1.0 と 1.2 / 1.2.1 / 1.2_JP）"},
	{"OR-MAN-007", RR_WARNING, "gradebook and resources files are not imported: ignored",
	 "成績・リソース系のファイルは取り込み対象外のため無視しました"},
	{"OR-MAN-008", RR_ERROR, "a manifest row must have exactly 2 cells", "manifest の各行はちょうど 2 列が必要です"},
	{"OR-MAN-009", RR_WARNING, "unknown manifest property: ignored", "未知の manifest 項目を無視しました"},
	{"OR-MAN-010", RR_ERROR, "duplicate manifest property", "manifest の項目が重複しています"},
	{"OR-HDR-001", RR_ERROR, "missing column", "列がありません"},
	{"OR-HDR-002", RR_ERROR, "duplicate column header", "列見出しが重複しています"},
	{"OR-HDR-003", RR_ERROR, "columns are not in the order of the specification", "列の順序が仕様と異なります"},
	{"OR-HDR-004", RR_ERROR, "unknown column (extension columns must be named metadata.* and come after the spec columns)",
	 "未知の列です（拡張列は metadata.* という名前で仕様の列の後に置いてください）"},
	{"OR-HDR-005", RR_ERROR, "empty file (no header row)", "空のファイルです（見出し行がありません）"},
	{"OR-ROW-001", RR_ERROR, "wrong number of fields in the row", "行の列数が見出しと一致しません"},
	{"OR-REQ-001", RR_ERROR, "required field is empty", "必須項目が空です"},
	{"OR-FMT-001", RR_ERROR, "invalid sourcedId (letters, digits and . / @ _ -, 1 to 255 characters)",
	 "sourcedId が不正です（英数字と . / @ _ -、1〜255 文字）"},
	{"OR-FMT-002", RR_ERROR, "invalid date (YYYY-MM-DD)", "日付が不正です（YYYY-MM-DD）"},
	{"OR-FMT-003", RR_ERROR, "invalid date-time (ISO 8601, e.g. 2026-04-01T00:00:00.000Z)",
	 "日時が不正です（ISO 8601 形式、例 2026-04-01T00:00:00.000Z）"},
	{"OR-FMT-004", RR_ERROR, "invalid year (YYYY)", "年が不正です（YYYY）"},
	{"OR-FMT-005", RR_ERROR, "invalid boolean (true or false)", "真偽値が不正です（true または false）"},
	{"OR-FMT-006", RR_ERROR, "invalid integer", "整数が不正です"},
	{"OR-FMT-007", RR_ERROR, "empty item in a list", "リストに空の項目があります"},
	{"OR-FMT-008", RR_ERROR, "invalid userIds item (expected {type:identifier})",
	 "userIds の項目が不正です（{type:identifier} 形式）"},
	{"OR-FMT-009", RR_WARNING, "boolean not in lower case (accepted)", "真偽値が小文字ではありません（受け付けました）"},
	{"OR-ENUM-001", RR_ERROR, "value not in the code list", "コード表にない値です"},
	{"OR-LIST-001", RR_ERROR, "subjects and subjectCodes must have the same number of items",
	 "subjects と subjectCodes の項目数が一致しません"},
	{"OR-DATE-001", RR_WARNING, "end date is before start date", "終了日が開始日より前です"},
	{"OR-BULK-001", RR_WARNING, "status and dateLastModified must be blank in a bulk file: values ignored",
	 "bulk ファイルでは status と dateLastModified は空欄にします（値は無視しました）"},
	{"OR-BULK-002", RR_WARNING, "row marked tobedeleted in a bulk file: the record is deleted",
	 "bulk ファイルで tobedeleted とされた行：このレコードは削除されます"},
	{"OR-DELTA-001", RR_ERROR, "status is required in a delta file (active or tobedeleted)",
	 "delta ファイルでは status が必須です（active または tobedeleted）"},
	{"OR-DELTA-002", RR_ERROR, "dateLastModified is required in a delta file",
	 "delta ファイルでは dateLastModified が必須です"},
	{"OR-DELTA-003", RR_WARNING, "delta row deletes a record that does not exist: ignored",
	 "存在しないレコードの削除指定を無視しました"},
	{"OR-DUP-001", RR_ERROR, "duplicate sourcedId in the file", "ファイル内で sourcedId が重複しています"},
	{"OR-REF-001", RR_ERROR, "reference to a record that exists neither in the bundle nor in stored data",
	 "参照先のレコードがバンドルにも登録済みデータにもありません"},
	{"OR-REF-002", RR_ERROR, "reference to a record of the wrong type", "参照先のレコードの種別が正しくありません"},
	{"OR-REF-003", RR_ERROR, "a record this import deletes is still referenced by a stored record (delete that one in "
	 "the same delta, or send the complete bulk file)",
	 "この取り込みで削除するレコードを登録済みのレコードが参照しています（同じ delta で参照元も削除するか、bulk "
	 "ファイル一式を送ってください）"},
	{"OR-CASCADE-001", RR_WARNING, "records deleted because a record they require was removed by a bulk file",
	 "bulk ファイルで削除されたレコードを必須で参照していたため削除したレコードがあります"},
	{"OR-CASCADE-002", RR_WARNING, "references cleared because the record they named was removed by a bulk file",
	 "bulk ファイルで削除されたレコードへの参照（任意項目）を空にしました"},
	{"JP-GRADE-001", RR_ERROR, "grade is not a MEXT grade code (P1-P6, J1-J3, H1-H3, E1-E3)",
	 "学年コードが文部科学省の学年コード（P1〜P6, J1〜J3, H1〜H3, E1〜E3）ではありません"},
	{"JP-ORG-001", RR_ERROR, "org type must be district or school", "組織の type は district か school にしてください"},
	{"JP-ORG-002", RR_ERROR, "a district must not have a parent org", "district に親組織は指定できません"},
	{"JP-ORG-003", RR_WARNING, "school identifier is not a 13-character MEXT school code",
	 "学校の identifier が 13 桁の学校コードではありません"},
	{"JP-ORG-004", RR_WARNING, "district identifier is not a 6-digit code",
	 "教育委員会の identifier が 6 桁のコードではありません"},
	{"JP-SESS-001", RR_WARNING, "academic session type should be schoolYear",
	 "学期の type は schoolYear にしてください"},
	{"JP-SESS-002", RR_WARNING, "academic session title should look like 2026年度",
	 "学期の title は「2026年度」の形式にしてください"},
	{"JP-COURSE-001", RR_WARNING, "courseCode should be empty in the Japan Profile",
	 "Japan Profile では courseCode は空欄にします"},
	{"JP-KANA-001", RR_WARNING, "half-width katakana is not allowed", "半角カタカナは使用できません"},
	{"JP-KANA-002", RR_WARNING, "kana field contains characters other than kana",
	 "カナ項目にかな以外の文字が含まれています"},
	{"JP-KANA-003", RR_WARNING, "kana name is missing", "カナ氏名がありません"},
	{"JP-HOME-001", RR_ERROR, "homeClass does not refer to an existing class",
	 "homeClass が存在するクラスを参照していません"},
	{"JP-HOME-002", RR_WARNING, "homeClass refers to a class that is not a homeroom",
	 "homeClass が homeroom ではないクラスを参照しています"},
	{"JP-ENR-001", RR_WARNING, "a student enrollment should have primary=false",
	 "児童生徒の所属では primary は false にします"},
	{"JP-ENUM-001", RR_ERROR, "ext: values are not allowed in the Japan Profile",
	 "Japan Profile では ext: で始まる値は使えません"},
	{"JP-ROLE-001", RR_WARNING, "user has a secondary role but no primary role",
	 "secondary のロールがあるのに primary のロールがありません"},
	{NULL, 0, NULL, NULL},
};

const struct rr_rule *rr_rule(const char *code)
{
	for (const struct rr_rule *r = rr_rules; r->code; r++)
		if (strcmp(r->code, code) == 0)
			return r;
	return NULL;
}

void rr_init(struct rr_ctx *c, rr_emit_fn emit, void *ud, int jp)
{
	memset(c, 0, sizeof *c);
	c->emit = emit;
	c->ud = ud;
	c->jp = jp;
}

/* cut at n bytes without splitting a UTF-8 sequence */
static void clip(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (n < cap) {
		memcpy(out, s, n + 1);
		return;
	}
	n = cap - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
}

static void emit(struct rr_ctx *c, const char *file, long line, const char *col, const char *rule,
		 enum rr_severity sev, const char *en, const char *ja)
{
	int k;
	if (sev == RR_ERROR)
		c->errors++;
	else
		c->warnings++;
	for (k = 0; k < c->nper; k++)
		if (c->per[k].rule == rule && strcmp(c->per[k].file, file) == 0)
			break;
	if (k == c->nper && c->nper < (int)(sizeof c->per / sizeof c->per[0])) {
		c->per[k].file = file;
		c->per[k].rule = rule;
		c->per[k].n = 0;
		c->nper++;
	}
	if (k < c->nper && ++c->per[k].n > RR_MAX_PER_RULE) {
		c->dropped++;
		return;
	}
	if (!c->emit)
		return;
	struct rr_finding f = { file, line, col ? col : "", rule, sev, ja, en };
	c->emit(c->ud, &f);
}

void rr_add(struct rr_ctx *c, const char *file, long line, const char *col, const char *rule, const char *detail)
{
	const struct rr_rule *r = rr_rule(rule);
	char en[512], ja[512], d[100];
	if (!r) {
		r = rr_rule("CSV-IO-001");
	}
	if (detail && *detail) {
		clip(d, sizeof d, detail);
		snprintf(en, sizeof en, "%s: %s", r->en, d);
		snprintf(ja, sizeof ja, "%s：%s", r->ja, d);
	} else {
		snprintf(en, sizeof en, "%s", r->en);
		snprintf(ja, sizeof ja, "%s", r->ja);
	}
	emit(c, file, line, col, r->code, r->sev, en, ja);
}

void rr_add_csv(struct rr_ctx *c, const char *file, const struct rcsv_error *e)
{
	const struct rr_rule *r = rr_rule(e->code);
	emit(c, file, e->line, "", r ? r->code : "CSV-IO-001", RR_ERROR, e->msg_en, e->msg_ja);
}

/* ---- value checks ---- */

int rr_guid_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("./@_-", s[n]))
			return 0;
	return n >= 1 && n <= 255;
}

static int digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int ymd_ok(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return 0;
	int y = atoi(s), m = (s[5] - '0') * 10 + s[6] - '0', d = (s[8] - '0') * 10 + s[9] - '0';
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

int rr_date_ok(const char *s) { return strlen(s) == 10 && ymd_ok(s); }

int rr_datetime_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 10 || !ymd_ok(s))
		return 0;
	if (n == 10)
		return 1;
	const char *p = s + 10;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return 0;
	p++;
	if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2) || atoi(p) > 23 || atoi(p + 3) > 59)
		return 0;
	p += 5;
	if (*p == ':') {
		if (!digits(p + 1, 2) || atoi(p + 1) > 60)
			return 0;
		p += 3;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return 0;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (*p == 0 || ((*p == 'Z' || *p == 'z') && p[1] == 0))
		return 1;
	if (*p != '+' && *p != '-')
		return 0;
	p++;
	if (!digits(p, 2))
		return 0;
	p += 2;
	if (*p == ':')
		p++;
	return (*p == 0) || (digits(p, 2) && p[2] == 0);
}

int rr_bool_ok(const char *s)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
		return 1;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
		return 2;
	return 0;
}

int rr_int_ok(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!*p || strlen(p) > 9)
		return 0;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

int rr_userid_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 5 || s[0] != '{' || s[n - 1] != '}')
		return 0;
	const char *colon = strchr(s, ':');
	if (!colon || colon == s + 1 || colon >= s + n - 2)
		return 0;
	for (const char *p = s + 1; p < colon; p++)
		if (*p == '}')
			return 0;
	for (const char *p = colon + 1; p < s + n - 1; p++)
		if (*p == '}')
			return 0;
	return 1;
}

/* next code point of valid UTF-8 (validated by the CSV reader) */
static unsigned next_cp(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	unsigned cp;
	if (p[0] < 0x80) { cp = p[0]; p += 1; }
	else if (p[0] < 0xe0) { cp = (p[0] & 0x1fu) << 6 | (p[1] & 0x3f); p += 2; }
	else if (p[0] < 0xf0) { cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3f); p += 3; }
	else { cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3f); p += 4; }
	*pp = p;
	return cp;
}

int rr_has_halfwidth_kana(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp = next_cp(&p);
		if (cp >= 0xff61 && cp <= 0xff9f)
			return 1;
	}
	return 0;
}

int rr_is_kana(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp = next_cp(&p);
		if (cp == ' ' || cp == 0x3000 || (cp >= 0x3041 && cp <= 0x309f) || (cp >= 0x30a0 && cp <= 0x30ff))
			continue;
		return 0;
	}
	return 1;
}

int rr_jp_grade_ok(const char *s)
{
	for (const char *const *g = rs_jp_grades; *g; g++)
		if (strcmp(*g, s) == 0)
			return 1;
	return 0;
}

static int in_codes(const char *const *codes, const char *s)
{
	for (; *codes; codes++)
		if (strcmp(*codes, s) == 0)
			return 1;
	return 0;
}

/* ---- header ---- */

int rr_header_pos(const struct rr_header *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (h->col[i] && strcmp(h->col[i]->name, name) == 0)
			return i;
	return -1;
}

static int layout_matches(const struct rs_col *l, int nl, int n, char **names)
{
	if (n < nl)
		return 0;
	for (int i = 0; i < nl; i++)
		if (strcmp(l[i].name, names[i]) != 0)
			return 0;
	return 1;
}

/* Levenshtein distance, ASCII case folded (header names are ASCII); strings longer than 63 bytes are "far". */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			int m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m) m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m) m = d[i - 1][j - 1] + cost;
			d[i][j] = m;
		}
	return d[la][lb];
}

static int header_has(int n, char **names, const char *name)
{
	for (int k = 0; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return 1;
	return 0;
}

static int spec_column(const struct rs_file *f, const char *name)
{
	for (int i = 0; i < f->ncols; i++)
		if (strcmp(f->cols[i].name, name) == 0)
			return 1;
	for (int i = 0; f->alt && i < f->nalt; i++)
		if (strcmp(f->alt[i].name, name) == 0)
			return 1;
	return 0;
}

/* OR-HDR-004 for column k: empty, or unknown with the closest spec column not already present when it is close
 * enough to be a misspelling ("prefferedGivenName (column 18; did you mean preferredGivenName?)") */
static void unknown_column(struct rr_ctx *c, const struct rs_file *f, const char *filename, int n, char **names,
			   int k)
{
	char d[200];
	if (!names[k][0]) {
		snprintf(d, sizeof d, "(empty, column %d)", k + 1);
		rr_add(c, filename, 1, "", "OR-HDR-004", d);
		return;
	}
	const char *best = NULL;
	int bd = 99;
	for (int i = 0; i < f->ncols; i++) {
		int dist = edit_distance(names[k], f->cols[i].name);
		if (dist < bd && !header_has(n, names, f->cols[i].name)) {
			bd = dist;
			best = f->cols[i].name;
		}
	}
	int limit = (int)strlen(names[k]) / 4 > 2 ? (int)strlen(names[k]) / 4 : 2;
	if (best && bd <= limit)
		snprintf(d, sizeof d, "%.80s (column %d; did you mean %s?)", names[k], k + 1, best);
	else
		snprintf(d, sizeof d, "%.80s (column %d)", names[k], k + 1);
	rr_add(c, filename, 1, names[k], "OR-HDR-004", d);
}

/* The header does not match a layout: name every problem in one pass (an admin fixing a vendor's file wants the
 * whole list): empty and unknown names (with the likely intended spec column by edit distance), duplicates,
 * missing spec columns, and, only when the names are otherwise right, the first column out of order. */
static void header_problems(struct rr_ctx *c, const struct rs_file *f, const char *filename, int n, char **names)
{
	long before = c->errors;
	for (int k = 0; k < n; k++) {
		if (spec_column(f, names[k]) || (strncmp(names[k], "metadata.", 9) == 0 && names[k][9]))
			continue;
		unknown_column(c, f, filename, n, names, k);
	}
	for (int i = 0; i < f->ncols; i++) {
		if (header_has(n, names, f->cols[i].name))
			continue;
		/* CSV 1.2 users.csv: resourceSourcedIds in place is the alternative layout, not a missing column */
		if (f->alt && strcmp(f->cols[i].name, "preferredGivenName") == 0 && header_has(n, names, "resourceSourcedIds"))
			continue;
		rr_add(c, filename, 1, f->cols[i].name, "OR-HDR-001", f->cols[i].name);
	}
	if (c->errors > before)
		return;
	/* every name is right: the order is wrong (or a duplicate already said so) */
	for (int i = 0; i < f->ncols; i++) {
		if (i < n && strcmp(names[i], f->cols[i].name) == 0)
			continue;
		if (f->alt && i < f->nalt && i < n && strcmp(names[i], f->alt[i].name) == 0)
			continue;
		int found = -1;
		for (int k = 0; k < n && found < 0; k++)
			if (strcmp(names[k], f->cols[i].name) == 0)
				found = k;
		char d[200];
		snprintf(d, sizeof d, "%s (column %d, expected at %d)", f->cols[i].name, found + 1, i + 1);
		rr_add(c, filename, 1, f->cols[i].name, "OR-HDR-003", d);
		return;
	}
	rr_add(c, filename, 1, "", "OR-HDR-003", NULL);
}

int rr_header_map(struct rr_ctx *c, const struct rs_file *f, const char *filename, int n, char **names,
		  struct rr_header *h)
{
	long before = c->errors;
	memset(h, 0, sizeof *h);
	h->f = f;
	h->filename = filename;
	h->n = n;
	if (n > RR_MAX_COLS) {
		rr_add(c, filename, 1, "", "CSV-SIZE-002", NULL);
		return -1;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < i; k++)
			if (strcmp(names[i], names[k]) == 0) {
				rr_add(c, filename, 1, names[i], "OR-HDR-002", names[i]);
				break;
			}
	if (layout_matches(f->cols, f->ncols, n, names)) {
		h->layout = f->cols;
		h->nlayout = f->ncols;
	} else if (f->alt && layout_matches(f->alt, f->nalt, n, names)) {
		h->layout = f->alt;
		h->nlayout = f->nalt;
	} else {
		header_problems(c, f, filename, n, names);
		return -1;
	}
	for (int i = 0; i < h->nlayout; i++)
		h->col[i] = &h->layout[i];
	for (int i = h->nlayout; i < n; i++) {
		if (strncmp(names[i], "metadata.", 9) != 0 || names[i][9] == 0) {
			unknown_column(c, f, filename, n, names, i);
			continue;
		}
		h->col[i] = rs_col_by_name(f, names[i]);
		h->meta_key[i] = strdup(names[i] + 9);
		h->nmeta++;
	}
	h->has_kana = rr_header_pos(h, "metadata.jp.kanaGivenName") >= 0 ||
		      rr_header_pos(h, "metadata.jp.kanaFamilyName") >= 0;
	if (c->errors > before) {
		rr_header_free(h);
		return -1;
	}
	return 0;
}

void rr_header_free(struct rr_header *h)
{
	for (int i = 0; i < RR_MAX_COLS; i++) {
		free(h->meta_key[i]);
		h->meta_key[i] = NULL;
	}
}

/* ---- rows ---- */

static int check_list(struct rr_ctx *c, struct rr_header *h, long line, const struct rs_col *col, const char *v)
{
	const char *p = v;
	int items = 0, bad = 0;
	char item[300];
	while (1) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && *p == ' ') { p++; len--; }
		while (len && p[len - 1] == ' ') len--;
		items++;
		if (len == 0) {
			rr_add(c, h->filename, line, col->name, "OR-FMT-007", v);
			return -1;
		}
		if (len >= sizeof item) {
			rr_add(c, h->filename, line, col->name, "OR-FMT-007", v);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = 0;
		if (col->type == RS_GUIDLIST && !rr_guid_ok(item)) {
			rr_add(c, h->filename, line, col->name, "OR-FMT-001", item);
			bad = 1;
		} else if (col->type == RS_USERIDS && !rr_userid_ok(item)) {
			rr_add(c, h->filename, line, col->name, "OR-FMT-008", item);
			bad = 1;
		} else if (c->jp && strcmp(col->name, "grades") == 0 && !rr_jp_grade_ok(item)) {
			rr_add(c, h->filename, line, col->name, "JP-GRADE-001", item);
			bad = 1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return bad ? -1 : items;
}

static int check_value(struct rr_ctx *c, struct rr_header *h, long line, const struct rs_col *col, const char *v)
{
	const char *f = h->filename;
	int b;
	switch (col->type) {
	case RS_GUID:
		if (!rr_guid_ok(v)) { rr_add(c, f, line, col->name, "OR-FMT-001", v); return -1; }
		return 0;
	case RS_ENUM:
		if (in_codes(col->codes, v))
			return 0;
		if (strncmp(v, "ext:", 4) == 0 && v[4]) {
			if (c->jp) { rr_add(c, f, line, col->name, "JP-ENUM-001", v); return -1; }
			return 0;
		}
		rr_add(c, f, line, col->name, "OR-ENUM-001", v);
		return -1;
	case RS_DATE:
		if (!rr_date_ok(v)) { rr_add(c, f, line, col->name, "OR-FMT-002", v); return -1; }
		return 0;
	case RS_DATETIME:
		if (!rr_datetime_ok(v)) { rr_add(c, f, line, col->name, "OR-FMT-003", v); return -1; }
		return 0;
	case RS_YEAR:
		if (strlen(v) != 4 || !digits(v, 4)) { rr_add(c, f, line, col->name, "OR-FMT-004", v); return -1; }
		return 0;
	case RS_BOOL:
		b = rr_bool_ok(v);
		if (b == 0) { rr_add(c, f, line, col->name, "OR-FMT-005", v); return -1; }
		if (b == 2) rr_add(c, f, line, col->name, "OR-FMT-009", v);
		return 0;
	case RS_INT:
		if (!rr_int_ok(v)) { rr_add(c, f, line, col->name, "OR-FMT-006", v); return -1; }
		return 0;
	case RS_LIST: case RS_GUIDLIST: case RS_USERIDS:
		return check_list(c, h, line, col, v) < 0 ? -1 : 0;
	default:
		return 0;
	}
}

static int count_items(const char *v)
{
	int n = *v ? 1 : 0;
	for (; *v; v++)
		n += *v == ',';
	return n;
}

static const char *val(const struct rr_header *h, char **v, const char *name)
{
	int i = rr_header_pos(h, name);
	return i >= 0 ? v[i] : NULL;
}

static int mext_school_code(const char *s)
{
	return strlen(s) == 13 && s[0] >= 'A' && s[0] <= 'H' && (s[1] == '1' || s[1] == '2') && s[2] >= '0' &&
	       s[2] <= '4' && isdigit((unsigned char)s[3]) && s[4] >= '1' && s[4] <= '3' && digits(s + 5, 8);
}

static void check_jp(struct rr_ctx *c, struct rr_header *h, long line, char **v)
{
	const char *f = h->filename, *s;
	switch (h->f->id) {
	case RS_ORGS: {
		const char *type = val(h, v, "type"), *parent = val(h, v, "parentSourcedId"), *ident = val(h, v, "identifier");
		if (*type && strcmp(type, "district") != 0 && strcmp(type, "school") != 0)
			rr_add(c, f, line, "type", "JP-ORG-001", type);
		if (strcmp(type, "district") == 0 && *parent)
			rr_add(c, f, line, "parentSourcedId", "JP-ORG-002", parent);
		if (strcmp(type, "school") == 0 && *ident && !mext_school_code(ident))
			rr_add(c, f, line, "identifier", "JP-ORG-003", ident);
		if (strcmp(type, "district") == 0 && *ident && !(strlen(ident) == 6 && digits(ident, 6)))
			rr_add(c, f, line, "identifier", "JP-ORG-004", ident);
		if ((s = val(h, v, "name")) && rr_has_halfwidth_kana(s))
			rr_add(c, f, line, "name", "JP-KANA-001", s);
		break;
	}
	case RS_ACADEMIC_SESSIONS: {
		const char *type = val(h, v, "type"), *title = val(h, v, "title");
		if (*type && strcmp(type, "schoolYear") != 0)
			rr_add(c, f, line, "type", "JP-SESS-001", type);
		size_t tl = strlen(title);
		if (*title && !(tl == 4 + strlen("年度") && digits(title, 4) && strcmp(title + 4, "年度") == 0))
			rr_add(c, f, line, "title", "JP-SESS-002", title);
		break;
	}
	case RS_COURSES:
		if ((s = val(h, v, "courseCode")) && *s)
			rr_add(c, f, line, "courseCode", "JP-COURSE-001", s);
		break;
	case RS_CLASSES:
		if ((s = val(h, v, "title")) && rr_has_halfwidth_kana(s))
			rr_add(c, f, line, "title", "JP-KANA-001", s);
		break;
	case RS_USERS: {
		static const char *const names[] = {"givenName", "familyName", "middleName", "preferredGivenName",
						    "preferredFamilyName", "preferredMiddleName", NULL};
		for (int i = 0; names[i]; i++)
			if ((s = val(h, v, names[i])) && rr_has_halfwidth_kana(s))
				rr_add(c, f, line, names[i], "JP-KANA-001", s);
		for (int i = 0; i < h->n; i++) {
			if (!h->meta_key[i] || strncmp(h->meta_key[i], "jp.kana", 7) != 0 || !*v[i])
				continue;
			if (rr_has_halfwidth_kana(v[i]))
				rr_add(c, f, line, h->col[i] ? h->col[i]->name : "", "JP-KANA-001", v[i]);
			else if (!rr_is_kana(v[i]))
				rr_add(c, f, line, h->col[i] ? h->col[i]->name : "", "JP-KANA-002", v[i]);
		}
		/* one rule whether the kana columns are absent or empty: each user without a kana name is named on its
		 * own line (the column given is the first one missing) */
		const char *kg = val(h, v, "metadata.jp.kanaGivenName"), *kf = val(h, v, "metadata.jp.kanaFamilyName");
		if (!kg || !*kg || !kf || !*kf)
			rr_add(c, f, line, !kg || !*kg ? "metadata.jp.kanaGivenName" : "metadata.jp.kanaFamilyName",
			       "JP-KANA-003", val(h, v, "sourcedId"));
		break;
	}
	case RS_ENROLLMENTS: {
		const char *role = val(h, v, "role"), *primary = val(h, v, "primary");
		if (role && strcmp(role, "student") == 0 && primary && strcasecmp(primary, "true") == 0)
			rr_add(c, f, line, "primary", "JP-ENR-001", primary);
		break;
	}
	default:
		break;
	}
}

int rr_check_row(struct rr_ctx *c, struct rr_header *h, int delta, long line, int n, char **v,
		 unsigned char *bad, int *deleted)
{
	long before = c->errors;
	const char *f = h->filename;
	*deleted = 0;
	memset(bad, 0, (size_t)(n > h->n ? n : h->n));
	if (n != h->n) {
		char d[64];
		snprintf(d, sizeof d, "%d (header has %d)", n, h->n);
		rr_add(c, f, line, "", "OR-ROW-001", d);
		memset(bad, 1, (size_t)(n > h->n ? n : h->n));
		return (int)(c->errors - before);
	}
	const char *status = v[1], *dlm = v[2];
	if (!delta) {
		/* a tobedeleted row of a bulk file is honoured (the record is deleted, as if the row were left out) and
		 * named on its own line; other values are ignored with one warning for the file */
		if (strcmp(status, "tobedeleted") == 0) {
			*deleted = 1;
			rr_add(c, f, line, "status", "OR-BULK-002", v[0]);
		} else if ((*status || *dlm) && !h->warned_bulk) {
			h->warned_bulk = 1;
			rr_add(c, f, line, *status ? "status" : "dateLastModified", "OR-BULK-001", NULL);
		}
	} else {
		if (!*status)
			rr_add(c, f, line, "status", "OR-DELTA-001", NULL);
		else if (!in_codes(rs_status_codes, status))
			rr_add(c, f, line, "status", "OR-ENUM-001", status);
		if (!*dlm)
			rr_add(c, f, line, "dateLastModified", "OR-DELTA-002", NULL);
		else if (!rr_datetime_ok(dlm))
			rr_add(c, f, line, "dateLastModified", "OR-FMT-003", dlm);
		*deleted = strcmp(status, "tobedeleted") == 0;
	}
	for (int i = 0; i < n; i++) {
		const struct rs_col *col = h->col[i];
		if (!col || i == 1 || i == 2)
			continue;
		if (!*v[i]) {
			if (col->required && !*deleted) {
				rr_add(c, f, line, col->name, "OR-REQ-001", col->name);
				bad[i] = 1;
			}
			continue;
		}
		if (*deleted && i > 0)
			continue;
		if (check_value(c, h, line, col, v[i]) < 0)
			bad[i] = 1;
	}
	if (*deleted)
		return (int)(c->errors - before);
	const char *subj = val(h, v, "subjects"), *codes = val(h, v, "subjectCodes");
	if (subj && codes && *codes && count_items(subj) != count_items(codes))
		rr_add(c, f, line, "subjectCodes", "OR-LIST-001", NULL);
	const char *from = val(h, v, "startDate") ? val(h, v, "startDate") : val(h, v, "beginDate");
	const char *to = val(h, v, "endDate");
	if (from && to && rr_date_ok(from) && rr_date_ok(to) && strcmp(to, from) < 0)
		rr_add(c, f, line, "endDate", "OR-DATE-001", to);
	if (c->jp)
		check_jp(c, h, line, v);
	return (int)(c->errors - before);
}

/* ---- manifest ---- */

const char *rm_mode_name(enum rm_mode m)
{
	return m == RM_BULK ? "bulk" : m == RM_DELTA ? "delta" : "absent";
}

struct rm_state {
	struct rr_ctx *c;
	struct roster_manifest *m;
	int header_ok, rows;
	char seen[64][48];
	int nseen;
};

static int manifest_row(void *ud, long line, int n, char **v, size_t *lens)
{
	struct rm_state *s = ud;
	(void)lens;
	if (s->rows++ == 0) {
		if (!(n == 2 && strcmp(v[0], "propertyName") == 0 && strcmp(v[1], "value") == 0)) {
			rr_add(s->c, "manifest.csv", line, "", "OR-MAN-001", n ? v[0] : NULL);
			return -1;
		}
		s->header_ok = 1;
		return 0;
	}
	if (n != 2) {
		rr_add(s->c, "manifest.csv", line, "", "OR-MAN-008", n ? v[0] : NULL);
		return 0;
	}
	for (int i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i], v[0]) == 0) {
			rr_add(s->c, "manifest.csv", line, "propertyName", "OR-MAN-010", v[0]);
			return 0;
		}
	if (s->nseen < 64 && strlen(v[0]) < sizeof s->seen[0])
		strcpy(s->seen[s->nseen++], v[0]);
	if (strcmp(v[0], "manifest.version") == 0) {
		snprintf(s->m->version, sizeof s->m->version, "%s", v[1]);
		if (strcmp(v[1], "1.0") != 0)
			rr_add(s->c, "manifest.csv", line, "value", "OR-MAN-006", v[1]);
	} else if (strcmp(v[0], "oneroster.version") == 0) {
		snprintf(s->m->or_version, sizeof s->m->or_version, "%s", v[1]);
		if (strcmp(v[1], "1.2") != 0 && strcmp(v[1], "1.2.1") != 0 && strcmp(v[1], "1.2_JP") != 0)
			rr_add(s->c, "manifest.csv", line, "value", "OR-MAN-006", v[1]);
	} else if (strncmp(v[0], "file.", 5) == 0) {
		const char *name = v[0] + 5;
		enum rm_mode mode;
		if (strcasecmp(v[1], "absent") == 0) mode = RM_ABSENT;
		else if (strcasecmp(v[1], "bulk") == 0) mode = RM_BULK;
		else if (strcasecmp(v[1], "delta") == 0) mode = RM_DELTA;
		else {
			/* name the key and the value refused: "file.scoreScales: ''" */
			char d[160];
			snprintf(d, sizeof d, "%.60s: '%.60s'", v[0], v[1]);
			rr_add(s->c, "manifest.csv", line, "value", "OR-MAN-003", d);
			return 0;
		}
		const struct rs_file *f = rs_file_by_name(name);
		if (f) {
			s->m->mode[f->id] = mode;
			s->m->listed[f->id] = 1;
			return 0;
		}
		for (const char *const *o = rs_other_files; *o; o++)
			if (strcmp(*o, name) == 0) {
				if (mode != RM_ABSENT)
					rr_add(s->c, "manifest.csv", line, "value", "OR-MAN-007", v[0]);
				return 0;
			}
		rr_add(s->c, "manifest.csv", line, "propertyName", "OR-MAN-002", v[0]);
	} else if (strncmp(v[0], "source.", 7) != 0) {
		rr_add(s->c, "manifest.csv", line, "propertyName", "OR-MAN-009", v[0]);
	}
	return 0;
}

int roster_manifest_parse(struct rr_ctx *c, rcsv_read_fn rd, void *src, struct roster_manifest *m)
{
	struct rm_state s = { .c = c, .m = m };
	struct rcsv_error e;
	long before = c->errors;
	memset(m, 0, sizeof *m);
	int rc = rcsv_parse(NULL, rd, src, manifest_row, &s, &e);
	if (rc == -1)
		rr_add_csv(c, "manifest.csv", &e);
	else if (!s.header_ok && rc == 0)
		rr_add(c, "manifest.csv", 1, "", "OR-MAN-001", NULL);
	if (s.header_ok && !m->version[0])
		rr_add(c, "manifest.csv", 0, "", "OR-MAN-006", "manifest.version");
	if (s.header_ok && !m->or_version[0])
		rr_add(c, "manifest.csv", 0, "", "OR-MAN-006", "oneroster.version");
	m->usable = rc == 0 && s.header_ok;
	return c->errors > before ? -1 : 0;
}

int roster_manifest_check(struct rr_ctx *c, const struct roster_manifest *m, const char *const *names, int n)
{
	long before = c->errors;
	char fn[64];
	for (int i = 0; i < RS_NFILES; i++) {
		if (m->mode[i] == RM_ABSENT)
			continue;
		snprintf(fn, sizeof fn, "%s.csv", rs_files[i].name);
		int found = 0;
		for (int k = 0; k < n && !found; k++)
			found = strcmp(names[k], fn) == 0;
		if (!found)
			rr_add(c, "manifest.csv", 0, "", "OR-MAN-004", fn);
	}
	for (int k = 0; k < n; k++) {
		size_t len = strlen(names[k]);
		if (strcmp(names[k], "manifest.csv") == 0 || len < 4 || strcmp(names[k] + len - 4, ".csv") != 0)
			continue;
		const struct rs_file *f = rs_file_by_filename(names[k]);
		if (!f || m->mode[f->id] == RM_ABSENT)
			rr_add(c, names[k], 0, "", "OR-MAN-005", names[k]);
	}
	return c->errors > before ? -1 : 0;
}
