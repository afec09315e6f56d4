/*
 * lz4-recv - the receiving side of stream-send/stream-recv: lzp_recv
 * decodes the input (in a memfd) as LZ4 frames and the end marker, or as
 * plain bytes, and writes what verified to /dev/null.  One worker thread
 * (plus lzp's writer), no timeouts: deterministic for a given input.
 * lzp_recv starts its threads on every call; with 512 KiB stacks instead
 * of 8 MiB, ASan clears far less shadow memory for each (x5 the runs).
 */
#include <pthread.h>

#include "fuzz.h"
#include "lz4pipe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_attr_t a;

	(void)argc;
	(void)argv;
	if (pthread_attr_init(&a) != 0 ||
	    pthread_attr_setstacksize(&a, 512 << 10) != 0 ||
	    pthread_setattr_default_np(&a) != 0)
		abort();
	pthread_attr_destroy(&a);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzp_opts o = { .threads = 1 };
	struct lzp_stats st;

	lzp_recv(fuzz_fd(data, size), fuzz_devnull(), &o, &st);
	return 0;
}
