#include <criterion/criterion.h>
#include <string.h>
#include "template.h"

static char *render(const char *src, const char *json)
{
	char err[256];
	tmpl *t = tmpl_compile("t", src, err, sizeof err);
	cr_assert_not_null(t, "compile failed: %s", err);
	json_object *ctx = json_tokener_parse(json);
	buf out = {0};
	cr_assert_eq(tmpl_render(t, ctx, &out), 0);
	json_object_put(ctx);
	tmpl_free(t);
	char *s = strdup(out.p ? out.p : "");
	buf_free(&out);
	return s;
}

Test(template, escapes_variables_by_default)
{
	char *s = render("<p>{{x}}</p>", "{\"x\":\"<script>alert('x')</script>&\\\"\"}");
	cr_assert_str_eq(s, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;</p>");
	free(s);
}

Test(template, raw_only_with_explicit_syntax)
{
	char *s = render("{{{x}}}|{{& x}}", "{\"x\":\"<b>\"}");
	cr_assert_str_eq(s, "<b>|<b>");
	free(s);
}

Test(template, sections_iterate_arrays_and_read_outer_names)
{
	char *s = render("{{#items}}[{{name}}:{{sep}}]{{/items}}", "{\"sep\":\"-\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	cr_assert_str_eq(s, "[a:-][b:-]");
	free(s);
}

Test(template, inverted_sections_render_on_empty_or_false)
{
	char *s = render("{{^items}}none{{/items}}{{^flag}}off{{/flag}}{{#flag}}on{{/flag}}", "{\"items\":[],\"flag\":false}");
	cr_assert_str_eq(s, "noneoff");
	free(s);
}

Test(template, dotted_names_and_dot)
{
	char *s = render("{{a.b.c}} {{#list}}{{.}},{{/list}}", "{\"a\":{\"b\":{\"c\":42}},\"list\":[1,2]}");
	cr_assert_str_eq(s, "42 1,2,");
	free(s);
}

Test(template, missing_names_render_empty)
{
	char *s = render("[{{nope}}][{{a.nope}}]", "{\"a\":{}}");
	cr_assert_str_eq(s, "[][]");
	free(s);
}

Test(template, partials_render_with_the_current_context)
{
	char err[256];
	tmpl_register("p", tmpl_compile("p", "<{{name}}>", err, sizeof err));
	char *s = render("{{#u}}{{> p}}{{/u}}", "{\"u\":{\"name\":\"x&y\"}}");
	cr_assert_str_eq(s, "<x&amp;y>");
	free(s);
}

Test(template, rejects_unclosed_and_mismatched_sections)
{
	char err[256];
	cr_assert_null(tmpl_compile("t", "{{#a}}x", err, sizeof err));
	cr_assert_null(tmpl_compile("t", "{{#a}}x{{/b}}", err, sizeof err));
	cr_assert_null(tmpl_compile("t", "{{x", err, sizeof err));
	cr_assert_null(tmpl_compile("t", "{{/a}}", err, sizeof err));
}

Test(template, comments_are_dropped)
{
	char *s = render("a{{! hidden }}b", "{}");
	cr_assert_str_eq(s, "ab");
	free(s);
}

/* found by the template fuzzer: a stray or mismatched close tag must fail cleanly (run.sh leak-checks units) */
Test(template, rejects_a_stray_close_tag_without_leaking)
{
	char err[256] = "";
	cr_assert_null(tmpl_compile("t", "<p>{{a}}</p>{{/jobs}}<p>{{b}}</p>", err, sizeof err));
	cr_assert(strstr(err, "unexpected {{/jobs}}"), "%s", err);
	cr_assert_null(tmpl_compile("t", "{{#a}}x{{y}}{{#b}}z{{/a}}{{/b}}", err, sizeof err));
	cr_assert(strstr(err, "unexpected"), "%s", err);
}

Test(template, percent_encodes_an_id_placed_in_a_url_path)
{
	char *s = render("<a href=\"/admin/roster/users/{{%id}}\">", "{\"id\":\"a/b?c#d e&f\\\"<>\"}");
	cr_assert_str_eq(s, "<a href=\"/admin/roster/users/a%2Fb%3Fc%23d%20e%26f%22%3C%3E\">");
	free(s);
	s = render("{{%id}}", "{\"id\":\"学校-1._~\"}");
	cr_assert_str_eq(s, "%E5%AD%A6%E6%A0%A1-1._~");
	free(s);
}
