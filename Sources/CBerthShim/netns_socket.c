#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "BerthCPUPin.h"
#include "BerthNamespaceSocket.h"
#include "raw_syscall.h"

/// The thread's work and its result, on the caller's stack (the caller sleeps meanwhile).
struct namespace_job {
    int netns_fd, domain, type, protocol;
    const struct berth_sysctl_write *writes;
    int count;
    int socket;
    struct berth_namespace_outcome outcome;
};

BERTH_NO_STACK_PROTECTOR static inline int namespace_fail(struct namespace_job *job, int step, long error, int sysctl) {
    job->outcome.step = step;
    job->outcome.error = (int)-error;
    job->outcome.sysctl = sysctl;
    return 0;
}

/// The bare thread: shares the caller's memory and thread pointer, so it makes raw system
/// calls only (no errno, no TLS, no stack protector) and returns to the C library's clone,
/// which ends it with exit(2) — the thread's, not the process's.
BERTH_NO_STACK_PROTECTOR static int namespace_thread(void *argument) {
    struct namespace_job *job = argument;
    long result = berth_raw_syscall(SYS_setns, job->netns_fd, CLONE_NEWNET, 0, 0, 0, 0);
    if (result < 0) return namespace_fail(job, BERTH_NAMESPACE_STEP_ENTER, result, -1);
    for (int i = 0; i < job->count; i++) {
        const struct berth_sysctl_write *write = &job->writes[i];
        long fd = berth_raw_syscall(SYS_openat, AT_FDCWD, (long)write->path, O_WRONLY | O_CLOEXEC, 0, 0, 0);
        if (fd == -ENOENT && write->skip_if_missing) continue;
        if (fd < 0) return namespace_fail(job, BERTH_NAMESPACE_STEP_OPEN_SYSCTL, fd, i);
        size_t offset = 0;
        while (offset < write->value_length) {
            long written = berth_raw_syscall(SYS_write, fd, (long)(write->value + offset), (long)(write->value_length - offset), 0, 0, 0);
            if (written == -EINTR) continue;
            // A write of nothing would repeat forever: a sysctl file that takes no bytes is full.
            if (written == 0) written = -ENOSPC;
            if (written < 0) {
                berth_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
                return namespace_fail(job, BERTH_NAMESPACE_STEP_WRITE_SYSCTL, written, i);
            }
            offset += (size_t)written;
        }
        berth_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    }
    result = berth_raw_syscall(SYS_socket, job->domain, job->type | SOCK_CLOEXEC, job->protocol, 0, 0, 0);
    if (result < 0) return namespace_fail(job, BERTH_NAMESPACE_STEP_SOCKET, result, -1);
    job->socket = (int)result;
    return 0;
}

int berth_socket_in_namespace(int netns_fd, int domain, int type, int protocol,
                              const struct berth_sysctl_write *writes, int count,
                              struct berth_namespace_outcome *outcome) {
    struct namespace_job job = {
        .netns_fd = netns_fd, .domain = domain, .type = type, .protocol = protocol,
        .writes = writes, .count = count, .socket = -1,
        .outcome = {.step = BERTH_NAMESPACE_STEP_DONE, .error = 0, .sysctl = -1},
    };
    // A thread of the caller's process (CLONE_THREAD: no exit signal, no zombie to wait for,
    // no child a caller's SIGCHLD handler or waitpid(-1) could see), sharing its memory,
    // descriptor table (the socket is the caller's at once), filesystem context and signal
    // handlers, so the kernel copies nothing. The caller sleeps until the thread has exited:
    // the kernel zeroes `thread_id` (CLONE_CHILD_CLEARTID) and wakes its futex only once the
    // thread runs no more user code, so the thread's stack may be a buffer on the caller's —
    // pthread_join's mechanism. (CLONE_VFORK would do the same wait, but valgrind refuses
    // CLONE_THREAD | CLONE_VFORK, and scripts/gen-symbol-order profiles an attach under it.)
    // Every signal the application can use stays blocked meanwhile (pthread_sigmask leaves
    // glibc's two internal ones, SIGCANCEL and SIGSETXID, which are sent only to threads
    // glibc made, never to this one): no handler of the caller's runs on that stack,
    // and a signal for the process waits for the caller's thread.
    char stack[8192] __attribute__((aligned(16)));
    sigset_t all, saved;
    sigfillset(&all);
    int saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
              | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    // Set by the kernel before clone returns (CLONE_PARENT_SETTID), zeroed at the thread's exit.
    pid_t thread_id = 0;
    // On this CPU (BerthCPUPin.h): the caller sleeps at once, so the thread runs without
    // waking another CPU, and the caller resumes without being woken from one.
    struct berth_cpu_pin pin;
    berth_cpu_pin_begin(&pin);
    int thread = clone(namespace_thread, stack + sizeof stack, flags, &job, &thread_id, NULL, &thread_id);
    int clone_errno = errno;
    if (thread > 0) {
        pid_t seen;
        while ((seen = __atomic_load_n(&thread_id, __ATOMIC_ACQUIRE)) != 0)
            syscall(SYS_futex, &thread_id, FUTEX_WAIT, seen, NULL, NULL, 0); // EAGAIN/EINTR: look again
    }
    berth_cpu_pin_end(&pin);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    errno = saved_errno;
    if (thread < 0) {
        job.outcome.step = BERTH_NAMESPACE_STEP_START;
        job.outcome.error = clone_errno;
    }
    *outcome = job.outcome;
    return job.outcome.step == BERTH_NAMESPACE_STEP_DONE ? job.socket : -1;
}
