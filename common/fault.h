/*
 * fault.h - fault injection, for the tests that prove each failure path:
 * XENPIPE_FAULT=POINT[,POINT...] names the points that fire.  The points
 * are listed where they fire (grep fault_on, fault_kill) and in the tests
 * that use them (test/handover.bats, test/live.bats, test/simdom.bats).
 * Callers: restore.c, handover.c, sim_guest.c, bin/dom-suspend.c.
 */
#ifndef XENPIPE_FAULT_H
#define XENPIPE_FAULT_H

/* 1 when XENPIPE_FAULT names point. */
int fault_on(const char *point);
/* Die here by SIGKILL when point is named: no handler, no clean-up runs. */
void fault_kill(const char *point);

#endif
