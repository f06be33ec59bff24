#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "http.h"
#include "netaddr.h"

Test(request, parses_urlencoded_pairs)
{
	arena *a = arena_new(4096);
	kv *p;
	int n;
	const char *s = "a=1&b=x+y%21&c=&d&%E6%97%A5=%E6%9C%AC";
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(p[1].v, "x y!");
	cr_assert_str_eq(p[2].v, "");
	cr_assert_str_eq(p[3].k, "d");
	cr_assert_str_eq(p[4].k, "日");
	cr_assert_str_eq(p[4].v, "本");
	arena_free(a);
}

Test(request, bad_percent_escapes_stay_literal)
{
	arena *a = arena_new(4096);
	cr_assert_str_eq(url_decode(a, "%zz%4", 5), "%zz%4");
	arena_free(a);
}

Test(request, too_many_pairs_is_an_error)
{
	arena *a = arena_new(4096);
	buf b = {0};
	for (int i = 0; i < 600; i++) buf_puts(&b, "a=1&");
	kv *p;
	int n;
	cr_assert_eq(parse_urlencoded(a, b.p, b.len, &p, &n), -1);
	buf_free(&b);
	arena_free(a);
}

Test(request, parses_cookies)
{
	arena *a = arena_new(4096);
	kv *p;
	int n;
	cr_assert_eq(parse_cookies(a, "rs_session=abc.def; rs_lang=en;x=\"q\"", &p, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(p[0].v, "abc.def");
	cr_assert_str_eq(p[1].k, "rs_lang");
	cr_assert_str_eq(p[2].v, "q");
	arena_free(a);
}

Test(request, json_parser_reports_malformed_input)
{
	char err[200];
	json_object *o = json_parse_limited("{\"a\":1}", 7, err, sizeof err);
	cr_assert_not_null(o);
	json_object_put(o);
	cr_assert_null(json_parse_limited("{\"a\":", 5, err, sizeof err));
	cr_assert(strstr(err, "malformed JSON") != NULL);
	cr_assert_null(json_parse_limited("{\"a\":1} x", 9, err, sizeof err));
	/* nesting deeper than the limit */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	cr_assert_null(json_parse_limited(deep, 200, err, sizeof err));
}

Test(request, json_error_envelope_has_code_message_details)
{
	req r = {0};
	r.a = arena_new(4096);
	r.path = "/api/v1/x";
	r.lang = "ja";
	res_error(&r, 400, "malformed_json", "bad", NULL);
	cr_assert_eq(r.status, 400);
	json_object *o = json_tokener_parse(r.body_out.p), *e, *v;
	cr_assert(json_object_object_get_ex(o, "error", &e));
	cr_assert(json_object_object_get_ex(e, "code", &v));
	cr_assert_str_eq(json_object_get_string(v), "malformed_json");
	cr_assert(json_object_object_get_ex(e, "message", &v));
	cr_assert(json_object_object_get_ex(e, "details", &v));
	json_object_put(o);
	buf_free(&r.body_out);
	buf_free(&r.headers);
	arena_free(r.a);
}

Test(request, header_values_cannot_inject_lines)
{
	req r = {0};
	res_header(&r, "Location", "/x\r\nSet-Cookie: evil=1");
	cr_assert(r.headers.p == NULL || strstr(r.headers.p, "evil") == NULL);
	buf_free(&r.headers);
}

Test(netaddr, cidr_matching_v4_v6_and_mapped)
{
	cr_assert(cidr_match("10.1.2.3", "10.0.0.0/8"));
	cr_assert_not(cidr_match("11.1.2.3", "10.0.0.0/8"));
	cr_assert(cidr_match("192.168.1.77", "192.168.1.64/26"));
	cr_assert_not(cidr_match("192.168.1.128", "192.168.1.64/26"));
	cr_assert(cidr_match("::ffff:10.0.0.1", "10.0.0.0/8"));
	cr_assert(cidr_match("2001:db8::1", "2001:db8::/32"));
	cr_assert_not(cidr_match("2001:db9::1", "2001:db8::/32"));
	cr_assert(cidr_list_match("127.0.0.1", "10.0.0.0/8, 127.0.0.1"));
	cr_assert_not(cidr_valid("10.0.0.0/33"));
	cr_assert_not(cidr_valid("banana"));
	cr_assert(cidr_valid("0.0.0.0/0"));
}

Test(netaddr, forwarded_for_only_from_trusted_proxies)
{
	char out[64];
	client_ip_resolve("203.0.113.9", "1.2.3.4", "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "203.0.113.9", "an untrusted peer cannot spoof its address");
	client_ip_resolve("10.0.0.2", "1.2.3.4, 10.0.0.5", "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "1.2.3.4");
	client_ip_resolve("10.0.0.2", "evil, 1.2.3.4", "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "1.2.3.4");
	client_ip_resolve("10.0.0.2", "not-an-ip", "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "10.0.0.2");
}

Test(request, param_id_accepts_only_positive_bigints)
{
	req r = {0};
	r.nparams = 1;
	r.pnames[0] = "id";
	const char *cases[][2] = {{"42", "42"}, {"0", "0"}, {"-1", "0"}, {"1x", "0"}, {"", "0"}, {" 7", "0"},
				  {"1234567890123456789", "1234567890123456789"}, {"999999999999999999", "999999999999999999"},
				  {"9223372036854775807", "9223372036854775807"}, {"9223372036854775808", "0"},
				  {"99999999999999999999", "0"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r.pvals[0] = cases[i][0];
		cr_assert_eq(req_param_id(&r, "id"), strtol(cases[i][1], NULL, 10), "input '%s'", cases[i][0]);
	}
	cr_assert_eq(req_param_id(&r, "other"), 0);
}

Test(request, json_prescan_refuses_too_many_values_before_parsing)
{
	/* the finding: a 1 MB array of empty objects, 349,000 json-c objects if it were parsed */
	size_t n = 349000;
	char *s = malloc(n * 3 + 2), *p = s;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) { memcpy(p, "{},", 3); p += 3; }
	p[-1] = ']';
	char err[200];
	int why;
	cr_assert_null(json_parse_bounded(s, (size_t)(p - s), JSON_MAX_VALUES, JSON_MAX_DEPTH, &why, err, sizeof err));
	cr_assert_eq(why, JSON_TOO_BIG);
	cr_assert(strstr(err, "more than 2000 values") != NULL, "%s", err);
	free(s);
	/* at the cap it parses; one more value is refused */
	cr_assert_eq(json_prescan("[1,2,3]", 7, 4, 4, err, sizeof err), 0);
	cr_assert_eq(json_prescan("[1,2,3,4]", 9, 4, 4, err, sizeof err), JSON_TOO_BIG);
	/* structural bytes inside strings do not count */
	cr_assert_eq(json_prescan("{\"a\":\"[,,,:{{{\\\"\"}", 18, 3, 1, err, sizeof err), 0);
	cr_assert_eq(json_prescan("[[[1]]]", 7, 100, 2, err, sizeof err), JSON_TOO_BIG);
}

Test(request, json_refuses_nul_escapes_and_bytes)
{
	char err[200];
	int why;
	const char *t = "{\"title\":\"ok\\u0000hidden\"}";
	cr_assert_null(json_parse_bounded(t, strlen(t), 100, 8, &why, err, sizeof err));
	cr_assert_eq(why, JSON_NUL);
	/* an escaped backslash before u0000 is text, not an escape */
	t = "{\"title\":\"ok\\\\u0000\"}";
	json_object *o = json_parse_bounded(t, strlen(t), 100, 8, &why, err, sizeof err);
	cr_assert_not_null(o, "%s", err);
	json_object_put(o);
	cr_assert_null(json_parse_bounded("{\"a\":\"x\0\"}", 10, 100, 8, &why, err, sizeof err));
	cr_assert_eq(why, JSON_NUL);
	/* invalid UTF-8 in a string is malformed JSON */
	cr_assert_null(json_parse_bounded("[\"\xff\"]", 5, 100, 8, &why, err, sizeof err));
	cr_assert_eq(why, JSON_MALFORMED);
}

Test(request, forms_and_queries_refuse_nul_and_bad_utf8)
{
	arena *a = arena_new(4096);
	kv *p;
	int n;
	const char *s = "title=ok%00hidden";
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), -2);
	s = "t%00x=1";
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), -2);
	s = "title=%FF%FE";
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), -2);
	s = "title=%C0%AF";   /* overlong '/' */
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), -2);
	s = "title=%ED%A0%80";   /* surrogate */
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), -2);
	s = "title=%F0%9F%98%80";   /* U+1F600 is fine */
	cr_assert_eq(parse_urlencoded(a, s, strlen(s), &p, &n), 0);
	arena_free(a);
}

Test(request, parse_id_is_range_checked)
{
	cr_assert_eq(parse_id("9223372036854775807"), 9223372036854775807L);
	cr_assert_eq(parse_id("9223372036854775808"), 0);
	cr_assert_eq(parse_id("-5"), 0);
	cr_assert_eq(parse_id(NULL), 0);
}

Test(request, accept_encoding_takes_gzip_unless_refused)
{
	cr_assert(http_accepts_gzip("gzip"));
	cr_assert(http_accepts_gzip("gzip, deflate, br"));
	cr_assert(http_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
	cr_assert(http_accepts_gzip("x-gzip"));
	cr_assert(http_accepts_gzip("*"));
	cr_assert(http_accepts_gzip("gzip;q=0.001"));
	cr_assert_not(http_accepts_gzip(NULL));
	cr_assert_not(http_accepts_gzip(""));
	cr_assert_not(http_accepts_gzip("identity"));
	cr_assert_not(http_accepts_gzip("deflate, br"));
	cr_assert_not(http_accepts_gzip("gzip;q=0"));
	cr_assert_not(http_accepts_gzip("gzip; q=0.000, br"));
	cr_assert_not(http_accepts_gzip("gzipped"));
	cr_assert_not(http_accepts_gzip("*;q=0"));
	cr_assert_not(http_accepts_gzip("gzip;q=0, *"), "gzip refused by name is not taken back by *");
	cr_assert(http_accepts_gzip("*;q=0, gzip"), "named gzip wins over a refused *");
}

Test(request, gzip_body_inflates_to_the_same_bytes)
{
	char in[20000];
	for (size_t i = 0; i < sizeof in; i++) in[i] = "{\"users\":[]}"[i % 12];
	size_t zlen = 0;
	char *z = http_gzip(in, sizeof in, &zlen);
	cr_assert_not_null(z);
	cr_assert_lt(zlen, sizeof in / 10, "repetitive JSON shrinks: %zu bytes", zlen);
	cr_assert_eq((unsigned char)z[0], 0x1f, "a gzip member (RFC 1952 magic)");
	cr_assert_eq((unsigned char)z[1], 0x8b);
	char out[sizeof in + 1];
	z_stream s = {0};
	cr_assert_eq(inflateInit2(&s, 15 + 16), Z_OK);
	s.next_in = (Bytef *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = (Bytef *)out;
	s.avail_out = sizeof out;
	cr_assert_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
	cr_assert_eq(s.total_out, sizeof in);
	cr_assert_eq(memcmp(in, out, sizeof in), 0);
	inflateEnd(&s);
	free(z);
}
