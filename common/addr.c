#include "common/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *text, uint16_t *port, const char **end)
{
	unsigned long v = 0;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p++ - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*port = (uint16_t)v;
	*end = p;
	return 0;
}

int addr_split(const char *text, char *host, size_t hostlen, uint16_t *port,
	       int port_optional, const char **rest)
{
	const char *h = text, *h_end, *p;
	size_t n;

	if (*text == '[') {
		h = text + 1;
		h_end = strchr(h, ']');
		if (!h_end)
			return -EINVAL;
		p = h_end + 1;
	} else if (port_optional) {
		h_end = text + strcspn(text, ":/?#");
		p = h_end;
	} else {
		h_end = strrchr(text, ':');
		if (!h_end)
			return -EINVAL;
		p = h_end;
	}
	n = (size_t)(h_end - h);
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	if (*p == ':') {
		if (parse_port(p + 1, port, &p) < 0)
			return -EINVAL;
	} else if (!port_optional) {
		return -EINVAL;
	}
	if (rest)
		*rest = p;
	else if (*p)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

int addr_numeric(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *zone;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (len)
			*len = sizeof(*sin);
		return 0;
	}
	if (strlen(host) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, host);
	zone = strchr(buf, '%');
	if (zone) {
		char *end;
		unsigned long id;

		*zone++ = '\0';
		errno = 0;
		id = strtoul(zone, &end, 10);
		if (isdigit((unsigned char)*zone) && !*end && !errno && id <= UINT32_MAX)
			sin6->sin6_scope_id = (uint32_t)id;
		else if (!(sin6->sin6_scope_id = if_nametoindex(zone)))
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) {
		memset(ss, 0, sizeof(*ss));
		return -EINVAL;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (len)
		*len = sizeof(*sin6);
	return 0;
}

int addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	uint16_t port = 0;

	if (addr_split(text, host, sizeof(host), &port, 0, NULL) < 0)
		return -EINVAL;
	/* An IPv6 host needs its brackets: "::1:80" would be ambiguous. */
	if ((*text == '[') != (strchr(host, ':') != NULL))
		return -EINVAL;
	return addr_numeric(host, port, ss, len);
}
