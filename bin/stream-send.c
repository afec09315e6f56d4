/*
 * stream-send - a stream on stdin to a TCP connection (or stdout), as LZ4
 * frames compressed on every core, or plain; rate-capped.  Over TCP it
 * speaks TLS 1.3 with a pre-shared key or certificates (or, when told
 * --insecure, nothing), and exits 0 only once stream-recv confirmed the
 * whole stream.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "lz4pipe.h"
#include "net.h"
#include "progress.h"
#include "tls.h"

#define USAGE "stream-send [-v] [--no-compress] [--level N] [--threads N] " \
    "[--rate RATE]\n                   [--timeout SECONDS] [--stats FILE] " \
    "[--psk FILE | --cert FILE --key FILE --ca FILE\n                   " \
    "[--peer-name NAME] | --insecure] [--no-ktls] [HOST:PORT]"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "no-compress", no_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "stats", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "peer-name", required_argument, NULL, OPT_PEER_NAME },
		CLI_TLS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct lzp_opts o = { .compress = 1, .level = 1 };
	struct lzp_stats st;
	struct tls_opts topts = { 0 };
	struct tls *tls = NULL;
	char host[NET_HOST_MAX], port[NET_PORT_MAX];
	const char *stats_path = NULL;
	int ch, out = STDOUT_FILENO, sock = -1, vflag = 0, lflag = 0, rc;
	int timeout_s = 60, insecure = 0, use_tls;

	cli_common(argc, argv, USAGE);
	o.threads = lzp_default_threads();
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			o.threads = arg_u64(optarg, 1, LZP_THREADS_MAX,
			    "--threads");
			break;
		case 'l':
			o.level = arg_u64(optarg, 1, 12, "--level");
			lflag = 1;
			break;
		case 'n':
			o.compress = 0;
			break;
		case 'r':
			if (parse_size(optarg, &o.rate) < 0 || o.rate < 1024)
				die(EX_USAGE, "--rate: '%s' is not a rate of at "
				    "least 1K (bytes per second, like 100M)",
				    optarg);
			break;
		case 's':
			stats_path = optarg;
			break;
		case 't':
			timeout_s = arg_u64(optarg, 1, 86400, "--timeout");
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			if (!cli_tls_opt(ch, optarg, &topts, &insecure))
				usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage_exit(USAGE);
	if (lflag && !o.compress)
		die(EX_USAGE, "--level and --no-compress conflict");
	if (argc == 1 && net_split(argv[0], 0, host, sizeof(host), port,
	    sizeof(port)) < 0)
		die(EX_USAGE, "%s", xp_errmsg());
	use_tls = cli_tls_check(&topts, insecure, argc == 1,
	    "sending the stream over TCP");
	if (topts.psk_path != NULL && strcmp(topts.psk_path, "-") == 0)
		die(EX_USAGE, "--psk -: standard input is the stream; give the "
		    "key as a file (or /dev/fd/N)");
	no_tty_stream(STDIN_FILENO, "pipe one in");
	if (argc == 0)
		no_tty_stream(STDOUT_FILENO, "redirect stdout or give HOST:PORT");
	signal(SIGPIPE, SIG_IGN);
	/* the credentials before the connection: a bad key file fails first */
	if (use_tls && (tls = tls_new(&topts, 0)) == NULL)
		die_xp(NULL);

	if (argc == 1) {
		if ((sock = net_connect(host, port, timeout_s * 1000)) < 0) {
			tls_end(tls, 0);
			die_xp(NULL);
		}
		out = sock;
		o.out_timeout_ms = timeout_s * 1000;
		if (vflag)
			warnmsg("connected to %s port %s", host, port);
		if (tls != NULL) {
			if (tls_start(tls, sock, host, timeout_s * 1000,
			    timeout_s * 1000) < 0) {
				tls_end(tls, 0);
				die(xp_exit_code(), "%s port %s: %s", host,
				    port, xp_errmsg());
			}
			out = tls_fd(tls);
			if (vflag)
				warnmsg("%s", tls_describe(tls));
		}
	}
	o.progress = progress_new("stream-send", 0);
	rc = lzp_send(STDIN_FILENO, out, &o, &st);
	if (rc == 0 && sock >= 0)
		rc = lzp_send_finish(out, timeout_s * 1000);
	progress_end(o.progress);
	if (tls != NULL) {
		st.tls = tls_describe(tls);
		if (tls_error(tls) < 0)
			rc = -1;	/* the session's reason, not its symptom */
	}
	if (stats_path != NULL && lzp_stats_write(stats_path, &st, o.threads,
	    rc < 0 ? xp_errmsg() : NULL) < 0)
		warnmsg("--stats: %s", xp_errmsg());
	if (tls_end(tls, rc == 0) < 0)
		rc = -1;
	if (rc < 0) {
		if (sock >= 0)
			die(xp_exit_code(), "%s port %s: %s", host, port,
			    xp_errmsg());
		die_xp(NULL);
	}
	if (vflag)
		warnmsg("%llu bytes sent as %llu (ratio %.2f) in %.2f s, "
		    "%.0f MB/s%s", (unsigned long long)st.plain,
		    (unsigned long long)st.wire,
		    st.plain ? (double)st.wire / st.plain : 1.0, st.ns / 1e9,
		    st.ns ? st.plain / (st.ns / 1e9) / 1e6 : 0.0,
		    sock >= 0 ? "; the receiver confirmed it" : "");
	if (sock >= 0)
		close(sock);
	return 0;
}
