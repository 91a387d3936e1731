#ifndef BERTH_CLOSE_RANGE_H
#define BERTH_CLOSE_RANGE_H
// close_range(2) for the children that drop what they inherited (spawn.c, reap.c), with a
// fallback where the kernel lacks it (before Linux 5.9) or a seccomp filter refuses it: the
// descriptors listed in /proc/self/fd, else every number up to the soft RLIMIT_NOFILE.
// Raw system calls only, no allocation, a small stack buffer: safe in a child of a
// multithreaded process and on the CLONE_VM children's own small stacks.

#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "raw_syscall.h"

/// Every number from `low` to `high`, up to the soft RLIMIT_NOFILE (at most 2^20).
static inline void berth_close_counted(unsigned low, unsigned high) {
    struct rlimit limit = {0, 0};
    unsigned end = high < (1u << 20) ? high : (1u << 20);
    if (berth_raw_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&limit, 0, 0) == 0 && limit.rlim_cur > 0
        && limit.rlim_cur - 1 < end) {
        end = (unsigned)(limit.rlim_cur - 1);
    }
    for (unsigned fd = low; fd <= end; fd++) berth_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
}

/// The fallback alone: closes the descriptors from `low` to `high` that /proc/self/fd lists,
/// or, without a real procfs there, every number up to the soft RLIMIT_NOFILE. Only a procfs
/// is believed: in a container's mount namespace `/proc` is the container's to cover (a tmpfs
/// with an empty `self/fd` would hide the descriptors to close).
static inline void berth_close_listed(unsigned low, unsigned high) {
    long directory = berth_raw_syscall(SYS_openat, AT_FDCWD, (long)"/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
    if (directory < 0) {
        berth_close_counted(low, high);
        return;
    }
    struct statfs filesystem;
    if (berth_raw_syscall(SYS_fstatfs, directory, (long)&filesystem, 0, 0, 0, 0) != 0 || filesystem.f_type != PROC_SUPER_MAGIC) {
        berth_raw_syscall(SYS_close, directory, 0, 0, 0, 0, 0);
        berth_close_counted(low, high);
        return;
    }
    // /proc/self/fd reads in descriptor order and its position is the next number, so
    // closing what was listed does not disturb the listing.
    char buffer[512] __attribute__((aligned(8)));
    for (;;) {
        long count = berth_raw_syscall(SYS_getdents64, directory, (long)buffer, sizeof buffer, 0, 0, 0);
        if (count <= 0) break;
        for (long offset = 0; offset + 19 < count;) {
            // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
            const char *entry = buffer + offset;
            unsigned short length;
            __builtin_memcpy(&length, entry + 16, sizeof length);
            if (length == 0) break;
            const char *name = entry + 19;
            uint64_t fd = 0;
            int digits = 0;
            for (; digits < 10 && name[digits] >= '0' && name[digits] <= '9'; digits++) fd = fd * 10 + (uint64_t)(name[digits] - '0');
            if (digits > 0 && name[digits] == '\0' && fd >= low && fd <= high && (long)fd != directory) {
                berth_raw_syscall(SYS_close, (long)fd, 0, 0, 0, 0, 0);
            }
            offset += length;
        }
    }
    berth_raw_syscall(SYS_close, directory, 0, 0, 0, 0, 0);
}

/// Closes every descriptor from `low` to `high`; returns 0, or -errno of close_range when it
/// failed for another reason than its absence or a refusal.
static inline long berth_close_range(unsigned low, unsigned high) {
    long result = berth_raw_syscall(SYS_close_range, low, high, 0, 0, 0, 0);
    if (result == 0 || (result != -ENOSYS && result != -EPERM)) return result;
    berth_close_listed(low, high);
    return 0;
}

#endif
