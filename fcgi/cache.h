/* hiredis wrapper: one connection per process, reconnect on failure.
 * Redis is a cache: callers must work (maybe slower) when it is down. */
#ifndef RS_CACHE_H
#define RS_CACHE_H
#include <hiredis/hiredis.h>

int cache_connect(const char *url);            /* 0 ok, -1 (logged; later calls retry) */
/* Run a command (redisCommand format). NULL when Redis is unreachable. Caller freeReplyObject. */
redisReply *cache_cmd(const char *fmt, ...);
/* The same with an argument vector (commands with a variable number of arguments, e.g. XACK). */
redisReply *cache_cmd_argv(int argc, const char **argv, const size_t *lens);
/* n commands in one round trip, each an argument vector of C strings (argc[i], argv[i]); out[i]
 * gets each reply in order (caller frees). 0, or -1 when Redis is unreachable (out all NULL). After a failed
 * attempt the whole batch is sent again on a new connection, so a command may run twice: for idempotent ones. */
int cache_pipeline_argv(int n, const int *argc, const char **const *argv, redisReply **out);
int cache_ok(void);                            /* PING answered */
void cache_close(void);
void cache_after_fork(void);                   /* forget the parent's connection in a child */
/* Fixed-window counter: INCR key, EXPIRE window on first hit. Returns the count, or -1 if Redis is down. */
long cache_incr_window(const char *key, int window_seconds, long *ttl_left);
#endif
