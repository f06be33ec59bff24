/* Data-subject requests: everything held about one person as a zip of JSON and CSV, and their erasure
 * (pseudonymisation, sql/091_protect_dsr.sql). Database and zip, no HTTP (h_dsr.c answers). */
#ifndef RS_DSR_H
#define RS_DSR_H
#include <stddef.h>
#include "zipwrite.h"

enum dsr_state { DSR_NO_USER = 0, DSR_LIVE = 1, DSR_ERASED = 2 };
int dsr_state(long uid);   /* enum dsr_state, -1 when the database could not be asked */
/* Write the zip (account.json, roster.json, enrollments.csv, viewing.csv, viewing_sessions.csv, notifications.csv,
 * audit.csv) to sink. Returns the number of files, or -1 with err. */
int dsr_export(long uid, zipw_sink sink, void *ud, char *err, size_t errlen);
/* Erase the person in one transaction; pseudonym gets the name they now have. 0 ok, DSR_NO_USER / DSR_ERASED when
 * there is nothing to erase (as enum values + 1: 1 no user, 3 already erased), -1 error. */
int dsr_erase(long uid, char pseudonym[32]);
#endif
