/* Reads that tolerate a little lag (routes flagged RF_REPLICA: roster REST reads, catalog lists, stats pages) go to
 * a streaming replica named by DATABASE_READ_URL (config database_read_url); everything else reads the primary. */
#ifndef RS_DB_REPLICA_H
#define RS_DB_REPLICA_H
#include <libpq-fe.h>

/* Start of a request on a replica-tolerant route (safe method). identity: who asked ("u:<user id>" or a hash of
 * the bearer credential; NULL anonymous), for read-your-writes. Until db_replica_end every db_exec/db_conn may
 * answer from the replica. */
void db_replica_begin(const char *identity);
/* a read replica is configured (database_read_url) */
int db_replica_configured(void);
void db_replica_end(void);
/* A write request by identity finished: its reads go to the primary for the next few seconds (host-wide, Redis). */
void db_replica_wrote(const char *identity);
/* For db.c: the replica connection to read from now, or NULL (no replica, outside a read scope, recent write,
 * replica down or lagging: each fallback counted in /metrics). */
PGconn *db_replica_pick(void);
/* For db.c: a statement on the replica failed; the caller runs it on the primary. */
void db_replica_failed(void);
void db_replica_after_fork(void);
void db_replica_close(void);
#endif
