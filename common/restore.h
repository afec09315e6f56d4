/*
 * restore.h - the receiving side: build a domain from a stream and start
 * it only after END.  Any failure (bad record, truncation, a signal)
 * destroys what was built, so nothing half-built is left behind.
 * Caller: bin/dom-resume.c.
 */
#ifndef XENPIPE_RESTORE_H
#define XENPIPE_RESTORE_H

#include "backend.h"

struct restore_stats {
	uint64_t bytes, records, pages_data, pages_zero;
};

/*
 * Read a whole stream from in_fd and start the domain it describes, named
 * name (NULL: the name in the stream).  info gets the running domain.
 */
int restore_stream(const struct backend *be, int in_fd, const char *name,
    struct dom_info *info, struct restore_stats *st);

#endif
