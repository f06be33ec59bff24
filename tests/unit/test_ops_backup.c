/* Backup building blocks: retention selection, manifest path checks, and the AES-256-GCM file format
 * (round trip, a flipped byte and a wrong key refused, key file checks). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backup.h"
#include "backup_crypt.h"

#define DAY 86400

static int kept(const int *keep, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++) k += keep[i];
	return k;
}

Test(ops_backup, keeps_one_a_day_for_the_daily_window_then_weeks_then_months)
{
	enum { N = 400 };
	time_t now = backup_stamp_parse("20261202T030000Z"), t[N];
	int keep[N];
	for (int i = 0; i < N; i++) t[i] = now - (time_t)i * DAY;   /* one snapshot a day for 400 days */
	backup_retention_select(t, N, now, 30, 90, 180, keep);
	for (int i = 0; i <= 30; i++) cr_assert_eq(keep[i], 1, "day %d is within the daily window", i);
	for (int i = 181; i < N; i++) cr_assert_eq(keep[i], 0, "day %d is older than every window", i);
	/* between 30 and 90 days: one per ISO week; between 90 and 180: one per month */
	int weekly = 0, monthly = 0;
	for (int i = 31; i <= 90; i++) weekly += keep[i];
	for (int i = 91; i <= 180; i++) monthly += keep[i];
	cr_assert(weekly >= 8 && weekly <= 12, "weekly %d (weeks, plus month ends)", weekly);
	cr_assert(monthly >= 2 && monthly <= 4, "monthly %d", monthly);
}

Test(ops_backup, keeps_the_newest_of_a_day_and_always_the_newest_of_all)
{
	time_t now = backup_stamp_parse("20261202T230000Z");
	time_t t[3] = {now - 3600, now - 60, now - 7200};
	int keep[3];
	backup_retention_select(t, 3, now, 30, 90, 180, keep);
	cr_assert_eq(keep[1], 1);
	cr_assert_eq(kept(keep, 3), 1, "one snapshot per day");
	time_t old[1] = {now - 400 * DAY};
	backup_retention_select(old, 1, now, 30, 90, 180, keep);
	cr_assert_eq(keep[0], 1, "the only backup there is is never deleted");
}

Test(ops_backup, parses_snapshot_names_strictly)
{
	cr_assert_eq(backup_stamp_parse("20261202T040512Z"), 1796184312);
	cr_assert_eq(backup_stamp_parse("20261202T040512Z.partial"), -1);
	cr_assert_eq(backup_stamp_parse("latest"), -1);
	cr_assert_eq(backup_stamp_parse(".."), -1);
}

Test(ops_backup, accepts_only_relative_paths_below_the_data_directory)
{
	cr_assert(backup_path_ok("hls/0123/seg_00001.m4s"));
	cr_assert(backup_path_ok("uploads/videos/ab.src"));
	cr_assert_not(backup_path_ok("/etc/passwd"));
	cr_assert_not(backup_path_ok("hls/../../etc/passwd"));
	cr_assert_not(backup_path_ok(".."));
	cr_assert_not(backup_path_ok("hls//x"));
	cr_assert_not(backup_path_ok("hls/./x"));
	cr_assert_not(backup_path_ok("hls/x\n"));
	cr_assert_not(backup_path_ok(""));
}

static char dir[64];
static void mk(void) { snprintf(dir, sizeof dir, "/tmp/rs-unit-backup-XXXXXX"); cr_assert_not_null(mkdtemp(dir)); }
static void rmd(void) { char c[128]; snprintf(c, sizeof c, "rm -rf '%s'", dir); cr_assert_eq(system(c), 0); }

static char *path(const char *name)
{
	static char p[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static void write_file(const char *p, const char *data, size_t n, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	fchmod(fd, mode);
	close(fd);
}

Test(ops_backup, round_trips_and_refuses_a_flipped_byte_or_a_wrong_key, .init = mk, .fini = rmd)
{
	unsigned char key[32], other[32];
	for (int i = 0; i < 32; i++) { key[i] = (unsigned char)i; other[i] = (unsigned char)(i + 1); }
	size_t n = 200000;   /* several 64 KiB blocks */
	char *plain = malloc(n);
	for (size_t i = 0; i < n; i++) plain[i] = (char)(i * 31 + 7);
	write_file(path("plain"), plain, n, 0600);
	char sha[BACKUP_SHA_HEX], sha2[BACKUP_SHA_HEX], err[512];
	long long size = 0, size2 = 0;
	cr_assert_eq(backup_encrypt_file(key, path("plain"), path("enc"), sha, &size, err, sizeof err), 0, "%s", err);
	cr_assert_eq(size, (long long)n);
	cr_assert_eq(strlen(sha), 64);
	/* ciphertext does not contain the plaintext */
	struct stat st;
	cr_assert_eq(stat(path("enc"), &st), 0);
	cr_assert_eq(st.st_size, (off_t)(n + 8 + 12 + 16));
	int out = open(path("dec"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(backup_decrypt_fd(key, path("enc"), out, sha2, &size2, err, sizeof err), 0, "%s", err);
	close(out);
	cr_assert_str_eq(sha2, sha);
	cr_assert_eq(size2, (long long)n);
	char c[256];
	snprintf(c, sizeof c, "cmp -s '%s' '%s'", path("plain"), path("dec"));
	cr_assert_eq(system(c), 0, "decrypted bytes differ");
	cr_assert_neq(backup_decrypt_fd(other, path("enc"), -1, sha2, NULL, err, sizeof err), 0);
	cr_assert(strstr(err, "authentication failed"), "%s", err);
	int fd = open(path("enc"), O_RDWR);
	char b;
	cr_assert_eq(pread(fd, &b, 1, 70000), 1);
	b ^= 1;
	cr_assert_eq(pwrite(fd, &b, 1, 70000), 1);
	close(fd);
	cr_assert_neq(backup_decrypt_fd(key, path("enc"), -1, sha2, NULL, err, sizeof err), 0, "a flipped byte is detected");
	truncate(path("enc"), 10);
	cr_assert_neq(backup_decrypt_fd(key, path("enc"), -1, sha2, NULL, err, sizeof err), 0);
	cr_assert(strstr(err, "not an R-Stream backup file"), "%s", err);
	/* object names depend on the key: equal content, equal name; no plain sha256 on the backup disk */
	char o1[BACKUP_SHA_HEX], o2[BACKUP_SHA_HEX];
	backup_object_name(key, sha, o1);
	backup_object_name(other, sha, o2);
	cr_assert_str_neq(o1, o2);
	cr_assert_str_neq(o1, sha);
	free(plain);
}

Test(ops_backup, loads_only_a_private_64_hex_key_file, .init = mk, .fini = rmd)
{
	unsigned char key[32];
	char err[512];
	const char *good = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	write_file(path("k"), good, strlen(good), 0600);
	cr_assert_eq(backup_key_load(path("k"), key, err, sizeof err), 0, "%s", err);
	cr_assert_eq(key[31], 0x1f);
	write_file(path("open"), good, strlen(good), 0644);
	cr_assert_neq(backup_key_load(path("open"), key, err, sizeof err), 0);
	cr_assert(strstr(err, "chmod 600"), "%s", err);
	write_file(path("short"), "abcd", 4, 0600);
	cr_assert_neq(backup_key_load(path("short"), key, err, sizeof err), 0);
	const char *bad = "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	write_file(path("bad"), bad, strlen(bad), 0600);
	cr_assert_neq(backup_key_load(path("bad"), key, err, sizeof err), 0);
	cr_assert_neq(backup_key_load(path("missing"), key, err, sizeof err), 0);
}
