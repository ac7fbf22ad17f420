#ifndef CERTS_CERTS_H
#define CERTS_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * TLS material for the listeners. All functions return 0 or -errno and, on
 * error, write a one-line reason naming the file into err.
 */

/*
 * Chooses the certificate and key to serve: cert/key when both are set,
 * otherwise (self_signed allowed) STATE_DIR/tls-cert.pem and tls-key.pem,
 * generated on first use (key mode 0600) and reused after. The chosen pair
 * is checked with certs_check_pair.
 */
int certs_prepare(const char *cert, const char *key, const char *state_dir, bool self_signed,
		  char *cert_out, size_t cert_out_len, char *key_out, size_t key_out_len,
		  char *err, size_t errlen);

/* Both files readable, PEM, and the key matches the certificate. */
int certs_check_pair(const char *cert, const char *key, char *err, size_t errlen);

/* The certificate's notAfter as unix seconds, into *not_after. */
int certs_not_after(const char *cert, int64_t *not_after, char *err, size_t errlen);

#endif
