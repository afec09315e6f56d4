/*
 * sim.h - the simulated hypervisor behind the "sim" backend.
 *
 * A root directory is one host; each domain is a directory under it with
 * "mem" (the guest's memory), "ctl" (the control block below, mmap'd
 * MAP_SHARED by the toolstack and the guest), "lock" (held by the guest
 * process while it lives) and "log".  The guest is a process that writes
 * pages whose contents derive from (pfn, version), with the version table
 * in the first pages of its own memory, so any copy of the memory can be
 * checked on its own (sim_check_mem).
 *
 * sim.c implements struct backend and the root/domain plumbing; sim_guest.c
 * the guest process and the page contents.  bin/simdom uses the sim_*
 * functions below; everything else goes through sim_backend.
 */
#ifndef XENPIPE_SIM_H
#define XENPIPE_SIM_H

#include <stdint.h>

#include "backend.h"

#define SIM_CTX_MAGIC		"XPSIMCTX"
#define SIM_CTX_VERSION		3u	/* 2: workload, sweep_pos; 8-lane page noise; 3: recent */
#define SIM_CTL_MAGIC		"XPSIMCTL"
#define SIM_CTL_VERSION		4u

#define SIM_PAGES_MIN		16u		/* 64 KiB: a table page and data */
#define SIM_RATE_MAX		(1ULL << 30)	/* pages/s */
#define SIM_RATE_DEFAULT	1000u
#define SIM_DOMID_MAX		0x7fefu		/* below Xen's reserved ids */
#define SIM_TIMEOUT_MS		10000		/* XENPIPE_SIM_TIMEOUT_MS overrides */

/* Pages holding the version table (one uint32_t LE per pfn) at pfn 0. */
#define SIM_TAB_PAGES(n)	(((uint64_t)(n) * 4 + 4095) / 4096)
#define SIM_BITMAP_WORDS(n)	(((uint64_t)(n) + 63) / 64)

/*
 * What the guest writes, on the wire as sim_ctx.workload.  The working set
 * is the wss data pages after the version table.
 */
enum sim_workload {
	SIM_WL_IDLE,		/* no writes (the rate is kept, unused) */
	SIM_WL_UNIFORM,		/* a random page of the working set */
	SIM_WL_HOT,		/* SIM_HOT_PCT% in the first SIM_HOT_PAGES */
	SIM_WL_SWEEP,		/* page after page, wrapping: never converges */
	SIM_WL_N
};
#define SIM_HOT_PCT		90u
#define SIM_RECENT		16u
#define SIM_HOT_PAGES(wss)	((wss) / 16 != 0 ? (wss) / 16 : 1)

/*
 * The guest context: the body of the HVM_CONTEXT record, little-endian on
 * the wire, native in the control block.
 */
struct sim_ctx {
	char magic[8];		/* SIM_CTX_MAGIC, no NUL */
	uint32_t version;
	uint32_t zero_pct;	/* share of written pages that are all zero */
	uint64_t nr_pages;
	uint64_t rate;		/* pages written per second, 0 = idle */
	uint64_t wss;		/* working set: data pages written to */
	uint64_t ticks;		/* ~1 ms steps of the guest loop, ever */
	uint64_t written;	/* page writes since creation; bounds versions */
	uint64_t boots;		/* times a guest process started */
	uint64_t rng;		/* xorshift64 state, never 0 */
	uint64_t stopped_ns;	/* CLOCK_REALTIME of the last pause/suspend */
	uint32_t workload;	/* enum sim_workload */
	uint32_t _res;		/* zero */
	uint64_t sweep_pos;	/* SIM_WL_SWEEP: next page, 0 .. wss-1 */
	/*
	 * The last SIM_RECENT writes, version << 32 | pfn, slot written %
	 * SIM_RECENT: what a real guest holds in registers and caches about
	 * memory it just wrote.  Memory restored without its last dirty pages
	 * is older than these, which names the page that was lost.
	 */
	uint64_t recent[SIM_RECENT];
};
_Static_assert(sizeof(struct sim_ctx) == 96 + 8 * SIM_RECENT, "sim_ctx");

enum sim_state {
	SIM_BUILDING,		/* being received, no guest yet */
	SIM_STARTING,		/* guest process on its way */
	SIM_CHECKING,		/* guest checking its memory */
	SIM_RUNNING,
	SIM_PAUSED,
	SIM_SUSPENDED,		/* guest saved its context and exited */
	SIM_DEAD,		/* being destroyed; a guest seeing it exits */
	SIM_NSTATES
};

enum sim_req { SIM_REQ_NONE, SIM_REQ_PAUSE, SIM_REQ_SUSPEND };
enum sim_check { SIM_CHECK_NONE, SIM_CHECK_OK, SIM_CHECK_BAD };

/*
 * The control block, host-local and native-endian.  Written by the guest
 * (state, pid, ctx, check, downtime) and the toolstack (request, knobs,
 * logdirty): whoever reads it bounds what it reads.
 */
struct sim_ctl {
	char magic[8];		/* SIM_CTL_MAGIC */
	uint32_t version;
	uint32_t state;		/* enum sim_state */
	uint32_t request;	/* enum sim_req, toolstack to guest */
	uint32_t domid;
	uint64_t nr_pages;
	int32_t pid;		/* guest process, 0 when none */
	uint32_t refuse_suspend;	/* guest ignores SUSPEND requests */
	uint32_t cap_pct;	/* throttle: percent of rate, 1..100 */
	uint32_t logdirty;	/* tracking on */
	uint32_t check;		/* enum sim_check, of the last check */
	uint32_t _res1;
	uint64_t check_pfn;	/* first bad pfn when check == BAD */
	uint64_t downtime_ns;	/* guest's view of its last stop */
	uint64_t started_ns;	/* CLOCK_REALTIME of the last guest start */
	/* toolstack to guest: taken into ctx within a tick when they differ */
	uint64_t want_rate;	/* <= SIM_RATE_MAX */
	uint32_t want_workload;	/* enum sim_workload */
	uint32_t _res2;
	char uuid[40];		/* as libxl writes one, NUL-terminated */
	/*
	 * Published by the guest: counters and sweep_pos every tick, rate and
	 * workload when they change, all of it when it stops.
	 */
	struct sim_ctx ctx;
	uint64_t bitmap[];	/* log-dirty, SIM_BITMAP_WORDS(nr_pages) */
};
_Static_assert(sizeof(struct sim_ctl) == 232 + 8 * SIM_RECENT, "sim_ctl");

struct sim_params {
	uint64_t nr_pages;
	uint64_t rate;
	uint64_t wss;		/* 0: every data page */
	uint32_t zero_pct;
	uint32_t workload;	/* enum sim_workload */
	int refuse_suspend;
};

/* A snapshot of a domain's control block, bounded, for simdom info. */
struct sim_status {
	struct dom_info info;
	enum sim_state state;
	enum sim_req request;	/* standing, not yet taken by the guest */
	int guest_alive;
	int32_t pid;
	uint32_t refuse_suspend;
	uint32_t cap_pct;
	uint32_t logdirty;
	enum sim_check check;
	uint64_t check_pfn;
	uint64_t downtime_ns;
	struct sim_ctx ctx;
};

enum sim_knob {
	SIM_KNOB_REFUSE_SUSPEND,	/* 0 or 1 */
	SIM_KNOB_THROTTLE,		/* percent of the rate, 1..100 */
	SIM_KNOB_RATE,			/* pages/s, 0..SIM_RATE_MAX */
	SIM_KNOB_WORKLOAD,		/* enum sim_workload */
};

/* ---- sim.c ---- */

/* Create NAME with populated memory and start its guest; fills info. */
int sim_create(const char *name, const struct sim_params *p,
    struct dom_info *info);
int sim_status(struct dom *d, struct sim_status *st);
/* Check all memory (pausing a running guest meanwhile); *bad = -1 if intact. */
int sim_check(struct dom *d, int64_t *bad);
int sim_set(struct dom *d, enum sim_knob knob, uint64_t val);
int sim_name_ok(const char *name);
const char *sim_state_name(enum sim_state st);
/* "idle", "uniform", "hot", "sweep"; "unknown" out of range. */
const char *sim_workload_name(uint32_t wl);
/* The enum sim_workload named s, or -1. */
int sim_workload_parse(const char *s);
/* Milliseconds to wait for a guest's answer. */
int sim_timeout_ms(void);

/* ---- sim_guest.c ---- */

/* Valid for a domain of nr_pages (0: any size)?  ctx is native. */
int sim_ctx_valid(const struct sim_ctx *ctx, uint64_t nr_pages,
    const char **why);
/* Write every working-set page once (version 1); sets ctx->written. */
void sim_populate(uint8_t *mem, struct sim_ctx *ctx);
/*
 * First pfn whose content does not match the version table, or -1; or 0
 * (the table) when the versions do not add up to ctx->written: memory
 * consistent but stale, page writes lost.
 */
int64_t sim_check_mem(const uint8_t *mem, const struct sim_ctx *ctx);
/*
 * Start the guest of the domain directory path in the background (its
 * control block in state SIM_STARTING), checking its memory first if
 * check_first; returns once it runs.  name is for messages.
 */
int sim_guest_spawn(const char *path, const char *name, int check_first);

#endif
