#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
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
#include "raw_syscall.h"
#include "close_range.h"

/// The RTM_DELLINK request, built by the caller before any clone: the children only send it.
struct reap_request {
    struct nlmsghdr header;
    struct ifinfomsg info;
    char attributes[RTA_SPACE(IFNAMSIZ)];
};

/// What the grandchild needs, at the bottom of the mapping it runs on: it shares the caller's
/// memory (CLONE_VM) but reads nothing of it, so the caller may return, free its stack and
/// exit while the grandchild still runs.
struct reap_job {
    struct reap_request request;
    struct sockaddr_nl kernel;
    int netns_fd;
    void *mapping;
    size_t mapping_size;
};

enum { reap_mapping_size = 16 * 1024 };

#if defined(__x86_64__) || defined(__aarch64__)
/// Unmaps the mapping the caller runs on, then exits: no memory is touched between the two
/// calls (only registers), so the stack may vanish under it (as musl's pthread_exit does).
__attribute__((noreturn)) static void reap_unmap_and_exit(void *mapping, size_t size, int status) {
#if defined(__x86_64__)
    __asm__ volatile("syscall\n\t"
                     "movl %[exit], %%eax\n\t"
                     "movl %[status], %%edi\n\t"
                     "syscall"
                     :
                     : "a"((long)SYS_munmap), "D"(mapping), "S"(size), [exit] "i"(SYS_exit), [status] "r"(status)
                     : "rcx", "r11", "memory");
#else
    register long x8 __asm__("x8") = SYS_munmap;
    register long x0 __asm__("x0") = (long)mapping;
    register long x1 __asm__("x1") = (long)size;
    register long x2 __asm__("x2") = status;
    __asm__ volatile("svc #0\n\t"
                     "mov x8, %[exit]\n\t"
                     "mov x0, %[status]\n\t"
                     "svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), [status] "r"(x2), [exit] "i"(SYS_exit)
                     : "memory");
#endif
    __builtin_unreachable();
}


/// The grandchild, on a mapping of its own in the caller's memory: out of the caller's
/// session (a terminal's ^C is not for it), into the namespace, holding nothing of the
/// caller's (its state lock above all: its descriptor table is a copy), then the request on
/// a socket of its own; then it unmaps its stack and exits.
BERTH_NO_STACK_PROTECTOR static int reap_grandchild(void *argument) {
    struct reap_job *job = argument;
    int status = 1;
    berth_raw_syscall(SYS_setsid, 0, 0, 0, 0, 0, 0);
    if (job->netns_fd < 0 || berth_raw_syscall(SYS_setns, job->netns_fd, CLONE_NEWNET, 0, 0, 0, 0) == 0) {
        berth_close_range(0, ~0U);
        long fd = berth_raw_syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE, 0, 0, 0);
        if (fd >= 0) {
            long sent;
            do {
                sent = berth_raw_syscall(SYS_sendto, fd, (long)&job->request, job->request.header.nlmsg_len, 0,
                                    (long)&job->kernel, sizeof job->kernel);
            } while (sent == -EINTR);
            status = sent < 0;
        }
    }
    reap_unmap_and_exit(job->mapping, job->mapping_size, status);
}

/// What the lingerer needs, at the bottom of the mapping it runs on.
struct linger_job {
    int fd;
    int wake;
    int wake_write; // the caller's end, which the lingerer's copy of the table must not keep
    void *mapping;
    size_t mapping_size;
};

/// The lingerer, on a mapping of its own in the caller's memory: keeps only `fd` and the read
/// end of a pipe whose write end the caller holds, waits for that end to close (the caller's
/// exit), then unmaps its stack and exits, which closes `fd` last.
BERTH_NO_STACK_PROTECTOR static int reap_linger(void *argument) {
    struct linger_job *job = argument;
    // No descriptor to keep (berth_linger_memory_past_exit): only the pipe's read end stays.
    int fd = job->fd >= 0 ? job->fd : job->wake, wake = job->wake;
    int low = fd < wake ? fd : wake, high = fd < wake ? wake : fd;
    // Closed by itself first: should every way of closing the rest fail, a kept copy of the
    // write end would mean no end of file ever, and a lingerer that never exits.
    berth_raw_syscall(SYS_close, job->wake_write, 0, 0, 0, 0, 0);
    berth_raw_syscall(SYS_setsid, 0, 0, 0, 0, 0, 0);
    if (low > 0) berth_close_range(0, (unsigned)low - 1);
    if (high - low > 1) berth_close_range((unsigned)low + 1, (unsigned)high - 1);
    berth_close_range((unsigned)high + 1, ~0U);
    char byte;
    while (berth_raw_syscall(SYS_read, wake, (long)&byte, 1, 0, 0, 0) == -EINTR) {}
    reap_unmap_and_exit(job->mapping, job->mapping_size, 0);
}

/// The child: clones the grandchild onto its mapping, sharing the memory (no copy of the
/// caller's page tables, which a fork would make) and exits, so the caller reaps it at once
/// and the grandchild belongs to init (or the nearest subreaper) from then on.
static int reap_intermediate(void *argument) {
    struct reap_job *job = argument;
    pid_t grandchild = clone(reap_grandchild, (char *)job->mapping + job->mapping_size, CLONE_VM | SIGCHLD, job);
    _exit(grandchild < 0 ? 1 : 0);
}
#else
#error "reap.c: raw system calls are written for x86_64 and aarch64 only"
#endif

/// Set once by a process that exits right after its detach (berth_reap_caller_exits).
static int reap_caller_exits;

void berth_reap_caller_exits(void) { reap_caller_exits = 1; }

/// The deleter's mapping, its stack with its job at the bottom (the deleter unmaps it), or
/// NULL with errno set.
static struct reap_job *reap_job_new(int netns_fd, const char *ifname) {
    size_t length = strlen(ifname);
    if (length == 0 || length >= IFNAMSIZ) {
        errno = EINVAL;
        return NULL;
    }
    void *mapping = mmap(NULL, reap_mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) return NULL;
    struct reap_job *job = mapping; // zeroed by mmap
    job->mapping = mapping;
    job->mapping_size = reap_mapping_size;
    job->netns_fd = netns_fd;
    job->kernel.nl_family = AF_NETLINK;
    struct reap_request *request = &job->request;
    struct rtattr *name = (struct rtattr *)request->attributes;
    name->rta_type = IFLA_IFNAME;
    name->rta_len = RTA_LENGTH(length + 1);
    memcpy(RTA_DATA(name), ifname, length + 1);
    request->header.nlmsg_len = NLMSG_LENGTH(sizeof request->info) + RTA_ALIGN(name->rta_len);
    request->header.nlmsg_type = RTM_DELLINK;
    // No NLM_F_ACK: nobody reads the answer. The kernel deletes the link inside sendto.
    request->header.nlmsg_flags = NLM_F_REQUEST;
    request->header.nlmsg_seq = 1;
    request->info.ifi_family = AF_UNSPEC;
    return job;
}

int berth_delete_link_detached(int netns_fd, const char *ifname) {
    struct reap_job *job = reap_job_new(netns_fd, ifname);
    if (job == NULL) return -1;
    void *mapping = job->mapping;
    sigset_t all, saved;
    sigfillset(&all);
    if (reap_caller_exits) {
        // The caller exits right after (the CLI): the deleter is its own child, not waited
        // for, so nothing holds the caller until a busy CPU runs a child; at the caller's
        // exit it passes to init (or the nearest subreaper), which reaps it. A process that
        // lives on must not do this: it would keep a zombie per deletion.
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        pid_t child = clone(reap_grandchild, (char *)mapping + reap_mapping_size, CLONE_VM | SIGCHLD, job);
        int saved_errno = errno;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (child < 0) {
            munmap(mapping, reap_mapping_size);
            errno = saved_errno;
            return -1;
        }
        return 0;
    }

    // The child shares the caller's memory and runs on a stack of its own while the caller
    // waits (CLONE_VFORK), as posix_spawn does. Signals stay blocked meanwhile, so no
    // handler of the caller's runs on that stack (nor, as the mask is inherited, in the
    // grandchild).
    // Its stack is a buffer on the caller's, which sleeps meanwhile; it calls clone and _exit.
    char stack[8192] __attribute__((aligned(16)));
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t child = clone(reap_intermediate, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, job);
    int saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (child < 0) {
        munmap(mapping, reap_mapping_size);
        errno = saved_errno;
        return -1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        // ECHILD: someone else reaped it (a caller's SIGCHLD handler, or SIGCHLD ignored);
        // the grandchild was started all the same unless its clone failed, which we cannot
        // see then (nor free its mapping), and gc finds the link.
        if (errno == ECHILD) return 0;
        if (errno != EINTR) return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        // No grandchild: its mapping is the caller's to free.
        munmap(mapping, reap_mapping_size);
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

/// Set once a lingerer runs: it holds the caller's memory already.
static int reap_lingering;

static int reap_start_lingerer(int fd);

int berth_linger_past_exit(int fd) {
    if (!reap_caller_exits || fd < 0) {
        errno = EINVAL;
        return -1;
    }
    return reap_start_lingerer(fd) < 0 ? -1 : 0;
}

int berth_linger_memory_past_exit(void) {
    if (reap_lingering) return 0;
    // The runtime's pipes (stdin, stdout, stderr) reach their end when this process closes
    // them, not when the child, which starts with copies of them, is first scheduled to close
    // its own: the caller's output is flushed and the three are /dev/null from here on.
    fflush(NULL);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        for (int fd = 0; fd <= 2; fd++) {
            if (fd != null) dup2(null, fd);
        }
        if (null > 2) close(null);
    }
    return reap_start_lingerer(-1);
}

/// Starts the lingerer keeping `fd` (-1: none); its pid, or -1 with errno set.
static int reap_start_lingerer(int fd) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    void *mapping = mmap(NULL, reap_mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
        int saved = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        errno = saved;
        return -1;
    }
    struct linger_job *job = mapping;
    job->fd = fd;
    job->wake = pipefd[0];
    job->wake_write = pipefd[1];
    job->mapping = mapping;
    job->mapping_size = reap_mapping_size;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t child = clone(reap_linger, (char *)mapping + reap_mapping_size, CLONE_VM | SIGCHLD, job);
    int saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    // The read end is the lingerer's now; the write end stays open (close-on-exec) until
    // this process exits.
    close(pipefd[0]);
    if (child < 0) {
        close(pipefd[1]);
        munmap(mapping, reap_mapping_size);
        errno = saved_errno;
        return -1;
    }
    reap_lingering = 1;
    return child;
}
