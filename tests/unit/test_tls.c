/*
 * Certificate reload (transport/tls.c) on a real SSL_CTX: a certificate
 * and key that do not match are refused with the context untouched, a
 * matching pair replaces both, and an unreadable file changes nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/metrics.h"
#include "transport/internal.h"

struct pair {
	char cert[64], key[64];
	X509 *x509;
};

static char dir[] = "/tmp/test_tls.XXXXXX";

static void make_pair(struct pair *p, const char *name)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;

	assert_non_null(k);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(p->cert, sizeof(p->cert), "%s/%s.crt", dir, name);
	snprintf(p->key, sizeof(p->key), "%s/%s.key", dir, name);
	f = fopen(p->cert, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(p->key, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	p->x509 = x;
	EVP_PKEY_free(k);
}

static void assert_serves(SSL_CTX *ctx, const struct pair *p)
{
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), p->x509), 0);
	assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
}

static void test_reload(void **state)
{
	struct transport *t = calloc(1, sizeof(*t));
	struct transport_shared sh = { .n_loops = 1 };
	struct pair a, b;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(t);
	assert_non_null(ctx);
	make_pair(&a, "a");
	make_pair(&b, "b");
	transport_metrics_register(&t->m);
	/* One loop, not running: its calls run on this thread. */
	sh.loops[0] = t;
	t->sh = &sh;
	pthread_mutex_init(&t->call_lock, NULL);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, a.cert, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, a.key, SSL_FILETYPE_PEM), 1);
	t->ssl_ctx[0] = ctx;
	t->n_ssl_ctx = 1;

	/* b's certificate with a's key: refused before anything is set. */
	assert_int_equal(transport_reload_cert(t, b.cert, a.key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match"));
	assert_serves(ctx, &a);
	assert_int_equal(transport_reload_cert(t, "/nonexistent.crt", b.key, err, sizeof(err)),
			 -EINVAL);
	assert_serves(ctx, &a);

	assert_int_equal(transport_reload_cert(t, b.cert, b.key, err, sizeof(err)), 0);
	assert_serves(ctx, &b);
	assert_int_equal(metric_value(t->m.cert_reloads), 1);

	SSL_CTX_free(ctx);
	X509_free(a.x509);
	X509_free(b.x509);
	unlink(a.cert);
	unlink(a.key);
	unlink(b.cert);
	unlink(b.key);
	rmdir(dir);
	pthread_mutex_destroy(&t->call_lock);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
