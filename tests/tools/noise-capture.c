/*
 * noise-capture ADDR PORT DIR COUNT: a UDP listener standing in for a
 * WireGuard gateway that never answers. Writes each of the first COUNT
 * handshake initiations (type 1) it receives to DIR/init-N.bin (N from 1,
 * renamed into place when complete), creates DIR/ready once bound, and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char tmp[4096], path[4096];
	int fd, ret = -1;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) == (ssize_t)len && rename(tmp, path) == 0)
		ret = 0;
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned char buf[2048];
	int fd, count, n = 0;
	char name[64];

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDR PORT DIR COUNT\n", argv[0]);
		return 2;
	}
	count = atoi(argv[4]);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) == 1) {
		sa.sin_port = htons((unsigned short)atoi(argv[2]));
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	} else if (inet_pton(AF_INET6, argv[1], &sa6.sin6_addr) == 1) {
		sa6.sin6_port = htons((unsigned short)atoi(argv[2]));
		fd = socket(AF_INET6, SOCK_DGRAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) < 0)
			goto fail;
	} else {
		fprintf(stderr, "noise-capture: bad address %s\n", argv[1]);
		return 2;
	}
	if (write_file(argv[3], "ready", "", 0) < 0)
		goto fail;
	while (n < count) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (len < 4 || buf[0] != 1)
			continue;
		snprintf(name, sizeof(name), "init-%d.bin", ++n);
		if (write_file(argv[3], name, buf, (size_t)len) < 0)
			goto fail;
	}
	return 0;
fail:
	perror("noise-capture");
	return 1;
}
