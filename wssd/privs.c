/*
 * Dropping to admin.user with only the capabilities the daemon still uses
 * (libcap), and the helper that connects to a root-owned UAPI socket for it.
 */
#define _GNU_SOURCE
#include "wssd/privs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fail(int ret, char *err, size_t errlen, const char *what, const char *user)
{
	snprintf(err, errlen, "admin.user: %s for \"%s\": %s", what, user, strerror(-ret));
	return ret;
}

static int lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "admin.user: no such user \"%s\"", user);
		return errno ? -errno : -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int privs_give(const char *user, const char *path, bool contents, char *err, size_t errlen)
{
	struct dirent *e;
	struct stat st;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	DIR *dir;
	int ret = lookup(user, &uid, &gid, err, errlen);

	if (ret < 0)
		return ret;
	if (chown(path, uid, gid) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot give it to \"%s\": %s", path, user, strerror(errno));
		return ret;
	}
	if (!contents || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	dir = opendir(path);
	if (!dir) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while ((e = readdir(dir))) {
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fchownat(dirfd(dir), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s/%s: cannot give it to \"%s\": %s", path, e->d_name,
				 user, strerror(errno));
			break;
		}
	}
	closedir(dir);
	return ret;
}

/* From /proc: a capability set on one thread says nothing of the others. */
static int thread_count(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Empties the bounding set but for CAP_NET_ADMIN with keep; needs CAP_SETPCAP. */
static int bound_to(bool keep_net_admin)
{
	for (cap_value_t c = 0; c < cap_max_bits(); c++) {
		if (keep_net_admin && c == CAP_NET_ADMIN)
			continue;
		if (cap_get_bound(c) == 1 && cap_drop_bound(c) < 0)
			return -errno;
	}
	return 0;
}

int privs_drop(const char *user, char *err, size_t errlen)
{
	cap_value_t keep[] = { CAP_NET_ADMIN };
	int n_keep = 1, ret;
	cap_t caps = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	ret = lookup(user, &uid, &gid, err, errlen);
	if (ret < 0)
		return ret;
	if (uid == 0) {
		snprintf(err, errlen, "admin.user: \"%s\" is root", user);
		return -EINVAL;
	}
	if (thread_count() != 1) {
		snprintf(err, errlen, "admin.user: privileges must be dropped before a thread starts");
		return -EBUSY;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "admin.user: switching to \"%s\" needs wssd started as root",
			 user);
		return -EPERM;
	}
	/* The bounding set first: dropping from it takes CAP_SETPCAP, still ours. */
	ret = bound_to(true);
	if (ret < 0)
		return fail(ret, err, errlen, "cannot empty the bounding set", user);
	if (initgroups(user, gid) < 0)
		return fail(-errno, err, errlen, "cannot set the groups", user);
	/* Keeps the permitted set across setuid; the effective one is cleared. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(-errno, err, errlen, "cannot keep capabilities", user);
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return fail(-errno, err, errlen, "cannot switch", user);
	caps = cap_init();
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, n_keep, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n_keep, keep, CAP_SET) < 0 || cap_set_proc(caps) < 0) {
		ret = -errno;
		cap_free(caps);
		return fail(ret, err, errlen, "cannot set the capabilities kept", user);
	}
	cap_free(caps);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || cap_reset_ambient() < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(-errno, err, errlen, "cannot lock the capabilities", user);
	if (setuid(0) == 0 || getuid() != uid || geteuid() != uid || getegid() != gid) {
		snprintf(err, errlen, "admin.user: \"%s\": the switch did not hold", user);
		return -EPERM;
	}
	return 0;
}

static int helper_sock = -1;
static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;

/* How long the helper tries to connect while the socket's backlog is full. */
#define HELPER_CONNECT_MS 2000

static int connect_now(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (int waited = 0; connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0;
	     waited += 10) {
		if (errno == EISCONN)
			break;
		if ((errno != EAGAIN && errno != EINPROGRESS && errno != EALREADY) ||
		    waited >= HELPER_CONNECT_MS) {
			int ret = errno == EAGAIN ? -ETIMEDOUT : -errno;

			close(fd);
			return ret;
		}
		nanosleep(&pause, NULL);
	}
	return fd;
}

/* One answer: the errno (0 when fd is passed along). */
static void answer(int sock, int fd, int error)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	sendmsg(sock, &msg, MSG_NOSIGNAL);
}

static void __attribute__((noreturn)) helper_main(int sock, const char *path)
{
	sigset_t none;
	cap_t caps;
	uint8_t b;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(sock, 3) < 0 || close_range(4, ~0U, 0) < 0)
		_exit(1);
	sock = 3;
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	prctl(PR_SET_NAME, "wssd-uapi", 0, 0, 0);
	/* uid 0 is all it keeps: the socket is root's */
	caps = cap_init();
	if (bound_to(false) < 0 || !caps || cap_set_proc(caps) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(1);
	cap_free(caps);
	while (recv(sock, &b, 1, 0) == 1) {
		int fd = connect_now(path);

		answer(sock, fd, fd < 0 ? -fd : 0);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

int privs_uapi_helper(const char *path, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = 5 };
	int sv[2], ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(sv[1], path);
	}
	close(sv[1]);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	helper_sock = sv[0];
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "gateway.uapi_socket: cannot start its helper: %s", strerror(errno));
	return ret;
}

int privs_uapi_connect(const char *path, void *arg)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int error = EIO, fd = -1;
	struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	uint8_t b = 1;
	ssize_t n;

	(void)path;	/* the helper knows it */
	(void)arg;
	pthread_mutex_lock(&helper_lock);
	n = send(helper_sock, &b, 1, MSG_NOSIGNAL);
	if (n == 1)
		n = recvmsg(helper_sock, &msg, MSG_CMSG_CLOEXEC);
	pthread_mutex_unlock(&helper_lock);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n != sizeof(error))
		return -ECONNRESET;	/* the helper is gone */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (fd < 0)
		return -(error ? error : EIO);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}
