/*
 * srcguard.h - what a sending stage turned on at its source domain, undone
 * on every way out: the README's "any stage failing leaves the source
 * running", written once.  mem-dump -l turns log-dirty on, dirty-track
 * adds the throttle, dom-suspend suspends; each stage that finishes hands
 * log-dirty and the throttle on to the next (sg_keep), and the last turns
 * them off (sg_lift).  A stage that fails undoes all it holds, what the
 * stages before it left on included (sg_adopt): twice does no harm.
 *
 * The domain is the caller's (sg_bind), or, when it is not open, opened by
 * name for the undo.  Nothing here prints: sg_undo reports each thing it
 * could not undo, and each it did that the user must know of, through say.
 * Callers: bin/mem-dump.c, bin/dirty-track.c, bin/dom-suspend.c.
 */
#ifndef XENPIPE_SRCGUARD_H
#define XENPIPE_SRCGUARD_H

#include "backend.h"

#define SG_LOGDIRTY	0x1u
#define SG_THROTTLE	0x2u
#define SG_SUSPEND	0x4u

struct srcguard {
	const struct backend *be;	/* NULL: backend_get() at the undo */
	struct dom *d;			/* the caller's; NULL: open by name */
	char name[DOM_NAME_MAX];
	unsigned int held;		/* SG_*: on, and ours to turn off */
};

/* Guard the domain called name (may be NULL: nothing to open by name). */
void sg_init(struct srcguard *g, const struct backend *be, const char *name);
/* The domain is open as d, under name (NULL: keep the name). */
void sg_bind(struct srcguard *g, struct dom *d, const char *name);
/* What a stage before this one left on: this one's to undo if it fails. */
void sg_adopt(struct srcguard *g, unsigned int what);
/* Turn it on and hold it.  -1 with xp_err: nothing is held. */
int sg_logdirty_on(struct srcguard *g);
int sg_suspend(struct srcguard *g);
/*
 * Turn off what of what is held (log-dirty, the throttle; SG_SUSPEND
 * resumes).  Each is tried; -1 with xp_err of the first that failed, which
 * stays held.
 */
int sg_lift(struct srcguard *g, unsigned int what);
/* The stage succeeded: what is held stays on for the next stage. */
void sg_keep(struct srcguard *g);
/*
 * The stage failed: log-dirty off, the throttle lifted, the domain resumed
 * (in that order).  say gets one line for each that fails, and one when
 * the domain is resumed.  Returns what is still on.
 */
unsigned int sg_undo(struct srcguard *g, void (*say)(const char *line));

#endif
