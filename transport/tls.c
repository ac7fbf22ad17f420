/*
 * TLS on the listeners: the contexts lws creates (cipher order, buffers),
 * read-ahead on established sessions, failed handshakes, certificate
 * reload.
 */
#include "transport/internal.h"
#include "common/log.h"
#include "common/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

/*
 * Whether OpenSSL will run AES with the CPU's instructions: CPUID, as
 * masked by OPENSSL_ia32cap ("[~]VALUE[:...]", AES-NI is bit 57) when the
 * environment sets it, as OpenSSL itself does.
 */
static bool cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	unsigned long long caps;
	const char *env = getenv("OPENSSL_ia32cap");

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	caps = (unsigned long long)c << 32 | d;
	if (env && env[0] && env[0] != ':') {
		bool not = env[0] == '~';
		unsigned long long v = strtoull(env + not, NULL, 0);

		caps = not ? caps & ~v : v;
	}
	return caps >> 57 & 1;
#elif defined(__aarch64__)
	return getauxval(AT_HWCAP) & HWCAP_AES;
#else
	return false;
#endif
}

/* Without AES instructions ChaCha20-Poly1305 is the faster of the two. */
#define TLS13_AES_FIRST \
	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS13_CHACHA_FIRST \
	"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS12_AES "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS12_CHACHA "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS12_REST "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

/* lws shows each vhost's SSL_CTX once, when it is made. */
void tls_capture_ctx(struct transport *t, SSL_CTX *ssl_ctx)
{
	bool aes = cpu_has_aes();

	/* Until a session relays; then only while it does (tls_busy). */
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ssl_ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_ciphersuites(ssl_ctx, aes ? TLS13_AES_FIRST : TLS13_CHACHA_FIRST) != 1 ||
	    SSL_CTX_set_cipher_list(ssl_ctx, aes ? TLS12_AES ":" TLS12_CHACHA ":" TLS12_REST
					     : TLS12_CHACHA ":" TLS12_AES ":" TLS12_REST) != 1)
		log_warnx("event=tls_ciphers_failed");
	ERR_clear_error();
	for (unsigned i = 0; i < t->n_ssl_ctx; i++)
		if (t->ssl_ctx[i] == ssl_ctx)
			return;
	if (t->n_ssl_ctx < TRANSPORT_MAX_VHOSTS)
		t->ssl_ctx[t->n_ssl_ctx++] = ssl_ctx;
}

/*
 * Every read from a session's socket lists the session: with read-ahead
 * the read may have brought whole records that lws will not look at
 * (turn.c).
 */
static long rbio_read(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
		      int ret, size_t *processed)
{
	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	(void)processed;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0)
		turn_tls_read((struct session *)BIO_get_callback_arg(b));
	return ret;
}

/*
 * From the upgrade on, OpenSSL reads as much as the socket holds (one
 * read() for a burst of records, not two per record). Not before: lws
 * 4.1 asks SSL_pending() whether to read again, which does not count
 * records still encrypted in the read-ahead buffer, so the handshake and
 * upgrade run without read-ahead, and afterwards turn.c serves what lws
 * would leave.
 */
void tls_session_open(struct session *s)
{
	SSL *ssl = lws_get_ssl(s->wsi);
	BIO *b;

	if (!ssl || !(b = SSL_get_rbio(ssl)))
		return;
	s->ssl = ssl;
	BIO_set_callback_arg(b, (char *)s);
	BIO_set_callback_ex(b, rbio_read);
	SSL_set_read_ahead(ssl, 1);
}

void tls_session_close(struct session *s)
{
	BIO *b;

	if (!s->ssl)
		return;
	b = SSL_get_rbio(s->ssl);
	if (b)
		BIO_set_callback_ex(b, NULL);
	s->ssl = NULL;
}

/* A session relays: OpenSSL keeps its record buffers instead of freeing them per record. */
void tls_busy(struct session *s)
{
	if (s->ssl)
		SSL_clear_mode(s->ssl, SSL_MODE_RELEASE_BUFFERS);
}

/* A session went quiet: its buffers go now, and again after each record. */
void tls_quiet(struct session *s)
{
	if (!s->ssl)
		return;
	SSL_set_mode(s->ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_free_buffers(s->ssl);	/* refuses while it holds unread bytes */
}

/*
 * A handshake that ends for good (not waiting for more bytes) without
 * completing: garbage instead of a ClientHello, no common cipher, ...
 */
int tls_info(struct transport *t, struct lws *wsi, const struct lws_ssl_info *si)
{
	SSL *ssl = lws_get_ssl(wsi);
	char remote[48];

	if (!(si->where & SSL_CB_EXIT) || si->ret > 0 || !ssl ||
	    SSL_get_error(ssl, si->ret) != SSL_ERROR_SSL)
		return 0;
	metric_inc(t->m.perr_tls);
	session_peer_addr(wsi, remote, sizeof(remote));
	log_warnx("event=tls_error remote=%s reason=handshake_failed", remote);
	return 0;
}

/* The certificate, the chain behind it, and the key, read from their files. */
struct cert_pair {
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

static void cert_pair_free(struct cert_pair *p)
{
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
}

static int cert_pair_load(struct cert_pair *p, const char *cert, const char *key, char *err,
			  size_t errlen)
{
	FILE *f = fopen(cert, "r");
	X509 *x;

	memset(p, 0, sizeof(*p));
	if (!f || !(p->cert = PEM_read_X509(f, NULL, NULL, NULL)) ||
	    !(p->chain = sk_X509_new_null())) {
		snprintf(err, errlen, "%s: cannot load the certificate", cert);
		goto fail;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(p->chain, x)) {
			X509_free(x);
			snprintf(err, errlen, "%s: no memory", cert);
			goto fail;
		}
	fclose(f);
	f = fopen(key, "r");
	if (!f || !(p->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) ||
	    X509_check_private_key(p->cert, p->key) != 1) {
		snprintf(err, errlen, "%s: cannot load the key or it does not match %s", key,
			 cert);
		goto fail;
	}
	fclose(f);
	ERR_clear_error();
	return 0;
fail:
	if (f)
		fclose(f);
	cert_pair_free(p);
	ERR_clear_error();
	return -EINVAL;
}

struct reload {
	struct cert_pair *p;
	const char *cert;
	char *err;
	size_t errlen;
	int ret;
};

/* On the loop's thread: its contexts are in use there. */
static void reload_loop(struct transport *t, void *arg)
{
	struct reload *r = arg;

	for (unsigned i = 0; i < t->n_ssl_ctx && r->ret == 0; i++)
		if (SSL_CTX_use_cert_and_key(t->ssl_ctx[i], r->p->cert, r->p->key, r->p->chain,
					     1) != 1) {
			snprintf(r->err, r->errlen, "%s: refused by TLS context %u of loop %u",
				 r->cert, i, t->index);
			r->ret = -EINVAL;
		}
	ERR_clear_error();
}

/*
 * Both objects are read and checked against each other before any
 * context changes, then set on each context as a pair: no context is
 * ever left with a new certificate and the old key.
 */
int transport_reload_cert(struct transport *t, const char *cert, const char *key, char *err,
			  size_t errlen)
{
	struct cert_pair p;
	struct reload r = { &p, cert, err, errlen, 0 };

	r.ret = cert_pair_load(&p, cert, key, err, errlen);
	if (r.ret < 0)
		return r.ret;
	for (unsigned i = 0; i < transport_loops(t) && r.ret == 0; i++)
		loop_call(transport_loop(t, i), reload_loop, &r);
	cert_pair_free(&p);
	if (r.ret == 0)
		metric_inc(t->m.cert_reloads);
	return r.ret;
}
