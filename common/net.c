/* net.c - addresses, ranges, connect and listen with timeouts; see net.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "progress.h"

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		xp_seterr(XE_SYS, "fcntl");
		return -1;
	}
	return 0;
}

static int
port_ok(const char *p, int zero_ok)
{
	unsigned long v;
	char *end;

	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	return errno == 0 && *end == '\0' && v <= 65535 && (v > 0 || zero_ok);
}

int
net_split(const char *s, int port_only, char *host, size_t hostlen,
    char *port, size_t portlen)
{
	const char *colon, *h = s;
	size_t hl;

	if (port_only && strchr(s, ':') == NULL) {
		colon = NULL;
		hl = 0;
	} else if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = s + 1;
		hl = rb - h;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', colon - s) != NULL)
			goto bad;	/* no port, or a bare IPv6 address */
		hl = colon - s;
	}
	if ((colon == NULL ? 0 : hl == 0 && !port_only) || hl >= hostlen)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	s = colon == NULL ? s : colon + 1;
	if (!port_ok(s, port_only) || strlen(s) >= portlen)
		goto bad;
	strcpy(port, s);
	return 0;
bad:
	xp_seterr(XE_USAGE, "'%s' is not %s", s, port_only ?
	    "[ADDR:]PORT" : "HOST:PORT (or [IPV6]:PORT)");
	return -1;
}

int
net_parse_cidr(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long pfx;
	unsigned int max;
	char *end;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	c->prefix = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			goto bad;
		errno = 0;
		pfx = strtoul(slash, &end, 10);
		if (errno != 0 || *end != '\0' || pfx > max)
			goto bad;
		c->prefix = pfx;
	}
	return 0;
bad:
	xp_seterr(XE_USAGE, "'%s' is not an address or a range like "
	    "192.0.2.0/24", s);
	return -1;
}

static int
prefix_match(const uint8_t *a, const uint8_t *net, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
net_allowed(const struct sockaddr *sa, const struct cidr *allow, size_t n)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t a[16];
	int fam;
	size_t i;

	if (sa->sa_family == AF_INET) {
		fam = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *p = ((const struct sockaddr_in6 *)sa)->
		    sin6_addr.s6_addr;

		if (memcmp(p, v4mapped, 12) == 0) {
			fam = AF_INET;
			memcpy(a, p + 12, 4);
		} else {
			fam = AF_INET6;
			memcpy(a, p, 16);
		}
	} else
		return 0;
	for (i = 0; i < n; i++)
		if (allow[i].family == fam &&
		    prefix_match(a, allow[i].addr, allow[i].prefix))
			return 1;
	return 0;
}

size_t
net_loopback_ranges(struct cidr *out, size_t max)
{
	size_t n = 0;

	if (n < max && net_parse_cidr("127.0.0.0/8", &out[n]) == 0)
		n++;
	if (n < max && net_parse_cidr("::1", &out[n]) == 0)
		n++;
	return n;
}

const char *
net_peer_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

static int
resolve(const char *host, const char *port, int passive,
    struct addrinfo **res)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
	rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		errno = 0;
		xp_seterr(XE_SYS, "%s: %s", host, rc == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Wait for a non-blocking connect; 0 connected, -1 with errno. */
static int
connect_wait(int fd, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int e = 0, rc;

	for (;;) {
		uint64_t t = now_ns();

		if (t >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pfd, 1, (int)((deadline - t) / 1000000 + 1));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

int
net_connect(const char *host, const char *port, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, saved = 0;

	if (resolve(host, port, 0, &res) < 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (set_nonblock(fd) < 0) {
			saved = errno;
			close(fd);
			fd = -1;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && connect_wait(fd, deadline) == 0))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		xp_seterr(XE_SYS, "connect to %s port %s%s", host, port,
		    saved == ETIMEDOUT ? " (--timeout)" : "");
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
is_loopback(const struct sockaddr *sa)
{
	struct cidr lo[2];
	size_t n = net_loopback_ranges(lo, 2);

	return net_allowed(sa, lo, n);
}

int
net_listen(const char *host, const char *port, int *loopback,
    char *bound, size_t boundlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *res;
	int fd, one = 1;

	if (resolve(*host ? host : "127.0.0.1", port, 1, &res) < 0)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd < 0) {
		xp_seterr(XE_SYS, "socket");
		goto err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		xp_seterr(XE_SYS, "bind %s port %s", *host ? host :
		    "127.0.0.1", port);
		goto err;
	}
	if (listen(fd, 8) < 0 || set_nonblock(fd) < 0) {
		xp_seterr(XE_SYS, "listen");
		goto err;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		xp_seterr(XE_SYS, "getsockname");
		goto err;
	}
	*loopback = is_loopback((struct sockaddr *)&ss);
	if (bound != NULL)
		net_peer_str((struct sockaddr *)&ss, bound, boundlen);
	freeaddrinfo(res);
	return fd;
err:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int
net_accept(int lfd, int timeout_ms, const struct cidr *allow, size_t n,
    void (*refused)(const char *peer, void *arg), void *arg,
    char *peer, size_t peerlen)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc, one = 1;

	for (;;) {
		uint64_t t = now_ns();

		if (xp_interrupted) {
			errno = EINTR;
			xp_seterr(XE_SYS, "waiting for a connection");
			return -1;
		}
		if (t >= deadline) {
			errno = 0;
			xp_seterr(XE_SYS, "no connection within %d s (--timeout)",
			    timeout_ms / 1000);
			return -1;
		}
		rc = poll(&pfd, 1, (int)((deadline - t) / 1000000 + 1));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			xp_seterr(XE_SYS, "poll");
			return -1;
		}
		if (rc == 0)
			continue;
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				continue;
			xp_seterr(XE_SYS, "accept");
			return -1;
		}
		net_peer_str((struct sockaddr *)&ss, peer, peerlen);
		if (net_allowed((struct sockaddr *)&ss, allow, n))
			break;
		close(fd);
		if (refused != NULL)
			refused(peer, arg);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}
