/* progress.c - the library's side of its reports; see progress.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "progress.h"

static const struct progress_sink *sink;

void
progress_set_sink(const struct progress_sink *s)
{
	sink = s;
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct progress *
progress_new(const char *what, uint64_t total)
{
	return sink != NULL && sink->begin != NULL ? sink->begin(what, total) :
	    NULL;
}

void
progress_update(struct progress *p, uint64_t pages, uint64_t bytes)
{
	if (p != NULL)
		sink->pages(p, pages, bytes);
}

void
progress_transfer(struct progress *p, uint64_t plain, uint64_t wire)
{
	if (p != NULL)
		sink->transfer(p, plain, wire);
}

void
progress_end(struct progress *p)
{
	if (p != NULL)
		sink->end(p);
}

void
trace_point(const char *fmt, ...)
{
	struct timespec ts;
	char line[512];
	va_list ap;
	int n;

	if (sink == NULL || sink->trace == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "trace %lld.%06ld: ",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	sink->trace(line);
}
