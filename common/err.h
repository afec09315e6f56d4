/*
 * err.h - how common/ reports failure: a function returns -1 and leaves one
 * line in xp_err, with a class that bin/ turns into an exit status.
 * common/ never prints and never exits (test/library.bats checks); bin/
 * and ui/ print xp_errmsg() and exit.
 */
#ifndef XENPIPE_ERR_H
#define XENPIPE_ERR_H

#include <signal.h>

enum xp_errclass {
	XE_SYS = 1,		/* a system call or the hypervisor failed */
	XE_STREAM,		/* the input stream is malformed or hostile */
	XE_USAGE,		/* the request itself makes no sense */
	XE_STATE,		/* the domain is not in a state that allows it */
};

/* Set the message (printf-like); appends ": strerror(errno)" for XE_SYS when errno != 0. */
void xp_seterr(enum xp_errclass cls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context ("restore: ...") */
void xp_preerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *xp_errmsg(void);
/*
 * Control and non-ASCII bytes of s become '?': a message may quote the
 * stream, and a terminal must not take it for escape sequences.  Every
 * message is scrubbed on its way in (and ui/cli.c's on their way out).
 */
void xp_scrub(char *s);
enum xp_errclass xp_errclass(void);

/* The reason, kept across a clean-up that may leave a message of its own. */
struct xp_saved {
	enum xp_errclass cls;
	char msg[512];
};
void xp_save(struct xp_saved *sv);
void xp_restore(const struct xp_saved *sv);

/*
 * Set by a program's signal handler: an I/O loop that sees EINTR gives up
 * instead of retrying, so the caller can clean up (destroy a half-built
 * domain, resume a suspended one) before it exits.
 */
extern volatile sig_atomic_t xp_interrupted;

#endif
