/*
 * progress.h - one updating line on stderr while pages move, only when
 * stderr is a terminal (or XENPIPE_PROGRESS=1); redrawn at most every
 * 200 ms and erased before any other message.  A NULL handle is off, so
 * callers never test for it.  Callers: save.c, restore.c, lz4pipe.c.
 */
#ifndef XENPIPE_PROGRESS_H
#define XENPIPE_PROGRESS_H

#include <stdint.h>

struct progress;

/* what: "web1: saving"; total pages, 0 when unknown. NULL when off. */
struct progress *progress_new(const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t pages, uint64_t bytes);
/*
 * For a byte stream (stream-send, stream-recv): plain stream bytes and
 * bytes on the wire, with the rate of the plain bytes and the ratio.
 */
void progress_transfer(struct progress *p, uint64_t plain, uint64_t wire);
/* Erase the line and free. */
void progress_end(struct progress *p);

/*
 * With XENPIPE_TRACE=1, one line on stderr per step of the downtime window
 * ("dom-suspend: trace 1700000000.123: suspended"), wall-clock so that the
 * lines of two programs can be merged.
 */
void trace_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

#endif
