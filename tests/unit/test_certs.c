#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs/certs.h"

struct dirs {
	char a[64];
	char b[64];
};

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	strcpy(d->a, "/tmp/test_certs.XXXXXX");
	strcpy(d->b, "/tmp/test_certs.XXXXXX");
	assert_non_null(mkdtemp(d->a));
	assert_non_null(mkdtemp(d->b));
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", d->a, d->b);
	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void prepare(const char *dir, char *cert, char *key)
{
	char err[512] = "";
	int ret = certs_prepare(NULL, NULL, dir, true, cert, PATH_MAX, key, PATH_MAX, err,
				sizeof(err));

	if (ret)
		fail_msg("certs_prepare: %s", err);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_generate(void **state)
{
	struct dirs *d = *state;
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	struct stat st;
	int64_t na;
	time_t now = time(NULL);

	prepare(d->a, cert, key);
	assert_non_null(strstr(cert, d->a));
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cert, &st), 0);
	assert_int_equal(certs_check_pair(cert, key, err, sizeof(err)), 0);
	assert_int_equal(certs_not_after(cert, &na, err, sizeof(err)), 0);
	/* About ten years ahead. */
	assert_true(na > now + 3649LL * 86400 && na < now + 3651LL * 86400);
}

static void test_reuse(void **state)
{
	struct dirs *d = *state;
	char cert[PATH_MAX], key[PATH_MAX], cert2[PATH_MAX], key2[PATH_MAX];
	size_t l1, l2, k1, k2;
	char *c1, *c2, *p1, *p2;

	prepare(d->a, cert, key);
	c1 = slurp(cert, &l1);
	p1 = slurp(key, &k1);
	prepare(d->a, cert2, key2);
	assert_string_equal(cert, cert2);
	assert_string_equal(key, key2);
	c2 = slurp(cert2, &l2);
	p2 = slurp(key2, &k2);
	assert_int_equal(l1, l2);
	assert_memory_equal(c1, c2, l1);
	assert_int_equal(k1, k2);
	assert_memory_equal(p1, p2, k1);
	free(c1);
	free(c2);
	free(p1);
	free(p2);
}

static void test_configured_pair(void **state)
{
	struct dirs *d = *state;
	char cert[PATH_MAX], key[PATH_MAX], co[PATH_MAX], ko[PATH_MAX], err[512];

	prepare(d->a, cert, key);
	/* A configured pair is used as is; nothing is generated in state_dir. */
	assert_int_equal(certs_prepare(cert, key, d->b, true, co, sizeof(co), ko, sizeof(ko),
				       err, sizeof(err)), 0);
	assert_string_equal(co, cert);
	assert_string_equal(ko, key);
	snprintf(co, sizeof(co), "%s/tls-cert.pem", d->b);
	assert_int_equal(access(co, F_OK), -1);
	/* Only one of the two is a configuration error. */
	assert_int_equal(certs_prepare(cert, NULL, d->b, true, co, sizeof(co), ko, sizeof(ko),
				       err, sizeof(err)), -EINVAL);
	/* No pair and self-signed refused. */
	assert_int_equal(certs_prepare(NULL, NULL, d->b, false, co, sizeof(co), ko, sizeof(ko),
				       err, sizeof(err)), -ENOENT);
}

static void test_mismatch(void **state)
{
	struct dirs *d = *state;
	char ca[PATH_MAX], ka[PATH_MAX], cb[PATH_MAX], kb[PATH_MAX], err[512] = "";
	char co[PATH_MAX], ko[PATH_MAX];

	prepare(d->a, ca, ka);
	prepare(d->b, cb, kb);
	assert_int_equal(certs_check_pair(ca, kb, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, kb));
	assert_non_null(strstr(err, "does not match"));
	err[0] = '\0';
	assert_int_equal(certs_prepare(ca, kb, NULL, true, co, sizeof(co), ko, sizeof(ko), err,
				       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, kb));
	/* A generated pair whose key was replaced is refused, not regenerated. */
	assert_int_equal(rename(kb, ka), 0);
	err[0] = '\0';
	assert_int_equal(certs_prepare(NULL, NULL, d->a, true, co, sizeof(co), ko, sizeof(ko),
				       err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ka));
}

static void test_unreadable(void **state)
{
	struct dirs *d = *state;
	char cert[PATH_MAX], key[PATH_MAX], bad[PATH_MAX], err[512] = "";
	int64_t na;

	prepare(d->a, cert, key);
	snprintf(bad, sizeof(bad), "%s/missing.pem", d->b);
	assert_int_equal(certs_check_pair(bad, key, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, bad));
	err[0] = '\0';
	assert_int_equal(certs_check_pair(cert, bad, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, bad));
	err[0] = '\0';
	assert_int_equal(certs_not_after(bad, &na, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, bad));
	/* A directory opens but does not read. */
	err[0] = '\0';
	assert_true(certs_check_pair(d->b, key, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, d->b));

	snprintf(bad, sizeof(bad), "%s/garbage.pem", d->b);
	write_file(bad, "this is not PEM\n");
	err[0] = '\0';
	assert_int_equal(certs_check_pair(bad, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "not a PEM certificate"));
	err[0] = '\0';
	assert_int_equal(certs_check_pair(cert, bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a PEM private key"));
	/* A certificate is not a key. */
	err[0] = '\0';
	assert_int_equal(certs_check_pair(cert, cert, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, cert));
}

/* A certificate with a known notAfter, built here with OpenSSL. */
static void test_expiry_value(void **state)
{
	struct dirs *d = *state;
	const int64_t when = 1893456000;	/* 2030-01-01T00:00:00Z */
	char path[PATH_MAX], err[512];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	int64_t na = 0;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(when - 86400)));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)when));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/fixed.pem", d->b);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_int_equal(certs_not_after(path, &na, err, sizeof(err)), 0);
	assert_int_equal(na, when);
	X509_free(x);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configured_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_value, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
