/* Streaming zip reader (stored + deflate via zlib) for uploaded roster bundles.
 * Untrusted input: every size, count, name and ratio is checked against limits before anything is inflated. */
#ifndef RS_ZIPREAD_H
#define RS_ZIPREAD_H
#include <stdint.h>
#include <sys/types.h>

struct zip_limits {
	uint64_t max_total;      /* sum of uncompressed sizes */
	uint64_t max_file;       /* uncompressed size of one entry */
	unsigned max_ratio;      /* uncompressed / compressed, checked for entries above 1 MiB */
	unsigned max_entries;
	unsigned max_name;       /* bytes of an entry name */
};
/* 2 GiB total, 1 GiB a file, ratio 200, 64 entries, 255-byte names */
extern const struct zip_limits zip_default_limits;

struct zip_entry {
	char name[256];
	uint64_t csize, usize, local_off;
	uint32_t crc;
	uint16_t method, flags;
	int is_dir;
};

typedef struct zipr zipr;

/* Open and read the central directory. NULL on error with err filled (err may be NULL). */
zipr *zipr_open(const char *path, const struct zip_limits *lim, char *err, size_t errlen);
void zipr_close(zipr *z);
int zipr_count(const zipr *z);
const struct zip_entry *zipr_entry(const zipr *z, int i);
int zipr_find(const zipr *z, const char *name);         /* index or -1 */
/* Start streaming entry i (closes any previous one). 0 / -1. */
int zipr_entry_open(zipr *z, int i);
/* Read up to n uncompressed bytes: >0 bytes, 0 at the end (CRC and size verified), -1 on error. */
ssize_t zipr_read(zipr *z, void *out, size_t n);
const char *zipr_error(const zipr *z);
/* 1 if the name is safe to use: relative, no "..", no backslash, no drive letter, no control characters. */
int zip_name_safe(const char *name);
/* 1 if the file starts with a zip local header or end-of-central-directory signature. */
int zip_sniff(const char *path);
#endif
