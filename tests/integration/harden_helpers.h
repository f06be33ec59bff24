/* Helpers for the hardening tests: the FastCGI workers of the test stack (pids, RSS) and the crash counter. */
#ifndef HARDEN_HELPERS_H
#define HARDEN_HELPERS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define MAX_WORKERS 64

/* pids of the children of the FastCGI master named in $STACK_DIR/run/fcgi.pid; returns how many */
static inline int fcgi_workers(long *pids, int max)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/run/fcgi.pid", t_env("STACK_DIR"));
	FILE *f = fopen(path, "r");
	if (!f) return 0;
	long master = 0;
	if (fscanf(f, "%ld", &master) != 1) master = 0;
	fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", master, master);
	f = fopen(path, "r");
	if (!f) return 0;
	int n = 0;
	while (n < max && fscanf(f, "%ld", &pids[n]) == 1) n++;
	fclose(f);
	return n;
}

/* VmRSS of a process in KiB, -1 when it is gone */
static inline long rss_kib(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f) return -1;
	long kib = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6)) { kib = strtol(line + 6, NULL, 10); break; }
	fclose(f);
	return kib;
}

/* rstream_worker_respawns_total{reason="crash"} from /metrics (0 when absent) */
static inline long crash_respawns(void)
{
	struct http_res r;
	if (http_do("GET", "/metrics", NULL, NULL, 0, &r) < 0) return -1;
	long n = 0;
	const char *p = r.body ? strstr(r.body, "rstream_worker_respawns_total{reason=\"crash\"}") : NULL;
	if (p) n = strtol(p + strlen("rstream_worker_respawns_total{reason=\"crash\"}"), NULL, 10);
	http_free(&r);
	return n;
}
#endif
