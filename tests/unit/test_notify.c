/* Pure parts of notifications: placeholders, unsubscribe tokens, RFC 2047 subjects and whole messages, address
 * checks, the SSRF address classes and webhook signatures. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "arena.h"
#include "mail.h"
#include "notify.h"
#include "webhook.h"

static char *b64d(const char *s, size_t n)
{
	unsigned char *out = calloc(1, n + 4);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	while (n && s[n - 1] == '=') { n--; len--; }
	out[len] = 0;
	return (char *)out;
}

Test(notify_fill, replaces_known_names_and_keeps_unknown_ones)
{
	json_object *v = json_tokener_parse("{\"title\":\"分数\",\"n\":3}");
	char *s = notify_fill("課題「{title}」{missing}{n}", v);
	cr_assert_str_eq(s, "課題「分数」{missing}{n}");
	free(s);
	s = notify_fill("no { close", v);
	cr_assert_str_eq(s, "no { close");
	free(s);
	json_object_put(v);
}

Test(notify_unsub, token_is_bound_to_user_and_kind)
{
	char t[33];
	notify_unsub_token("secret-0123456789abcdef0123456789abcdef", 42, "assignment_new", t);
	cr_assert_eq(strlen(t), 32);
	cr_assert(notify_unsub_check("secret-0123456789abcdef0123456789abcdef", 42, "assignment_new", t));
	cr_assert_not(notify_unsub_check("secret-0123456789abcdef0123456789abcdef", 43, "assignment_new", t));
	cr_assert_not(notify_unsub_check("secret-0123456789abcdef0123456789abcdef", 42, "all", t));
	cr_assert_not(notify_unsub_check("other-secret-0123456789abcdef012345678", 42, "assignment_new", t));
	cr_assert_not(notify_unsub_check("secret-0123456789abcdef0123456789abcdef", 42, "assignment_new", "short"));
	cr_assert_not(notify_unsub_check("secret-0123456789abcdef0123456789abcdef", 42, "assignment_new", NULL));
}

Test(mail_header, ascii_stays_and_japanese_becomes_short_utf8_words)
{
	buf b = {0};
	mail_encode_header(&b, "Hello");
	cr_assert_str_eq(b.p, "Hello");
	buf_free(&b);
	buf c = {0};
	const char *subj = "[R-Stream] 課題「分数のたし算とひき算の練習問題をたくさん解いてみよう」が出されました";
	mail_encode_header(&c, subj);
	/* every encoded word ≤ 75 characters, and the decoded words join back to the subject */
	char joined[1024] = "";
	for (char *p = c.p; (p = strstr(p, "=?UTF-8?B?"));) {
		char *e = strstr(p + 10, "?=");
		cr_assert_not_null(e);
		cr_assert_leq(e + 2 - p, 75);
		char *d = b64d(p + 10, (size_t)(e - p - 10));
		strcat(joined, d);
		free(d);
		p = e + 2;
	}
	cr_assert_str_eq(joined, subj);
	cr_assert(strstr(c.p, "\r\n "), "long subjects are folded");
	buf_free(&c);
	/* an ASCII text that looks like an encoded word is encoded, not passed through */
	buf d = {0};
	mail_encode_header(&d, "=?x?");
	cr_assert(strncmp(d.p, "=?UTF-8?B?", 10) == 0);
	buf_free(&d);
}

Test(mail_compose, writes_headers_and_a_base64_utf8_body)
{
	struct mail_msg m = {.from = "R-Stream 通知 <noreply@school.example.jp>", .to = "pupil@school.example.jp",
			     .subject = "お知らせ", .body = "本文です\nURL", .unsub_url = "https://x.example/notify/unsubscribe?u=1", .date = 0};
	buf out = {0};
	cr_assert_eq(mail_compose(&m, &out), 0);
	cr_assert(strstr(out.p, "From: =?UTF-8?B?"));
	cr_assert(strstr(out.p, " <noreply@school.example.jp>\r\n"));
	cr_assert(strstr(out.p, "To: <pupil@school.example.jp>\r\n"));
	cr_assert(strstr(out.p, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	cr_assert(strstr(out.p, "Message-ID: <") && strstr(m.message_id, "@school.example.jp>"));
	cr_assert(strstr(out.p, "Content-Transfer-Encoding: base64\r\n"));
	cr_assert(strstr(out.p, "List-Unsubscribe: <https://x.example/notify/unsubscribe?u=1>\r\n"));
	char *body = strstr(out.p, "\r\n\r\n") + 4;
	char *nl = strstr(body, "\r\n");
	char *d = b64d(body, (size_t)(nl - body));
	cr_assert_str_eq(d, "本文です\r\nURL");
	free(d);
	buf_free(&out);
}

Test(mail_compose, refuses_header_injection_in_addresses)
{
	struct mail_msg m = {.from = "a <noreply@x.jp>", .to = "victim@x.jp\r\nBcc: all@x.jp", .subject = "s", .body = "b"};
	buf out = {0};
	cr_assert_eq(mail_compose(&m, &out), -1);
	m.to = "ok@x.jp";
	m.from = "a <noreply@x.jp>\r\nBcc: x@y.jp";
	cr_assert_eq(mail_compose(&m, &out), -1);
	buf_free(&out);
	cr_assert_not(mail_addr_ok("two@@x.jp"));
	cr_assert_not(mail_addr_ok("sp ace@x.jp"));
	cr_assert_not(mail_addr_ok("<a@x.jp>"));
	cr_assert(mail_addr_ok("t000001@sakura.example.jp"));
	char a[64];
	cr_assert_eq(mail_addr_of("Name <n@x.jp>", a, sizeof a), 0);
	cr_assert_str_eq(a, "n@x.jp");
}

Test(webhook_addr, classes_internal_addresses)
{
	cr_assert_eq(webhook_addr_class("127.0.0.1"), ADDR_LOOPBACK);
	cr_assert_eq(webhook_addr_class("::1"), ADDR_LOOPBACK);
	cr_assert_eq(webhook_addr_class("::ffff:127.0.0.1"), ADDR_LOOPBACK);
	const char *priv[] = {"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
			      "100.64.0.1", "224.0.0.1", "255.255.255.255", "fd00::1", "fe80::1", "::", "::ffff:10.0.0.1",
			      "64:ff9b::a00:1", "198.18.0.1", "192.0.0.8"};
	for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++)
		cr_assert_eq(webhook_addr_class(priv[i]), ADDR_PRIVATE, "%s", priv[i]);
	cr_assert_eq(webhook_addr_class("8.8.8.8"), ADDR_PUBLIC);
	cr_assert_eq(webhook_addr_class("172.32.0.1"), ADDR_PUBLIC);
	cr_assert_eq(webhook_addr_class("2001:4860:4860::8888"), ADDR_PUBLIC);
	cr_assert_eq(webhook_addr_class("example.com"), -1);
	/* without configuration only public addresses are allowed */
	cr_assert(webhook_addr_allowed(ADDR_PUBLIC));
	cr_assert_not(webhook_addr_allowed(ADDR_LOOPBACK));
	cr_assert_not(webhook_addr_allowed(ADDR_PRIVATE));
	cr_assert_not(webhook_addr_allowed(-1));
}

Test(webhook_url, refuses_bad_schemes_and_literal_private_addresses)
{
	char res[400], err[300];
	const char *why;
	cr_assert_eq(webhook_url_check("ftp://8.8.8.8/", res, sizeof res, &why, err, sizeof err), -1);
	cr_assert_str_eq(why, "notify_err_url_scheme");
	cr_assert_eq(webhook_url_check("http://127.0.0.1:8080/x", res, sizeof res, &why, err, sizeof err), -1);
	cr_assert_str_eq(why, "notify_err_url_private");
	cr_assert_eq(webhook_url_check("http://u:p@8.8.8.8/", res, sizeof res, &why, err, sizeof err), -1);
	cr_assert_eq(webhook_url_check("https://8.8.8.8/hook", res, sizeof res, &why, err, sizeof err), 0);
	cr_assert_str_eq(res, "8.8.8.8:443:8.8.8.8", "the checked address is pinned");
	cr_assert_eq(webhook_url_check("http://[2001:4860:4860::8888]:81/", res, sizeof res, &why, err, sizeof err), 0);
	cr_assert_str_eq(res, "2001:4860:4860::8888:81:[2001:4860:4860::8888]");
}

Test(webhook_sign, is_hmac_sha256_of_timestamp_dot_body)
{
	char sig[65];
	webhook_sign("key", "1700000000", "{}", 2, sig);
	/* echo -n '1700000000.{}' | openssl dgst -sha256 -hmac key */
	cr_assert_str_eq(sig, "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
	char again[65];
	webhook_sign("key", "1700000000", "{}", 2, again);
	cr_assert_str_eq(sig, again);
	webhook_sign("key", "1700000001", "{}", 2, again);
	cr_assert_str_neq(sig, again);
}
