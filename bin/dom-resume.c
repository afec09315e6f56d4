/*
 * dom-resume - build a domain from the stream on stdin and start it once
 * END has arrived, or with --handshake once the sender gave the go; or,
 * with --in-place, resume a domain that dom-suspend left suspended (the
 * undo of a pipeline that failed downstream).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "handover.h"
#include "progress.h"
#include "restore.h"

#define USAGE "dom-resume [-v] [-n NAME] [--policy FILE] [--config FILE]\n" \
	"                  [--dry-run | --handshake [--timeout SECONDS]]\n" \
	"       dom-resume --in-place [--force] DOM"
#define CONFIG_FILE_MAX	(1 << 20)	/* the stream's own limit */

/* The destination's own config: a file of libxl JSON, NUL-terminated. */
static char *
read_config(const char *path)
{
	char *buf;
	size_t len;

	if (io_read_file(path, CONFIG_FILE_MAX, &buf, &len) < 0 &&
	    errno != EFBIG)
		die(errno == ENOMEM || errno == EIO ? EX_SYS : EX_USAGE,
		    "--config %s: %s", path, strerror(errno));
	if (buf == NULL || memchr(buf, '\0', len) != NULL)
		die(EX_USAGE, "--config %s: not a config (over 1 MiB, or "
		    "binary)", path);
	return buf;
}

/* What --dry-run found: what would be built, one line a thing. */
static void
print_plan(const struct plan *p)
{
	unsigned int i;

	printf("name %s\n", p->name);
	printf("type %s\n", p->type[0] ? p->type : "unknown");
	printf("uuid %s\n", p->uuid[0] ? p->uuid : "new");
	printf("memory %" PRIu64 " KiB\n", p->mem_kb);
	printf("vcpus %u\n", p->vcpus);
	for (i = 0; i < p->n_disks; i++)
		printf("disk %s %s script %s %s\n", p->disk[i].vdev,
		    p->disk[i].target, p->disk[i].script,
		    p->disk[i].rw ? "rw" : "ro");
	for (i = 0; i < p->n_nics; i++)
		printf("vif %d bridge %s script %s%s%s\n", p->nic[i].devid,
		    p->nic[i].bridge, p->nic[i].script,
		    p->nic[i].ip[0] ? " ip " : "", p->nic[i].ip);
	printf("stream at most %" PRIu64 " MiB\n", p->stream_max >> 20);
	printf("accepted\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "handshake", no_argument, NULL, 'H' },
		{ "in-place", no_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct backend *be;
	struct dom_info info;
	struct restore_stats st;
	struct restore_handshake hs = { STDOUT_FILENO, 60000, 0 };
	struct restore_opts o;
	struct policy pol;
	char *config = NULL;
	const char *name = NULL, *policy_file = NULL, *config_file = NULL;
	int iflag = 0, fflag = 0, hflag = 0, tflag = 0, vflag = 0, ch, rc;
	uint64_t t0;

	memset(&o, 0, sizeof(o));
	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "n:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_file = optarg;
			break;
		case 'D':
			o.dry_run = 1;
			break;
		case 'f':
			fflag = 1;
			break;
		case 'p':
			policy_file = optarg;
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
	if (iflag && (argc != 1 || name != NULL || hflag || tflag ||
	    o.dry_run || policy_file || config_file))
		usage_exit(USAGE);
	if (!iflag && (argc != 0 || fflag || (tflag && !hflag) ||
	    (o.dry_run && hflag)))
		usage_exit(USAGE);
	/* a dry run needs no hypervisor: without one, no domains to know */
	if ((be = backend_get()) == NULL && !o.dry_run)
		die_xp(NULL);
	if (iflag) {
		if (handover_resume_in_place(be, argv[0], fflag, &info) < 0)
			die_xp(be->name);
		printf("%s %" PRIu32 "\n", info.name, info.domid);
		return 0;
	}
	policy_defaults(&pol);
	if (policy_file == NULL && access(POLICY_FILE, F_OK) == 0)
		policy_file = POLICY_FILE;
	if (policy_file != NULL && policy_load(&pol, policy_file) < 0)
		die_xp(NULL);
	o.policy = &pol;
	if (config_file != NULL)
		o.config = config = read_config(config_file);
	no_tty_stream(STDIN_FILENO, "pipe or redirect one to stdin");
	cli_catch_signals();
	/*
	 * Pages are spliced into libxenguest's socket, and splice has no
	 * MSG_NOSIGNAL: a restore that ended must be an EPIPE, not a signal.
	 * So must a handshake line to a sender that is gone.
	 */
	signal(SIGPIPE, SIG_IGN);
	t0 = now_ns();
	rc = restore_stream(be, STDIN_FILENO, name, hflag ? &hs : NULL, &o,
	    &info, &st);
	if (o.blind[0] != '\0')
		warnmsg("%s: no domains could be listed here (%s): names, "
		    "UUIDs and disks held by domains were not checked",
		    be ? be->name : "no backend", o.blind);
	if (rc < 0)
		die_xp(be ? be->name : NULL);
	if (o.dry_run) {
		print_plan(&o.plan);
		free(config);
		return 0;
	}
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
	free(config);
	return 0;
}
