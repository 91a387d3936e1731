#ifndef BERTH_NAMESPACE_SOCKET_H
#define BERTH_NAMESPACE_SOCKET_H
// Opening a socket inside another network namespace, after writing sysctls there.
//
// setns(2) moves only the calling thread, and Berth never moves a shared one. A pthread made
// for the purpose costs more than its work (an 8 MiB stack, a malloc arena of its own, rseq
// and robust-list set-up, a futex join); this runs the work on a bare thread instead: a
// clone sharing the caller's memory, files and signal handlers, on a small stack, making raw
// system calls only, while the caller waits for its exit (CLONE_CHILD_CLEARTID and a futex,
// as pthread_join does) with every application signal blocked.

#include <stddef.h>

/// A sysctl file to write inside the namespace: `path` (under /proc/sys/net) and the bytes
/// `value[0..<value_length]`, written with one write(2) (the kernel parses the first).
struct berth_sysctl_write {
    const char *path;
    const char *value;
    size_t value_length;
    /// Nonzero: a file that does not exist (ENOENT) is skipped, not an error.
    int skip_if_missing;
};

/// The step at which berth_socket_in_namespace stopped (berth_namespace_outcome.step).
enum {
    /// Every step succeeded.
    BERTH_NAMESPACE_STEP_DONE = 0,
    /// The thread could not be started (clone).
    BERTH_NAMESPACE_STEP_START = 1,
    /// setns(2) into the namespace.
    BERTH_NAMESPACE_STEP_ENTER = 2,
    /// Opening the sysctl file `writes[sysctl]`.
    BERTH_NAMESPACE_STEP_OPEN_SYSCTL = 3,
    /// Writing the sysctl file `writes[sysctl]`.
    BERTH_NAMESPACE_STEP_WRITE_SYSCTL = 4,
    /// socket(2).
    BERTH_NAMESPACE_STEP_SOCKET = 5,
};

/// Where berth_socket_in_namespace stopped and why.
struct berth_namespace_outcome {
    int step;
    /// The errno of the step that failed (0 when done).
    int error;
    /// The index in `writes` of the sysctl that failed (-1 for the other steps).
    int sysctl;
};

/// Enters the network namespace open at `netns_fd` on a bare thread, writes `writes[0..<count]`
/// in order, then opens socket(domain, type | SOCK_CLOEXEC, protocol) there. Returns the
/// socket, which lives on in the caller's descriptor table (shared with the thread), or -1
/// with `outcome` naming the failed step. Nothing the thread opened stays open on failure.
/// The caller's thread never changes namespace, and errno is left as it was.
int berth_socket_in_namespace(int netns_fd, int domain, int type, int protocol,
                              const struct berth_sysctl_write *writes, int count,
                              struct berth_namespace_outcome *outcome);

#endif
