#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"

#define SELF_CERT "tls-cert.pem"
#define SELF_KEY "tls-key.pem"
#define SELF_DAYS 3650

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int read_cert(const char *path, X509 **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return seterr(err, errlen, -errno, "%s: cannot read certificate: %s", path,
			      strerror(errno));
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*out)
		return seterr(err, errlen, -EINVAL, "%s: not a PEM certificate", path);
	return 0;
}

static int read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return seterr(err, errlen, -errno, "%s: cannot read private key: %s", path,
			      strerror(errno));
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*out)
		return seterr(err, errlen, -EINVAL, "%s: not a PEM private key", path);
	return 0;
}

int certs_check_pair(const char *cert, const char *key, char *err, size_t errlen)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int ret;

	ret = read_cert(cert, &x, err, errlen);
	if (ret)
		goto out;
	ret = read_key(key, &k, err, errlen);
	if (ret)
		goto out;
	if (X509_check_private_key(x, k) != 1)
		ret = seterr(err, errlen, -EINVAL, "%s: private key does not match certificate %s",
			     key, cert);
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return ret;
}

int certs_not_after(const char *cert, int64_t *not_after, char *err, size_t errlen)
{
	X509 *x = NULL;
	struct tm tm;
	int ret;

	ret = read_cert(cert, &x, err, errlen);
	if (ret)
		return ret;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		ret = seterr(err, errlen, -EINVAL, "%s: bad notAfter", cert);
	else
		*not_after = (int64_t)timegm(&tm);
	X509_free(x);
	return ret;
}

/* Writes PEM through fn into dir/name atomically (temp file, fsync, rename). */
static int write_pem(const char *dir, const char *name, mode_t mode,
		     int (*fn)(FILE *, void *), void *obj, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return seterr(err, errlen, -ENAMETOOLONG, "%s: path too long", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		return seterr(err, errlen, -errno, "%s: cannot create: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) < 0) {
		ret = seterr(err, errlen, -errno, "%s: chmod: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = seterr(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (!fn(f, obj) || fflush(f) != 0 || fsync(fileno(f)) < 0) {
		ret = seterr(err, errlen, -EIO, "%s: cannot write", tmp);
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		ret = seterr(err, errlen, -EIO, "%s: cannot write", tmp);
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) < 0)
		ret = seterr(err, errlen, -errno, "%s: rename: %s", path, strerror(errno));
out:
	if (f)
		fclose(f);
	if (ret)
		unlink(tmp);
	return ret;
}

static int pem_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

static X509 *make_cert(EVP_PKEY *k, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	char san[300];
	uint64_t serial;
	bool ok = false;

	if (!x)
		return NULL;
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		goto out;
	serial >>= 1;	/* positive */
	snprintf(san, sizeof(san), "DNS:%s", host);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)SELF_DAYS * 86400) ||
	    X509_set_pubkey(x, k) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)host, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	if (!ext)
		goto out;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	if (ok)
		ok = X509_sign(x, k, EVP_sha256()) > 0;
out:
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A fresh EC P-256 key and a self-signed certificate for this host's name. */
static int generate(const char *dir, char *err, size_t errlen)
{
	char host[256];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int ret;

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	k = EVP_EC_gen("P-256");
	if (!k) {
		ret = seterr(err, errlen, -ENOMEM, "cannot generate a P-256 key");
		goto out;
	}
	x = make_cert(k, host);
	if (!x) {
		ret = seterr(err, errlen, -ENOMEM, "cannot build a self-signed certificate");
		goto out;
	}
	/* Key first: a certificate on disk always has its key beside it. */
	ret = write_pem(dir, SELF_KEY, 0600, pem_key, k, err, errlen);
	if (!ret)
		ret = write_pem(dir, SELF_CERT, 0644, pem_cert, x, err, errlen);
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	return ret;
}

static int copy_out(char *out, size_t len, const char *path, char *err, size_t errlen)
{
	if ((size_t)snprintf(out, len, "%s", path) >= len)
		return seterr(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	return 0;
}

int certs_prepare(const char *cert, const char *key, const char *state_dir, bool self_signed,
		  char *cert_out, size_t cert_out_len, char *key_out, size_t key_out_len,
		  char *err, size_t errlen)
{
	char c[PATH_MAX], k[PATH_MAX];
	bool have_cert = cert && cert[0], have_key = key && key[0];
	struct stat st;
	int ret;

	if (have_cert != have_key)
		return seterr(err, errlen, -EINVAL,
			      "websocket.cert and websocket.key must be set together");
	if (have_cert) {
		ret = certs_check_pair(cert, key, err, errlen);
		if (ret)
			return ret;
		ret = copy_out(cert_out, cert_out_len, cert, err, errlen);
		return ret ? ret : copy_out(key_out, key_out_len, key, err, errlen);
	}
	if (!self_signed)
		return seterr(err, errlen, -ENOENT,
			      "no websocket.cert/websocket.key configured and self_signed = no");
	if (!state_dir || !state_dir[0])
		return seterr(err, errlen, -EINVAL, "no state directory for a self-signed certificate");
	if ((size_t)snprintf(c, sizeof(c), "%s/%s", state_dir, SELF_CERT) >= sizeof(c) ||
	    (size_t)snprintf(k, sizeof(k), "%s/%s", state_dir, SELF_KEY) >= sizeof(k))
		return seterr(err, errlen, -ENAMETOOLONG, "%s: path too long", state_dir);
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return seterr(err, errlen, -errno, "%s: cannot create: %s", state_dir,
			      strerror(errno));
	/* Generate only when neither file is there: never overwrite a key. */
	if (stat(c, &st) < 0 && errno == ENOENT && stat(k, &st) < 0 && errno == ENOENT) {
		ret = generate(state_dir, err, errlen);
		if (ret)
			return ret;
	}
	ret = certs_check_pair(c, k, err, errlen);
	if (ret)
		return ret;
	ret = copy_out(cert_out, cert_out_len, c, err, errlen);
	return ret ? ret : copy_out(key_out, key_out_len, k, err, errlen);
}
