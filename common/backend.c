/* backend.c - choose the backend once; see backend.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "err.h"

const struct backend *
backend_get(void)
{
	static const struct backend *be;
	const char *env;

	if (be != NULL)
		return be;
	env = getenv("XENPIPE_BACKEND");
	if (env == NULL || *env == '\0')
		env = access("/dev/xen/privcmd", F_OK) == 0 ? "xen" : "sim";
	if (strcmp(env, "sim") == 0)
		be = &sim_backend;
	else if (strcmp(env, "xen") == 0)
		be = &xen_backend;
	else
		xp_seterr(XE_USAGE, "XENPIPE_BACKEND=%s: use xen or sim", env);
	return be;
}

const char *
dom_state_name(enum dom_state st)
{
	switch (st) {
	case DOM_RUNNING:
		return "running";
	case DOM_PAUSED:
		return "paused";
	case DOM_SUSPENDED:
		return "suspended";
	case DOM_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}
