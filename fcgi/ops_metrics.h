/* What an operator alerts on, computed at scrape time (GET /metrics): job queue age per kind, the last roster
 * import's findings, database and Redis reachability, media disk space, heartbeat stream backlog, backup age. */
#ifndef RS_OPS_METRICS_H
#define RS_OPS_METRICS_H
#include "arena.h"
void ops_metrics_render(buf *out);
#endif
