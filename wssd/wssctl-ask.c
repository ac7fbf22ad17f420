/* wssctl's side of the daemon's control socket (the protocol is in ctl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "wssd/wssctl.h"

/* The daemon gives up on an answer after 30 s; this is a little longer. */
#define ASK_TIMEOUT 35
#define ANSWER_MAX (256u << 20)

static int unreachable(const char *path, int err, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "cannot reach wssd at %s: %s (is wssd running?)", path,
		 strerror(err));
	return -err;
}

static int connect_to(const char *path, char *msg, size_t msglen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ASK_TIMEOUT };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return unreachable(path, ENAMETOOLONG, msg, msglen);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return unreachable(path, errno, msg, msglen);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;

		close(fd);
		return unreachable(path, err, msg, msglen);
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads to the end; the result is NUL-terminated. */
static int read_all(int fd, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *grown;

			cap = cap ? cap * 2 : 8192;
			if (cap > ANSWER_MAX || !(grown = realloc(buf, cap))) {
				ret = -ENOMEM;
				goto out;
			}
			buf = grown;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	free(buf);
	return ret;
}

int wssctl_ask(const char *path, const char *request, char **body, char *msg, size_t msglen)
{
	char *answer = NULL, *line = NULL;
	size_t len = 0;
	int fd, ret;

	*body = NULL;
	fd = connect_to(path, msg, msglen);
	if (fd < 0)
		return fd;
	len = strlen(request);
	line = malloc(len + 2);
	if (!line) {
		ret = -ENOMEM;
		snprintf(msg, msglen, "%s", strerror(ENOMEM));
		goto out;
	}
	memcpy(line, request, len);
	memcpy(line + len, "\n", 2);
	ret = send_all(fd, line, len + 1);
	if (ret == 0)
		ret = read_all(fd, &answer, &len);
	if (ret < 0) {
		snprintf(msg, msglen, "wssd at %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!strncmp(answer, "ok\n", 3)) {
		memmove(answer, answer + 3, len - 2);
		*body = answer;
		answer = NULL;
	} else if (!strncmp(answer, "error ", 6)) {
		ret = -EREMOTEIO;
		answer[strcspn(answer, "\n")] = '\0';
		snprintf(msg, msglen, "%s", answer + 6);
	} else {
		ret = -EPROTO;
		snprintf(msg, msglen, "wssd at %s: %s", path,
			 len ? "an answer that is neither ok nor error" : "no answer");
	}
out:
	free(line);
	free(answer);
	close(fd);
	return ret;
}
