/* `rstream doctor`: checks a host the way an operator would by hand — config, database and migrations, Redis,
 * ffmpeg and its encoders, disk, media directory permissions, clock skew, TLS certificate, backup age — and
 * prints one line per check with what to do about a problem. Exit 1 when anything FAILs. */
#include <dirent.h>
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include "backup.h"
#include "cache.h"
#include "config.h"
#include "db.h"

int doctor_main(int argc, char **argv);

static int fails, warns;

/* level: "ok", "WARN", "FAIL", "skip"; fix: what to do (NULL when ok) */
static void report(const char *level, const char *what, const char *fix, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!strcmp(level, "FAIL")) fails++;
	if (!strcmp(level, "WARN")) warns++;
	printf("%-4s  %-12s %s\n", level, what, msg);
	if (fix && strcmp(level, "ok")) printf("      %-12s → %s\n", "", fix);
}

/* first line of a command's output (sh -c), or "" */
static int first_line(const char *cmd, char *out, size_t n)
{
	out[0] = 0;
	FILE *p = popen(cmd, "r");
	if (!p) return -1;
	if (!fgets(out, (int)n, p)) out[0] = 0;
	char drain[512];
	while (fgets(drain, sizeof drain, p)) {}
	int st = pclose(p);
	out[strcspn(out, "\n")] = 0;
	return st;
}

static void check_config(void)
{
	const char *path = getenv("RSTREAM_CONFIG");
	report("ok", "config", NULL, "loaded (%s); root %s, data %s", path ? path : "default path", cfg.root_dir, cfg.data_dir);
	const char *need[] = {"templates/layout.html", "sql", "conf/i18n"};
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (stat(config_path(need[i]), &st) < 0)
			report("FAIL", "install", "set root_dir in rstream.conf (or RSTREAM_ROOT) to the share directory, e.g. /usr/share/rstream",
			       "%s is missing under root_dir %s", need[i], cfg.root_dir);
	}
	const char *hls = config_get("hls_secret", NULL);
	if (!hls || strlen(hls) < 32)
		report("WARN", "hls secret", "set RSTREAM_HLS_SECRET in /etc/rstream/env (openssl rand -hex 32) and the same in nginx",
		       "RSTREAM_HLS_SECRET is not set or shorter than 32 characters: HLS links cannot be signed safely");
	if (!strncmp(cfg.public_url, "https://", 8) && !cfg.secure_cookies)
		report("WARN", "cookies", "remove secure_cookies = 0 from rstream.conf", "public URL is https but secure_cookies is 0");
}

static void check_database(void)
{
	if (db_connect(cfg.database_url) < 0) {
		report("FAIL", "database", "check DATABASE_URL in /etc/rstream/env and `systemctl status postgresql`",
		       "cannot connect: %s", db_error());
		return;
	}
	PGresult *r = db_exec("SELECT current_setting('server_version'), extract(epoch FROM clock_timestamp())", 0, NULL);
	if (!r) { report("FAIL", "database", "see the PostgreSQL log", "query failed: %s", db_error()); return; }
	double db_now = atof(PQgetvalue(r, 0, 1));
	report("ok", "database", NULL, "PostgreSQL %s reachable", PQgetvalue(r, 0, 0));
	PQclear(r);
	int pending = db_migrations_pending(config_path("sql"));
	if (pending < 0) report("FAIL", "migrations", "check that root_dir/sql exists and the database user may read schema_migrations", "cannot tell");
	else if (pending > 0) report("FAIL", "migrations", "run `rstream migrate` (systemd runs it before rstream-fcgi starts)", "%d migration(s) not applied", pending);
	else report("ok", "migrations", NULL, "all applied");
	/* signed HLS links and tokens carry expiry times: the app host and the database must agree on the time */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double skew = db_now - ((double)ts.tv_sec + ts.tv_nsec / 1e9);
	if (skew < 0) skew = -skew;
	if (skew > 5) report("FAIL", "clock", "enable time sync on both hosts: `timedatectl set-ntp true`", "this host and the database differ by %.1f s", skew);
	else if (skew > 1) report("WARN", "clock", "check time sync: `timedatectl status`", "this host and the database differ by %.1f s", skew);
	else report("ok", "clock", NULL, "skew with the database %.3f s", skew);
}

static void check_redis(void)
{
	if (cache_connect(cfg.redis_url) < 0 || !cache_ok())
		report("FAIL", "redis", "check REDIS_URL in /etc/rstream/env and `systemctl status redis-server`", "no answer to PING at %s", cfg.redis_url);
	else
		report("ok", "redis", NULL, "answers PING");
}

static void check_ffmpeg(void)
{
	char line[512];
	if (first_line("ffmpeg -hide_banner -version 2>&1", line, sizeof line) != 0 || strncmp(line, "ffmpeg version", 14)) {
		report("FAIL", "ffmpeg", "apt install ffmpeg", "ffmpeg is not runnable");
		return;
	}
	report("ok", "ffmpeg", NULL, "%.60s", line);
	const char *enc[] = {"libx264", "aac"};
	for (size_t i = 0; i < 2; i++) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -encoders 2>/dev/null | grep -c ' %s '", enc[i]);
		first_line(cmd, line, sizeof line);
		if (atoi(line) < 1) report("FAIL", "encoders", "install Debian's ffmpeg (it has libx264 and aac)", "encoder %s is missing", enc[i]);
	}
	if (first_line("ffprobe -hide_banner -version 2>&1", line, sizeof line) != 0)
		report("FAIL", "ffprobe", "apt install ffmpeg", "ffprobe is not runnable");
}

static void check_disk(void)
{
	struct statvfs vf;
	if (statvfs(cfg.data_dir, &vf) < 0) {
		report("FAIL", "disk", "create the data directory (the systemd units do: StateDirectory=rstream)", "%s: %s", cfg.data_dir, strerror(errno));
		return;
	}
	double free_mb = (double)vf.f_bavail * vf.f_frsize / 1048576.0, total_mb = (double)vf.f_blocks * vf.f_frsize / 1048576.0;
	long floor_mb = config_get_int("upload.min_free_mb", 1024);
	double pct = total_mb > 0 ? 100.0 * free_mb / total_mb : 0;
	if (free_mb < floor_mb)
		report("FAIL", "disk", "free space or move media to a bigger disk (docs/runbooks/disk.md)",
		       "%.0f MB free on %s, below upload.min_free_mb %ld: uploads are refused", free_mb, cfg.data_dir, floor_mb);
	else if (pct < 10)
		report("WARN", "disk", "plan more space (docs/runbooks/disk.md)", "%.0f MB free (%.0f %%) on %s", free_mb, pct, cfg.data_dir);
	else
		report("ok", "disk", NULL, "%.0f MB free (%.0f %%) on %s", free_mb, pct, cfg.data_dir);
}

static void check_permissions(void)
{
	const char *dirs[] = {"", "hls", "uploads", "tmp"};
	int before = fails + warns;
	for (size_t i = 0; i < 4; i++) {
		const char *p = *dirs[i] ? config_data_path(dirs[i]) : cfg.data_dir;
		struct stat st;
		if (stat(p, &st) < 0) {
			if (i == 0) report("FAIL", "media dir", "install -d -o rstream -g www-data -m 0750 /var/lib/rstream", "%s: %s", p, strerror(errno));
			continue;   /* subdirectories are created on first use */
		}
		if (access(p, W_OK | X_OK) < 0)
			report("FAIL", "media dir", "chown -R rstream:www-data the data directory", "%s is not writable by this user (uid %d)", p, (int)getuid());
		else if (st.st_mode & S_IWOTH)
			report("FAIL", "media dir", "chmod o-w it (pupils' videos must not be writable by every local user)", "%s is world-writable", p);
		else if (st.st_mode & S_IROTH && i == 0)
			report("WARN", "media dir", "chmod o-rx it: nginx reads through the www-data group", "%s is readable by every local user", p);
	}
	if (fails + warns == before) report("ok", "media dir", NULL, "%s writable, not world-writable", cfg.data_dir);
}

static void check_cert(const char *file)
{
	if (!file) file = config_get("tls.cert_file", NULL);
	if (!file) { report("skip", "tls cert", NULL, "no certificate to check (--cert FILE or tls.cert_file)"); return; }
	FILE *f = fopen(file, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f) fclose(f);
	if (!x) { report("FAIL", "tls cert", "point tls.cert_file at the PEM certificate nginx serves", "%s: cannot read a PEM certificate", file); return; }
	int days = 0, secs = 0;
	ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
	X509_free(x);
	if (days < 0 || (days == 0 && secs <= 0))
		report("FAIL", "tls cert", "renew it now (docs/runbooks/secrets.md#tls-certificate)", "%s has EXPIRED", file);
	else if (days < 14)
		report("FAIL", "tls cert", "renew it (docs/runbooks/secrets.md#tls-certificate)", "%s expires in %d day(s)", file, days);
	else if (days < 30)
		report("WARN", "tls cert", "check that renewal runs (systemctl list-timers certbot)", "%s expires in %d days", file, days);
	else
		report("ok", "tls cert", NULL, "%s valid for %d more days", file, days);
}

static void check_backup(void)
{
	const char *dir = config_get("backup.dir", NULL);
	if (!dir) { report("WARN", "backup", "set RSTREAM_BACKUP_DIR and RSTREAM_BACKUP_KEY_FILE, enable rstream-backup.timer", "no backup configured"); return; }
	char p[4096];
	snprintf(p, sizeof p, "%s/snapshots", dir);
	DIR *d = opendir(p);
	time_t newest = -1;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		time_t t = backup_stamp_parse(e->d_name);
		if (t > newest) newest = t;
	}
	if (d) closedir(d);
	if (newest < 0) { report("FAIL", "backup", "run `rstream backup` and check the timer: systemctl list-timers rstream-backup", "no snapshot in %s", p); return; }
	double hours = difftime(time(NULL), newest) / 3600.0;
	if (hours > 26) report("FAIL", "backup", "see `journalctl -u rstream-backup` (docs/runbooks/restore.md)", "the newest snapshot is %.0f hours old", hours);
	else report("ok", "backup", NULL, "newest snapshot %.1f hours old", hours);
	const char *key = config_get("backup.key_file", NULL);
	if (!key || access(key, R_OK) < 0) report("FAIL", "backup key", "set RSTREAM_BACKUP_KEY_FILE to the key (mode 0600, not on the backup disk)", "the key file is not readable");
}

int doctor_main(int argc, char **argv)
{
	const char *cert = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cert") && i + 1 < argc) cert = argv[++i];
		else { fputs("usage: rstream doctor [--cert FILE]\n", stderr); return 2; }
	}
	check_config();
	check_database();
	check_redis();
	check_ffmpeg();
	check_disk();
	check_permissions();
	check_cert(cert);
	check_backup();
	printf("%d problem(s), %d warning(s)\n", fails, warns);
	return fails ? 1 : 0;
}
