/* libFuzzer harness: the bundle zip reader (zipread.c on libarchive) over arbitrary files: open with the default
 * and with tight limits, then read every entry backwards and forwards as the importer may. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zipread.h"

static void read_all(zipr *z, int i)
{
	static char out[16384];
	if (zipr_entry_open(z, i) < 0) return;
	uint64_t got = 0;
	ssize_t n;
	while ((n = zipr_read(z, out, sizeof out)) > 0) {
		got += (uint64_t)n;
		/* the reader promised never to pass the declared size */
		if (got > zipr_entry(z, i)->usize) __builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz_zip", 0);
		if (fd < 0) return 0;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
	zip_sniff(path);
	struct zip_limits tight = zip_default_limits;
	tight.max_entries = 4;
	tight.max_file = 4096;
	tight.max_total = 8192;
	tight.max_ratio = 10;
	tight.max_name = 32;
	for (int pass = 0; pass < 2; pass++) {
		char err[256];
		zipr *z = zipr_open(path, pass ? &tight : NULL, err, sizeof err);
		if (!z) continue;
		int n = zipr_count(z);
		for (int i = n - 1; i >= 0; i--) read_all(z, i);
		for (int i = 0; i < n; i++) {
			zipr_find(z, zipr_entry(z, i)->name);
			if (!zip_name_safe(zipr_entry(z, i)->name)) __builtin_trap();
		}
		if (n) read_all(z, 0);
		zipr_close(z);
	}
	return 0;
}
