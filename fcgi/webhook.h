/* Admin webhooks: Slack-compatible JSON signed with HMAC-SHA256, sent by the worker to http(s) endpoints that
 * pass the SSRF guard (the resolved address, pinned for the request, must be public unless allowed). */
#ifndef RS_WEBHOOK_H
#define RS_WEBHOOK_H
#include <stddef.h>
#include <json-c/json.h>

enum { ADDR_PUBLIC = 0, ADDR_LOOPBACK = 1, ADDR_PRIVATE = 2 };
/* Class of a numeric IPv4/IPv6 address: loopback, private/link-local/reserved (incl. 0.0.0.0, CGNAT, ULA,
 * multicast, IPv4-mapped forms of those), or public. -1 when not an address. Pure. */
int webhook_addr_class(const char *ip);
/* Which classes config allows: webhook.allow_private = none (default) | loopback | all. */
int webhook_addr_allowed(int cls);
/* Check a URL for use: http/https, a host, no user info; resolve it and refuse when any address is not
 * allowed. On success fills the CURLOPT_RESOLVE entry "host:port:addr" that pins the checked address.
 * 0 ok, -1 with a catalog key in why (notify_err_url_*) and details in err. */
int webhook_url_check(const char *url, char *resolve, size_t rlen, const char **why, char *err, size_t errlen);
/* hex HMAC-SHA256(secret, ts "." body) */
void webhook_sign(const char *secret, const char *ts, const char *body, size_t len, char out[65]);
/* The Slack-compatible message for a notification kind and payload in lang. New object. */
json_object *webhook_message(const char *lang, const char *kind, const char *event, json_object *payload);
#endif
