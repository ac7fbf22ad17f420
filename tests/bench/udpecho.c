/*
 * udpecho ADDR PORT: sends every datagram back to where it came from, in
 * batches (recvmmsg/sendmmsg), for the echo benchmark (tests/bench/relay.sh)
 * where it stands in for WireGuard. Prints ready=1 once bound; runs until
 * SIGTERM.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#define BATCH 64
#define DGRAM 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_storage from[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct addrinfo *res;
	uint8_t *bufs;
	int fd, buf = 16 << 20;

	if (argc < 3) {
		fprintf(stderr, "usage: udpecho ADDR PORT\n");
		return 2;
	}
	if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
		fprintf(stderr, "udpecho: bad address %s %s\n", argv[1], argv[2]);
		return 2;
	}
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		perror("udpecho: bind");
		return 1;
	}
	freeaddrinfo(res);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	bufs = malloc((size_t)BATCH * DGRAM);
	if (!bufs) {
		perror("udpecho");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready=1\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs + (size_t)i * DGRAM;
			iov[i].iov_len = DGRAM;
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
							   .msg_namelen = sizeof(from[i]),
							   .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			poll(&p, 1, 200);
			continue;
		}
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		for (int done = 0; done < n;) {
			int k = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);

			done += k > 0 ? k : 1;	/* a datagram that cannot go is lost */
		}
	}
	free(bufs);
	close(fd);
	return 0;
}
