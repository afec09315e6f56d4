/*
 * backend.h - the one interface between the programs and a hypervisor.
 *
 * Two implementations: "xen" (libxenctrl, for dom0; xen.c) and "sim" (a
 * simulated hypervisor, sim.c).  backend_get() picks one once, from
 * XENPIPE_BACKEND=xen|sim, else xen when /dev/xen/privcmd exists, else sim.
 * Every member is filled in by both; an operation a backend cannot do
 * returns -1 with a message saying so (never a silent no-op).
 *
 * Callers: save.c (sender side), restore.c (receiver side), and bin/ for
 * lookups.  All functions return 0 on success, -1 on failure with the
 * reason left in xp_err (err.h).
 */
#ifndef XENPIPE_BACKEND_H
#define XENPIPE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define DOM_NAME_MAX	64	/* including the NUL */
/*
 * What a domain handed over is called (as xl migrate names it): the sender
 * renames its copy before the go, and a same-host receiver renames a
 * suspended holder of the name it takes.
 */
#define DOM_AWAY_SUFFIX	"--migratedaway"

struct sw;		/* stream writer, stream.h */
struct sr;		/* stream reader, stream.h */
struct sr_rec;		/* one record it read */
struct dom;		/* a backend's handle on one domain */
struct yajl_val_s;	/* a parsed config, libxl_json.h */
struct host_facts;	/* policy.h */

#define DOM_UUID_LEN	37	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

enum dom_state {
	DOM_RUNNING,
	DOM_PAUSED,	/* paused by the toolstack, memory and vCPUs kept */
	DOM_SUSPENDED,	/* guest suspended itself (save); resumable in place */
	DOM_SHUTDOWN,	/* gone for good: crashed, powered off */
};

struct dom_info {
	uint32_t domid;
	char name[DOM_NAME_MAX];
	char uuid[DOM_UUID_LEN];	/* lower case */
	uint32_t dom_type;	/* DHDR_TYPE_* of stream_format.h */
	uint64_t nr_pages;	/* valid pfns are 0 .. nr_pages-1 */
	uint64_t mem_pages;	/* pages with memory behind them (<= nr_pages) */
	uint32_t nr_vcpus;
	enum dom_state state;
	int logdirty;		/* log-dirty tracking on: 1, off: 0, unknown: -1 */
};

/*
 * What a receiver knows before the first record: from the xl JSON config
 * when the stream has one, else only dom_type (nr_pages 0, name empty).
 */
struct dom_config {
	char name[DOM_NAME_MAX];
	char uuid[DOM_UUID_LEN];	/* "": a fresh one */
	uint32_t dom_type;
	uint64_t nr_pages;	/* 0: the stream did not say */
	uint32_t nr_vcpus;
	int simulated;		/* the stream came from the sim backend */
	const char *json;	/* the config as it travelled, or NULL */
	struct yajl_val_s *tree;	/* json parsed (libxl_json.h), or NULL */
};

enum logdirty_op {
	LOGDIRTY_ENABLE,	/* start tracking, bitmap all clear */
	LOGDIRTY_CLEAN,		/* copy the bitmap out and clear it, atomically */
	LOGDIRTY_PEEK,		/* copy the bitmap out, leave it */
	LOGDIRTY_DISABLE,	/* stop tracking; no error if it was off */
};

struct backend {
	const char *name;			/* "xen" or "sim" */

	/* ---- sending side ---- */

	/* Every domain (dom0 excluded), malloc'd array of *n. */
	int (*list)(struct dom_info **infos, size_t *n);
	/* Look a domain up by name or numeric id; *d stays valid until close. */
	int (*open)(const char *name_or_id, struct dom **d);
	int (*info)(struct dom *d, struct dom_info *info);
	/* The domain's config as a NUL-terminated JSON string, malloc'd. */
	int (*config_json)(struct dom *d, char **json);
	/*
	 * Copy n pages (n <= PAGE_BATCH_MAX) into buf, n * 4096 bytes, page i
	 * at offset i * 4096, and set types[i] to its PFINFO_* type
	 * (stream_format.h): NOTAB for plain memory, XTAB for a pfn with no
	 * memory behind it (its slot in buf is left alone), L1TAB..L4TAB(_PIN)
	 * for a PV page table, already normalised (mfns turned into pfns).
	 * The domain may be running: a page written meanwhile shows in the
	 * next LOGDIRTY_CLEAN.
	 */
	int (*read_pages)(struct dom *d, const uint64_t *pfns, unsigned int n,
	    void *buf, uint32_t *types);
	/*
	 * bitmap: nr_pages bits, bit (pfn % 64) of word (pfn / 64); ignored by
	 * ENABLE and DISABLE (may be NULL).  A page written after a CLEAN is
	 * set in the next CLEAN or PEEK, as with Xen's shadow log-dirty.
	 */
	int (*logdirty)(struct dom *d, enum logdirty_op op, uint64_t *bitmap);
	int (*pause)(struct dom *d);
	int (*unpause)(struct dom *d);
	/*
	 * Ask the guest to suspend and wait (bounded) until it has.  0: it is
	 * suspended, however the wait ended (late, or a signal came: the
	 * caller owns it then, and resumes it if it is failing).  -1: it is
	 * not, and no request of ours stands: one the guest did not take in
	 * time, or when a signal came, is withdrawn so that it cannot act on
	 * it later.  A request the guest took cannot be withdrawn: the wait
	 * for it goes on, signal or not, and if it ends without the suspend
	 * the message says the guest may still suspend.
	 */
	int (*suspend)(struct dom *d);
	/* Resume a suspended domain in place (checkpoint, or undo). */
	int (*resume)(struct dom *d);
	/*
	 * Cap the guest's CPU at pct percent (1..100; 100 lifts the cap): the
	 * auto-converge of live migration.  sim: the guest's write rate; xen:
	 * the credit scheduler cap.
	 */
	int (*throttle)(struct dom *d, unsigned int pct);
	/* Records that precede STATIC_DATA_END (CPUID/MSR policy, PV info). */
	int (*write_static)(struct dom *d, struct sw *sw);
	/*
	 * Records right after STATIC_DATA_END, before any memory: a PV
	 * guest's X86_PV_P2M_FRAMES (the restorer needs them to place pages).
	 * Writes nothing for HVM and sim.
	 */
	int (*write_start)(struct dom *d, struct sw *sw);
	/* Records that follow the memory: TSC, HVM params/context, vCPUs. */
	int (*write_context)(struct dom *d, struct sw *sw);

	/* ---- receiving side ---- */

	/*
	 * Create an empty domain, not yet visible under its name and never
	 * running, to be filled by the calls below.  Refuses a config from the
	 * other backend with a message that says which backend to use.
	 */
	int (*create)(const struct dom_config *cfg, struct dom **d);
	/*
	 * Receive the libxc stream into d, in order: its image and domain
	 * headers (a record of layer LAYER_XC_HDRS, raw only), then every
	 * libxc record up to and including END, each already checked by the
	 * reader (stream.h) and by restore.c.  raw is the record as it came;
	 * when pages_in_input is set, a PAGE_DATA record's pages (data_len
	 * bytes) are left in the input for receive to move from in.  xen
	 * hands the bytes to libxenguest's restore; sim places the pages and
	 * applies the records itself.
	 */
	int (*receive)(struct dom *d, const struct sr_rec *r, struct sr *in);
	int pages_in_input;	/* xen: spliced through, never copied */
	/*
	 * After END, in a handover (handover.h): check the state is complete
	 * and do all that start would but name and unpause the domain, which
	 * stays paused, under a temporary name or none, until start.
	 */
	int (*finish)(struct dom *d);
	/*
	 * After END (or finish): check the state is complete, give the domain
	 * its name (a suspended domain holding the name is renamed
	 * NAME--migratedaway; a running one makes this fail) and start it.
	 * info is filled.  It fails only before the domain ever ran: the
	 * caller destroys what it could not start.
	 */
	int (*start)(struct dom *d, const char *name, struct dom_info *info);

	/* ---- both ---- */

	/*
	 * What the receiver's policy needs of the hypervisor (policy.h): set
	 * f->mem_kb to the host's memory when it knows better than dom0's
	 * /proc/meminfo, and f->held (malloc'd) to the disks domains hold.
	 */
	int (*host)(struct host_facts *f);

	/* Give the domain another name; fails if a domain holds newname. */
	int (*rename)(struct dom *d, const char *newname);

	/* Destroy the domain (a half-built one too); d is closed. */
	int (*destroy)(struct dom *d);
	void (*close)(struct dom *d);
};

/* "running", "paused", "suspended", "shutdown": as xl and simdom list say. */
const char *dom_state_name(enum dom_state st);

/* The backend in use; NULL only if none can be had (xp_err says why). */
const struct backend *backend_get(void);

extern const struct backend sim_backend;
extern const struct backend xen_backend;

#endif
