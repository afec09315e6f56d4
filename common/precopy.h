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

#include "backend.h"
#include "save.h"

enum precopy_policy {
	POLICY_DOWNTIME,	/* ours: stop when the rest fits the target */
	POLICY_XEN,		/* libxenguest's: 5 iterations or < 50 pages */
};

/* libxenguest's simple_precopy_policy (xg_sr_save.c) */
#define XEN_POLICY_MAX_ITERATIONS	5	/* counting the first full pass */
#define XEN_POLICY_TARGET_DIRTY		50

/* One round, as it went. */
struct precopy_round {
	unsigned int round;
	uint64_t dirty;			/* in the bitmap before the round */
	uint64_t sent, bytes;
	uint64_t send_ns;
	double dirty_rate;		/* pages/s since the last clean */
	double xfer_rate;		/* bytes/s, as measured so far */
	uint64_t predicted_ms;		/* to send what is dirty now */
	unsigned int cap;		/* the throttle, percent */
};

struct precopy_opts {
	enum precopy_policy policy;
	uint64_t downtime_ms;		/* target, POLICY_DOWNTIME */
	unsigned int max_rounds;	/* 0: the policy's own */
	uint64_t max_time_ms;		/* 0: none */
	uint64_t bandwidth;		/* bytes/s cap, 0: none */
	int throttle;			/* auto-converge */
	/* after each round: the caller reports it (dirty-track prints) */
	void (*on_round)(const struct precopy_round *r, void *arg);
	void *arg;
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
 * Run the rounds on d (log-dirty on), writing through s, reporting each
 * round to o->on_round.  On failure the throttle is lifted; on
 * success it is left for dom-suspend to lift once the guest is suspended,
 * so that the guest does not speed up between the last round and the
 * suspend.
 */
int precopy_run(const struct backend *be, struct dom *d, struct save *s,
    const struct precopy_opts *o, struct precopy_result *res);

#endif
