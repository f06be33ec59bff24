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
/* notify: fan-out and delivery; transcode and roster jobs wrapped so their outcome notifies (notify.c) */
int job_notify_fanout(struct job *j), job_notify_mail(struct job *j), job_notify_webhook(struct job *j);
int job_transcode_notify(struct job *j), job_roster_import_notify(struct job *j), job_roster_export_notify(struct job *j);
/* datasets: scheduled and manual quality checks (dataset.c) */
int job_dataset_check(struct job *j);

const struct job_kind job_kinds[] = {
	{"noop", job_noop, 3},
	/* roster import */
	{"roster_import", job_roster_import_notify, 3},
	{"roster_export", job_roster_export_notify, 3},
	/* roster api */
	{"audit_retention", job_audit_retention, 3},
	/* video */
	{"transcode", job_transcode_notify, 4},
	/* notify */
	{"notify_fanout", job_notify_fanout, 5},
	{"notify_mail", job_notify_mail, 1},
	{"notify_webhook", job_notify_webhook, 1},
	/* datasets */
	{"dataset_check", job_dataset_check, 2},
};
const int njob_kinds = sizeof job_kinds / sizeof job_kinds[0];
