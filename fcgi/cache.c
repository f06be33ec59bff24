/* hiredis wrapper: one connection per process; a failed command drops the connection and the next
 * call reconnects. Redis is optional at runtime: callers treat NULL as "cache unavailable". */
#include "cache.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "log.h"
#include "metrics.h"

static redisContext *ctx;
static char host[256] = "127.0.0.1";
static int port = 6379, dbnum;
static time_t next_try;

static int parse_url(const char *url)
{
	/* redis://host:port/db */
	if (strncmp(url, "redis://", 8)) return -1;
	const char *p = url + 8;
	const char *at = strchr(p, '@');
	if (at) p = at + 1;
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof host) return -1;
	memcpy(host, p, hl);
	host[hl] = 0;
	p += hl;
	if (*p == ':') port = (int)strtol(p + 1, (char **)&p, 10);
	if (*p == '/') dbnum = (int)strtol(p + 1, NULL, 10);
	return 0;
}

static int reconnect(void)
{
	if (ctx) { redisFree(ctx); ctx = NULL; }
	if (time(NULL) < next_try) return -1;
	struct timeval tv = {1, 0};
	ctx = redisConnectWithTimeout(host, port, tv);
	if (!ctx || ctx->err) {
		if (ctx) { redisFree(ctx); ctx = NULL; }
		metrics_inc("rstream_redis_errors_total", "kind=\"connect\"", 1);
		next_try = time(NULL) + 1;  /* don't hammer a dead Redis on every request */
		return -1;
	}
	redisSetTimeout(ctx, tv);
	if (dbnum) {
		redisReply *r = redisCommand(ctx, "SELECT %d", dbnum);
		if (r) freeReplyObject(r);
	}
	return 0;
}

int cache_connect(const char *url)
{
	if (parse_url(url) < 0) { log_error("bad REDIS_URL"); return -1; }
	next_try = 0;
	if (reconnect() < 0) { log_warn("redis unreachable at %s:%d", host, port); return -1; }
	return 0;
}

/* After a failed command: the connection is dropped; 1 when the command may go again on a new one. A dropped
 * connection (Redis restarted) may; one that timed out may not: Redis is alive but not answering (a disk stall
 * under its AOF, a long command), and asking again would hold the request another second. Redis is then left
 * alone for a second, as a dead one is: a frozen Redis costs a worker one timeout a second, not two per command. */
static int drop_after_failure(void)
{
	int timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
	redisFree(ctx);
	ctx = NULL;
	if (!timed_out) return 1;
	metrics_inc("rstream_redis_errors_total", "kind=\"timeout\"", 1);
	next_try = time(NULL) + 1;
	return 0;
}

/* for /metrics: a command that got no answer counts as "command", an error reply (OOM, WRONGTYPE) as "reply" */
static redisReply *counted(redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR) metrics_inc("rstream_redis_errors_total", "kind=\"reply\"", 1);
	return r;
}

redisReply *cache_cmd(const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ctx && reconnect() < 0) return NULL;
		va_list ap;
		va_start(ap, fmt);
		redisReply *r = redisvCommand(ctx, fmt, ap);
		va_end(ap);
		if (r) return counted(r);
		if (!drop_after_failure()) break;
	}
	metrics_inc("rstream_redis_errors_total", "kind=\"command\"", 1);
	return NULL;
}

redisReply *cache_cmd_argv(int argc, const char **argv, const size_t *lens)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ctx && reconnect() < 0) return NULL;
		redisReply *r = redisCommandArgv(ctx, argc, argv, lens);
		if (r) return counted(r);
		if (!drop_after_failure()) break;
	}
	metrics_inc("rstream_redis_errors_total", "kind=\"command\"", 1);
	return NULL;
}

int cache_pipeline_argv(int n, const int *argc, const char **const *argv, redisReply **out)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(out, 0, sizeof *out * (size_t)n);
		if (!ctx && reconnect() < 0) return -1;
		int i, ok = 1;
		for (i = 0; i < n && ok; i++) ok = redisAppendCommandArgv(ctx, argc[i], argv[i], NULL) == REDIS_OK;
		for (i = 0; i < n && ok; i++) {
			void *r = NULL;
			ok = redisGetReply(ctx, &r) == REDIS_OK && r;
			out[i] = ok ? counted(r) : NULL;
		}
		if (ok) return 0;
		int again = drop_after_failure();   /* first: it reads errno */
		for (i = 0; i < n; i++) if (out[i]) freeReplyObject(out[i]);
		if (!again) break;
	}
	memset(out, 0, sizeof *out * (size_t)n);
	metrics_inc("rstream_redis_errors_total", "kind=\"command\"", 1);
	return -1;
}

int cache_ok(void)
{
	redisReply *r = cache_cmd("PING");
	int ok = r && r->type == REDIS_REPLY_STATUS;
	if (r) freeReplyObject(r);
	return ok;
}

void cache_close(void)
{
	if (ctx) redisFree(ctx);
	ctx = NULL;
}

long cache_incr_window(const char *key, int window_seconds, long *ttl_left)
{
	redisReply *r = cache_cmd("INCR %s", key);
	if (!r || r->type != REDIS_REPLY_INTEGER) { if (r) freeReplyObject(r); return -1; }
	long n = (long)r->integer;
	freeReplyObject(r);
	if (n == 1) {
		r = cache_cmd("EXPIRE %s %d", key, window_seconds);
		if (r) freeReplyObject(r);
	}
	if (ttl_left) {
		r = cache_cmd("TTL %s", key);
		*ttl_left = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (long)r->integer : window_seconds;
		if (r) freeReplyObject(r);
	}
	return n;
}

void cache_after_fork(void)
{
	if (ctx) { close(ctx->fd); ctx->fd = -1; redisFree(ctx); }
	ctx = NULL;
	next_try = 0;
}
