/* Zip reader for uploaded roster bundles, on libarchive (docs/architecture.md, "Zip bundles").
 * Untrusted input: the entry count, names, sizes and ratio are checked against limits when the bundle is
 * opened, before a byte is inflated; reading streams one entry at a time in constant memory. */
#ifndef RS_ZIPREAD_H
#define RS_ZIPREAD_H
#include <stdint.h>
#include <sys/types.h>

struct zip_limits {
	uint64_t max_total;      /* sum of uncompressed sizes */
	uint64_t max_file;       /* uncompressed size of one entry */
	unsigned max_ratio;      /* uncompressed / compressed, checked when the bundle holds more than 1 MiB */
	unsigned max_entries;
	unsigned max_name;       /* bytes of an entry name */
};
/* 2 GiB total, 1 GiB a file, ratio 200, 64 entries, 255-byte names */
extern const struct zip_limits zip_default_limits;

struct zip_entry {
	char name[256];
	uint64_t usize;          /* declared uncompressed size (central directory); reading never goes past it */
	int is_dir;
};

typedef struct zipr zipr;

/* Open and check every entry. NULL on error with err filled (err may be NULL). */
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
