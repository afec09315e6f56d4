/* guard.c - the receiver's watchman; see guard.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "guard.h"

/* The receiver to its watchman: 'W' and a domid (native), or 'R'. */
#define MSG_WATCH	'W'
#define MSG_RELEASE	'R'

struct guard {
	int fd;
	pid_t pid;
};

/* Destroy domid if it never ran.  Runs in the watchman, which then exits. */
static void
bury(const struct backend *be, uint32_t domid, pid_t receiver)
{
	struct dom_info info;
	struct dom *d;
	char id[16];

	snprintf(id, sizeof(id), "%" PRIu32, domid);
	if (be->open(id, &d) < 0)
		return;		/* gone already */
	if (be->info(d, &info) < 0 || info.state != DOM_PAUSED) {
		be->close(d);
		return;
	}
	if (be->destroy(d) == 0)
		fprintf(stderr, "%s: %s: domain %s (id %" PRIu32 "): process "
		    "%d, which was receiving it, died before starting it: "
		    "destroyed\n", program_invocation_short_name, be->name,
		    info.name, domid, (int)receiver);
	else
		fprintf(stderr, "%s: %s: domain %s (id %" PRIu32 "): process "
		    "%d died before starting it, and destroying it failed: "
		    "%s\n", program_invocation_short_name, be->name, info.name,
		    domid, (int)receiver, xp_errmsg());
}

static void __attribute__((noreturn))
watchman(const struct backend *be, int fd, pid_t receiver)
{
	static const int quiet[] = { SIGINT, SIGHUP, SIGQUIT, SIGPIPE };
	uint32_t domid = 0;
	int have = 0, nul;
	size_t i;
	ssize_t n;
	char c;

	/* out of the receiver's process group: its group's signals miss us */
	setsid();
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		signal(quiet[i], SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	/* hold none of the pipeline's ends, or its EOFs would wait for us */
	if ((fd != 3 && dup2(fd, 3) < 0) || (nul = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	dup2(nul, 0);
	dup2(nul, 1);
	close_range(4, ~0U, 0);
	for (;;) {
		n = read(3, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (c == MSG_RELEASE)
			_exit(0);
		if (c != MSG_WATCH || read(3, &domid, sizeof(domid)) !=
		    (ssize_t)sizeof(domid))
			break;
		have = 1;
	}
	if (have)
		bury(be, domid, receiver);
	_exit(0);
}

struct guard *
guard_start(const struct backend *be)
{
	struct guard *g;
	pid_t me = getpid();
	int p[2];

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		xp_seterr(XE_SYS, "watchman");
		return NULL;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		xp_seterr(XE_SYS, "watchman: pipe");
		free(g);
		return NULL;
	}
	fflush(stderr);
	if ((g->pid = fork()) < 0) {
		xp_seterr(XE_SYS, "watchman: fork");
		close(p[0]);
		close(p[1]);
		free(g);
		return NULL;
	}
	if (g->pid == 0) {
		close(p[1]);
		watchman(be, p[0], me);
	}
	close(p[0]);
	g->fd = p[1];
	return g;
}

void
guard_watch(struct guard *g, uint32_t domid)
{
	char msg[1 + sizeof(domid)];
	ssize_t n;

	if (g == NULL || domid == 0)
		return;
	msg[0] = MSG_WATCH;
	memcpy(msg + 1, &domid, sizeof(domid));
	/* a watchman gone early only weakens the guarantee: not an error */
	n = write(g->fd, msg, sizeof(msg));
	(void)n;
}

void
guard_release(struct guard *g)
{
	char c = MSG_RELEASE;
	ssize_t n;

	if (g == NULL)
		return;
	n = write(g->fd, &c, 1);	/* failed: the watchman is gone */
	(void)n;
	close(g->fd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(g);
}
