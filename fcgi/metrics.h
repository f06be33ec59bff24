/* Prometheus metrics in shared memory, so every pre-forked worker adds to the same counters. */
#ifndef RS_METRICS_H
#define RS_METRICS_H
#include "arena.h"
int metrics_init(void);   /* before fork: maps the shared segment */
void metrics_request(const char *method, const char *route, int status, double seconds);
void metrics_inc(const char *name, const char *labels, double by);   /* e.g. ("rstream_jobs_total", "kind=\"x\",state=\"done\"", 1) */
void metrics_render(buf *out);
#endif
