/*
 * xen_restore.c - the xen backend's receiving side (xen_priv.h): to be
 * written (issue 5).  Every op fails with XE_STATE for now.
 */
#include <stdlib.h>

#include "err.h"
#include "stream_format.h"
#include "xen_priv.h"

static int
unsupported(const char *what)
{
	xp_seterr(XE_STATE, "%s: not supported by the xen backend in this "
	    "version", what);
	return -1;
}

int
xen_create(const struct dom_config *cfg, struct dom **d)
{
	*d = NULL;
	if (cfg->simulated == 1) {
		xp_seterr(XE_STREAM, "the stream is of a simulated domain (sim "
		    "backend), which Xen cannot run; restore it with "
		    "XENPIPE_BACKEND=sim");
		return -1;
	}
	return unsupported("create");
}

int xen_feed(struct dom *d, const void *raw, size_t len) { (void)d; (void)raw; (void)len; return unsupported("feed"); }
int xen_start(struct dom *d, const char *name, struct dom_info *info) { (void)d; (void)name; (void)info; return unsupported("start"); }
int xen_destroy(struct dom *d) { xen_close(d); return unsupported("destroy"); }
void xen_restore_close(struct dom *d) { (void)d; }
