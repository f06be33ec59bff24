/* Review findings in the core modules: each test fails on the code before its fix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "metrics.h"
#include "netaddr.h"

/* REQUEST_METHOD is whatever token the client sent; nginx passes unknown ones on. Each distinct one used to take
 * two of the 1024 shared series for good, so a few hundred junk requests left no room for real routes. */
Test(review_metrics, junk_methods_cannot_fill_the_series_table)
{
	cr_assert_eq(metrics_init(), 0);
	for (int i = 0; i < 1500; i++) {
		char m[16];
		snprintf(m, sizeof m, "JUNK%d", i);
		metrics_request(m, "unmatched", 404, 0.001);
	}
	metrics_request("GET", "/healthz", 200, 0.002);
	buf b = {0};
	metrics_render(&b);
	cr_assert_not_null(b.p);
	cr_assert(strstr(b.p, "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
		  "the GET /healthz series is missing");
	cr_assert_null(strstr(b.p, "JUNK"), "client-chosen methods became label values");
	buf_free(&b);
}

/* Behind a trusted proxy, a client sent an X-Forwarded-For longer than the copy buffer: the proxy's own entry (the real
 * client) was cut off the end, and the client's last chosen address became "the client IP" (allowlists, rate limits). */
Test(review_netaddr, an_over_long_forwarded_for_cannot_push_out_the_proxys_entry)
{
	char xff[2048], out[64];
	size_t n = 1023 - strlen("6.6.6.6") - 2;
	memset(xff, 'x', n);
	xff[n] = 0;
	strcat(xff, ", 6.6.6.6");           /* exactly where a 1023-byte copy ends */
	strcat(xff, ", 203.0.113.7");       /* appended by the trusted proxy: the real client */
	client_ip_resolve("10.0.0.2", xff, "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "203.0.113.7");
	/* trusted hops at the end are still skipped */
	strcat(xff, ", 10.0.0.9");
	client_ip_resolve("10.0.0.2", xff, "10.0.0.0/8", out, sizeof out);
	cr_assert_str_eq(out, "203.0.113.7");
}
