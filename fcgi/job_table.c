/* Job kinds the worker knows: name, function, attempts before giving up. One line a kind. */
#include "jobs.h"

/* core */
int job_noop(struct job *j);
/* roster import */
int job_roster_import(struct job *j), job_roster_export(struct job *j);
/* roster api */
int job_audit_retention(struct job *j);
/* video */
int job_transcode(struct job *j);

const struct job_kind job_kinds[] = {
	{"noop", job_noop, 3},
	/* roster import */
	{"roster_import", job_roster_import, 3},
	{"roster_export", job_roster_export, 3},
	/* roster api */
	{"audit_retention", job_audit_retention, 3},
	/* video */
	{"transcode", job_transcode, 4},
};
const int njob_kinds = sizeof job_kinds / sizeof job_kinds[0];
