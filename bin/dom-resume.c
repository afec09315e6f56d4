/*
 * dom-resume - build a domain from the stream on stdin and start it once
 * END has arrived, or with --handshake once the sender gave the go; or,
 * with --in-place, resume a domain that dom-suspend left suspended (the
 * undo of a pipeline that failed downstream).
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "handover.h"
#include "progress.h"
#include "restore.h"

#define USAGE "dom-resume [-v] [-n NAME] [--handshake [--timeout SECONDS]]\n" \
	"       dom-resume --in-place [--force] DOM"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "handshake", no_argument, NULL, 'H' },
		{ "in-place", no_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct backend *be;
	struct dom_info info;
	struct restore_stats st;
	struct restore_handshake hs = { STDOUT_FILENO, 60000, 0 };
	const char *name = NULL;
	int iflag = 0, fflag = 0, hflag = 0, tflag = 0, vflag = 0, ch;
	uint64_t t0;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "n:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fflag = 1;
			break;
		case 'H':
			hflag = 1;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'n':
			if (!config_valid_name(optarg))
				die(EX_USAGE, "'%s' is not a valid domain name",
				    optarg);
			name = optarg;
			break;
		case 't':
			hs.timeout_ms = arg_u64(optarg, 1, 86400, "--timeout") *
			    1000;
			tflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if ((be = backend_get()) == NULL)
		die_xp(NULL);
	if (iflag) {
		if (argc != 1 || name != NULL || hflag || tflag)
			usage_exit(USAGE);
		if (handover_resume_in_place(be, argv[0], fflag, &info) < 0)
			die_xp(be->name);
		printf("%s %" PRIu32 "\n", info.name, info.domid);
		return 0;
	}
	if (argc != 0 || fflag || (tflag && !hflag))
		usage_exit(USAGE);
	no_tty_stream(STDIN_FILENO, "pipe or redirect one to stdin");
	cli_catch_signals();
	/*
	 * Pages are spliced into libxenguest's socket, and splice has no
	 * MSG_NOSIGNAL: a restore that ended must be an EPIPE, not a signal.
	 * So must a handshake line to a sender that is gone.
	 */
	signal(SIGPIPE, SIG_IGN);
	t0 = now_ns();
	if (restore_stream(be, STDIN_FILENO, name, hflag ? &hs : NULL, &info,
	    &st) < 0)
		die_xp(be->name);
	if (hs.unreported)
		die(EX_UNKNOWN, "%s: %s runs here as id %" PRIu32 ", but its "
		    "report to the sender failed (%s): the sender keeps its "
		    "copy suspended; destroy that one", be->name, info.name,
		    info.domid, xp_errmsg());
	if (!hflag)
		printf("%s %" PRIu32 "\n", info.name, info.domid);
	if (vflag)
		warnmsg("%s: %" PRIu64 " records, %" PRIu64
		    " pages with data, %" PRIu64 " zero, %" PRIu64
		    " bytes in %.2f s%s", info.name, st.records,
		    st.pages_data, st.pages_zero, st.bytes,
		    (now_ns() - t0) / 1e9, hflag ? ", started on the go" : "");
	return 0;
}
