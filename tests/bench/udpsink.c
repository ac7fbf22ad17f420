/*
 * udpsink ADDR PORT [IDLE_SECONDS]: counts the datagrams that arrive on a UDP
 * port, for the relay benchmark (tests/bench/relay.sh). Prints
 * ready=1 once bound. After the first datagram, stops at IDLE_SECONDS
 * (default 1) without traffic, or at SIGTERM, and prints the count and the
 * rate between the first and the last datagram.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#define BATCH 64
#define DGRAM 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][DGRAM];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sigaction sa = { .sa_handler = on_signal };
	double idle = argc > 3 ? strtod(argv[3], NULL) : 1.0, first = 0, last = 0;
	uint64_t count = 0, bytes = 0;
	int fd, rcvbuf = 16 << 20;

	if (argc < 3) {
		fprintf(stderr, "usage: udpsink ADDR PORT [IDLE_SECONDS]\n");
		return 2;
	}
	if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
		fprintf(stderr, "udpsink: bad address %s %s\n", argv[1], argv[2]);
		return 2;
	}
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		perror("udpsink: bind");
		return 1;
	}
	freeaddrinfo(res);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = DGRAM;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready=1\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 100);

		if (n < 0 && errno != EINTR) {
			perror("udpsink: poll");
			return 1;
		}
		if (n <= 0) {
			if (count && now_s() - last >= idle)
				break;
			continue;
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		last = now_s();
		if (!count)
			first = last;
		for (int i = 0; i < n; i++)
			bytes += msgs[i].msg_len;
		count += (uint64_t)n;
	}
	{
		double secs = last > first ? last - first : 0;

		printf("datagrams=%llu bytes=%llu seconds=%.3f dps=%.0f gbps=%.3f\n",
		       (unsigned long long)count, (unsigned long long)bytes, secs,
		       secs > 0 ? (double)count / secs : 0,
		       secs > 0 ? (double)bytes * 8 / secs / 1e9 : 0);
	}
	close(fd);
	return 0;
}
