#define _GNU_SOURCE
#include <sched.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include "CBerthShim.h"

int berth_setns(int fd, int nstype) { return setns(fd, nstype); }
int berth_unshare(int flags) { return unshare(flags); }
int berth_gettid(void) { return (int)syscall(SYS_gettid); }

int berth_spawn_actions_closefrom(void *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}

long berth_fd_fs_type(int fd) { struct statfs s; return fstatfs(fd, &s) ? -1 : (long)s.f_type; }
long berth_path_fs_type(const char *path) { struct statfs s; return statfs(path, &s) ? -1 : (long)s.f_type; }

int berth_hard_limit(int resource, unsigned long long *hard) {
    struct { unsigned long long cur, max; } limit;
    if (syscall(SYS_prlimit64, 0, resource, NULL, &limit)) return -1;
    *hard = limit.max;
    return 0;
}

const int BERTH_CLONE_NEWNET = CLONE_NEWNET;
const int BERTH_CLONE_NEWNS = CLONE_NEWNS;
const int BERTH_CLONE_NEWUTS = CLONE_NEWUTS;
const int BERTH_CLONE_NEWIPC = CLONE_NEWIPC;
const int BERTH_CLONE_NEWPID = CLONE_NEWPID;
