/*
 * progress.h - how the library says how far it got: a progress handle
 * while pages move, and trace points in the downtime window.  The library
 * only calls these; the program installs the sink that shows them (ui/:
 * one updating line on a terminal, trace lines on stderr).  With no sink,
 * or a sink that declines, the library is silent; a NULL handle is off,
 * so callers never test for it.  Callers: save.c, restore.c, lz4pipe.c,
 * handover.c, the xen backend; the sink: ui/tty.c.
 */
#ifndef XENPIPE_PROGRESS_H
#define XENPIPE_PROGRESS_H

#include <stdint.h>

struct progress;

struct progress_sink {
	/* what: "web1: saving"; total pages, 0 when unknown.  NULL: off. */
	struct progress *(*begin)(const char *what, uint64_t total);
	void (*pages)(struct progress *p, uint64_t pages, uint64_t bytes);
	void (*transfer)(struct progress *p, uint64_t plain, uint64_t wire);
	void (*end)(struct progress *p);
	/* one trace line, "trace SECS.USECS: step"; NULL: no tracing */
	void (*trace)(const char *line);
};

void progress_set_sink(const struct progress_sink *sink);

struct progress *progress_new(const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t pages, uint64_t bytes);
/*
 * For a byte stream (stream-send, stream-recv): plain stream bytes and
 * bytes on the wire.
 */
void progress_transfer(struct progress *p, uint64_t plain, uint64_t wire);
/* The handle is done with (the sink erases its line). */
void progress_end(struct progress *p);

/*
 * A step of the downtime window, stamped with the wall clock so that the
 * lines of two programs can be merged.
 */
void trace_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

#endif
