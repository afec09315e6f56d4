/*
 * policy.h - the receiver's trust boundary.  The libxl config that travels
 * in a stream is a proposal: policy_check holds it against this host's facts
 * and the site's policy (xenpipe-policy(5)) before anything is built, and
 * either returns the plan of what would be built or refuses with one line
 * naming the field and the reason.
 *
 * policy_check is pure: facts are data (struct host_facts), and the only
 * file system access goes through facts->resolve, so tests and the fuzzer
 * drive it without Xen.  facts_gather fills the facts of this host: dom0's
 * Linux (sysfs, mountinfo, swaps, bridges) and the backend's domains.
 * Callers: restore.c (dom-resume, --dry-run), the tests, fuzz/.
 */
#ifndef XENPIPE_POLICY_H
#define XENPIPE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "libxl_json.h"

#define POLICY_FILE	"/etc/xenpipe/policy"
#define POL_PATH	256
#define POL_UUID	37
#define POL_MAX_DEVS	16		/* disks, and vifs, a config may have */

/* What the site allows beyond the defaults; policy_defaults() first. */
struct policy {
	char disk_dirs[8][POL_PATH];	/* regular files only under these */
	unsigned int n_disk_dirs;
	char scripts[16][64];		/* beyond block and vif-bridge */
	unsigned int n_scripts;
	char bridges[16][16];		/* none: any bridge this host has */
	unsigned int n_bridges;
	char pools[8][64];		/* beyond Pool-0 */
	unsigned int n_pools;
	uint64_t max_mem_kb;		/* 0: what the host has */
	unsigned int max_vcpus, max_evtchn, max_grant_frames, max_maptrack;
	unsigned int stream_factor;	/* bytes a stream may carry / memory */
	int nested_hvm, vpmu, altp2m, driver_domain;
};

/* A path as this host resolves it (realpath, then stat). */
struct pol_path {
	char real[POL_PATH];
	int kind;			/* 'b' block device, 'f' file, '?' other */
	dev_t rdev;			/* block devices */
	dev_t dev;			/* files: the file's own */
	ino_t ino;
};

/* A block device of dom0 (sysfs) and what dom0 does with it. */
struct pol_blk {
	dev_t dev;
	dev_t parent;			/* a partition's disk, else 0 */
	char name[32];
	int mounted, swap, holders;	/* holders: LVM PV, md or dm member */
	dev_t under[4];			/* what it is built on: dm slaves, a
					   loop device's backing device */
};

/* A domain of this host. */
struct pol_dom {
	uint32_t domid;
	char name[DOM_NAME_MAX];
	char uuid[POL_UUID];		/* lower case; "" unknown */
};

/* A disk a domain's backend holds. */
struct pol_held {
	uint32_t domid;
	dev_t rdev;			/* 0 unknown */
	char path[POL_PATH];		/* as the backend was given it */
};

struct host_facts {
	uint64_t mem_kb;		/* memory the host has */
	struct pol_blk *blks;
	size_t n_blks;
	struct pol_dom *doms;
	size_t n_doms;
	struct pol_held *held;
	size_t n_held;
	char (*bridges)[16];
	size_t n_bridges;
	dev_t *swap_files_dev;		/* swap files (not devices) */
	ino_t *swap_files_ino;
	size_t n_swap_files;
	int look_only;			/* in: a dry run; the backend changes
					   nothing (no sweep of leftovers) */
	/* 0 and *out, or -1: the path does not resolve (errno set) */
	int (*resolve)(const char *path, struct pol_path *out);
};

struct plan_disk {
	char vdev[16];
	char target[POL_PATH];		/* resolved backing, or as given */
	char script[64];
	int rw;
};

struct plan_nic {
	int devid;
	char bridge[16];
	char script[64];
	char ip[POL_PATH];
};

/* What dom-resume would build. */
struct plan {
	char name[DOM_NAME_MAX];
	char type[8];			/* "pv", "pvh", "sim", "" none said */
	char uuid[POL_UUID];		/* "" a fresh one */
	int new_uuid;			/* not the stream's: a copy's own */
	uint64_t mem_kb;		/* max_memkb, or the sim's pages */
	unsigned int vcpus;
	struct plan_disk disk[POL_MAX_DEVS];
	unsigned int n_disks;
	struct plan_nic nic[POL_MAX_DEVS];
	unsigned int n_nics;
	uint64_t stream_max;		/* bytes the stream may carry */
};

void policy_defaults(struct policy *p);
/* Read a policy file over the defaults; -1 with xp_err (file:line: why). */
int policy_load(struct policy *p, const char *path);

/*
 * Check the config (lj_parse's tree, libxl_json.h; NULL: the stream
 * carries none) with the domain to be called name (NULL: the config's)
 * against p and f.  A name
 * the receiver chose makes a copy: if the stream's UUID is another
 * domain's here, the plan has a fresh one (new_uuid) instead of a refusal.  0 and
 * *plan filled, or -1 with one line in xp_err (class XE_STREAM).
 */
int policy_check(const struct policy *p, const struct host_facts *f,
    yajl_val config, const char *name, struct plan *plan);

/*
 * This host's facts; be may be NULL (no domains known).  Unless
 * f->look_only, the backend first destroys what dead receivers left (xen:
 * NAME--incoming), so that a leftover's UUID does not refuse its guest.
 */
int facts_gather(const struct backend *be, struct host_facts *f);
void facts_free(struct host_facts *f);
/* f's block device dev, or NULL */
struct pol_blk *facts_blk(const struct host_facts *f, dev_t dev);
/* realpath and stat: host_facts.resolve on a real host */
int facts_resolve(const char *path, struct pol_path *out);

#endif
