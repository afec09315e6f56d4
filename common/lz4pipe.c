/* lz4pipe.c - parallel LZ4 framing of a byte stream; see lz4pipe.h. */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "libxl_json.h"
#include "lz4pipe.h"
#include "progress.h"

#define LZ4_MAGIC	0x184D2204u
#define SKIP_MAGIC_MIN	0x184D2A50u
#define SKIP_MAGIC_MAX	0x184D2A5Fu
/*
 * send: a partial frame goes after this much silence.  A handover's END and
 * its go are such tails, inside the guest's pause: 50 ms cost it 100.
 */
#define FLUSH_MS	5
#define SLICE_MS	200		/* longest poll between checks of abort */
#define OUT_GONE_MS	2000		/* recv: for the input to end, once out's reader went */
#define PLAIN_CHUNK	(1u << 20)	/* recv: plain bytes per job */
#define RATE_SLOTS	8		/* recv: --min-rate's window in slots */
#define RATE_WINDOW_MS	60000		/* its default */
#define CONFIRM_BYTE	'K'

static const char end_tag[8] = "xenpipe";

_Static_assert(LZP_RECV_JOBS * (uint64_t)LZP_RECV_JOB_MEM <= LZP_RECV_MEM,
    "the receiver's frames fit its budget");
_Static_assert(LZP_RECV_JOBS >= 3, "one frame read, one decoded, one written");
/*
 * recv: a job's input buffer holds a frame as it came: a header (19 bytes
 * at most), blocks of at most what they decode to (at most
 * LZP_FRAME_MAX / 64 KiB of them) with 8 bytes each of size and checksum,
 * the end mark and the content checksum.  Its output buffer holds
 * LZP_FRAME_MAX: room for the largest block after every block but the
 * last, so that LZ4F decodes in place and never into its own buffers.
 */
#define RECV_IN_CAP	(LZP_RECV_JOB_MEM - LZP_FRAME_MAX)
#define RECV_OUT_CAP	LZP_FRAME_MAX
_Static_assert(RECV_IN_CAP >= LZP_FRAME_MAX + 19 + 8 +
    (LZP_FRAME_MAX >> 16) * 8, "a whole frame fits a job's input buffer");

/* wait_fd's answers */
enum wait { W_ERR = -1, W_IDLE, W_READY, W_SLOW, W_LATE };

enum mode { M_SEND_LZ4, M_SEND_PLAIN, M_RECV_LZ4, M_RECV_PLAIN };

/* One failure, kept by the thread that saw it: xp_err is not thread-safe. */
struct fail {
	int set;
	enum xp_errclass cls;
	char msg[300];
};

struct job {
	uint64_t seq;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_cap;
	size_t content;		/* recv: decoded size bound (or exact) */
	int sized;		/* recv: the frame declared content */
	uint64_t offset;	/* recv: of the frame in the input */
	const uint8_t *w;	/* what the writer writes */
	size_t w_len;
	struct fail fail;	/* a worker's verdict on this frame */
	struct job *next;
};

struct lzp {
	enum mode mode;
	const struct lzp_opts *o;
	int in, out;
	size_t frame_size;

	pthread_mutex_t mu;
	pthread_cond_t cv;		/* any change; few waiters, broadcast */
	struct job *jobs;
	unsigned int njobs;
	struct job *free_list;
	struct job *work_head, *work_tail;
	struct job **done;		/* done[seq % njobs] */
	uint64_t produced;		/* jobs handed to workers */
	uint64_t written;		/* jobs written, in order */
	int eof;			/* the reader is finished */
	int abort;			/* stop now: the writer failed */

	struct fail rfail;		/* reader */
	struct fail wfail;		/* writer (or a frame it met) */

	/* reader-only */
	uint8_t first[4];		/* recv: the bytes that told the mode */
	size_t nfirst;
	uint64_t rd_bytes;
	uint64_t frames;
	int end_seen;
	uint64_t end_plain, end_frames;
	int watch_out;			/* recv: give up when out's reader goes */
	uint64_t out_gone_ns;		/* when it went (wait_fd) */
	/* recv --min-rate: the input bytes over the time spent waiting for them */
	uint64_t slot_ns;		/* the window / RATE_SLOTS; 0: no check */
	uint64_t wait_ns;		/* waited for input so far */
	uint64_t slot;			/* the slot wait_ns is in */
	uint64_t at_slot[RATE_SLOTS + 1];	/* rd_bytes as each slot began */
	uint64_t slow_bytes, slow_ns;	/* the window that was too slow */
	uint64_t deadline_ns;		/* recv: the whole transfer's end; 0 none */
	/* writer-only */
	uint64_t wr_plain, wr_wire;
	uint64_t t0, next_ns;		/* rate pacing */
	uint64_t paced;
};

static void
failf(struct fail *f, enum xp_errclass cls, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
failf(struct fail *f, enum xp_errclass cls, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->set)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	if (errnum != 0 && n >= 0 && (size_t)n < sizeof(f->msg))
		snprintf(f->msg + n, sizeof(f->msg) - n, ": %s",
		    strerror(errnum));
	f->cls = cls;
	f->set = 1;
}

static void
le32_put(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t
le32_get(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

static uint64_t
le64_get(const uint8_t *p)
{
	return le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static int
aborted(struct lzp *e)
{
	int a;

	pthread_mutex_lock(&e->mu);
	a = e->abort;
	pthread_mutex_unlock(&e->mu);
	return a;
}

static int
grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (*cap >= need)
		return 0;
	if ((p = realloc(*buf, need)) == NULL)
		return -1;
	*buf = p;
	*cap = need;
	return 0;
}

/* ---------------- I/O with idle timeouts ---------------- */

/*
 * recv --min-rate: waited ns more for input.  0, or -1 when the input came
 * slower than min_rate over the last window of waiting for it (a trickle,
 * each byte inside the idle timeout).  The window starts counting once
 * that much waiting was done; time the output held the reader back is not
 * the peer's and does not count.  Reader-only.
 */
static int
rate_check(struct lzp *e, uint64_t waited)
{
	uint64_t s, first, span, got;
	unsigned int n = 0;

	if (e->slot_ns == 0)
		return 0;
	e->wait_ns += waited;
	s = e->wait_ns / e->slot_ns;
	/* no byte arrives during a wait: every slot it crossed began here */
	while (e->slot < s && n++ <= RATE_SLOTS)
		e->at_slot[++e->slot % (RATE_SLOTS + 1)] = e->rd_bytes;
	e->slot = s;
	if (s < RATE_SLOTS)
		return 0;
	first = s - RATE_SLOTS;
	span = e->wait_ns - first * e->slot_ns;
	got = e->rd_bytes - e->at_slot[first % (RATE_SLOTS + 1)];
	if ((double)got * 1e9 >= (double)e->o->min_rate * span)
		return 0;
	e->slow_bytes = got;
	e->slow_ns = span;
	return -1;
}

/*
 * Wait until fd is ready for ev.  W_READY, W_IDLE after ms (0: never),
 * W_ERR aborted or poll failed (errno).  A receiver's whole-transfer
 * deadline ends any wait with W_LATE; waiting for input, W_SLOW is input
 * slower than --min-rate (rate_check).  Waiting for input, a receiver also
 * watches its output: once that output's reader is gone, the input has
 * OUT_GONE_MS more to end (an end marker, EOF), then it is W_ERR with
 * EPIPE.  A relay that waited on would keep the pipeline, and a sender
 * waiting for its receiver's answer, alive.
 */
static enum wait
wait_fd(struct lzp *e, int fd, short ev, int ms)
{
	uint64_t deadline = ms > 0 ? now_ns() + (uint64_t)ms * 1000000 : 0;
	struct pollfd pfd[2] = { { .fd = fd, .events = ev },
	    { .fd = e->watch_out && fd == e->in ? e->out : -1 } };
	uint64_t t, gone_end;
	int rc, slice, input = fd == e->in;

	for (;;) {
		if (aborted(e)) {
			errno = ECANCELED;
			return W_ERR;
		}
		slice = SLICE_MS;
		t = now_ns();
		if (deadline != 0) {
			if (t >= deadline)
				return W_IDLE;
			if ((deadline - t) / 1000000 < (uint64_t)slice)
				slice = (int)((deadline - t) / 1000000) + 1;
		}
		if (e->deadline_ns != 0) {
			if (t >= e->deadline_ns)
				return W_LATE;
			if ((e->deadline_ns - t) / 1000000 < (uint64_t)slice)
				slice = (int)((e->deadline_ns - t) / 1000000) + 1;
		}
		if (e->out_gone_ns != 0 && fd == e->in) {
			gone_end = e->out_gone_ns + OUT_GONE_MS * 1000000ULL;
			if (t >= gone_end) {
				errno = EPIPE;
				return W_ERR;
			}
			if ((gone_end - t) / 1000000 < (uint64_t)slice)
				slice = (int)((gone_end - t) / 1000000) + 1;
			pfd[1].fd = -1;
		}
		rc = poll(pfd, 2, slice);
		if (rc < 0 && errno != EINTR)
			return W_ERR;
		/* silence is the idle timeout's to report, not the rate's */
		if (rc == 0 && deadline != 0 && now_ns() >= deadline)
			return W_IDLE;
		if (input && rate_check(e, now_ns() - t) < 0)
			return W_SLOW;
		if (rc > 0 && (pfd[1].revents & (POLLERR | POLLHUP))) {
			e->out_gone_ns = now_ns();
			continue;
		}
		if (rc > 0)
			return W_READY;
	}
}

/* recv: wait for input.  0 ready, -1 failed (rfail set).  Reader-only. */
static int
wait_in(struct lzp *e)
{
	unsigned long long off = e->rd_bytes;
	double secs;

	switch (wait_fd(e, e->in, POLLIN, e->o->in_timeout_ms)) {
	case W_READY:
		return 0;
	case W_IDLE:
		failf(&e->rfail, XE_SYS, 0, "nothing received for %d s "
		    "(--timeout) at offset %llu", e->o->in_timeout_ms / 1000,
		    off);
		break;
	case W_SLOW:
		secs = e->slow_ns / 1e9;
		failf(&e->rfail, XE_SYS, 0, "%llu bytes in the last %.0f s "
		    "(%.0f bytes/s), slower than --min-rate %llu: cut off at "
		    "offset %llu", (unsigned long long)e->slow_bytes, secs,
		    e->slow_bytes / secs, (unsigned long long)e->o->min_rate,
		    off);
		break;
	case W_LATE:
		failf(&e->rfail, XE_SYS, 0, "not done within --deadline %llu s:"
		    " cut off at offset %llu", (unsigned long long)
		    (e->o->deadline_ms / 1000), off);
		break;
	case W_ERR:
		failf(&e->rfail, XE_SYS, errno, "%s", errno == EPIPE ?
		    "waiting for input: the reader of the output is gone" :
		    "waiting for input");
		break;
	}
	return -1;
}

/* Read exactly len bytes.  1 done, 0 clean end before any byte, -1 failure (rfail set). */
static int
read_full(struct lzp *e, void *buf, size_t len, const char *what)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (wait_in(e) < 0)
			return -1;
		n = read(e->in, p + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			failf(&e->rfail, XE_SYS, errno, "read at offset %llu",
			    (unsigned long long)e->rd_bytes);
			return -1;
		}
		if (n == 0) {
			if (got == 0 && what == NULL)
				return 0;
			failf(&e->rfail, XE_STREAM, 0, "input ended inside %s "
			    "at offset %llu: the connection was cut or the "
			    "sender died", what ? what : "a frame",
			    (unsigned long long)e->rd_bytes);
			return -1;
		}
		got += n;
		e->rd_bytes += n;
	}
	return 1;
}

/* Write everything, pacing to o->rate.  0 or -1 (wfail set). */
static int
write_all(struct lzp *e, const uint8_t *p, size_t len)
{
	uint64_t rate = e->o->rate;
	size_t piece;
	ssize_t n;
	enum wait rc;

	while (len > 0) {
		piece = len;
		if (rate != 0) {
			uint64_t t = now_ns(), lim = rate / 20;

			if (lim < 4096)
				lim = 4096;
			if (piece > lim)
				piece = lim;
			if (e->t0 == 0)
				e->t0 = t;
			/* bytes paced so far may leave only once their time came */
			e->next_ns = e->t0 + (uint64_t)((double)e->paced * 1e9 /
			    rate);
			if (e->next_ns > t) {
				struct timespec ts;
				uint64_t d = e->next_ns - t;

				ts.tv_sec = d / 1000000000;
				ts.tv_nsec = d % 1000000000;
				nanosleep(&ts, NULL);
			}
		}
		rc = wait_fd(e, e->out, POLLOUT, e->o->out_timeout_ms);
		if (rc == W_IDLE) {
			failf(&e->wfail, XE_SYS, 0, "could not send for %d s "
			    "(--timeout): the receiver stopped reading or the "
			    "link is down", e->o->out_timeout_ms / 1000);
			return -1;
		}
		if (rc == W_LATE) {
			failf(&e->wfail, XE_SYS, 0, "not done within --deadline "
			    "%llu s: the output was not taken, %llu bytes "
			    "written", (unsigned long long)(e->o->deadline_ms /
			    1000), (unsigned long long)e->wr_plain);
			return -1;
		}
		if (rc != W_READY) {
			failf(&e->wfail, XE_SYS, errno, "write");
			return -1;
		}
		n = write(e->out, p, piece);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			failf(&e->wfail, XE_SYS, errno, "write");
			return -1;
		}
		p += n;
		len -= n;
		e->paced += n;
	}
	return 0;
}

/* ---------------- the job queues ---------------- */

static struct job *
get_free(struct lzp *e)
{
	struct job *j;

	pthread_mutex_lock(&e->mu);
	while (e->free_list == NULL && !e->abort)
		pthread_cond_wait(&e->cv, &e->mu);
	j = e->abort ? NULL : e->free_list;
	if (j != NULL)
		e->free_list = j->next;
	pthread_mutex_unlock(&e->mu);
	return j;
}

static void
put_free(struct lzp *e, struct job *j)
{
	pthread_mutex_lock(&e->mu);
	j->next = e->free_list;
	e->free_list = j;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static void
put_work(struct lzp *e, struct job *j)
{
	pthread_mutex_lock(&e->mu);
	j->seq = e->produced++;
	j->next = NULL;
	memset(&j->fail, 0, sizeof(j->fail));
	if (e->work_tail != NULL)
		e->work_tail->next = j;
	else
		e->work_head = j;
	e->work_tail = j;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* ---------------- the workers ---------------- */

static void
compress_job(struct lzp *e, LZ4F_cctx *cctx, struct job *j)
{
	LZ4F_preferences_t prefs;
	size_t cap, n, pos = 0;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max4MB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	prefs.frameInfo.contentSize = j->in_len;
	prefs.compressionLevel = e->o->level;
	prefs.autoFlush = 1;
	cap = LZ4F_compressFrameBound(j->in_len, &prefs);
	if (grow(&j->out, &j->out_cap, cap) < 0) {
		failf(&j->fail, XE_SYS, ENOMEM, "frame buffer");
		return;
	}
	n = LZ4F_compressBegin(cctx, j->out, cap, &prefs);
	if (LZ4F_isError(n))
		goto lz4err;
	pos = n;
	n = LZ4F_compressUpdate(cctx, j->out + pos, cap - pos, j->in,
	    j->in_len, NULL);
	if (LZ4F_isError(n))
		goto lz4err;
	pos += n;
	n = LZ4F_compressEnd(cctx, j->out + pos, cap - pos, NULL);
	if (LZ4F_isError(n))
		goto lz4err;
	pos += n;
	j->w = j->out;
	j->w_len = pos;
	return;
lz4err:
	failf(&j->fail, XE_SYS, 0, "lz4: %s", LZ4F_getErrorName(n));
}

static int
decompress_job(LZ4F_dctx **dctx, struct job *j)
{
	size_t in_pos = 0, out_pos = 0, ds, ss, rc;

	/* the job's whole allowance, once (see RECV_OUT_CAP) */
	if (grow(&j->out, &j->out_cap, RECV_OUT_CAP) < 0) {
		failf(&j->fail, XE_SYS, ENOMEM, "frame buffer");
		return 0;
	}
	do {
		ds = j->out_cap - out_pos;
		ss = j->in_len - in_pos;
		rc = LZ4F_decompress(*dctx, j->out + out_pos, &ds,
		    j->in + in_pos, &ss, NULL);
		if (LZ4F_isError(rc))
			goto bad;
		in_pos += ss;
		out_pos += ds;
	} while (rc != 0 && (ss != 0 || ds != 0));
	if (rc != 0 || in_pos != j->in_len || out_pos > j->content ||
	    (j->sized && out_pos != j->content)) {
		failf(&j->fail, XE_STREAM, 0, "frame %llu at offset %llu: "
		    "decodes to other than it declares", (unsigned long long)
		    j->seq, (unsigned long long)j->offset);
		goto reset;
	}
	j->w = j->out;
	j->w_len = out_pos;
	return 0;
bad:
	failf(&j->fail, XE_STREAM, 0, "frame %llu at offset %llu: %s (%s)",
	    (unsigned long long)j->seq, (unsigned long long)j->offset,
	    strstr(LZ4F_getErrorName(rc), "hecksum") != NULL ?
	    "checksum error, the data was damaged" : "corrupt LZ4 frame",
	    LZ4F_getErrorName(rc));
reset:
	/* a failed context cannot be reused: start a fresh one */
	LZ4F_freeDecompressionContext(*dctx);
	if (LZ4F_isError(LZ4F_createDecompressionContext(dctx, LZ4F_VERSION)))
		*dctx = NULL;
	return 0;
}

static void *
worker(void *arg)
{
	struct lzp *e = arg;
	LZ4F_cctx *cctx = NULL;
	LZ4F_dctx *dctx = NULL;
	struct job *j;
	int ctx_ok = 1;

	if (e->mode == M_SEND_LZ4)
		ctx_ok = !LZ4F_isError(LZ4F_createCompressionContext(&cctx,
		    LZ4F_VERSION));
	else if (e->mode == M_RECV_LZ4)
		ctx_ok = !LZ4F_isError(LZ4F_createDecompressionContext(&dctx,
		    LZ4F_VERSION));
	for (;;) {
		pthread_mutex_lock(&e->mu);
		while (e->work_head == NULL && !e->abort && !e->eof)
			pthread_cond_wait(&e->cv, &e->mu);
		j = e->abort ? NULL : e->work_head;
		if (j != NULL) {
			e->work_head = j->next;
			if (e->work_head == NULL)
				e->work_tail = NULL;
		}
		pthread_mutex_unlock(&e->mu);
		if (j == NULL)
			break;
		if (!ctx_ok || (e->mode == M_RECV_LZ4 && dctx == NULL))
			failf(&j->fail, XE_SYS, ENOMEM, "lz4 context");
		else if (e->mode == M_SEND_LZ4)
			compress_job(e, cctx, j);
		else if (e->mode == M_RECV_LZ4)
			decompress_job(&dctx, j);
		else {
			j->w = j->in;
			j->w_len = j->in_len;
		}
		pthread_mutex_lock(&e->mu);
		e->done[j->seq % e->njobs] = j;
		pthread_cond_broadcast(&e->cv);
		pthread_mutex_unlock(&e->mu);
	}
	LZ4F_freeCompressionContext(cctx);
	LZ4F_freeDecompressionContext(dctx);
	return NULL;
}

/* ---------------- the writer ---------------- */

static void *
writer(void *arg)
{
	struct lzp *e = arg;
	struct job *j;
	int send = e->mode == M_SEND_LZ4 || e->mode == M_SEND_PLAIN;

	for (;;) {
		pthread_mutex_lock(&e->mu);
		for (;;) {
			j = e->done[e->written % e->njobs];
			if (e->abort || (j != NULL && j->seq == e->written) ||
			    (e->eof && e->written == e->produced))
				break;
			pthread_cond_wait(&e->cv, &e->mu);
		}
		if (e->abort || j == NULL || j->seq != e->written) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		e->done[e->written % e->njobs] = NULL;
		pthread_mutex_unlock(&e->mu);

		if (j->fail.set) {
			e->wfail = j->fail;
			goto stop;
		}
		if (write_all(e, j->w, j->w_len) < 0)
			goto stop;
		if (send) {
			e->wr_plain += j->in_len;
			e->wr_wire += j->w_len;
		} else {
			e->wr_plain += j->w_len;
			e->wr_wire += j->in_len;
		}
		progress_transfer(e->o->progress, e->wr_plain, e->wr_wire);
		pthread_mutex_lock(&e->mu);
		e->written++;
		pthread_mutex_unlock(&e->mu);
		put_free(e, j);
	}
	return NULL;
stop:
	pthread_mutex_lock(&e->mu);
	e->abort = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	put_free(e, j);
	return NULL;
}

/* ---------------- the readers ---------------- */

/* send: fill one frame; a partial one goes when the input pauses. 1, 0 at end, -1. */
static int
read_chunk(struct lzp *e, struct job *j)
{
	ssize_t n;
	enum wait rc;

	j->in_len = 0;
	while (j->in_len < e->frame_size) {
		rc = wait_fd(e, e->in, POLLIN, j->in_len > 0 ? FLUSH_MS : 0);
		if (rc == W_IDLE)
			break;
		if (rc != W_READY) {	/* a sender has no deadline, no min_rate */
			if (errno != ECANCELED)
				failf(&e->rfail, XE_SYS, errno, "poll");
			return -1;
		}
		n = read(e->in, j->in + j->in_len, e->frame_size - j->in_len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			failf(&e->rfail, XE_SYS, errno, "read");
			return -1;
		}
		if (n == 0)
			break;
		j->in_len += n;
		e->rd_bytes += n;
	}
	return j->in_len > 0;
}

/* recv: the rest of a skippable frame whose magic and size were read. */
static int
read_skippable(struct lzp *e, uint32_t magic, uint32_t size)
{
	uint8_t buf[4096];
	uint32_t n;

	if (magic == LZP_END_MAGIC && size == LZP_END_LEN) {
		if (read_full(e, buf, LZP_END_LEN, "the end marker") < 0)
			return -1;
		if (memcmp(buf, end_tag, sizeof(end_tag)) == 0) {
			e->end_seen = 1;
			e->end_plain = le64_get(buf + 8);
			e->end_frames = le64_get(buf + 16);
		}
		return 0;
	}
	while (size > 0) {	/* someone else's metadata: skip it, as lz4 -d does */
		n = size < sizeof(buf) ? size : sizeof(buf);
		if (read_full(e, buf, n, "a skippable frame") < 0)
			return -1;
		size -= n;
	}
	return 0;
}

/*
 * recv: one LZ4 frame into j->in, checked for shape (not yet for content:
 * a worker does that).  magic was read.  0 or -1.
 */
static int
read_frame(struct lzp *e, struct job *j, const uint8_t *magic)
{
	static const size_t block_max[8] = { 0, 0, 0, 0, 64 << 10, 256 << 10,
	    1 << 20, 4 << 20 };
	uint64_t off = e->rd_bytes - 4;
	size_t hlen = 7, bmax, bound = 0, blen, limit;
	uint64_t cs;
	uint8_t flg, bd, *p;
	uint32_t bsize;
	int bcsum;

	j->offset = off;
	/* the job's whole allowance, once: buffers never grow past it */
	if (grow(&j->in, &j->in_cap, RECV_IN_CAP) < 0)
		goto nomem;
	memcpy(j->in, magic, 4);
	if (read_full(e, j->in + 4, 2, "a frame header") < 0)
		return -1;
	flg = j->in[4];
	bd = j->in[5];
	if ((flg >> 6) != 1 || (flg & 0x02) || (bd & 0x8f) ||
	    (bmax = block_max[(bd >> 4) & 7]) == 0) {
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu: bad "
		    "LZ4 frame header", (unsigned long long)off);
		return -1;
	}
	if (!(flg & 0x04)) {
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu has no "
		    "content checksum: refusing data that cannot be verified",
		    (unsigned long long)off);
		return -1;
	}
	if (flg & 0x01) {
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu needs a "
		    "dictionary", (unsigned long long)off);
		return -1;
	}
	if (!(flg & 0x20)) {	/* LZ4F would keep their history in its own buffers */
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu has "
		    "linked blocks: not written by stream-send (lz4 -d "
		    "decodes it)", (unsigned long long)off);
		return -1;
	}
	bcsum = (flg & 0x10) != 0;
	if (flg & 0x08)
		hlen += 8;
	if (read_full(e, j->in + 6, hlen - 6, "a frame header") < 0)
		return -1;
	/* LZ4F's convention: a content size of 0 is none */
	cs = flg & 0x08 ? le64_get(j->in + 6) : 0;
	j->sized = 0;
	if (cs > LZP_FRAME_MAX)
		goto toobig;
	j->content = cs;
	j->sized = cs != 0;
	/* no more blocks than the content takes, none past RECV_OUT_CAP */
	limit = j->sized ? (j->content + bmax - 1) / bmax * bmax :
	    LZP_FRAME_MAX;
	j->in_len = hlen;
	for (;;) {
		p = j->in + j->in_len;
		if (read_full(e, p, 4, "a frame") < 0)
			return -1;
		j->in_len += 4;
		bsize = le32_get(p);
		if (bsize == 0)
			break;
		blen = bsize & 0x7fffffffu;
		if (blen > bmax) {
			failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu: "
			    "a block of %zu bytes in a frame of %zu-byte "
			    "blocks", (unsigned long long)off, blen, bmax);
			return -1;
		}
		bound += bmax;
		if (bound > limit)
			goto toobig;
		blen += bcsum ? 4 : 0;
		if (j->in_len + blen + 8 > j->in_cap)	/* cannot happen */
			goto toobig;
		if (read_full(e, j->in + j->in_len, blen, "a frame") < 0)
			return -1;
		j->in_len += blen;
	}
	if (read_full(e, j->in + j->in_len, 4, "a frame") < 0)
		return -1;
	j->in_len += 4;
	if (!j->sized)
		j->content = bound;
	e->frames++;
	return 0;
nomem:
	failf(&e->rfail, XE_SYS, ENOMEM, "frame buffer");
	return -1;
toobig:
	if (j->sized)
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu has more "
		    "blocks than its %zu bytes take", (unsigned long long)off,
		    j->content);
	else
		failf(&e->rfail, XE_STREAM, 0, "frame at offset %llu is larger "
		    "than %u MiB: not written by stream-send (lz4 -d decodes "
		    "it)", (unsigned long long)off, LZP_FRAME_MAX >> 20);
	return -1;
}

/* recv: the next job.  1, 0 at the end, -1. */
static int
read_next(struct lzp *e, struct job *j)
{
	uint8_t m[8];
	uint32_t magic;
	ssize_t n;
	int rc;

	if (e->mode == M_RECV_PLAIN) {
		if (grow(&j->in, &j->in_cap, PLAIN_CHUNK) < 0) {
			failf(&e->rfail, XE_SYS, ENOMEM, "buffer");
			return -1;
		}
		for (;;) {
			if (wait_in(e) < 0)
				return -1;
			n = read(e->in, j->in, PLAIN_CHUNK);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0) {
				failf(&e->rfail, XE_SYS, errno, "read");
				return -1;
			}
			e->rd_bytes += n;
			j->in_len = n;
			return n > 0;
		}
	}
	for (;;) {
		if (e->nfirst == 4) {
			memcpy(m, e->first, 4);
			e->nfirst = 0;
			rc = 1;
		} else
			rc = read_full(e, m, 4, NULL);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (!e->end_seen) {
				failf(&e->rfail, XE_STREAM, 0, "input ended "
				    "after %llu frames without the end marker: "
				    "the connection was cut or the sender "
				    "failed", (unsigned long long)e->frames);
				return -1;
			}
			return 0;
		}
		if (e->end_seen) {
			failf(&e->rfail, XE_STREAM, 0, "data after the end "
			    "marker at offset %llu",
			    (unsigned long long)e->rd_bytes - 4);
			return -1;
		}
		magic = le32_get(m);
		if (magic == LZ4_MAGIC)
			return read_frame(e, j, m) < 0 ? -1 : 1;
		if (magic >= SKIP_MAGIC_MIN && magic <= SKIP_MAGIC_MAX) {
			if (read_full(e, m + 4, 4, "a skippable frame") < 0 ||
			    read_skippable(e, magic, le32_get(m + 4)) < 0)
				return -1;
			continue;
		}
		failf(&e->rfail, XE_STREAM, 0, "no LZ4 frame at offset %llu "
		    "(magic 0x%08x)", (unsigned long long)e->rd_bytes - 4,
		    magic);
		return -1;
	}
}

/* ---------------- running it ---------------- */


static void
init(struct lzp *e, const struct lzp_opts *o, int in, int out,
    struct lzp_stats *st)
{
	memset(e, 0, sizeof(*e));
	memset(st, 0, sizeof(*st));
	st->ns = now_ns();
	e->o = o;
	e->in = in;
	e->out = out;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
}

static int
run(struct lzp *e, struct lzp_stats *st)
{
	pthread_t tid[LZP_THREADS_MAX], wtid;
	unsigned int nthreads = e->o->threads, i, started = 0;
	sigset_t all, old;
	size_t insize;
	struct job *j;
	int rc = -1, wstarted = 0, r;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > LZP_THREADS_MAX)
		nthreads = LZP_THREADS_MAX;
	if (e->mode == M_SEND_PLAIN || e->mode == M_RECV_PLAIN)
		nthreads = 1;
	e->njobs = 2 * nthreads + 2;
	/*
	 * A receiver's frames are its memory: LZP_RECV_JOBS of them, however
	 * many threads; a worker more than the frames being decoded (all but
	 * one read and one written) would have nothing to do.
	 */
	if (e->mode == M_RECV_LZ4 && e->njobs > LZP_RECV_JOBS)
		e->njobs = LZP_RECV_JOBS;
	if (e->mode == M_RECV_LZ4 && nthreads > e->njobs - 2)
		nthreads = e->njobs - 2;
	io_widen_pipe(e->in);
	io_widen_pipe(e->out);
	e->jobs = calloc(e->njobs, sizeof(*e->jobs));
	e->done = calloc(e->njobs, sizeof(*e->done));
	if (e->jobs == NULL || e->done == NULL) {
		failf(&e->rfail, XE_SYS, ENOMEM, "buffers");
		goto out;
	}
	insize = e->mode == M_SEND_LZ4 || e->mode == M_SEND_PLAIN ?
	    e->frame_size : 0;
	for (i = 0; i < e->njobs; i++) {
		if (insize && grow(&e->jobs[i].in, &e->jobs[i].in_cap,
		    insize) < 0) {
			failf(&e->rfail, XE_SYS, ENOMEM, "buffers");
			goto out;
		}
		e->jobs[i].next = e->free_list;
		e->free_list = &e->jobs[i];
	}
	/* signals go to the caller's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&tid[i], NULL, worker, e) != 0)
			break;
		started++;
	}
	if (started > 0 && pthread_create(&wtid, NULL, writer, e) == 0)
		wstarted = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!wstarted) {
		failf(&e->rfail, XE_SYS, EAGAIN, "threads");
		goto join;
	}

	if (e->mode == M_RECV_PLAIN) {	/* the bytes read to tell the mode */
		j = get_free(e);
		if (j == NULL)
			goto join;
		if (grow(&j->in, &j->in_cap, PLAIN_CHUNK) < 0) {
			failf(&e->rfail, XE_SYS, ENOMEM, "buffer");
			put_free(e, j);
			goto join;
		}
		memcpy(j->in, e->first, e->nfirst);
		j->in_len = e->nfirst;
		put_work(e, j);
	}
	for (;;) {
		if ((j = get_free(e)) == NULL)
			break;
		if (e->mode == M_SEND_LZ4 || e->mode == M_SEND_PLAIN)
			r = read_chunk(e, j);
		else
			r = read_next(e, j);
		if (r <= 0) {
			put_free(e, j);
			break;
		}
		put_work(e, j);
	}
join:
	pthread_mutex_lock(&e->mu);
	e->eof = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (wstarted)
		pthread_join(wtid, NULL);
	pthread_mutex_lock(&e->mu);
	e->abort = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);

	/* the sender's end marker, once every frame is out */
	if (!e->rfail.set && !e->wfail.set && e->mode == M_SEND_LZ4) {
		uint8_t t[8 + LZP_END_LEN];

		le32_put(t, LZP_END_MAGIC);
		le32_put(t + 4, LZP_END_LEN);
		memcpy(t + 8, end_tag, sizeof(end_tag));
		le64_put(t + 16, e->wr_plain);
		le64_put(t + 24, e->produced);
		e->abort = 0;
		if (write_all(e, t, sizeof(t)) == 0)
			e->wr_wire += sizeof(t);
	}
	if (!e->rfail.set && !e->wfail.set && e->mode == M_RECV_LZ4 &&
	    (e->end_plain != e->wr_plain || e->end_frames != e->frames))
		failf(&e->rfail, XE_STREAM, 0, "the end marker counts %llu "
		    "bytes in %llu frames, but %llu bytes in %llu frames "
		    "arrived", (unsigned long long)e->end_plain,
		    (unsigned long long)e->end_frames,
		    (unsigned long long)e->wr_plain,
		    (unsigned long long)e->frames);
	/* the writer's failure came first in stream order; else the reader's */
	if (e->wfail.set) {
		errno = 0;
		xp_seterr(e->wfail.cls, "%s", e->wfail.msg);
	} else if (e->rfail.set) {
		errno = 0;
		xp_seterr(e->rfail.cls, "%s", e->rfail.msg);
	} else
		rc = 0;
out:
	if (e->jobs != NULL)
		for (i = 0; i < e->njobs; i++) {
			free(e->jobs[i].in);
			free(e->jobs[i].out);
		}
	free(e->jobs);
	free(e->done);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	st->plain = e->wr_plain;
	st->wire = e->mode == M_RECV_LZ4 || e->mode == M_RECV_PLAIN ?
	    e->rd_bytes : e->wr_wire;
	st->frames = e->mode == M_SEND_LZ4 ? e->produced : e->frames;
	st->compressed = e->mode == M_SEND_LZ4 || e->mode == M_RECV_LZ4;
	st->ns = now_ns() - st->ns;
	return rc;
}

int
lzp_send(int in, int out, const struct lzp_opts *o, struct lzp_stats *st)
{
	struct lzp e;

	init(&e, o, in, out, st);
	e.mode = o->compress ? M_SEND_LZ4 : M_SEND_PLAIN;
	e.frame_size = o->frame_size ? o->frame_size : LZP_FRAME_SIZE;
	if (e.frame_size > LZP_FRAME_MAX)
		e.frame_size = LZP_FRAME_MAX;
	return run(&e, st);
}

int
lzp_recv(int in, int out, const struct lzp_opts *o, struct lzp_stats *st)
{
	struct stat sb;
	struct lzp e;
	uint32_t magic;
	ssize_t n;

	init(&e, o, in, out, st);
	e.watch_out = fstat(out, &sb) == 0 && (S_ISFIFO(sb.st_mode) ||
	    S_ISSOCK(sb.st_mode));
	if (o->min_rate != 0)
		e.slot_ns = (o->rate_window_ms > 0 ? (uint64_t)o->rate_window_ms :
		    RATE_WINDOW_MS) * 1000000 / RATE_SLOTS;
	if (o->deadline_ms != 0)
		e.deadline_ns = now_ns() + o->deadline_ms * 1000000;
	/* the first four bytes tell LZ4 frames from a plain stream */
	while (e.nfirst < sizeof(e.first)) {
		if (wait_in(&e) < 0) {
			errno = 0;
			xp_seterr(e.rfail.cls, "%s", e.rfail.msg);
			goto err;
		}
		n = read(in, e.first + e.nfirst, sizeof(e.first) - e.nfirst);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			xp_seterr(XE_SYS, "read");
			goto err;
		}
		if (n == 0)
			break;
		e.nfirst += n;
		e.rd_bytes += n;
	}
	if (e.nfirst == 0) {
		errno = 0;
		xp_seterr(XE_STREAM, "no input: the sender sent nothing");
		goto err;
	}
	/* a TLS handshake record (ClientHello): a sender with a key, and
	   a receiver told --insecure; no stream starts so */
	if (e.nfirst >= 3 && e.first[0] == 0x16 && e.first[1] == 0x03 &&
	    e.first[2] <= 0x04) {
		errno = 0;
		xp_seterr(XE_STREAM, "the peer speaks TLS, and this receiver "
		    "was started without credentials (--insecure)");
		goto err;
	}
	magic = le32_get(e.first);
	if (e.nfirst == sizeof(e.first) && (magic == LZ4_MAGIC ||
	    (magic >= SKIP_MAGIC_MIN && magic <= SKIP_MAGIC_MAX)))
		e.mode = M_RECV_LZ4;
	else
		e.mode = M_RECV_PLAIN;
	return run(&e, st);
err:
	pthread_cond_destroy(&e.cv);
	pthread_mutex_destroy(&e.mu);
	return -1;
}

int
lzp_send_finish(int sock, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	char c;
	ssize_t n;
	int rc;

	if (shutdown(sock, SHUT_WR) < 0) {
		xp_seterr(XE_SYS, "shutdown");
		return -1;
	}
	for (;;) {
		uint64_t t = now_ns();

		if (t >= deadline) {
			errno = 0;
			xp_seterr(XE_SYS, "the receiver did not confirm the "
			    "stream within %d s (--timeout)", timeout_ms / 1000);
			return -1;
		}
		rc = poll(&pfd, 1, (int)((deadline - t) / 1000000) + 1);
		if (rc < 0 && errno != EINTR) {
			xp_seterr(XE_SYS, "poll");
			return -1;
		}
		if (rc <= 0)
			continue;
		n = read(sock, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 1 && c == CONFIRM_BYTE)
			return 0;
		if (n < 0)
			xp_seterr(XE_SYS, "the receiver failed");
		else {
			errno = 0;
			xp_seterr(XE_SYS, "the receiver closed the connection "
			    "without confirming the stream: it failed (see its "
			    "log) or is not stream-recv");
		}
		return -1;
	}
}

int
lzp_recv_confirm(int sock, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLOUT };
	char c = CONFIRM_BYTE;

	if (poll(&pfd, 1, timeout_ms) <= 0 || write(sock, &c, 1) != 1) {
		xp_seterr(XE_SYS, "confirming to the sender");
		return -1;
	}
	return 0;
}

int
lzp_stats_write(const char *path, const struct lzp_stats *st,
    unsigned int threads, const char *error)
{
	double secs = st->ns / 1e9;
	char num[32], *out = NULL;
	yajl_gen g;
	int bad = 0, rc = -1;
	FILE *f;

	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		xp_seterr(XE_SYS, "%s", path);
		return -1;
	}
	bad |= yajl_gen_map_open(g);
	bad |= lj_gen_str(g, "ok") | yajl_gen_bool(g, error == NULL);
	bad |= lj_gen_str(g, "compressed") | yajl_gen_bool(g, st->compressed);
	bad |= lj_gen_kv_int(g, "plain_bytes", st->plain);
	bad |= lj_gen_kv_int(g, "wire_bytes", st->wire);
	snprintf(num, sizeof(num), "%.4f", st->plain ?
	    (double)st->wire / st->plain : 1.0);
	bad |= lj_gen_str(g, "ratio") | yajl_gen_number(g, num, strlen(num));
	bad |= lj_gen_kv_int(g, "frames", st->frames);
	bad |= lj_gen_kv_int(g, "threads", threads);
	snprintf(num, sizeof(num), "%.3f", secs);
	bad |= lj_gen_str(g, "seconds") | yajl_gen_number(g, num, strlen(num));
	snprintf(num, sizeof(num), "%.1f", secs > 0 ? st->plain / secs / 1e6 :
	    0.0);
	bad |= lj_gen_str(g, "plain_mb_per_s") |
	    yajl_gen_number(g, num, strlen(num));
	if (st->tls != NULL)
		bad |= lj_gen_kv_str(g, "tls", st->tls);
	if (error != NULL)
		bad |= lj_gen_kv_str(g, "error", error);
	bad |= yajl_gen_map_close(g);
	if (bad || (out = lj_gen_take(g)) == NULL) {
		errno = 0;
		xp_seterr(XE_STATE, "%s: cannot generate the statistics", path);
		goto out;
	}
	if ((f = fopen(path, "w")) == NULL) {
		xp_seterr(XE_SYS, "%s", path);
		goto out;
	}
	fputs(out, f);
	fputc('\n', f);
	if (fclose(f) != 0) {
		xp_seterr(XE_SYS, "%s", path);
		goto out;
	}
	rc = 0;
out:
	free(out);
	yajl_gen_free(g);
	return rc;
}

unsigned int
lzp_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > LZP_THREADS_MAX ? LZP_THREADS_MAX : n;
}
