/* tls.c - TLS 1.3 for the transport pair, a pump between it and a socket pair; see tls.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "progress.h"
#include "tls.h"

/* The PSK's identity: one key a pair, so the name only says what it is for. */
#define PSK_IDENTITY	"xenpipe-stream"
#define KEY_FILE_MAX	4096
#define PUMP_BUF	(256u << 10)
#define TLS_RECORD_MAX	16384u	/* plain bytes in a record */
#define SECRET_MAX	48	/* a traffic secret: SHA-384 at most */
#ifndef SOL_TLS
#define SOL_TLS		282
#endif

/* What the kernel takes for one direction of TLS 1.3 (linux/tls.h). */
union ktls_info {
	struct tls_crypto_info base;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

struct tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int server;
	uint8_t psk[TLS_PSK_MAX];
	size_t psk_len;
	const char *peer_name;
	char desc[TLS_DESC_MAX];
	int ktls_tx, ktls_rx;	/* the kernel does the records that way */
	const char *no_ktls;	/* why not, for describe */
	char why_buf[64];	/* no_ktls, when it names an errno */
	/* the application traffic secrets (client's, server's), from the
	   key log, for the kernel; wiped once it has them */
	uint8_t secret[2][SECRET_MAX];
	size_t secret_len[2];
	int sock;		/* the TCP connection (not ours to close) */
	int plain;		/* the caller's end of the pair */
	int local;		/* the pump's end */
	int idle_ms;
	pthread_t pump;
	int pumping;
	pthread_mutex_t mu;	/* guards the three below */
	int ending;		/* tls_end: 1 the caller closed plain, 2 drop all */
	int failed;
	struct xp_saved why;
	uint8_t *up, *down;	/* plain -> TLS, TLS -> plain */
};

/* xp_err: what, then OpenSSL's first reason (its queue is per thread). */
static void
ssl_seterr(enum xp_errclass cls, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	errno = 0;
	xp_seterr(cls, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
}

/*
 * A file of secrets is ours and nobody else's: a regular file of mode
 * 0600 (or stricter) owned by us, or a pipe (stdin through ssh).
 */
static int
secret_open(const char *path, const char *opt)
{
	struct stat st;
	int fd;

	fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) :
	    open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		xp_seterr(XE_USAGE, "%s %s", opt, path);
		goto err;
	}
	errno = 0;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return fd;
	if (!S_ISREG(st.st_mode)) {
		xp_seterr(XE_USAGE, "%s %s: not a file or a pipe", opt, path);
		goto err;
	}
	if (st.st_uid != geteuid()) {
		xp_seterr(XE_USAGE, "%s %s: owned by uid %u, not by us (uid "
		    "%u): it is not our secret", opt, path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		goto err;
	}
	if (st.st_mode & 077) {
		xp_seterr(XE_USAGE, "%s %s: mode %04o lets other users at the "
		    "key (chmod 600 %s)", opt, path,
		    (unsigned)(st.st_mode & 07777), path);
		goto err;
	}
	return fd;
err:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The key file: hex digits (as `openssl rand -hex 32` writes), white space around. */
static int
psk_load(struct tls *t, const char *path)
{
	char buf[KEY_FILE_MAX + 1];
	size_t len = 0, i, n = 0;
	ssize_t r = 0;
	int fd, hi = -1, v;

	if ((fd = secret_open(path, "--psk")) < 0)
		return -1;
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	if (r < 0) {
		xp_seterr(XE_USAGE, "--psk %s", path);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' ||
		    buf[i] == '\t')
			continue;
		if ((v = hexval((unsigned char)buf[i])) < 0 || n == TLS_PSK_MAX)
			goto bad;
		if (hi < 0)
			hi = v;
		else {
			t->psk[n++] = hi << 4 | v;
			hi = -1;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (hi >= 0 || n < TLS_PSK_MIN)
		goto bad;
	t->psk_len = n;
	return 0;
bad:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	errno = 0;
	xp_seterr(XE_USAGE, "--psk %s: not a key of %d to %d bytes in hex "
	    "(make one with: openssl rand -hex 32)", path, TLS_PSK_MIN,
	    TLS_PSK_MAX);
	return -1;
}

/* The external PSK as a TLS 1.3 session: AES-128-GCM, which kTLS can take. */
static SSL_SESSION *
psk_session(SSL *ssl, const struct tls *t)
{
	static const unsigned char aes128gcm[2] = { 0x13, 0x01 };
	const SSL_CIPHER *c = SSL_CIPHER_find(ssl, aes128gcm);
	SSL_SESSION *s = SSL_SESSION_new();

	if (c == NULL || s == NULL ||
	    !SSL_SESSION_set1_master_key(s, t->psk, t->psk_len) ||
	    !SSL_SESSION_set_cipher(s, c) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

static int
psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
    SSL_SESSION **sess)
{
	const struct tls *t = SSL_get_app_data(ssl);

	*sess = NULL;
	if (md != NULL && EVP_MD_get_type(md) != NID_sha256)
		return 1;	/* a HelloRetryRequest for another hash */
	if ((*sess = psk_session(ssl, t)) == NULL)
		return 0;
	*id = (const unsigned char *)PSK_IDENTITY;
	*idlen = strlen(PSK_IDENTITY);
	return 1;
}

static int
psk_find(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	const struct tls *t = SSL_get_app_data(ssl);

	*sess = NULL;
	if (idlen != strlen(PSK_IDENTITY) ||
	    memcmp(id, PSK_IDENTITY, idlen) != 0)
		return 1;	/* not ours: the handshake fails */
	return (*sess = psk_session(ssl, t)) != NULL;
}

static int
x509_load(struct tls *t, const struct tls_opts *o)
{
	int fd;

	if ((fd = secret_open(o->key_path, "--key")) < 0)
		return -1;
	close(fd);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_path) != 1) {
		ssl_seterr(XE_USAGE, "--cert");
		xp_preerr("%s: ", o->cert_path);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_path,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(t->ctx) != 1) {
		ssl_seterr(XE_USAGE, "--key");
		xp_preerr("%s: ", o->key_path);
		return -1;
	}
	if (SSL_CTX_load_verify_locations(t->ctx, o->ca_path, NULL) != 1) {
		ssl_seterr(XE_USAGE, "--ca");
		xp_preerr("%s: ", o->ca_path);
		return -1;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

/*
 * kTLS.  The key log gives the two application traffic secrets as the
 * handshake makes them; from them come each direction's key and IV
 * (RFC 8446 7.1, 7.3), and the kernel takes over the records.
 */
static void
keylog(const SSL *ssl, const char *line)
{
	static const char *const label[2] = { "CLIENT_TRAFFIC_SECRET_0 ",
	    "SERVER_TRAFFIC_SECRET_0 " };
	struct tls *t = SSL_get_app_data(ssl);

	for (int i = 0; i < 2; i++) {
		const char *hex;
		size_t n = 0;
		int hi, lo;

		if (strncmp(line, label[i], strlen(label[i])) != 0 ||
		    (hex = strchr(line + strlen(label[i]), ' ')) == NULL)
			continue;
		for (hex++; n < SECRET_MAX && (hi = hexval(hex[0])) >= 0 &&
		    (lo = hexval(hex[1])) >= 0; hex += 2)
			t->secret[i][n++] = hi << 4 | lo;
		t->secret_len[i] = *hex == '\0' ? n : 0;
	}
}

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446 7.1. */
static int
expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
    const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t label_len = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];

	info[n++] = len >> 8;
	info[n++] = len & 0xff;
	info[n++] = 6 + label_len;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, label_len);
	n += 6 + label_len;
	info[n++] = 0;		/* no context */
	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(md), 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, secret_len);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[4] = OSSL_PARAM_construct_end();
	ok = kctx != NULL && EVP_KDF_derive(kctx, out, len, p) > 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/*
 * What the kernel needs for our sending (tx) or receiving side, with the
 * record sequence at 0: no application record has gone either way yet.
 * Its size, or 0 for a suite or secret it cannot take.
 */
#define KTLS_SUITE(id, type, st, key_len, salt_len) { id, type, key_len, \
	salt_len, offsetof(struct st, key), offsetof(struct st, salt), \
	offsetof(struct st, iv), sizeof(struct st) }

/* The suites the kernel takes: where each puts the key, salt and IV. */
static const struct ktls_suite {
	uint16_t id, cipher_type;
	size_t key_len, salt_len;	/* GCM's salt: the IV's first 4 bytes */
	size_t key_at, salt_at, iv_at, size;
} ktls_suites[] = {
	KTLS_SUITE(0x1301, TLS_CIPHER_AES_GCM_128,
	    tls12_crypto_info_aes_gcm_128, 16, 4),
	KTLS_SUITE(0x1302, TLS_CIPHER_AES_GCM_256,
	    tls12_crypto_info_aes_gcm_256, 32, 4),
	KTLS_SUITE(0x1303, TLS_CIPHER_CHACHA20_POLY1305,
	    tls12_crypto_info_chacha20_poly1305, 32, 0),
};

static socklen_t
ktls_info(const struct tls *t, int tx, union ktls_info *ki)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
	const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
	const struct ktls_suite *s = NULL;
	int who = tx ? t->server : !t->server;	/* 0 client's, 1 server's */
	uint8_t key[32], iv[12], *at = (uint8_t *)ki;
	socklen_t len = 0;

	memset(ki, 0, sizeof(*ki));
	for (size_t i = 0; c && i < sizeof(ktls_suites) / sizeof(*s); i++)
		if (ktls_suites[i].id == SSL_CIPHER_get_protocol_id(c))
			s = &ktls_suites[i];
	if (s == NULL || md == NULL ||
	    t->secret_len[who] != (size_t)EVP_MD_get_size(md))
		return 0;
	if (expand_label(md, t->secret[who], t->secret_len[who], "key", key,
	    s->key_len) == 0 && expand_label(md, t->secret[who],
	    t->secret_len[who], "iv", iv, sizeof(iv)) == 0) {
		ki->base.version = TLS_1_3_VERSION;
		ki->base.cipher_type = s->cipher_type;
		memcpy(at + s->key_at, key, s->key_len);
		memcpy(at + s->salt_at, iv, s->salt_len);
		memcpy(at + s->iv_at, iv + s->salt_len, sizeof(iv) - s->salt_len);
		len = s->size;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return len;
}

/*
 * Hand the records to the kernel, each way it takes; the rest stays in
 * user space, and t->no_ktls says why.  Never fails: user space works.
 */
static void
ktls_start(struct tls *t)
{
	union ktls_info ki;
	socklen_t len;

	if (t->no_ktls)
		goto out;
	/* whatever OpenSSL has read and not handed on would be lost */
	if (SSL_has_pending(t->ssl)) {
		t->no_ktls = "OpenSSL read past the handshake";
		goto out;
	}
	for (int tx = 0; tx < 2; tx++) {
		if ((len = ktls_info(t, tx, &ki)) == 0) {
			t->no_ktls = "a suite the kernel does not take";
			break;
		}
		if (setsockopt(t->sock, SOL_TLS, tx ? TLS_TX : TLS_RX, &ki,
		    len) == 0)
			*(tx ? &t->ktls_tx : &t->ktls_rx) = 1;
		else {
			snprintf(t->why_buf, sizeof(t->why_buf), "the kernel "
			    "refused the %s key: %s", tx ? "sending" :
			    "receiving", strerror(errno));
			t->no_ktls = t->why_buf;
		}
	}
	OPENSSL_cleanse(&ki, sizeof(ki));
out:
	OPENSSL_cleanse(t->secret, sizeof(t->secret));
	errno = 0;
}

struct tls *
tls_new(const struct tls_opts *o, int server)
{
	struct tls *t;
	int x509 = o->cert_path || o->key_path || o->ca_path;

	if (o->psk_path != NULL && x509) {
		xp_seterr(XE_USAGE, "--psk and --cert/--key/--ca are two ways "
		    "to authenticate: give one");
		return NULL;
	}
	if (o->psk_path == NULL && !(o->cert_path && o->key_path &&
	    o->ca_path)) {
		xp_seterr(XE_USAGE, "%s", x509 ? "X.509 takes all three of "
		    "--cert, --key and --ca" : "no credentials: --psk FILE, or "
		    "--cert, --key and --ca");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		xp_seterr(XE_SYS, "tls");
		return NULL;
	}
	t->server = server;
	t->sock = t->plain = t->local = -1;
	t->peer_name = o->peer_name;
	pthread_mutex_init(&t->mu, NULL);
	t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (t->ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION)) {
		ssl_seterr(XE_SYS, "TLS");
		goto err;
	}
	/* one connection, never resumed: no tickets to store or replay */
	SSL_CTX_set_num_tickets(t->ctx, 0);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	/* whole writes: a partial one returns after each 16 KiB record,
	   and the pump went round (and polled the socket) once a record */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* kTLS is ours to set up, both ways (OpenSSL 3.0 does at most the
	   sending side): the key log hands us the traffic secrets */
	if (o->no_ktls)
		t->no_ktls = "--no-ktls";
	else
		SSL_CTX_set_keylog_callback(t->ctx, keylog);
	if (o->psk_path != NULL) {
		if (psk_load(t, o->psk_path) < 0)
			goto err;
		/* the suites of the PSK's hash only (else a peer's choice
		   of SHA-384 skips the key); both ways kTLS can take */
		if (!SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256:"
		    "TLS_CHACHA20_POLY1305_SHA256")) {
			ssl_seterr(XE_SYS, "TLS");
			goto err;
		}
		if (server)
			SSL_CTX_set_psk_find_session_callback(t->ctx, psk_find);
		else
			SSL_CTX_set_psk_use_session_callback(t->ctx, psk_use);
	} else if (x509_load(t, o) < 0)
		goto err;
	return t;
err:
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->mu);
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	free(t);
	return NULL;
}

/* The handshake failed: say why in the words an administrator acts on. */
static void
handshake_err(struct tls *t, int sslerr)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	long v = SSL_get_verify_result(t->ssl);
	int why = ERR_GET_REASON(e), saved = errno;
	const char *hint = "";

	ERR_clear_error();
	errno = 0;
	if (v != X509_V_OK) {
		xp_seterr(XE_STREAM, "TLS handshake: the peer's certificate: "
		    "%s", X509_verify_cert_error_string(v));
		return;
	}
	if (reason == NULL) {
		errno = sslerr == SSL_ERROR_SYSCALL ? saved : 0;
		xp_seterr(XE_SYS, "TLS handshake%s",
		    errno ? "" : ": the peer closed the connection (it refused "
		    "our credentials, or is not stream-recv)");
		return;
	}
	if (why == SSL_R_WRONG_VERSION_NUMBER ||
	    why == SSL_R_PACKET_LENGTH_TOO_LONG ||
	    why == SSL_R_RECORD_LENGTH_MISMATCH)
		hint = " (the peer does not speak TLS: started with --insecure?)";
	else if (t->psk_len && (why == SSL_R_TLSV1_ALERT_DECRYPT_ERROR ||
	    why == SSL_R_DIGEST_CHECK_FAILED || why == SSL_R_BAD_PSK ||
	    why == SSL_R_BINDER_DOES_NOT_VERIFY ||
	    why == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER ||
	    why == SSL_R_NO_SHARED_CIPHER ||
	    why == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE))
		hint = " (the peer does not hold our key)";
	xp_seterr(XE_STREAM, "TLS handshake: %s%s", reason, hint);
}

static int
handshake(struct tls *t, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	struct pollfd pfd = { .fd = t->sock };
	int r, e;

	for (;;) {
		uint64_t now = now_ns();

		ERR_clear_error();
		errno = 0;
		r = t->server ? SSL_accept(t->ssl) : SSL_connect(t->ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			handshake_err(t, e);
			return -1;
		}
		if (xp_interrupted || now >= deadline) {
			errno = xp_interrupted ? EINTR : 0;
			xp_seterr(XE_SYS, "TLS handshake: %s",
			    xp_interrupted ? "interrupted" :
			    "no answer in time (--timeout)");
			return -1;
		}
		pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) < 0 &&
		    errno != EINTR) {
			xp_seterr(XE_SYS, "poll");
			return -1;
		}
	}
}

static void
describe(struct tls *t)
{
	char how[96];

	if (t->ktls_tx && t->ktls_rx)
		snprintf(how, sizeof(how), "kTLS");
	else if (t->ktls_tx || t->ktls_rx)
		snprintf(how, sizeof(how), "kTLS %s, user-space %s (%s)",
		    t->ktls_tx ? "send" : "receive",
		    t->ktls_tx ? "receive" : "send", t->no_ktls);
	else
		snprintf(how, sizeof(how), "user-space TLS (%s)", t->no_ktls);
	snprintf(t->desc, sizeof(t->desc), "%s %s, %s, %s",
	    SSL_get_version(t->ssl), SSL_CIPHER_get_name(
	    SSL_get_current_cipher(t->ssl)), t->psk_len ? "PSK" : "X.509", how);
}

/* The pump failed: keep the first reason, and let the caller see EOF. */
static void
pump_fail(struct tls *t)
{
	pthread_mutex_lock(&t->mu);
	if (!t->failed) {
		t->failed = 1;
		xp_save(&t->why);
	}
	pthread_mutex_unlock(&t->mu);
	shutdown(t->local, SHUT_RDWR);
}

static int
ending(struct tls *t)
{
	int e;

	pthread_mutex_lock(&t->mu);
	e = t->ending;
	pthread_mutex_unlock(&t->mu);
	return e;
}

/* SSL_read/SSL_write said e: what to wait for, or -1 (failed, xp_err set). */
static int
ssl_wait(int e, const char *what)
{
	unsigned long err;

	if (e == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	err = ERR_peek_error();
	if ((e == SSL_ERROR_SYSCALL && err == 0 && errno == 0) ||
	    ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		errno = 0;
		xp_seterr(XE_STREAM, "TLS: the connection ended without "
		    "close_notify: cut, or an end forged on the wire");
	} else if (e == SSL_ERROR_SYSCALL && err == 0)
		xp_seterr(XE_SYS, "TLS %s the peer", what);
	else {
		ssl_seterr(XE_STREAM, "TLS");
		xp_preerr("%s the peer: ", what);
	}
	return -1;
}

/*
 * The record layer in the kernel.  ktls_send: a record of type rec_type
 * (an alert; data goes by send).  ktls_recv: the next record's
 * bytes into buf, with its type.  Both: bytes moved, 0 (recv: the peer's
 * TCP end), -2 to wait, -1 failed with xp_err set.
 */
static ssize_t
ktls_send(struct tls *t, uint8_t rec_type, const void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(rec_type))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(rec_type));
	memcpy(CMSG_DATA(cm), &rec_type, sizeof(rec_type));
	if ((n = sendmsg(t->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL)) >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return -2;
	xp_seterr(XE_SYS, "TLS to the peer (kTLS)");
	return -1;
}

static ssize_t
ktls_recv(struct tls *t, uint8_t *buf, size_t len, uint8_t *rec_type)
{
	char cbuf[CMSG_SPACE(sizeof(*rec_type))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	if ((n = recvmsg(t->sock, &msg, MSG_DONTWAIT)) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return -2;
		if (errno == EBADMSG)
			xp_seterr(XE_STREAM, "TLS from the peer: a record "
			    "failed its check (altered on the wire)");
		else
			xp_seterr(XE_SYS, "TLS from the peer (kTLS)");
		return -1;
	}
	*rec_type = 23;		/* application data, unless it says */
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS &&
		    cm->cmsg_type == TLS_GET_RECORD_TYPE)
			*rec_type = *CMSG_DATA(cm);
	return n;
}

/*
 * kTLS receiving: records until the buffer is full or none has come.
 * 1 moved (data, or the peer's close_notify: *eof), 0 not, -1 failed.
 */
static int
down_ktls(struct tls *t, size_t *down_len, int *eof)
{
	uint8_t rec_type, *rec;
	ssize_t n;
	int moved = 0;

	while (!*eof && PUMP_BUF - *down_len >= TLS_RECORD_MAX) {
		rec = t->down + *down_len;
		if ((n = ktls_recv(t, rec, PUMP_BUF - *down_len,
		    &rec_type)) == -2)
			break;
		if (n < 0)
			return -1;
		errno = 0;
		if (n == 0) {
			xp_seterr(XE_STREAM, "TLS: the connection ended without "
			    "close_notify: cut, or an end forged on the wire");
			return -1;
		}
		moved = 1;
		if (rec_type == 23) {
			*down_len += n;
			continue;
		}
		/* an alert: close_notify ends the stream, any other fails it */
		if (rec_type == 21 && n == 2 && rec[1] == 0) {
			*eof = 1;
			break;
		}
		if (rec_type == 21)
			xp_seterr(XE_STREAM, "TLS from the peer: alert %u",
			    n == 2 ? rec[1] : 0u);
		else
			xp_seterr(XE_STREAM, "TLS from the peer: a record of "
			    "type %u after the handshake, which kTLS here does "
			    "not take", rec_type);
		return -1;
	}
	return moved;
}

/* Send what buffer_writes holds: 0 all out, 1 the socket is full, -1 failed. */
static int
flush_out(struct tls *t)
{
	BIO *w = SSL_get_wbio(t->ssl);

	if (BIO_wpending(w) == 0)
		return 0;
	errno = 0;
	if (BIO_flush(w) > 0)
		return 0;
	if (BIO_should_retry(w))
		return 1;
	xp_seterr(XE_SYS, "TLS to the peer");
	return -1;
}

/*
 * plain -> TLS and TLS -> plain, in one thread (an SSL is not to be used
 * from two).  The caller's half-close becomes close_notify; the peer's
 * close_notify becomes a half-close of the caller's end; anything else
 * that ends the connection is an error, and the caller's end is shut.
 */
static void *
pump(void *arg)
{
	struct tls *t = arg;
	size_t up_len = 0, up_off = 0, down_len = 0, down_off = 0;
	int local_eof = 0, shut_sent = 0, tls_eof = 0, local_shut = 0;
	int sock_ev, r, e;
	uint64_t last = now_ns();
	ssize_t n;

	for (;;) {
		int moved = 0;

		sock_ev = 0;
		if (!local_eof && up_len == 0) {
			n = read(t->local, t->up, PUMP_BUF);
			if (n > 0) {
				up_len = n;
				up_off = 0;
				moved = 1;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				local_eof = 1;	/* a reset end is an end too */
		}
		if (up_off < up_len && t->ktls_tx) {
			n = send(t->sock, t->up + up_off, up_len - up_off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				up_off += n;
				moved = 1;
				if (up_off == up_len)
					up_len = up_off = 0;
			} else if (n < 0 && (errno == EAGAIN || errno == EINTR))
				sock_ev |= POLLOUT;
			else {
				xp_seterr(XE_SYS, "TLS to the peer (kTLS)");
				goto fail;
			}
		} else if (up_off < up_len) {
			ERR_clear_error();
			errno = 0;
			r = SSL_write(t->ssl, t->up + up_off, up_len - up_off);
			if (r > 0) {
				up_off += r;
				moved = 1;
				if (up_off == up_len)
					up_len = up_off = 0;
			} else if ((e = ssl_wait(SSL_get_error(t->ssl, r),
			    "to")) < 0)
				goto fail;
			else
				sock_ev |= e;
		}
		if (local_eof && up_len == 0 && !shut_sent && t->ktls_tx) {
			static const uint8_t close_notify[2] = { 1, 0 };

			if ((n = ktls_send(t, 21, close_notify,
			    sizeof(close_notify))) == -1)
				goto fail;
			if (n == -2)
				sock_ev |= POLLOUT;
			else {
				shut_sent = 1;
				moved = 1;
			}
		} else if (local_eof && up_len == 0 && !shut_sent) {
			ERR_clear_error();
			errno = 0;
			r = SSL_shutdown(t->ssl);
			if (r >= 0) {
				shut_sent = 1;
				moved = 1;
			} else if ((e = ssl_wait(SSL_get_error(t->ssl, r),
			    "close_notify to")) < 0)
				goto fail;
			else
				sock_ev |= e;
		}
		/* records (16 KiB at most each) until the buffer is full */
		if (t->ktls_rx) {
			if ((r = down_ktls(t, &down_len, &tls_eof)) < 0)
				goto fail;
			moved |= r;
			if (!tls_eof && PUMP_BUF - down_len >= TLS_RECORD_MAX)
				sock_ev |= POLLIN;
		}
		while (!t->ktls_rx && !tls_eof &&
		    PUMP_BUF - down_len >= TLS_RECORD_MAX) {
			ERR_clear_error();
			errno = 0;
			r = SSL_read(t->ssl, t->down + down_len,
			    PUMP_BUF - down_len);
			if (r > 0) {
				down_len += r;
				moved = 1;
			} else if ((e = SSL_get_error(t->ssl, r)) ==
			    SSL_ERROR_ZERO_RETURN) {
				tls_eof = 1;
				moved = 1;
			} else if ((e = ssl_wait(e, "from")) < 0)
				goto fail;
			else {
				sock_ev |= e;
				break;
			}
		}
		if (down_off < down_len) {
			n = write(t->local, t->down + down_off,
			    down_len - down_off);
			if (n > 0) {
				down_off += n;
				moved = 1;
				if (down_off == down_len)
					down_len = down_off = 0;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR)
				down_len = down_off = 0;	/* nobody reads: drop */
		}
		if (tls_eof && down_len == 0 && !local_shut) {
			shutdown(t->local, SHUT_WR);
			local_shut = 1;
		}
		if (ending(t) > 1)
			return NULL;
		if ((r = flush_out(t)) < 0)
			goto fail;
		if (r > 0)
			sock_ev |= POLLOUT;
		else if (shut_sent && (tls_eof || ending(t)))
			return NULL;
		if (moved) {
			last = now_ns();
			continue;
		}
		{
			struct pollfd pfd[2] = {
				{ .fd = t->sock, .events = sock_ev },
				/* once ending, its POLLHUP would spin */
				{ .fd = ending(t) ? -1 : t->local, .events =
				    (!local_eof && up_len == 0 ? POLLIN : 0) |
				    (down_off < down_len ? POLLOUT : 0) },
			};
			uint64_t now = now_ns(), idle = (uint64_t)t->idle_ms *
			    1000000;

			if (now - last >= idle) {
				errno = 0;
				xp_seterr(XE_SYS, "TLS: nothing moved for %d s "
				    "(--timeout)", t->idle_ms / 1000);
				goto fail;
			}
			/* tls_end's close of plain wakes it: POLLHUP */
			if (poll(pfd, 2, (int)((idle - (now - last)) /
			    1000000) + 1) < 0 && errno != EINTR) {
				xp_seterr(XE_SYS, "TLS pump: poll");
				goto fail;
			}
		}
	}
fail:
	pump_fail(t);
	return NULL;
}

/*
 * In user space, OpenSSL writes each 16 KiB record with a write(2) of its
 * own; a buffer in between sends a pump round's records in one.  The pump
 * flushes it (flush_out) before it waits or ends.
 */
static int
buffer_writes(struct tls *t)
{
	BIO *sock = SSL_get_wbio(t->ssl), *buf = BIO_new(BIO_f_buffer());

	if (buf == NULL || !BIO_set_write_buffer_size(buf, PUMP_BUF + 65536) ||
	    !BIO_up_ref(sock)) {
		BIO_free(buf);
		ssl_seterr(XE_SYS, "TLS");
		return -1;
	}
	SSL_set0_wbio(t->ssl, BIO_push(buf, sock));
	return 0;
}

int
tls_start(struct tls *t, int sock, const char *host, int timeout_ms,
    int idle_ms)
{
	const char *name = t->peer_name ? t->peer_name : host;
	int pair[2] = { -1, -1 };
	unsigned char addr[16];

	t->sock = sock;
	t->idle_ms = idle_ms > 0 ? idle_ms : 60000;
	if ((t->ssl = SSL_new(t->ctx)) == NULL || !SSL_set_fd(t->ssl, sock)) {
		ssl_seterr(XE_SYS, "TLS");
		return -1;
	}
	SSL_set_app_data(t->ssl, t);
	/*
	 * The tls ULP now, while the socket is plain TCP (it loads the
	 * module if need be).  Without it, user space: read what has come
	 * (records by the dozen) rather than a header and a record at a
	 * time.  With it, OpenSSL must not read past the handshake.
	 */
	if (t->no_ktls == NULL &&
	    setsockopt(sock, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		t->no_ktls = "the kernel offers no kTLS";
	if (t->no_ktls) {
		SSL_set_read_ahead(t->ssl, 1);
		SSL_set_default_read_buffer_len(t->ssl, PUMP_BUF);
	}
	if (!t->server && !t->psk_len && name != NULL) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		int ip = inet_pton(AF_INET, name, addr) == 1 ||
		    inet_pton(AF_INET6, name, addr) == 1;

		if ((ip ? !X509_VERIFY_PARAM_set1_ip_asc(vp, name) :
		    !X509_VERIFY_PARAM_set1_host(vp, name, 0)) ||
		    (!ip && !SSL_set_tlsext_host_name(t->ssl, name))) {
			ssl_seterr(XE_USAGE, "TLS: the peer's name");
			return -1;
		}
	}
	if (handshake(t, timeout_ms) < 0)
		return -1;
	ktls_start(t);
	describe(t);
	/*
	 * kTLS sends with send(2) from the pump's buffer.  Not splice: on two
	 * hosts (Linux 6.1, virtio-net) a stream spliced into kTLS arrived
	 * garbled though every record authenticated (2026-12-03).
	 */
	if (!t->ktls_tx && buffer_writes(t) < 0)
		return -1;
	if ((t->up = malloc(PUMP_BUF)) == NULL ||
	    (t->down = malloc(PUMP_BUF)) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		xp_seterr(XE_SYS, "TLS: socketpair");
		return -1;
	}
	t->plain = pair[0];
	t->local = pair[1];
	/* the pair holds what a pump round moves, both ways */
	for (int i = 0; i < 2; i++) {
		int sz = PUMP_BUF * 2;

		setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(pair[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (fcntl(t->local, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(t->plain, F_SETFL, O_NONBLOCK) < 0) {
		xp_seterr(XE_SYS, "TLS: fcntl");
		return -1;
	}
	if ((errno = pthread_create(&t->pump, NULL, pump, t)) != 0) {
		xp_seterr(XE_SYS, "TLS: pthread_create");
		return -1;
	}
	t->pumping = 1;
	return 0;
}

int
tls_fd(const struct tls *t)
{
	return t->plain;
}

const char *
tls_describe(const struct tls *t)
{
	return t->desc;
}

int
tls_ktls(const struct tls *t)
{
	return t->ktls_tx && t->ktls_rx;
}

int
tls_error(struct tls *t)
{
	int failed;

	pthread_mutex_lock(&t->mu);
	failed = t->failed;
	if (failed)
		xp_restore(&t->why);
	pthread_mutex_unlock(&t->mu);
	return failed ? -1 : 0;
}

int
tls_end(struct tls *t, int graceful)
{
	int rc;

	if (t == NULL)
		return 0;
	if (t->pumping) {
		pthread_mutex_lock(&t->mu);
		t->ending = graceful ? 1 : 2;
		pthread_mutex_unlock(&t->mu);
		if (!graceful)
			shutdown(t->local, SHUT_RDWR);
		close(t->plain);
		t->plain = -1;
		pthread_join(t->pump, NULL);
	}
	rc = graceful ? tls_error(t) : 0;
	if (t->plain >= 0)
		close(t->plain);
	if (t->local >= 0)
		close(t->local);
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->psk, sizeof(t->psk));
	free(t->up);
	free(t->down);
	pthread_mutex_destroy(&t->mu);
	free(t);
	return rc;
}
