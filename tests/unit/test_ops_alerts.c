/* The shipped monitoring: conf/prometheus/alerts.yml is valid (`promtool check rules`), fires as its tests say
 * (`promtool test rules`), names only metrics the code exports, and the Grafana dashboard's queries parse. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *root(void) { return getenv("RSTREAM_ROOT") ? getenv("RSTREAM_ROOT") : "."; }

Test(ops_alerts, promtool_accepts_the_rules_and_their_tests_pass)
{
	cr_assert_eq(sh("command -v promtool >/dev/null"), 0, "promtool is missing: apt-get install prometheus (scripts/deps.sh)");
	cr_assert_eq(sh("promtool check rules '%s/conf/prometheus/alerts.yml' >/dev/null", root()), 0, "promtool check rules failed");
	cr_assert_eq(sh("cd '%s/conf/prometheus' && promtool test rules alerts_test.yml", root()), 0, "promtool test rules failed");
}

Test(ops_alerts, every_rstream_metric_in_the_rules_and_dashboard_is_exported_by_the_code)
{
	/* rstream_* names used by the rules and the dashboard, each must appear in the C sources */
	cr_assert_eq(sh("cd '%s' && names=$(grep -ohE 'rstream_[a-z_]+' conf/prometheus/alerts.yml conf/grafana/rstream-dashboard.json | "
			"grep -v -e '^rstream_blackbox' -e '^rstream-' | sort -u) && [ -n \"$names\" ] && for n in $names; do "
			"grep -q \"$n\" fcgi/*.c || { echo \"not exported: $n\" >&2; exit 1; }; done", root()), 0);
}

Test(ops_alerts, the_dashboard_queries_parse)
{
	cr_assert_eq(sh("command -v promtool >/dev/null"), 0);
	/* each panel query as a recording rule (JSON is YAML), checked by promtool */
	cr_assert_eq(sh("cd '%s' && t=$(mktemp) && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
			"r=[{\"record\":\"dash:q%%d\" %% i,\"expr\":t[\"expr\"]} for i,t in enumerate(x for p in d[\"panels\"] for x in p[\"targets\"])]; "
			"assert len(r) >= 10; print(json.dumps({\"groups\":[{\"name\":\"dashboard\",\"rules\":r}]}))' "
			"conf/grafana/rstream-dashboard.json >\"$t\" && promtool check rules \"$t\" >/dev/null; rc=$?; rm -f \"$t\"; exit $rc", root()), 0);
}
