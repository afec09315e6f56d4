/*
 * test-ktls - the keys tls.c gives the kernel for kTLS, checked without a
 * kernel that has it: a real TLS 1.3 handshake between two sessions over
 * a memory pipe, then the client's first record is opened with the key
 * and IV that ktls_info made for the client's sending side, and the two
 * sides' infos must match (one's sending is the other's receiving).  A
 * flipped key bit and a wrong record number must fail to open it, so the
 * check can fail.  With a PSK: AES-128-GCM and ChaCha20-Poly1305; with
 * X.509 (test-ktls CADIR: ca.crt, server.crt/key, client.crt/key there):
 * AES-256-GCM, SHA-384.  Includes tls.c for its static functions.  Prints
 * TAP; exits 1 if any case goes the wrong way.  Run by test/tls.bats.
 */
#include "../../common/tls.c"

static int nr_test, nr_failed;

static void
ok(int cond, const char *what)
{
	printf("%sok %d %s\n", cond ? "" : "not ", ++nr_test, what);
	nr_failed += !cond;
}

/* The 12-byte nonce before the record number: salt, then IV. */
static void
nonce_of(uint8_t *nonce, const uint8_t *salt, size_t salt_len,
    const uint8_t *iv)
{
	if (salt_len)
		memcpy(nonce, salt, salt_len);
	memcpy(nonce + salt_len, iv, 12 - salt_len);
}

/* Open a TLS 1.3 record (header, then sealed bytes) with ki at number seq. */
static int
open_record(const union ktls_info *ki, uint64_t seq, const uint8_t *rec,
    size_t len, uint8_t *out)
{
	const EVP_CIPHER *c;
	const uint8_t *key;
	uint8_t nonce[12];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok_ = 0;

	/* the kernel's layouts, read here on their own, not through tls.c's
	   table: a salt and IV swapped there must fail here */
	switch (ki->base.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		c = EVP_aes_128_gcm(), key = ki->aes128.key;
		nonce_of(nonce, ki->aes128.salt, 4, ki->aes128.iv);
		break;
	case TLS_CIPHER_AES_GCM_256:
		c = EVP_aes_256_gcm(), key = ki->aes256.key;
		nonce_of(nonce, ki->aes256.salt, 4, ki->aes256.iv);
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		c = EVP_chacha20_poly1305(), key = ki->chacha.key;
		nonce_of(nonce, NULL, 0, ki->chacha.iv);
		break;
	default:
		goto out;
	}
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
	if (len < 5 + 16 || ctx == NULL ||
	    !EVP_DecryptInit_ex(ctx, c, NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) ||
	    !EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) ||
	    !EVP_DecryptUpdate(ctx, NULL, &n, rec, 5) ||
	    !EVP_DecryptUpdate(ctx, out, &n, rec + 5, (int)len - 5 - 16) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
	    (void *)(rec + len - 16)) ||
	    EVP_DecryptFinal_ex(ctx, out + n, &m) <= 0)
		goto out;
	ok_ = n + m;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ok_;
}

static void
one_suite(const struct tls_opts *co, const struct tls_opts *so,
    const char *suite, int cipher_type)
{
	struct tls *c = tls_new(co, 0), *s = tls_new(so, 1);
	union ktls_info ctx_, crx, stx, srx, bad;
	static const char msg[] = "a page of the guest, in clear";
	uint8_t rec[512], out[512];
	BIO *bc, *bs;
	int rc = 0, rs = 0, len, n;
	char what[160];

	if (c == NULL || s == NULL) {
		ok(0, "tls_new");
		return;
	}
	c->ssl = SSL_new(c->ctx);
	s->ssl = SSL_new(s->ctx);
	SSL_set_app_data(c->ssl, c);
	SSL_set_app_data(s->ssl, s);
	SSL_CTX_set_keylog_callback(c->ctx, keylog);
	SSL_CTX_set_keylog_callback(s->ctx, keylog);
	SSL_set_ciphersuites(c->ssl, suite);
	BIO_new_bio_pair(&bc, 0, &bs, 0);
	SSL_set_bio(c->ssl, bc, bc);
	SSL_set_bio(s->ssl, bs, bs);
	for (int i = 0; i < 100 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_connect(c->ssl);
		if (rs != 1)
			rs = SSL_accept(s->ssl);
	}
	snprintf(what, sizeof(what), "%s: the handshake completes, nothing "
	    "left over", suite);
	ok(rc == 1 && rs == 1 && BIO_ctrl_pending(bs) == 0 &&
	    BIO_ctrl_pending(bc) == 0 && !SSL_has_pending(s->ssl), what);
	ok(ktls_info(c, 1, &ctx_) > 0 && ktls_info(c, 0, &crx) > 0 &&
	    ktls_info(s, 1, &stx) > 0 && ktls_info(s, 0, &srx) > 0 &&
	    ctx_.base.cipher_type == cipher_type &&
	    ctx_.base.version == TLS_1_3_VERSION, "  an info each way, each side");
	ok(memcmp(&ctx_, &srx, sizeof(ctx_)) == 0 &&
	    memcmp(&stx, &crx, sizeof(stx)) == 0 &&
	    memcmp(&ctx_, &stx, sizeof(ctx_)) != 0,
	    "  the client's sending is the server's receiving, and back");
	SSL_write(c->ssl, msg, sizeof(msg));
	len = BIO_read(bs, rec, sizeof(rec));
	n = len > 0 ? open_record(&ctx_, 0, rec, len, out) : 0;
	ok(rec[0] == 23 && n == (int)sizeof(msg) + 1 &&
	    memcmp(out, msg, sizeof(msg)) == 0 && out[sizeof(msg)] == 23,
	    "  the client's first record opens with its kTLS key and IV");
	bad = ctx_;
	if (cipher_type == TLS_CIPHER_CHACHA20_POLY1305)
		bad.chacha.key[0] ^= 1;
	else if (cipher_type == TLS_CIPHER_AES_GCM_256)
		bad.aes256.key[0] ^= 1;
	else
		bad.aes128.key[0] ^= 1;
	ok(open_record(&bad, 0, rec, len, out) == 0 &&
	    open_record(&ctx_, 1, rec, len, out) == 0,
	    "  a flipped key bit, or record number 1, does not open it");
	tls_end(c, 0);
	tls_end(s, 0);
}

int
main(int argc, char **argv)
{
	char keyfile[] = "/tmp/test-ktls.XXXXXX", p[5][4096];
	int fd = mkstemp(keyfile);
	struct tls_opts psk = { .psk_path = keyfile }, xc, xs;
	static const char key[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

	if (fd < 0 || write(fd, key, sizeof(key) - 1) != sizeof(key) - 1)
		return 2;
	close(fd);
	one_suite(&psk, &psk, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128);
	one_suite(&psk, &psk, "TLS_CHACHA20_POLY1305_SHA256",
	    TLS_CIPHER_CHACHA20_POLY1305);
	unlink(keyfile);
	if (argc > 1) {
		static const char *const f[5] = { "client.crt", "client.key",
		    "server.crt", "server.key", "ca.crt" };

		for (int i = 0; i < 5; i++)
			snprintf(p[i], sizeof(p[i]), "%s/%s", argv[1], f[i]);
		xc = (struct tls_opts){ .cert_path = p[0], .key_path = p[1],
		    .ca_path = p[4] };
		xs = (struct tls_opts){ .cert_path = p[2], .key_path = p[3],
		    .ca_path = p[4] };
		one_suite(&xc, &xs, "TLS_AES_256_GCM_SHA384",
		    TLS_CIPHER_AES_GCM_256);
	}
	printf("1..%d\n", nr_test);
	return nr_failed ? 1 : 0;
}
