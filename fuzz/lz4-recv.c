/*
 * lz4-recv - the receiving side of stream-send/stream-recv: lzp_recv
 * decodes the input (in a memfd) as LZ4 frames and the end marker, or as
 * plain bytes, and writes what verified to /dev/null.  One worker thread
 * (plus lzp's writer), no timeouts: deterministic for a given input.
 */
#include "fuzz.h"
#include "lz4pipe.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzp_opts o = { .threads = 1 };
	struct lzp_stats st;

	lzp_recv(fuzz_fd(data, size), fuzz_devnull(), &o, &st);
	return 0;
}
