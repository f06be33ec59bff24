/* Log streams: credentials in a query string are redacted before it is logged; lines land whole in the files
 * under log.dir and a reopen after a rename writes to the new file; a reload keeps a running configuration
 * when the new file does not validate. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "log.h"

static const char *redact(const char *qs)
{
	static char out[512];
	log_redact_query(qs, out, sizeof out);
	return out;
}

Test(ops_log, redacts_the_values_of_secret_parameters_only)
{
	cr_assert_str_eq(redact("code=abc&state=xyz"), "code=REDACTED&state=REDACTED");
	cr_assert_str_eq(redact("lang=ja&token=s3cr3t&page=2"), "lang=ja&token=REDACTED&page=2");
	cr_assert_str_eq(redact("access_token=a;id_token=b;client_secret=c"), "access_token=REDACTED;id_token=REDACTED;client_secret=REDACTED");
	cr_assert_str_eq(redact("PassWord=x&md5=y&expires=1700000000"), "PassWord=REDACTED&md5=REDACTED&expires=1700000000");
	cr_assert_str_eq(redact("q=token&code"), "q=token&code", "a name without a value has nothing to hide");
	cr_assert_str_eq(redact(""), "");
	cr_assert_str_eq(redact("a=1&&b=2"), "a=1&&b=2");
}

Test(ops_log, cuts_a_long_query_without_overflowing)
{
	char out[8];
	log_redact_query("token=abcdef&x=1", out, sizeof out);
	cr_assert_eq(strlen(out), 7);
	cr_assert_str_eq(out, "token=R");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) return NULL;
	static char b[65536];
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = 0;
	return b;
}

Test(ops_log, writes_each_stream_to_its_file_and_reopens_after_a_rename)
{
	char dir[] = "/tmp/rs-unit-log-XXXXXX", err[256], p[128], q[128];
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(log_open(dir, err, sizeof err), 0, "%s", err);
	log_error("first %d", 1);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "account", json_object_new_string("a@example.jp"));
	log_security(NULL, "login_failed", o);
	snprintf(p, sizeof p, "%s/error.log", dir);
	cr_assert_not_null(strstr(slurp(p), "\"msg\":\"first 1\""));
	snprintf(p, sizeof p, "%s/security.log", dir);
	char *sec = slurp(p);
	cr_assert_not_null(strstr(sec, "\"event\":\"login_failed\""));
	cr_assert_not_null(strstr(sec, "\"level\":\"warn\""));
	cr_assert_eq(sec[strlen(sec) - 1], '\n');

	snprintf(p, sizeof p, "%s/error.log", dir);
	snprintf(q, sizeof q, "%s/error.log.1", dir);
	cr_assert_eq(rename(p, q), 0);
	log_error("into the renamed file");
	cr_assert_eq(log_reopen(), 0);
	log_error("into the new file");
	cr_assert_not_null(strstr(slurp(q), "into the renamed file"));
	cr_assert_null(strstr(slurp(q), "into the new file"));
	cr_assert_not_null(strstr(slurp(p), "into the new file"));
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* the request line is written without json-c: it must parse as the same JSON, escapes and all */
Test(ops_log, access_lines_are_json_with_every_field)
{
	char dir[] = "/tmp/rs-unit-log-XXXXXX", err[256], p[128];
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(log_open(dir, err, sizeof err), 0, "%s", err);
	const char *odd = "a\"b\\c\n\t\x01/ 日本";
	const struct log_kv kv[] = {{"msg", "request", 0}, {"path", odd, 0}, {"user", NULL, 0}, {"status", "200", 1},
				    {"duration_ms", "1.25", 1}};
	log_access_kv(kv, 5);
	snprintf(p, sizeof p, "%s/access.log", dir);
	char *text = slurp(p);
	cr_assert_eq(text[strlen(text) - 1], '\n');
	json_object *o = json_tokener_parse(text);
	cr_assert_not_null(o, "%s", text);
	json_object *v;
	cr_assert(json_object_object_get_ex(o, "path", &v));
	cr_assert_str_eq(json_object_get_string(v), odd);
	cr_assert(json_object_object_get_ex(o, "status", &v));
	cr_assert_eq(json_object_get_type(v), json_type_int);
	cr_assert_eq(json_object_get_int(v), 200);
	cr_assert(json_object_object_get_ex(o, "duration_ms", &v));
	cr_assert_eq(json_object_get_type(v), json_type_double);
	cr_assert(!json_object_object_get_ex(o, "user", NULL), "a NULL value is left out");
	cr_assert(json_object_object_get_ex(o, "pid", &v));
	cr_assert_eq(json_object_get_int(v), getpid());
	cr_assert(json_object_object_get_ex(o, "ts", NULL));
	cr_assert(json_object_object_get_ex(o, "level", NULL));
	json_object_put(o);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(ops_log, a_reload_keeps_the_running_configuration_when_the_new_file_is_bad)
{
	char path[] = "/tmp/rs-unit-conf-XXXXXX", err[512];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "body_limit = 4096\n", 18), 18);
	close(fd);
	config_reset();
	setenv("RSTREAM_CONFIG", path, 1);
	setenv("RSTREAM_SECRET", "0123456789abcdef0123456789abcdef", 1);
	cr_assert_eq(config_load(NULL, err, sizeof err), 0, "%s", err);
	cr_assert_eq(cfg.body_limit, 4096);

	FILE *f = fopen(path, "w");
	fputs("body_limit = 8192\nsession_ttl = 600\n", f);
	fclose(f);
	cr_assert_eq(config_reload(err, sizeof err), 0, "%s", err);
	cr_assert_eq(cfg.body_limit, 8192);
	cr_assert_str_eq(config_get("session_ttl", ""), "600");

	f = fopen(path, "w");
	fputs("body_limit = lots\nsession_ttl = 900\n", f);
	fclose(f);
	cr_assert_eq(config_reload(err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "body_limit"), "%s", err);
	cr_assert_eq(cfg.body_limit, 8192, "the running value stays");
	cr_assert_str_eq(config_get("session_ttl", ""), "600", "no half-applied file");
	cr_assert_not_null(cfg.secret);
	unlink(path);
	config_reset();
}
