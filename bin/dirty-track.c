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
#include "srcguard.h"
#include "stream.h"

#define USAGE "dirty-track [--throttle] [--policy downtime|xen] " \
    "[--downtime MS] [--max-rounds N]\n                   " \
    "[--max-time SECONDS] [--bandwidth RATE] [--stats FILE] DOM"

struct rounds {
	const char *name;
	FILE *stats;			/* --stats: JSON lines, or NULL */
	int tty;			/* one updating line, else a line each */
	int drawn;
};

static void
on_round(const struct precopy_round *r, void *arg)
{
	struct rounds *rs = arg;
	uint64_t predicted = r->predicted_ms == UINT64_MAX ? 0 :
	    r->predicted_ms;

	fprintf(stderr, "%s%s: round %u: sent %" PRIu64 " pages, %" PRIu64
	    " dirty, dirtying %.0f pages/s, sending %.1f MB/s, predicted "
	    "downtime %" PRIu64 " ms%s%s", rs->tty ? "\r" : "", rs->name,
	    r->round, r->sent, r->dirty, r->dirty_rate, r->xfer_rate / 1e6,
	    predicted, r->cap < 100 ? ", throttled" : "",
	    rs->tty ? "\033[K" : "\n");
	rs->drawn = 1;
	if (rs->stats == NULL)
		return;
	fprintf(rs->stats, "{\"round\": %u, \"pages_sent\": %" PRIu64
	    ", \"bytes\": %" PRIu64 ", \"send_ms\": %.3f, \"dirty_pages\": %"
	    PRIu64 ", \"dirty_rate\": %.0f, \"transfer_rate\": %.0f, "
	    "\"predicted_downtime_ms\": %" PRIu64 ", \"throttle_pct\": %u}\n",
	    r->round, r->sent, r->bytes, r->send_ns / 1e6, r->dirty,
	    r->dirty_rate, r->xfer_rate, predicted, r->cap);
	fflush(rs->stats);
}

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
	struct rounds rs = { .tty = 0 };
	const struct backend *be;
	struct stream_hdrs h;
	struct dom *d = NULL;
	struct save *s = NULL;
	struct srcguard g = { .held = 0 };
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
	if (stats_path != NULL && (rs.stats = fopen(stats_path, "w")) == NULL)
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
	/* mem-dump -l left log-dirty on; the rounds may throttle */
	sg_init(&g, be, argv[0]);
	sg_bind(&g, d, NULL);
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	if ((s = save_open(be, d, STDOUT_FILENO, h.fmt)) == NULL ||
	    save_copy_input(s, sr, &h) < 0)
		goto err;
	copied = save_stats(s)->bytes;
	o.first_pass_bytes = copied;
	o.first_pass_ns = now_ns() - t0;
	rs.name = save_info(s)->name;
	rs.tty = isatty(STDERR_FILENO);
	o.on_round = on_round;
	o.arg = &rs;
	rc = precopy_run(be, d, s, &o, &res);
	if (rs.tty && rs.drawn)
		fputs("\r\033[K", stderr);
	if (rc < 0 || save_stage_mark(s) < 0)
		goto err;
	warnmsg("%s: %u rounds, %" PRIu64 " pages, %" PRIu64 " bytes after "
	    "the first pass; %" PRIu64 " dirty left, predicted downtime %"
	    PRIu64 " ms (%s)%s", save_info(s)->name, res.rounds,
	    res.pages_sent, res.bytes_sent, res.dirty_left,
	    res.predicted_ms == UINT64_MAX ? 0 : res.predicted_ms, res.why,
	    res.throttle_pct < 100 ? ", throttled" : "");
	if (rs.stats != NULL) {
		fprintf(rs.stats, "{\"final\": true, \"total_ms\": %.1f, "
		    "\"first_pass_bytes\": %" PRIu64 ", \"bytes\": %" PRIu64
		    ", \"rounds\": %u, \"pages_sent\": %" PRIu64
		    ", \"dirty_left\": %" PRIu64 ", \"predicted_downtime_ms\": %"
		    PRIu64 ", \"throttle_pct\": %u, \"why\": \"%s\"}\n",
		    (now_ns() - t0) / 1e6, copied, save_stats(s)->bytes,
		    res.rounds, res.pages_sent, res.dirty_left,
		    res.predicted_ms == UINT64_MAX ? 0 : res.predicted_ms,
		    res.throttle_pct, res.why);
		fclose(rs.stats);
	}
	/* both stay on until dom-suspend has the guest suspended */
	sg_keep(&g);
	save_close(s);
	sr_free(sr);
	be->close(d);
	return 0;
err:
	code = xp_exit_code();
	warnmsg("%s: %s", be->name, xp_errmsg());
	sg_undo(&g, warnline);
	if (rs.stats != NULL)
		fclose(rs.stats);
	save_close(s);
	sr_free(sr);
	if (d != NULL)
		be->close(d);
	return code;
}
