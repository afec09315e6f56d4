/* io.c - whole reads and writes; see io.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "io.h"

/* An EINTR that the program did not ask for is retried. */
static int
retry(void)
{
	return errno == EINTR && !xp_interrupted;
}

int
io_write_all(int fd, const void *buf, size_t len, size_t *written)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && retry())
			continue;
		if (n < 0)
			break;
		off += n;
	}
	if (written != NULL)
		*written = off;
	return off == len ? 0 : -1;
}

ssize_t
io_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && retry())
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

int
io_read_file(const char *path, size_t max, char **out, size_t *len)
{
	char *buf;
	ssize_t n;
	int fd, e;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((buf = malloc(max + 2)) == NULL) {
		close(fd);
		return -1;
	}
	/* one byte more than max tells a file that is too big */
	n = io_read_full(fd, buf, max + 1);
	e = errno;
	close(fd);
	if (n < 0 || (size_t)n > max) {
		free(buf);
		errno = n < 0 ? e : EFBIG;
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

void
io_widen_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl(fd, F_GETPIPE_SZ) < IO_PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, IO_PIPE_SIZE);
}
