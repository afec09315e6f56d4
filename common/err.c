/* err.c - the one error slot of common/; see err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

volatile sig_atomic_t xp_interrupted;

static char errmsg[sizeof(((struct xp_saved *)0)->msg)] = "unknown error";
static enum xp_errclass errcls = XE_SYS;

void
xp_scrub(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			*s = '?';
}

void
xp_seterr(enum xp_errclass cls, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (cls == XE_SYS && saved_errno != 0 && n >= 0 &&
	    (size_t)n < sizeof(errmsg))
		snprintf(errmsg + n, sizeof(errmsg) - n, ": %s",
		    strerror(saved_errno));
	xp_scrub(errmsg);
	errcls = cls;
	errno = saved_errno;
}

void
xp_preerr(const char *fmt, ...)
{
	char prefix[256], old[sizeof(errmsg)], both[sizeof(prefix) + sizeof(old) + 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errmsg, sizeof(old));
	snprintf(both, sizeof(both), "%s: %s", prefix, old);
	snprintf(errmsg, sizeof(errmsg), "%.*s", (int)sizeof(errmsg) - 1, both);
	xp_scrub(errmsg);
}

const char *
xp_errmsg(void)
{
	return errmsg;
}

enum xp_errclass
xp_errclass(void)
{
	return errcls;
}

void
xp_save(struct xp_saved *sv)
{
	sv->cls = errcls;
	memcpy(sv->msg, errmsg, sizeof(sv->msg));
}

void
xp_restore(const struct xp_saved *sv)
{
	errcls = sv->cls;
	memcpy(errmsg, sv->msg, sizeof(errmsg));
}
