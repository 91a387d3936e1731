#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H
// The one C target of Berth: declarations glibc hides behind _GNU_SOURCE, which Swift's
// Glibc module does not define. Keep it tiny; everything else is Swift.

/// setns(2) on the calling thread. Returns 0 or -1 with errno set.
int berth_setns(int fd, int nstype);
/// unshare(2) on the calling thread. Returns 0 or -1 with errno set.
int berth_unshare(int flags);
/// gettid(2).
int berth_gettid(void);

/// posix_spawn_file_actions_addclosefrom_np (glibc ≥ 2.34) on a posix_spawn_file_actions_t:
/// the child closes every descriptor from `from` on. 0 or an error number.
int berth_spawn_actions_closefrom(void *actions, int from);

/// The filesystem magic (statfs f_type) of an open file or a path; -1 with errno on failure.
long berth_fd_fs_type(int fd);
long berth_path_fs_type(const char *path);

/// This process's hard limit of RLIMIT_* `resource` (prlimit64; all bits set: unlimited),
/// whatever the C library's type for the resource. Returns 0 or -1 with errno set.
int berth_hard_limit(int resource, unsigned long long *hard);

/// CLONE_NEW* constants (macros under _GNU_SOURCE).
extern const int BERTH_CLONE_NEWNET;
extern const int BERTH_CLONE_NEWNS;
extern const int BERTH_CLONE_NEWUTS;
extern const int BERTH_CLONE_NEWIPC;
extern const int BERTH_CLONE_NEWPID;

#include "BerthSpawn.h"
#include "BerthReap.h"
#include "BerthNamespaceSocket.h"
#include "BerthCPUPin.h"
#include "BerthInit.h"
#include "BerthBPF.h"
#include "BerthSealedExec.h"

#endif
