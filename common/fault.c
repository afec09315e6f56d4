/* fault.c - XENPIPE_FAULT; see fault.h. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

int
fault_on(const char *point)
{
	const char *s = getenv("XENPIPE_FAULT"), *end;
	size_t len = strlen(point);

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
