/*
 * xen_save.c - the xen backend's sending side (xen_priv.h): guest memory
 * and its page types, log-dirty, pause, suspend and resume through the
 * xenstore control/shutdown protocol, the credit schedulers' cap as the
 * throttle, and the records libxenguest's own sender writes around the
 * memory (xg_sr_save_x86_hvm.c, xg_sr_save_x86_pv.c): CPU policy, TSC,
 * HVM context and params; for PV the guest's P2M, page tables made
 * pfn-based, vCPU state and the shared info page.
 *
 * The state of one domain (struct xen_save) is made on first use and
 * freed by xen_save_close.  A throttle outlives the process that set it
 * (dirty-track leaves it for dom-suspend to lift once the guest is
 * suspended): the cap it replaced is kept in xenstore, in a dom0-only
 * node, so that throttle(100) in any process puts it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "xen_priv.h"	/* xenctrl.h first: xenguest.h needs it */

#include <xenforeignmemory.h>
#include <xenguest.h>
#include <xen/hvm/params.h>

#include "config.h"
#include "io.h"
#include "err.h"
#include "stream.h"

/* Exported by libxenctrl, declared only in its private header. */
int xc_get_pfn_type_batch(xc_interface *xch, uint32_t dom, unsigned int num,
    xen_pfn_t *arr);

#define PAGE_SZ		XP_PAGE_SIZE
#define SUSPEND_ACK_MS	20000	/* for the guest to take the request */
#define SUSPEND_MS	60000	/* for it to have suspended, as libxl */
#define CONFIG_MAX	(1u << 20)
#define THROTTLE_DIR	"/xenpipe/throttle"

/* The P2M and M2P of a 64-bit PV guest, for mfn <-> pfn. */
struct xen_pv {
	void *shinfo;			/* its shared info page, mapped */
	xen_pfn_t *m2p;			/* Xen's machine-to-phys table */
	size_t m2p_len;
	unsigned long max_mfn;
	const uint64_t *p2m;		/* the guest's p2m leaves, mapped */
	unsigned int p2m_frames;
	uint64_t max_pfn;
	uint64_t *p2m_pfns;		/* pfn of each p2m frame */
	uint64_t *deferred;		/* tables caught mid-update, resent */
	uint8_t *scratch;		/* one page, for normalising */
};

struct xen_save {
	uint32_t dom_type;
	uint64_t nr_pages;		/* bitmap bits, as xen_fill_info */
	uint32_t nr_vcpus;
	xenforeignmemory_handle *fmem;	/* xch's own, not ours to close */
	xen_pfn_t gfns[PAGE_BATCH_MAX];
	xen_pfn_t types[PAGE_BATCH_MAX];
	int errs[PAGE_BATCH_MAX];
	xc_hypercall_buffer_t dirty;	/* log-dirty bitmap, nr_pages bits */
	size_t dirty_npages;
	struct xen_pv *pv;		/* PV only, on first need */
};

static void pv_free(struct xen_pv *pv);

static int
sys_err(struct dom *d, const char *what)
{
	xp_seterr(XE_SYS, "domain %u: %s", d->domid, what);
	return -1;
}

/* Paused or suspended (or gone: then nothing can change any more). */
static int
dom_stopped(struct dom *d)
{
	xc_domaininfo_t xi;

	if (xen_getinfo(d->domid, &xi) < 0)
		return 1;
	return (xi.flags & (XEN_DOMINF_paused | XEN_DOMINF_shutdown)) != 0;
}

/* This process's state for d, made on first use. */
static struct xen_save *
get_save(struct dom *d)
{
	xc_domaininfo_t xi;
	struct dom_info info;
	struct xen_save *s;

	if (d->save != NULL)
		return d->save;
	if (xen_getinfo(d->domid, &xi) < 0)
		return NULL;
	xen_fill_info(&xi, &info);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		xp_seterr(XE_SYS, "domain %u: save state", d->domid);
		return NULL;
	}
	s->dom_type = info.dom_type;
	s->nr_pages = info.nr_pages;
	s->nr_vcpus = info.nr_vcpus;
	s->fmem = xc_interface_fmem_handle(xen_xch);
	s->dirty.ubuf = (void *)-1;
	d->save = s;
	return s;
}

void
xen_save_close(struct dom *d)
{
	struct xen_save *s = d->save;

	if (s == NULL)
		return;
	if (s->dirty.hbuf != NULL)
		xc__hypercall_buffer_free_pages(xen_xch, &s->dirty,
		    s->dirty_npages);
	pv_free(s->pv);
	free(s);
	d->save = NULL;
}

/* ---------------- config ---------------- */

/* libxl's userdata file of the domain, as libxl__userdata_path() names it. */
static int
userdata_path(struct dom *d, const xc_domaininfo_t *xi, char *path, size_t len)
{
	const uint8_t *u = xi->handle;

	snprintf(path, len, "/var/lib/xen/userdata-d.%u.%02x%02x%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x.libxl-json",
	    d->domid, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
	    u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

/*
 * The file's contents up to the first NUL (libxl stores one), or NULL
 * when it is missing or empty; -1 on a read error.
 */
static int
read_config_file(const char *path, char **out)
{
	char *buf;
	size_t len;

	*out = NULL;
	if (io_read_file(path, CONFIG_MAX, &buf, &len) < 0)
		return errno == ENOENT ? 0 : -1;
	if (buf[0] == '\0')
		free(buf);
	else
		*out = buf;
	return 0;
}

int
xen_config_json(struct dom *d, char **json)
{
	struct dom_config cfg;
	struct dom_info info;
	xc_domaininfo_t xi;
	char path[160], *named;

	*json = NULL;
	if (xen_getinfo(d->domid, &xi) < 0)
		return -1;
	userdata_path(d, &xi, path, sizeof(path));
	if (read_config_file(path, json) < 0) {
		xp_seterr(XE_SYS, "domain %u: %s", d->domid, path);
		return -1;
	}
	if (*json != NULL) {
		memset(&cfg, 0, sizeof(cfg));
		if (config_from_json(*json, strlen(*json), &cfg) == 0) {
			xen_fill_info(&xi, &info);
			if (strcmp(cfg.name, info.name) == 0)
				return 0;
			named = config_rewrite(*json, info.name, NULL);
			free(*json);
			*json = named;
			return named == NULL ? -1 : 0;
		}
		/* not what libxl writes: ours is better than none */
		free(*json);
		*json = NULL;
	}
	/* not made by libxl: the little we know */
	xen_fill_info(&xi, &info);
	if ((*json = config_to_json(&info, "xen", 0)) == NULL)
		return -1;
	return 0;
}

/* ---------------- memory ---------------- */

static int pv_normalise(struct dom *d, struct xen_save *s, uint32_t *type,
    void *page, uint64_t pfn);
static int pv_setup(struct dom *d, struct xen_save *s);

int
xen_read_pages(struct dom *d, const uint64_t *pfns, unsigned int n,
    void *buf, uint32_t *types)
{
	struct xen_save *s;
	uint8_t *map = NULL;
	unsigned int i, p, nmap = 0;
	uint32_t t;
	int rc = -1;

	if (n > PAGE_BATCH_MAX) {
		xp_seterr(XE_USAGE, "read_pages: batch of %u pages", n);
		return -1;
	}
	if ((s = get_save(d)) == NULL)
		return -1;
	if (s->dom_type == DHDR_TYPE_X86_PV && pv_setup(d, s) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s->pv == NULL)
			s->types[i] = pfns[i];
		else if (pfns[i] > s->pv->max_pfn)
			s->types[i] = INVALID_MFN;
		else
			s->types[i] = s->pv->p2m[pfns[i]];
	}
	if (xc_get_pfn_type_batch(xen_xch, d->domid, n, s->types) < 0)
		return sys_err(d, "page types (getpageframeinfo3)");
	for (i = 0; i < n; i++) {
		t = (s->types[i] & XEN_DOMCTL_PFINFO_LTAB_MASK) >>
		    XEN_DOMCTL_PFINFO_LTAB_SHIFT;
		if (!PFINFO_VALID(t)) {
			xp_seterr(XE_STATE, "domain %u: pfn 0x%" PRIx64 " has "
			    "unknown page type 0x%x", d->domid, pfns[i], t);
			return -1;
		}
		types[i] = t;
		if (PFINFO_HAS_DATA(t))
			s->gfns[nmap++] = s->pv == NULL ? pfns[i] :
			    s->pv->p2m[pfns[i]];
	}
	if (nmap == 0)
		return 0;
	map = xenforeignmemory_map(s->fmem, d->domid, PROT_READ, nmap,
	    s->gfns, s->errs);
	if (map == NULL)
		return sys_err(d, "map guest pages");
	for (i = 0, p = 0; i < n; i++) {
		if (!PFINFO_HAS_DATA(types[i]))
			continue;
		if (s->errs[p] != 0) {
			errno = -s->errs[p];
			xp_seterr(XE_SYS, "domain %u: map pfn 0x%" PRIx64,
			    d->domid, pfns[i]);
			goto out;
		}
		memcpy((uint8_t *)buf + (size_t)i * PAGE_SZ,
		    map + (size_t)p * PAGE_SZ, PAGE_SZ);
		if (s->pv != NULL && pv_normalise(d, s, &types[i],
		    (uint8_t *)buf + (size_t)i * PAGE_SZ, pfns[i]) < 0)
			goto out;
		p++;
	}
	rc = 0;
out:
	xenforeignmemory_unmap(s->fmem, map, nmap);
	return rc;
}

/* ---------------- log-dirty ---------------- */

static int
logdirty_enable(struct dom *d, struct xen_save *s)
{
	xc_physinfo_t phys;
	int e;

	if (xc_shadow_control(xen_xch, d->domid,
	    XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) == 0)
		return 0;
	e = errno;
	/* already on (an earlier stage, or a toolstack): start it afresh */
	if (xc_shadow_control(xen_xch, d->domid, XEN_DOMCTL_SHADOW_OP_OFF,
	    NULL, 0) == 0 &&
	    xc_shadow_control(xen_xch, d->domid,
	    XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) == 0)
		return 0;
	if (s->dom_type == DHDR_TYPE_X86_PV &&
	    xc_physinfo(xen_xch, &phys) == 0 &&
	    !(phys.capabilities & XEN_SYSCTL_PHYSCAP_shadow)) {
		xp_seterr(XE_STATE, "domain %u: log-dirty is unavailable for "
		    "PV guests on this hypervisor (no shadow paging)",
		    d->domid);
		return -1;
	}
	errno = e;
	return sys_err(d, "enable log-dirty");
}

int
xen_logdirty(struct dom *d, enum logdirty_op op, uint64_t *bitmap)
{
	struct xen_save *s;
	xc_shadow_op_stats_t stats;
	size_t bytes, i;
	long long got;

	if ((s = get_save(d)) == NULL)
		return -1;
	switch (op) {
	case LOGDIRTY_ENABLE:
		return logdirty_enable(d, s);
	case LOGDIRTY_DISABLE:
		/* OFF on a domain not in log-dirty mode is no error to us */
		xc_shadow_control(xen_xch, d->domid, XEN_DOMCTL_SHADOW_OP_OFF,
		    NULL, 0);
		return 0;
	case LOGDIRTY_CLEAN:
	case LOGDIRTY_PEEK:
		break;
	default:
		xp_seterr(XE_USAGE, "logdirty: op %d", (int)op);
		return -1;
	}
	bytes = (s->nr_pages + 63) / 64 * 8;
	if (s->dirty.hbuf == NULL) {
		s->dirty_npages = (bytes + PAGE_SZ - 1) / PAGE_SZ;
		if (s->dirty_npages == 0)
			s->dirty_npages = 1;
		if (xc__hypercall_buffer_alloc_pages(xen_xch, &s->dirty,
		    s->dirty_npages) == NULL)
			return sys_err(d, "log-dirty bitmap");
	}
	memset(s->dirty.hbuf, 0, s->dirty_npages * PAGE_SZ);
	/*
	 * Once the guest is stopped, FINAL has Xen count the pages it keeps
	 * mapped itself (vCPU info and the like), as libxenguest asks on
	 * its last round.
	 */
	got = xc_logdirty_control(xen_xch, d->domid, op == LOGDIRTY_CLEAN ?
	    XEN_DOMCTL_SHADOW_OP_CLEAN : XEN_DOMCTL_SHADOW_OP_PEEK,
	    &s->dirty, s->nr_pages, dom_stopped(d) ?
	    XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL : 0, &stats);
	if (got < 0)
		return sys_err(d, op == LOGDIRTY_CLEAN ? "log-dirty clean "
		    "(is log-dirty on? mem-dump -l turns it on)" :
		    "log-dirty peek (is log-dirty on? mem-dump -l turns it on)");
	memcpy(bitmap, s->dirty.hbuf, bytes);
	/* PV page tables read mid-update are due again */
	if (s->pv != NULL) {
		for (i = 0; i < bytes / 8; i++)
			bitmap[i] |= s->pv->deferred[i];
		if (op == LOGDIRTY_CLEAN)
			memset(s->pv->deferred, 0, bytes);
	}
	return 0;
}

/* ---------------- pause, suspend, resume ---------------- */

int
xen_pause(struct dom *d)
{
	if (xen_handles() < 0)
		return -1;
	if (xc_domain_pause(xen_xch, d->domid) < 0)
		return sys_err(d, "pause");
	return 0;
}

int
xen_unpause(struct dom *d)
{
	if (xen_handles() < 0)
		return -1;
	if (xc_domain_unpause(xen_xch, d->domid) < 0)
		return sys_err(d, "unpause");
	return 0;
}

/* 1: suspended, 0: not yet, -1: gone or shut down otherwise. */
static int
check_suspended(struct dom *d)
{
	xc_domaininfo_t xi;
	unsigned int code;

	if (xen_getinfo(d->domid, &xi) < 0)
		return -1;
	if (xi.flags & XEN_DOMINF_dying) {
		xp_seterr(XE_STATE, "domain %u is dying", d->domid);
		return -1;
	}
	if (!(xi.flags & XEN_DOMINF_shutdown))
		return 0;
	code = (xi.flags >> XEN_DOMINF_shutdownshift) &
	    XEN_DOMINF_shutdownmask;
	if (code == SHUTDOWN_suspend)
		return 1;
	xp_seterr(XE_STATE, "domain %u shut down (reason %u) instead of "
	    "suspending", d->domid, code);
	return -1;
}

/* Has the guest taken the request (control/shutdown no longer "suspend")? */
static int
suspend_acked(const char *path)
{
	unsigned int len;
	char *v;
	int acked;

	if ((v = xs_read(xen_xsh, XBT_NULL, path, &len)) == NULL)
		return 1;
	acked = len != 7 || memcmp(v, "suspend", 7) != 0;
	free(v);
	return acked;
}

/*
 * Withdraw an unanswered request, in a transaction so that a guest that
 * takes it at the last moment wins (libxl's
 * domain_suspend_common_pvcontrol_suspending): 1 withdrawn, 0 the guest
 * took it, -1 xenstore failed and the request may still stand.
 */
static int
suspend_withdraw(const char *path)
{
	xs_transaction_t t;
	unsigned int len;
	char *v;
	int pending;

	for (;;) {
		if ((t = xs_transaction_start(xen_xsh)) == XBT_NULL)
			return -1;
		v = xs_read(xen_xsh, t, path, &len);
		pending = v != NULL && len == 7 && memcmp(v, "suspend", 7) == 0;
		free(v);
		if (!pending) {
			xs_transaction_end(xen_xsh, t, true);
			return 0;
		}
		if (!xs_write(xen_xsh, t, path, "", 0)) {
			xs_transaction_end(xen_xsh, t, true);
			return -1;
		}
		if (xs_transaction_end(xen_xsh, t, false))
			return 1;
		if (errno != EAGAIN)
			return -1;
	}
}

/* Drain the watch events that woke us; we look at the state ourselves. */
static void
drain_watches(void)
{
	char **w;

	while ((w = xs_check_watch(xen_xsh)) != NULL)
		free(w);
}

/*
 * Ask as libxl asks: control/shutdown = "suspend", then wait for the guest
 * to take it (clear the key; SUSPEND_ACK_MS) and for Xen to report it
 * suspended (SUSPEND_MS in all).  A request not taken in time, or when a
 * signal comes, is withdrawn (suspend_withdraw), so that a guest that gets
 * to it later finds nothing; one taken, even at the last moment, cannot be
 * withdrawn (the guest is on its way to suspending and only we would
 * resume it), so the wait goes on to SUSPEND_MS, signal or not.  A domain
 * found suspended is a success whatever ended the wait: the caller owns it
 * then, and resumes it if it is failing.
 */
int
xen_suspend(struct dom *d)
{
	char path[64], token[32];
	struct pollfd pfd;
	uint64_t t0, ms;
	int rc, st, xs_errno, acked = 0, watching = 0, ret = -1;

	if (xen_handles() < 0)
		return -1;
	if ((rc = check_suspended(d)) != 0)
		return rc < 0 ? -1 : 0;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
	    d->domid);
	snprintf(token, sizeof(token), "xenpipe-suspend-%u", d->domid);
	if (!xs_watch(xen_xsh, "@releaseDomain", token)) {
		xp_seterr(XE_SYS, "domain %u: xenstore watch", d->domid);
		return -1;
	}
	watching = 1;
	if (!xs_watch(xen_xsh, path, token)) {
		xp_seterr(XE_SYS, "domain %u: xenstore watch %s", d->domid,
		    path);
		goto out;
	}
	watching = 2;
	if (!xs_write(xen_xsh, XBT_NULL, path, "suspend", 7)) {
		xp_seterr(XE_SYS, "domain %u: write %s", d->domid, path);
		goto out;
	}
	t0 = now_ns() / 1000000;
	pfd.fd = xs_fileno(xen_xsh);
	pfd.events = POLLIN;
	for (;;) {
		if ((rc = check_suspended(d)) != 0) {
			if (rc > 0)
				ret = 0;
			goto out;
		}
		if (!acked)
			acked = suspend_acked(path);
		ms = now_ns() / 1000000 - t0;
		if (!acked && (ms > SUSPEND_ACK_MS || xp_interrupted)) {
			if ((rc = suspend_withdraw(path)) == 0) {
				acked = 1;	/* taken at the last moment */
				continue;
			}
			xs_errno = errno;
			/* suspended anyway meanwhile (not by our request)? */
			if ((st = check_suspended(d)) != 0) {
				ret = st > 0 ? 0 : -1;
				goto out;
			}
			errno = xs_errno;
			if (rc < 0)
				xp_seterr(XE_SYS, "domain %u: %s; withdrawing "
				    "the suspend request failed: it may still "
				    "stand in %s", d->domid, xp_interrupted ?
				    "suspend interrupted" : "the guest did not "
				    "take the suspend request in time", path);
			else if (xp_interrupted) {
				errno = 0;
				xp_seterr(XE_SYS, "domain %u: suspend "
				    "interrupted; request withdrawn", d->domid);
			} else
				xp_seterr(XE_STATE, "domain %u: the guest did "
				    "not take the suspend request in %d s (no "
				    "PV suspend support?); request withdrawn",
				    d->domid, SUSPEND_ACK_MS / 1000);
			goto out;
		}
		if (ms > SUSPEND_MS) {
			/* the look at the top of the loop was the last one */
			xp_seterr(XE_STATE, "domain %u: the guest took the "
			    "suspend request but had not suspended after %d "
			    "s; if it does later, resume it: dom-resume "
			    "--in-place %u", d->domid, SUSPEND_MS / 1000,
			    d->domid);
			goto out;
		}
		if (pfd.fd < 0 || poll(&pfd, 1, 200) > 0)
			drain_watches();
		if (pfd.fd < 0)
			usleep(50000);
	}
out:
	if (watching > 1)
		xs_unwatch(xen_xsh, path, token);
	if (watching > 0)
		xs_unwatch(xen_xsh, "@releaseDomain", token);
	return ret;
}

int
xen_resume(struct dom *d)
{
	int rc;

	if (xen_handles() < 0)
		return -1;
	if ((rc = check_suspended(d)) < 0)
		return -1;
	if (rc == 0) {
		xp_seterr(XE_STATE, "domain %u is not suspended", d->domid);
		return -1;
	}
	/* cooperative: the guest sees its suspend cancelled (xl save -c) */
	if (xc_domain_resume(xen_xch, d->domid, 1) < 0)
		return sys_err(d, "xc_domain_resume");
	if (!xs_resume_domain(xen_xsh, d->domid))
		return sys_err(d, "xenstore resume");
	return 0;
}

/* ---------------- throttle ---------------- */

static int
sched_of(struct dom *d, uint32_t *sched_id)
{
	xc_domaininfo_t xi;
	xc_cpupoolinfo_t *pool;

	if (xen_getinfo(d->domid, &xi) < 0)
		return -1;
	pool = xc_cpupool_getinfo(xen_xch, xi.cpupool);
	if (pool == NULL)
		return sys_err(d, "cpupool info");
	*sched_id = pool->cpupool_id == xi.cpupool ? pool->sched_id : 0;
	xc_cpupool_infofree(xen_xch, pool);
	if (*sched_id != XEN_SCHEDULER_CREDIT &&
	    *sched_id != XEN_SCHEDULER_CREDIT2) {
		xp_seterr(XE_STATE, "domain %u: its cpupool's scheduler "
		    "(id %u) has no cap to throttle with; credit or credit2 "
		    "do", d->domid, *sched_id);
		return -1;
	}
	return 0;
}

static int
cap_get(struct dom *d, uint32_t sched, uint16_t *weight, uint16_t *cap)
{
	struct xen_domctl_sched_credit c;
	struct xen_domctl_sched_credit2 c2;

	if (sched == XEN_SCHEDULER_CREDIT) {
		if (xc_sched_credit_domain_get(xen_xch, d->domid, &c) < 0)
			return sys_err(d, "credit scheduler parameters");
		*weight = c.weight;
		*cap = c.cap;
	} else {
		if (xc_sched_credit2_domain_get(xen_xch, d->domid, &c2) < 0)
			return sys_err(d, "credit2 scheduler parameters");
		*weight = c2.weight;
		*cap = c2.cap;
	}
	return 0;
}

static int
cap_set(struct dom *d, uint32_t sched, uint16_t weight, uint16_t cap)
{
	struct xen_domctl_sched_credit c = { .weight = weight, .cap = cap };
	struct xen_domctl_sched_credit2 c2 = { .weight = weight, .cap = cap };

	if (sched == XEN_SCHEDULER_CREDIT ?
	    xc_sched_credit_domain_set(xen_xch, d->domid, &c) < 0 :
	    xc_sched_credit2_domain_set(xen_xch, d->domid, &c2) < 0)
		return sys_err(d, "set the scheduler cap");
	return 0;
}

/*
 * The cap in place before our throttle, from xenstore: 1 found, 0 none.
 * The node names the domain's handle too, so a reused domid never picks
 * up a dead domain's record.
 */
static int
orig_cap_get(struct dom *d, const char *handle, uint16_t *cap)
{
	char path[64], hbuf[40], *v;
	unsigned int len, c;
	int found = 0;

	snprintf(path, sizeof(path), THROTTLE_DIR "/%u", d->domid);
	if ((v = xs_read(xen_xsh, XBT_NULL, path, &len)) == NULL)
		return 0;
	if (sscanf(v, "%u %39s", &c, hbuf) == 2 && c <= 0xffff &&
	    strcmp(hbuf, handle) == 0) {
		*cap = c;
		found = 1;
	}
	free(v);
	return found;
}

static void
handle_str(const xc_domaininfo_t *xi, char *buf)
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(buf + 2 * i, "%02x", xi->handle[i]);
}

int
xen_throttle(struct dom *d, unsigned int pct)
{
	xc_domaininfo_t xi;
	struct xen_save *s;
	char path[64], val[64], handle[33];
	uint32_t sched;
	uint16_t weight, cap, orig = 0;
	unsigned int want;
	int have;

	if (pct < 1 || pct > 100) {
		xp_seterr(XE_USAGE, "throttle: %u%% is not in 1..100", pct);
		return -1;
	}
	if ((s = get_save(d)) == NULL || xen_getinfo(d->domid, &xi) < 0)
		return -1;
	handle_str(&xi, handle);
	snprintf(path, sizeof(path), THROTTLE_DIR "/%u", d->domid);
	have = orig_cap_get(d, handle, &orig);
	if (pct == 100 && !have)
		return 0;	/* never throttled: nothing to lift */
	if (sched_of(d, &sched) < 0 || cap_get(d, sched, &weight, &cap) < 0)
		return -1;
	if (pct == 100) {
		if (cap_set(d, sched, weight, orig) < 0)
			return -1;
		xs_rm(xen_xsh, XBT_NULL, path);
		return 0;
	}
	if (!have) {
		orig = cap;
		snprintf(val, sizeof(val), "%u %s", orig, handle);
		if (!xs_write(xen_xsh, XBT_NULL, path, val, strlen(val))) {
			xp_seterr(XE_SYS, "domain %u: xenstore %s", d->domid,
			    path);
			return -1;
		}
	}
	/* percent of one pCPU: pct of every vCPU, never above the old cap */
	want = pct * (s->nr_vcpus ? s->nr_vcpus : 1);
	if (want > 0xffff)
		want = 0xffff;
	if (orig != 0 && orig < want)
		want = orig;
	return cap_set(d, sched, weight, want);
}

/* ---------------- static records and context ---------------- */

static int
write_cpu_policy(struct dom *d, struct sw *sw)
{
	xc_cpu_policy_t *pol = NULL;
	xen_cpuid_leaf_t *leaves = NULL;
	xen_msr_entry_t *msrs = NULL;
	uint32_t nr_leaves = 0, nr_msrs = 0;
	int rc = -1;

	if (xc_cpu_policy_get_size(xen_xch, &nr_leaves, &nr_msrs) < 0)
		return sys_err(d, "CPU policy size");
	leaves = calloc(nr_leaves ? nr_leaves : 1, sizeof(*leaves));
	msrs = calloc(nr_msrs ? nr_msrs : 1, sizeof(*msrs));
	pol = xc_cpu_policy_init();
	if (leaves == NULL || msrs == NULL || pol == NULL) {
		sys_err(d, "CPU policy");
		goto out;
	}
	if (xc_cpu_policy_get_domain(xen_xch, d->domid, pol) < 0) {
		sys_err(d, "CPU policy");
		goto out;
	}
	if (xc_cpu_policy_serialise(xen_xch, pol, leaves, &nr_leaves, msrs,
	    &nr_msrs) < 0) {
		sys_err(d, "serialise CPU policy");
		goto out;
	}
	if (nr_leaves && sw_record(sw, REC_TYPE_X86_CPUID_POLICY, leaves,
	    nr_leaves * sizeof(*leaves)) < 0)
		goto out;
	if (nr_msrs && sw_record(sw, REC_TYPE_X86_MSR_POLICY, msrs,
	    nr_msrs * sizeof(*msrs)) < 0)
		goto out;
	rc = 0;
out:
	xc_cpu_policy_destroy(pol);
	free(leaves);
	free(msrs);
	return rc;
}

static int write_pv_info(struct dom *d, struct xen_save *s, struct sw *sw);
static int write_pv_context(struct dom *d, struct xen_save *s,
    struct sw *sw);

int
xen_write_static(struct dom *d, struct sw *sw)
{
	struct xen_save *s;

	if ((s = get_save(d)) == NULL)
		return -1;
	if (s->dom_type == DHDR_TYPE_X86_PV && write_pv_info(d, s, sw) < 0)
		return -1;
	return write_cpu_policy(d, sw);
}

static int
write_tsc_info(struct dom *d, struct sw *sw)
{
	struct xc_tsc_info tsc;

	memset(&tsc, 0, sizeof(tsc));
	if (xc_domain_get_tsc_info(xen_xch, d->domid, &tsc.mode, &tsc.nsec,
	    &tsc.khz, &tsc.incarnation) < 0)
		return sys_err(d, "TSC info");
	return sw_record(sw, REC_TYPE_X86_TSC_INFO, &tsc, sizeof(tsc));
}

static int
write_hvm_context(struct dom *d, struct sw *sw)
{
	uint8_t *buf;
	int len, rc;

	if ((len = xc_domain_hvm_getcontext(xen_xch, d->domid, NULL, 0)) < 0)
		return sys_err(d, "HVM context size");
	if ((buf = malloc(len)) == NULL)
		return sys_err(d, "HVM context");
	if ((len = xc_domain_hvm_getcontext(xen_xch, d->domid, buf,
	    len)) < 0) {
		free(buf);
		return sys_err(d, "HVM context");
	}
	rc = sw_record(sw, REC_TYPE_HVM_CONTEXT, buf, len);
	free(buf);
	return rc;
}

/* The params libxenguest saves (xg_sr_save_x86_hvm.c), non-zero ones. */
static const uint32_t hvm_params[] = {
	HVM_PARAM_STORE_PFN,
	HVM_PARAM_IOREQ_PFN,
	HVM_PARAM_BUFIOREQ_PFN,
	HVM_PARAM_PAGING_RING_PFN,
	HVM_PARAM_MONITOR_RING_PFN,
	HVM_PARAM_SHARING_RING_PFN,
	HVM_PARAM_VM86_TSS_SIZED,
	HVM_PARAM_CONSOLE_PFN,
	HVM_PARAM_ACPI_IOPORTS_LOCATION,
	HVM_PARAM_VIRIDIAN,
	HVM_PARAM_IDENT_PT,
	HVM_PARAM_VM_GENERATION_ID_ADDR,
	HVM_PARAM_IOREQ_SERVER_PFN,
	HVM_PARAM_NR_IOREQ_SERVER_PAGES,
	HVM_PARAM_X87_FIP_WIDTH,
	HVM_PARAM_MCA_CAP,
};
#define NR_HVM_PARAMS	(sizeof(hvm_params) / sizeof(hvm_params[0]))

static int
write_hvm_params(struct dom *d, struct sw *sw)
{
	struct {
		struct xc_hvm_params_hdr h;
		struct xc_hvm_param p[NR_HVM_PARAMS];
	} rec;
	uint64_t v;
	unsigned int i;

	memset(&rec, 0, sizeof(rec));
	for (i = 0; i < NR_HVM_PARAMS; i++) {
		if (xc_hvm_param_get(xen_xch, d->domid, hvm_params[i], &v) < 0) {
			xp_seterr(XE_SYS, "domain %u: HVM param %u", d->domid,
			    hvm_params[i]);
			return -1;
		}
		if (v == 0)
			continue;
		rec.p[rec.h.count].index = hvm_params[i];
		rec.p[rec.h.count].value = v;
		rec.h.count++;
	}
	if (rec.h.count == 0)
		return 0;
	return sw_record(sw, REC_TYPE_HVM_PARAMS, &rec,
	    sizeof(rec.h) + rec.h.count * sizeof(rec.p[0]));
}

int
xen_write_context(struct dom *d, struct sw *sw)
{
	struct xen_save *s;

	if ((s = get_save(d)) == NULL)
		return -1;
	if (s->dom_type == DHDR_TYPE_X86_PV)
		return write_pv_context(d, s, sw);
	/* as libxenguest's x86_hvm_end_of_checkpoint */
	if (write_tsc_info(d, sw) < 0 || write_hvm_context(d, sw) < 0 ||
	    write_hvm_params(d, sw) < 0)
		return -1;
	return 0;
}

/* ---------------- PV ---------------- */

/*
 * 64-bit PV guests only (4-level page tables, 8-byte p2m entries): what
 * Debian's kernels and every current PV guest are.
 */
#define PV_FPP			(PAGE_SZ / 8)	/* p2m entries per page */
#define PTE_PRESENT		0x001ULL
#define PTE_PSE			0x080ULL
#define PTE_FRAME(pte)		(((pte) & 0x000ffffffffff000ULL) >> 12)
#define PV_XEN_L4_FIRST		((__HYPERVISOR_VIRT_START >> 39) & 511)
#define PV_XEN_L4_LAST		((__HYPERVISOR_VIRT_END >> 39) & 511)
#define PV_VA_MASK		0x0000ffffffffffffULL
#define PV_GDT_ENTRIES_MAX	(14 * 512)	/* FIRST_RESERVED_GDT_ENTRY */
#define M2P_CHUNK		(1UL << 21)

static void
pv_free(struct xen_pv *pv)
{
	xenforeignmemory_handle *fmem;

	if (pv == NULL)
		return;
	fmem = xc_interface_fmem_handle(xen_xch);
	if (pv->p2m != NULL)
		xenforeignmemory_unmap(fmem, (void *)pv->p2m, pv->p2m_frames);
	if (pv->shinfo != NULL)
		xenforeignmemory_unmap(fmem, pv->shinfo, 1);
	if (pv->m2p != NULL)
		munmap(pv->m2p, pv->m2p_len);
	free(pv->p2m_pfns);
	free(pv->deferred);
	free(pv->scratch);
	free(pv);
}

/* Map n guest frames read-only; NULL with xp_err if any fails. */
static void *
pv_map(struct dom *d, const xen_pfn_t *mfns, unsigned int n, const char *what)
{
	xenforeignmemory_handle *fmem = xc_interface_fmem_handle(xen_xch);
	unsigned int i;
	void *p;
	int *errs;

	if ((errs = calloc(n ? n : 1, sizeof(*errs))) == NULL) {
		sys_err(d, what);
		return NULL;
	}
	p = xenforeignmemory_map(fmem, d->domid, PROT_READ, n, mfns, errs);
	if (p == NULL) {
		sys_err(d, what);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (errs[i] != 0) {
			errno = -errs[i];
			xp_seterr(XE_SYS, "domain %u: %s: frame 0x%lx", d->domid,
			    what, (unsigned long)mfns[i]);
			xenforeignmemory_unmap(fmem, p, n);
			p = NULL;
			break;
		}
out:
	free(errs);
	return p;
}

static xen_pfn_t
mfn_to_pfn(const struct xen_pv *pv, xen_pfn_t mfn)
{
	return pv->m2p[mfn];
}

/* Is mfn the guest's, and its p2m and Xen's m2p agree on it? */
static int
mfn_ok(const struct xen_pv *pv, xen_pfn_t mfn)
{
	xen_pfn_t pfn;

	if (mfn > pv->max_mfn)
		return 0;
	pfn = pv->m2p[mfn];
	return pfn <= pv->max_pfn && pv->p2m[pfn] == mfn;
}

static int
bad_mfn(struct dom *d, const char *what, xen_pfn_t mfn)
{
	xp_seterr(XE_STATE, "domain %u: %s: mfn 0x%lx is not in the guest's "
	    "p2m", d->domid, what, (unsigned long)mfn);
	return -1;
}

static int
frame_ok(struct dom *d, const struct xen_pv *pv, xen_pfn_t mfn,
    const char *what)
{
	if (mfn == 0 || mfn > pv->max_mfn) {
		xp_seterr(XE_STATE, "domain %u: %s: bad frame 0x%lx", d->domid,
		    what, (unsigned long)mfn);
		return -1;
	}
	return 0;
}

/* Map the p2m leaves mfns[0..n) and note the pfn of each. */
static int
pv_map_leaves(struct dom *d, struct xen_pv *pv, const xen_pfn_t *mfns,
    unsigned int n)
{
	unsigned int i;

	pv->p2m = pv_map(d, mfns, n, "map the p2m");
	if (pv->p2m == NULL)
		return -1;
	pv->p2m_frames = n;
	if ((pv->p2m_pfns = calloc(n, sizeof(*pv->p2m_pfns))) == NULL)
		return sys_err(d, "p2m frames");
	for (i = 0; i < n; i++) {
		if (!mfn_ok(pv, mfns[i]))
			return bad_mfn(d, "p2m frame", mfns[i]);
		pv->p2m_pfns[i] = mfn_to_pfn(pv, mfns[i]);
	}
	return 0;
}

/* The p2m as a 3-level tree of frames (arch.pfn_to_mfn_frame_list_list). */
static int
pv_map_p2m_tree(struct dom *d, struct xen_pv *pv)
{
	const shared_info_t *si = pv->shinfo;
	xen_pfn_t fll_mfn, *fl = NULL, *leaves = NULL;
	const uint64_t *g_fll = NULL, *g_fl = NULL;
	unsigned int i, fll_n, fl_n;
	int rc = -1;

	fll_n = pv->max_pfn / (PV_FPP * PV_FPP) + 1;
	fl_n = pv->max_pfn / PV_FPP + 1;
	if (fll_n > PV_FPP) {
		xp_seterr(XE_STATE, "domain %u: max pfn 0x%" PRIx64 " is too "
		    "large for a p2m tree", d->domid, pv->max_pfn);
		return -1;
	}
	fll_mfn = si->arch.pfn_to_mfn_frame_list_list;
	if (frame_ok(d, pv, fll_mfn, "p2m frame list list") < 0)
		return -1;
	if ((g_fll = pv_map(d, &fll_mfn, 1, "map the p2m frame list list")) == NULL)
		return -1;
	fl = calloc(fll_n, sizeof(*fl));
	leaves = calloc(fl_n, sizeof(*leaves));
	if (fl == NULL || leaves == NULL) {
		sys_err(d, "p2m");
		goto out;
	}
	for (i = 0; i < fll_n; i++)
		if (frame_ok(d, pv, fl[i] = g_fll[i], "p2m frame list") < 0)
			goto out;
	if ((g_fl = pv_map(d, fl, fll_n, "map the p2m frame lists")) == NULL)
		goto out;
	for (i = 0; i < fl_n; i++)
		if (frame_ok(d, pv, leaves[i] = g_fl[i], "p2m leaf") < 0)
			goto out;
	rc = pv_map_leaves(d, pv, leaves, fl_n);
out:
	if (g_fl != NULL)
		xenforeignmemory_unmap(xc_interface_fmem_handle(xen_xch),
		    (void *)g_fl, fll_n);
	xenforeignmemory_unmap(xc_interface_fmem_handle(xen_xch),
	    (void *)g_fll, 1);
	free(fl);
	free(leaves);
	return rc;
}

static int
canonical(uint64_t va)
{
	return ((int64_t)va >> 47) == ((int64_t)va >> 63);
}

/*
 * The p2m as a virtually mapped list (arch.p2m_vaddr in the address space
 * of arch.p2m_cr3): walk the guest's page tables down to its leaves.
 */
static int
pv_map_p2m_list(struct dom *d, struct xen_pv *pv)
{
	const shared_info_t *si = pv->shinfo;
	xenforeignmemory_handle *fmem = xc_interface_fmem_handle(xen_xch);
	uint64_t va = si->arch.p2m_vaddr, end, off = 0;
	xen_pfn_t *mfns = NULL, *next;
	const uint64_t *ptes;
	unsigned int level, shift, n = 1, first, last, i;

	end = va + (pv->max_pfn / PV_FPP + 1) * PAGE_SZ - 1;
	if (!canonical(va) || !canonical(end) || end < va ||
	    (va <= __HYPERVISOR_VIRT_END && end > __HYPERVISOR_VIRT_START)) {
		xp_seterr(XE_STATE, "domain %u: bad p2m list address 0x%"
		    PRIx64, d->domid, va);
		return -1;
	}
	if ((mfns = calloc(1, sizeof(*mfns))) == NULL)
		return sys_err(d, "p2m");
	mfns[0] = si->arch.p2m_cr3 >> 12;
	if (frame_ok(d, pv, mfns[0], "p2m_cr3") < 0)
		goto err;
	for (level = 4; level > 0; level--) {
		if ((ptes = pv_map(d, mfns, n, "map the p2m page tables")) == NULL)
			goto err;
		shift = level * 9 + 3;
		first = ((va - off) & PV_VA_MASK) >> shift;
		last = ((end - off) & PV_VA_MASK) >> shift;
		if (last >= n * 512 ||
		    (next = calloc(last - first + 1, sizeof(*next))) == NULL) {
			xenforeignmemory_unmap(fmem, (void *)ptes, n);
			if (last < n * 512)
				sys_err(d, "p2m");
			else
				xp_seterr(XE_STATE, "domain %u: p2m list walk "
				    "out of its tables", d->domid);
			goto err;
		}
		for (i = first; i <= last; i++) {
			next[i - first] = PTE_FRAME(ptes[i]);
			if (frame_ok(d, pv, next[i - first], "p2m page table") < 0) {
				free(next);
				xenforeignmemory_unmap(fmem, (void *)ptes, n);
				goto err;
			}
		}
		xenforeignmemory_unmap(fmem, (void *)ptes, n);
		free(mfns);
		mfns = next;
		n = last - first + 1;
		off = va & ((PV_VA_MASK >> shift) << shift);
	}
	if (pv_map_leaves(d, pv, mfns, n) < 0)
		goto err;
	free(mfns);
	return 0;
err:
	free(mfns);
	return -1;
}

static int
pv_setup(struct dom *d, struct xen_save *s)
{
	xc_domaininfo_t xi;
	struct xen_pv *pv;
	const shared_info_t *si;
	xen_pfn_t frame;
	unsigned int width;

	if (s->pv != NULL)
		return 0;
	if (xen_getinfo(d->domid, &xi) < 0)
		return -1;
	if (xc_domain_get_guest_width(xen_xch, d->domid, &width) < 0)
		return sys_err(d, "guest width");
	if (width != 8) {
		xp_seterr(XE_STATE, "domain %u: a %u-bit PV guest; only 64-bit "
		    "ones are supported", d->domid, width * 8);
		return -1;
	}
	if ((pv = calloc(1, sizeof(*pv))) == NULL)
		return sys_err(d, "PV state");
	if (xc_maximum_ram_page(xen_xch, &pv->max_mfn) < 0) {
		sys_err(d, "maximum RAM page");
		goto err;
	}
	pv->m2p_len = (pv->max_mfn * sizeof(xen_pfn_t) + M2P_CHUNK - 1) &
	    ~(M2P_CHUNK - 1);
	pv->m2p = xc_map_m2p(xen_xch, pv->max_mfn, PROT_READ, NULL);
	if (pv->m2p == NULL) {
		sys_err(d, "map the m2p");
		goto err;
	}
	frame = xi.shared_info_frame;
	if ((pv->shinfo = pv_map(d, &frame, 1, "map shared info")) == NULL)
		goto err;
	si = pv->shinfo;
	if (si->arch.max_pfn == 0 || si->arch.max_pfn > DOM_PAGES_MAX) {
		xp_seterr(XE_STATE, "domain %u: bad max_pfn %lu in shared "
		    "info (p2m not set up yet?)", d->domid, si->arch.max_pfn);
		goto err;
	}
	pv->max_pfn = si->arch.max_pfn - 1;
	if ((si->arch.p2m_cr3 ? pv_map_p2m_list(d, pv) :
	    pv_map_p2m_tree(d, pv)) < 0)
		goto err;
	if ((pv->scratch = malloc(PAGE_SZ)) == NULL) {
		sys_err(d, "PV state");
		goto err;
	}
	pv->deferred = calloc((s->nr_pages + 63) / 64 + 1, sizeof(uint64_t));
	if (pv->deferred == NULL) {
		sys_err(d, "PV state");
		goto err;
	}
	s->pv = pv;
	return 0;
err:
	pv_free(pv);
	return -1;
}

/*
 * A page table with its mfns made pfns and Xen's own L4 slots cleared, in
 * place.  An entry naming a frame outside the p2m while the guest runs is
 * a table caught mid-update: the page goes as XTAB now and comes back in
 * the next CLEAN or PEEK (*type).  Once the guest is stopped it is fatal.
 */
static int
pv_normalise(struct dom *d, struct xen_save *s, uint32_t *type, void *page,
    uint64_t pfn)
{
	struct xen_pv *pv = s->pv;
	uint64_t *pte = (uint64_t *)pv->scratch;
	unsigned int i, level = *type & 7;
	xen_pfn_t mfn;

	if (level < 1 || level > 4)
		return 0;
	memcpy(pte, page, PAGE_SZ);
	for (i = 0; i < PV_FPP; i++) {
		if (level == 4 && i >= PV_XEN_L4_FIRST && i <= PV_XEN_L4_LAST)
			pte[i] = 0;
		if (!(pte[i] & PTE_PRESENT))
			continue;
		mfn = PTE_FRAME(pte[i]);
		if (level > 1 && (pte[i] & PTE_PSE)) {
			xp_seterr(XE_STATE, "domain %u: pfn 0x%" PRIx64 ": L%u "
			    "superpage entry, cannot be migrated", d->domid,
			    pfn, level);
			return -1;
		}
		if (!mfn_ok(pv, mfn)) {
			if (dom_stopped(d)) {
				xp_seterr(XE_STATE, "domain %u: L%u page table "
				    "pfn 0x%" PRIx64 " entry %u: mfn 0x%lx is "
				    "not the guest's", d->domid, level, pfn, i,
				    (unsigned long)mfn);
				return -1;
			}
			*type = PFINFO_XTAB;
			if (pfn < s->nr_pages)
				pv->deferred[pfn / 64] |= 1ULL << (pfn % 64);
			return 0;
		}
		pte[i] = (pte[i] & ~0x000ffffffffff000ULL) |
		    ((uint64_t)mfn_to_pfn(pv, mfn) << 12);
	}
	memcpy(page, pte, PAGE_SZ);
	return 0;
}

static int
write_pv_info(struct dom *d, struct xen_save *s, struct sw *sw)
{
	struct xc_pv_info info;

	if (pv_setup(d, s) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	info.guest_width = 8;
	info.pt_levels = 4;
	return sw_record(sw, REC_TYPE_X86_PV_INFO, &info, sizeof(info));
}

int
xen_write_start(struct dom *d, struct sw *sw)
{
	struct xen_save *s;
	struct xen_pv *pv;
	struct xc_pv_p2m_frames_hdr *h;
	uint8_t *rec;
	size_t len;
	int rc;

	if ((s = get_save(d)) == NULL)
		return -1;
	if (s->dom_type != DHDR_TYPE_X86_PV)
		return 0;
	if (pv_setup(d, s) < 0)
		return -1;
	pv = s->pv;
	len = sizeof(*h) + (size_t)pv->p2m_frames * sizeof(uint64_t);
	if ((rec = malloc(len)) == NULL)
		return sys_err(d, "X86_PV_P2M_FRAMES");
	h = (struct xc_pv_p2m_frames_hdr *)rec;
	h->start_pfn = 0;
	h->end_pfn = pv->max_pfn;
	memcpy(rec + sizeof(*h), pv->p2m_pfns,
	    (size_t)pv->p2m_frames * sizeof(uint64_t));
	rc = sw_record(sw, REC_TYPE_X86_PV_P2M_FRAMES, rec, len);
	free(rec);
	return rc;
}

/* vhdr + body as one record. */
static int
write_vcpu_rec(struct dom *d, struct sw *sw, uint32_t type, uint32_t id,
    const void *body, size_t len)
{
	struct xc_pv_vcpu_hdr *h;
	uint8_t *rec;
	int rc;

	if ((rec = malloc(sizeof(*h) + len)) == NULL)
		return sys_err(d, "vCPU record");
	h = (struct xc_pv_vcpu_hdr *)rec;
	h->vcpu_id = id;
	h->_res1 = 0;
	memcpy(rec + sizeof(*h), body, len);
	rc = sw_record(sw, type, rec, sizeof(*h) + len);
	free(rec);
	return rc;
}

static int
pv_to_pfn(struct dom *d, const struct xen_pv *pv, xen_pfn_t mfn,
    const char *what, uint32_t id, uint64_t *pfn)
{
	char buf[64];

	if (!mfn_ok(pv, mfn)) {
		snprintf(buf, sizeof(buf), "vcpu%u %s", id, what);
		return bad_mfn(d, buf, mfn);
	}
	*pfn = mfn_to_pfn(pv, mfn);
	return 0;
}

static int
write_vcpu_basic(struct dom *d, struct xen_pv *pv, struct sw *sw, uint32_t id)
{
	vcpu_guest_context_any_t v;
	struct vcpu_guest_context_x86_64 *c = &v.x64;
	unsigned int i, frames;
	uint64_t pfn;

	if (xc_vcpu_getcontext(xen_xch, d->domid, id, &v) < 0)
		return sys_err(d, "vCPU context");
	/* vCPU 0's rdx holds the start info frame of a suspended guest */
	if (id == 0) {
		if (pv_to_pfn(d, pv, c->user_regs.rdx, "start info", id, &pfn) < 0)
			return -1;
		c->user_regs.rdx = pfn;
	}
	if (c->gdt_ents > PV_GDT_ENTRIES_MAX) {
		xp_seterr(XE_STATE, "domain %u: vcpu%u has %lu GDT entries",
		    d->domid, id, c->gdt_ents);
		return -1;
	}
	frames = (c->gdt_ents + 511) / 512;
	for (i = 0; i < frames; i++) {
		if (pv_to_pfn(d, pv, c->gdt_frames[i], "GDT frame", id, &pfn) < 0)
			return -1;
		c->gdt_frames[i] = pfn;
	}
	if (pv_to_pfn(d, pv, c->ctrlreg[3] >> 12, "cr3", id, &pfn) < 0)
		return -1;
	c->ctrlreg[3] = pfn << 12;
	/* the guest's user page tables */
	if (c->ctrlreg[1] != 0) {
		if (pv_to_pfn(d, pv, c->ctrlreg[1] >> 12, "cr1", id, &pfn) < 0)
			return -1;
		c->ctrlreg[1] = 1 | pfn << 12;
	}
	return write_vcpu_rec(d, sw, REC_TYPE_X86_PV_VCPU_BASIC, id, c,
	    sizeof(*c));
}

static int
write_vcpu_extended(struct dom *d, struct sw *sw, uint32_t id)
{
	struct xen_domctl dc;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_get_ext_vcpucontext;
	dc.domain = d->domid;
	dc.u.ext_vcpucontext.vcpu = id;
	if (xc_domctl(xen_xch, &dc) < 0)
		return sys_err(d, "extended vCPU context");
	if (dc.u.ext_vcpucontext.size == 0)
		return 0;
	return write_vcpu_rec(d, sw, REC_TYPE_X86_PV_VCPU_EXTENDED, id,
	    &dc.u.ext_vcpucontext, dc.u.ext_vcpucontext.size);
}

static int
write_vcpu_xsave(struct dom *d, struct sw *sw, uint32_t id)
{
	DECLARE_HYPERCALL_BUFFER(void, buffer);
	struct xen_domctl dc;
	int rc = -1;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_getvcpuextstate;
	dc.domain = d->domid;
	dc.u.vcpuextstate.vcpu = id;
	if (xc_domctl(xen_xch, &dc) < 0)
		return sys_err(d, "vCPU xsave state");
	if (dc.u.vcpuextstate.xfeature_mask == 0)
		return 0;
	buffer = xc_hypercall_buffer_alloc(xen_xch, buffer,
	    dc.u.vcpuextstate.size);
	if (buffer == NULL)
		return sys_err(d, "vCPU xsave state");
	set_xen_guest_handle(dc.u.vcpuextstate.buffer, buffer);
	if (xc_domctl(xen_xch, &dc) < 0) {
		sys_err(d, "vCPU xsave state");
		goto out;
	}
	rc = dc.u.vcpuextstate.size == 0 ? 0 : write_vcpu_rec(d, sw,
	    REC_TYPE_X86_PV_VCPU_XSAVE, id, buffer, dc.u.vcpuextstate.size);
out:
	xc_hypercall_buffer_free(xen_xch, buffer);
	return rc;
}

static int
write_vcpu_msrs(struct dom *d, struct sw *sw, uint32_t id)
{
	DECLARE_HYPERCALL_BUFFER(void, buffer);
	struct xen_domctl dc;
	size_t len;
	int rc = -1;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_get_vcpu_msrs;
	dc.domain = d->domid;
	dc.u.vcpu_msrs.vcpu = id;
	if (xc_domctl(xen_xch, &dc) < 0)
		return sys_err(d, "vCPU MSRs");
	if (dc.u.vcpu_msrs.msr_count == 0)
		return 0;
	len = dc.u.vcpu_msrs.msr_count * sizeof(xen_domctl_vcpu_msr_t);
	if ((buffer = xc_hypercall_buffer_alloc(xen_xch, buffer, len)) == NULL)
		return sys_err(d, "vCPU MSRs");
	set_xen_guest_handle(dc.u.vcpu_msrs.msrs, buffer);
	if (xc_domctl(xen_xch, &dc) < 0) {
		sys_err(d, "vCPU MSRs");
		goto out;
	}
	rc = dc.u.vcpu_msrs.msr_count == 0 ? 0 : write_vcpu_rec(d, sw,
	    REC_TYPE_X86_PV_VCPU_MSRS, id, buffer,
	    dc.u.vcpu_msrs.msr_count * sizeof(xen_domctl_vcpu_msr_t));
out:
	xc_hypercall_buffer_free(xen_xch, buffer);
	return rc;
}

/* As libxenguest's x86_pv_end_of_checkpoint: TSC, shared info, vCPUs. */
static int
write_pv_context(struct dom *d, struct xen_save *s, struct sw *sw)
{
	xc_vcpuinfo_t vi;
	uint32_t id;

	if (pv_setup(d, s) < 0 || write_tsc_info(d, sw) < 0 ||
	    sw_record(sw, REC_TYPE_SHARED_INFO, s->pv->shinfo, PAGE_SZ) < 0)
		return -1;
	for (id = 0; id < s->nr_vcpus; id++) {
		if (xc_vcpu_getinfo(xen_xch, d->domid, id, &vi) < 0)
			return sys_err(d, "vCPU info");
		if (!vi.online)
			continue;
		if (write_vcpu_basic(d, s->pv, sw, id) < 0 ||
		    write_vcpu_extended(d, sw, id) < 0 ||
		    write_vcpu_xsave(d, sw, id) < 0 ||
		    write_vcpu_msrs(d, sw, id) < 0)
			return -1;
	}
	return 0;
}
