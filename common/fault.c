/* fault.c - XENPIPE_FAULT; see fault.h. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

int
fault_on(const char *point)
{
	static const char *env;
	static int looked;
	const char *s, *end;
	size_t len = strlen(point);

	/* once: a point may sit on a per-record path */
	if (!looked) {
		env = getenv("XENPIPE_FAULT");
		looked = 1;
	}
	s = env;

	while (s != NULL && *s != '\0') {
		end = strchr(s, ',');
		if ((end != NULL ? (size_t)(end - s) : strlen(s)) == len &&
		    strncmp(s, point, len) == 0)
			return 1;
		s = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

void
fault_kill(const char *point)
{
	if (fault_on(point))
		kill(getpid(), SIGKILL);
}
