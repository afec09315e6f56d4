/*
 * lz4pipe.h - the engine of stream-send and stream-recv: a byte stream cut
 * into independent LZ4 frames, compressed or checked on several threads,
 * written in order.
 *
 * Wire format (compressed): a sequence of standard LZ4 frames (lz4frame
 * API), each holding up to frame_size input bytes as one block, with block
 * checksum, content checksum and content size, then one skippable frame
 * (magic LZP_END_MAGIC) that marks the end: "xenpipe\0", the number of
 * plain bytes and of frames (LE64 each).  `lz4 -d` decodes it (it skips
 * the skippable frame).  Plain (not compressed): the input bytes as they
 * are.  The receiver tells the two apart by the first four bytes.
 *
 * Threads: the caller's thread reads and cuts frames, `threads` workers
 * compress (send) or decompress and verify (receive), one writer thread
 * writes the frames in input order.  A receiver writes a frame's bytes only
 * after its checksums verified, so a corrupt frame never reaches the
 * output; every frame before it does.
 *
 * Memory: the receiver's input is hostile.  It takes frames of at most
 * LZP_FRAME_MAX (what lzp_send has always made) with independent blocks,
 * and holds at most LZP_RECV_JOBS of them, each as it came and decoded:
 * its frame buffers never exceed LZP_RECV_MEM (64 MiB), however many
 * threads.  A frame that decodes to the maximum from a few bytes (an LZ4
 * bomb) costs what any other frame costs.
 *
 * Time: besides the idle timeout, a receiver can cut a peer that sends too
 * slowly (min_rate over a window of the time spent waiting for it: a
 * trickle of bytes, each inside the timeout) or takes too long in all
 * (deadline_ms).
 *
 * Over TCP the receiver confirms a complete, verified transfer with one
 * byte back (lzp_recv_confirm); the sender waits for it (lzp_send_finish),
 * so its exit status says whether the receiver got everything.
 *
 * Callers: bin/stream-send.c, bin/stream-recv.c.
 */
#ifndef XENPIPE_LZ4PIPE_H
#define XENPIPE_LZ4PIPE_H

#include <stddef.h>
#include <stdint.h>

struct progress;

#define LZP_FRAME_SIZE		(4u << 20)	/* input bytes per frame */
#define LZP_FRAME_MAX		(4u << 20)	/* largest frame either side makes or takes */
#define LZP_THREADS_MAX		64
/* recv: a frame's buffers, as it came (blocks, their headers and checksums) and decoded */
#define LZP_RECV_JOB_MEM	(2 * LZP_FRAME_MAX + (64u << 10))
#define LZP_RECV_JOBS		7u	/* frames in flight, however many threads */
#define LZP_RECV_MEM		(64u << 20)	/* >= LZP_RECV_JOBS * LZP_RECV_JOB_MEM */

/* One worker per online CPU, within 1..LZP_THREADS_MAX. */
unsigned int lzp_default_threads(void);
#define LZP_END_MAGIC		0x184D2A5Eu	/* skippable frame: the end marker */
#define LZP_END_LEN		24u

struct lzp_opts {
	int compress;		/* send: LZ4 frames; else the plain bytes */
	int level;		/* send: LZ4 level 1 (fast) .. 12 (HC) */
	unsigned int threads;	/* workers, 1..LZP_THREADS_MAX */
	size_t frame_size;	/* send: input bytes per frame, 0 is LZP_FRAME_SIZE */
	uint64_t rate;		/* send: cap on bytes written per second, 0 none */
	int in_timeout_ms;	/* longest wait for input bytes, 0 forever */
	int out_timeout_ms;	/* longest wait to write (a socket), 0 forever */
	uint64_t min_rate;	/* recv: fewest input bytes per second, over any
				   rate_window_ms spent waiting for input; 0 none */
	int rate_window_ms;	/* recv: that window, 0 is 60 s */
	uint64_t deadline_ms;	/* recv: the whole transfer's bound, 0 none */
	struct progress *progress;	/* NULL: none */
};

struct lzp_stats {
	uint64_t plain;		/* stream bytes (read by send, written by recv) */
	uint64_t wire;		/* bytes on the wire (written by send, read by recv) */
	uint64_t frames;	/* LZ4 frames, 0 when plain */
	int compressed;
	uint64_t ns;		/* from start to end */
	const char *tls;	/* the caller's: tls_describe(), NULL none */
};

/*
 * Copy in to out, compressed or plain as o says.  Returns 0 when the input
 * ended and everything was written; -1 with xp_err set.  st is filled in
 * both cases.
 */
int lzp_send(int in, int out, const struct lzp_opts *o, struct lzp_stats *st);

/*
 * Decode what lzp_send wrote (or plain bytes) from in to out.  Returns 0
 * after the end marker and the end of input (plain: the end of input);
 * -1 with xp_err set (XE_STREAM for a bad or truncated transfer, XE_SYS
 * for I/O, and for input that went idle, came slower than min_rate or
 * past deadline_ms).  On failure out has received every frame that
 * verified before the bad one, nothing of it or after.
 */
int lzp_recv(int in, int out, const struct lzp_opts *o, struct lzp_stats *st);

/*
 * --stats FILE: one JSON object with st, the thread count and, for a
 * failed transfer, error (NULL when it succeeded).  0 or -1.
 */
int lzp_stats_write(const char *path, const struct lzp_stats *st,
    unsigned int threads, const char *error);

/* Sender over TCP: close the sending side, wait for the receiver's byte. */
int lzp_send_finish(int sock, int timeout_ms);
/* Receiver over TCP: the transfer arrived whole and was written. */
int lzp_recv_confirm(int sock, int timeout_ms);

#endif
