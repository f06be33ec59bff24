/* An https public URL means TLS in front: Secure cookies and HSTS by default, still overridable. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include "config.h"

static int load(const char *url, const char *secure)
{
	char err[512];
	config_reset();
	setenv("RSTREAM_CONFIG", "/dev/null", 1);
	setenv("RSTREAM_SECRET", "0123456789abcdef0123456789abcdef", 1);
	setenv("RSTREAM_PUBLIC_URL", url, 1);
	if (secure) setenv("RSTREAM_SECURE_COOKIES", secure, 1); else unsetenv("RSTREAM_SECURE_COOKIES");
	cr_assert_eq(config_load(NULL, err, sizeof err), 0, "%s", err);
	return cfg.secure_cookies;
}

Test(ops_config, an_https_public_url_turns_on_secure_cookies)
{
	cr_assert_eq(load("https://rstream.example.ed.jp", NULL), 1);
	cr_assert_eq(load("http://127.0.0.1:8080", NULL), 0);
	cr_assert_eq(load("https://rstream.example.ed.jp", "0"), 0, "an explicit setting wins");
	cr_assert_eq(load("http://127.0.0.1:8080", "1"), 1);
}
