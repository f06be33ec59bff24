/* settings.c without a database: which values each setting takes, the override layer over the file, the password
 * policy, and the logo check that decides by the bytes. */
#include <criterion/criterion.h>
#include <string.h>
#include "config.h"
#include "settings.h"

static const unsigned char png2x1[] = {
	0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a,0x00,0x00,0x00,0x0d,0x49,0x48,0x44,0x52,0x00,0x00,0x00,0x02,0x00,0x00,
	0x00,0x01,0x08,0x02,0x00,0x00,0x00,0x7b,0x40,0xe8,0xdd,0x00,0x00,0x00,0x0d,0x49,0x44,0x41,0x54,0x78,0x9c,0x63,
	0xf8,0xcf,0x00,0x04,0xff,0x01,0x07,0x00,0x01,0xff,0xe2,0x23,0x9e,0x59,0x00,0x00,0x00,0x00,0x49,0x45,0x4e,0x44,
	0xae,0x42,0x60,0x82};

/* SOI, a baseline frame header for 3×2 pixels, EOI: enough for the size check */
static const unsigned char jpeg3x2[] = {0xff,0xd8, 0xff,0xc0,0x00,0x0b,0x08,0x00,0x02,0x00,0x03,0x01,0x01,0x11,0x00,
	0xff,0xd9};

static int ok(const char *key, const char *v)
{
	char err[64];
	return settings_valid(settings_def(key), v, err, sizeof err);
}

Test(ui_settings, accepts_only_values_in_range_for_each_kind)
{
	cr_assert(ok("password.min_length", "8") && ok("password.min_length", "128"));
	cr_assert(!ok("password.min_length", "7") && !ok("password.min_length", "129") && !ok("password.min_length", "12x"));
	cr_assert(ok("video.max_upload_mb", "4096") && !ok("video.max_upload_mb", "4097") && !ok("upload.quota_mb", "-1"));
	cr_assert(ok("signin.cards", "0") && ok("signin.cards", "1") && !ok("signin.cards", "true"));
	cr_assert(ok("default_lang", "en") && !ok("default_lang", "fr"));
	cr_assert(ok("timezone", "Asia/Tokyo") && !ok("timezone", "../etc/passwd") && !ok("timezone", "Mars/Base"));
	cr_assert(!ok("secret", "x") && !ok("database_url", "x"), "keys outside the list are never settable");
	cr_assert(ok("site.name", ""), "empty: back to the file's value");
}

Test(ui_settings, counts_the_site_name_in_characters_and_refuses_control_characters)
{
	/* 60 kanji are 180 bytes and still fit */
	char name[200] = "";
	for (int i = 0; i < 60; i++) strcat(name, "学");
	cr_assert(ok("site.name", name));
	strcat(name, "学");
	cr_assert(!ok("site.name", name));
	cr_assert(!ok("site.name", "a\nb") && !ok("site.name", "a\tb"));
}

Test(ui_settings, an_override_wins_over_the_file_until_it_is_dropped)
{
	char err[64];
	config_reset();
	cr_assert_eq(config_parse_text("upload.quota_mb = 100\n", err, sizeof err), 0);
	const char *k[] = {"upload.quota_mb"}, *v[] = {"5"};
	config_override_replace(k, v, 1);
	cr_assert_eq(config_get_int("upload.quota_mb", 0), 5);
	cr_assert_str_eq(config_file_get("upload.quota_mb", ""), "100");
	config_override_replace(NULL, NULL, 0);
	cr_assert_eq(config_get_int("upload.quota_mb", 0), 100);
}

Test(ui_settings, the_password_policy_follows_the_settings)
{
	char err[64];
	config_reset();
	cr_assert(settings_password_ok("ten-chars!", err, sizeof err));
	cr_assert(!settings_password_ok("nine-char", err, sizeof err));
	cr_assert_str_eq(err, "users_err_password_short");
	const char *k[] = {"password.min_length", "password.require_mixed"}, *v[] = {"12", "1"};
	config_override_replace(k, v, 2);
	cr_assert(!settings_password_ok("ten-chars-1", err, sizeof err));
	cr_assert(!settings_password_ok("only-letters-here", err, sizeof err));
	cr_assert_str_eq(err, "users_err_password_mixed");
	cr_assert(settings_password_ok("letters-and-42", err, sizeof err));
	/* characters, not bytes: twelve kana and a digit pass, eleven do not */
	cr_assert(!settings_password_ok("あいうえおかきくけこ1", err, sizeof err));
	config_override_replace(NULL, NULL, 0);
}

Test(ui_settings, the_logo_is_judged_by_its_bytes)
{
	int w, h;
	cr_assert_str_eq(settings_logo_sniff(png2x1, sizeof png2x1, &w, &h), "image/png");
	cr_assert(w == 2 && h == 1);
	cr_assert_null(settings_logo_sniff(png2x1, sizeof png2x1 - 1, &w, &h), "a PNG cut short");
	cr_assert_str_eq(settings_logo_sniff(jpeg3x2, sizeof jpeg3x2, &w, &h), "image/jpeg");
	cr_assert(w == 3 && h == 2);
	const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
	cr_assert_null(settings_logo_sniff((const unsigned char *)svg, strlen(svg), &w, &h));
	const unsigned char gif[] = "GIF89a\x01\x00\x01\x00";
	cr_assert_null(settings_logo_sniff(gif, sizeof gif - 1, &w, &h));
	/* a chunk length pointing past the end */
	unsigned char bad[sizeof png2x1];
	memcpy(bad, png2x1, sizeof bad);
	bad[33] = 0x7f;
	cr_assert_null(settings_logo_sniff(bad, sizeof bad, &w, &h));
}
