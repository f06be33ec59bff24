/* `make install DESTDIR=…` lays out an FHS tree (binary, read-only assets, config example, systemd units with
 * the real paths), the installed binary finds its SQL and templates from the installed config rather than the
 * checkout, and the units keep their hardening (systemd-analyze security). */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static char dest[64];

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
	snprintf(dest, sizeof dest, "/tmp/rs-ops-install-XXXXXX");
	cr_assert_not_null(mkdtemp(dest));
	char bin[4096];
	snprintf(bin, sizeof bin, "%s", t_env("RSTREAM_BIN"));
	/* the build directory the tests were built in: make install copies that binary, builds nothing */
	cr_assert_eq(sh("make -s -C '%s' install BUILD='%s' DESTDIR='%s/root' PREFIX=/usr >'%s/install.log' 2>&1",
			t_env("RSTREAM_ROOT"), dirname(bin), dest, dest), 0, "make install failed (see %s/install.log)", dest);
}

static void teardown(void) { sh("rm -rf '%s'", dest); }

TestSuite(ops_install, .init = setup, .fini = teardown, .timeout = 600);

static int exists(const char *rel, mode_t type)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/root/%s", dest, rel);
	return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

Test(ops_install, lays_out_an_fhs_tree_with_units_pointing_at_the_installed_binary)
{
	const char *files[] = {"usr/bin/rstream", "usr/share/rstream/templates/layout.html", "usr/share/rstream/sql/001_core.sql",
			       "usr/share/rstream/conf/i18n/ja.core.json", "usr/share/rstream/static/vendor/hls.min.js",
			       "usr/share/rstream/conf/nginx.conf.in", "usr/share/rstream/conf/apache/rstream.conf.in",
			       "etc/rstream/rstream.conf.example", "etc/rstream/rstream.conf", "etc/rstream/env.example",
			       "etc/systemd/system/rstream-fcgi.socket", "etc/systemd/system/rstream-fcgi.service",
			       "etc/systemd/system/rstream-worker@.service", "etc/systemd/system/rstream-backup.service",
			       "etc/systemd/system/rstream-backup.timer"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		cr_assert(exists(files[i], S_IFREG), "missing %s", files[i]);
	cr_assert_eq(sh("test -x '%s/root/usr/bin/rstream'", dest), 0);
	cr_assert_eq(sh("grep -qx 'root_dir = /usr/share/rstream' '%s/root/etc/rstream/rstream.conf'", dest), 0);
	cr_assert_eq(sh("grep -qx 'data_dir = /var/lib/rstream' '%s/root/etc/rstream/rstream.conf'", dest), 0);
	/* units: the installed path, no placeholder left, socket activation wired */
	cr_assert_neq(sh("grep -rq '@BINDIR@' '%s/root/etc/systemd/system'", dest), 0, "a placeholder is left in a unit");
	cr_assert_eq(sh("grep -qx 'ExecStart=/usr/bin/rstream fcgi' '%s/root/etc/systemd/system/rstream-fcgi.service'", dest), 0);
	cr_assert_eq(sh("grep -qx 'Requires=rstream-fcgi.socket' '%s/root/etc/systemd/system/rstream-fcgi.service'", dest), 0);
	cr_assert_eq(sh("grep -qx 'ListenStream=/run/rstream/fcgi.sock' '%s/root/etc/systemd/system/rstream-fcgi.socket'", dest), 0);
	/* a second install keeps the administrator's edited rstream.conf */
	cr_assert_eq(sh("echo '# edited by the admin' >>'%s/root/etc/rstream/rstream.conf'", dest), 0);
	char bin[4096];
	snprintf(bin, sizeof bin, "%s", t_env("RSTREAM_BIN"));
	cr_assert_eq(sh("make -s -C '%s' install BUILD='%s' DESTDIR='%s/root' PREFIX=/usr >>'%s/install.log' 2>&1",
			t_env("RSTREAM_ROOT"), dirname(bin), dest, dest), 0);
	cr_assert_eq(sh("grep -q 'edited by the admin' '%s/root/etc/rstream/rstream.conf'", dest), 0, "install overwrote rstream.conf");
}

Test(ops_install, the_installed_binary_finds_its_files_from_its_config_not_the_checkout)
{
	/* the installed config, with the staged share directory as root_dir; run from / with RSTREAM_ROOT unset */
	cr_assert_eq(sh("sed 's|^root_dir = .*|root_dir = %s/root/usr/share/rstream|; s|^data_dir = .*|data_dir = %s/data|' "
			"'%s/root/etc/rstream/rstream.conf' >'%s/test.conf'", dest, dest, dest, dest), 0);
	cr_assert_eq(sh("cd / && env -u RSTREAM_ROOT -u RSTREAM_DATA_DIR RSTREAM_CONFIG='%s/test.conf' '%s/root/usr/bin/rstream' migrate "
			">'%s/migrate.log' 2>&1", dest, dest, dest), 0, "the installed rstream could not migrate (see %s/migrate.log)", dest);
	/* the same with a root_dir that does not exist fails: the files really come from the config's root_dir */
	cr_assert_eq(sh("sed 's|^root_dir = .*|root_dir = %s/nowhere|' '%s/test.conf' >'%s/bad.conf'", dest, dest, dest), 0);
	cr_assert_neq(sh("cd / && env -u RSTREAM_ROOT RSTREAM_CONFIG='%s/bad.conf' '%s/root/usr/bin/rstream' migrate >/dev/null 2>&1",
			 dest, dest), 0);
}

Test(ops_install, units_are_hardened)
{
	if (sh("command -v systemd-analyze >/dev/null") != 0) cr_skip_test("systemd-analyze is not installed");
	const char *units[] = {"rstream-fcgi.service", "rstream-worker@1.service", "rstream-backup.service"};
	for (size_t i = 0; i < 3; i++) {
		/* exposure 0.0 (best) … 10.0; the units above score 1.6–1.7 ("OK"): fail if a change weakens them */
		cr_assert_eq(sh("systemd-analyze security --offline=yes --root='%s/root' --threshold=25 '%s' >'%s/security.log' 2>&1",
				dest, units[i], dest), 0, "%s exposure above 2.5 (see %s/security.log)", units[i], dest);
	}
}
