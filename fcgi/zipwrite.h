/* Streaming zip writer for roster exports, on libarchive: entries are written once, front to back (deflate,
 * sizes in data descriptors), to any sink (file, pipe, HTTP stream); zipw_finish writes the central directory. */
#ifndef RS_ZIPWRITE_H
#define RS_ZIPWRITE_H
#include <stddef.h>

typedef int (*zipw_sink)(void *ud, const void *data, size_t len);   /* 0 ok, -1 error */
typedef struct zipw zipw;

zipw *zipw_new(zipw_sink sink, void *ud);
int zipw_sink_file(void *fp, const void *data, size_t len);        /* sink for a FILE* */
int zipw_begin(zipw *z, const char *name);                         /* start an entry */
int zipw_write(zipw *z, const void *data, size_t len);
int zipw_end(zipw *z);                                             /* finish the entry (data descriptor) */
int zipw_finish(zipw *z);                                          /* central directory + end record */
void zipw_free(zipw *z);
const char *zipw_error(const zipw *z);
unsigned long long zipw_bytes(const zipw *z);                      /* bytes handed to the sink so far */
#endif
