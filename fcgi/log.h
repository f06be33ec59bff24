/* JSON-lines logging in three streams: access (one line per request), error (events and errors) and security
 * (sign-ins, lockouts, denials). With log.dir set each stream is a file under it, opened O_APPEND by every
 * process and reopened on SIGHUP (log_reopen); without it every line goes to stderr (journald). Never log secrets. */
#ifndef RS_LOG_H
#define RS_LOG_H
#include <stddef.h>
#include <json-c/json.h>

enum log_stream { LOG_ERROR, LOG_ACCESS, LOG_SECURITY, LOG_NSTREAMS };

void log_init(const char *component);
/* Open access.log, error.log and security.log under dir (created if missing); NULL or "" = stderr.
 * 0 ok, -1 with err set (the streams stay as they were). */
int log_open(const char *dir, char *err, size_t errlen);
/* After a rotation: open the same paths again and swap them in (dup2, so the descriptors keep their numbers).
 * A file that cannot be opened keeps its old descriptor; returns -1 then. */
int log_reopen(void);
const char *log_dir(void);   /* NULL when logging to stderr */
/* Buffer the access stream (a FastCGI worker): lines are written at most a second late, at log_flush, or when
 * the buffer fills. log_flush before going idle and before exit. */
void log_buffer_access(int on);
void log_flush(void);

void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)
void log_json(json_object *line);   /* error stream; adds ts, level default, component, pid; takes ownership */
void log_to(enum log_stream s, json_object *line);   /* the same, into stream s */
/* An access line from n fields without a json-c object (every request writes one): v is a string, or JSON text
 * as it is when raw (numbers); NULL values are left out. ts, level, component and pid are added as by log_to. */
struct log_kv { const char *k, *v; int raw; };
void log_access_kv(const struct log_kv *kv, int n);

/* A security event (login_failed, login_locked, permission_denied, client_denied, mfa_failed, …) on the security
 * stream with the request's id, traceparent, client address, user and path. fields (may be NULL, owned) adds
 * what the event needs; never a password, token or code. r may be NULL outside a request. */
struct req;
void log_security(struct req *r, const char *event, json_object *fields);

/* The query string with the values of secret-bearing parameters (token=, code=, state=, password=, …) replaced
 * by "REDACTED"; out is always NUL-terminated, cut at n - 1 bytes. */
void log_redact_query(const char *qs, char *out, size_t n);
#endif
