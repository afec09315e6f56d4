/*
 * dirty-track - the pre-copy rounds of a live migration.  Copies the stream
 * on stdin (mem-dump -l, or another dirty-track) through unchanged, then
 * sends the pages the guest dirtied, round after round, until the policy
 * says the rest fits the downtime (or, --policy=xen, as libxenguest does).
 * It never sends END: dom-suspend downstream finishes the stream.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "err.h"
#include "precopy.h"
#include "progress.h"
#include "save.h"
#include "stream.h"

#define USAGE "dirty-track [--throttle] [--policy downtime|xen] " \
    "[--downtime MS] [--max-rounds N]\n                   " \
    "[--max-time SECONDS] [--bandwidth RATE] [--stats FILE] DOM"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "downtime", required_argument, NULL, 'd' },
		{ "max-rounds", required_argument, NULL, 'r' },
		{ "max-time", required_argument, NULL, 't' },
		{ "policy", required_argument, NULL, 'p' },
		{ "stats", required_argument, NULL, 's' },
		{ "throttle", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct precopy_opts o = { .policy = POLICY_DOWNTIME,
	    .downtime_ms = 300 };
	struct precopy_result res;
	const struct backend *be;
	struct stream_hdrs h;
	struct dom *d = NULL;
	struct save *s = NULL;
	struct sr *sr = NULL;
	const char *stats_path = NULL;
	uint64_t t0, copied;
	int ch, rc, code;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (parse_size(optarg, &o.bandwidth) < 0 ||
			    o.bandwidth == 0)
				die(EX_USAGE, "--bandwidth: '%s' is not a rate "
				    "(like 100M, bytes per second)", optarg);
			break;
		case 'd':
			o.downtime_ms = arg_u64(optarg, 1, 3600000, "--downtime");
			break;
		case 'p':
			if (strcmp(optarg, "xen") == 0)
				o.policy = POLICY_XEN;
			else if (strcmp(optarg, "downtime") == 0)
				o.policy = POLICY_DOWNTIME;
			else
				die(EX_USAGE, "--policy: '%s': use downtime "
				    "or xen", optarg);
			break;
		case 'r':
			o.max_rounds = arg_u64(optarg, 1, 10000, "--max-rounds");
			break;
		case 's':
			stats_path = optarg;
			break;
		case 't':
			o.max_time_ms = 1000 *
			    arg_u64(optarg, 1, 86400, "--max-time");
			break;
		case 'T':
			o.throttle = 1;
			break;
		default:
			usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage_exit(USAGE);
	no_tty_stream(STDIN_FILENO, "run it after mem-dump -l");
	no_tty_stream(STDOUT_FILENO, "redirect stdout to a file or a pipe");
	if (stats_path != NULL && (o.stats = fopen(stats_path, "w")) == NULL)
		die(EX_SYS, "%s: %s", stats_path, strerror(errno));
	if ((be = backend_get()) == NULL)
		die_xp(NULL);
	cli_catch_signals();
	t0 = now_ns();
	if ((sr = sr_new(STDIN_FILENO)) == NULL)
		die_xp(be->name);
	rc = sr_headers(sr, &h);
	if (rc == 0)
		die(EX_STREAM, "no stream on stdin: run it after mem-dump -l");
	if (rc < 0)
		die(EX_STREAM, "stdin: %s", xp_errmsg());
	if (be->open(argv[0], &d) < 0)
		die_xp(be->name);
	if ((s = save_open(be, d, STDOUT_FILENO, h.fmt)) == NULL ||
	    save_copy_input(s, sr, &h) < 0)
		goto err;
	copied = save_stats(s)->bytes;
	o.first_pass_bytes = copied;
	o.first_pass_ns = now_ns() - t0;
	if (precopy_run(be, d, s, &o, &res) < 0 || save_stage_mark(s) < 0)
		goto err;
	warnmsg("%s: %u rounds, %" PRIu64 " pages, %" PRIu64 " bytes after "
	    "the first pass; %" PRIu64 " dirty left, predicted downtime %"
	    PRIu64 " ms (%s)%s", save_info(s)->name, res.rounds,
	    res.pages_sent, res.bytes_sent, res.dirty_left,
	    res.predicted_ms == UINT64_MAX ? 0 : res.predicted_ms, res.why,
	    res.throttle_pct < 100 ? ", throttled" : "");
	if (o.stats != NULL) {
		fprintf(o.stats, "{\"final\": true, \"total_ms\": %.1f, "
		    "\"first_pass_bytes\": %" PRIu64 ", \"bytes\": %" PRIu64
		    ", \"rounds\": %u, \"pages_sent\": %" PRIu64
		    ", \"dirty_left\": %" PRIu64 ", \"predicted_downtime_ms\": %"
		    PRIu64 ", \"throttle_pct\": %u, \"why\": \"%s\"}\n",
		    (now_ns() - t0) / 1e6, copied, save_stats(s)->bytes,
		    res.rounds, res.pages_sent, res.dirty_left,
		    res.predicted_ms == UINT64_MAX ? 0 : res.predicted_ms,
		    res.throttle_pct, res.why);
		fclose(o.stats);
	}
	save_close(s);
	sr_free(sr);
	be->close(d);
	return 0;
err:
	code = xp_exit_code();
	warnmsg("%s: %s", be->name, xp_errmsg());
	if (d != NULL) {
		be->logdirty(d, LOGDIRTY_DISABLE, NULL);
		be->throttle(d, 100);
	}
	if (o.stats != NULL)
		fclose(o.stats);
	save_close(s);
	sr_free(sr);
	if (d != NULL)
		be->close(d);
	return code;
}
