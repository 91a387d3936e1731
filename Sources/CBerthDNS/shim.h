#ifndef BERTH_CBERTHDNS_SHIM_H
#define BERTH_CBERTHDNS_SHIM_H
// Linux event interfaces the resolver's event loop needs and Swift's Glibc module leaves out.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/inotify.h>
#include <signal.h>
#include <malloc.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>

/// Moves the (single-threaded) resolver process into the network namespace at `path`,
/// before it opens any socket: Berth starts it for a host namespace that need not be its
/// caller's. Returns 0, or -1 with errno.
// Declared here: glibc declares setns only under _GNU_SOURCE, which would make this module's
// view of the system headers differ from Swift's Glibc module.
extern int setns(int fd, int nstype);

static inline int berth_dns_enter_netns(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = setns(fd, 0x40000000 /* CLONE_NEWNET */);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/// fork(2), which Swift's Glibc module marks unavailable. Only called at the start of the
/// single-threaded resolver (`--detach`), before the Swift runtime has made anything.
static inline pid_t berth_dns_fork(void) {
    return fork();
}

/// Closes every descriptor from `first` on: a detached resolver must not keep its
/// starter's pipes (a test runner's, a runtime's) open for its whole life.
static inline void berth_dns_close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
#endif
    for (int fd = first; fd < 4096; fd++) close(fd);
}

#endif
