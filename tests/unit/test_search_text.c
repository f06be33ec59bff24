/* Search text: normalisation, CJK bigrams into tsvector literals, tsquery building from hostile input,
 * highlighting and caption cues. */
#include <criterion/criterion.h>
#include <string.h>
#include "search_text.h"

static arena *A;
static void setup(void) { A = arena_new(1 << 16); }
static void teardown(void) { arena_free(A); }
TestSuite(search_text, .init = setup, .fini = teardown);

Test(search_text, normalises_width_case_and_katakana)
{
	const char *in = "ＨＴＭＬ入門　ｶﾀｶﾅ テスト ABC";
	cr_assert_str_eq(search_norm(A, in, strlen(in)), "html入門 かたかな てすと abc");
	cr_assert_str_eq(search_norm(A, "ﾊﾟｿｺﾝ", strlen("ﾊﾟｿｺﾝ")), "ぱそこん");
}

Test(search_text, refuses_invalid_utf8)
{
	cr_assert_null(search_norm(A, "a\xff", 2));
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "\xc3\x28", &q, &err), -1);
	cr_assert_str_eq(err, "search_err_utf8");
}

Test(search_text, cjk_runs_become_bigrams_and_a_last_character)
{
	search_doc d;
	search_doc_init(&d, 1 << 20);
	search_doc_add(&d, A, "算数の授業", 'A');
	cr_assert_str_eq(search_doc_tsvector(&d), "'算数':1A '数の':2A 'の授':3A '授業':4A '業':5A");
	search_doc_free(&d);
}

Test(search_text, words_and_cjk_mix_and_fields_keep_positions_apart)
{
	search_doc d;
	search_doc_init(&d, 1 << 20);
	search_doc_add(&d, A, "HTML入門", 'A');
	search_doc_add(&d, A, "It's 2nd", 'C');
	cr_assert_str_eq(search_doc_tsvector(&d), "'html':1A '入門':2A '門':3A 'it':5C 's':6C '2nd':7C");
	search_doc_free(&d);
}

Test(search_text, two_character_query_is_one_bigram)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "算数", &q, &err), 0);
	cr_assert_str_eq(q.tsquery, "'算数'");
	cr_assert_eq(q.nterms, 1);
}

Test(search_text, longer_cjk_is_a_phrase_and_parts_are_anded)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "HTML 入門講座", &q, &err), 0);
	cr_assert_str_eq(q.tsquery, "'html':* & ('入門' <-> '門講' <-> '講座')");
	cr_assert_str_eq(q.terms[0], "html");
	cr_assert_str_eq(q.terms[1], "入門講座");
}

Test(search_text, one_cjk_character_is_a_prefix_and_short_words_exact)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "算 js", &q, &err), 0);
	cr_assert_str_eq(q.tsquery, "'算':* & 'js'");
	cr_assert_str_eq(q.prefix_tsquery, "'算':* & 'js':*");
}

Test(search_text, tsquery_operators_and_quotes_are_only_separators)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "a & b | !c :* 'd\" (e) <-> \\", &q, &err), 0);
	cr_assert_str_eq(q.tsquery, "'a' & 'b' & 'c' & 'd' & 'e'");
	cr_assert_eq(search_query_parse(A, "!!! ... '\"", &q, &err), 0);
	cr_assert_null(q.tsquery, "punctuation only has nothing to search");
	cr_assert_eq(search_query_parse(A, "\x01\x1f算数\x7f", &q, &err), 0);
	cr_assert_str_eq(q.tsquery, "'算数'");
}

Test(search_text, refuses_long_queries_and_too_many_parts)
{
	char big[10001];
	memset(big, 'a', 10000);
	big[10000] = 0;
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, big, &q, &err), -1);
	cr_assert_str_eq(err, "search_err_too_long");
	cr_assert_eq(search_query_parse(A, "a b c d e f g h i j k l m n", &q, &err), -1);
	cr_assert_str_eq(err, "search_err_too_many_terms");
	cr_assert_eq(search_query_parse(A, "a a a a a a a a a a a a a a a", &q, &err), 0, "repeats count once");
}

Test(search_text, highlight_marks_original_text_across_widths)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "html さんすう", &q, &err), 0);
	search_seg s[16];
	int n = search_highlight(A, "<b>ＨＴＭＬ</b>とサンスウ", &q, 0, s, 16);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(s[0].text, "<b>");
	cr_assert_eq(s[0].hit, 0);
	cr_assert_str_eq(s[1].text, "ＨＴＭＬ");
	cr_assert_eq(s[1].hit, 1);
	cr_assert_str_eq(s[2].text, "</b>と");
	cr_assert_str_eq(s[3].text, "サンスウ");
	cr_assert_eq(s[3].hit, 1);
}

Test(search_text, highlight_window_cuts_around_the_first_hit)
{
	search_query q;
	const char *err = NULL;
	cr_assert_eq(search_query_parse(A, "算数", &q, &err), 0);
	search_seg s[8];
	int n = search_highlight(A, "ああああああああああああああああああああ算数いいいいいいいいいいいいいいいいいい", &q, 10, s, 8);
	cr_assert_geq(n, 3);
	cr_assert_str_eq(s[0].text, "…");
	int found = 0;
	for (int i = 0; i < n; i++) if (s[i].hit && !strcmp(s[i].text, "算数")) found = 1;
	cr_assert(found);
	cr_assert_str_eq(s[n - 1].text, "…");
}

Test(search_text, vtt_cues_have_times_and_plain_text)
{
	const char *vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n今日は<b>算数</b>\nです &amp; more\n\n"
			  "00:01:03.250 --> 00:01:05.000 align:start\nHello\n";
	search_cue c[4];
	int n = search_vtt_cues(A, vtt, strlen(vtt), c, 4);
	cr_assert_eq(n, 2);
	cr_assert_eq(c[0].start_ms, 1000);
	cr_assert_eq(c[0].end_ms, 2500);
	cr_assert_str_eq(c[0].text, "今日は算数 です & more");
	cr_assert_eq(c[1].start_ms, 63250);
	cr_assert_str_eq(c[1].text, "Hello");
}
