/*
 * xen.c - the xen backend: a real hypervisor through libxenctrl and
 * libxenstore, for dom0.  See backend.h for the contract of each member.
 *
 * This file has the library handles, the lookups (list, open, info) and
 * the ops table; xen_save.c and xen_restore.c the two sides (xen_priv.h).
 *
 * The library handles are opened on first use and kept for the life of the
 * process.  libxenctrl's own messages are dropped (common/ never prints):
 * a failed call is reported from errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "err.h"
#include "policy.h"
#include "stream_format.h"
#include "xen_priv.h"

#define LIST_CHUNK	256	/* domains per xc_domain_getinfolist call */

xc_interface *xen_xch;
struct xs_handle *xen_xsh;

static void
quiet_vmessage(struct xentoollog_logger *lg, xentoollog_level level,
    int errnoval, const char *context, const char *fmt, va_list ap)
{
	(void)lg; (void)level; (void)errnoval; (void)context; (void)fmt;
	(void)ap;
}

static void
quiet_destroy(struct xentoollog_logger *lg)
{
	(void)lg;
}

struct xentoollog_logger xen_quiet_logger = {
	.vmessage = quiet_vmessage,
	.progress = NULL,
	.destroy = quiet_destroy,
};

/* Open libxenctrl and xenstore once; -1 with xp_err if either fails. */
int
xen_handles(void)
{
	if (xen_xch == NULL &&
	    (xen_xch = xc_interface_open(&xen_quiet_logger, &xen_quiet_logger, 0)) == NULL) {
		xp_seterr(XE_SYS, "cannot open libxenctrl (is this dom0?)");
		return -1;
	}
	if (xen_xsh == NULL && (xen_xsh = xs_open(0)) == NULL) {
		xp_seterr(XE_SYS, "cannot connect to xenstore");
		return -1;
	}
	return 0;
}

/* The domain's name from /local/domain/N/name; "" when it has none. */
static void
dom_name(uint32_t domid, char *name)
{
	char path[64], *v;
	unsigned int len = 0;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if ((v = xs_read(xen_xsh, XBT_NULL, path, &len)) == NULL)
		return;
	snprintf(name, DOM_NAME_MAX, "%.*s", (int)len, v);
	free(v);
}

void
xen_fill_info(const xc_domaininfo_t *xi, struct dom_info *info)
{
	xen_pfn_t maxpfn = 0;
	unsigned int code;

	memset(info, 0, sizeof(*info));
	info->domid = xi->domain;
	dom_name(xi->domain, info->name);
	snprintf(info->uuid, sizeof(info->uuid), "%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", xi->handle[0],
	    xi->handle[1], xi->handle[2], xi->handle[3], xi->handle[4],
	    xi->handle[5], xi->handle[6], xi->handle[7], xi->handle[8],
	    xi->handle[9], xi->handle[10], xi->handle[11], xi->handle[12],
	    xi->handle[13], xi->handle[14], xi->handle[15]);
	info->dom_type = xi->flags & XEN_DOMINF_hvm_guest ?
	    DHDR_TYPE_X86_HVM : DHDR_TYPE_X86_PV;
	/* valid pfns: up to the highest one the guest has, else its pages */
	if (xc_domain_maximum_gpfn(xen_xch, xi->domain, &maxpfn) >= 0)
		info->nr_pages = (uint64_t)maxpfn + 1;
	else
		info->nr_pages = xi->tot_pages;
	info->mem_pages = xi->tot_pages;
	info->nr_vcpus = xi->max_vcpu_id + 1;
	/*
	 * Xen tells no one: PEEK succeeds with tracking off too (and pauses
	 * the guest), and probing by enabling it would change the guest.
	 */
	info->logdirty = -1;
	code = (xi->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
	if (xi->flags & XEN_DOMINF_dying)
		info->state = DOM_SHUTDOWN;
	else if (xi->flags & XEN_DOMINF_shutdown)
		info->state = code == SHUTDOWN_suspend ?
		    DOM_SUSPENDED : DOM_SHUTDOWN;
	else if (xi->flags & XEN_DOMINF_paused)
		info->state = DOM_PAUSED;
	else
		info->state = DOM_RUNNING;
}

/* xc's view of one domain; -1 with xp_err when it does not exist. */
int
xen_getinfo(uint32_t domid, xc_domaininfo_t *xi)
{
	int n;

	if (xen_handles() < 0)
		return -1;
	n = xc_domain_getinfolist(xen_xch, domid, 1, xi);
	if (n < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_getinfolist", domid);
		return -1;
	}
	if (n == 0 || xi->domain != domid) {
		xp_seterr(XE_STATE, "no domain with id %u", domid);
		return -1;
	}
	return 0;
}

static int
xen_list(struct dom_info **infos, size_t *n)
{
	xc_domaininfo_t xi[LIST_CHUNK];
	struct dom_info *v = NULL, *nv;
	size_t cnt = 0;
	uint32_t next = 1;	/* dom0 excluded */
	int got, i;

	*infos = NULL;
	*n = 0;
	if (xen_handles() < 0)
		return -1;
	for (;;) {
		got = xc_domain_getinfolist(xen_xch, next, LIST_CHUNK, xi);
		if (got < 0) {
			xp_seterr(XE_SYS, "xc_domain_getinfolist");
			free(v);
			return -1;
		}
		if (got == 0)
			break;
		nv = reallocarray(v, cnt + got, sizeof(*v));
		if (nv == NULL) {
			xp_seterr(XE_SYS, "domain list");
			free(v);
			return -1;
		}
		v = nv;
		for (i = 0; i < got; i++)
			xen_fill_info(&xi[i], &v[cnt++]);
		if (got < LIST_CHUNK || xi[got - 1].domain >= DOMID_FIRST_RESERVED - 1)
			break;
		next = xi[got - 1].domain + 1;
	}
	*infos = v;
	*n = cnt;
	return 0;
}

static int
parse_domid(const char *s, uint32_t *domid)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= DOMID_FIRST_RESERVED)
		return -1;
	*domid = v;
	return 0;
}

static int
xen_open(const char *name_or_id, struct dom **d)
{
	xc_domaininfo_t xi;
	struct dom_info *all = NULL;
	size_t n, i, hits = 0;
	uint32_t domid = 0;

	*d = NULL;
	if (parse_domid(name_or_id, &domid) == 0) {
		if (xen_getinfo(domid, &xi) < 0)
			return -1;
	} else {
		if (xen_list(&all, &n) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (strcmp(all[i].name, name_or_id) == 0) {
				domid = all[i].domid;
				hits++;
			}
		free(all);
		if (hits == 0) {
			xp_seterr(XE_STATE, "no domain named %s", name_or_id);
			return -1;
		}
		if (hits > 1) {
			xp_seterr(XE_STATE, "%zu domains are named %s; "
			    "give the id", hits, name_or_id);
			return -1;
		}
	}
	if (domid == 0) {
		xp_seterr(XE_USAGE, "%s is dom0", name_or_id);
		return -1;
	}
	if ((*d = xen_dom_new(domid)) == NULL)
		return -1;
	return 0;
}

static int
xen_info(struct dom *d, struct dom_info *info)
{
	xc_domaininfo_t xi;

	if (xen_getinfo(d->domid, &xi) < 0)
		return -1;
	xen_fill_info(&xi, info);
	return 0;
}

struct dom *
xen_dom_new(uint32_t domid)
{
	struct dom *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		xp_seterr(XE_SYS, "domain handle");
		return NULL;
	}
	d->domid = domid;
	return d;
}

char *
xen_xs_get(xs_transaction_t t, const char *fmt, ...)
{
	char path[256];
	unsigned int len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xen_xsh, t, path, &len);
}

int
xen_xs_put(xs_transaction_t t, const struct xs_permissions *p,
    unsigned int np, const char *val, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (val == NULL)
		val = "";
	if (!xs_write(xen_xsh, t, path, val, strlen(val))) {
		xp_seterr(XE_SYS, "xenstore: writing %s", path);
		return -1;
	}
	if (np > 0 && !xs_set_permissions(xen_xsh, t, path,
	    (struct xs_permissions *)p, np)) {
		xp_seterr(XE_SYS, "xenstore: permissions of %s", path);
		return -1;
	}
	return 0;
}

int
xen_xs_txn(int (*fill)(xs_transaction_t, void *), void *arg,
    const char *what)
{
	xs_transaction_t t;
	int i;

	for (i = 0; i < 16; i++) {	/* commits that met EAGAIN */
		if ((t = xs_transaction_start(xen_xsh)) == XBT_NULL) {
			xp_seterr(XE_SYS, "xenstore: transaction (%s)", what);
			return -1;
		}
		if (fill(t, arg) < 0) {
			xs_transaction_end(xen_xsh, t, true);
			return -1;
		}
		if (xs_transaction_end(xen_xsh, t, false))
			return 0;
		if (errno != EAGAIN) {
			xp_seterr(XE_SYS, "xenstore: committing %s", what);
			return -1;
		}
	}
	errno = 0;
	xp_seterr(XE_SYS, "xenstore: %s: too many conflicting transactions",
	    what);
	return -1;
}

void
xen_close(struct dom *d)
{
	if (d == NULL)
		return;
	xen_save_close(d);
	xen_restore_close(d);
	free(d);
}

/*
 * What dead receivers left goes first; then the host's memory, and every
 * vbd dom0 backs: params and its device.
 */
static int
xen_host(struct host_facts *f)
{
	char **doms = NULL, **devs, *v;
	unsigned int nd, nv, i, j, maj, min;
	xc_physinfo_t pi = { 0 };
	struct pol_held *h;
	size_t cap = 0;

	if (xen_handles() < 0)
		return -1;
	if (!f->look_only)
		xen_sweep_leftovers();
	if (xc_physinfo(xen_xch, &pi) == 0 && pi.total_pages)
		f->mem_kb = (uint64_t)pi.total_pages * 4;
	doms = xs_directory(xen_xsh, XBT_NULL, "/local/domain/0/backend/vbd",
	    &nd);
	for (i = 0; doms != NULL && i < nd; i++) {
		char dir[96];

		snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%s",
		    doms[i]);
		devs = xs_directory(xen_xsh, XBT_NULL, dir, &nv);
		for (j = 0; devs != NULL && j < nv; j++) {
			if (f->n_held == cap) {
				cap = cap ? cap * 2 : 16;
				h = reallocarray(f->held, cap, sizeof(*h));
				if (h == NULL) {
					xp_seterr(XE_SYS, "facts");
					free(devs);
					free(doms);
					return -1;
				}
				f->held = h;
			}
			h = &f->held[f->n_held++];
			memset(h, 0, sizeof(*h));
			h->domid = strtoul(doms[i], NULL, 10);
			v = xen_xs_get(XBT_NULL, "/local/domain/0/backend/vbd/"
			    "%s/%s/params", doms[i], devs[j]);
			snprintf(h->path, sizeof(h->path), "%s", v ? v : "");
			free(v);
			v = xen_xs_get(XBT_NULL, "/local/domain/0/backend/vbd/"
			    "%s/%s/physical-device", doms[i], devs[j]);
			if (v != NULL && sscanf(v, "%x:%x", &maj, &min) == 2)
				h->rdev = makedev(maj, min);
			free(v);
		}
		free(devs);
	}
	free(doms);
	return 0;
}

const struct backend xen_backend = {
	.name = "xen",
	.list = xen_list,
	.open = xen_open,
	.info = xen_info,
	.config_json = xen_config_json,
	.read_pages = xen_read_pages,
	.logdirty = xen_logdirty,
	.pause = xen_pause,
	.unpause = xen_unpause,
	.suspend = xen_suspend,
	.resume = xen_resume,
	.throttle = xen_throttle,
	.write_static = xen_write_static,
	.write_start = xen_write_start,
	.write_context = xen_write_context,
	.create = xen_create,
	.receive = xen_receive,
	.pages_in_input = 1,
	.finish = xen_finish,
	.start = xen_start,
	.rename = xen_rename,
	.host = xen_host,
	.destroy = xen_destroy,
	.close = xen_close,
};
