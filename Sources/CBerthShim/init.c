#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "BerthInit.h"

// Blocked, a signal reaches a pid namespace's init even without a handler: the kernel
// ignores an unhandled signal for PID 1 only when it is not blocked. SIGKILL from outside the
// container ends the init, and the kernel then kills every process of its pid namespace, as
// without --init. A fault (SIGSEGV) kills it as usual.
void berth_init_loop(pid_t command) {
    // The kernel's sigset, every bit: the C library's would leave out its own two signals.
    uint64_t all = ~0ULL;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
    int waiting = 1;
    for (;;) {
        int sig = SIGCHLD;
        if (waiting) {
            siginfo_t info;
            sig = (int)syscall(SYS_rt_sigtimedwait, &all, &info, NULL, sizeof all);
            if (sig < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                // Refused (a seccomp profile of the user's without it): reap only.
                waiting = 0;
                sig = SIGCHLD;
            }
        }
        if (sig != SIGCHLD) {
            syscall(SYS_kill, command, sig);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t pid = (pid_t)syscall(SYS_wait4, -1, &status, waiting ? WNOHANG : 0, NULL);
            if (pid < 0 && errno == EINTR) continue;
            if (pid <= 0) break;
            if (pid == command) syscall(SYS_exit_group, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}
