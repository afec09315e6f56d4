/*
 * cli.h - what every program in bin/ shares: the exit statuses, dying with
 * one clear line, number and size parsing, --help/--version handling, and
 * the terminal's progress line (tty.c).  ui/ is where xenpipe prints and
 * exits: the library in common/ does neither (test/library.bats checks),
 * and only bin/ calls this.
 *
 * Exit statuses (each man page lists them under EXIT STATUS):
 *   0 success, 1 a negative answer (corrupt guest, stream fails --verify,
 *   a receiver that refused the guest after the go), 2 malformed or hostile
 *   stream, 3 the domain's state forbids it, 4 a handover's outcome is
 *   unknown (the go was given, no report came back), 5 handed over, but
 *   the source could not be destroyed, 100 usage, 111 system call or
 *   hypervisor failure.
 */
#ifndef XENPIPE_CLI_H
#define XENPIPE_CLI_H

#include <stdint.h>

struct tls_opts;

#define EX_NO		1
#define EX_STREAM	2
#define EX_STATE	3
#define EX_UNKNOWN	4
#define EX_UNDESTROYED	5
#define EX_USAGE	100
#define EX_SYS		111

/* "prog: msg" on stderr, then exit(code). */
void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* die() with xp_errmsg(), prefixed by the backend name when there is one; exit code from its class. */
void die_xp(const char *backend) __attribute__((noreturn));
void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warnmsg of one line the library made (a callback for its reports). */
void warnline(const char *line);
int xp_exit_code(void);

/*
 * One line on stderr, "prog: bad usage; usage: USAGE" (its lines joined),
 * then exit(EX_USAGE); --help gives the synopsis as the man page has it.
 */
void usage_exit(const char *usage) __attribute__((noreturn));
/* The line alone, for a program that cleans up before it exits. */
void usage_say(const char *usage);
/* parse_u64(), or die "what: reason" with EX_USAGE: for option arguments. */
uint64_t arg_u64(const char *s, uint64_t min, uint64_t max, const char *what);
/*
 * Die with EX_USAGE if fd (0: reading, 1: writing) is a terminal: a binary
 * stream has no business there.  hint ends the message.
 */
void no_tty_stream(int fd, const char *hint);

/* Parse an unsigned decimal in [min, max]; -1 with xp_err on junk or range. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "64M", "1G", "4096", "512K" (powers of 1024); bytes. */
int parse_size(const char *s, uint64_t *bytes);

/*
 * Handle --help and --version for a program whose usage text is usage
 * (the SYNOPSIS of its man page); call before getopt.  Exits on a match.
 * Installs the progress sink (tty_install).
 */
void cli_common(int argc, char **argv, const char *usage);
/* The library's progress and trace points on stderr (progress.h). */
void tty_install(void);

/*
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE set xp_interrupted and interrupt the
 * system call in progress, so the program cleans up before it exits.
 */
void cli_catch_signals(void);

/*
 * The transport pair's credentials, the same on both sides: put
 * CLI_TLS_LONGOPTS in the getopt_long table, and hand each option to
 * cli_tls_opt, which returns 1 when it took it.
 */
enum { OPT_PSK = 0x100, OPT_CERT, OPT_KEY, OPT_CA, OPT_PEER_NAME,
    OPT_INSECURE, OPT_NO_KTLS };
#define CLI_TLS_LONGOPTS \
	{ "psk", required_argument, NULL, OPT_PSK }, \
	{ "cert", required_argument, NULL, OPT_CERT }, \
	{ "key", required_argument, NULL, OPT_KEY }, \
	{ "ca", required_argument, NULL, OPT_CA }, \
	{ "insecure", no_argument, NULL, OPT_INSECURE }, \
	{ "no-ktls", no_argument, NULL, OPT_NO_KTLS }
int cli_tls_opt(int ch, const char *arg, struct tls_opts *o, int *insecure);
/*
 * After parsing: die with EX_USAGE unless a TCP side (tcp) has credentials
 * or --insecure (what says what it does in clear), or when they are given
 * with no TCP side.  1 when TLS is to be used.
 */
int cli_tls_check(const struct tls_opts *o, int insecure, int tcp,
    const char *what);

#endif
