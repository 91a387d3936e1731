#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include "BerthSealedExec.h"

// CVE-2019-5736. A container's child is a clone of the process that spawns it and runs that
// process's binary until its execve. Should the command be /proc/self/exe, or a script whose
// interpreter is (`#!/proc/self/exe`), the kernel execs that binary inside the container, as
// its root and dumpable; another process there can then hold /proc/PID/exe and, once nothing
// runs the file, reopen it for writing and replace the host's binary. So the spawning process
// runs its binary through a view that refuses writes: whatever reaches the file through
// /proc/PID/exe reaches that view, not the host's path.

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

/// mount_setattr's argument (linux/mount.h, which clashes with glibc's sys/mount.h).
struct berth_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

static const int required_seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

int berth_exe_is_sealed(void) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) fd = open("/proc/self/exe", O_PATH | O_CLOEXEC); // an execute-only binary
    if (fd < 0) return -1;
    int sealed = 0;
    struct statvfs fs;
    if (fstatvfs(fd, &fs) == 0 && (fs.f_flag & ST_RDONLY)) {
        sealed = 1;
    } else {
        int seals = fcntl(fd, F_GET_SEALS); // EINVAL for anything but a memfd
        sealed = seals >= 0 && (seals & required_seals) == required_seals;
    }
    close(fd);
    return sealed;
}

/// Records the real path of `path` for the new image (see BERTH_SEALED_EXECUTABLE_VARIABLE).
static int remember_path(const char *path) {
    char *real = realpath(path, NULL);
    if (!real) return -1;
    int rc = setenv(BERTH_SEALED_EXECUTABLE_VARIABLE, real, 1);
    free(real);
    return rc;
}

/// A detached bind mount of the file, read-only: the file on it is the binary's inode
/// (sharing its page cache: nothing copied, nothing more in memory), and any open for
/// writing through it fails with EROFS. The mount lives as long as the process's image.
/// Nobody can make it writable again: `tree` is close-on-exec, and closing the last
/// descriptor of a detached tree dissolves it, so once the new image runs the mount is in no
/// namespace and mount_setattr, open_tree and remount refuse it (EINVAL), for root in a
/// user namespace of a container's as for the host's (checked on Linux 6.18;
/// docs/confinement.md). Returns the tree's descriptor (close-on-exec), or -1 with errno.
static int open_readonly_view(const char *path) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
    if (tree < 0) return -1;
    struct berth_mount_attr attr = { MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0 };
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) return tree;
    int saved = errno;
    close(tree);
    errno = saved;
    return -1;
}

static int exec_from_readonly_mount(const char *path, char *const argv[]) {
    int tree = open_readonly_view(path);
    if (tree < 0) return -1;
    syscall(SYS_execveat, tree, "", argv, environ, AT_EMPTY_PATH);
    int saved = errno;
    close(tree);
    errno = saved;
    return -1;
}

/// A copy in a memfd, sealed so that nobody — berth included — can change it: runc's way
/// (≥ 1.1.12) where no mount can be made. Costs a copy of the binary, in memory, per process.
/// Returns the memfd (close-on-exec), or -1 with errno.
static int open_sealed_copy(const char *path) {
    int source = open(path, O_RDONLY | O_CLOEXEC);
    if (source < 0) return -1;
    int copy = -1;
    struct stat st;
    if (fstat(source, &st)) goto failed;
    // MFD_EXEC where the kernel knows it (≥ 6.3: vm.memfd_noexec may otherwise refuse exec).
    copy = memfd_create("berth-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (copy < 0 && errno == EINVAL) copy = memfd_create("berth-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0) goto failed;
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = sendfile(copy, source, NULL, (size_t)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { if (n == 0) errno = EIO; goto failed; }
        left -= n;
    }
    if (fcntl(copy, F_ADD_SEALS, required_seals)) goto failed;
    close(source);
    return copy;
failed:;
    int saved = errno;
    close(source);
    if (copy >= 0) close(copy);
    errno = saved;
    return -1;
}

static int exec_from_sealed_copy(const char *path, char *const argv[]) {
    int copy = open_sealed_copy(path);
    if (copy < 0) return -1;
    syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
    int saved = errno;
    close(copy);
    errno = saved;
    return -1;
}

int berth_open_sealed(const char *path) {
    int fd = open_readonly_view(path);
    return fd >= 0 ? fd : open_sealed_copy(path);
}

int berth_exec_sealed(const char *path, char *const argv[]) {
    if (remember_path(path)) return -1;
    exec_from_readonly_mount(path, argv);
    // No new mount API (Linux < 5.12: ENOSYS) or no CAP_SYS_ADMIN (EPERM): the copy.
    return exec_from_sealed_copy(path, argv);
}

int berth_exec_sealed_copy(const char *path, char *const argv[]) {
    if (remember_path(path)) return -1;
    return exec_from_sealed_copy(path, argv);
}
