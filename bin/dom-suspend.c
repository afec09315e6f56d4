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
#include "srcguard.h"
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
 * The input, and the guard of the source.  mem-dump -l and dirty-track end
 * with log-dirty on and the guest throttled, for this last stage to turn
 * off: whatever way dom-suspend fails, the guard turns them off on the
 * domain its input stream is of (its config names it; a libxc or libxl
 * stream does not: the operand then).  Upstream stages that have not
 * finished yet see their output break and turn them off themselves; twice
 * does no harm.  A failure before the domain is open reads the headers
 * first if need be, to know whether there is such a stream.
 */
static struct {
	const char *dom;		/* the operand, once known */
	struct sr *sr;			/* NULL: none (a terminal), or no memory */
	struct stream_hdrs h;
	int looked;			/* the headers were read */
	int rc;				/* sr_headers(), or 0 for a terminal */
	int live;			/* a stream from the stages upstream */
	char of[DOM_NAME_MAX];		/* the domain its config names, or "" */
} in;

static struct srcguard guard;

static int
look_input(void)
{
	struct dom_config cfg;

	if (in.looked)
		return in.rc;
	in.looked = 1;
	if (isatty(STDIN_FILENO))
		return in.rc = 0;
	if ((in.sr = sr_new(STDIN_FILENO)) == NULL)
		return in.rc = -1;
	in.rc = sr_headers(in.sr, &in.h);
	in.live = in.rc == 1;
	if (!in.live)
		return in.rc;
	memset(&cfg, 0, sizeof(cfg));
	if (in.h.json != NULL && config_from_json(in.h.json, in.h.json_len,
	    &cfg) == 0)
		snprintf(in.of, sizeof(in.of), "%s", cfg.name);
	sg_init(&guard, guard.be, in.of[0] != '\0' ? in.of : in.dom);
	sg_adopt(&guard, SG_LOGDIRTY | SG_THROTTLE);
	return in.rc;
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
	if (look_input() == 1) {
		if (guard.be == NULL)
			guard.be = be;
		sg_undo(&guard, warnline);
	}
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_say(USAGE);
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

struct opts {
	enum stream_fmt fmt;
	const char *replies;		/* --handshake, or NULL */
	int reply_fd;
	int timeout_ms;
	int cflag, vflag, fflag;
};

/*
 * The options and the operand.  A bad option does not stop the parse: the
 * operand is still wanted, to undo the stages upstream (leave).
 */
static const char *
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "checkpoint", no_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "handshake", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char bad[256] = "";
	uint64_t v;
	int tflag = 0, badopt = 0, ch;

	while ((ch = getopt_long(argc, argv, "cf:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->cflag = 1;
			break;
		case 'f':
			if (fmt_parse(optarg, &o->fmt) < 0 && bad[0] == '\0')
				snprintf(bad, sizeof(bad), "%s", xp_errmsg());
			o->fflag = 1;
			break;
		case 'H':
			o->replies = optarg;
			break;
		case 't':
			if (parse_u64(optarg, 1, 86400, &v) == 0)
				o->timeout_ms = v * 1000;
			else if (bad[0] == '\0')
				snprintf(bad, sizeof(bad), "--timeout: %s",
				    xp_errmsg());
			tflag = 1;
			break;
		case 'v':
			o->vflag = 1;
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
	if (badopt || argc != 1 || (tflag && o->replies == NULL))
		usage();
	if (o->cflag && o->replies != NULL)
		fail(NULL, EX_USAGE, "-c keeps the domain running: there is "
		    "nothing to hand over (--handshake)");
	/*
	 * Opened first, and without waiting for a writer: the stage that
	 * writes it (a FIFO) may block in its open until we do.
	 */
	if (o->replies != NULL && (o->reply_fd = open(o->replies, O_RDONLY |
	    O_NONBLOCK | O_CLOEXEC)) < 0)
		fail(NULL, EX_SYS, "--handshake %s: %s", o->replies,
		    strerror(errno));
	return argv[0];
}

/* stdin: a live stream (1), nothing (0: a cold save), or it exits. */
static int
take_input(const struct backend *be, struct opts *o)
{
	int rc = look_input();

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
	if (!in.live)
		return 0;
	if (o->fflag && o->fmt != in.h.fmt)
		fail(be, EX_USAGE, "-f %s, but the input stream is in %s "
		    "format", fmt_name(o->fmt), fmt_name(in.h.fmt));
	o->fmt = in.h.fmt;
	return 1;
}

/*
 * From the stream upstream (live) or from nothing (cold), through the
 * suspend, to END.  The domain is left suspended, log-dirty off.
 */
static int
save_to_end(const struct backend *be, struct dom *d, struct save *s,
    const struct dom_info *info, int live)
{
	uint64_t *bitmap = NULL;
	size_t words = (info->nr_pages + 63) / 64;

	if (live) {
		if ((bitmap = calloc(words, sizeof(uint64_t))) == NULL) {
			xp_seterr(XE_SYS, "dirty bitmap");
			goto err;
		}
		if (save_copy_input(s, in.sr, &in.h) < 0)
			goto err;
	}
	if (info->state == DOM_RUNNING) {
		trace_point("suspending %s", info->name);
		if (sg_suspend(&guard) < 0)
			goto err;
		trace_point("suspended");
		/* a signal in the wait: the suspend is ours to undo now */
		if (xp_interrupted) {
			errno = 0;
			xp_seterr(XE_SYS, "%s: interrupted while suspending it",
			    info->name);
			goto err;
		}
	}
	/* dirty-track leaves its throttle on until the guest is suspended */
	if (sg_lift(&guard, SG_THROTTLE) < 0)
		warnmsg("%s: %s: the throttle is left on: %s", be->name,
		    info->name, xp_errmsg());
	if (live) {
		if (be->logdirty(d, LOGDIRTY_CLEAN, bitmap) < 0)
			goto err;
		trace_point("last dirty bitmap read");
		/* fault injection, to prove the tests catch a lost dirty page */
		if (fault_on("drop-final-dirty"))
			memset(bitmap, 0, words * sizeof(uint64_t));
		if (save_dirty_pages(s, bitmap) < 0)
			goto err;
	} else if (save_begin(s) < 0 || save_all_pages(s, 0) < 0)
		goto err;
	trace_point("pages sent");
	if (save_finish(s) < 0)
		goto err;
	trace_point("END sent");
	if (sg_lift(&guard, SG_LOGDIRTY) < 0)
		warnmsg("%s: %s: log-dirty is left on: %s", be->name,
		    info->name, xp_errmsg());
	free(bitmap);
	return 0;
err:
	free(bitmap);
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts o = { .fmt = FMT_XL, .reply_fd = -1, .timeout_ms = 300000 };
	const struct backend *be;
	struct dom *d = NULL;
	struct dom_info info;
	struct save *s = NULL;
	char name[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];
	const char *dom;
	uint64_t t0;
	int live, code = 0;

	cli_common(argc, argv, USAGE);
	/* from here on a signal is a failure like any other: it cleans up */
	cli_catch_signals();
	dom = parse_args(argc, argv, &o);
	snprintf(name, sizeof(name), "%s", dom);
	if (isatty(STDOUT_FILENO))
		fail(NULL, EX_USAGE, "refusing to write a stream to a "
		    "terminal; redirect stdout to a file or a pipe");
	if ((be = backend_get()) == NULL)
		fail(NULL, xp_exit_code(), "%s", xp_errmsg());
	guard.be = be;
	t0 = now_ns();
	live = take_input(be, &o);
	if (be->open(dom, &d) < 0)
		fail(be, xp_exit_code(), "%s: %s", be->name, xp_errmsg());
	if (be->info(d, &info) < 0)
		goto err;
	if (info.state != DOM_RUNNING && info.state != DOM_SUSPENDED) {
		xp_seterr(XE_STATE, "%s is %s, not running", info.name,
		    info.state == DOM_PAUSED ? "paused" : "shut down");
		goto err;
	}
	snprintf(name, sizeof(name), "%s", info.name);
	/* a stream of another domain: save_copy_input refuses it */
	if (!live || in.of[0] == '\0' || strcmp(in.of, info.name) == 0)
		sg_bind(&guard, d, info.name);
	if (o.replies != NULL && handover_check(be, info.name) < 0)
		goto err;
	if ((s = save_open(be, d, STDOUT_FILENO, o.fmt)) == NULL ||
	    save_to_end(be, d, s, &info, live) < 0)
		goto err;
	if (o.replies != NULL) {
		code = hand_over(be, &d, name, sizeof(name), o.reply_fd,
		    o.timeout_ms, o.vflag);
		sg_bind(&guard, d, name);
		goto err;	/* not handed over: resume it */
	}
	if (o.cflag && sg_lift(&guard, SG_SUSPEND) < 0)
		goto err;
	/* without -c the domain stays suspended: the save's outcome */
	sg_keep(&guard);
	if (o.vflag) {
		const struct sw_stats *st = save_stats(s);

		warnmsg("%s %s: %" PRIu64 " pages with data, %"
		    PRIu64 " zero, %" PRIu64 " bytes in %.2f s; %s",
		    live ? "live" : "cold", info.name,
		    st->pages_data, st->pages_zero, st->bytes,
		    (now_ns() - t0) / 1e9,
		    o.cflag ? "running" : "left suspended");
	}
	save_close(s);
	sr_free(in.sr);
	be->close(d);
	return 0;

err:
	if (code == 0)
		code = xp_exit_code();
	warnmsg("%s: %s", be->name, xp_errmsg());
	sg_undo(&guard, warnline);
	save_close(s);
	sr_free(in.sr);
	be->close(d);
	return code;
}
