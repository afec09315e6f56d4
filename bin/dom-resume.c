/*
 * dom-resume - build a domain from the stream on stdin and start it once
 * END has arrived; or, with --in-place, resume a domain that dom-suspend
 * left suspended (the undo of a pipeline that failed downstream).
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
#include "progress.h"
#include "restore.h"

#define USAGE "dom-resume [-v] [-n NAME]\n       dom-resume --in-place DOM"

static int
resume_in_place(const struct backend *be, const char *dom)
{
	struct dom *d;
	struct dom_info info;

	if (be->open(dom, &d) < 0)
		die_xp(be->name);
	if (be->info(d, &info) < 0)
		goto err;
	if (info.state != DOM_SUSPENDED) {
		xp_seterr(XE_STATE, "%s is not suspended", info.name);
		goto err;
	}
	if (be->resume(d) < 0)
		goto err;
	printf("%s %" PRIu32 "\n", info.name, info.domid);
	be->close(d);
	return 0;
err:
	be->close(d);
	die_xp(be->name);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "in-place", no_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct backend *be;
	struct dom_info info;
	struct restore_stats st;
	const char *name = NULL;
	int iflag = 0, vflag = 0, ch;
	uint64_t t0;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "n:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			iflag = 1;
			break;
		case 'n':
			if (!config_valid_name(optarg))
				die(EX_USAGE, "'%s' is not a valid domain name",
				    optarg);
			name = optarg;
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
		if (argc != 1 || name != NULL)
			usage_exit(USAGE);
		return resume_in_place(be, argv[0]);
	}
	if (argc != 0)
		usage_exit(USAGE);
	no_tty_stream(STDIN_FILENO, "pipe or redirect one to stdin");
	cli_catch_signals();
	/*
	 * Pages are spliced into libxenguest's socket, and splice has no
	 * MSG_NOSIGNAL: a restore that ended must be an EPIPE, not a signal.
	 */
	signal(SIGPIPE, SIG_IGN);
	t0 = now_ns();
	if (restore_stream(be, STDIN_FILENO, name, &info, &st) < 0)
		die_xp(be->name);
	printf("%s %" PRIu32 "\n", info.name, info.domid);
	if (vflag)
		warnmsg("%s: %" PRIu64 " records, %" PRIu64
		    " pages with data, %" PRIu64 " zero, %" PRIu64
		    " bytes in %.2f s", info.name, st.records,
		    st.pages_data, st.pages_zero, st.bytes,
		    (now_ns() - t0) / 1e9);
	return 0;
}
