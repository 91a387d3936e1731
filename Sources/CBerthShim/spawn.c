// The child side of `berth run` and `berth exec`.
//
// Why clone(2) and not fork + unshare: unshare(CLONE_NEWPID) moves only the caller's future
// children into the new pid namespace, so the command would need a second fork to become its
// PID 1, and the parent would hold the pid of an intermediate. clone(2) with the namespace
// flags creates the child directly in every new namespace, as PID 1 of the new pid namespace,
// with a pid the parent can wait for. The raw syscall with no new stack behaves like fork
// (the child continues on a copy of the caller's stack) and runs no atfork handlers; with
// CLONE_PIDFD the parent also gets a pidfd, so signals and waits can never hit a reused pid.
//
// Everything the child does is an async-signal-safe system call on memory prepared by the
// parent before the clone: the parent is a multithreaded Swift process whose locks (malloc,
// the Swift runtime) may be held by threads that do not exist in the child.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/limits.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include "BerthSpawn.h"
#include "BerthInit.h"
#include "close_range.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
/// The kernel's struct open_how of openat2(2) (Linux 5.6), its RESOLVE_NO_MAGICLINKS and
/// RESOLVE_NO_SYMLINKS.
struct berth_open_how { uint64_t flags, mode, resolve; };
#define BERTH_RESOLVE_NO_MAGICLINKS 0x02
#define BERTH_RESOLVE_NO_SYMLINKS 0x04

// MARK: - Child helpers (async-signal-safe only)

/// Reports a failed step to the parent and exits. Never returns.
static void fail(const struct berth_exec_config *c, int step) {
    int record[2] = { step, errno };
    ssize_t ignored = write(c->status_fd, record, sizeof record);
    (void)ignored;
    _exit(127);
}

/// Joins a and b into out (PATH_MAX); 0, or -1 with errno = ENAMETOOLONG.
static int join(char *out, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > PATH_MAX) { errno = ENAMETOOLONG; return -1; }
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return 0;
}

/// Handlers installed by the Swift runtime must not run in the child, and the command should
/// start with default dispositions and nothing blocked, as after a login.
static void reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL); // glibc-reserved signals answer EINVAL: harmless
    }
}

static void unblock_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/// Moves a descriptor to 3 or above, so installing stdio on 0-2 cannot clobber it.
static int above_stdio(int fd) {
    if (fd < 0 || fd > 2) return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static void close_parent_ends(struct berth_exec_config *c) {
    for (int i = 0; i < 2; i++) {
        if (c->parent_fds[i] >= 0) close(c->parent_fds[i]);
    }
    // The cgroup2 directory the parent clones into: a directory of the host's, which a path
    // in the container could reach through /proc/self/fd while it is open here (the
    // working directory made or entered, a volume's mount point: see finish_and_exec). The
    // child has no use for it (clone3 has used it, or the cgroup.procs files join).
    if (c->cgroup_dir_fd >= 0) {
        close(c->cgroup_dir_fd);
        c->cgroup_dir_fd = -1;
    }
    c->status_fd = above_stdio(c->status_fd);
    if (c->status_fd < 0) _exit(127);
    if (c->sync_fd >= 0) {
        c->sync_fd = above_stdio(c->sync_fd);
        if (c->sync_fd < 0) fail(c, BERTH_STEP_DESCRIPTORS);
    }
}

static int make_dir(const char *path, mode_t mode) {
    if (mkdir(path, mode) == 0 || errno == EEXIST) return 0;
    return -1;
}

/// "/proc/self/fd/N": mounting there mounts on what the descriptor refers to, not on whatever
/// a path names by then (runc's way). Digits by hand: no printf in the child.
static void fd_path(char out[32], int fd) {
    static const char prefix[] = "/proc/self/fd/";
    memcpy(out, prefix, sizeof prefix - 1);
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)fd;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    char *p = out + sizeof prefix - 1;
    while (n) *p++ = digits[--n];
    *p = 0;
}

/// Closes `fd` and returns `rc` with the errno of the call that produced it.
static int closing(int fd, int rc) {
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int mount_on(int fd, const char *source, const char *type, unsigned long flags, const char *data) {
    char path[32];
    fd_path(path, fd);
    return mount(source, path, type, flags, data);
}

/// The directory `name` of `dirfd`, made if missing, as an O_PATH descriptor. A symbolic link
/// (followed, it could point anywhere on the host: CVE-2021-30465's class) or anything else
/// that is not a directory fails with ENOTDIR; nothing is made then.
static int directory_beneath(int dirfd, const char *name, mode_t mode) {
    if (mkdirat(dirfd, name, mode) && errno != EEXIST) return -1;
    int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) errno = ENOTDIR;
    return fd;
}

/// Makes `name` in `dirfd` a mount of `type` (made as a directory if missing).
static int mount_beneath(int dirfd, const char *name, mode_t mode, const char *source, const char *type, unsigned long flags, const char *data) {
    int fd = directory_beneath(dirfd, name, mode);
    if (fd < 0) return -1;
    return closing(fd, mount_on(fd, source, type, flags, data));
}

static unsigned long kept_mount_flags(const char *path);

/// The host's device node `name` bound onto an empty file in the new /dev, then made
/// read-only: only where the node cannot be made (make_device). Read-only, the bind lets
/// root in the container read and write the device but not chmod or chown it (EROFS): the
/// node is the host's own. A device the host lacks (no /dev/tty in some sandboxes) is
/// skipped rather than failing the container.
static int bind_device(int dev, const char *name) {
    char host[PATH_MAX];
    if (join(host, "/dev/", name)) return -1;
    struct stat st;
    if (stat(host, &st) != 0) return errno == ENOENT ? 0 : -1;
    int fd = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    if (mount_on(fd, host, NULL, MS_BIND, NULL)) return closing(fd, -1);
    close(fd);
    // The remount acts on the mount a path names, the bind's root: opened after it.
    int bound = openat(dev, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (bound < 0) return -1;
    char path[32];
    fd_path(path, bound);
    // A bind remount sets the mount's flags to exactly these: keep the host mount's nosuid,
    // noexec, … (in a user namespace they are locked, and leaving them out is EPERM).
    unsigned long flags = kept_mount_flags(path);
    return closing(bound, mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL));
}

/// The device `name` (char major:minor) made in the new /dev, as runc does outside a user
/// namespace: a node of the container's own on its tmpfs, mode 0666 whatever the umask.
/// Never the host's node bound in: root in the container (CAP_FOWNER, CAP_CHOWN, no user
/// namespace) could chmod or chown that, the host's /dev/null for everyone on the host.
/// The devices cgroup lets any node be made (`c *:* m`); opening is what it restricts, to
/// these among others. Where mknod is refused (EPERM: berth without CAP_MKNOD, in a user
/// namespace), the host's node is bound read-only instead (bind_device).
static int make_device(int dev, const char *name, unsigned major, unsigned minor) {
    mode_t mask = umask(0);
    int rc = mknodat(dev, name, S_IFCHR | 0666, makedev(major, minor));
    int saved = errno;
    umask(mask);
    if (rc == 0) return 0;
    if (saved != EPERM) { errno = saved; return -1; }
    return bind_device(dev, name);
}

/// The tmpfs just mounted on the rootfs's /dev, opened: a fresh tmpfs has a device number of
/// its own, so a directory renamed into its place (one of the rootfs's own, same device)
/// is refused (EXDEV), and a symbolic link cannot be opened (O_NOFOLLOW).
static int open_new_dev(int rootfd) {
    int dev = openat(rootfd, "dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dev < 0) return -1;
    struct statfs fs;
    struct stat root, st;
    if (fstatfs(dev, &fs) || fstat(dev, &st) || fstat(rootfd, &root)) { close(dev); return -1; }
    if ((unsigned long)fs.f_type != TMPFS_MAGIC || st.st_dev == root.st_dev) { close(dev); errno = EXDEV; return -1; }
    return dev;
}

/// A tmpfs /dev with the harmless devices (make_device), a private devpts, /dev/shm and
/// (with an IPC namespace of its own) /dev/mqueue. Everything is made relative to
/// descriptors: nothing is resolved through a path the root filesystem's contents could
/// redirect.
static int fill_dev(int dev, int own_ipc) {
    static const struct { const char *name; unsigned major, minor; } devices[] = {
        { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
    };
    for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        if (make_device(dev, devices[i].name, devices[i].major, devices[i].minor)) return -1;
    }
    // newinstance: the container's ptys are its own, never the host's.
    if (mount_beneath(dev, "pts", 0755, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")) return -1;
    if (symlinkat("pts/ptmx", dev, "ptmx")) return -1;
    if (mount_beneath(dev, "shm", 01777, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")) return -1;
    // As Docker: the POSIX message queues of the container's IPC namespace (an mqueue mount
    // shows its mounter's). A kernel without them (ENODEV) gets none.
    if (own_ipc && mount_beneath(dev, "mqueue", 0755, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) && errno != ENODEV) return -1;
    static const char *const links[][2] = {
        { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
    };
    for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (symlinkat(links[i][1], dev, links[i][0])) return -1;
    }
    return 0;
}

/// The null device at `name` of `dirfd`, as an O_PATH descriptor the masks are bound from:
/// char 1:3, no link followed (ENODEV otherwise). Taken in the new /dev right after it is
/// filled, before any volume is attached: a volume on /dev/null, or a node root in the
/// container leaves there, would otherwise become what the masks show (runc's
/// CVE-2025-31133).
static int open_null(int dirfd, const char *name) {
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st)) return closing(fd, -1);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) { close(fd); errno = ENODEV; return -1; }
    return fd;
}

/// The root filesystem's /proc and /dev belong to its image: each must be a directory (or
/// absent, then made), never a symbolic link, and each mount is made on the directory
/// opened beneath the root, not on a path resolved from the host's root. (Followed, a link
/// `proc -> /x` would put the container's procfs outside its root: it would start without
/// /proc, its masks silently missing; racing a shared rootfs, device nodes could be made
/// in host directories.) Returns the new /dev's null device (open_null), or -1 when there is
/// none (mknod refused and the host has none to bind).
static int enter_rootfs(struct berth_spawn_config *c) {
    const char *root = c->rootfs;
    // pivot_root needs the new root to be a mount point; binding it onto itself makes it one,
    // and every mount below is made inside this bind so it moves with the pivot.
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL)) fail(&c->exec, BERTH_STEP_BIND_ROOTFS);
    // Opened after the bind, so it is on the bind.
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fail(&c->exec, BERTH_STEP_BIND_ROOTFS);
    int proc = directory_beneath(rootfd, "proc", 0555);
    if (proc < 0) fail(&c->exec, BERTH_STEP_ROOTFS_PROC);
    // Mounted by PID 1 of the new pid namespace, so it shows that namespace's processes.
    if (mount_on(proc, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail(&c->exec, BERTH_STEP_MOUNT_PROC);
    close(proc);
    int devdir = directory_beneath(rootfd, "dev", 0755);
    if (devdir < 0) fail(&c->exec, BERTH_STEP_ROOTFS_DEV);
    // Not nodev, as Docker's: the device nodes are made on it (fill_dev).
    if (mount_on(devdir, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")) fail(&c->exec, BERTH_STEP_MOUNT_DEV);
    close(devdir);
    int dev = open_new_dev(rootfd);
    if (dev < 0 || fill_dev(dev, c->namespaces & CLONE_NEWIPC)) fail(&c->exec, BERTH_STEP_MOUNT_DEV);
    int null = open_null(dev, "null");
    if (null < 0 && errno != ENOENT) fail(&c->exec, BERTH_STEP_MOUNT_DEV);
    close(dev);
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    // only the new root, with no path back to the host's filesystem and no put_old directory.
    if (fchdir(rootfd)) fail(&c->exec, BERTH_STEP_PIVOT_ROOT);
    close(rootfd);
    if (syscall(SYS_pivot_root, ".", ".")) fail(&c->exec, BERTH_STEP_PIVOT_ROOT);
    if (umount2(".", MNT_DETACH)) fail(&c->exec, BERTH_STEP_PIVOT_ROOT);
    if (chdir("/")) fail(&c->exec, BERTH_STEP_PIVOT_ROOT);
    return null;
}

// MARK: - Kernel files the container must not reach (Docker's defaults)

/// runc's default masked paths: files that leak host information or kernel memory, or are
/// harmful to read. A file gets /dev/null bound over it, a directory an empty read-only tmpfs.
static const char *const masked_paths[] = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/proc/interrupts",
    // CVE-2020-8694: the RAPL energy counters leak what the CPU computes (in runc's and
    // Docker's lists since 2020).
    "/sys/devices/virtual/powercap",
};

/// runc's default read-only paths: knobs that act on the whole machine (sysctls, IRQ
/// affinity, sysrq). Root in the container keeps uid 0, and several of them check only the
/// file mode, so dropping capabilities alone does not protect them.
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/// `null`: an O_PATH descriptor of the null device (open_null), bound through
/// /proc/self/fd/N, never by a path.
static int mask_path(const char *path, int null) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=555");
    }
    char source[32];
    fd_path(source, null);
    return mount(source, path, NULL, MS_BIND, NULL);
}

/// The per-mount flags a read-only remount must restate: a bind remount sets the mount's
/// flags to exactly what it is given, so leaving nosuid/nodev/noexec out would clear them.
static unsigned long kept_mount_flags(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return 0;
    static const unsigned long map[][2] = {
        { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
        { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    unsigned long flags = 0;
    for (unsigned i = 0; i < sizeof map / sizeof map[0]; i++) {
        if ((unsigned long)fs.f_flags & map[i][0]) flags |= map[i][1];
    }
    return flags;
}

/// A bind of the path onto itself, remounted read-only: the read-only flag then belongs to
/// this one mount point and does not touch the rest of /proc.
static int make_readonly(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL)) return -1;
    unsigned long flags = kept_mount_flags(path);
    return mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL);
}

/// Runs in the container's root, after pivot_root (or on the host's files in a private mount
/// namespace): absolute paths then resolve inside the container, symlinks included. `null`
/// is the new /dev's null device, or -1: then /dev/null, checked the same way.
static int mask_kernel_files(int null) {
    // Masks laid over anything but procfs would protect nothing: refuse rather than skip.
    struct statfs fs;
    if (statfs("/proc", &fs)) return -1;
    if ((unsigned long)fs.f_type != PROC_SUPER_MAGIC) { errno = EXDEV; return -1; }
    for (unsigned i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
        if (make_readonly(readonly_paths[i])) return -1;
    }
    int own = -1;
    if (null < 0 && (null = own = open_null(AT_FDCWD, "/dev/null")) < 0) return -1;
    for (unsigned i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
        if (mask_path(masked_paths[i], null)) return own >= 0 ? closing(own, -1) : -1;
    }
    if (own >= 0) close(own);
    return 0;
}

/// A fresh sysfs on /sys. sysfs shows the network devices of the namespace of whoever mounts
/// it, so mounted here (by the container's PID 1, in its network namespace) /sys/class/net
/// lists the container's own interfaces, as in Docker; the host's /sys would list the host's.
///
/// EPERM means the kernel refuses a sysfs for this network namespace: that happens when the
/// caller lacks CAP_SYS_ADMIN over the user namespace owning it (berth itself running in a
/// user namespace). The container then gets no /sys at all. Binding the host's /sys instead
/// would show the caller's network devices, the wrong namespace's, and the tree a rootless
/// caller could not mount is no business of the container either; software inside reads its
/// links over netlink or /proc/net, which follow the container's namespace.
///
/// That holds with a root filesystem of its own (`own_root`). Without one, the host's /sys
/// would stay as it is, writable where the host's is — its cgroup tree above the
/// container's own included, a way out of the device allow-list —, so EPERM is a failure
/// there unless the container is privileged (`read_only` false).
static int mount_sys(int read_only, int own_root) {
    if (make_dir("/sys", 0555)) return -1;
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (read_only ? MS_RDONLY : 0);
    if (mount("sysfs", "/sys", "sysfs", flags, NULL) == 0) return 0;
    return errno == EPERM && (own_root || !read_only) ? 0 : -1;
}

// MARK: - Bind mounts and a read-only root

/// The kernel's limit on symbolic links followed in one lookup (ELOOP past it).
enum { most_links = 40 };

/// openat2(RESOLVE_NO_MAGICLINKS) by hand, for a kernel before 5.6 or a filter around berth
/// that refuses openat2: `path` is walked one component at a time with O_NOFOLLOW, an
/// ordinary link's text read and walked in its place (from the root when it is absolute,
/// as the kernel would: this runs after pivot_root, so that is the container's root), so
/// no link is ever followed by the kernel. A link that lives on procfs is refused (ELOOP)
/// rather than read: the magic links (/proc/PID/fd/N, root, cwd, exe, ns/…) are all
/// there, and their text does not say where they lead; /proc/self, an ordinary link there,
/// is refused with them, stricter than openat2 (no volume target has a reason to go
/// through /proc). `flags`: O_DIRECTORY, O_NOFOLLOW (the last component not followed).
static int follow_by_hand(int dirfd, const char *path, int flags) {
    char rest[PATH_MAX], link[PATH_MAX];
    size_t length = strlen(path);
    if (length >= sizeof rest) { errno = ENAMETOOLONG; return -1; }
    memcpy(rest, path, length + 1);
    int current = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (current < 0) return -1;
    int links = 0;
    size_t at = 0;
    for (;;) {
        if (rest[at] == '/') {
            int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (root < 0) return closing(current, -1);
            close(current);
            current = root;
            while (rest[at] == '/') at++;
        }
        if (!rest[at]) return current; // "/", or a link to it: a directory
        size_t end = at, next;
        while (rest[end] && rest[end] != '/') end++;
        for (next = end; rest[next] == '/'; next++) {}
        int last = !rest[next];
        char saved = rest[end];
        rest[end] = 0;
        int fd = openat(current, rest + at, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        rest[end] = saved;
        if (fd < 0) return closing(current, -1);
        struct stat st;
        if (fstat(fd, &st)) { close(fd); return closing(current, -1); }
        if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
            struct statfs fs;
            ssize_t n = -1;
            if (fstatfs(fd, &fs) == 0) {
                if ((unsigned long)fs.f_type == PROC_SUPER_MAGIC || ++links > most_links) errno = ELOOP;
                else n = readlinkat(fd, "", link, sizeof link);
            }
            close(fd);
            if (n < 0) return closing(current, -1);
            // The link's text in place of its name: `link/rest`, or `link` when it was last.
            size_t tail = strlen(rest + next);
            if (n == 0) { errno = ENOENT; return closing(current, -1); }
            if ((size_t)n + 1 + tail >= sizeof rest) { errno = ENAMETOOLONG; return closing(current, -1); }
            memmove(rest + n + 1, rest + next, tail + 1);
            memcpy(rest, link, (size_t)n);
            rest[n] = tail ? '/' : 0;
            at = 0;
            continue;
        }
        close(current);
        if (last) {
            if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) { close(fd); errno = ENOTDIR; return -1; }
            return fd;
        }
        if (!S_ISDIR(st.st_mode)) { close(fd); errno = ENOTDIR; return -1; }
        current = fd;
        at = next;
    }
}

/// `name` in `dirfd`, looked up (O_PATH, plus `flags`: O_DIRECTORY) following ordinary
/// symbolic links — inside the container's root: this runs after pivot_root — but never a
/// magic link (ELOOP). Why: while the volumes' targets are made, their detached copies are
/// open here, reachable as /proc/self/fd/N. A read-only one becomes read-only before any
/// target is made (mount_volumes), but where mount_setattr is missing (Linux < 5.12) or
/// refused (a seccomp profile around berth), only once attached: until then an image's link
/// `/app -> /proc/self/fd/N` would have berth make a target's directories or file in the
/// host directory the user mounted read-only. openat2 refuses magic links in the kernel
/// (Linux 5.6); before it, or where a filter refuses openat2, follow_by_hand does.
static int open_following(int dirfd, const char *name, int flags) {
    struct berth_open_how how = { (uint64_t)(O_PATH | O_CLOEXEC | flags), 0, BERTH_RESOLVE_NO_MAGICLINKS };
    int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
    return follow_by_hand(dirfd, name, flags);
}

/// What open_target makes of a path's last component.
enum target_kind {
    /// A directory volume's mount point or the working directory: made if missing (mkdir -p),
    /// then looked at itself, a link not followed (the mount goes onto the link as before).
    TARGET_DIRECTORY,
    /// A file volume's: see file_target.
    TARGET_FILE,
    /// Berth's own /etc files in a rootfs: nothing made on the way; the file made if missing
    /// (no link followed, nothing there before), mounted onto the name itself; a directory
    /// there is EISDIR (skipped).
    TARGET_OPTIONAL,
};

/// A file volume's target in `dir`, as a descriptor to mount on. One that exists is never
/// opened for reading or writing — a FIFO would block the set-up forever, a device node
/// would be opened by root with every capability —, only looked up (O_PATH; ordinary links
/// resolve inside the container's root, as /etc/localtime's); a missing one is made empty,
/// with no link followed and nothing there before (O_EXCL). A directory is EISDIR: a file's
/// tree cannot be attached there.
static int file_target(int dir, const char *name) {
    int fd = open_following(dir, name, 0);
    if (fd < 0) {
        if (errno != ENOENT) return -1;
        return openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
    struct stat st;
    if (fstat(fd, &st)) return closing(fd, -1);
    if (S_ISDIR(st.st_mode)) { close(fd); errno = EISDIR; return -1; }
    return fd;
}

/// The absolute `target`, looked up from the container's root (after pivot_root) one
/// component at a time, each missing directory on the way made (mkdir -p, 0755; not for
/// TARGET_OPTIONAL) in the directory reached so far, never through a path, and each one
/// entered with open_following: no magic link is followed, so nothing is made outside the
/// container's root (see open_following). Returns a descriptor of the last component,
/// made as `kind` says, to mount on.
static int open_target(const char *target, enum target_kind kind) {
    char path[PATH_MAX];
    size_t length = strlen(target);
    if (length + 1 > sizeof path) { errno = ENAMETOOLONG; return -1; }
    memcpy(path, target, length + 1);
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    char *name = path;
    for (;;) {
        while (*name == '/') name++;
        char *end = name;
        while (*end && *end != '/') end++;
        char *next = end;
        while (*next == '/') next++;
        if (!*next) { *end = 0; break; }
        *end = 0;
        if (kind != TARGET_OPTIONAL && mkdirat(dir, name, 0755) && errno != EEXIST) return closing(dir, -1);
        int sub = open_following(dir, name, O_DIRECTORY);
        close(dir);
        if (sub < 0) return -1;
        dir = sub;
        name = next;
    }
    if (!*name) {
        // The root itself: a directory, never a file's target.
        if (kind == TARGET_DIRECTORY) return dir;
        close(dir);
        errno = EISDIR;
        return -1;
    }
    int fd = -1;
    if (kind == TARGET_DIRECTORY) {
        if (mkdirat(dir, name, 0755) && errno != EEXIST) return closing(dir, -1);
        fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } else if (kind == TARGET_FILE) {
        fd = file_target(dir, name);
    } else {
        fd = open_following(dir, name, 0);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) { close(fd); errno = EISDIR; return closing(dir, -1); }
        if (fd >= 0) {
            close(fd);
            fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        } else if (errno == ENOENT) {
            fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        }
    }
    return closing(dir, fd);
}

/// Attaches each volume's source (a detached copy of the host's mount tree, made by the
/// parent with open_tree) over its target (created if missing), private, read-only if asked.
/// Runs after pivot_root: the target resolves inside the container's root, through no
/// magic link (open_target). (Without a rootfs
/// only Berth's optional /etc files come here, over existing host files in the container's
/// private mount namespace.) (A plain bind of
/// the host path would not do: the source's mounts belong to the parent's mount namespace,
/// which a bind refuses, and its path no longer exists here.) In the order given: the caller
/// puts parents first (BindMount.inMountOrder), so a later volume is never hidden by one above it.
static void mount_volumes(struct berth_spawn_config *c) {
    // Read-only all the way down, mounts under the source included, as Docker 25's default:
    // set on each detached copy, every mount of it (Linux 5.12). Before that kernel, or
    // where a seccomp filter around berth refuses the call (EPERM from a profile older than
    // it), only the top mount once moved, as older Docker. All of them first: the copies
    // stay open (as /proc/self/fd/N) while the targets below are made, and a target the
    // rootfs links to a later read-only volume's copy would otherwise be made in it. Where
    // the call is missing or refused, the copies stay writable until attached: the targets
    // are then kept out of them by open_target, which follows no magic link.
    int recursive[c->mount_count > 0 ? c->mount_count : 1];
    for (int i = 0; i < c->mount_count; i++) {
        const struct berth_bind_mount *m = &c->mounts[i];
        recursive[i] = 0;
        if (!m->read_only) continue;
        struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
        recursive[i] = syscall(SYS_mount_setattr, m->source_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0;
        if (!recursive[i] && errno != ENOSYS && errno != EPERM) fail(&c->exec, BERTH_STEP_VOLUME + i);
    }
    for (int i = 0; i < c->mount_count; i++) {
        const struct berth_bind_mount *m = &c->mounts[i];
        int step = BERTH_STEP_VOLUME + i;
        int target_fd = -1;
        if (m->optional && !c->rootfs) {
            // On the host's files: only over one that exists, never one made on the host.
            struct stat st;
            if (stat(m->target, &st) != 0 || S_ISDIR(st.st_mode)) continue;
        } else if (m->optional) {
            // No /etc, a read-only /etc, a dangling symlink (O_EXCL), a directory, a path
            // through a magic link: nothing to mount on.
            if ((target_fd = open_target(m->target, TARGET_OPTIONAL)) < 0) continue;
        } else if (!c->rootfs) {
            // A volume needs a root filesystem (checked before the clone): never on the host's.
            fail(&c->exec, step);
        } else {
            // Made and attached onto the node looked at, never onto what the path names by
            // then; no magic link followed on the way (open_target).
            target_fd = open_target(m->target, m->directory ? TARGET_DIRECTORY : TARGET_FILE);
            if (target_fd < 0) fail(&c->exec, step);
        }
        long moved = target_fd >= 0
            ? syscall(SYS_move_mount, m->source_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
            // On the host's files, onto the file a symlink names, as stat saw it
            // (/etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf).
            : syscall(SYS_move_mount, m->source_fd, "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS);
        if (target_fd >= 0) closing(target_fd, 0);
        if (moved) fail(&c->exec, step);
        // The source's descriptor names the mount it attached (/proc/self/fd/N leads to its
        // root): what follows acts on that mount, never on what the target's path names.
        char attached[32];
        fd_path(attached, m->source_fd);
        // The copy keeps the host mount's propagation; as Docker's binds, it is rprivate.
        if (mount(NULL, attached, NULL, MS_REC | MS_PRIVATE, NULL)) fail(&c->exec, step);
        if (m->read_only && !recursive[i]) {
            unsigned long flags = kept_mount_flags(attached);
            if (mount(NULL, attached, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL)) fail(&c->exec, step);
        }
    }
}

/// `--read-only`: the root mount (the rootfs bound onto itself before pivot_root) becomes
/// read-only; /proc, /dev, /dev/shm, /sys and volumes are mounts of their own and keep
/// their flags, as in Docker.
static int make_root_readonly(void) {
    unsigned long flags = kept_mount_flags("/");
    return mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL);
}

// MARK: - Terminal and user

/// Sends `fd` over a unix socket with one byte of data.
static int send_fd(int socket, int fd) {
    char byte = 'T';
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr header; char buffer[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(socket, &message, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/// The multiplexer of this process's /dev/pts, opened: inside a root filesystem the
/// container's devpts (newinstance). Not /dev/ptmx, which root in a running container may
/// replace with any node or link: `berth exec -t` would open that as root with every
/// capability (CVE-2025-52565's class; opening a watchdog's node, for one, arms it). The
/// node is looked at through O_PATH first (no link followed on the way, nothing opened)
/// and must be char 5:2 on a devpts, as runc 1.2.8 checks; only then is it opened, through
/// that descriptor, and checked to be the same inode. Anything else is refused as its own
/// step (BERTH_STEP_PTMX), never opened.
static int open_ptmx(const struct berth_exec_config *c) {
    // No link anywhere on the path (openat2 RESOLVE_NO_SYMLINKS); where openat2 is missing
    // or refused by a filter around berth, none at the end (O_NOFOLLOW).
    struct berth_open_how how = { O_PATH | O_CLOEXEC, 0, BERTH_RESOLVE_NO_SYMLINKS };
    int node = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/pts/ptmx", &how, sizeof how);
    if (node < 0 && (errno == ENOSYS || errno == EPERM)) node = open("/dev/pts/ptmx", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (node < 0) {
        if (errno == ELOOP) { errno = ENOTTY; fail(c, BERTH_STEP_PTMX); }
        return -1;
    }
    struct stat st, opened;
    struct statfs fs;
    if (fstat(node, &st) || fstatfs(node, &fs)) return closing(node, -1);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) || (unsigned long)fs.f_type != DEVPTS_SUPER_MAGIC) {
        close(node);
        errno = ENOTTY;
        fail(c, BERTH_STEP_PTMX);
    }
    char path[32];
    fd_path(path, node);
    int master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    close(node);
    if (master < 0) return -1;
    if (fstat(master, &opened) || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
        close(master);
        errno = ENOTTY;
        fail(c, BERTH_STEP_PTMX);
    }
    return master;
}

/// Opens a pseudo-terminal from this process's /dev/pts (open_ptmx), sends the master to
/// the parent and returns the slave. Inside a root filesystem that is the container's
/// devpts (newinstance), so the terminal is /dev/pts/0 there, as in Docker.
static int open_console(struct berth_exec_config *c) {
    int master = open_ptmx(c);
    if (master < 0) return -1;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock)) return -1;
    // TIOCGPTPEER (Linux 4.13) opens the slave through the master, never by a path that
    // could name another devpts instance.
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return -1;
    if (c->console_rows && c->console_cols) {
        struct winsize size;
        memset(&size, 0, sizeof size);
        size.ws_row = c->console_rows;
        size.ws_col = c->console_cols;
        if (ioctl(slave, TIOCSWINSZ, &size)) return -1;
    }
    if (send_fd(c->console_fd, master)) return -1;
    close(master);
    close(c->console_fd);
    c->console_fd = -1;
    return slave;
}

/// Exactly `groups`, with or without a user switch (runc always sets them): otherwise root in
/// the container would keep the caller's supplementary groups on the host. A caller that may
/// not (a user namespace with setgroups denied) and has none passes when none are asked for.
///
/// setgroups, setresgid, setresuid as raw system calls: they change this thread only, which
/// is the whole process here. glibc's wrappers would try to signal the parent's threads,
/// whose records the clone copied but which do not exist in the child.
static int set_groups(const struct berth_exec_config *c) {
    if (syscall(SYS_setgroups, (size_t)c->group_count, c->groups) == 0) return 0;
    int saved = errno;
    if (saved == EPERM && c->group_count == 0 && syscall(SYS_getgroups, 0, NULL) == 0) return 0;
    errno = saved;
    return -1;
}

static int switch_user(const struct berth_exec_config *c) {
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid)) return -1;
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid)) return -1;
    return 0;
}

/// The first candidate that is a regular file we may execute; NULL with errno when none is.
/// Looked up as the caller (root), before the user switch: a candidate that user may not
/// execute is found all the same, and exec_command goes past it.
static const char *find_command(const struct berth_exec_config *c) {
    int first_error = ENOENT;
    for (const char *const *p = c->candidates; *p; p++) {
        struct stat st;
        if (stat(*p, &st) != 0) continue;
        if (!S_ISREG(st.st_mode)) { first_error = EACCES; continue; }
        if (access(*p, X_OK) != 0) { first_error = errno; continue; }
        return *p;
    }
    errno = first_error;
    return NULL;
}

/// execve of `path` (find_command's), then, where that is refused with EACCES (the
/// switched user may not execute it, or search a directory on its way; a noexec mount),
/// of the PATH candidates after it, as execvp goes on: one that is missing (ENOENT,
/// ENOTDIR, …) or refused too is skipped, another error stops the search with that error,
/// and EACCES is what is reported when none ran. Returns only on failure, errno set.
static void exec_command(const struct berth_exec_config *c, const char *path) {
    execve(path, c->argv, c->envp);
    if (errno != EACCES) return;
    const char *const *p = c->candidates;
    while (*p && *p != path) p++;
    for (p = *p ? p + 1 : p; *p; p++) {
        execve(*p, c->argv, c->envp);
        if (errno != EACCES && errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT) return;
    }
    errno = EACCES;
}

/// Closes every descriptor from 3 up except those in `keep` (each -1 or >= 3; sorted here);
/// without close_range (before Linux 5.9, or refused by a seccomp filter) as
/// `berth_close_range` falls back.
static int close_others(int *keep, int count) {
    for (int i = 1; i < count; i++) {
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    }
    unsigned low = 3;
    // berth_close_range returns -errno and leaves errno be: set it for the failure report.
    for (int i = 0; i < count; i++) {
        if (keep[i] < (int)low) continue;
        if ((unsigned)keep[i] > low) {
            int rc = berth_close_range(low, (unsigned)keep[i] - 1);
            if (rc) { errno = -rc; return -1; }
        }
        low = (unsigned)keep[i] + 1;
    }
    int rc = berth_close_range(low, ~0U);
    if (rc) { errno = -rc; return -1; }
    return 0;
}

/// The bounding set cut to `keep`, first: it decides what an exec'd root program gets back.
/// That needs CAP_SETPCAP, which the child still holds here (runc's ApplyBoundingSet, done
/// before the user is switched).
static int drop_bounding(unsigned long long keep) {
    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap)) continue;
        // EINVAL: past the kernel's last capability.
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) return -1;
    }
    return 0;
}

/// The effective and permitted sets become `keep`, the inheritable set empty, the ambient
/// set cleared (runc's ApplyCaps, after the user switch). For uid 0 that is what the
/// command runs with; a non-root uid's execve keeps none of them (no ambient, no
/// inheritable capabilities), as with Docker. Needs no capability: every set only shrinks
/// from the permitted set the child holds (kept across a user switch by PR_SET_KEEPCAPS).
static int set_capabilities(unsigned long long keep) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) return -1;
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    // Only what the child holds: capset refuses (EPERM) a bit outside its permitted set —
    // one past an older kernel's last capability (`--cap-add ALL` names PERFMON, BPF and
    // CHECKPOINT_RESTORE, Linux 5.8/5.9), or one berth itself was started without.
    if (syscall(SYS_capget, &header, data)) return -1;
    keep &= (unsigned long long)data[0].permitted | (unsigned long long)data[1].permitted << 32;
    memset(data, 0, sizeof data);
    // The inheritable set stays empty, as runc's since 1.1.2 (CVE-2022-24769): with it, a
    // program carrying inheritable file capabilities would gain them on exec, a non-root
    // user's included.
    data[0].effective = data[0].permitted = (unsigned)(keep & 0xffffffffu);
    data[1].effective = data[1].permitted = (unsigned)(keep >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

/// runc's fixStdioPermissions, narrowed: the command's stdio given to the user it runs as,
/// so that it can open /dev/stdout, /dev/stderr or its terminal by name (nginx-style logging
/// to /dev/stderr, su, script) — but only anonymous pipes (pipefs) and the console's slave
/// (`console`, the container's devpts). The CLI relays stdio through pipes of its own; a
/// program embedding BerthRun that hands the container a pipe of its caller's gives that
/// pipe to the user too. A terminal, a named FIFO or a file of the host's keeps its owner:
/// chowning it would hand a host file to the container's uid. Only the owner
/// changes, as runc's. EINVAL, EPERM or EROFS: left as it is, as runc does.
static int give_stdio(const struct berth_exec_config *c, int console) {
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        struct statfs fs;
        if (fstat(fd, &st) || fstatfs(fd, &fs)) {
            if (errno == EBADF) continue;
            return -1;
        }
        int made = fs.f_type == PIPEFS_MAGIC || (console && fs.f_type == DEVPTS_SUPER_MAGIC);
        if (!made || st.st_uid == c->uid) continue;
        if (fchown(fd, c->uid, (gid_t)-1) && errno != EINVAL && errno != EPERM && errno != EROFS) return -1;
    }
    return 0;
}

/// runc's finalizeNamespace: the user switched with PR_SET_KEEPCAPS on, so the permitted
/// set survives a move from uid 0 (without it the kernel empties it, and the capabilities
/// could no longer be set after), then the flag cleared. setresgid and setresuid run with
/// every capability still effective: the container need not keep SETUID and SETGID to be
/// started as another user (`--cap-drop ALL --user 1000`, as Docker). `keep_caps`: whether
/// the capabilities are set after (not for a privileged container, whose non-root user
/// loses them as any setuid does).
static int become_user(const struct berth_exec_config *c, int keep_caps) {
    if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) return -1;
    if (switch_user(c)) return -1;
    if (keep_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)) return -1;
    return 0;
}

/// Writes "0" to each open cgroup.procs: moves this (single-threaded) process into those
/// cgroups. Then closes them: the container must not hold a handle on the host's cgroup tree.
///
/// A move takes the kernel's cgroup threadgroup lock for writing, which waits for an RCU
/// grace period when no move happened lately: milliseconds (15 ms measured on a loaded
/// 2-CPU host), whatever the number of trees. Hence where spawn does it (see finish_and_exec).
static int join_cgroups(const struct berth_exec_config *c) {
    for (int i = 0; i < c->cgroup_count; i++) {
        ssize_t n;
        do { n = write(c->cgroup_fds[i], "0", 1); } while (n < 0 && errno == EINTR);
        if (n != 1) return -1;
        close(c->cgroup_fds[i]);
    }
    return 0;
}

static int install_seccomp(const struct berth_exec_config *c) {
    struct sock_fprog program = { c->seccomp_length, (struct sock_filter *)c->seccomp_filter };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &program);
}

/// Until execve the child is berth's own image, holding every capability, and in the
/// container's pid namespace: not dumpable, so that no process in the container (root there
/// lacks CAP_SYS_PTRACE) can ptrace it or open its /proc/PID/exe (CVE-2019-5736's way in).
/// execve of the command makes it dumpable again as usual — and should that command be
/// /proc/self/exe, the parent's binary runs in the container, dumpable: the parent runs it
/// through a view that refuses writes (berth_exec_sealed, SealedExecutable), so what is
/// reached through /proc/PID/exe is that view, never a writable file of the host.
static void make_undumpable(void) {
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/// prlimit64(2) on the child itself for each of the container's limits, soft and hard at
/// once (setrlimit would be glibc's wrapper around the same call). 0, or -1 with errno.
static int set_rlimits(const struct berth_exec_config *c) {
    for (int i = 0; i < c->rlimit_count; i++) {
        // The kernel's struct rlimit64.
        struct { uint64_t cur, max; } limit = { c->rlimits[i].soft, c->rlimits[i].hard };
        if (syscall(SYS_prlimit64, 0, c->rlimits[i].resource, &limit, NULL)) return -1;
    }
    return 0;
}

// MARK: - The container's init (`berth run --init`)
//
// docker run --init bind-mounts tini into the container as its PID 1. Berth puts no file
// into the container: the child itself stays PID 1, after every confinement step (user,
// groups, capabilities, no_new_privs, seccomp), so the init is confined exactly as the
// command is; it forks the command, which execs, and then execs `berth-init` (a small static
// program, Sources/berth-init) from a descriptor the parent opened through a read-only view
// (berth_open_sealed), as it would exec berth itself: /proc/1/exe is that view, never a
// writable file of the host. Exec'd, PID 1 is dumpable like any command (a berth without
// CAP_SYS_PTRACE can open its /proc/1/ns/*, as `berth exec`, `check` and `gc` do) and its
// memory is that program's, not a copy of berth's (nothing of berth's to read, little for a
// memory-limited container's OOM killer to pick). Until that execve it is berth's image,
// non-dumpable (made so before the fork, and again after every change of user).
//
// Where the view cannot be exec'd (no berth-init beside the binary that spawns, a filter
// that refuses execveat), the init stays berth's image, non-dumpable, and runs
// the same loop (berth_init_loop) in place: /proc/1/cmdline, which needs no ptrace access,
// then shows `berth-init -- COMMAND` because the init overwrites the memory it is read from
// (init_cmdline).

/// Where the kernel reads a process's /proc/PID/cmdline and /proc/PID/environ from: ranges of
/// its memory (the strings execve put on its stack), fields 48 to 51 of /proc/self/stat.
/// Found by the parent before the clone, so the child has them at the same addresses.
struct init_areas {
    /// The berth-init binary to exec (berth_spawn_config.init_fd), or -1.
    int exe;
    unsigned long arg_start, arg_end, env_start, env_end;
};

/// The parent side: fields 48-51 of /proc/self/stat (Linux 3.5), counted from the last ')'
/// (the command name may hold spaces and parentheses). All zero when unreadable: the init
/// then keeps berth's command line (its name is still set).
static void find_init_areas(struct init_areas *areas) {
    char buffer[4096];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n;
    do { n = read(fd, buffer, sizeof buffer - 1); } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) return;
    buffer[n] = 0;
    char *p = strrchr(buffer, ')');
    if (!p) return;
    unsigned long values[4];
    int field = 2, found = 0;
    while (*p && found < 4) {
        if (*p != ' ') { p++; continue; }
        field++;
        p++;
        if (field >= 48 && field <= 51) {
            char *end;
            values[field - 48] = strtoul(p, &end, 10);
            if (end == p) return;
            found++;
        }
    }
    if (found < 4 || values[0] >= values[1] || values[2] > values[3]) return;
    areas->arg_start = values[0];
    areas->arg_end = values[1];
    areas->env_start = values[2];
    areas->env_end = values[3];
}

/// Copies `text` and its NUL to `*at` if it fits before `end` (one byte is always left for
/// the area's last NUL); 0, or -1 when it does not fit.
static int put_string(char **at, char *end, const char *text) {
    size_t length = strlen(text) + 1;
    if ((size_t)(end - *at) <= length) return -1;
    memcpy(*at, text, length);
    *at += length;
    return 0;
}

/// The init's name and command line, as the container sees them: `berth-init` in
/// /proc/1/comm and `berth-init -- COMMAND ARGS` in /proc/1/cmdline (as much of the command
/// as fits in berth's own argument area, whole words only), berth's environment strings
/// zeroed. The argument area's last byte stays NUL, so the kernel reads exactly that area
/// (a non-NUL last byte would have it read on, setproctitle's way). Only the init does
/// this, after the fork: the command's execve replaces the whole memory anyway.
static void init_cmdline(const struct berth_exec_config *c, const struct init_areas *areas) {
    prctl(PR_SET_NAME, "berth-init", 0, 0, 0);
    if (!areas->arg_end) return;
    char *at = (char *)areas->arg_start, *end = (char *)areas->arg_end;
    memset(at, 0, (size_t)(end - at));
    if (put_string(&at, end, "berth-init") == 0 && put_string(&at, end, "--") == 0) {
        for (char *const *arg = c->argv; *arg && put_string(&at, end, *arg) == 0; arg++) {}
    }
    if (areas->env_end > areas->env_start) memset((void *)areas->env_start, 0, areas->env_end - areas->env_start);
}

/// PID 1 becomes berth-init: execveat of the binary's read-only view (`exe`), with
/// `berth-init -- COMMAND ARGS` (the command's first words, at most 256 of them) as its
/// arguments and the command's pid as its only environment string. Returns only when that
/// failed (before the point of no return: the process is unchanged), and the caller runs the
/// loop in place.
static void exec_init(const struct berth_exec_config *c, pid_t command, int exe) {
    enum { most = 256 };
    char *argv[most + 3];
    int count = 0;
    argv[count++] = "berth-init";
    argv[count++] = "--";
    for (char *const *arg = c->argv; *arg && count < most + 2; arg++) argv[count++] = *arg;
    argv[count] = NULL;
    // BERTH_INIT_COMMAND=PID; digits by hand, as fd_path's.
    static const char prefix[] = BERTH_INIT_COMMAND_VARIABLE "=";
    char variable[sizeof prefix + 12];
    memcpy(variable, prefix, sizeof prefix - 1);
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)command;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    char *p = variable + sizeof prefix - 1;
    while (n) *p++ = digits[--n];
    *p = 0;
    char *envp[] = { variable, NULL };
    // No second try through execve("/proc/self/fd/N") when this fails (a seccomp profile of
    // the user's without execveat: EPERM; a kernel without it: ENOSYS): that path is looked
    // up in the container's mount namespace, whose /proc may be missing or another one, so it
    // would only fail for reasons of its own, and the errno left behind would name those
    // instead of execveat's. The init in place is the same loop.
    syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
}

/// The init, once the command's process is forked: exec'd as berth-init where it can be
/// (exec_init), else berth_init_loop in this process. Every signal is blocked first, the
/// kernel's whole set (the C library's leaves out its own two), and stays so across the
/// execve: a signal sent meanwhile waits, pending, for the loop. The status pipe stays open
/// until that execve (close-on-exec): the parent's EOF, which admits `berth exec`, then
/// comes once PID 1 is berth-init. The init holds nothing of the container's stdio: a
/// command that closes its output ends the stream, as without an init.
static void run_init(struct berth_exec_config *c, pid_t command, const struct init_areas *areas) {
    uint64_t all = ~0ULL;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
    if (c->sync_fd >= 0) close(c->sync_fd);
    for (int fd = 0; fd < 3; fd++) close(fd);
    // Again, after every change of user: with fs.suid_dumpable set, a uid change makes a
    // process dumpable, and in place the init lives as long as the container.
    make_undumpable();
    if (areas->exe >= 0) {
        exec_init(c, command, areas->exe);
        close(areas->exe);
    }
    // In place. The command's execve closes the last copy of the status pipe's write end
    // (it is close-on-exec), so the parent's EOF still means "exec succeeded"; a failed exec
    // is reported by the command's process itself.
    close(c->status_fd);
    init_cmdline(c, areas);
    berth_init_loop(command);
}

/// The end of finish_and_exec under an init: the command's process forked (raw clone with
/// SIGCHLD alone, like fork without atfork handlers: see the file's header) and exec'd;
/// this process stays as the init. A signal the init passes on before the command's execve
/// is delivered when the command's process unblocks signals, with default dispositions,
/// just before that execve (tini's window too): a SIGTERM then ends it as it would the
/// command.
static void exec_under_init(struct berth_exec_config *c, const char *path, int console, const struct init_areas *areas) {
    // A non-root user's execve gives it no capability (none inheritable or ambient); the
    // init, which never execs, drops them itself so that it holds no more than the command.
    // Before the fork: the command's execve computes its own sets from its file either way.
    if (c->set_user && c->uid != 0 && set_capabilities(0)) fail(c, BERTH_STEP_CAPABILITIES);
    // Again before the fork, right after the last change of user and capabilities
    // (become_user may have made this process dumpable, fs.suid_dumpable=1): from the moment
    // the command runs, nothing in the container may reach berth's image here.
    make_undumpable();
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) fail(c, BERTH_STEP_INIT);
    if (pid == 0) {
        // A process group of its own, as tini gives (setpgid(0, 0)): a `kill 0` of the
        // command's (a shell's `trap 'kill 0' TERM`) then reaches its own group and not the
        // init, which would pass it on a second time; and the group is not orphaned (its
        // parent, the init, is in another group of the same session), so SIGTSTP stops it.
        // With a terminal, it is also the terminal's foreground group: ^C there reaches the
        // command's group, never the init. (SIGTTOU is blocked, so a background process may
        // take the terminal.)
        if (setpgid(0, 0)) fail(c, BERTH_STEP_INIT);
        if (console >= 0 && tcsetpgrp(0, (pid_t)syscall(SYS_getpid))) fail(c, BERTH_STEP_TERMINAL);
        unblock_signals();
        exec_command(c, path);
        fail(c, BERTH_STEP_EXEC);
    }
    run_init(c, pid, areas);
}

/// Common tail of spawn and enter: stdio, descriptor hygiene, then — with nothing of the
/// host's open — the working directory and the command lookup, the wait for the go-ahead,
/// execve — or, with `init` (a new container's `--init`), exec_under_init. Never returns.
static void finish_and_exec(struct berth_exec_config *c, const struct init_areas *init) {
    int console = -1;
    if (c->console_fd >= 0) {
        console = open_console(c);
        if (console < 0) fail(c, BERTH_STEP_TERMINAL);
    }
    int moved[3];
    for (int i = 0; i < 3; i++) {
        int source = console >= 0 ? console : c->stdio[i];
        moved[i] = source >= 0 ? fcntl(source, F_DUPFD_CLOEXEC, 3) : -1;
        if (source >= 0 && moved[i] < 0) fail(c, BERTH_STEP_STDIO);
    }
    for (int i = 0; i < 3; i++) {
        if (moved[i] >= 0 && dup2(moved[i], i) < 0) fail(c, BERTH_STEP_STDIO);
    }
    // A session of its own in every case, as runc gives: without one the command would stay
    // in berth's foreground process group, so a ^C typed at berth's terminal would reach it
    // directly as well as through berth's forwarding (twice), and ^Z would stop it. Reading
    // a terminal on stdin (-i) still works: SIGTTIN concerns only a controlling terminal.
    // With -t the console becomes its controlling terminal: the shell's job control works,
    // and ^C typed there signals the container's foreground process group.
    if (setsid() < 0) fail(c, BERTH_STEP_TERMINAL);
    if (console >= 0 && ioctl(0, TIOCSCTTY, 0)) fail(c, BERTH_STEP_TERMINAL);
    // Whatever the parent had open (namespace handles, sockets, state files, and the pipes of
    // containers other threads are spawning right now) must not leak into the container, nor
    // be held while this child waits: that would delay the EOF those pipes signal.
    int keep[3 + BERTH_MAX_CGROUP_FDS] = { c->status_fd, c->sync_fd, init ? init->exe : -1 };
    int kept = 3;
    for (int i = 0; i < c->cgroup_count && i < BERTH_MAX_CGROUP_FDS; i++) keep[kept++] = c->cgroup_fds[i];
    if (c->cgroup_count > BERTH_MAX_CGROUP_FDS) { errno = EINVAL; fail(c, BERTH_STEP_CGROUP); }
    if (close_others(keep, kept)) fail(c, BERTH_STEP_DESCRIPTORS);
    // Only now, with nothing of the host's open (CVE-2024-21626, runc's "Leaky Vessels"): a
    // process of the container may have made the working directory a symbolic link to
    // /proc/self/fd/N, and a directory the parent had open as N (the container's cgroup
    // directory, handed to clone3) would put the command's working directory on the host,
    // from where `..` reaches the host's root. What is kept here is pipes and cgroup.procs
    // files, which no path can pass through. The check after is runc's second fence: a
    // directory outside the root gets "(unreachable)" from the kernel, ENOENT from getcwd.
    if (chdir(c->workdir ? c->workdir : "/")) fail(c, BERTH_STEP_WORKDIR);
    // The system call itself, not glibc's getcwd: on "(unreachable)" or ENAMETOOLONG that
    // falls back to walking `..` with opendir — memory allocation in a child cloned from a
    // threaded process, and a path that starts with '/' whatever the kernel said.
    char cwd[PATH_MAX];
    if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0) fail(c, BERTH_STEP_WORKDIR);
    if (cwd[0] != '/') { errno = ENOENT; fail(c, BERTH_STEP_WORKDIR); }
    const char *path = find_command(c);
    if (!path) fail(c, BERTH_STEP_LOOKUP);
    // Here, not with the other limits just before execve: a refusal (a hard limit above the
    // parent's without CAP_SYS_RESOURCE, nofile above fs.nr_open) is then a set-up failure
    // reported before the parent attaches the network, and the capabilities are all held.
    // Nothing after this opens a descriptor, so RLIMIT_NOFILE cannot fail the child itself.
    if (set_rlimits(c)) fail(c, BERTH_STEP_RLIMIT);
    if (c->sync_fd >= 0) {
        int ready[2] = { BERTH_STEP_READY, 0 };
        if (write(c->status_fd, ready, sizeof ready) != sizeof ready) _exit(127);
        // Joined while held, after reporting ready: the kernel's wait (see join_cgroups)
        // then overlaps the parent's network set-up. The command still starts inside.
        int joined = join_cgroups(c);
        int saved = errno;
        char go = 0;
        ssize_t n;
        do { n = read(c->sync_fd, &go, 1); } while (n < 0 && errno == EINTR);
        // A failure is reported once the parent has written its go-ahead (or given up), so
        // that it never writes into a pipe nobody reads.
        if (joined) { errno = saved; fail(c, BERTH_STEP_CGROUP); }
        if (n != 1 || go != 'G') _exit(125); // aborted: the parent closed the pipe or died
    } else if (join_cgroups(c)) { // spawn without a start pipe (enter_child has joined already)
        fail(c, BERTH_STEP_CGROUP);
    }
    // Released (or never held): from here to execve, not dumpable (harden_child).
    make_undumpable();
    // While every capability is held (CAP_SETGID whatever the container keeps).
    if (set_groups(c)) fail(c, BERTH_STEP_USER);
    // Before the filter, which need not allow fstatfs and fchown (a custom profile).
    if (c->set_user && c->uid != 0 && give_stdio(c, console >= 0)) fail(c, BERTH_STEP_USER);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) fail(c, BERTH_STEP_NO_NEW_PRIVS);
    // From here on every system call passes the filter: the rest of this sequence (prctl,
    // capset, rt_sigprocmask, execve, and write/exit_group to report a failure) must be
    // allowed by any profile Berth installs.
    if (c->seccomp_filter && !c->no_new_privs && install_seccomp(c)) fail(c, BERTH_STEP_SECCOMP);
    // runc's order: bounding set, user (with every capability still effective: see
    // become_user), then the capabilities. Without no_new_privs all of it runs under the
    // filter: prctl, setresgid, setresuid and capset must pass it too.
    if (c->limit_caps && drop_bounding(c->keep_caps)) fail(c, BERTH_STEP_CAPABILITIES);
    if (c->set_user && become_user(c, c->limit_caps)) fail(c, BERTH_STEP_USER);
    if (c->limit_caps && set_capabilities(c->keep_caps)) fail(c, BERTH_STEP_CAPABILITIES);
    if (c->seccomp_filter && c->no_new_privs && install_seccomp(c)) fail(c, BERTH_STEP_SECCOMP);
    // Again, after the last change of credentials: a change of uid (become_user) sets
    // dumpable to fs.suid_dumpable, so with it at 1 the child would be dumpable from
    // setresuid to execve — berth's image, still holding the container's capabilities, in a
    // pid namespace where `berth exec` meets the container's processes of that uid. (The
    // --init path does the same before its fork: exec_under_init.)
    make_undumpable();
    if (init) exec_under_init(c, path, console, init);
    unblock_signals();
    exec_command(c, path);
    fail(c, BERTH_STEP_EXEC);
}

/// First in the child: runc's umask, 022, whatever the caller's, for the directories made
/// here and the command; and not dumpable from the start when `now` (`berth exec`, which
/// joins a pid namespace where the container's processes already run). A new container's
/// child becomes so once released (finish_and_exec): while it is held its pid namespace
/// holds no other process, and berth, the parent, opens its /proc/PID/ns/net then, which a
/// non-dumpable child would refuse to a root without CAP_SYS_PTRACE (berth in a container
/// with docker's default capabilities).
static void harden_child(int now) {
    if (now) make_undumpable();
    umask(022);
}

/// First in a new container's child: closes every descriptor inherited from the parent that
/// the child does not use. The parent (berth, or a runtime embedding Berth) may hold
/// directories of the host open, and a path of the container's own making — a working
/// directory or a volume's mount point turned into a symbolic link to /proc/self/fd/N —
/// would lead through one onto the host while the child creates or enters it (runc's
/// CVE-2024-21626). Kept: the status and start pipes, the cgroup.procs files, stdio, the
/// console socket, the volumes' detached trees and the init's binary; finish_and_exec closes
/// the rest of those before the working directory is entered.
static void close_inherited(struct berth_spawn_config *c) {
    int count = 0;
    int keep[7 + BERTH_MAX_CGROUP_FDS + (c->mount_count > 0 ? c->mount_count : 0)];
    keep[count++] = c->exec.status_fd;
    keep[count++] = c->exec.sync_fd;
    keep[count++] = c->exec.console_fd;
    for (int i = 0; i < 3; i++) keep[count++] = c->exec.stdio[i];
    for (int i = 0; i < c->exec.cgroup_count && i < BERTH_MAX_CGROUP_FDS; i++) keep[count++] = c->exec.cgroup_fds[i];
    for (int i = 0; i < c->mount_count; i++) keep[count++] = c->mounts[i].source_fd;
    keep[count++] = c->init ? c->init_fd : -1;
    if (close_others(keep, count)) fail(&c->exec, BERTH_STEP_DESCRIPTORS);
}

static void spawn_child(struct berth_spawn_config *c, const struct init_areas *init) {
    harden_child(0);
    reset_signals();
    close_parent_ends(&c->exec);
    close_inherited(c);
    if (c->namespaces & CLONE_NEWNS) {
        // Before any mount: nothing the container mounts may propagate to the host.
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) fail(&c->exec, BERTH_STEP_PROPAGATION);
    }
    int null = -1;
    if (c->rootfs) {
        null = enter_rootfs(c);
    } else if (c->remount_proc) {
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail(&c->exec, BERTH_STEP_MOUNT_PROC);
    }
    // runc's order: the container's own filesystems (/proc, /dev, /sys), then the volumes —
    // one under /sys (`-v /sys/fs/cgroup:/sys/fs/cgroup:ro`) would otherwise be hidden under
    // the fresh sysfs —, then the masks over everything. Only with a mount namespace of its
    // own: otherwise these mounts would land on the host.
    if ((c->namespaces & CLONE_NEWNS) && c->mount_sys && mount_sys(c->restrict_kernel_files, c->rootfs != NULL)) fail(&c->exec, BERTH_STEP_MOUNT_SYS);
    // Without a rootfs only Berth's /etc files, over the host's in this private namespace.
    if (c->rootfs || ((c->namespaces & CLONE_NEWNS) && c->mount_count > 0)) mount_volumes(c);
    if ((c->namespaces & CLONE_NEWNS) && c->restrict_kernel_files && mask_kernel_files(null)) fail(&c->exec, BERTH_STEP_MASK_PATHS);
    if (null >= 0) close(null);
    // -w DIR missing in the rootfs is created (mkdir -p, 0755, as root, inside the new root),
    // as runc does: "If the path does not exist, it is created inside the container". Before
    // the root turns read-only. Without a rootfs it would land on the host's files: never.
    // No magic link followed on the way (open_target), as for the volumes' targets.
    if (c->rootfs && c->exec.workdir) {
        int workdir = open_target(c->exec.workdir, TARGET_DIRECTORY);
        if (workdir < 0) fail(&c->exec, BERTH_STEP_WORKDIR);
        close(workdir);
    }
    // Last: /sys, the volumes' mount points and the working directory had to be created first.
    if (c->rootfs && c->readonly_rootfs && make_root_readonly()) fail(&c->exec, BERTH_STEP_READONLY_ROOT);
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname))) fail(&c->exec, BERTH_STEP_HOSTNAME);
    finish_and_exec(&c->exec, c->init ? init : NULL);
}

// MARK: - Parent side

/// The kernel's struct clone_args of clone3(2), version 2 (with `cgroup`). Declared here:
/// <linux/sched.h>, which has it, clashes with the C library's <sched.h>.
struct berth_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define BERTH_CLONE_INTO_CGROUP 0x200000000ULL

/// clone(2) like fork, into new namespaces, with a pidfd. Signals stay blocked across it so
/// that no Swift handler can run in the child before it resets them.
///
/// With `cgroup_fd` >= 0 (a cgroup2 directory), clone3 with CLONE_INTO_CGROUP: the child is
/// born in that cgroup, so nothing has to move it there (a move waits for the kernel's
/// threadgroup lock: see join_cgroups). `*born_in_cgroup` says whether that happened, in the
/// parent and in the child; a kernel without it (before 5.7) gets clone(2), and the child
/// joins through cgroup_fds instead.
static pid_t clone_child(unsigned long flags, int *pidfd, int cgroup_fd, int *born_in_cgroup) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = -1;
    *born_in_cgroup = 0;
    if (cgroup_fd >= 0) {
        struct berth_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = flags | CLONE_PIDFD | BERTH_CLONE_INTO_CGROUP;
        args.pidfd = (uint64_t)(uintptr_t)pidfd;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup_fd;
        // No stack: the child runs on a copy of this one, as with fork.
        *born_in_cgroup = 1;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) return 0;
        // ENOSYS: a kernel before 5.7; E2BIG: one without CLONE_INTO_CGROUP's field; EPERM: a
        // seccomp filter around berth that refuses clone3 (Docker's profiles before 20.10, as
        // for mount_setattr and openat2 here).
        if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EPERM)) *born_in_cgroup = 0;
    }
    if (!*born_in_cgroup) {
        // x86_64 and arm64 agree on (flags, stack, parent_tid, ...); CLONE_PIDFD writes parent_tid.
        pid = (pid_t)syscall(SYS_clone, flags | CLONE_PIDFD | SIGCHLD, NULL, pidfd, NULL, NULL);
        if (pid == 0) return 0; // the child keeps everything blocked until it has reset handlers
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

static int into_cgroup_fd(const struct berth_exec_config *c) {
    return c->clone_into_cgroup ? c->cgroup_dir_fd : -1;
}

int berth_spawn(const struct berth_spawn_config *config, int *pidfd) {
    // The child works on its own copy (the clone duplicates the stack frame it lives in).
    struct berth_spawn_config copy = *config;
    struct init_areas areas = { -1, 0, 0, 0, 0 };
    if (config->init) {
        areas.exe = config->init_fd;
        find_init_areas(&areas);
    }
    int born = 0;
    pid_t pid = clone_child((unsigned long)config->namespaces, pidfd, into_cgroup_fd(&config->exec), &born);
    if (pid == 0) {
        if (born) copy.exec.cgroup_count = 0;
        spawn_child(&copy, &areas);
        _exit(127);
    }
    return pid;
}

struct enter_job {
    const struct berth_enter_config *config;
    int *pidfd;
    pid_t pid;
    int error;
};

/// First in `berth exec`'s child, before it joins the container's namespaces: closes every
/// descriptor inherited from the parent but the status pipe, stdio, the console socket, the
/// cgroup.procs files and the namespace files it is about to join. Once in the container's
/// mount namespace, a path of the container's making (a link to /proc/self/fd/N, a /dev/ptmx
/// replaced) could otherwise reach one of berth's descriptors while the child still holds
/// every capability (close_inherited's reason, CVE-2024-21626).
static void close_inherited_entering(struct berth_enter_config *c) {
    int count = 0;
    int ns = c->ns_count > 0 ? c->ns_count : 0;
    int keep[6 + BERTH_MAX_CGROUP_FDS + ns];
    keep[count++] = c->exec.status_fd;
    keep[count++] = c->exec.sync_fd;
    keep[count++] = c->exec.console_fd;
    for (int i = 0; i < 3; i++) keep[count++] = c->exec.stdio[i];
    for (int i = 0; i < c->exec.cgroup_count && i < BERTH_MAX_CGROUP_FDS; i++) keep[count++] = c->exec.cgroup_fds[i];
    for (int i = 0; i < ns; i++) keep[count++] = c->ns_fds[i];
    if (close_others(keep, count)) fail(&c->exec, BERTH_STEP_DESCRIPTORS);
}

static void enter_child(struct berth_enter_config *c) {
    harden_child(1);
    reset_signals();
    close_parent_ends(&c->exec);
    close_inherited_entering(c);
    // The child is single-threaded, which setns into a mount namespace requires.
    for (int i = 0; i < c->ns_count; i++) {
        if (setns(c->ns_fds[i], c->ns_types[i])) fail(&c->exec, BERTH_STEP_SETNS);
        close(c->ns_fds[i]);
    }
    // Into the container's cgroups (v1, or v2 without clone3) before anything of the
    // container is opened: its device allow-list then applies to the terminal's node too.
    if (c->exec.cgroup_count > BERTH_MAX_CGROUP_FDS) { errno = EINVAL; fail(&c->exec, BERTH_STEP_CGROUP); }
    if (join_cgroups(&c->exec)) fail(&c->exec, BERTH_STEP_CGROUP);
    c->exec.cgroup_count = 0;
    finish_and_exec(&c->exec, NULL);
}

/// setns(CLONE_NEWPID) changes only the pid namespace of the calling thread's future
/// children, so it is done on this throwaway thread, and the child is cloned from it: born
/// in the container's pid namespace and still our own child, with a pid we can wait for.
static void *enter_thread(void *raw) {
    struct enter_job *job = raw;
    if (job->config->pid_ns_fd >= 0 && setns(job->config->pid_ns_fd, CLONE_NEWPID)) {
        job->error = errno;
        job->pid = -1;
        return NULL;
    }
    struct berth_enter_config copy = *job->config;
    int born = 0;
    pid_t pid = clone_child(0, job->pidfd, into_cgroup_fd(&job->config->exec), &born);
    if (pid == 0) {
        if (born) copy.exec.cgroup_count = 0;
        enter_child(&copy);
        _exit(127);
    }
    job->pid = pid;
    job->error = pid < 0 ? errno : 0;
    return NULL;
}

int berth_enter(const struct berth_enter_config *config, int *pidfd) {
    struct enter_job job = { config, pidfd, -1, 0 };
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, enter_thread, &job);
    if (rc) { errno = rc; return -1; }
    pthread_join(thread, NULL);
    if (job.pid < 0) errno = job.error;
    return job.pid;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int berth_pidfd_open(int pid) {
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
}

int berth_pidfd_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int berth_pidfd_wait(int pidfd, int *exited, int *value) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do { rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED); } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    *exited = info.si_code == CLD_EXITED;
    *value = info.si_status;
    return 0;
}

int berth_receive_fd(int socket) {
    char byte = 0;
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr header; char buffer[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t n;
    do { n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    if (n == 0 || !cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS
        || cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = ENODATA;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
}

int berth_open_tree_clone(const char *path) {
    return (int)syscall(SYS_open_tree, AT_FDCWD, path, (unsigned)(OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE));
}

int berth_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

int berth_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

void berth_close_listed_descriptors(unsigned low, unsigned high) {
    berth_close_listed(low, high);
}

int berth_memfd_cloexec(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}
