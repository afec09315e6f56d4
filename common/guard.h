/*
 * guard.h - a watchman for a domain being received.  A receiver killed
 * outright (SIGKILL, the OOM killer) cannot destroy what it was building;
 * its watchman, a child in a session of its own, sees the receiver's end
 * of a pipe close without a release and destroys the domain if it is
 * still paused: a copy that never ran.  One that runs is left alone.  Any
 * other death the receiver handles itself (restore.c), and the sim
 * backend's half-built domains, which have no id yet, are swept by the
 * next program on that host.
 *
 * The watchman writes one line on stderr when it destroys a domain: the
 * one place common/ prints, because nobody is left to print it.
 * Caller: restore.c.
 */
#ifndef XENPIPE_GUARD_H
#define XENPIPE_GUARD_H

#include <stdint.h>

#include "backend.h"

struct guard;

/*
 * Fork the watchman; before any handle of be is open, as it opens its
 * own.  NULL with xp_err.
 */
struct guard *guard_start(const struct backend *be);
/* The domain to watch (its id, once it has one). */
void guard_watch(struct guard *g, uint32_t domid);
/* The domain runs, or was destroyed by the caller: the watchman leaves. */
void guard_release(struct guard *g);

#endif
