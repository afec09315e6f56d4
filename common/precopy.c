/* precopy.c - pre-copy rounds and their policy; see precopy.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "precopy.h"
#include "progress.h"

/* What a page costs on the wire: its data and its pfn word. */
#define PAGE_WIRE	(XP_PAGE_SIZE + 8)
/* A round that leaves more than this share of the last one did not shrink. */
#define SHRINK_PCT	90
#define DEFAULT_MAX_ROUNDS	30
/* Below this there is nothing worth another round. */
#define FEW_PAGES	50
/* Throttle steps (percent of CPU left to the guest), as auto-converge. */
static const unsigned int throttle_steps[] = { 100, 60, 35, 20, 10, 5, 2, 1 };

static uint64_t
popcount_map(const uint64_t *map, uint64_t words)
{
	uint64_t n = 0, i;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(map[i]);
	return n;
}

static uint64_t
predict_ms(uint64_t pages, double xfer_rate)
{
	if (pages == 0)
		return 0;
	if (xfer_rate <= 0)
		return UINT64_MAX;
	return (uint64_t)(pages * (double)PAGE_WIRE * 1000.0 / xfer_rate) + 1;
}

/*
 * With --throttle, the guest must dirty at most half as fast as pages are
 * sent: then every round halves the dirty set, down to what the pipeline's
 * latency allows.
 */
static int
converging(const struct precopy_round *r)
{
	return r->dirty_rate * PAGE_WIRE <= r->xfer_rate / 2;
}

/*
 * Decide before a round whether to go on.  Returns NULL to go on, else why
 * the rounds end; may step the throttle down (*step) and go on.
 */
static const char *
decide(const struct precopy_opts *o, const struct precopy_round *r, uint64_t prev,
    unsigned int max_rounds, uint64_t elapsed_ms, unsigned int *stalls,
    unsigned int *step)
{
	const unsigned int nr_steps =
	    sizeof(throttle_steps) / sizeof(throttle_steps[0]);
	int shrinking = prev == UINT64_MAX ||
	    r->dirty * 100 < prev * SHRINK_PCT;

	if (o->policy == POLICY_XEN) {
		if (r->dirty < XEN_POLICY_TARGET_DIRTY)
			return "fewer than 50 dirty pages";
		if (r->round >= XEN_POLICY_MAX_ITERATIONS)
			return "5 iterations";
		return NULL;
	}
	if (r->dirty < FEW_PAGES)
		return "nothing left worth a round";
	if (r->round > max_rounds)
		return "max rounds";
	if (o->max_time_ms && elapsed_ms >= o->max_time_ms)
		return "max time";
	if (o->throttle && !converging(r) && prev != UINT64_MAX &&
	    *step + 1 < nr_steps) {
		(*step)++;
		*stalls = 0;
		return NULL;
	}
	/* While rounds shrink the dirty set they shrink the downtime too. */
	*stalls = shrinking ? 0 : *stalls + 1;
	if (*stalls == 0)
		return NULL;
	if (r->predicted_ms <= o->downtime_ms)
		return "downtime target met, rounds stopped shrinking";
	if (o->throttle && *step + 1 < nr_steps) {
		(*step)++;
		*stalls = 0;
		return NULL;
	}
	if (*stalls >= 2)
		return "rounds stopped shrinking (downtime target not met)";
	return NULL;
}

int
precopy_run(const struct backend *be, struct dom *d, struct save *s,
    const struct precopy_opts *o, struct precopy_result *res)
{
	const struct dom_info *info = save_info(s);
	uint64_t words = (info->nr_pages + 63) / 64, *bitmap;
	uint64_t t0 = now_ns(), t_clean, prev = UINT64_MAX, before, t;
	unsigned int max_rounds, stalls = 0, step = 0;
	int rc = -1;
	struct precopy_round r;
	double xfer_rate = 0;

	memset(res, 0, sizeof(*res));
	res->throttle_pct = 100;
	bitmap = calloc(words ? words : 1, sizeof(uint64_t));
	if (bitmap == NULL) {
		xp_seterr(XE_SYS, "dirty bitmap");
		return -1;
	}
	if (o->first_pass_ns > 1000000)
		xfer_rate = o->first_pass_bytes * 1e9 / o->first_pass_ns;
	if (o->bandwidth && (xfer_rate <= 0 || xfer_rate > o->bandwidth))
		xfer_rate = o->bandwidth;
	max_rounds = o->max_rounds ? o->max_rounds :
	    o->policy == POLICY_XEN ? XEN_POLICY_MAX_ITERATIONS - 1 :
	    DEFAULT_MAX_ROUNDS;
	/* log-dirty has been gathering since the first pass began */
	t_clean = t0 - o->first_pass_ns;
	save_set_bandwidth(s, o->bandwidth);

	for (memset(&r, 0, sizeof(r)), r.round = 1;; r.round++) {
		if (xp_interrupted) {
			xp_seterr(XE_SYS, "interrupted");
			goto out;
		}
		if (be->logdirty(d, LOGDIRTY_PEEK, bitmap) < 0)
			goto out;
		t = now_ns();
		r.dirty = popcount_map(bitmap, words);
		r.dirty_rate = t > t_clean ? r.dirty * 1e9 / (t - t_clean) : 0;
		r.xfer_rate = xfer_rate;
		r.predicted_ms = predict_ms(r.dirty, xfer_rate);
		r.cap = throttle_steps[step];
		res->dirty_left = r.dirty;
		res->predicted_ms = r.predicted_ms;
		res->why = decide(o, &r, prev, max_rounds, (t - t0) / 1000000,
		    &stalls, &step);
		if (res->why != NULL)
			break;
		if (throttle_steps[step] != r.cap) {
			r.cap = throttle_steps[step];
			if (be->throttle(d, r.cap) < 0)
				goto out;
			res->throttle_pct = r.cap;
		}
		if (be->logdirty(d, LOGDIRTY_CLEAN, bitmap) < 0)
			goto out;
		t_clean = now_ns();
		r.dirty = popcount_map(bitmap, words);
		before = save_stats(s)->bytes;
		if (save_dirty_pages(s, bitmap) < 0)
			goto out;
		r.send_ns = now_ns() - t_clean;
		r.sent = r.dirty;
		r.bytes = save_stats(s)->bytes - before;
		/* tiny rounds time the pipe's latency, not its rate */
		if (r.send_ns > 2000000 || xfer_rate <= 0) {
			double m = r.bytes * 1e9 / (r.send_ns ? r.send_ns : 1);

			xfer_rate = xfer_rate > 0 ? (xfer_rate + m) / 2 : m;
		}
		r.xfer_rate = xfer_rate;
		r.predicted_ms = predict_ms(r.dirty, xfer_rate);
		res->rounds = r.round;
		res->pages_sent += r.sent;
		res->bytes_sent += r.bytes;
		if (o->on_round != NULL)
			o->on_round(&r, o->arg);
		prev = r.dirty;
	}
	rc = 0;
out:
	/* On success dom-suspend lifts it once the guest is suspended. */
	if (step != 0 && rc < 0)
		be->throttle(d, 100);
	free(bitmap);
	return rc;
}
