/* Zip exports through libarchive's zip writer. An entry's size is left unset, so libarchive streams it with a
 * data descriptor and nothing is buffered beyond its 64 KiB block; our sink sees every byte. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "zipwrite.h"

struct zipw {
	struct archive *a;
	zipw_sink sink;
	void *ud;
	unsigned long long pos;
	int open, sink_failed;
	time_t now;
	char err[160];
};

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	zipw *z = ud;
	if (z->sink(z->ud, buf, n) < 0) {
		z->sink_failed = 1;
		archive_set_error(a, EIO, "write failed");
		return -1;
	}
	z->pos += n;
	return (la_ssize_t)n;
}

static int fail(zipw *z)
{
	snprintf(z->err, sizeof z->err, "%s", z->sink_failed ? "write failed" :
		 archive_error_string(z->a) ? archive_error_string(z->a) : "zip write failed");
	return -1;
}

int zipw_sink_file(void *fp, const void *data, size_t len)
{
	return fwrite(data, 1, len, fp) == len ? 0 : -1;
}

zipw *zipw_new(zipw_sink sink, void *ud)
{
	zipw *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->sink = sink;
	z->ud = ud;
	z->now = time(NULL);
	z->a = archive_write_new();
	/* 64 KiB blocks, the last one not padded: the file ends where the zip ends */
	if (!z->a || archive_write_set_format_zip(z->a) != ARCHIVE_OK ||
	    archive_write_zip_set_compression_deflate(z->a) != ARCHIVE_OK ||
	    archive_write_set_options(z->a, "zip:hdrcharset=UTF-8") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(z->a, 65536) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(z->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(z->a, z, NULL, on_write, NULL, NULL) != ARCHIVE_OK) {
		if (z->a)
			archive_write_free(z->a);
		free(z);
		return NULL;
	}
	return z;
}

const char *zipw_error(const zipw *z) { return z->err; }
unsigned long long zipw_bytes(const zipw *z) { return z->pos; }

int zipw_begin(zipw *z, const char *name)
{
	if (z->open) {
		snprintf(z->err, sizeof z->err, "an entry is already open");
		return -1;
	}
	struct archive_entry *e = archive_entry_new();
	if (!e) {
		snprintf(z->err, sizeof z->err, "out of memory");
		return -1;
	}
	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, z->now, 0);
	int rc = archive_write_header(z->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK)
		return fail(z);
	z->open = 1;
	return 0;
}

int zipw_write(zipw *z, const void *data, size_t len)
{
	if (!z->open) {
		snprintf(z->err, sizeof z->err, "no entry open");
		return -1;
	}
	const char *p = data;
	while (len > 0) {
		la_ssize_t n = archive_write_data(z->a, p, len);
		if (n <= 0)
			return fail(z);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int zipw_end(zipw *z)
{
	if (!z->open) {
		snprintf(z->err, sizeof z->err, "no entry open");
		return -1;
	}
	z->open = 0;
	return archive_write_finish_entry(z->a) == ARCHIVE_OK ? 0 : fail(z);
}

int zipw_finish(zipw *z)
{
	if (z->open && zipw_end(z) < 0)
		return -1;
	return archive_write_close(z->a) == ARCHIVE_OK ? 0 : fail(z);
}

void zipw_free(zipw *z)
{
	if (!z)
		return;
	archive_write_free(z->a);
	free(z);
}
