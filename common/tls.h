/*
 * tls.h - TLS 1.3 around the transport pair's one TCP connection, so that
 * a guest's memory crosses a shared network encrypted, and only to and from
 * a peer that holds the key: a pre-shared key (--psk FILE) or X.509
 * certificates checked against a CA (--cert, --key, --ca).
 *
 * After the handshake the caller reads and writes plain bytes on tls_fd(),
 * one end of a socket pair; a pump thread moves them through the TLS session
 * on the socket.  So lz4pipe runs unchanged inside TLS: its frames, its
 * confirm byte (a half-close becomes TLS's close_notify), its timeouts and
 * rate.  Where the kernel offers kernel TLS, it takes the records both
 * ways once OpenSSL's handshake is done (keys from its key log); in user
 * space the pump batches records into few system calls.
 *
 * The peer is hostile: a connection that ends without close_notify is a
 * cut (or a forged end), never the stream's end; tls_error says so.
 * Callers: bin/stream-send.c, bin/stream-recv.c.
 */
#ifndef XENPIPE_TLS_H
#define XENPIPE_TLS_H

#include <stddef.h>

#define TLS_PSK_MIN	16	/* bytes of key, given as hex in the file */
#define TLS_PSK_MAX	64
#define TLS_DESC_MAX	160

struct tls_opts {
	const char *psk_path;	/* a key file; "-" is stdin */
	const char *cert_path;	/* X.509: our certificate (chain), */
	const char *key_path;	/* its private key, */
	const char *ca_path;	/* the CA the peer's must chain to */
	const char *peer_name;	/* client, X.509: the server's name, NULL
				   the host connected to */
	int no_ktls;		/* never kernel TLS (user space only) */
};

struct tls;

/*
 * Load the credentials, before any connection: a key file must be ours and
 * unreadable to others (mode 0600 or stricter); a pipe is accepted.
 * server: the listener's side.  NULL with xp_err set.
 */
struct tls *tls_new(const struct tls_opts *o, int server);

/*
 * Handshake on the connected, non-blocking socket sock, within timeout_ms
 * (host: the name connected to, for the certificate check).  Then a pump
 * thread runs, and gives up after idle_ms without progress.  0, or -1 with
 * xp_err set (messages do not name the peer: the caller does).
 */
int tls_start(struct tls *t, int sock, const char *host, int timeout_ms,
    int idle_ms);

/* The plain end of the session (the caller's to read and write). */
int tls_fd(const struct tls *t);

/* "TLS 1.3 TLS_AES_128_GCM_SHA256, PSK, kTLS" or "..., user-space TLS (why)". */
const char *tls_describe(const struct tls *t);
/* 1 when the kernel does the record layer both ways. */
int tls_ktls(const struct tls *t);

/* -1 with xp_err set once the session failed (a cut, a bad record), else 0. */
int tls_error(struct tls *t);

/*
 * Finish: the caller is done with tls_fd (closed here).  graceful: send
 * close_notify once what was written is out, and return tls_error; else
 * drop the session, return 0 and leave xp_err alone (a caller on its way
 * out with its own reason).  Joins the pump; frees t (NULL: nothing).
 */
int tls_end(struct tls *t, int graceful);

#endif
