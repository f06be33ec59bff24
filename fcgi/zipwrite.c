/* Streaming zip writer: local header with bit 3 set, deflated data, data descriptor; the central directory
 * collects (name, crc, sizes, offset) and is written at the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "zipwrite.h"

struct zw_ent { char *name; uint32_t crc, csize, usize, off; };

struct zipw {
	zipw_sink sink;
	void *ud;
	unsigned long long pos;
	struct zw_ent *e;
	int n, cap, open;
	z_stream zs;
	uint32_t crc;
	unsigned long long usize, csize;
	uint16_t dtime, ddate;
	char err[128];
	unsigned char out[65536];
};

static void put16(unsigned char *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

static int emit(zipw *z, const void *d, size_t n)
{
	if (n && z->sink(z->ud, d, n) < 0) {
		snprintf(z->err, sizeof z->err, "write failed");
		return -1;
	}
	z->pos += n;
	return 0;
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
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	z->dtime = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
	z->ddate = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
	return z;
}

const char *zipw_error(const zipw *z) { return z->err; }
unsigned long long zipw_bytes(const zipw *z) { return z->pos; }

int zipw_begin(zipw *z, const char *name)
{
	unsigned char h[30];
	size_t nlen = strlen(name);
	if (z->open || nlen == 0 || nlen > 255) {
		snprintf(z->err, sizeof z->err, "bad entry");
		return -1;
	}
	if (z->n == z->cap) {
		int cap = z->cap ? z->cap * 2 : 16;
		struct zw_ent *e = realloc(z->e, (size_t)cap * sizeof *e);
		if (!e)
			return -1;
		z->e = e;
		z->cap = cap;
	}
	if (z->pos > 0xffffffffULL) {
		snprintf(z->err, sizeof z->err, "zip larger than 4 GiB (zip64 not supported)");
		return -1;
	}
	struct zw_ent *e = &z->e[z->n];
	memset(e, 0, sizeof *e);
	e->name = strdup(name);
	e->off = (uint32_t)z->pos;
	memset(h, 0, sizeof h);
	put32(h, 0x04034b50);
	put16(h + 4, 20);
	put16(h + 6, 0x0808);      /* data descriptor + UTF-8 names */
	put16(h + 8, 8);
	put16(h + 10, z->dtime);
	put16(h + 12, z->ddate);
	put16(h + 26, (unsigned)nlen);
	memset(&z->zs, 0, sizeof z->zs);
	if (deflateInit2(&z->zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z->open = 1;
	z->crc = crc32(0, NULL, 0);
	z->usize = z->csize = 0;
	z->n++;
	if (emit(z, h, 30) < 0 || emit(z, name, nlen) < 0)
		return -1;
	return 0;
}

static int pump(zipw *z, int flush)
{
	int rc;
	do {
		z->zs.next_out = z->out;
		z->zs.avail_out = sizeof z->out;
		rc = deflate(&z->zs, flush);
		if (rc == Z_STREAM_ERROR)
			return -1;
		size_t got = sizeof z->out - z->zs.avail_out;
		z->csize += got;
		if (emit(z, z->out, got) < 0)
			return -1;
	} while (z->zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

int zipw_write(zipw *z, const void *data, size_t len)
{
	if (!z->open)
		return -1;
	z->crc = crc32(z->crc, data, (uInt)len);
	z->usize += len;
	z->zs.next_in = (unsigned char *)data;
	z->zs.avail_in = (uInt)len;
	return pump(z, Z_NO_FLUSH);
}

int zipw_end(zipw *z)
{
	unsigned char d[16];
	if (!z->open)
		return -1;
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	int rc = pump(z, Z_FINISH);
	deflateEnd(&z->zs);
	z->open = 0;
	if (rc < 0)
		return -1;
	if (z->usize > 0xffffffffULL || z->csize > 0xffffffffULL) {
		snprintf(z->err, sizeof z->err, "zip entry larger than 4 GiB (zip64 not supported)");
		return -1;
	}
	struct zw_ent *e = &z->e[z->n - 1];
	e->crc = z->crc;
	e->csize = (uint32_t)z->csize;
	e->usize = (uint32_t)z->usize;
	put32(d, 0x08074b50);
	put32(d + 4, e->crc);
	put32(d + 8, e->csize);
	put32(d + 12, e->usize);
	return emit(z, d, 16);
}

int zipw_finish(zipw *z)
{
	unsigned char h[46], end[22];
	if (z->open && zipw_end(z) < 0)
		return -1;
	unsigned long long cd = z->pos;
	for (int i = 0; i < z->n; i++) {
		struct zw_ent *e = &z->e[i];
		size_t nlen = strlen(e->name);
		memset(h, 0, sizeof h);
		put32(h, 0x02014b50);
		put16(h + 4, 20);
		put16(h + 6, 20);
		put16(h + 8, 0x0808);
		put16(h + 10, 8);
		put16(h + 12, z->dtime);
		put16(h + 14, z->ddate);
		put32(h + 16, e->crc);
		put32(h + 20, e->csize);
		put32(h + 24, e->usize);
		put16(h + 28, (unsigned)nlen);
		put32(h + 42, e->off);
		if (emit(z, h, 46) < 0 || emit(z, e->name, nlen) < 0)
			return -1;
	}
	if (z->pos > 0xffffffffULL) {
		snprintf(z->err, sizeof z->err, "zip larger than 4 GiB (zip64 not supported)");
		return -1;
	}
	memset(end, 0, sizeof end);
	put32(end, 0x06054b50);
	put16(end + 8, (unsigned)z->n);
	put16(end + 10, (unsigned)z->n);
	put32(end + 12, (uint32_t)(z->pos - cd));
	put32(end + 16, (uint32_t)cd);
	return emit(z, end, 22);
}

void zipw_free(zipw *z)
{
	if (!z)
		return;
	if (z->open)
		deflateEnd(&z->zs);
	for (int i = 0; i < z->n; i++)
		free(z->e[i].name);
	free(z->e);
	free(z);
}
