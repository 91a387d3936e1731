#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "BerthReap.h"

struct reap_job {
    const void *request;
    size_t length;
    int netns_fd;
};

/// The child: forks the grandchild (a raw fork: no atfork handlers run in this borrowed
/// memory) and exits, so the caller reaps it at once and the grandchild belongs to init (or
/// the nearest subreaper) from then on.
static int reap_intermediate(void *argument) {
    const struct reap_job *job = argument;
    long grandchild = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    // The grandchild, on its own copy of the memory: out of the caller's session (a
    // terminal's ^C is not for it), into the namespace, holding nothing of the caller's
    // (its state lock above all), then the request on a socket of its own.
    setsid();
    if (job->netns_fd >= 0 && setns(job->netns_fd, CLONE_NEWNET) != 0) _exit(1);
    syscall(SYS_close_range, 0U, ~0U, 0U);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) _exit(1);
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    ssize_t sent;
    do {
        sent = sendto(fd, job->request, job->length, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    _exit(sent < 0 ? 1 : 0);
}

int berth_delete_link_detached(int netns_fd, const char *ifname) {
    // The whole request is built here, before the fork: the children only send it.
    struct {
        struct nlmsghdr header;
        struct ifinfomsg info;
        char attributes[RTA_SPACE(IFNAMSIZ)];
    } request;
    size_t length = strlen(ifname);
    if (length == 0 || length >= IFNAMSIZ) {
        errno = EINVAL;
        return -1;
    }
    memset(&request, 0, sizeof request);
    struct rtattr *name = (struct rtattr *)request.attributes;
    name->rta_type = IFLA_IFNAME;
    name->rta_len = RTA_LENGTH(length + 1);
    memcpy(RTA_DATA(name), ifname, length + 1);
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof request.info) + RTA_ALIGN(name->rta_len);
    request.header.nlmsg_type = RTM_DELLINK;
    // No NLM_F_ACK: nobody reads the answer. The kernel deletes the link inside sendto.
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.info.ifi_family = AF_UNSPEC;
    struct reap_job job = { .request = &request, .length = request.header.nlmsg_len, .netns_fd = netns_fd };

    // The child shares the caller's memory and runs on a stack of its own while the caller
    // waits (CLONE_VFORK), as posix_spawn does: no copy of the caller's page tables for a
    // process that only forks once more and exits. Signals stay blocked meanwhile, so no
    // handler of the caller's runs on that stack.
    size_t size = 64 * 1024;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t child = clone(reap_intermediate, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &job);
    int saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, size);
    if (child < 0) {
        errno = saved_errno;
        return -1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        // ECHILD: someone else reaped it (a caller's SIGCHLD handler, or SIGCHLD ignored);
        // the grandchild was started all the same unless its fork failed, which we cannot
        // see then, and gc finds the link.
        if (errno == ECHILD) return 0;
        if (errno != EINTR) return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = EAGAIN;
        return -1;
    }
    return 0;
}
