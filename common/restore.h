/*
 * restore.h - the receiving side: build a domain from a stream and start
 * it only after END, or in a handover only on the sender's go.  Any failure
 * (bad record, truncation, a signal, no go) destroys what was built, so
 * nothing half-built is left behind.
 * Caller: bin/dom-resume.c.
 */
#ifndef XENPIPE_RESTORE_H
#define XENPIPE_RESTORE_H

#include "backend.h"
#include "policy.h"

struct restore_stats {
	uint64_t bytes, records, pages_data, pages_zero;
};

/*
 * A handover (handover.h): after END the domain stays paused, "ready" goes
 * to reply_fd, and only the sender's go, read from the stream's input after
 * END within timeout_ms, starts it; then the report goes to reply_fd.  No
 * go destroys the domain.
 */
struct restore_handshake {
	int reply_fd;
	int timeout_ms;
	int unreported;		/* out: it runs, but the report was not sent */
};

/*
 * The receiver's say over what the stream proposes (policy.h).  The
 * policy is checked against this host's facts after the headers, before
 * the backend builds anything.
 */
struct restore_opts {
	const struct policy *policy;
	const char *config;	/* the destination's own config, or NULL */
	int dry_run;		/* check, fill plan, build nothing */
	struct plan plan;	/* out: what is (or would be) built */
	char blind[160];	/* out: why a dry run knew no domains, or "" */
};

/*
 * Read a whole stream from in_fd and start the domain it describes, named
 * name (NULL: the name in the stream), at END, or on the go when hs is not
 * NULL.  info gets the running domain.  A stream longer than the plan's
 * stream_max is refused.  With o->dry_run, be may be NULL and only the
 * headers are read.  A watchman (guard.h) destroys the
 * domain if this process is killed before it starts.
 */
int restore_stream(const struct backend *be, int in_fd, const char *name,
    struct restore_handshake *hs, struct restore_opts *o,
    struct dom_info *info, struct restore_stats *st);

#endif
