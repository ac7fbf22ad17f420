#include "common/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
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

void addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in in4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return;
	in4.sin_port = in6->sin6_port;
	memcpy(&in4.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &in4, sizeof(in4));
}

void addr_host_text(const struct sockaddr *sa, char *out, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	const void *a;

	if (sa->sa_family == AF_INET)
		memcpy(&ss, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&ss, sa, sizeof(struct sockaddr_in6));
	addr_unmap(&ss);
	a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				     : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    !inet_ntop(ss.ss_family, a, out, (socklen_t)len))
		snprintf(out, len, "unknown");
}

int addr_client_key(const struct sockaddr *sa, uint8_t key[ADDR_KEY_LEN], char *text,
		    size_t textlen)
{
	struct sockaddr_storage ss = { 0 };
	char buf[INET6_ADDRSTRLEN];
	uint32_t scope;

	if (sa->sa_family == AF_INET)
		memcpy(&ss, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&ss, sa, sizeof(struct sockaddr_in6));
	else
		return -EAFNOSUPPORT;
	addr_unmap(&ss);
	memset(key, 0, ADDR_KEY_LEN);
	if (ss.ss_family == AF_INET) {
		const struct in_addr *a = &((struct sockaddr_in *)&ss)->sin_addr;

		key[10] = key[11] = 0xff;	/* the IPv4-mapped form: no /64 looks like it */
		memcpy(key + 12, a, 4);
		if (text)
			snprintf(text, textlen, "%s", inet_ntop(AF_INET, a, buf, sizeof(buf)));
		return 0;
	}
	memcpy(key, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, 8);
	/* fe80::/64 is on every link: which link it came by tells clients apart. */
	scope = IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&ss)->sin6_addr)
			? ((struct sockaddr_in6 *)&ss)->sin6_scope_id : 0;
	memcpy(key + 8, &scope, sizeof(scope));
	if (text) {
		struct in6_addr prefix = { 0 };
		int n;

		memcpy(prefix.s6_addr, key, 8);
		n = snprintf(text, textlen, "%s/64", inet_ntop(AF_INET6, &prefix, buf, sizeof(buf)));
		if (scope && n >= 0 && (size_t)n < textlen)
			snprintf(text + n, textlen - (size_t)n, "%%%u", (unsigned)scope);
	}
	return 0;
}
