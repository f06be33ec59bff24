/* Video files on disk: id-derived paths under cfg.data_dir and whole-file operations done by the kernel
 * (copy_file_range), so a video never passes through the application's memory. */
#define _XOPEN_SOURCE 700
#include "video_store.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "log.h"

static int path_of(char *out, size_t n, const char *fmt, const char *id)
{
	if (!id || !*id || strchr(id, '/') || strstr(id, "..")) return -1;
	int k = snprintf(out, n, fmt, cfg.data_dir, id);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

int video_source_path(char *out, size_t n, const char *id) { return path_of(out, n, "%s/uploads/videos/%s.src", id); }
int video_hls_dir(char *out, size_t n, const char *id) { return path_of(out, n, "%s/hls/%s", id); }
int video_caption_dir(char *out, size_t n, const char *id) { return path_of(out, n, "%s/captions/%s", id); }
int video_part_path(char *out, size_t n, const char *id) { return path_of(out, n, "%s/uploads/parts/%s.part", id); }

int video_mkdirs(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/') continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	int rc = (flag == FTW_DP) ? rmdir(p) : unlink(p);
	if (rc < 0 && errno != ENOENT) log_warn("rmtree %s: %s", p, strerror(errno));
	return 0;
}

int video_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) return unlink(path);
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int copy_fd(int in, int out, off_t *copied)
{
	off_t total = 0;
	for (;;) {
		ssize_t k = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL) && total == 0) {
			char b[65536];   /* old kernels / odd file systems: plain copy through a small buffer */
			ssize_t r;
			while ((r = read(in, b, sizeof b)) > 0)
				for (ssize_t w = 0; w < r;) {
					ssize_t x = write(out, b + w, (size_t)(r - w));
					if (x < 0) { if (errno == EINTR) continue; return -1; }
					w += x; total += x;
				}
			if (r < 0) return -1;
			break;
		}
		if (k < 0) { if (errno == EINTR) continue; return -1; }
		if (k == 0) break;
		total += k;
	}
	if (copied) *copied = total;
	return 0;
}

int video_append_file(const char *dst, const char *src, off_t *copied)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	if (in < 0) goto out;
	/* not O_APPEND: copy_file_range refuses an O_APPEND target (EBADF) */
	out = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0 || lseek(out, 0, SEEK_END) < 0) goto out;
	if (copy_fd(in, out, copied) < 0) goto out;
	if (fdatasync(out) < 0) goto out;
	rc = 0;
out:
	if (in >= 0) close(in);
	if (out >= 0) close(out);
	return rc;
}

int video_copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	if (in < 0) goto out;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) goto out;
	rc = copy_fd(in, out, NULL);
out:
	if (in >= 0) close(in);
	if (out >= 0) close(out);
	return rc;
}

int video_move_file(const char *src, const char *dst)
{
	if (rename(src, dst) == 0) { chmod(dst, 0644); return 0; }
	if (errno != EXDEV) return -1;
	if (video_copy_file(src, dst) < 0) { unlink(dst); return -1; }
	unlink(src);
	return 0;
}

off_t video_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : st.st_size;
}
