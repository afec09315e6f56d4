/* progress.c - a throttled progress line on a terminal; see progress.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

struct progress {
	char what[96];
	uint64_t total;
	uint64_t start, last;
	int drawn;
};

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
	const char *env = getenv("XENPIPE_PROGRESS");
	struct progress *p;

	if (env != NULL ? strcmp(env, "1") != 0 : !isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->total = total;
	p->start = p->last = now_ns();
	return p;
}

void
progress_update(struct progress *p, uint64_t pages, uint64_t bytes)
{
	uint64_t t;
	double secs, rate;

	if (p == NULL)
		return;
	t = now_ns();
	if (t - p->last < 200000000ULL && !(p->total && pages == p->total))
		return;
	p->last = t;
	secs = (t - p->start) / 1e9;
	rate = secs > 0 ? bytes / secs / 1e6 : 0;
	if (p->total)
		fprintf(stderr, "\r%s: %llu/%llu pages (%3.0f%%), %.1f MB, "
		    "%.0f MB/s\033[K", p->what, (unsigned long long)pages,
		    (unsigned long long)p->total, 100.0 * pages / p->total,
		    bytes / 1e6, rate);
	else
		fprintf(stderr, "\r%s: %llu pages, %.1f MB, %.0f MB/s\033[K",
		    p->what, (unsigned long long)pages, bytes / 1e6, rate);
	p->drawn = 1;
}

void
progress_transfer(struct progress *p, uint64_t plain, uint64_t wire)
{
	uint64_t t;
	double secs;

	if (p == NULL)
		return;
	t = now_ns();
	if (t - p->last < 200000000ULL)
		return;
	p->last = t;
	secs = (t - p->start) / 1e9;
	fprintf(stderr, "\r%s: %.1f MB, %.0f MB/s, %.1f MB on the wire "
	    "(ratio %.2f)\033[K", p->what, plain / 1e6,
	    secs > 0 ? plain / secs / 1e6 : 0, wire / 1e6,
	    plain ? (double)wire / plain : 1.0);
	p->drawn = 1;
}

void
progress_end(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->drawn)
		fputs("\r\033[K", stderr);
	free(p);
}

void
trace_point(const char *fmt, ...)
{
	static int on = -1;
	struct timespec ts;
	va_list ap;

	if (on < 0) {
		const char *env = getenv("XENPIPE_TRACE");

		on = env != NULL && strcmp(env, "1") == 0;
	}
	if (!on)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%s: trace %lld.%06ld: ", program_invocation_short_name,
	    (long long)ts.tv_sec, ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
