#ifndef BERTH_SEALED_EXEC_H
#define BERTH_SEALED_EXEC_H
// A process that clones containers must not run a binary a container could write to
// (CVE-2019-5736; docs/confinement.md, "The binary that spawns containers").

/// The environment variable that carries, across berth_exec_sealed, the real path of the
/// binary: /proc/self/exe then names the sealed view, not the file beside which berth finds
/// berth-cli and berth-dns.
#define BERTH_SEALED_EXECUTABLE_VARIABLE "BERTH_SEALED_EXECUTABLE"

/// 1 when this process's binary (/proc/self/exe) cannot be opened for writing through it:
/// it is on a read-only mount, or a memfd sealed against writes; 0 when it can; -1 with
/// errno when /proc/self/exe cannot be opened.
int berth_exe_is_sealed(void);

/// Replaces this process with the binary at `path` (a path or /proc/self/exe), exec'd
/// through a view no process can write to: a detached read-only bind mount of the file
/// (open_tree, mount_setattr; Linux ≥ 5.12, CAP_SYS_ADMIN), else a copy in a memfd sealed
/// against writes, growth and shrinking. BERTH_SEALED_EXECUTABLE_VARIABLE is set to the
/// file's real path first. Returns only on failure: -1 with errno.
int berth_exec_sealed(const char *path, char *const argv[]);

/// The binary at `path` as berth_exec_sealed would exec it, for a later execveat(fd, "",
/// AT_EMPTY_PATH) (the init of `berth run --init`: spawn.c): a descriptor of a detached
/// read-only bind mount of the file, else of a sealed memfd copy; close-on-exec. -1 with errno
/// when neither can be made.
int berth_open_sealed(const char *path);

/// berth_exec_sealed with the memfd copy only (what it does where a read-only mount cannot
/// be made); for tests.
int berth_exec_sealed_copy(const char *path, char *const argv[]);

#endif
