/* handover.c - the ready / go / report handshake; see handover.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fault.h"
#include "handover.h"
#include "io.h"
#include "progress.h"

#define HO_MAGIC	"xenpipe-handshake 1 "

/* ---- lines ---- */

static int __attribute__((format(printf, 2, 3)))
say(int fd, const char *fmt, ...)
{
	char line[HO_LINE_MAX];
	size_t len, off;
	va_list ap;
	int k;

	memcpy(line, HO_MAGIC, sizeof(HO_MAGIC) - 1);
	len = sizeof(HO_MAGIC) - 1;
	va_start(ap, fmt);
	k = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(line) - len - 1) {
		errno = 0;
		xp_seterr(XE_USAGE, "handshake line too long");
		return -1;
	}
	len += k;
	line[len++] = '\n';
	/* shorter than PIPE_BUF: into a pipe it goes whole or not at all */
	if (io_write_all(fd, line, len, &off) < 0) {
		xp_seterr(XE_SYS, "writing the handshake");
		return off == 0 ? -1 : -2;
	}
	return 0;
}

/* "...", printable, at most 60 characters, for a message. */
static const char *
shown(const char *s)
{
	static char buf[64];
	size_t i;

	for (i = 0; s[i] != '\0' && i < 60; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/*
 * One line, its newline dropped, from fd before deadline (monotonic ns).
 * Bytes outside printable ASCII and lines of HO_LINE_MAX or more are not
 * a handshake.  -1 with xp_err naming what was awaited.
 */
static int
read_line(int fd, char *buf, uint64_t deadline, int ignore_intr,
    const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	uint64_t now;
	ssize_t n;
	char c;
	int rc;

	for (;;) {
		if (xp_interrupted && !ignore_intr) {
			errno = EINTR;
			xp_seterr(XE_SYS, "waiting for %s", what);
			return -1;
		}
		now = now_ns();
		if (now >= deadline) {
			errno = 0;
			xp_seterr(XE_SYS, "no %s in time (--timeout)", what);
			return -1;
		}
		rc = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			xp_seterr(XE_SYS, "waiting for %s", what);
			return -1;
		}
		if (rc == 0)
			continue;
		n = read(fd, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			xp_seterr(XE_SYS, "reading %s", what);
			return -1;
		}
		if (n == 0) {
			errno = 0;
			xp_seterr(XE_STREAM, "no %s: %s", what, len == 0 ?
			    "the other side closed the channel" :
			    "the channel closed inside a line");
			return -1;
		}
		if (c == '\n') {
			buf[len] = '\0';
			return 0;
		}
		buf[len++] = c;
		buf[len] = '\0';
		if (c < 0x20 || c >= 0x7f || len >= HO_LINE_MAX - 1) {
			errno = 0;
			xp_seterr(XE_STREAM, "no %s: \"%s\" is not a handshake "
			    "line", what, shown(buf));
			return -1;
		}
	}
}

/* The text after HO_MAGIC and word, or NULL. */
static const char *
after(const char *line, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(line, HO_MAGIC, sizeof(HO_MAGIC) - 1) != 0)
		return NULL;
	line += sizeof(HO_MAGIC) - 1;
	if (strncmp(line, word, n) != 0 || (line[n] != ' ' && line[n] != '\0'))
		return NULL;
	return line[n] == ' ' ? line + n + 1 : line + n;
}

static int
nonce_ok(const char *s)
{
	size_t i;

	for (i = 0; i < HO_NONCE_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[HO_NONCE_LEN] == '\0';
}

/* ---- receiver ---- */

int
ho_nonce(char *nonce)
{
	uint8_t r[HO_NONCE_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		xp_seterr(XE_SYS, "getrandom");
		return -1;
	}
	for (i = 0; i < sizeof(r); i++)
		snprintf(nonce + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int
ho_say_ready(int fd, const char *nonce)
{
	return say(fd, "ready %s", nonce) == 0 ? 0 : -1;
}

int
ho_wait_go(int fd, const char *nonce, int timeout_ms)
{
	char line[HO_LINE_MAX];
	const char *v;

	if (read_line(fd, line, now_ns() + (uint64_t)timeout_ms * 1000000, 0,
	    "go from the sender") < 0)
		return -1;
	errno = 0;
	if ((v = after(line, "go")) == NULL) {
		xp_seterr(XE_STREAM, "\"%s\" after END is not the go",
		    shown(line));
		return -1;
	}
	if (!nonce_ok(v) || strcmp(v, nonce) != 0) {
		xp_seterr(XE_STREAM, "the go names another receiver (a stream "
		    "replayed from a copy?)");
		return -1;
	}
	return 0;
}

int
ho_say_report(int fd, enum ho_report rep, const char *name, uint32_t domid,
    const char *why)
{
	char clean[HO_LINE_MAX - 64];
	size_t i;

	if (rep == HO_REP_RUNNING)
		return say(fd, "report running %s %" PRIu32, name, domid) == 0 ?
		    0 : -1;
	for (i = 0; why != NULL && why[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	clean[i] = '\0';
	return say(fd, "report %s %s", rep == HO_REP_DESTROYED ? "destroyed" :
	    "kept", clean) == 0 ? 0 : -1;
}

/* ---- sender ---- */

int
handover_check(const struct backend *be, const char *name)
{
	char away[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];
	struct dom *o;

	errno = 0;
	if (strlen(name) + strlen(DOM_AWAY_SUFFIX) >= DOM_NAME_MAX) {
		xp_seterr(XE_STATE, "%s: the name is too long to be marked "
		    "%s during the handover (at most %zu characters)", name,
		    DOM_AWAY_SUFFIX, DOM_NAME_MAX - 1 - strlen(DOM_AWAY_SUFFIX));
		return -1;
	}
	snprintf(away, sizeof(away), "%s%s", name, DOM_AWAY_SUFFIX);
	if (be->open(away, &o) == 0) {
		be->close(o);
		errno = 0;
		xp_seterr(XE_STATE, "%s exists already (an earlier handover "
		    "left it?): destroy or resume it first", away);
		return -1;
	}
	return 0;
}

/* stdout stays taken: a file opened later must not become it */
static void
close_stream(int fd)
{
	int nfd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (nfd < 0 || dup2(nfd, fd) < 0)
		close(fd);
	if (nfd >= 0 && nfd != fd)
		close(nfd);
}

/* "NAME DOMID": a valid name, a domid of 1 to 5 digits below 0x7ff0. */
static int
parse_running(const char *v, char *name, uint32_t *domid)
{
	const char *sp = strchr(v, ' '), *p;
	size_t len;

	if (sp == NULL || (len = sp - v) == 0 || len >= DOM_NAME_MAX)
		return -1;
	memcpy(name, v, len);
	name[len] = '\0';
	*domid = 0;
	for (p = sp + 1; *p >= '0' && *p <= '9' && p - sp <= 5; p++)
		*domid = *domid * 10 + (*p - '0');
	if (p == sp + 1 || *p != '\0' || *domid == 0 || *domid >= 0x7ff0 ||
	    !config_valid_name(name))
		return -1;
	return 0;
}

/* The receiver's report, once the go is given. */
static void
take_report(const struct backend *be, struct dom **d, const char *line,
    const char *orig, struct ho_result *res)
{
	char name[DOM_NAME_MAX];
	const char *v;
	uint32_t id;

	errno = 0;
	if ((v = after(line, "report running")) != NULL &&
	    parse_running(v, name, &id) == 0) {
		trace_point("report: %s runs on the receiver", name);
		snprintf(res->peer_name, sizeof(res->peer_name), "%s", name);
		res->peer_domid = id;
		res->outcome = HO_RUNNING;
		if (be->destroy(*d) < 0)
			res->outcome = HO_UNDESTROYED;
		else
			trace_point("source destroyed");
		*d = NULL;
		return;
	}
	if ((v = after(line, "report destroyed")) != NULL) {
		res->outcome = HO_REFUSED;
		if (be->rename(*d, orig) == 0)
			snprintf(res->name, sizeof(res->name), "%s", orig);
		errno = 0;
		xp_seterr(XE_STATE, "the receiver failed after the go and "
		    "destroyed its copy: %s", shown(v));
		return;
	}
	if ((v = after(line, "report kept")) != NULL)
		xp_seterr(XE_STATE, "the receiver failed after the go and could "
		    "not destroy its copy: %s", shown(v));
	else
		xp_seterr(XE_STREAM, "\"%s\" is not a report", shown(line));
}

void
handover_send(const struct backend *be, struct dom **d, int out_fd,
    int reply_fd, int timeout_ms, struct ho_result *res)
{
	uint64_t wait_ns = (uint64_t)timeout_ms * 1000000;
	char line[HO_LINE_MAX], away[sizeof(res->name)];
	char nonce[HO_NONCE_LEN + 1], orig[DOM_NAME_MAX];
	struct xp_saved why;
	struct dom_info info;
	const char *v;
	int rc;

	memset(res, 0, sizeof(*res));
	res->outcome = HO_NOT_GIVEN;
	res->local = 1;
	if (be->info(*d, &info) < 0)
		goto out;
	res->local = 0;
	snprintf(orig, sizeof(orig), "%s", info.name);
	snprintf(res->name, sizeof(res->name), "%s", info.name);
	res->domid = info.domid;
	if (read_line(reply_fd, line, now_ns() + wait_ns, 0,
	    "ready from the receiver") < 0)
		goto out;
	errno = 0;
	if ((v = after(line, "ready")) == NULL || !nonce_ok(v)) {
		xp_seterr(XE_STREAM, "\"%s\" from the receiver is not ready",
		    shown(line));
		goto out;
	}
	memcpy(nonce, v, sizeof(nonce));
	trace_point("receiver ready");
	fault_kill("sender-kill-before-go");
	res->local = 1;
	if (xp_interrupted) {
		errno = EINTR;
		xp_seterr(XE_SYS, "interrupted before the go");
		goto out;
	}
	snprintf(away, sizeof(away), "%s%s", orig, DOM_AWAY_SUFFIX);
	if (be->rename(*d, away) < 0)
		goto out;
	/* the point of no return: once any of the go is out, only a report decides */
	rc = say(out_fd, "go %s", nonce);
	if (rc == -1) {
		xp_preerr("the go was not sent");
		res->local = 0;
		xp_save(&why);
		if (be->rename(*d, orig) < 0)
			snprintf(res->name, sizeof(res->name), "%s", away);
		xp_restore(&why);
		goto out;
	}
	snprintf(res->name, sizeof(res->name), "%s", away);
	res->outcome = HO_UNKNOWN;
	if (rc < 0)
		goto out;
	trace_point("go given");
	close_stream(out_fd);
	fault_kill("sender-kill-after-go");
	if (read_line(reply_fd, line, now_ns() + wait_ns, 1,
	    "report from the receiver") < 0)
		return;
	take_report(be, d, line, orig, res);
	return;
out:
	close_stream(out_fd);
}

/* ---- undo ---- */

int
handover_resume_in_place(const struct backend *be, const char *dom,
    int force, struct dom_info *info)
{
	size_t len, sl = strlen(DOM_AWAY_SUFFIX);
	char base[DOM_NAME_MAX];
	struct dom_info oi;
	struct dom *d, *o;

	if (be->open(dom, &d) < 0)
		return -1;
	if (be->info(d, info) < 0)
		goto err;
	errno = 0;
	if (info->state != DOM_SUSPENDED) {
		xp_seterr(XE_STATE, "%s is %s, not suspended", info->name,
		    dom_state_name(info->state));
		goto err;
	}
	len = strlen(info->name);
	if (len > sl && strcmp(info->name + len - sl, DOM_AWAY_SUFFIX) == 0) {
		snprintf(base, sizeof(base), "%.*s", (int)(len - sl), info->name);
		if (!force) {
			xp_seterr(XE_STATE, "%s was handed over: a receiver was "
			    "given the go and may run %s (or took its name on "
			    "this host); make sure no copy runs, then resume it "
			    "with --force, or destroy it", info->name, base);
			goto err;
		}
		if (be->open(base, &o) == 0) {
			if (be->info(o, &oi) < 0)
				oi.state = DOM_RUNNING;
			be->close(o);
			errno = 0;
			if (oi.state == DOM_RUNNING || oi.state == DOM_PAUSED)
				xp_seterr(XE_STATE, "%s runs on this host: %s is "
				    "the copy it came from; destroy that, do not "
				    "resume it", base, info->name);
			else
				xp_seterr(XE_STATE, "%s exists on this host too "
				    "(%s): destroy one of the two by hand first",
				    base, dom_state_name(oi.state));
			goto err;
		}
		if (be->rename(d, base) < 0)
			goto err;
	}
	if (be->resume(d) < 0 || be->info(d, info) < 0)
		goto err;
	be->close(d);
	return 0;
err:
	be->close(d);
	return -1;
}
