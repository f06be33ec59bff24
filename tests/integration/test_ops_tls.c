/* The TLS example (scripts/ops_nginx_tls.sh renders conf/nginx.conf.in for a host) in front of the test stack on
 * loopback, with a self-signed certificate made at test time: HTTPS over HTTP/2, HSTS on pages, static files and
 * HLS, old TLS refused, plain HTTP redirected, signed HLS served and a forged link refused. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "video_sign.h"

#define VID "00000000000a75e1"
static char dir[64];
static int tls_port, http_port;

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

static void nginx_stop(void)
{
	sh("nginx -p '%s/ng' -c '%s/nginx.conf' -e '%s/ng/log/error.log' -s quit 2>/dev/null; sleep 0.5; rm -rf '%s'", dir, dir, dir, dir);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/rs-ops-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	tls_port = atoi(t_env("HTTP_PORT")) + 15;
	http_port = tls_port + 1;
	cr_assert_eq(sh("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 30 -subj /CN=localhost "
			"-addext subjectAltName=DNS:localhost >/dev/null 2>&1 && mkdir -p ng/run ng/log ng/nginx/tmp", dir), 0);
	cr_assert_eq(sh("TLS_CERT='%s/cert.pem' TLS_KEY='%s/key.pem' FCGI_SOCKET='%s/run/fcgi.sock' DATA_DIR='%s' HLS_SECRET='%s' "
			"RSTREAM_ROOT='%s' NGINX_DIR='%s/ng' NGINX_USER=root TLS_PORT=%d HTTP_PORT=%d LISTEN_ADDR=127.0.0.1 "
			"bash '%s/scripts/ops_nginx_tls.sh' >'%s/nginx.conf'",
			dir, dir, t_env("STACK_DIR"), t_env("RSTREAM_DATA_DIR"), t_env("RSTREAM_HLS_SECRET"), t_env("RSTREAM_ROOT"), dir,
			tls_port, http_port, t_env("RSTREAM_ROOT"), dir), 0, "render failed");
	cr_assert_eq(sh("nginx -p '%s/ng' -c '%s/nginx.conf' -e '%s/ng/log/error.log' 2>'%s/start.log'", dir, dir, dir, dir), 0,
		     "nginx with the TLS config did not start (see %s/start.log)", dir);
	/* an HLS file to fetch through a signed link */
	char p[4096];
	snprintf(p, sizeof p, "%s/hls/" VID, t_env("RSTREAM_DATA_DIR"));
	cr_assert_eq(sh("mkdir -p '%s' && printf '#EXTM3U\\n' >'%s/master.m3u8'", p, p), 0);
}

TestSuite(ops_tls, .init = setup, .fini = nginx_stop, .timeout = 120);

/* curl over TLS to localhost (the certificate's name) on our port; prints "code http_version" and headers to files */
static int get(const char *path, const char *extra, char *code, size_t n)
{
	char out[256];
	snprintf(out, sizeof out, "%s/code", dir);
	int rc = sh("curl -s --max-time 10 --cacert '%s/cert.pem' --resolve localhost:%d:127.0.0.1 %s -D '%s/headers' -o '%s/body' "
		    "-w '%%{http_code} %%{http_version}' 'https://localhost:%d%s' >'%s'", dir, tls_port, extra ? extra : "", dir, dir,
		    tls_port, path, out);
	FILE *f = fopen(out, "r");
	code[0] = 0;
	if (f) { if (!fgets(code, (int)n, f)) code[0] = 0; fclose(f); }
	return rc;
}

static int header_has(const char *pattern)
{
	return sh("grep -iqE '%s' '%s/headers'", pattern, dir) == 0;
}

Test(ops_tls, serves_pages_static_and_signed_hls_over_http2_with_hsts)
{
	char code[64];
	cr_assert_eq(get("/healthz", "--http2", code, sizeof code), 0);
	cr_assert_str_eq(code, "200 2", "healthz over TLS: %s", code);
	cr_assert(header_has("^strict-transport-security: max-age=31536000; includeSubDomains"));
	cr_assert_eq(sh("grep -ic '^strict-transport-security' '%s/headers' | grep -qx 1", dir), 0, "exactly one HSTS header");
	cr_assert_eq(get("/login", "--http2", code, sizeof code), 0);
	cr_assert_str_eq(code, "200 2");
	cr_assert(header_has("^strict-transport-security:"), "a page carries HSTS");
	cr_assert_eq(get("/static/css/app.css", NULL, code, sizeof code), 0);
	cr_assert(!strncmp(code, "200", 3), "static: %s", code);
	cr_assert(header_has("^strict-transport-security:"), "a static file carries HSTS (its location sets its own headers)");

	char url[512];
	cr_assert_eq(video_sign_url(t_env("RSTREAM_HLS_SECRET"), VID, "master.m3u8", (long)time(NULL) + 600, url, sizeof url), 0);
	cr_assert_eq(get(url, NULL, code, sizeof code), 0);
	cr_assert(!strncmp(code, "200", 3), "signed HLS over TLS: %s", code);
	cr_assert(header_has("^strict-transport-security:"));
	char *forged = strdup(url);
	char *tok = strstr(forged, "/hls/") + 5;
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	cr_assert_eq(get(forged, NULL, code, sizeof code), 0);
	cr_assert(!strncmp(code, "403", 3) || !strncmp(code, "404", 3) || !strncmp(code, "410", 3), "forged link: %s", code);
	free(forged);
}

Test(ops_tls, refuses_old_tls_and_redirects_plain_http)
{
	char code[64];
	cr_assert_neq(get("/healthz", "--tlsv1.1 --tls-max 1.1", code, sizeof code), 0, "TLS 1.1 must be refused");
	cr_assert_eq(get("/healthz", "--tlsv1.3", code, sizeof code), 0, "TLS 1.3 works");
	cr_assert_eq(sh("curl -s --max-time 10 -o /dev/null -w '%%{http_code} %%{redirect_url}' http://127.0.0.1:%d/login "
			"| grep -qx '301 https://127.0.0.1:%d/login'", http_port, tls_port), 0, "plain HTTP redirects to HTTPS");
}
