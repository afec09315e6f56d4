/* srcguard.c - undo what a sending stage turned on; see srcguard.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "srcguard.h"

void
sg_init(struct srcguard *g, const struct backend *be, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->be = be;
	if (name != NULL)
		snprintf(g->name, sizeof(g->name), "%s", name);
}

void
sg_bind(struct srcguard *g, struct dom *d, const char *name)
{
	g->d = d;
	if (name != NULL)
		snprintf(g->name, sizeof(g->name), "%s", name);
}

void
sg_adopt(struct srcguard *g, unsigned int what)
{
	g->held |= what;
}

/* The domain must be open to turn anything on. */
static int
bound(const struct srcguard *g)
{
	if (g->d != NULL)
		return 0;
	xp_seterr(XE_STATE, "%s: not open", g->name);
	return -1;
}

int
sg_logdirty_on(struct srcguard *g)
{
	if (bound(g) < 0 || g->be->logdirty(g->d, LOGDIRTY_ENABLE, NULL) < 0)
		return -1;
	g->held |= SG_LOGDIRTY;
	return 0;
}

int
sg_suspend(struct srcguard *g)
{
	if (bound(g) < 0 || g->be->suspend(g->d) < 0)
		return -1;
	g->held |= SG_SUSPEND;
	return 0;
}

/* Turn one thing off; d is open.  Its bit goes when it is off. */
static int
lift_one(struct srcguard *g, struct dom *d, unsigned int bit)
{
	int rc;

	if (!(g->held & bit))
		return 0;
	if (bit == SG_LOGDIRTY)
		rc = g->be->logdirty(d, LOGDIRTY_DISABLE, NULL);
	else if (bit == SG_THROTTLE)
		rc = g->be->throttle(d, 100);
	else
		rc = g->be->resume(d);
	if (rc == 0)
		g->held &= ~bit;
	return rc;
}

int
sg_lift(struct srcguard *g, unsigned int what)
{
	static const unsigned int order[] = {
		SG_LOGDIRTY, SG_THROTTLE, SG_SUSPEND
	};
	struct xp_saved first;
	unsigned int i;
	int rc = 0;

	if (!(g->held & what))
		return 0;
	if (bound(g) < 0)
		return -1;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(what & order[i]) || lift_one(g, g->d, order[i]) == 0)
			continue;
		if (rc == 0)
			xp_save(&first);
		rc = -1;
	}
	if (rc < 0)
		xp_restore(&first);
	return rc;
}

void
sg_keep(struct srcguard *g)
{
	g->held = 0;
}

static void
sayf(void (*say)(const char *), const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sayf(void (*say)(const char *), const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (say == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(line);
}

unsigned int
sg_undo(struct srcguard *g, void (*say)(const char *line))
{
	struct dom *own = NULL, *d = g->d;
	const char *what;
	unsigned int bit;

	if (g->held == 0)
		return 0;
	if (g->be == NULL && (g->be = backend_get()) == NULL)
		return g->held;
	if (d == NULL) {
		if (g->name[0] == '\0')
			return g->held;
		if (g->be->open(g->name, &own) < 0) {
			sayf(say, "%s: %s: cannot turn its log-dirty off or "
			    "lift its throttle: %s", g->be->name, g->name,
			    xp_errmsg());
			return g->held;
		}
		d = own;
	}
	for (bit = SG_LOGDIRTY; bit <= SG_SUSPEND; bit <<= 1) {
		if (!(g->held & bit))
			continue;
		what = bit == SG_LOGDIRTY ? "log-dirty is left on" :
		    bit == SG_THROTTLE ? "the throttle is left on" :
		    "could not resume it";
		if (lift_one(g, d, bit) < 0)
			sayf(say, "%s: %s: %s: %s", g->be->name, g->name, what,
			    xp_errmsg());
		else if (bit == SG_SUSPEND)
			sayf(say, "%s resumed", g->name);
	}
	if (own != NULL)
		g->be->close(own);
	return g->held;
}
