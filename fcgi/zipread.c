/* Zip bundles through libarchive's seekable zip reader (central directory first), with R-Stream's limits on
 * top: libarchive parses and inflates, this file decides what a roster bundle may contain. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "zipread.h"

const struct zip_limits zip_default_limits = {
	.max_total = 2ULL << 30, .max_file = 1ULL << 30, .max_ratio = 200, .max_entries = 64, .max_name = 255,
};

struct zipr {
	char *path;
	struct archive *a;
	struct zip_entry *e;
	int n;
	struct zip_limits lim;
	char err[256];
	int next;                /* index of the header archive_read_next_header gives next */
	int cur, done;           /* entry being read */
	uint64_t out_done;
};

static int fail(zipr *z, const char *msg, const char *name)
{
	if (name)
		snprintf(z->err, sizeof z->err, "%.100s: %.150s", msg, name);
	else
		snprintf(z->err, sizeof z->err, "%s", msg);
	return -1;
}

/* libarchive's own message, for what it found (CRC, truncation, unsupported method) */
static int fail_archive(zipr *z, const char *msg, const char *name)
{
	const char *why = z->a ? archive_error_string(z->a) : NULL;
	snprintf(z->err, sizeof z->err, "%.80s%s%.60s (%.100s)", msg, name ? ": " : "", name ? name : "",
		 why ? why : "unreadable");
	return -1;
}

int zip_name_safe(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || name[0] == '/' || strchr(name, '\\'))
		return 0;
	if (n >= 2 && name[1] == ':')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	/* no ".." path component anywhere */
	const char *s = name;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		if (!e)
			break;
		s = e + 1;
	}
	return 1;
}

int zip_sniff(const char *path)
{
	unsigned char b[4];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(b, 1, 4, f);
	fclose(f);
	return n == 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* The entry count of the end-of-central-directory record (and of the zip64 one when its locator is there), read
 * before libarchive indexes the directory: libarchive keeps every directory entry in memory, so a hostile upload
 * declaring millions of them is refused here. 0xffff counts as too many: a bundle has at most 64 entries.
 * -1 when there is no end record. */
static long declared_entries(FILE *f, uint64_t fsize)
{
	size_t tl = fsize < 65557 ? (size_t)fsize : 65557;
	if (tl < 22)
		return -1;
	unsigned char *tail = malloc(tl), z64[56];
	long count = -1, pos = -1;
	if (tail && fseeko(f, (off_t)(fsize - tl), SEEK_SET) == 0 && fread(tail, 1, tl, f) == tl)
		for (long i = (long)tl - 22; i >= 0; i--)
			if (rd32(tail + i) == 0x06054b50 && (size_t)i + 22 + rd16(tail + i + 20) <= tl) {
				count = rd16(tail + i + 10);
				pos = i;
				break;
			}
	if (pos >= 20 && rd32(tail + pos - 20) == 0x07064b50) {
		uint64_t off = rd64(tail + pos - 20 + 8);
		if (fsize < 56 || off > fsize - 56 || fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(z64, 1, 56, f) != 56 ||
		    rd32(z64) != 0x06064b50)
			count = 0xffff;   /* a zip64 locator that points nowhere: refuse rather than let libarchive guess */
		else if (rd64(z64 + 32) > (uint64_t)count)
			count = rd64(z64 + 32) > 0xffff ? 0xffff : (long)rd64(z64 + 32);
	}
	free(tail);
	return count;
}

static int archive_start(zipr *z)
{
	if (z->a)
		archive_read_free(z->a);
	z->a = archive_read_new();
	z->next = 0;
	z->cur = -1;
	if (!z->a)
		return fail(z, "out of memory", NULL);
	/* names are taken as UTF-8 bytes, never converted through the process locale */
	if (archive_read_support_format_zip_seekable(z->a) != ARCHIVE_OK ||
	    archive_read_set_options(z->a, "zip:hdrcharset=UTF-8") != ARCHIVE_OK ||
	    archive_read_open_filename(z->a, z->path, 65536) != ARCHIVE_OK)
		return fail_archive(z, "cannot read the zip file", NULL);
	return 0;
}

/* Advance to the header of entry i (reopening to go back: at most 64 entries, each a seek). */
static int seek_entry(zipr *z, int i, struct archive_entry **ae)
{
	if (i < z->next && archive_start(z) < 0)
		return -1;
	for (;;) {
		int rc = archive_read_next_header(z->a, ae);
		if (rc == ARCHIVE_EOF)
			return fail(z, "zip file is truncated or corrupt (entry missing)", NULL);
		if (rc < ARCHIVE_WARN)
			return fail_archive(z, "corrupt zip file", NULL);
		if (z->next++ == i)
			return 0;
	}
}

static int check_entry(zipr *z, struct archive_entry *ae, struct zip_entry *out)
{
	const char *name = archive_entry_pathname(ae);
	size_t nlen = name ? strlen(name) : 0;
	if (nlen == 0 || nlen > z->lim.max_name || nlen >= sizeof out->name)
		return fail(z, "zip entry name is empty or too long", NULL);
	memcpy(out->name, name, nlen + 1);
	if (!zip_name_safe(out->name))
		return fail(z, "unsafe zip entry name (absolute path, \"..\", backslash or control character)", out->name);
	if (archive_entry_is_encrypted(ae))
		return fail(z, "encrypted zip entries are not supported", out->name);
	out->is_dir = archive_entry_filetype(ae) == AE_IFDIR || out->name[nlen - 1] == '/';
	if (!archive_entry_size_is_set(ae) || archive_entry_size(ae) < 0)
		return fail(z, "zip entry without a declared size", out->name);
	out->usize = (uint64_t)archive_entry_size(ae);
	if (out->usize > z->lim.max_file)
		return fail(z, "zip entry exceeds the per-file size limit", out->name);
	return 0;
}

zipr *zipr_open(const char *path, const struct zip_limits *lim, char *err, size_t errlen)
{
	zipr *z = calloc(1, sizeof *z);
	struct archive_entry *ae;
	uint64_t total = 0;
	if (!z) {
		if (err) snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->lim = lim ? *lim : zip_default_limits;
	z->cur = -1;
	z->path = strdup(path);
	z->e = calloc(z->lim.max_entries + 1, sizeof *z->e);
	if (!z->path || !z->e) {
		fail(z, "out of memory", NULL);
		goto bad;
	}
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		fail(z, "cannot open zip file", strerror(errno));
		if (f) fclose(f);
		goto bad;
	}
	long declared = declared_entries(f, (uint64_t)st.st_size);
	fclose(f);
	if (declared < 0) {
		fail(z, "not a zip file or truncated (end of central directory not found)", NULL);
		goto bad;
	}
	if ((unsigned long)declared > z->lim.max_entries) {
		fail(z, "too many entries in the zip file", NULL);
		goto bad;
	}
	if (archive_start(z) < 0)
		goto bad;
	for (;;) {
		int rc = archive_read_next_header(z->a, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			fail_archive(z, "not a zip file or corrupt", NULL);
			goto bad;
		}
		z->next++;
		if ((unsigned)z->n >= z->lim.max_entries) {
			fail(z, "too many entries in the zip file", NULL);
			goto bad;
		}
		if (check_entry(z, ae, &z->e[z->n]) < 0)
			goto bad;
		for (int k = 0; k < z->n; k++)
			if (strcmp(z->e[k].name, z->e[z->n].name) == 0) {
				fail(z, "duplicate zip entry name", z->e[k].name);
				goto bad;
			}
		total += z->e[z->n].usize;
		if (total > z->lim.max_total) {
			fail(z, "zip file exceeds the total uncompressed size limit", NULL);
			goto bad;
		}
		z->n++;
	}
	/* libarchive does not report compressed sizes, so the ratio is the bundle's: declared content over file size */
	if (total > (1u << 20) && total / (uint64_t)(st.st_size ? st.st_size : 1) > z->lim.max_ratio) {
		fail(z, "zip compression ratio exceeds the limit (zip bomb?)", NULL);
		goto bad;
	}
	return z;
bad:
	if (err)
		snprintf(err, errlen, "%s", z->err);
	zipr_close(z);
	return NULL;
}

void zipr_close(zipr *z)
{
	if (!z)
		return;
	if (z->a)
		archive_read_free(z->a);
	free(z->path);
	free(z->e);
	free(z);
}

int zipr_count(const zipr *z) { return z->n; }
const struct zip_entry *zipr_entry(const zipr *z, int i) { return i >= 0 && i < z->n ? &z->e[i] : NULL; }
const char *zipr_error(const zipr *z) { return z->err; }

int zipr_find(const zipr *z, const char *name)
{
	for (int i = 0; i < z->n; i++)
		if (strcmp(z->e[i].name, name) == 0)
			return i;
	return -1;
}

int zipr_entry_open(zipr *z, int i)
{
	struct archive_entry *ae;
	z->cur = -1;
	if (i < 0 || i >= z->n)
		return fail(z, "no such zip entry", NULL);
	if (seek_entry(z, i, &ae) < 0)
		return -1;
	/* the file may have changed under us: the entry must be the one that was checked */
	const char *name = archive_entry_pathname(ae);
	if (!name || strcmp(name, z->e[i].name) != 0)
		return fail(z, "zip file changed while it was read", z->e[i].name);
	z->cur = i;
	z->out_done = 0;
	z->done = 0;
	return 0;
}

ssize_t zipr_read(zipr *z, void *out, size_t n)
{
	if (z->cur < 0)
		return fail(z, "no zip entry open", NULL);
	if (z->done || n == 0)
		return 0;
	struct zip_entry *e = &z->e[z->cur];
	la_ssize_t got = archive_read_data(z->a, out, n);
	if (got < 0)
		return fail_archive(z, "zip entry is corrupt (CRC or data error)", e->name);
	if (got == 0) {
		if (z->out_done != e->usize)
			return fail(z, "zip entry size does not match its header (truncated or corrupt)", e->name);
		z->done = 1;
		return 0;
	}
	z->out_done += (uint64_t)got;
	/* the declared size is the limit that was checked: never inflate past it */
	if (z->out_done > e->usize)
		return fail(z, "zip entry inflates beyond its declared size (zip bomb?)", e->name);
	return (ssize_t)got;
}
