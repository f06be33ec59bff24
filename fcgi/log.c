/* JSON-lines logging to stderr: one object per line, easy to ship and grep. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *component = "rstream";

void log_init(const char *c) { component = c; }

static void stamp(char *out, size_t n)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

void log_json(json_object *line)
{
	char ts[40];
	stamp(ts, sizeof ts);
	json_object_object_add(line, "ts", json_object_new_string(ts));
	if (!json_object_object_get_ex(line, "level", NULL))
		json_object_object_add(line, "level", json_object_new_string("info"));
	json_object_object_add(line, "component", json_object_new_string(component));
	json_object_object_add(line, "pid", json_object_new_int(getpid()));
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(line);
}

void log_msg(const char *level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "level", json_object_new_string(level));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	log_json(o);
}
