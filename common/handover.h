/*
 * handover.h - handing a guest from the sender to the receiver so that,
 * whatever fails and whenever, at most one copy runs and at least one
 * exists: xl migrate's ready / go / report (tools/xl/xl_migrate.c), as
 * lines of text after the stream's END (the wire: xenpipe-stream(5)).
 *
 *   receiver  keeps the complete domain paused and says "ready NONCE" on
 *             its output; starts it only on "go NONCE" read right after
 *             END on its input, then reports "running" (or "destroyed"
 *             once its copy is gone).  No go, a wrong one or none in time:
 *             it destroys its copy.  (restore.c, dom-resume --handshake)
 *   sender    after END waits for ready, renames its suspended copy
 *             NAME--migratedaway, gives the go, and reads the report.
 *             Before the go every failure leaves the copy its name, to be
 *             resumed; after it, only a report decides: "running" destroys
 *             the copy, "destroyed" gives it its name back to be resumed,
 *             anything else leaves it suspended as NAME--migratedaway.
 *             (bin/dom-suspend --handshake)
 *
 * The nonce ties the go to one receiver: a go replayed from a copy of an
 * earlier stream (tee) starts nothing.
 * Callers: restore.c, bin/dom-suspend.c, bin/dom-resume.c.
 */
#ifndef XENPIPE_HANDOVER_H
#define XENPIPE_HANDOVER_H

#include <stdint.h>

#include "backend.h"

#define HO_NONCE_LEN	32		/* hex digits */
#define HO_LINE_MAX	256		/* a line, with its newline */

enum ho_report {
	HO_REP_RUNNING,		/* the receiver's copy runs */
	HO_REP_DESTROYED,	/* it failed, and its copy is gone */
	HO_REP_KEPT,		/* it failed, and its copy could not be destroyed */
};

/* ---- receiver ---- */

/* A fresh nonce, HO_NONCE_LEN hex digits and a NUL. */
int ho_nonce(char *nonce);
int ho_say_ready(int fd, const char *nonce);
/*
 * Read the go from fd (right after END) within timeout_ms: 0 when it names
 * nonce; -1 with xp_err for end of input, a timeout, or any other line.
 */
int ho_wait_go(int fd, const char *nonce, int timeout_ms);
/* name and domid for RUNNING; why (may be NULL) otherwise. */
int ho_say_report(int fd, enum ho_report rep, const char *name,
    uint32_t domid, const char *why);

/* ---- sender ---- */

enum ho_outcome {
	HO_RUNNING,	/* the receiver runs it; the source is destroyed */
	HO_NOT_GIVEN,	/* failed before the go: the source keeps its name */
	HO_REFUSED,	/* the receiver failed after the go and destroyed its
			   copy: the source has its name back */
	HO_UNKNOWN,	/* the go was given, no report: the source is left
			   suspended as NAME--migratedaway */
	HO_UNDESTROYED,	/* the receiver runs it; destroying the source failed */
};

struct ho_result {
	enum ho_outcome outcome;
	char peer_name[DOM_NAME_MAX];	/* RUNNING, UNDESTROYED: the */
	uint32_t peer_domid;		/* receiver's name and id for it */
	char name[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];	/* the source's */
	uint32_t domid;			/* name and id now */
	int local;			/* NOT_GIVEN: failed on this side */
};

/*
 * Before suspending a domain to hand it over (name: its name, not an id):
 * 0, or -1 (XE_STATE) when it could not be marked (its name is too long,
 * or NAME--migratedaway exists).
 */
int handover_check(const struct backend *be, const char *name);
/*
 * After END was written to out_fd: the sender's side, on the suspended
 * domain *d, the receiver's lines read from reply_fd.  out_fd is closed
 * (the stages after it finish).  RUNNING destroys *d and sets it NULL.
 * Every outcome but RUNNING leaves the reason in xp_err.  A signal before
 * the go gives none; after it, the wait for the report goes on (bounded).
 */
void handover_send(const struct backend *be, struct dom **d, int out_fd,
    int reply_fd, int timeout_ms, struct ho_result *res);

/*
 * dom-resume --in-place: resume dom, which a failed pipeline left
 * suspended.  A NAME--migratedaway copy was given to a receiver that may
 * run it: refused unless force, and then only while no running domain
 * holds NAME, which it takes back.  info gets the resumed domain.
 */
int handover_resume_in_place(const struct backend *be, const char *dom,
    int force, struct dom_info *info);

#endif
