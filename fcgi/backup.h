/* Backups: `rstream backup` (database dump + media, encrypted, incremental, retention) and `rstream restore`
 * (every checksum verified before anything is touched). Layout and choices in docs/operations.md#backups. */
#ifndef RS_BACKUP_H
#define RS_BACKUP_H
#include <time.h>

int backup_main(int argc, char **argv);    /* rstream backup [run|list|verify [S]|prune] */
int restore_main(int argc, char **argv);   /* rstream restore [SNAPSHOT|latest] [--force] */

/* Retention: which of n snapshot times (any order) to keep at `now`: the newest of each UTC day within
 * `daily` days, of each ISO week within `weekly` days, of each month within `monthly` days, and always the
 * newest of all. keep[i] is set to 1/0. Pure, for the unit tests. */
void backup_retention_select(const time_t *t, int n, time_t now, int daily, int weekly, int monthly, int *keep);
/* "20261202T040512Z" <-> time; -1 if the name is not a snapshot name */
time_t backup_stamp_parse(const char *s);
/* A relative path from a manifest that is safe to create under the data directory (no "..", no leading "/",
 * no empty or "." components, no control characters). */
int backup_path_ok(const char *p);
#endif
