/* `rstream doctor` against the test stack: the checks that hold pass, and each problem it is given (an expiring
 * certificate, an unreachable database, a world-writable media directory, no backup) is named with a fix. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static char dir[64];

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/rs-ops-doctor-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	/* certificates made at test time: one valid for a year, one expiring in 3 days */
	cr_assert_eq(sh("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out good.pem -days 365 -subj /CN=localhost "
			">/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 -nodes -keyout k2.pem -out soon.pem -days 3 "
			"-subj /CN=localhost >/dev/null 2>&1", dir), 0);
	/* a backup repository with a fresh snapshot name (doctor only reads the names) */
	cr_assert_eq(sh("mkdir -p '%s/repo/snapshots/'$(date -u +%%Y%%m%%dT%%H%%M%%SZ) && umask 077 && openssl rand -hex 32 >'%s/key'", dir, dir), 0);
}

static void teardown(void) { sh("rm -rf '%s'", dir); }

TestSuite(ops_doctor, .init = setup, .fini = teardown, .timeout = 120);

static int doctor(const char *env, const char *args, const char *out)
{
	return sh("%s RSTREAM_BACKUP_DIR='%s/repo' RSTREAM_BACKUP_KEY_FILE='%s/key' '%s' doctor %s >'%s/%s' 2>&1",
		  env, dir, dir, t_env("RSTREAM_BIN"), args, dir, out);
}

static int has(const char *out, const char *pattern)
{
	return sh("grep -Eq '%s' '%s/%s'", pattern, dir, out) == 0;
}

Test(ops_doctor, a_healthy_host_passes)
{
	char a[256];
	snprintf(a, sizeof a, "--cert '%s/good.pem'", dir);
	int rc = doctor("", a, "good.out");
	char cat[256];
	snprintf(cat, sizeof cat, "cat '%s/good.out' >&2", dir);
	if (rc) { if (system(cat)) {} }
	cr_assert_eq(rc, 0, "doctor found problems on the test stack");
	const char *ok[] = {"^ok +database", "^ok +migrations +all applied", "^ok +redis", "^ok +ffmpeg", "^ok +disk", "^ok +clock",
			    "^ok +tls cert .*valid for 36[45] more days", "^ok +backup", "^0 problem"};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) cr_assert(has("good.out", ok[i]), "missing: %s", ok[i]);
}

Test(ops_doctor, names_each_problem_with_a_fix)
{
	char a[256];
	snprintf(a, sizeof a, "--cert '%s/soon.pem'", dir);
	cr_assert_eq(doctor("", a, "soon.out"), 1);
	cr_assert(has("soon.out", "^FAIL +tls cert .*expires in [23] day"));
	cr_assert(has("soon.out", "→ renew it"));

	/* PostgreSQL not there: a port nothing listens on */
	char env[256];
	snprintf(env, sizeof env, "DATABASE_URL=postgresql://rstream@127.0.0.1:%d/rstream?connect_timeout=3", atoi(t_env("HTTP_PORT")) + 14);
	cr_assert_eq(doctor(env, "", "nodb.out"), 1);
	cr_assert(has("nodb.out", "^FAIL +database +cannot connect"));
	cr_assert(has("nodb.out", "DATABASE_URL"));

	/* a world-writable media directory, and no backup at all */
	cr_assert_eq(sh("mkdir -p '%s/data' && chmod 0777 '%s/data'", dir, dir), 0);
	snprintf(env, sizeof env, "RSTREAM_DATA_DIR='%s/data'", dir);
	cr_assert_eq(sh("rm -rf '%s/repo/snapshots'/*", dir), 0);
	cr_assert_eq(doctor(env, "", "perm.out"), 1);
	cr_assert(has("perm.out", "^FAIL +media dir .*world-writable"));
	cr_assert(has("perm.out", "^FAIL +backup +no snapshot"));
}
