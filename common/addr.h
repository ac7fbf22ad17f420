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

#endif
