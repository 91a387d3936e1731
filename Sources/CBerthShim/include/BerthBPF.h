#ifndef BERTH_BPF_H
#define BERTH_BPF_H
// bpf(2) for a cgroup v2 device filter: glibc has no wrapper, and Swift cannot call the
// variadic syscall(2).

/// Loads `count` eBPF instructions (8 bytes each, `struct bpf_insn`) as a
/// BPF_PROG_TYPE_CGROUP_DEVICE program. Returns its fd (close-on-exec) or -1 with errno;
/// the verifier's complaint, if any, is written to `log` (`log_size` bytes, NUL-terminated).
int berth_bpf_load_device_program(const void *instructions, unsigned count, char *log, unsigned log_size);

/// Attaches a device program to the cgroup v2 directory open as `cgroup_fd`, with
/// BPF_F_ALLOW_MULTI (programs of the cgroups above it still run; all must allow).
/// The attachment lives as long as the cgroup, not the fds. Returns 0 or -1 with errno.
int berth_bpf_attach_device_program(int cgroup_fd, int program_fd);

#endif
