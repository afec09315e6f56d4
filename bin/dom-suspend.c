/*
 * dom-suspend - suspend a domain and write the end of its migration stream.
 *
 * With no stream on stdin (a terminal, or input that ends at once) it is a
 * cold save: suspend, then headers, every page, context, END.  With a
 * stream on stdin (mem-dump -l | dirty-track) it copies that through, then
 * suspends, sends the pages dirtied since, the context and END.  The domain
 * stays suspended (resume it with dom-resume --in-place, or -c here).
 * With --handshake it hands the domain over to dom-resume --handshake
 * (handover.h): the source is destroyed once the receiver reports that its
 * copy runs, resumed if the go was never given or the receiver destroyed
 * its copy, and otherwise left suspended.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "fault.h"
#include "handover.h"
#include "progress.h"
#include "save.h"
#include "stream.h"

#define USAGE "dom-suspend [-cv] [-f libxc|libxl|xl] " \
	"[--handshake REPLIES [--timeout SECONDS]] DOM"

/* A pipe or a socket (whose emptiness says the stage before failed). */
static int
empty_is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode));
}

/*
 * The input, and whose clean-up this is.  mem-dump -l and dirty-track end
 * with log-dirty on and the guest throttled, for this last stage to turn
 * off: whatever way dom-suspend fails, it turns them off on the domain its
 * input stream is of (upstream stages that have not finished yet see
 * their output break and turn them off themselves; twice does no harm).
 * A failure before the domain is open reads the headers first if need be,
 * to know whether there is such a stream.
 */
static struct {
	const char *dom;		/* the operand, once known */
	struct sr *sr;			/* NULL: none (a terminal), or no memory */
	struct stream_hdrs h;
	int looked;			/* the headers were read */
	int rc;				/* sr_headers(), or 0 for a terminal */
	int live;			/* a stream from the stages upstream */
} in;

static int
look_input(void)
{
	if (in.looked)
		return in.rc;
	in.looked = 1;
	if (isatty(STDIN_FILENO))
		return in.rc = 0;
	if ((in.sr = sr_new(STDIN_FILENO)) == NULL)
		return in.rc = -1;
	in.rc = sr_headers(in.sr, &in.h);
	in.live = in.rc == 1;
	return in.rc;
}

/*
 * Turn off log-dirty and lift the throttle of the domain the live input is
 * of (its config names it; a libxc or libxl stream does not: the operand
 * then): d, open as dname, when that is the one, else looked up.
 */
static void
undo_upstream(const struct backend *be, struct dom *d, const char *dname)
{
	struct dom_config cfg;
	struct dom *own = NULL;
	const char *name = NULL;

	if (!in.live)
		return;
	memset(&cfg, 0, sizeof(cfg));
	if (in.h.json != NULL && config_from_json(in.h.json, in.h.json_len,
	    &cfg) == 0 && cfg.name[0] != '\0')
		name = cfg.name;
	if (d != NULL && (name == NULL || dname == NULL ||
	    strcmp(name, dname) == 0)) {
		if (dname != NULL)
			name = dname;
	} else {
		if (name == NULL && (name = in.dom) == NULL)
			return;
		if (be->open(name, &own) < 0) {
			warnmsg("%s: %s: cannot turn its log-dirty off or lift "
			    "its throttle: %s", be->name, name, xp_errmsg());
			return;
		}
		d = own;
	}
	if (name == NULL)
		name = in.dom;
	if (be->logdirty(d, LOGDIRTY_DISABLE, NULL) < 0)
		warnmsg("%s: %s: log-dirty is left on: %s", be->name, name,
		    xp_errmsg());
	if (be->throttle(d, 100) < 0)
		warnmsg("%s: %s: the throttle is left on: %s", be->name, name,
		    xp_errmsg());
	if (own != NULL)
		be->close(own);
}

/*
 * Exit before the domain is open: undo the stages upstream first.  Their
 * headers are read only if there is input already (or its end): a pipe
 * with none has a writer still at work, which cleans up after itself
 * once its output breaks, and need not be waited for.
 */
static void __attribute__((noreturn))
leave(const struct backend *be, int code)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	fflush(stdout);
	if (!in.looked && empty_is_pipe(STDIN_FILENO) && poll(&pfd, 1, 0) < 1)
		exit(code);
	if (look_input() == 1 && (be != NULL || (be = backend_get()) != NULL))
		undo_upstream(be, NULL, NULL);
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s\n", USAGE);
	leave(NULL, EX_USAGE);
}

/* die() of cli.h, but through leave(). */
static void __attribute__((format(printf, 3, 4), noreturn))
fail(const struct backend *be, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warnmsg("%s", msg);
	leave(be, code);
}

/* The backend's own tool to destroy a domain: what the admin types. */
static const char *
destroy_cmd(const struct backend *be)
{
	return strcmp(be->name, "sim") == 0 ? "simdom destroy" : "xl destroy";
}

/*
 * After END: hand the domain over.  Exits unless the source is to be
 * resumed; then returns the exit status.
 */
static int
hand_over(const struct backend *be, struct dom **d, char *name, size_t len,
    int reply_fd, int timeout_ms, int vflag)
{
	struct ho_result res;

	handover_send(be, d, STDOUT_FILENO, reply_fd, timeout_ms, &res);
	switch (res.outcome) {
	case HO_RUNNING:
		if (vflag)
			warnmsg("%s: handed over: the receiver runs it as %s "
			    "(id %" PRIu32 "); the source (id %" PRIu32 ") is "
			    "destroyed", be->name, res.peer_name,
			    res.peer_domid, res.domid);
		exit(0);
	case HO_UNDESTROYED:
		die(EX_UNDESTROYED, "%s: handed over (the receiver runs it as "
		    "%s, id %" PRIu32 "), but destroying the source failed: %s; "
		    "it is left suspended here as %s (id %" PRIu32 "): %s %"
		    PRIu32, be->name, res.peer_name, res.peer_domid,
		    xp_errmsg(), res.name, res.domid, destroy_cmd(be),
		    res.domid);
	case HO_UNKNOWN:
		die(EX_UNKNOWN, "%s: HANDOVER OUTCOME UNKNOWN: the go was given "
		    "but %s; %s is left suspended here as %s (id %" PRIu32 "). "
		    "If the receiver runs the guest, destroy this copy: %s %"
		    PRIu32 "; if it does not, resume this one: dom-resume "
		    "--in-place --force %" PRIu32, be->name, xp_errmsg(),
		    name, res.name, res.domid, destroy_cmd(be), res.domid,
		    res.domid);
	case HO_REFUSED:
		snprintf(name, len, "%s", res.name);
		return EX_NO;
	case HO_NOT_GIVEN:
		break;
	}
	snprintf(name, len, "%s", res.name);
	/* 111 is the stream's far end; a failure here is this side's */
	return res.local ? EX_STATE : EX_SYS;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "checkpoint", no_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "handshake", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct backend *be;
	struct dom *d = NULL;
	struct dom_info info;
	struct save *s = NULL;
	enum stream_fmt fmt = FMT_XL;
	uint64_t *bitmap = NULL, t0, v;
	char name[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)], bad[256] = "";
	const char *replies = NULL, *dname = NULL;
	int cflag = 0, vflag = 0, fflag = 0, live = 0, suspended = 0;
	int reply_fd = -1, timeout_ms = 300000, tflag = 0, ch, rc, code = 0;
	int badopt = 0;

	cli_common(argc, argv, USAGE);
	/* from here on a signal is a failure like any other: it cleans up */
	cli_catch_signals();
	/* a bad option does not stop the parse: the operand is still wanted */
	while ((ch = getopt_long(argc, argv, "cf:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cflag = 1;
			break;
		case 'f':
			if (fmt_parse(optarg, &fmt) < 0 && bad[0] == '\0')
				snprintf(bad, sizeof(bad), "%s", xp_errmsg());
			fflag = 1;
			break;
		case 'H':
			replies = optarg;
			break;
		case 't':
			if (parse_u64(optarg, 1, 86400, &v) == 0)
				timeout_ms = v * 1000;
			else if (bad[0] == '\0')
				snprintf(bad, sizeof(bad), "--timeout: %s",
				    xp_errmsg());
			tflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			badopt = 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1)
		in.dom = argv[0];
	if (bad[0] != '\0')
		fail(NULL, EX_USAGE, "%s", bad);
	if (badopt || argc != 1 || (tflag && replies == NULL))
		usage();
	snprintf(name, sizeof(name), "%s", argv[0]);
	if (cflag && replies != NULL)
		fail(NULL, EX_USAGE, "-c keeps the domain running: there is "
		    "nothing to hand over (--handshake)");
	/*
	 * Opened first, and without waiting for a writer: the stage that
	 * writes it (a FIFO) may block in its open until we do.
	 */
	if (replies != NULL && (reply_fd = open(replies, O_RDONLY |
	    O_NONBLOCK | O_CLOEXEC)) < 0)
		fail(NULL, EX_SYS, "--handshake %s: %s", replies,
		    strerror(errno));
	if (isatty(STDOUT_FILENO))
		fail(NULL, EX_USAGE, "refusing to write a stream to a "
		    "terminal; redirect stdout to a file or a pipe");
	if ((be = backend_get()) == NULL)
		fail(NULL, xp_exit_code(), "%s", xp_errmsg());
	t0 = now_ns();

	rc = look_input();
	if (rc < 0 && in.sr == NULL)
		fail(be, xp_exit_code(), "%s: %s", be->name, xp_errmsg());
	if (rc < 0)
		fail(be, EX_STREAM, "stdin is not a migration stream (%s); for "
		    "a cold save give it no input: </dev/null", xp_errmsg());
	/*
	 * An empty pipe is a stage upstream that failed before its first
	 * byte, not a request for a cold save (that is </dev/null): going on
	 * would stop a guest meant to move live.
	 */
	if (rc == 0 && in.sr != NULL && empty_is_pipe(STDIN_FILENO))
		fail(be, EX_STREAM, "stdin is an empty pipe: the stage before "
		    "wrote nothing (did it fail?); for a cold save give no "
		    "input: </dev/null");
	live = in.live;
	if (live && fflag && fmt != in.h.fmt)
		fail(be, EX_USAGE, "-f %s, but the input stream is in %s "
		    "format", fmt_name(fmt), fmt_name(in.h.fmt));
	if (live)
		fmt = in.h.fmt;
	if (be->open(argv[0], &d) < 0)
		fail(be, xp_exit_code(), "%s: %s", be->name, xp_errmsg());
	if (be->info(d, &info) < 0)
		goto err;
	if (info.state != DOM_RUNNING && info.state != DOM_SUSPENDED) {
		xp_seterr(XE_STATE, "%s is %s, not running", info.name,
		    info.state == DOM_PAUSED ? "paused" : "shut down");
		goto err;
	}
	snprintf(name, sizeof(name), "%s", info.name);
	dname = info.name;
	if (replies != NULL && handover_check(be, info.name) < 0)
		goto err;
	if ((s = save_open(be, d, STDOUT_FILENO, fmt)) == NULL)
		goto err;

	if (live) {
		bitmap = calloc((info.nr_pages + 63) / 64, sizeof(uint64_t));
		if (bitmap == NULL) {
			xp_seterr(XE_SYS, "dirty bitmap");
			goto err;
		}
		if (save_copy_input(s, in.sr, &in.h) < 0)
			goto err;
	}
	if (info.state == DOM_RUNNING) {
		trace_point("suspending %s", info.name);
		if (be->suspend(d) < 0)
			goto err;
		suspended = 1;
		trace_point("suspended");
		/* a signal in the wait: the suspend is ours to undo now */
		if (xp_interrupted) {
			errno = 0;
			xp_seterr(XE_SYS, "%s: interrupted while suspending it",
			    info.name);
			goto err;
		}
	}
	/* dirty-track leaves its throttle on until the guest is suspended */
	if (live)
		be->throttle(d, 100);
	if (live) {
		if (be->logdirty(d, LOGDIRTY_CLEAN, bitmap) < 0)
			goto err;
		trace_point("last dirty bitmap read");
		/* fault injection, to prove the tests catch a lost dirty page */
		if (fault_on("drop-final-dirty"))
			memset(bitmap, 0, (info.nr_pages + 63) / 64 * 8);
		if (save_dirty_pages(s, bitmap) < 0)
			goto err;
	} else if (save_begin(s) < 0 || save_all_pages(s, 0) < 0)
		goto err;
	trace_point("pages sent");
	if (save_finish(s) < 0)
		goto err;
	trace_point("END sent");
	if (live)
		be->logdirty(d, LOGDIRTY_DISABLE, NULL);
	if (replies != NULL) {
		code = hand_over(be, &d, name, sizeof(name), reply_fd,
		    timeout_ms, vflag);
		goto err;	/* not handed over: resume it */
	}
	if (cflag && be->resume(d) < 0)
		goto err;
	if (vflag) {
		const struct sw_stats *st = save_stats(s);

		warnmsg("%s %s: %" PRIu64 " pages with data, %"
		    PRIu64 " zero, %" PRIu64 " bytes in %.2f s; %s",
		    live ? "live" : "cold", info.name,
		    st->pages_data, st->pages_zero, st->bytes,
		    (now_ns() - t0) / 1e9,
		    cflag ? "running" : "left suspended");
	}
	save_close(s);
	free(bitmap);
	sr_free(in.sr);
	be->close(d);
	return 0;

err:
	if (code == 0)
		code = xp_exit_code();
	warnmsg("%s: %s", be->name, xp_errmsg());
	undo_upstream(be, d, dname);
	if (suspended && be->resume(d) < 0)
		warnmsg("%s: could not resume %s: %s", be->name, name,
		    xp_errmsg());
	else if (suspended)
		warnmsg("%s resumed", name);
	save_close(s);
	free(bitmap);
	sr_free(in.sr);
	be->close(d);
	return code;
}
