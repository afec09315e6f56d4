/*
 * xen_priv.h - what the parts of the xen backend share, and nothing
 * outside them may use: xen.c (library handles, lookups, the ops table),
 * xen_save.c (the sending side: memory, log-dirty, suspend, context
 * records, throttle) and xen_restore.c (the receiving side: domain
 * creation, libxenguest's restore fed from our checked reader, xenstore,
 * console, start; and destroy).  backend.h has the contract of each op.
 */
#ifndef XENPIPE_XEN_PRIV_H
#define XENPIPE_XEN_PRIV_H

#include <xenctrl.h>
#include <xenstore.h>

#include "backend.h"

struct xen_save;	/* xen_save.c's state for one domain */
struct xen_restore;	/* xen_restore.c's state for one domain being built */

struct dom {
	uint32_t domid;
	struct xen_save *save;		/* NULL until the sending side needs it */
	struct xen_restore *rst;	/* set by xen_create only */
};

/* Opened by xen_handles(), kept for the life of the process. */
extern xc_interface *xen_xch;
extern struct xs_handle *xen_xsh;
/* libxenctrl's own messages dropped: callers report from errno. */
extern struct xentoollog_logger xen_quiet_logger;

int xen_handles(void);
/* xc's view of one domain; -1 with xp_err when it does not exist. */
int xen_getinfo(uint32_t domid, xc_domaininfo_t *xi);
void xen_fill_info(const xc_domaininfo_t *xi, struct dom_info *info);
/* A new handle on domid (no lookup, no check). */
struct dom *xen_dom_new(uint32_t domid);

/* xen_save.c */
int xen_config_json(struct dom *d, char **json);
int xen_read_pages(struct dom *d, const uint64_t *pfns, unsigned int n,
    void *buf, uint32_t *types);
int xen_logdirty(struct dom *d, enum logdirty_op op, uint64_t *bitmap);
int xen_pause(struct dom *d);
int xen_unpause(struct dom *d);
int xen_suspend(struct dom *d);
int xen_resume(struct dom *d);
int xen_throttle(struct dom *d, unsigned int pct);
int xen_write_static(struct dom *d, struct sw *sw);
int xen_write_context(struct dom *d, struct sw *sw);
/*
 * Records between STATIC_DATA_END and the first page: X86_PV_P2M_FRAMES
 * for a PV guest (libxenguest's restore needs it before any PAGE_DATA);
 * nothing for HVM.
 */
int xen_write_start(struct dom *d, struct sw *sw);
/* Frees d->save; called by xen_close. */
void xen_save_close(struct dom *d);

/* xen_restore.c */
int xen_create(const struct dom_config *cfg, struct dom **d);
int xen_receive(struct dom *d, const struct sr_rec *r, struct sr *in);
int xen_finish(struct dom *d);
int xen_start(struct dom *d, const char *name, struct dom_info *info);
int xen_rename(struct dom *d, const char *newname);
int xen_destroy(struct dom *d);
/* Destroy every NAME--incoming whose builder (dom-resume) is gone. */
void xen_sweep_leftovers(void);
/* Frees d->rst (a restore not started is not undone here: see destroy). */
void xen_restore_close(struct dom *d);

void xen_close(struct dom *d);

/* xs_read of fmt's path, NUL-terminated and malloc'd; NULL when absent. */
char *xen_xs_get(xs_transaction_t t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* fill(t, arg) in a transaction, again while the commit meets EAGAIN. */
/*
 * Write val (NULL: "") at the path fmt makes, then give it the np
 * permissions p (np 0: it inherits its parent's).  -1 with xp_err.
 */
int xen_xs_put(xs_transaction_t t, const struct xs_permissions *p,
    unsigned int np, const char *val, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int xen_xs_txn(int (*fill)(xs_transaction_t, void *), void *arg,
    const char *what);

/*
 * xen_dev.c: a domain's disks (vbd) and network interfaces (vif), from the
 * libxl domain config, built in xenstore with their hotplug scripts as
 * libxl 4.17 does for xl restore.
 */
struct xen_devs;	/* opaque: the disks and nics of a config */
/*
 * Read the config (lj_parse's tree) with libxl's defaults.  Refuses
 * (XE_STREAM) the other device kinds and what we cannot rebuild: only phy-backed vbd
 * (backend phy, or unknown/absent with a block device, a file or a script)
 * with a pdev_path, and vif nictype vif (default bridge xenbr0, script
 * vif-bridge, a random 00:16:3e mac when it has none); at most 16 of each.
 * 0 and *out NULL when there are none: every function here takes NULL.
 */
int xen_devs_parse(struct yajl_val_s *config, struct xen_devs **out);
/*
 * Write each device's frontend, backend and /libxl/DOMID/device entries,
 * wait (10 s) for the backend's InitWait, run its hotplug script (block
 * add, vif-bridge online; 40 s) and check it connected.  On failure every
 * device added is removed again; -1 with xp_err naming the device.
 */
int xen_devs_add(uint32_t domid, const struct xen_devs *devs);
/*
 * Tear down the vbd and vif devices listed in /libxl/DOMID/device (of a
 * domain being destroyed): backend offline and Closing, the remove and
 * offline scripts, the entries removed.  Best effort; keeps xp_err.
 */
void xen_devs_remove(uint32_t domid);
void xen_devs_free(struct xen_devs *devs);

#endif
