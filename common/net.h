/*
 * net.h - the TCP side of the transport pair: HOST:PORT parsing, --allow
 * address ranges, connecting and listening with timeouts.  Every function
 * returns -1 with xp_err set on failure (never prints); sockets it returns
 * are non-blocking, so callers poll with their own idle timeout.
 * Callers: bin/stream-send.c, bin/stream-recv.c.
 */
#ifndef XENPIPE_NET_H
#define XENPIPE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_HOST_MAX	256
#define NET_PORT_MAX	16
#define NET_PEER_MAX	80	/* "[v6addr]:port" */

/* An address range for --allow: 192.0.2.7, 192.0.2.0/24, ::1, fe80::/10. */
struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order; 4 bytes used for AF_INET */
	unsigned int prefix;	/* 0..32 or 0..128 */
};

/*
 * Split "HOST:PORT", "[V6]:PORT" or, when port_only is set, a bare "PORT"
 * (host then ""), into host and port.  The port must be a number 0..65535
 * (0 only when port_only is set: "any free port" for a listener).
 */
int net_split(const char *s, int port_only, char *host, size_t hostlen,
    char *port, size_t portlen);

int net_parse_cidr(const char *s, struct cidr *c);
/* 1 when sa (an IPv4 peer may arrive as ::ffff:a.b.c.d) is in one of the n ranges. */
int net_allowed(const struct sockaddr *sa, const struct cidr *allow, size_t n);
/* The loopback ranges, 127.0.0.0/8 and ::1, for a listener's default. */
size_t net_loopback_ranges(struct cidr *out, size_t max);

/* "192.0.2.7:40212" or "[::1]:40212". */
const char *net_peer_str(const struct sockaddr *sa, char *buf, size_t len);

/* Connect to host:port, trying each address, giving up after timeout_ms. */
int net_connect(const char *host, const char *port, int timeout_ms);

/*
 * Listen on host:port (host "" is 127.0.0.1).  *loopback is set when the
 * bound address is a loopback address; bound (may be NULL) receives
 * "ADDR:PORT" with the port the kernel chose when port is 0.
 */
int net_listen(const char *host, const char *port, int *loopback,
    char *bound, size_t boundlen);

/*
 * Wait up to timeout_ms for a peer in allow[0..n) and return its
 * connection, with peer set to its address.  A peer outside the ranges is
 * closed at once and reported through refused(peer, arg); the wait goes
 * on.  The listening socket is left open (the caller closes it: one
 * connection only).
 */
int net_accept(int lfd, int timeout_ms, const struct cidr *allow, size_t n,
    void (*refused)(const char *peer, void *arg), void *arg,
    char *peer, size_t peerlen);

#endif
