#ifndef JIT_WGDEV_NETLINK_H
#define JIT_WGDEV_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "jit/wgdev-impl.h"

struct nlmsghdr;

/*
 * Set messages are built to fit this; dumps are read with the larger one;
 * acknowledgements with one that holds an uncapped echo of a whole request.
 */
#define WGNL_MSG_MAX 8192
#define WGNL_DUMP_BUF 32768
#define WGNL_ACK_BUF (WGNL_MSG_MAX + 512)

int wgnl_open(struct wgdev *dev);
void wgnl_close(struct wgdev *dev);
int wgnl_get(struct wgdev *dev, struct wgdev_state *out);
/* On error, the messages before the refused one were applied. */
int wgnl_set(struct wgdev *dev, const struct wgdev_set *set);

/*
 * The socket alone: opened, bound, with capped acknowledgements
 * (NETLINK_CAP_ACK); wgnl_open then looks the family up.
 */
int wgnl_socket_open(struct wgdev *dev);
/*
 * Sends one request and reads until its acknowledgement: returns 0 or the
 * kernel's -errno, and the socket is ready for the next request either way.
 */
int wgnl_request(struct wgdev *dev, const struct nlmsghdr *nlh);
/*
 * Looks for the acknowledgement of seq in a receive. Returns 1 when it is
 * not there (read on), 0 for success, the kernel's -errno, -ENOBUFS for an
 * overrun, -EBADMSG for a malformed receive. Other messages (data, answers
 * to earlier requests cut short) are read past.
 */
int wgnl_ack_feed(const void *buf, size_t len, uint32_t seq, uint32_t portid);

/*
 * Splits a set into SET_DEVICE messages: device attributes in the first,
 * then as many peers and allowed IPs as fit; a peer cut short continues in
 * the next message with its public key and the rest of its allowed IPs, its
 * options (flags, PSK, endpoint, keepalive) only in its first fragment.
 */
struct wgnl_set_iter {
	const struct wgdev_set *set;
	size_t peer;		/* next peer to write */
	size_t ip;		/* its next allowed IP */
	bool peer_started;	/* its options went out already */
	bool first;		/* the next message is the first */
	bool done;
};

void wgnl_set_iter_init(struct wgnl_set_iter *it, const struct wgdev_set *set);
/*
 * Writes the next message into buf (size >= 256, at most WGNL_MSG_MAX used).
 * Returns its length, 0 once everything was written, -EMSGSIZE if a peer
 * cannot fit an empty message.
 */
int wgnl_set_next(struct wgnl_set_iter *it, void *buf, size_t size, uint16_t family,
		  const char *ifname, uint32_t seq);

/* A GET_DEVICE dump request for ifname; returns its length. */
int wgnl_build_get(void *buf, size_t size, uint16_t family, const char *ifname, uint32_t seq);

/*
 * Collects a dump: feed it each buffer received. Peers repeated across
 * messages (their allowed IPs overflowed one) are merged.
 */
struct wgnl_dump {
	struct wgdev_state st;
	bool interrupted;	/* NLM_F_DUMP_INTR seen: the dump must be redone */
};

void wgnl_dump_init(struct wgnl_dump *d);
void wgnl_dump_free(struct wgnl_dump *d);
/*
 * seq and portid 0 are not checked. Returns 1 if more is to come, 0 at the
 * end of the dump, the kernel's error as -errno, or -EBADMSG for a message
 * that is malformed.
 */
int wgnl_dump_feed(struct wgnl_dump *d, const void *buf, size_t len, uint32_t seq,
		   uint32_t portid);

#endif
