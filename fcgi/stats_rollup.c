/* The worker's share of statistics: recompute what the heartbeat flush marked dirty (stats_refresh in
 * sql/060_stats.sql), refresh the platform KPIs, and measure HLS storage on disk now and then. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "config.h"
#include "db.h"
#include "learn.h"
#include "log.h"
#include "stats.h"

#define REFRESH_BATCH 500
#define REFRESH_GAP 10   /* wait ten times what a refresh took: rollups cost at most ~9 % of the worker */

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long long hls_bytes;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path; (void)f;
	if (flag == FTW_F) hls_bytes += (long long)st->st_blocks * 512;   /* what the disk holds, not the file lengths */
	return 0;
}

/* Sources: the bytes the uploads kept (videos.source_size); HLS: the ladder on disk under data_dir/hls. */
static void storage_refresh(void)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/hls", cfg.data_dir ? cfg.data_dir : "var/data");
	hls_bytes = 0;
	struct stat st;
	if (stat(dir, &st) == 0 && nftw(dir, add_size, 16, FTW_PHYS) != 0) log_warn("stats: walking %s failed", dir);
	char hb[32];
	snprintf(hb, sizeof hb, "%lld", hls_bytes);
	if (DB_CMD("INSERT INTO stats_kpi_snapshot (key, data, computed_at) "
		   "SELECT 'storage', jsonb_build_object('source_bytes', COALESCE(sum(source_size), 0), 'hls_bytes', $1::bigint, "
		   "'videos', count(*)), now() FROM videos "
		   "ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, computed_at = EXCLUDED.computed_at", hb) < 0)
		log_error("stats: storage snapshot: %s", db_error());
}

int stats_tick(int budget_ms)
{
	static double last_refresh, last_kpi, last_storage, last_fail, gap;
	double t0 = mono_ms();
	if (last_fail && t0 - last_fail < 5000) return 0;   /* PostgreSQL trouble: the flusher logs it too */
	int done = 0;
	/* A (video, day) pair is recomputed from all its sessions, so one popular video's refresh grows with its
	 * views (0.5 s of CPU at 200,000 sessions a day): the next refresh waits REFRESH_GAP times as long as the
	 * last one took, so rollups stay fresh within seconds without taking over the worker */
	double every = (double)config_get_int("stats_refresh_ms", 1000);
	if (t0 - last_refresh >= (gap > every ? gap : every)) {
		last_refresh = t0;
		char lim[16];
		snprintf(lim, sizeof lim, "%d", REFRESH_BATCH);
		for (;;) {
			PGresult *res = DB_EXEC("SELECT stats_refresh($1::int, $2)", lim, learn_tz());
			if (!res) { log_error("stats: refresh: %s", db_error()); last_fail = t0; return -1; }
			int n = atoi(PQgetvalue(res, 0, 0));
			PQclear(res);
			done += n;
			if (n < REFRESH_BATCH || mono_ms() - t0 > budget_ms) break;
		}
		gap = (mono_ms() - t0) * REFRESH_GAP;
	}
	int kpi_now = !last_kpi || t0 - last_kpi >= 1000.0 * config_get_int("stats_kpi_interval", 15);
	if (kpi_now) {
		last_kpi = t0;
		if (DB_CMD("SELECT stats_kpi_refresh($1)", learn_tz()) < 0) log_error("stats: KPI refresh: %s", db_error());
	}
	/* the disk walk runs every stats_storage_interval, and sooner when videos were added, published or deleted
	 * (a cheap signature checked with the KPIs), so a fresh upload does not read "0 B" for ten minutes */
	static char storage_sig[96];
	int videos_changed = 0;
	if (kpi_now) {
		PGresult *res = DB_EXEC0("SELECT count(*) || ':' || count(*) FILTER (WHERE status = 'ready') || ':' || "
					 "COALESCE(sum(source_size), 0) FROM videos");
		if (res && PQntuples(res) && strcmp(storage_sig, PQgetvalue(res, 0, 0))) {
			videos_changed = storage_sig[0] != 0;
			snprintf(storage_sig, sizeof storage_sig, "%s", PQgetvalue(res, 0, 0));
		}
		PQclear(res);
	}
	if (!last_storage || videos_changed || t0 - last_storage >= 1000.0 * config_get_int("stats_storage_interval", 600)) {
		last_storage = t0;
		storage_refresh();
	}
	last_fail = 0;
	return done;
}
