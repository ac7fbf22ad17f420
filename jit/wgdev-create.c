/* wgdev_ensure: from a bare machine to a usable device at start-up. */
#include "jit/wgdev.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jit/wgdev-impl.h"
#include "common/clock.h"
#include "common/log.h"

#define WGDEV_WAIT_MS 10000

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, ": %s", strerror(-ret));
	return ret;
}

/* Sends one rtnetlink request and waits for its acknowledgement. */
static int rtnl_request(struct nlmsghdr *nlh, void *buf, size_t size)
{
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	ssize_t n;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, size);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* ip link add IFNAME type wireguard; or, with del, ip link del IFNAME. */
static int rtnl_link(const char *ifname, bool del)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = del ? RTM_DELLINK : RTM_NEWLINK;
	nlh->nlmsg_flags = del ? 0 : NLM_F_CREATE | NLM_F_EXCL;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (!del) {
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
		mnl_attr_nest_end(nlh, info);
	}
	return rtnl_request(nlh, buf, sizeof(buf));
}

/* ip addr add ADDR/PREFIX dev IFNAME (IPv6 without duplicate detection). */
static int rtnl_addr(const char *ifname, const struct wg_allowedip *ip)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned index = if_nametoindex(ifname);
	size_t len = ip->family == AF_INET ? sizeof(ip->ip4) : sizeof(ip->ip6);

	if (!index)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)ip->family;
	ifa->ifa_prefixlen = ip->cidr;
	ifa->ifa_index = index;
	ifa->ifa_flags = ip->family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, len, &ip->ip4);
	mnl_attr_put(nlh, IFA_ADDRESS, len, &ip->ip4);
	return rtnl_request(nlh, buf, sizeof(buf));
}

/*
 * Runs the userspace implementation for ifname; it puts itself in the
 * background once its interface and socket exist. Then waits for the socket.
 */
static int userspace_create(const char *ifname, const char *sock, unsigned wait_ms,
			    const char **prog_out)
{
	const char *prog = getenv("WG_QUICK_USERSPACE_IMPLEMENTATION");
	int64_t deadline = clock_msec() + wait_ms;
	struct stat st;
	int status, fd;
	pid_t pid;

	if (!prog || !prog[0])
		prog = "wireguard-go";
	*prog_out = prog;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* nothing of the caller's but stderr: no sockets, no blocked signals */
		if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
			for (fd = 3; fd < 4096; fd++)
				close(fd);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		signal(SIGPIPE, SIG_DFL);
		execlp(prog, prog, ifname, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -ENOEXEC;
	if (WEXITSTATUS(status) != 0)
		return -EIO;
	while (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (clock_msec() >= deadline)
			return -ETIMEDOUT;
		usleep(20000);
	}
	return 0;
}

static int link_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			ret = -errno;
	}
out:
	close(fd);
	return ret;
}

/* Writes a new private key, readable by the owner only. */
static int key_generate_file(uint8_t key[WG_KEY_LEN], const char *path)
{
	char b64[WG_KEY_B64_LEN + 1], tmp[PATH_MAX];
	size_t len;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	key_generate_private(key);
	key_to_base64(b64, key);
	len = strlen(b64);
	b64[len++] = '\n';
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, b64, len) != (ssize_t)len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

static int ensure_key(struct wgdev *dev, const struct wgdev_setup *s, char *err, size_t errlen)
{
	uint8_t key[WG_KEY_LEN];
	char path[PATH_MAX], quoted[PATH_MAX + 8];
	struct stat st;
	bool generated = false;
	int ret;

	if (!s->state_dir || !s->state_dir[0])
		return errf(err, errlen, -EINVAL, "%s has no private key and no state directory is set",
			    s->ifname);
	if (snprintf(path, sizeof(path), "%s/%s.key", s->state_dir, s->ifname) >= (int)sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "key path in %s", s->state_dir);
	if (stat(path, &st) == 0) {
		if (st.st_mode & 077)
			return errf(err, errlen, -EPERM, "%s: readable by others (mode %03o); "
				    "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		ret = key_read_file(key, path);
		if (ret)
			return errf(err, errlen, ret, "%s: not a WireGuard key", path);
	} else if (errno == ENOENT) {
		if (mkdir(s->state_dir, 0700) < 0 && errno != EEXIST)
			return errf(err, errlen, -errno, "mkdir %s", s->state_dir);
		ret = key_generate_file(key, path);
		if (ret)
			return errf(err, errlen, ret, "writing %s", path);
		generated = true;
	} else {
		return errf(err, errlen, -errno, "%s", path);
	}
	ret = wgdev_set_private_key(dev, key);
	sodium_memzero(key, sizeof(key));
	if (ret)
		return errf(err, errlen, ret, "setting the private key of %s", s->ifname);
	log_info("event=wgdev_key interface=%s key_file=%s action=%s", s->ifname,
		 log_quote(quoted, sizeof(quoted), path), generated ? "generated" : "loaded");
	return 0;
}

int wgdev_ensure(struct wgdev **out, const struct wgdev_setup *s, char *err, size_t errlen)
{
	struct wgdev_device info;
	struct wgdev *dev = NULL;
	char sock[108];
	const char *how = NULL, *prog = NULL;
	bool created = false;
	int ret, kret = 0;

	*out = NULL;
	if (!s->ifname[0] || strlen(s->ifname) >= IFNAMSIZ)
		return errf(err, errlen, -EINVAL, "interface name \"%s\"", s->ifname);
	if ((s->uapi_socket && s->uapi_socket[0] ?
	     snprintf(sock, sizeof(sock), "%s", s->uapi_socket) :
	     snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", s->ifname)) >= (int)sizeof(sock))
		return errf(err, errlen, -ENAMETOOLONG, "UAPI socket path");

	if (!if_nametoindex(s->ifname)) {
		if (!s->create)
			return errf(err, errlen, -ENODEV, "interface %s does not exist "
				    "(gateway.create = no)", s->ifname);
		if (s->backend != WGDEV_UAPI) {
			kret = rtnl_link(s->ifname, false);
			if (!kret)
				how = "kernel";
			else if (s->backend == WGDEV_NETLINK)
				return errf(err, errlen, kret, "creating kernel WireGuard interface %s",
					    s->ifname);
		}
		if (!how) {
			ret = userspace_create(s->ifname, sock, s->wait_ms ? s->wait_ms : WGDEV_WAIT_MS,
					       &prog);
			if (ret == -ENOEXEC)
				return errf(err, errlen, ret, "creating %s: kernel: %s; could not run %s",
					    s->ifname, kret ? strerror(-kret) : "not tried", prog);
			if (ret)
				return errf(err, errlen, ret, "creating %s with %s", s->ifname, prog);
			how = prog;
		}
		log_info("event=wgdev_created interface=%s by=%s", s->ifname, how);
		created = true;
	}

	memset(&info, 0, sizeof(info));
	ret = wgdev_open(&dev, s->backend, s->ifname, sock);
	if (ret == -ENOENT && s->backend == WGDEV_UAPI)
		errf(err, errlen, ret, "no UAPI socket %s for %s", sock, s->ifname);
	else if (ret == -EPROTONOSUPPORT)
		errf(err, errlen, ret, "%s: no UAPI socket at %s and the kernel has no "
		     "WireGuard netlink family", s->ifname, sock);
	else if (ret)
		errf(err, errlen, ret, "opening %s (%s backend)", s->ifname,
		     wgdev_backend_name(s->backend));
	if (ret)
		goto fail;
	ret = wgdev_get_device(dev, &info);
	if (ret) {
		errf(err, errlen, ret, "reading %s (%s backend)", s->ifname,
		     wgdev_backend_name(dev->backend));
		goto fail;
	}
	if (!info.has_private_key && (ret = ensure_key(dev, s, err, errlen)))
		goto fail;
	if (s->listen_port && info.listen_port != s->listen_port &&
	    (ret = wgdev_set_listen_port(dev, s->listen_port))) {
		errf(err, errlen, ret, "setting listen port %u on %s", s->listen_port, s->ifname);
		goto fail;
	}
	for (size_t i = 0; created && i < s->n_addresses; i++) {
		char text[ALLOWEDIP_STRLEN];

		allowedip_format(&s->addresses[i], text, sizeof(text));
		if ((ret = rtnl_addr(s->ifname, &s->addresses[i]))) {
			errf(err, errlen, ret, "adding address %s to %s", text, s->ifname);
			goto fail;
		}
		log_info("event=wgdev_address interface=%s address=%s", s->ifname, text);
	}
	if ((ret = link_up(s->ifname))) {
		errf(err, errlen, ret, "bringing %s up", s->ifname);
		goto fail;
	}
	sodium_memzero(&info, sizeof(info));
	*out = dev;
	return 0;
fail:
	sodium_memzero(&info, sizeof(info));
	wgdev_close(dev);
	/* leave no half-set-up interface behind (wireguard-go exits with it) */
	if (created && rtnl_link(s->ifname, true) == 0)
		log_info("event=wgdev_removed interface=%s reason=setup_failed", s->ifname);
	return ret;
}
