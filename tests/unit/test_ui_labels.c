#include <criterion/criterion.h>
#include <string.h>
#include "http.h"
#include "i18n.h"

const char *job_message_label(req *r, const char *msg);   /* h_jobs.c */

static req make(arena *a, const char *lang)
{
	req r;
	memset(&r, 0, sizeof r);
	r.a = a;
	r.lang = lang;
	return r;
}

Test(ui_labels, job_messages_read_in_the_page_language_with_their_numbers)
{
	cr_assert_eq(i18n_load("conf/i18n"), 0);
	arena *a = arena_new(4096);
	req ja = make(a, "ja"), en = make(a, "en");
	cr_assert_str_eq(job_message_label(&ja, "1486 rows imported"), "1486件を取り込みました");
	cr_assert_str_eq(job_message_label(&ja, "3 errors, 12 warnings: nothing changed"), "エラー3件・警告12件のため、何も変更していません");
	cr_assert_str_eq(job_message_label(&ja, "done"), "完了");
	cr_assert_str_eq(job_message_label(&en, "1486 rows imported"), "1486 rows imported");
	/* a message nobody translated (an ffmpeg reason) is shown as it is */
	cr_assert_str_eq(job_message_label(&ja, "moov atom not found"), "moov atom not found");
	cr_assert_str_eq(job_message_label(&ja, ""), "");
	arena_free(a);
}

Test(ui_labels, code_values_become_words_item_by_item)
{
	cr_assert_eq(i18n_load("conf/i18n"), 0);
	arena *a = arena_new(4096);
	req ja = make(a, "ja"), en = make(a, "en");
	json_object *o = json_tokener_parse("{\"roles\":\"student, teacher\",\"status\":\"tobedeleted\",\"type\":\"weird\"}");
	tr_codes(&ja, o, "rosterapi_role_", (const char *const[]){"roles", NULL});
	tr_codes(&ja, o, "code_", (const char *const[]){"status", "type", "missing", NULL});
	cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "roles_label")), "児童生徒、教員");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "status_label")), "削除予定");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "type_label")), "weird", "unknown codes stay");
	cr_assert_null(json_object_object_get(o, "missing_label"));
	cr_assert_str_eq(tr_code(&en, "code_", "school"), "School");
	cr_assert_str_eq(tr_code(&en, "audit_action_", "user.create"), "User created");
	json_object_put(o);
	arena_free(a);
}
