/* /metrics counts what the FastCGI workers saw go wrong with Redis and PostgreSQL (rstream_redis_errors_total,
 * rstream_postgres_errors_total; alert rules in conf/prometheus/alerts.yml): each dependency is stopped briefly,
 * as the fault tests do, and its counter must have grown when it is back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

TestSuite(ops_faults, .timeout = 300);

static int stack(const char *cmd)
{
	char sh[1024];
	snprintf(sh, sizeof sh, "bash '%s/scripts/stack.sh' %s >>'%s/log/faults-stack.log' 2>&1 9>&-", t_env("RSTREAM_ROOT"),
		 cmd, t_env("STACK_DIR"));
	return system(sh);
}

/* the sum of every series of a counter family in one scrape (-1 when /metrics does not answer 200) */
static double counter_sum(const char *family)
{
	struct http_res r;
	if (http_do("GET", "/metrics", NULL, NULL, 0, &r) != 0) return -1;
	double sum = r.status == 200 ? 0 : -1;
	size_t fl = strlen(family);
	for (const char *p = r.body; sum >= 0 && p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, family, fl) && (p[fl] == '{' || p[fl] == ' ')) sum += strtod(strchr(p + fl, ' ') + 1, NULL);
	http_free(&r);
	return sum;
}

static int wait_ready(void)
{
	for (int i = 0; i < 600; i++) {
		struct http_res r;
		if (http_do("GET", "/readyz", NULL, NULL, 0, &r) == 0) {
			int st = r.status;
			http_free(&r);
			if (st == 200) return 200;
		}
		usleep(100 * 1000);
	}
	return 0;
}

Test(ops_faults, redis_going_away_is_counted)
{
	double before = counter_sum("rstream_redis_errors_total");
	cr_assert_geq(before, 0, "/metrics did not answer");
	cr_assert_eq(stack("stop-redis"), 0, "stack.sh stop-redis failed (see log/faults-stack.log)");
	/* each scrape PINGs Redis from whichever worker takes it: both workers find it gone */
	for (int i = 0; i < 6; i++) { counter_sum("rstream_redis_errors_total"); usleep(300 * 1000); }
	cr_assert_eq(stack("start-redis"), 0, "stack.sh start-redis failed");
	cr_assert_eq(wait_ready(), 200, "not ready again after Redis came back");
	double after = counter_sum("rstream_redis_errors_total");
	cr_assert_gt(after, before, "rstream_redis_errors_total stayed at %g with Redis stopped", before);
}

Test(ops_faults, postgres_going_away_is_counted)
{
	double before = counter_sum("rstream_postgres_errors_total");
	cr_assert_geq(before, 0, "/metrics did not answer");
	cr_assert_eq(stack("stop-pg"), 0, "stack.sh stop-pg failed (see log/faults-stack.log)");
	for (int i = 0; i < 6; i++) { counter_sum("rstream_postgres_errors_total"); usleep(300 * 1000); }
	cr_assert_eq(stack("start-pg"), 0, "stack.sh start-pg failed");
	cr_assert_eq(wait_ready(), 200, "not ready again after PostgreSQL came back");
	double after = counter_sum("rstream_postgres_errors_total");
	cr_assert_gt(after, before, "rstream_postgres_errors_total stayed at %g with PostgreSQL stopped", before);
}

Test(ops_faults, a_failing_statement_is_counted_by_its_sqlstate_class)
{
	/* the same e-mail twice: the second insert hits the unique index (class 23), which the page reports (422) */
	char *tok = t_admin_token();
	cr_assert_not_null(tok);
	char email[96], body[256], hdr[1200];
	snprintf(email, sizeof email, "ops-faults-%d-%ld@ops-faults.example", getpid(), (long)time(NULL));
	snprintf(body, sizeof body, "email=%s&name=Ops&role=viewer&password=Ops-Faults-Pass-1234", email);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", tok);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/admin/users", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "first create: %d", r.status);
	http_free(&r);
	const char *series = "rstream_postgres_errors_total{kind=\"query\",class=\"23\"}";
	double before = counter_sum(series);
	cr_assert_eq(http_do("POST", "/admin/users", hdr, body, strlen(body), &r), 0);
	int st = r.status;
	http_free(&r);
	cr_assert_eq(st, 422);
	cr_assert_gt(counter_sum(series), before);
}
