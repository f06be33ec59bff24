#include <criterion/criterion.h>
#include <stdlib.h>
#include "config.h"

Test(config, parses_keys_values_comments_and_quotes)
{
	char err[256];
	config_reset();
	cr_assert_eq(config_parse_text("# c\nworkers = 3\nname = \"a # b\"\nx = 5   # trailing\nempty =\n", err, sizeof err), 0);
	cr_assert_eq(config_get_int("workers", 0), 3);
	cr_assert_str_eq(config_get("name", NULL), "a # b");
	cr_assert_eq(config_get_int("x", 0), 5);
	cr_assert_str_eq(config_get("empty", "d"), "");
	cr_assert_str_eq(config_get("missing", "d"), "d");
}

Test(config, rejects_lines_without_equals_and_bad_keys)
{
	char err[256];
	config_reset();
	cr_assert_eq(config_parse_text("workers 3\n", err, sizeof err), -1);
	cr_assert(strstr(err, "line 1") != NULL);
	cr_assert_eq(config_parse_text("bad key! = 1\n", err, sizeof err), -1);
}

Test(config, environment_overrides_and_validates)
{
	char err[256];
	config_reset();
	setenv("RSTREAM_CONFIG", "/nonexistent/rstream.conf", 1);
	cr_assert_eq(config_load(NULL, err, sizeof err), -1, "a named but missing config file is an error");
	unsetenv("RSTREAM_CONFIG");
	setenv("RSTREAM_ROOT", "/tmp", 1);
	setenv("RSTREAM_SECRET", "short", 1);
	config_reset();
	cr_assert_eq(config_load(NULL, err, sizeof err), -1);
	cr_assert(strstr(err, "RSTREAM_SECRET") != NULL);
	setenv("RSTREAM_SECRET", "0123456789abcdef0123456789abcdef", 1);
	setenv("RSTREAM_WORKERS", "many", 1);
	config_reset();
	cr_assert_eq(config_load(NULL, err, sizeof err), -1);
	cr_assert(strstr(err, "workers") != NULL);
	setenv("RSTREAM_WORKERS", "4", 1);
	setenv("DATABASE_URL", "postgresql://x@127.0.0.1:1/db", 1);
	config_reset();
	cr_assert_eq(config_load(NULL, err, sizeof err), 0, "%s", err);
	cr_assert_eq(cfg.workers, 4);
	cr_assert_str_eq(cfg.database_url, "postgresql://x@127.0.0.1:1/db");
}
