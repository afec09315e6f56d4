/*
 * fuzz.h - what the libFuzzer harnesses in fuzz/ share: the input as a file
 * descriptor (the library reads streams from fds) and a read of every byte
 * the library hands back, so that AddressSanitizer checks its bounds.
 * Each fuzz/NAME.c is one harness, built into build-fuzz/NAME by `make
 * fuzz`; a line " * fuzz-flags: ..." in its top comment gives fuzz/run
 * extra libFuzzer flags.
 */
#ifndef XENPIPE_FUZZ_H
#define XENPIPE_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data in a memfd (one per process, reused), at offset 0. */
static inline int
fuzz_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	size_t off = 0;
	ssize_t n;

	if (fd < 0 && (fd = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0)
		abort();
	while (off < size) {
		if ((n = pwrite(fd, data + off, size - off, off)) <= 0)
			abort();
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* /dev/null, opened once. */
static inline int
fuzz_devnull(void)
{
	static int fd = -1;

	if (fd < 0 && (fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	return fd;
}

/* Read every byte of p[0..len): ASan reports any that is out of bounds. */
static inline void
fuzz_touch(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x ^= b[i];
	__asm__ volatile("" : : "r"(x));	/* the reads may not be elided */
}

#endif
