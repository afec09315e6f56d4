/*
 * tty.c - the programs' progress sink (progress.h): one line on stderr,
 * redrawn at most every 200 ms and erased before any other message, only
 * when stderr is a terminal (or XENPIPE_PROGRESS=1); and with
 * XENPIPE_TRACE=1 the library's trace points, a line each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

struct progress {
	char what[96];
	uint64_t total;
	uint64_t start, last;
	int drawn;
};

static struct progress *
tty_begin(const char *what, uint64_t total)
{
	const char *env = getenv("XENPIPE_PROGRESS");
	struct progress *p;

	if (env != NULL ? strcmp(env, "1") != 0 : !isatty(STDERR_FILENO))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->total = total;
	p->start = p->last = now_ns();
	return p;
}

/* Time to redraw (and the seconds so far), or 0. */
static int
due(struct progress *p, int last_one, double *secs)
{
	uint64_t t = now_ns();

	if (t - p->last < 200000000ULL && !last_one)
		return 0;
	p->last = t;
	*secs = (t - p->start) / 1e9;
	p->drawn = 1;
	return 1;
}

static void
tty_pages(struct progress *p, uint64_t pages, uint64_t bytes)
{
	double secs, rate;

	if (!due(p, p->total && pages == p->total, &secs))
		return;
	rate = secs > 0 ? bytes / secs / 1e6 : 0;
	if (p->total)
		fprintf(stderr, "\r%s: %llu/%llu pages (%3.0f%%), %.1f MB, "
		    "%.0f MB/s\033[K", p->what, (unsigned long long)pages,
		    (unsigned long long)p->total, 100.0 * pages / p->total,
		    bytes / 1e6, rate);
	else
		fprintf(stderr, "\r%s: %llu pages, %.1f MB, %.0f MB/s\033[K",
		    p->what, (unsigned long long)pages, bytes / 1e6, rate);
}

static void
tty_transfer(struct progress *p, uint64_t plain, uint64_t wire)
{
	double secs;

	if (!due(p, 0, &secs))
		return;
	fprintf(stderr, "\r%s: %.1f MB, %.0f MB/s, %.1f MB on the wire "
	    "(ratio %.2f)\033[K", p->what, plain / 1e6,
	    secs > 0 ? plain / secs / 1e6 : 0, wire / 1e6,
	    plain ? (double)wire / plain : 1.0);
}

static void
tty_end(struct progress *p)
{
	if (p->drawn)
		fputs("\r\033[K", stderr);
	free(p);
}

static void
tty_trace(const char *line)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
}

void
tty_install(void)
{
	static struct progress_sink sink = {
		.begin = tty_begin,
		.pages = tty_pages,
		.transfer = tty_transfer,
		.end = tty_end,
	};
	const char *env = getenv("XENPIPE_TRACE");

	sink.trace = env != NULL && strcmp(env, "1") == 0 ? tty_trace : NULL;
	progress_set_sink(&sink);
}
