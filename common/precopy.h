/*
 * precopy.h - the pre-copy rounds of a live migration and the policy that
 * ends them.  Each round: look at the log-dirty bitmap, decide, and if the
 * policy goes on, clean it and send the pages it held.  Rounds stop with
 * the remaining dirty pages left in log-dirty for dom-suspend to send.
 * Caller: bin/dirty-track.c.
 */
#ifndef XENPIPE_PRECOPY_H
#define XENPIPE_PRECOPY_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "save.h"

enum precopy_policy {
	POLICY_DOWNTIME,	/* ours: stop when the rest fits the target */
	POLICY_XEN,		/* libxenguest's: 5 iterations or < 50 pages */
};

/* libxenguest's simple_precopy_policy (xg_sr_save.c) */
#define XEN_POLICY_MAX_ITERATIONS	5	/* counting the first full pass */
#define XEN_POLICY_TARGET_DIRTY		50

struct precopy_opts {
	enum precopy_policy policy;
	uint64_t downtime_ms;		/* target, POLICY_DOWNTIME */
	unsigned int max_rounds;	/* 0: the policy's own */
	uint64_t max_time_ms;		/* 0: none */
	uint64_t bandwidth;		/* bytes/s cap, 0: none */
	int throttle;			/* auto-converge */
	FILE *stats;			/* JSON lines, or NULL */
	uint64_t first_pass_bytes;	/* upstream's pass, for the first rate */
	uint64_t first_pass_ns;
};

struct precopy_result {
	unsigned int rounds;
	uint64_t pages_sent, bytes_sent;
	uint64_t dirty_left;		/* for dom-suspend */
	uint64_t predicted_ms;
	unsigned int throttle_pct;	/* lowest cap used */
	const char *why;		/* why the rounds ended */
};

/*
 * Run the rounds on d (log-dirty on), writing through s.  Reports each
 * round on stderr (one updating line on a terminal, a line per round
 * otherwise) and to o->stats.  On failure the throttle is lifted; on
 * success it is left for dom-suspend to lift once the guest is suspended,
 * so that the guest does not speed up between the last round and the
 * suspend.
 */
int precopy_run(const struct backend *be, struct dom *d, struct save *s,
    const struct precopy_opts *o, struct precopy_result *res);

#endif
