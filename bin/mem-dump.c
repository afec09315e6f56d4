/*
 * mem-dump - the first pass of a migration: headers, static records and
 * every page of a running domain, without END.  -l turns log-dirty on
 * before the first page is read and leaves it on for dirty-track and
 * dom-suspend downstream.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "err.h"
#include "save.h"
#include "srcguard.h"
#include "stream.h"

#define USAGE "mem-dump [-l] [-f libxc|libxl|xl] DOM"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "log-dirty", no_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct backend *be;
	struct dom *d = NULL;
	struct save *s = NULL;
	struct srcguard g = { .held = 0 };
	enum stream_fmt fmt = FMT_XL;
	int lflag = 0, ch, code;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "f:l", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (fmt_parse(optarg, &fmt) < 0)
				die(EX_USAGE, "%s", xp_errmsg());
			break;
		case 'l':
			lflag = 1;
			break;
		default:
			usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage_exit(USAGE);
	no_tty_stream(STDOUT_FILENO, "redirect stdout to a file or a pipe");
	if ((be = backend_get()) == NULL)
		die_xp(NULL);
	cli_catch_signals();
	if (be->open(argv[0], &d) < 0)
		die_xp(be->name);
	sg_init(&g, be, argv[0]);
	sg_bind(&g, d, NULL);
	if ((s = save_open(be, d, STDOUT_FILENO, fmt)) == NULL)
		goto err;
	if (lflag && sg_logdirty_on(&g) < 0)
		goto err;
	if (save_begin(s) < 0 || save_all_pages(s, lflag) < 0 ||
	    save_stage_mark(s) < 0)
		goto err;
	/* log-dirty stays on for dirty-track and dom-suspend */
	sg_keep(&g);
	save_close(s);
	be->close(d);
	return 0;
err:
	code = xp_exit_code();
	warnmsg("%s: %s", be->name, xp_errmsg());
	sg_undo(&g, warnline);
	save_close(s);
	be->close(d);
	return code;
}
