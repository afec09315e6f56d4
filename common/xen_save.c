/*
 * xen_save.c - the xen backend's sending side (xen_priv.h): to be written
 * (issue 5).  Every op fails with XE_STATE for now.
 */
#include <stdlib.h>

#include "err.h"
#include "xen_priv.h"

static int
unsupported(const char *what)
{
	xp_seterr(XE_STATE, "%s: not supported by the xen backend in this "
	    "version", what);
	return -1;
}

int xen_config_json(struct dom *d, char **json) { (void)d; *json = NULL; return unsupported("config_json"); }
int xen_read_pages(struct dom *d, const uint64_t *pfns, unsigned int n, void *buf, uint32_t *types) { (void)d; (void)pfns; (void)n; (void)buf; (void)types; return unsupported("read_pages"); }
int xen_logdirty(struct dom *d, enum logdirty_op op, uint64_t *bitmap) { (void)d; (void)op; (void)bitmap; return unsupported("logdirty"); }
int xen_pause(struct dom *d) { (void)d; return unsupported("pause"); }
int xen_unpause(struct dom *d) { (void)d; return unsupported("unpause"); }
int xen_suspend(struct dom *d) { (void)d; return unsupported("suspend"); }
int xen_resume(struct dom *d) { (void)d; return unsupported("resume"); }
int xen_throttle(struct dom *d, unsigned int pct) { (void)d; (void)pct; return unsupported("throttle"); }
int xen_write_static(struct dom *d, struct sw *sw) { (void)d; (void)sw; return unsupported("write_static"); }
int xen_write_context(struct dom *d, struct sw *sw) { (void)d; (void)sw; return unsupported("write_context"); }
void xen_save_close(struct dom *d) { (void)d; }
