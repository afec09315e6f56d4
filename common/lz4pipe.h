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
#define LZP_FRAME_MAX		(64u << 20)	/* largest frame a receiver decodes */
#define LZP_THREADS_MAX		64

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
	struct progress *progress;	/* NULL: none */
};

struct lzp_stats {
	uint64_t plain;		/* stream bytes (read by send, written by recv) */
	uint64_t wire;		/* bytes on the wire (written by send, read by recv) */
	uint64_t frames;	/* LZ4 frames, 0 when plain */
	int compressed;
	uint64_t ns;		/* from start to end */
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
 * for I/O).  On failure out has received every frame that verified before
 * the bad one, nothing of it or after.
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
