/* Streaming zip reader: central directory first (all limits checked there), then one entry at a time through
 * zlib's raw inflate, never holding more than one input and one output chunk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "zipread.h"

const struct zip_limits zip_default_limits = {
	.max_total = 2ULL << 30, .max_file = 1ULL << 30, .max_ratio = 200, .max_entries = 64, .max_name = 255,
};

#define ZR_CHUNK 65536

struct zipr {
	FILE *f;
	uint64_t fsize;
	struct zip_entry *e;
	int n;
	struct zip_limits lim;
	char err[256];
	/* current entry */
	int cur;
	uint64_t in_left, out_done;
	uint32_t crc;
	z_stream zs;
	int zs_init, done;
	unsigned char in[ZR_CHUNK];
};

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int fail(zipr *z, const char *msg, const char *name)
{
	if (name)
		snprintf(z->err, sizeof z->err, "%.100s: %.150s", msg, name);
	else
		snprintf(z->err, sizeof z->err, "%s", msg);
	return -1;
}

static int read_at(zipr *z, uint64_t off, void *p, size_t n)
{
	if (off + n > z->fsize)
		return fail(z, "zip file is truncated", NULL);
	if (fseeko(z->f, (off_t)off, SEEK_SET) != 0 || fread(p, 1, n, z->f) != n)
		return fail(z, "zip file is truncated or unreadable", NULL);
	return 0;
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

/* Find the end-of-central-directory record, then the zip64 one when the classic fields overflow. */
static int find_directory(zipr *z, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count)
{
	unsigned char *tail;
	size_t tl = z->fsize < 65557 ? (size_t)z->fsize : 65557;
	if (z->fsize < 22)
		return fail(z, "not a zip file (too short or truncated)", NULL);
	tail = malloc(tl);
	if (!tail)
		return fail(z, "out of memory", NULL);
	if (read_at(z, z->fsize - tl, tail, tl) < 0) {
		free(tail);
		return -1;
	}
	long pos = -1;
	for (long i = (long)tl - 22; i >= 0; i--)
		if (rd32(tail + i) == 0x06054b50 && (size_t)i + 22 + rd16(tail + i + 20) <= tl) {
			pos = i;
			break;
		}
	if (pos < 0) {
		free(tail);
		return fail(z, "not a zip file or truncated (end of central directory not found)", NULL);
	}
	const unsigned char *e = tail + pos;
	uint64_t eocd = z->fsize - tl + (uint64_t)pos;
	if (rd16(e + 4) != 0 || rd16(e + 6) != 0) {
		free(tail);
		return fail(z, "multi-disk zip files are not supported", NULL);
	}
	*count = rd16(e + 10);
	*cd_size = rd32(e + 12);
	*cd_off = rd32(e + 16);
	free(tail);
	if (*count == 0xffff || *cd_size == 0xffffffff || *cd_off == 0xffffffff) {
		unsigned char loc[20], z64[56];
		if (eocd < 20 || read_at(z, eocd - 20, loc, 20) < 0 || rd32(loc) != 0x07064b50)
			return fail(z, "zip64 end of central directory locator missing", NULL);
		if (read_at(z, rd64(loc + 8), z64, 56) < 0 || rd32(z64) != 0x06064b50)
			return fail(z, "zip64 end of central directory record missing", NULL);
		*count = rd64(z64 + 32);
		*cd_size = rd64(z64 + 40);
		*cd_off = rd64(z64 + 48);
		eocd = rd64(loc + 8);
	}
	if (*cd_off > eocd || *cd_size > eocd - *cd_off)
		return fail(z, "zip file is truncated (central directory out of range)", NULL);
	return 0;
}

static int parse_entry(zipr *z, const unsigned char *h, const unsigned char *name, uint16_t nlen,
		       const unsigned char *extra, uint16_t xlen, uint64_t cd_off, struct zip_entry *out)
{
	if (nlen == 0 || nlen > z->lim.max_name || nlen >= sizeof out->name)
		return fail(z, "zip entry name is empty or too long", NULL);
	memcpy(out->name, name, nlen);
	out->name[nlen] = 0;
	if (strlen(out->name) != nlen)
		return fail(z, "zip entry name contains a NUL byte", NULL);
	if (!zip_name_safe(out->name))
		return fail(z, "unsafe zip entry name (absolute path, \"..\", backslash or control character)", out->name);
	out->flags = rd16(h + 8);
	out->method = rd16(h + 10);
	out->crc = rd32(h + 16);
	out->csize = rd32(h + 20);
	out->usize = rd32(h + 24);
	out->local_off = rd32(h + 42);
	out->is_dir = out->name[nlen - 1] == '/';
	if (out->flags & 0x41)
		return fail(z, "encrypted zip entries are not supported", out->name);
	if (out->method != 0 && out->method != 8)
		return fail(z, "unsupported compression method (only stored and deflate)", out->name);
	/* zip64 extended information: only the fields whose classic value overflowed, in this order */
	if (out->usize == 0xffffffff || out->csize == 0xffffffff || out->local_off == 0xffffffff) {
		int found = 0;
		for (uint16_t i = 0; i + 4 <= xlen;) {
			uint16_t id = rd16(extra + i), len = rd16(extra + i + 2);
			if (i + 4 + len > xlen)
				break;
			if (id == 1) {
				const unsigned char *p = extra + i + 4, *end = p + len;
				if (out->usize == 0xffffffff) { if (p + 8 > end) break; out->usize = rd64(p); p += 8; }
				if (out->csize == 0xffffffff) { if (p + 8 > end) break; out->csize = rd64(p); p += 8; }
				if (out->local_off == 0xffffffff) { if (p + 8 > end) break; out->local_off = rd64(p); }
				found = 1;
				break;
			}
			i += 4 + len;
		}
		if (!found)
			return fail(z, "zip64 entry without its extended information", out->name);
	}
	if (out->usize > z->lim.max_file)
		return fail(z, "zip entry exceeds the per-file size limit", out->name);
	if (out->usize > (1u << 20) && out->usize / (out->csize ? out->csize : 1) > z->lim.max_ratio)
		return fail(z, "zip entry compression ratio exceeds the limit (zip bomb?)", out->name);
	if (out->method == 0 && out->csize != out->usize)
		return fail(z, "stored zip entry with inconsistent sizes", out->name);
	if (out->local_off + 30 > cd_off || out->csize > cd_off - out->local_off)
		return fail(z, "zip file is truncated (entry data out of range)", out->name);
	return 0;
}

zipr *zipr_open(const char *path, const struct zip_limits *lim, char *err, size_t errlen)
{
	zipr *z = calloc(1, sizeof *z);
	unsigned char *cd = NULL;
	uint64_t cd_off, cd_size, count, total = 0;
	if (!z) {
		if (err) snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->lim = lim ? *lim : zip_default_limits;
	z->cur = -1;
	z->f = fopen(path, "rb");
	if (!z->f) {
		fail(z, "cannot open zip file", strerror(errno));
		goto bad;
	}
	if (fseeko(z->f, 0, SEEK_END) != 0) {
		fail(z, "cannot read zip file", NULL);
		goto bad;
	}
	z->fsize = (uint64_t)ftello(z->f);
	if (find_directory(z, &cd_off, &cd_size, &count) < 0)
		goto bad;
	if (count > z->lim.max_entries) {
		fail(z, "too many entries in the zip file", NULL);
		goto bad;
	}
	if (cd_size > (uint64_t)count * (46 + 65535 * 3) || cd_size > (64u << 20)) {
		fail(z, "zip central directory is too large", NULL);
		goto bad;
	}
	cd = malloc(cd_size ? cd_size : 1);
	z->e = calloc(count ? count : 1, sizeof *z->e);
	if (!cd || !z->e) {
		fail(z, "out of memory", NULL);
		goto bad;
	}
	if (read_at(z, cd_off, cd, cd_size) < 0)
		goto bad;
	for (uint64_t i = 0, p = 0; i < count; i++) {
		if (p + 46 > cd_size || rd32(cd + p) != 0x02014b50) {
			fail(z, "corrupt zip central directory", NULL);
			goto bad;
		}
		uint16_t nlen = rd16(cd + p + 28), xlen = rd16(cd + p + 30), clen = rd16(cd + p + 32);
		if (p + 46 + nlen + xlen + clen > cd_size) {
			fail(z, "corrupt zip central directory", NULL);
			goto bad;
		}
		if (parse_entry(z, cd + p, cd + p + 46, nlen, cd + p + 46 + nlen, xlen, cd_off, &z->e[i]) < 0)
			goto bad;
		for (uint64_t k = 0; k < i; k++)
			if (strcmp(z->e[k].name, z->e[i].name) == 0) {
				fail(z, "duplicate zip entry name", z->e[i].name);
				goto bad;
			}
		total += z->e[i].usize;
		if (total > z->lim.max_total) {
			fail(z, "zip file exceeds the total uncompressed size limit", NULL);
			goto bad;
		}
		z->n++;
		p += 46 + nlen + xlen + clen;
	}
	free(cd);
	return z;
bad:
	if (err)
		snprintf(err, errlen, "%s", z->err);
	free(cd);
	zipr_close(z);
	return NULL;
}

static void entry_reset(zipr *z)
{
	if (z->zs_init)
		inflateEnd(&z->zs);
	z->zs_init = 0;
	z->cur = -1;
}

void zipr_close(zipr *z)
{
	if (!z)
		return;
	entry_reset(z);
	if (z->f)
		fclose(z->f);
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
	unsigned char h[30];
	entry_reset(z);
	if (i < 0 || i >= z->n)
		return fail(z, "no such zip entry", NULL);
	struct zip_entry *e = &z->e[i];
	if (read_at(z, e->local_off, h, 30) < 0)
		return -1;
	if (rd32(h) != 0x04034b50)
		return fail(z, "corrupt zip local header", e->name);
	uint64_t data = e->local_off + 30 + rd16(h + 26) + rd16(h + 28);
	if (data + e->csize > z->fsize)
		return fail(z, "zip file is truncated", e->name);
	if (fseeko(z->f, (off_t)data, SEEK_SET) != 0)
		return fail(z, "cannot read zip file", NULL);
	if (e->method == 8) {
		memset(&z->zs, 0, sizeof z->zs);
		if (inflateInit2(&z->zs, -MAX_WBITS) != Z_OK)
			return fail(z, "inflate init failed", NULL);
		z->zs_init = 1;
	}
	z->cur = i;
	z->in_left = e->csize;
	z->out_done = 0;
	z->crc = crc32(0, NULL, 0);
	z->done = 0;
	return 0;
}

static int finish(zipr *z)
{
	struct zip_entry *e = &z->e[z->cur];
	if (z->out_done != e->usize)
		return fail(z, "zip entry size does not match its header (truncated or corrupt)", e->name);
	if (z->crc != e->crc)
		return fail(z, "zip entry CRC mismatch (corrupt file)", e->name);
	z->done = 1;
	return 0;
}

ssize_t zipr_read(zipr *z, void *out, size_t n)
{
	if (z->cur < 0)
		return fail(z, "no zip entry open", NULL);
	if (z->done || n == 0)
		return 0;
	struct zip_entry *e = &z->e[z->cur];
	if (e->method == 0) {
		size_t want = n < z->in_left ? n : (size_t)z->in_left;
		if (want == 0)
			return finish(z) < 0 ? -1 : 0;
		if (fread(out, 1, want, z->f) != want)
			return fail(z, "zip file is truncated", e->name);
		z->in_left -= want;
		z->out_done += want;
		z->crc = crc32(z->crc, out, (uInt)want);
		return (ssize_t)want;
	}
	z->zs.next_out = out;
	z->zs.avail_out = (uInt)(n > ZR_CHUNK * 4 ? ZR_CHUNK * 4 : n);
	while (z->zs.avail_out > 0) {
		if (z->zs.avail_in == 0 && z->in_left > 0) {
			size_t want = z->in_left < ZR_CHUNK ? (size_t)z->in_left : ZR_CHUNK;
			if (fread(z->in, 1, want, z->f) != want)
				return fail(z, "zip file is truncated", e->name);
			z->in_left -= want;
			z->zs.next_in = z->in;
			z->zs.avail_in = (uInt)want;
		}
		uInt before = z->zs.avail_out;
		int rc = inflate(&z->zs, Z_NO_FLUSH);
		size_t got = before - z->zs.avail_out;
		if (got) {
			z->crc = crc32(z->crc, (unsigned char *)z->zs.next_out - got, (uInt)got);
			z->out_done += got;
			/* the declared size is the limit that was checked: never inflate past it */
			if (z->out_done > e->usize)
				return fail(z, "zip entry inflates beyond its declared size (zip bomb?)", e->name);
		}
		if (rc == Z_STREAM_END) {
			size_t total = (size_t)((unsigned char *)z->zs.next_out - (unsigned char *)out);
			if (finish(z) < 0)
				return -1;
			return (ssize_t)total;
		}
		if (rc != Z_OK) {
			if (rc == Z_BUF_ERROR && z->in_left == 0 && z->zs.avail_in == 0)
				return fail(z, "zip entry is truncated", e->name);
			if (rc != Z_BUF_ERROR)
				return fail(z, "zip entry is corrupt (inflate error)", e->name);
		}
		if (z->zs.avail_in == 0 && z->in_left == 0 && got == 0)
			return fail(z, "zip entry is truncated", e->name);
	}
	return (ssize_t)((unsigned char *)z->zs.next_out - (unsigned char *)out);
}
