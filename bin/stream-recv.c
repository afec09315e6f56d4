/*
 * stream-recv - the other end of stream-send: one connection (or stdin)
 * to stdout, LZ4 frames verified before a byte of them is written.  The
 * listener is a security boundary: it takes a peer that proves it holds the
 * key (TLS 1.3, PSK or X.509) and refuses to start without one unless told
 * --insecure; loopback unless told otherwise, one peer from the --allow
 * ranges, timeouts, a minimum rate, bounded memory, and it only ever
 * copies bytes.
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

#define USAGE "stream-recv [-v] [--listen [ADDR:]PORT] [--allow ADDR[/BITS]] " \
    "[--threads N]\n                   [--timeout SECONDS] [--min-rate RATE] " \
    "[--deadline SECONDS]\n                   [--stats FILE] " \
    "[--psk FILE | --cert FILE --key FILE --ca FILE | --insecure]\n" \
    "                   [--no-ktls]"

#define ALLOW_MAX	64
#define LISTEN_TIMEOUT	60		/* s: --listen's default --timeout */
/*
 * --listen's default --min-rate, in bytes per second over every --timeout
 * of waiting for the peer: 16 KiB/s is a 128 kbit/s link, slower than any
 * a migration is sent over, while a peer that trickles (a byte each time
 * the timeout nearly ran out) is cut off after one --timeout.
 */
#define LISTEN_MIN_RATE	(16u << 10)
#define DEADLINE_MAX	(7 * 86400)	/* s: a week */

static void
refused(const char *peer, void *arg)
{
	(void)arg;
	warnmsg("refused a connection from %s: not in --allow", peer);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow", required_argument, NULL, 'a' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'L' },
		{ "min-rate", required_argument, NULL, 'm' },
		{ "stats", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		CLI_TLS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct lzp_opts o = { .compress = 1 };
	struct lzp_stats st;
	struct tls_opts topts = { 0 };
	struct tls *tls = NULL;
	struct cidr allow[ALLOW_MAX];
	size_t nallow = 0;
	char host[NET_HOST_MAX], port[NET_PORT_MAX], bound[NET_PEER_MAX];
	char peer[NET_PEER_MAX];
	const char *listen_arg = NULL, *stats_path = NULL;
	int ch, in = STDIN_FILENO, lfd, sock = -1, loopback, vflag = 0, rc;
	int timeout_s = 0, rateflag = 0, insecure = 0, use_tls;

	cli_common(argc, argv, USAGE);
	o.threads = lzp_default_threads();
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (nallow == ALLOW_MAX)
				die(EX_USAGE, "--allow: at most %d ranges",
				    ALLOW_MAX);
			if (net_parse_cidr(optarg, &allow[nallow]) < 0)
				die(EX_USAGE, "--allow: %s", xp_errmsg());
			nallow++;
			break;
		case 'd':
			o.deadline_ms = arg_u64(optarg, 1, DEADLINE_MAX,
			    "--deadline") * 1000;
			break;
		case 'j':
			o.threads = arg_u64(optarg, 1, LZP_THREADS_MAX,
			    "--threads");
			break;
		case 'L':
			listen_arg = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &o.min_rate) < 0)
				die(EX_USAGE, "--min-rate: '%s' is not a rate "
				    "(bytes per second, like 16K; 0 for none)",
				    optarg);
			rateflag = 1;
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
	if (argc != 0)
		usage_exit(USAGE);
	if (nallow > 0 && listen_arg == NULL)
		die(EX_USAGE, "--allow needs --listen");
	if (listen_arg != NULL && net_split(listen_arg, 1, host, sizeof(host),
	    port, sizeof(port)) < 0)
		die(EX_USAGE, "--listen: %s", xp_errmsg());
	use_tls = cli_tls_check(&topts, insecure, listen_arg != NULL,
	    "listening");
	if (listen_arg == NULL)
		no_tty_stream(STDIN_FILENO, "give --listen PORT or a pipe");
	no_tty_stream(STDOUT_FILENO, "redirect stdout to a file or a pipe");
	signal(SIGPIPE, SIG_IGN);
	/* the credentials before the port opens: a bad key file fails first */
	if (use_tls && (tls = tls_new(&topts, 1)) == NULL)
		die_xp(NULL);

	if (listen_arg != NULL) {
		if (timeout_s == 0)
			timeout_s = LISTEN_TIMEOUT;
		if (!rateflag)
			o.min_rate = LISTEN_MIN_RATE;
		if ((lfd = net_listen(host, port, &loopback, bound,
		    sizeof(bound))) < 0) {
			tls_end(tls, 0);
			die_xp(NULL);
		}
		if (nallow == 0 && !loopback) {
			tls_end(tls, 0);
			die(EX_USAGE, "listening on %s takes --allow with the "
			    "sender's address (--allow 0.0.0.0/0 accepts any "
			    "IPv4 peer)", bound);
		}
		if (nallow == 0)
			nallow = net_loopback_ranges(allow, ALLOW_MAX);
		if (vflag || strcmp(port, "0") == 0)
			warnmsg("listening on %s", bound);
		sock = net_accept(lfd, timeout_s * 1000, allow, nallow,
		    refused, NULL, peer, sizeof(peer));
		close(lfd);	/* one connection, then nobody else */
		if (sock < 0) {
			tls_end(tls, 0);
			die_xp(NULL);
		}
		if (vflag)
			warnmsg("connection from %s", peer);
		in = sock;
		if (tls != NULL) {
			if (tls_start(tls, sock, NULL, timeout_s * 1000,
			    timeout_s * 1000) < 0) {
				tls_end(tls, 0);
				die(xp_exit_code(), "from %s: %s", peer,
				    xp_errmsg());
			}
			in = tls_fd(tls);
			if (vflag)
				warnmsg("%s", tls_describe(tls));
		}
	}
	o.in_timeout_ms = timeout_s * 1000;
	/* the rate is judged over every --timeout (stdin without one: 60 s) */
	o.rate_window_ms = (timeout_s ? timeout_s : LISTEN_TIMEOUT) * 1000;
	o.progress = progress_new("stream-recv", 0);
	rc = lzp_recv(in, STDOUT_FILENO, &o, &st);
	/* an end without close_notify is a cut: never confirmed */
	if (tls != NULL && tls_error(tls) < 0)
		rc = -1;
	if (rc == 0 && sock >= 0)
		rc = lzp_recv_confirm(in, timeout_s * 1000);
	progress_end(o.progress);
	if (tls != NULL)
		st.tls = tls_describe(tls);
	if (stats_path != NULL && lzp_stats_write(stats_path, &st, o.threads,
	    rc < 0 ? xp_errmsg() : NULL) < 0)
		warnmsg("--stats: %s", xp_errmsg());
	if (tls_end(tls, rc == 0) < 0)
		rc = -1;
	if (rc < 0) {
		if (sock >= 0)
			die(xp_exit_code(), "from %s: %s", peer, xp_errmsg());
		die_xp(NULL);
	}
	if (vflag)
		warnmsg("%llu bytes received as %llu (%s, ratio %.2f) in "
		    "%.2f s, %.0f MB/s", (unsigned long long)st.plain,
		    (unsigned long long)st.wire, st.compressed ? "lz4" :
		    "plain", st.plain ? (double)st.wire / st.plain : 1.0,
		    st.ns / 1e9, st.ns ? st.plain / (st.ns / 1e9) / 1e6 : 0.0);
	if (sock >= 0)
		close(sock);
	return 0;
}
