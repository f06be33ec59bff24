/* zipread: streaming reads of stored and deflated entries, and every kind of hostile zip refused with a clear
 * message (truncated, bombs, traversal names, encrypted, lying sizes, corrupt CRC). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zipread.h"
#include "zipwrite.h"

static char path[64];

static void tmpname(void)
{
	snprintf(path, sizeof path, "/tmp/rs_zipread_%d_XXXXXX", getpid());
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
}

/* write a deflated zip with the given entries (name, content) */
static void make_zip(int n, const char **names, const char **data, const size_t *lens)
{
	tmpname();
	FILE *f = fopen(path, "wb");
	zipw *z = zipw_new(zipw_sink_file, f);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(zipw_begin(z, names[i]), 0);
		cr_assert_eq(zipw_write(z, data[i], lens ? lens[i] : strlen(data[i])), 0);
		cr_assert_eq(zipw_end(z), 0);
	}
	cr_assert_eq(zipw_finish(z), 0);
	zipw_free(z);
	fclose(f);
}

static char *read_all(zipr *z, int i, size_t *len, int *rc)
{
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	*rc = zipr_entry_open(z, i);
	if (*rc < 0)
		return out;
	for (;;) {
		if (n + 4096 > cap)
			out = realloc(out, cap *= 2);
		ssize_t got = zipr_read(z, out + n, 4096);
		if (got < 0) { *rc = -1; break; }
		if (got == 0) break;
		n += (size_t)got;
	}
	*len = n;
	return out;
}

static long fsize(void)
{
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

static void patch(long off, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "r+b");
	fseek(f, off, SEEK_SET);
	fwrite(bytes, 1, n, f);
	fclose(f);
}

/* offset of the first central directory header */
static long cd_offset(void)
{
	unsigned char b[22];
	FILE *f = fopen(path, "rb");
	fseek(f, -22, SEEK_END);
	cr_assert_eq(fread(b, 1, 22, f), 22u);
	fclose(f);
	return (long)(b[16] | b[17] << 8 | b[18] << 16 | (long)b[19] << 24);
}

Test(zipread, reads_deflated_entries_back_exactly)
{
	const char *names[] = {"manifest.csv", "users.csv"};
	const char *data[] = {"propertyName,value\n", "sourcedId,status\nu1,\n"};
	make_zip(2, names, data, NULL);
	char err[256];
	zipr *z = zipr_open(path, NULL, err, sizeof err);
	cr_assert_not_null(z, "%s", err);
	cr_assert_eq(zipr_count(z), 2);
	int i = zipr_find(z, "users.csv"), rc;
	cr_assert_eq(i, 1);
	size_t len = 0;
	char *out = read_all(z, i, &len, &rc);
	cr_assert_eq(rc, 0, "%s", zipr_error(z));
	cr_assert_eq(len, strlen(data[1]));
	cr_assert_eq(memcmp(out, data[1], len), 0);
	free(out);
	zipr_close(z);
	unlink(path);
}

Test(zipread, reads_a_large_entry_in_chunks)
{
	size_t n = 3 << 20;
	char *big = malloc(n);
	unsigned seed = 12345;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		big[i] = (char)('a' + (seed >> 16) % 26);
	}
	const char *names[] = {"enrollments.csv"};
	const char *data[] = {big};
	make_zip(1, names, data, &n);
	zipr *z = zipr_open(path, NULL, NULL, 0);
	cr_assert_not_null(z);
	size_t len;
	int rc;
	char *out = read_all(z, 0, &len, &rc);
	cr_assert_eq(rc, 0, "%s", zipr_error(z));
	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(out, big, n), 0);
	free(out);
	free(big);
	zipr_close(z);
	unlink(path);
}

Test(zipread, reads_stored_entries)
{
	/* hand-built: one stored entry "a.csv" = "x,y\n" */
	unsigned char zip[200];
	size_t n = 0;
	const char *name = "a.csv", *body = "x,y\n";
	unsigned long crc = 0;
	{ /* crc32 of "x,y\n" via zlib-compatible table-free computation */
		crc = 0xffffffffUL;
		for (const char *p = body; *p; p++) {
			crc ^= (unsigned char)*p;
			for (int k = 0; k < 8; k++)
				crc = crc & 1 ? (crc >> 1) ^ 0xedb88320UL : crc >> 1;
		}
		crc ^= 0xffffffffUL;
	}
#define P16(v) do { zip[n++] = (v) & 0xff; zip[n++] = ((v) >> 8) & 0xff; } while (0)
#define P32(v) do { P16((v) & 0xffff); P16(((unsigned long)(v) >> 16) & 0xffff); } while (0)
	P32(0x04034b50); P16(10); P16(0); P16(0); P16(0); P16(0); P32(crc); P32(4); P32(4); P16(5); P16(0);
	memcpy(zip + n, name, 5); n += 5;
	memcpy(zip + n, body, 4); n += 4;
	size_t cd = n;
	P32(0x02014b50); P16(20); P16(10); P16(0); P16(0); P16(0); P16(0); P32(crc); P32(4); P32(4); P16(5); P16(0);
	P16(0); P16(0); P16(0); P32(0); P32(0);
	memcpy(zip + n, name, 5); n += 5;
	size_t cdlen = n - cd;
	P32(0x06054b50); P16(0); P16(0); P16(1); P16(1); P32(cdlen); P32(cd); P16(0);
	tmpname();
	FILE *f = fopen(path, "wb");
	fwrite(zip, 1, n, f);
	fclose(f);
	char err[256];
	zipr *z = zipr_open(path, NULL, err, sizeof err);
	cr_assert_not_null(z, "%s", err);
	size_t len;
	int rc;
	char *out = read_all(z, 0, &len, &rc);
	cr_assert_eq(rc, 0, "%s", zipr_error(z));
	cr_assert_eq(len, 4u);
	cr_assert_eq(memcmp(out, body, 4), 0);
	free(out);
	zipr_close(z);
	unlink(path);
}

Test(zipread, rejects_a_truncated_zip_with_a_clear_error)
{
	const char *names[] = {"users.csv"};
	const char *data[] = {"sourcedId\nu1\nu2\n"};
	make_zip(1, names, data, NULL);
	cr_assert_eq(truncate(path, fsize() / 2), 0);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "truncated") != NULL, "%s", err);
	unlink(path);
}

Test(zipread, rejects_a_file_that_is_not_a_zip)
{
	tmpname();
	FILE *f = fopen(path, "wb");
	fputs("sourcedId,status\n", f);
	fclose(f);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "not a zip") != NULL, "%s", err);
	cr_assert_eq(zip_sniff(path), 0);
	unlink(path);
}

Test(zipread, refuses_a_zip_bomb_by_ratio)
{
	size_t n = 50 << 20;
	char *zeros = calloc(1, n);
	const char *names[] = {"users.csv"};
	const char *data[] = {zeros};
	make_zip(1, names, data, &n);
	free(zeros);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "ratio") != NULL, "%s", err);
	unlink(path);
}

Test(zipread, refuses_entries_above_the_per_file_and_total_limits)
{
	const char *names[] = {"a.csv", "b.csv"};
	const char *data[] = {"0123456789012345678901234567890123456789", "0123456789012345678901234567890123456789"};
	make_zip(2, names, data, NULL);
	struct zip_limits lim = zip_default_limits;
	char err[256] = "";
	lim.max_file = 10;
	cr_assert_null(zipr_open(path, &lim, err, sizeof err));
	cr_assert(strstr(err, "per-file") != NULL, "%s", err);
	lim = zip_default_limits;
	lim.max_total = 60;
	cr_assert_null(zipr_open(path, &lim, err, sizeof err));
	cr_assert(strstr(err, "total") != NULL, "%s", err);
	lim = zip_default_limits;
	lim.max_entries = 1;
	cr_assert_null(zipr_open(path, &lim, err, sizeof err));
	cr_assert(strstr(err, "too many entries") != NULL, "%s", err);
	unlink(path);
}

static void expect_bad_name(const char *name)
{
	const char *names[] = {name};
	const char *data[] = {"x"};
	make_zip(1, names, data, NULL);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err), "accepted %s", name);
	cr_assert(strstr(err, "unsafe zip entry name") != NULL, "%s", err);
	unlink(path);
}

Test(zipread, rejects_path_traversal_absolute_and_backslash_names)
{
	expect_bad_name("../users.csv");
	expect_bad_name("a/../../etc/passwd");
	expect_bad_name("/etc/passwd");
	expect_bad_name("..\\users.csv");
	expect_bad_name("C:users.csv");
	cr_assert(zip_name_safe("dir/users.csv"));
	cr_assert(zip_name_safe("..users.csv"));
}

Test(zipread, rejects_encrypted_entries)
{
	const char *names[] = {"users.csv"};
	const char *data[] = {"secret"};
	make_zip(1, names, data, NULL);
	/* an encrypted entry says so in its local header and in the central directory */
	unsigned char flags[2] = {0x09, 0x08};
	patch(6, flags, 2);
	patch(cd_offset() + 8, flags, 2);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "encrypted") != NULL, "%s", err);
	unlink(path);
}

Test(zipread, stops_an_entry_that_inflates_past_its_declared_size)
{
	size_t n = 100000;
	char *body = malloc(n);
	memset(body, 'x', n);
	const char *names[] = {"users.csv"};
	const char *data[] = {body};
	make_zip(1, names, data, &n);
	free(body);
	unsigned char small[4] = {100, 0, 0, 0};
	patch(cd_offset() + 24, small, 4);
	zipr *z = zipr_open(path, NULL, NULL, 0);
	cr_assert_not_null(z);
	size_t len;
	int rc;
	char *out = read_all(z, 0, &len, &rc);
	cr_assert_eq(rc, -1);
	/* stopped by our count or by libarchive's own size check, whichever sees it first */
	cr_assert(strstr(zipr_error(z), "beyond its declared size") != NULL || strstr(zipr_error(z), "wrong size") != NULL,
		  "%s", zipr_error(z));
	free(out);
	zipr_close(z);
	unlink(path);
}

Test(zipread, detects_a_corrupt_crc)
{
	const char *names[] = {"users.csv"};
	const char *data[] = {"sourcedId\nu1\n"};
	make_zip(1, names, data, NULL);
	unsigned char crc[4] = {1, 2, 3, 4};
	patch(cd_offset() + 16, crc, 4);
	zipr *z = zipr_open(path, NULL, NULL, 0);
	cr_assert_not_null(z);
	size_t len;
	int rc;
	char *out = read_all(z, 0, &len, &rc);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(zipr_error(z), "CRC") != NULL, "%s", zipr_error(z));
	free(out);
	zipr_close(z);
	unlink(path);
}

Test(zipread, rejects_duplicate_entry_names)
{
	const char *names[] = {"users.csv", "users.csv"};
	const char *data[] = {"a", "b"};
	make_zip(2, names, data, NULL);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "duplicate") != NULL, "%s", err);
	unlink(path);
}

Test(zipread, reads_zip64_entries)
{
	/* hand-built: one stored entry whose central directory sizes live in a zip64 extra field */
	unsigned char zip[300];
	size_t n = 0;
	const char *name = "a.csv", *body = "x,y\n";
	unsigned long crc = 0xffffffffUL;
	for (const char *p = body; *p; p++) {
		crc ^= (unsigned char)*p;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320UL : crc >> 1;
	}
	crc ^= 0xffffffffUL;
	P32(0x04034b50); P16(45); P16(0); P16(0); P16(0); P16(0); P32(crc); P32(4); P32(4); P16(5); P16(0);
	memcpy(zip + n, name, 5); n += 5;
	memcpy(zip + n, body, 4); n += 4;
	size_t cd = n;
	P32(0x02014b50); P16(45); P16(45); P16(0); P16(0); P16(0); P16(0); P32(crc); P32(0xffffffffUL); P32(0xffffffffUL);
	P16(5); P16(20); P16(0); P16(0); P16(0); P32(0); P32(0);
	memcpy(zip + n, name, 5); n += 5;
	P16(1); P16(16); P32(4); P32(0); P32(4); P32(0);   /* usize, csize as 64-bit */
	size_t cdlen = n - cd;
	P32(0x06054b50); P16(0); P16(0); P16(1); P16(1); P32(cdlen); P32(cd); P16(0);
	tmpname();
	FILE *f = fopen(path, "wb");
	fwrite(zip, 1, n, f);
	fclose(f);
	char err[256];
	zipr *z = zipr_open(path, NULL, err, sizeof err);
	cr_assert_not_null(z, "%s", err);
	cr_assert_eq(zipr_entry(z, 0)->usize, 4u);
	size_t len;
	int rc;
	char *out = read_all(z, 0, &len, &rc);
	cr_assert_eq(rc, 0, "%s", zipr_error(z));
	cr_assert_eq(len, 4u);
	cr_assert_eq(memcmp(out, body, 4), 0);
	free(out);
	zipr_close(z);
	unlink(path);
}

Test(zipread, refuses_a_zip64_directory_declaring_too_many_entries)
{
	/* the classic end record says 1 entry, the zip64 one a million: libarchive would index them all */
	unsigned char zip[400];
	size_t n = 0;
	P32(0x04034b50); P16(20); P16(0); P16(0); P16(0); P16(0); P32(0); P32(0); P32(0); P16(5); P16(0);
	memcpy(zip + n, "a.csv", 5); n += 5;
	size_t cd = n;
	P32(0x02014b50); P16(20); P16(20); P16(0); P16(0); P16(0); P16(0); P32(0); P32(0); P32(0);
	P16(5); P16(0); P16(0); P16(0); P16(0); P32(0); P32(0);
	memcpy(zip + n, "a.csv", 5); n += 5;
	size_t cdlen = n - cd, z64 = n;
	P32(0x06064b50); P32(44); P32(0); P16(45); P16(45); P32(0); P32(0);
	P32(1000000); P32(0); P32(1000000); P32(0); P32(cdlen); P32(0); P32(cd); P32(0);
	P32(0x07064b50); P32(0); P32(z64); P32(0); P32(1);
	P32(0x06054b50); P16(0); P16(0); P16(1); P16(1); P32(cdlen); P32(cd); P16(0);
	tmpname();
	FILE *f = fopen(path, "wb");
	fwrite(zip, 1, n, f);
	fclose(f);
	char err[256] = "";
	cr_assert_null(zipr_open(path, NULL, err, sizeof err));
	cr_assert(strstr(err, "too many entries") != NULL, "%s", err);
	unlink(path);
}
