#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H
// Starting a process in new namespaces, and entering an existing container's namespaces.
//
// Swift cannot fork safely (its runtime takes locks and allocates), so the whole child side
// lives here and does only async-signal-safe system calls on memory the parent prepared
// before the clone: strings, arrays, descriptors. See spawn.c for the sequence.

/// Which step of the child's set-up a status record refers to. The child writes
/// `{ step, errno }` (two ints) on the status pipe: BERTH_STEP_READY once it is set up and
/// waiting, any other step when that step failed (and then it exits with 127).
enum {
    BERTH_STEP_READY = 0,
    BERTH_STEP_DESCRIPTORS = 1,
    BERTH_STEP_PROPAGATION = 2,
    BERTH_STEP_BIND_ROOTFS = 3,
    BERTH_STEP_MOUNT_PROC = 4,
    BERTH_STEP_MOUNT_DEV = 5,
    BERTH_STEP_PIVOT_ROOT = 6,
    BERTH_STEP_HOSTNAME = 7,
    BERTH_STEP_WORKDIR = 8,
    BERTH_STEP_LOOKUP = 9,
    BERTH_STEP_STDIO = 10,
    BERTH_STEP_EXEC = 11,
    BERTH_STEP_SETNS = 12,
    BERTH_STEP_CAPABILITIES = 13,
    BERTH_STEP_MOUNT_SYS = 14,
    BERTH_STEP_MASK_PATHS = 15,
    BERTH_STEP_CGROUP = 16,
    BERTH_STEP_NO_NEW_PRIVS = 17,
    BERTH_STEP_SECCOMP = 18,
    BERTH_STEP_TERMINAL = 20,
    BERTH_STEP_USER = 21,
    BERTH_STEP_READONLY_ROOT = 22,
    /// The root filesystem's /proc or /dev is not a directory (a symbolic link, a file).
    BERTH_STEP_ROOTFS_PROC = 23,
    BERTH_STEP_ROOTFS_DEV = 24,
    /// /dev/pts/ptmx is not a devpts multiplexer (char 5:2 on a devpts): never opened.
    BERTH_STEP_PTMX = 25,
    /// Setting one of `berth_exec_config.rlimits` (prlimit64) failed.
    BERTH_STEP_RLIMIT = 26,
    /// `berth_spawn_config.init`: the fork of the command under the container's init failed.
    BERTH_STEP_INIT = 27,
    /// BERTH_STEP_VOLUME + i: bind mount i (of `berth_spawn_config.mounts`) failed.
    BERTH_STEP_VOLUME = 100,
};

#include <linux/filter.h>
#include <sys/types.h>

/// The most cgroup trees a process joins (one per v1 controller mount).
#define BERTH_MAX_CGROUP_FDS 16

/// A resource limit for the child (`docker run --ulimit`): RLIMIT_* `resource`, its soft and
/// hard limits as the kernel takes them (all bits set: RLIM_INFINITY).
struct berth_rlimit {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
};

/// What the child does once its namespaces and mounts are in place: shared by spawn and enter.
struct berth_exec_config {
    /// NULL-terminated argv and envp, passed to execve as they are.
    char *const *argv;
    char *const *envp;
    /// NULL-terminated paths to try for argv[0], in order (the PATH search, done by the
    /// parent as strings; the child only tests them). The first regular, executable file wins.
    const char *const *candidates;
    /// Directory to change to, or NULL for "/".
    const char *workdir;
    /// Descriptors to become 0, 1, 2 in the child; -1 inherits the parent's.
    int stdio[3];
    /// The child's end of the status pipe (write end, O_CLOEXEC: closes on a successful exec).
    int status_fd;
    /// The child's end of the start pipe (read end), or -1 to exec without waiting. The child
    /// execs when it reads 'G'; EOF (the parent closed or died) makes it exit quietly.
    int sync_fd;
    /// The parent's ends of both pipes (or -1), closed in the child so EOF can happen.
    int parent_fds[2];
    /// Nonzero: limit the bounding, effective and permitted capability sets to `keep_caps`
    /// (bit n = capability n), empty the inheritable set and clear the ambient set, just
    /// before execve: the bounding set before the user switch, the others after it.
    int limit_caps;
    unsigned long long keep_caps;
    /// A connected unix socket, or -1. With one, the child opens a new pseudo-terminal from
    /// its own /dev/pts/ptmx, checked first to be the multiplexer of a devpts (inside a root
    /// filesystem: the container's own; never /dev/ptmx, which the container may have
    /// replaced), makes the slave
    /// its controlling terminal (new session) and its stdin, stdout and stderr (overriding
    /// `stdio`), and sends the master over the socket (SCM_RIGHTS) before it reports ready.
    int console_fd;
    /// The terminal's size; 0 rows or columns keep the kernel's default (0x0).
    unsigned short console_rows;
    unsigned short console_cols;
    /// Nonzero: switch to `uid` and `gid` just before execve, with every capability still
    /// effective and PR_SET_KEEPCAPS on (runc's order: bounding set, user, capabilities),
    /// so `keep_caps` need not hold SETUID and SETGID. A non-zero uid's execve then grants
    /// it no capability (none inheritable or ambient), as with Docker.
    int set_user;
    uid_t uid;
    gid_t gid;
    /// The supplementary groups, `group_count` of them, set in every case (none: an empty
    /// list), before the capabilities are limited.
    const gid_t *groups;
    int group_count;
    /// Open `cgroup.procs` files (write-only) of the cgroups to join, `cgroup_count` of them
    /// (at most BERTH_MAX_CGROUP_FDS). The child writes "0" (itself) to each and closes them
    /// before execve: with a start pipe, right after reporting ready (the join then overlaps
    /// the parent's work while the child is held); without, after it looks up the command —
    /// except `berth_enter`'s child, which joins right after setns, before it opens anything
    /// of the container's (its terminal), so the device allow-list applies to that too.
    /// The command and everything it starts are accounted and limited there.
    const int *cgroup_fds;
    int cgroup_count;
    /// Nonzero: `cgroup_dir_fd` is an open cgroup2 directory the child is created in
    /// (clone3 with CLONE_INTO_CGROUP: no move, no wait for the kernel's lock); it then skips
    /// `cgroup_fds`, which remain the way in on a kernel without clone3.
    int clone_into_cgroup;
    int cgroup_dir_fd;
    /// Nonzero: set PR_SET_NO_NEW_PRIVS just before execve (after the go-ahead).
    int no_new_privs;
    /// A classic BPF program of `seccomp_length` instructions to install with
    /// seccomp(SECCOMP_SET_MODE_FILTER) just before execve, or NULL for none. Without
    /// no_new_privs the kernel requires CAP_SYS_ADMIN for that, so the filter goes in before
    /// the capabilities are limited (runc's order); with it, after them.
    const struct sock_filter *seccomp_filter;
    unsigned short seccomp_length;
    /// Resource limits to set, `rlimit_count` of them, in order, once the command is found
    /// and before the child reports ready (a failure then comes before the parent has wired
    /// anything): while every capability is still held, so a hard limit may be raised above
    /// the parent's with CAP_SYS_RESOURCE; after every descriptor the child opens, so a small
    /// RLIMIT_NOFILE cannot fail its own set-up.
    const struct berth_rlimit *rlimits;
    int rlimit_count;
};

/// A bind mount made inside the container's root filesystem once it is entered.
struct berth_bind_mount {
    /// The source: a detached copy of its mount tree (`berth_open_tree_clone`), made by the
    /// parent in its own mount namespace and attached by the child, so no host path is
    /// resolved inside the container.
    int source_fd;
    /// Absolute path inside the container; created (as a directory, or an empty file when
    /// `directory` is 0) if missing. Symlinks on the way resolve inside the container's root.
    const char *target;
    int directory;
    int read_only;
    /// Nonzero: a file Berth supplies (/etc/hosts, ...), mounted only where it can be: on an
    /// existing non-directory target, or on an empty file created for it when its directory
    /// exists and is writable. Otherwise it is skipped; no directory is ever created for it.
    int optional;
};

struct berth_spawn_config {
    struct berth_exec_config exec;
    /// CLONE_NEW* flags of the namespaces to create.
    int namespaces;
    /// Hostname to set (needs CLONE_NEWUTS), or NULL.
    const char *hostname;
    /// Absolute path of a root filesystem to pivot_root into (needs CLONE_NEWNS), or NULL.
    const char *rootfs;
    /// Without a rootfs: mount a fresh /proc over /proc (only sane with NEWNS and NEWPID).
    int remount_proc;
    /// Mount a fresh sysfs on /sys (inside the rootfs, or over the host's /sys), read-only
    /// when `restrict_kernel_files` is set. Ignored without CLONE_NEWNS.
    int mount_sys;
    /// Docker's defaults for a non-privileged container: mask the kernel files that leak or
    /// harm the host (/proc/kcore, /proc/keys, /sys/firmware, …) and make the machine-wide
    /// knobs read-only (/proc/sys, /proc/sysrq-trigger, …). Ignored without CLONE_NEWNS.
    int restrict_kernel_files;
    /// Bind mounts made after pivot_root (needs `rootfs`), in order; without `rootfs` (with
    /// CLONE_NEWNS), only `optional` ones, each over an existing host file.
    const struct berth_bind_mount *mounts;
    int mount_count;
    /// Nonzero: remount the root filesystem read-only once everything is mounted (needs `rootfs`).
    int readonly_rootfs;
    /// Nonzero (`docker run --init`): the child stays the container's PID 1, an init that runs
    /// the command as its own child, forwards it every signal, reaps every orphan and exits
    /// with the command's status (128+N for a signal). It is the child itself, confined as
    /// the command is, which forks the command and then execs `init_fd` (spawn.c, run_init):
    /// no file is put into the container. Only for a new container: `berth_enter` has no
    /// such field.
    int init;
    /// With `init`: the `berth-init` binary, opened with berth_open_sealed (a read-only view,
    /// or a sealed copy), which PID 1 execs once the command is forked; -1 (set it: 0 is a
    /// descriptor) to run the init loop in the child itself, berth's image, non-dumpable.
    int init_fd;
};

/// Clones a child in new namespaces that sets itself up and then, per `exec`, waits and
/// execs. Returns the child's pid (stores a pidfd in *pidfd) or -1 with errno set.
int berth_spawn(const struct berth_spawn_config *config, int *pidfd);

struct berth_enter_config {
    struct berth_exec_config exec;
    /// Open namespace files (/proc/PID/ns/...) and their CLONE_NEW* types, joined in order.
    const int *ns_fds;
    const int *ns_types;
    int ns_count;
    /// An open /proc/PID/ns/pid to be born into, or -1.
    int pid_ns_fd;
};

/// Starts a process inside an existing container's namespaces (`berth exec`). Returns its
/// pid (stores a pidfd in *pidfd) or -1 with errno set; set-up failures arrive on the
/// status pipe as with berth_spawn.
int berth_enter(const struct berth_enter_config *config, int *pidfd);

/// pidfd_open(2) (Linux 5.3): a descriptor (close-on-exec) naming the process that has `pid`
/// now, which stays that process's even once the pid is reused; -1 with errno set.
int berth_pidfd_open(int pid);

/// pidfd_send_signal(2): signals exactly the process the pidfd refers to, never a reused pid.
int berth_pidfd_signal(int pidfd, int sig);

/// Waits for the process of `pidfd` and reaps it. On success returns 0 and sets *exited to 1
/// with *value = exit code, or *exited to 0 with *value = the signal. -1 with errno on error.
int berth_pidfd_wait(int pidfd, int *exited, int *value);

/// Receives one descriptor sent with SCM_RIGHTS (close-on-exec). Returns it, or -1 with errno
/// set (0 when the peer closed without sending: errno is then ENODATA).
int berth_receive_fd(int socket);

/// open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE), close-on-exec (Linux 5.2): a detached
/// copy of the mount tree at `path` (a file or directory), to attach elsewhere with
/// move_mount. -1 with errno set on failure.
int berth_open_tree_clone(const char *path);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC).
int berth_socketpair_cloexec(int fds[2]);

/// pipe2(fds, O_CLOEXEC) (pipe2 needs _GNU_SOURCE).
int berth_pipe_cloexec(int fds[2]);

/// What the children do where close_range is missing (before Linux 5.9) or refused by a
/// seccomp filter: closes the descriptors from `low` to `high` that /proc/self/fd lists. For
/// tests of that fallback, which this kernel never takes by itself.
void berth_close_listed_descriptors(unsigned low, unsigned high);

/// memfd_create(name, MFD_CLOEXEC): an anonymous file, for handing a child bytes on a
/// descriptor without a pipe's capacity limit (memfd_create needs _GNU_SOURCE).
int berth_memfd_cloexec(const char *name);

#endif
