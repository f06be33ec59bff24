/* Audit log: every import, export, write and every roster API read. Implemented in audit.c (roster API owner).
 * Rows: who (user id or api client id), what (action, target), when, from where (IP), result (status, count). */
#ifndef RS_AUDIT_H
#define RS_AUDIT_H
#include <json-c/json.h>
struct req;
/* r may be NULL (jobs, CLI): then actor/ip come from the arguments. detail is borrowed (may be NULL).
 * action e.g. "roster.import", "roster.read", "user.update"; target e.g. "/ims/oneroster/rostering/v1p2/users". */
void audit_record(struct req *r, const char *actor, const char *action, const char *target,
		  json_object *detail, int status, long result_count);
/* Rows of requests on kept connections (r->may_defer, outside a transaction: OneRoster reads) wait here, after
 * their answers, and go in one INSERT: audit_flush() writes them, which the server does once audit_due() (128
 * rows, or the oldest 50 ms old), when it has had nothing to do for 2 ms, and before it exits. audit_pending():
 * rows wait. */
int audit_pending(void);
int audit_due(void);
void audit_flush(void);
/* audit_flush sends its INSERT without waiting: this reads its result (the server, before it exits) */
void audit_collect(void);
#endif
