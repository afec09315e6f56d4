/*
 * io.h - whole reads and writes on a descriptor.  A signal that asked the
 * program to stop (xp_interrupted, err.h) ends them with EINTR; any other
 * interruption is retried.  The stream reader and writer and lz4pipe keep
 * their own loops, which also count offsets, pace and splice.
 * Callers: handover.c, xen_save.c, xen_restore.c, stream.c, lz4pipe.c,
 * bin/dom-resume.c.
 */
#ifndef XENPIPE_IO_H
#define XENPIPE_IO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write all len bytes.  0, or -1 with errno (written says how many went,
 * may be NULL).
 */
int io_write_all(int fd, const void *buf, size_t len, size_t *written);
/* Read up to len bytes, fewer only at end of input; -1 with errno. */
ssize_t io_read_full(int fd, void *buf, size_t len);
/*
 * A file of at most max bytes, malloc'd and NUL-terminated (*len without
 * the NUL).  -1 with errno (EFBIG over max).
 */
int io_read_file(const char *path, size_t max, char **out, size_t *len);
/*
 * A pipe of 1 MiB instead of 64 KiB when fd is a smaller pipe (best
 * effort): a stage then wakes once per PAGE_DATA record, not sixteen times.
 */
#define IO_PIPE_SIZE	(1 << 20)
void io_widen_pipe(int fd);

#endif
