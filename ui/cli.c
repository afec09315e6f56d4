/* cli.c - shared option and exit handling of bin/; see cli.h. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tls.h"
#include "err.h"
#include "version.h"

extern const char *__progname;

/* "prog: msg\n", scrubbed (err.h), in one write */
static void
say(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	xp_scrub(msg);
	fprintf(stderr, "%s: %s\n", __progname, msg);
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	exit(code);
}

void
warnmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

void
warnline(const char *line)
{
	warnmsg("%s", line);
}

int
xp_exit_code(void)
{
	switch (xp_errclass()) {
	case XE_STREAM:
		return EX_STREAM;
	case XE_USAGE:
		return EX_USAGE;
	case XE_STATE:
		return EX_STATE;
	case XE_SYS:
	default:
		return EX_SYS;
	}
}

void
die_xp(const char *backend)
{
	if (backend != NULL)
		die(xp_exit_code(), "%s: %s", backend, xp_errmsg());
	die(xp_exit_code(), "%s", xp_errmsg());
}

void
usage_exit(const char *usage)
{
	usage_say(usage);
	exit(EX_USAGE);
}

void
usage_say(const char *usage)
{
	char line[1024];
	size_t n = 0;

	/* the synopsis's lines as one: runs of white space become a space */
	for (; *usage != '\0' && n + 1 < sizeof(line); usage++) {
		if (*usage == '\n' || *usage == ' ') {
			if (n > 0 && line[n - 1] != ' ')
				line[n++] = ' ';
			continue;
		}
		line[n++] = *usage;
	}
	line[n] = '\0';
	fprintf(stderr, "%s: bad usage; usage: %s\n", __progname, line);
}

uint64_t
arg_u64(const char *s, uint64_t min, uint64_t max, const char *what)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) < 0)
		die(EX_USAGE, "%s: %s", what, xp_errmsg());
	return v;
}

void
no_tty_stream(int fd, const char *hint)
{
	if (!isatty(fd))
		return;
	die(EX_USAGE, "refusing to %s a stream %s a terminal; %s",
	    fd == STDIN_FILENO ? "read" : "write",
	    fd == STDIN_FILENO ? "from" : "to", hint);
}

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9') {
		xp_seterr(XE_USAGE, "'%s' is not a number", s ? s : "");
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		xp_seterr(XE_USAGE, "'%s' is not a number", s);
		return -1;
	}
	if (v < min || v > max) {
		xp_seterr(XE_USAGE, "%s is out of range %" PRIu64 "..%" PRIu64,
		    s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		goto bad;
	}
	if (*end != '\0' && end[1] != '\0' &&
	    !((end[1] == 'i' || end[1] == 'B') && end[2] == '\0') &&
	    !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))
		goto bad;
	if (shift && v > (UINT64_MAX >> shift))
		goto bad;
	*bytes = (uint64_t)v << shift;
	return 0;
bad:
	xp_seterr(XE_USAGE, "'%s' is not a size (like 64M or 1G)", s ? s : "");
	return -1;
}

void
cli_common(int argc, char **argv, const char *usage)
{
	int i;

	tty_install();
	opterr = 0;	/* a mistake is one line: usage_exit's */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s\n", usage);
			printf("See %s(1).\n", __progname);
			exit(0);
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s (xenpipe) %s\n", __progname, XENPIPE_VERSION);
			exit(0);
		}
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	xp_interrupted = 1;
}

void
cli_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: I/O returns EINTR */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int
cli_tls_opt(int ch, const char *arg, struct tls_opts *o, int *insecure)
{
	switch (ch) {
	case OPT_PSK:
		o->psk_path = arg;
		return 1;
	case OPT_CERT:
		o->cert_path = arg;
		return 1;
	case OPT_KEY:
		o->key_path = arg;
		return 1;
	case OPT_CA:
		o->ca_path = arg;
		return 1;
	case OPT_PEER_NAME:
		o->peer_name = arg;
		return 1;
	case OPT_INSECURE:
		*insecure = 1;
		return 1;
	case OPT_NO_KTLS:
		o->no_ktls = 1;
		return 1;
	}
	return 0;
}

int
cli_tls_check(const struct tls_opts *o, int insecure, int tcp,
    const char *what)
{
	int creds = o->psk_path || o->cert_path || o->key_path || o->ca_path;

	if (creds && insecure)
		die(EX_USAGE, "--insecure and credentials conflict: with --psk "
		    "or --cert the stream is authenticated and encrypted");
	if (!tcp && (creds || insecure || o->peer_name || o->no_ktls))
		die(EX_USAGE, "--psk, --cert, --key, --ca, --peer-name, "
		    "--no-ktls and --insecure go with a TCP connection");
	if (tcp && !creds && !insecure)
		die(EX_USAGE, "%s without authentication: give --psk FILE (or "
		    "--cert, --key and --ca), or --insecure to accept that "
		    "anyone on the network can read or feed the stream", what);
	if (insecure && (o->peer_name || o->no_ktls))
		die(EX_USAGE, "--peer-name and --no-ktls go with TLS, not "
		    "--insecure");
	return tcp && creds;
}
