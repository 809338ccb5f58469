#ifndef KCHECK_CKERNEL_SHIM_H
#define KCHECK_CKERNEL_SHIM_H
#include <stddef.h>
/* <sys/timex.h> is not part of Swift's Glibc module map. */
#include <sys/timex.h>

/* STA_UNSYNC is a macro with a cast Swift cannot import. */
static inline int kcheck_sta_unsync(void) { return STA_UNSYNC; }

/* Reads the kernel clock's state without changing it (modes = 0).
   Returns the clock state or -1 with errno set. */
static inline int kcheck_read_timex(long *maxerror_us, long *esterror_us, int *status) {
    struct timex tx = {0};
    int rc = adjtimex(&tx);
    if (rc < 0) return -1;
    *maxerror_us = tx.maxerror;
    *esterror_us = tx.esterror;
    *status = tx.status;
    return rc;
}

/* memmem is a GNU extension that Swift's Glibc module does not declare. */
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *kcheck_memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen) {
    return memmem(haystack, haystacklen, needle, needlelen);
}
/* The listening TCP sockets of this network namespace, asked of the kernel through sock_diag
   (NETLINK_SOCK_DIAG, what `ss -lt` uses): the kernel walks only its listening hash, where
   reading /proc/net/tcp walks every bucket of the established hash too (milliseconds on a
   machine with a large table). Each socket: its address (4 or 16 bytes, network order), port,
   owner's uid and inode. Returns how many were written (at most `max`), or -errno. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <arpa/inet.h>

struct kcheck_listener {
    unsigned char address[16];
    unsigned short port;
    unsigned int uid;
    unsigned long inode;
};

static inline int kcheck_tcp_listeners(int family, struct kcheck_listener *out, int max) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -errno;
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = 1;
    message.request.sdiag_family = (unsigned char)family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << 10; /* TCP_LISTEN */
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* A kernel that never answers must not hang the run. */
    struct timeval patience = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    static __thread unsigned char buffer[32768] __attribute__((aligned(8)));
    int count = 0;
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0) break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; n > 0 && NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                /* A dump cut short says so with a negative error after the header. */
                int status = h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) ? *(int *)NLMSG_DATA(h) : 0;
                close(fd);
                return status < 0 ? status : count;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *err = (struct nlmsgerr *)NLMSG_DATA(h);
                close(fd);
                return err->error < 0 ? err->error : -EIO;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
            struct inet_diag_msg *m = (struct inet_diag_msg *)NLMSG_DATA(h);
            if (m->idiag_state != 10 || count >= max) continue;
            struct kcheck_listener *l = &out[count++];
            memset(l, 0, sizeof *l);
            memcpy(l->address, m->id.idiag_src, family == AF_INET ? 4 : 16);
            l->port = ntohs(m->id.idiag_sport);
            l->uid = m->idiag_uid;
            l->inode = m->idiag_inode;
        }
    }
    close(fd);
    return count;
}
#endif
