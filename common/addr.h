#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Addresses with a port, as configuration files, URLs and the WireGuard
 * UAPI write them: "HOST:PORT", or "[HOST]:PORT" for an IPv6 host (which may
 * carry a "%ZONE").
 */

/*
 * Splits text into host (without brackets) and port (0..65535). Parsing
 * stops after the port, or after the host when there is no ":PORT" and
 * port_optional (then *port is left as it is); *rest, when not NULL, points
 * there, and without rest the text must end there. A bare host ends at the
 * last ':' (numeric), or with port_optional at the first of ":/?#". -EINVAL.
 */
int addr_split(const char *text, char *host, size_t hostlen, uint16_t *port,
	       int port_optional, const char **rest);

/*
 * A numeric host and a port as a socket address; an IPv6 zone is a number
 * or an interface name. len may be NULL. -EINVAL.
 */
int addr_numeric(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* addr_split then addr_numeric, the whole text. -EINVAL. */
int addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* An IPv4-mapped IPv6 address becomes the IPv4 address it maps (port kept). */
void addr_unmap(struct sockaddr_storage *ss);

/* The numeric host of sa, an IPv4-mapped IPv6 one as IPv4; "unknown" if none. */
void addr_host_text(const struct sockaddr *sa, char *out, size_t len);

/*
 * What a client's address counts as for per-address limits: an IPv4
 * address as itself, an IPv6 one as its /64 (one end site gets a whole
 * /64, so counting addresses would count nothing), a link-local one as
 * fe80::/64 on its link. key is 16 bytes; text, when not NULL, gets
 * "A.B.C.D", "PREFIX::/64" or "fe80::/64%SCOPE". -EAFNOSUPPORT.
 */
#define ADDR_KEY_LEN 16
#define ADDR_KEY_TEXT 48
int addr_client_key(const struct sockaddr *sa, uint8_t key[ADDR_KEY_LEN], char *text,
		    size_t textlen);

#endif
