/* JSON-lines logging to stderr. One line per request (log_access), plus events. Never log secrets. */
#ifndef RS_LOG_H
#define RS_LOG_H
#include <json-c/json.h>
void log_init(const char *component);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)
void log_json(json_object *line);   /* adds ts, level default, component; takes ownership */
#endif
