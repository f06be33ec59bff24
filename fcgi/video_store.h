/* Where video files live under cfg.data_dir, and the few file operations the video area needs
 * (append a chunk, move a body file, remove a tree). Paths are built from ids only, never from user names. */
#ifndef RS_VIDEO_STORE_H
#define RS_VIDEO_STORE_H
#include <stddef.h>
#include <sys/types.h>

/* data_dir/uploads/videos/<public_id>.src — the accepted source file */
int video_source_path(char *out, size_t n, const char *public_id);
/* data_dir/hls/<public_id> — the published ladder (served by nginx) */
int video_hls_dir(char *out, size_t n, const char *public_id);
/* data_dir/captions/<public_id> — caption masters, copied into every published ladder */
int video_caption_dir(char *out, size_t n, const char *public_id);
/* data_dir/uploads/parts/<upload_id>.part — a resumable upload being assembled */
int video_part_path(char *out, size_t n, const char *upload_id);

int video_mkdirs(const char *path);                 /* mkdir -p, 0755 */
int video_rmtree(const char *path);                 /* rm -rf (no symlink following); 0 if absent */
/* Append all of src to the file dst (created 0644 if absent); *copied gets the bytes added. In-kernel copy. */
int video_append_file(const char *dst, const char *src, off_t *copied);
/* rename(2), or copy + unlink across file systems. */
int video_move_file(const char *src, const char *dst);
int video_copy_file(const char *src, const char *dst);
off_t video_file_size(const char *path);            /* -1 if missing */
#endif
