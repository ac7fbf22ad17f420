/* TLS on the listeners: the contexts lws creates, failed handshakes, certificate reload. */
#include "transport/internal.h"
#include "common/log.h"
#include "common/metrics.h"

#include <errno.h>
#include <stdio.h>

/* lws shows each vhost's SSL_CTX once, when it is made. */
void tls_capture_ctx(struct transport *t, SSL_CTX *ssl_ctx)
{
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	for (unsigned i = 0; i < t->n_ssl_ctx; i++)
		if (t->ssl_ctx[i] == ssl_ctx)
			return;
	if (t->n_ssl_ctx < TRANSPORT_MAX_VHOSTS)
		t->ssl_ctx[t->n_ssl_ctx++] = ssl_ctx;
}

/*
 * A handshake that ends for good (not waiting for more bytes) without
 * completing: garbage instead of a ClientHello, no common cipher, ...
 */
int tls_info(struct transport *t, struct lws *wsi, const struct lws_ssl_info *si)
{
	static struct log_limit lim;	/* any client can make one */
	SSL *ssl = lws_get_ssl(wsi);
	char remote[48];

	if (!(si->where & SSL_CB_EXIT) || si->ret > 0 || !ssl ||
	    SSL_get_error(ssl, si->ret) != SSL_ERROR_SSL)
		return 0;
	metric_inc(t->m.perr_tls);
	session_peer_addr(wsi, remote, sizeof(remote));
	log_limited(&lim, LOG_LEVEL_WARN, "event=tls_error remote=%s reason=handshake_failed", remote);
	return 0;
}

int transport_reload_cert(struct transport *t, const char *cert, const char *key, char *err,
			  size_t errlen)
{
	for (unsigned i = 0; i < t->n_ssl_ctx; i++) {
		SSL_CTX *c = t->ssl_ctx[i];

		if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
			snprintf(err, errlen, "%s: cannot load the certificate", cert);
			return -EINVAL;
		}
		if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c) != 1) {
			snprintf(err, errlen, "%s: cannot load the key or it does not match %s",
				 key, cert);
			return -EINVAL;
		}
	}
	metric_inc(t->m.cert_reloads);
	return 0;
}
