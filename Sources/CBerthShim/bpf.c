#define _GNU_SOURCE
#include <linux/bpf.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "BerthBPF.h"

static long bpf(int command, union bpf_attr *attr) { return syscall(SYS_bpf, command, attr, sizeof *attr); }

int berth_bpf_load_device_program(const void *instructions, unsigned count, char *log, unsigned log_size) {
    // Any license string is fine: a device program calls no GPL-only helper.
    static const char license[] = "Apache-2.0";
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = count;
    attr.insns = (uint64_t)(uintptr_t)instructions;
    attr.license = (uint64_t)(uintptr_t)license;
    if (log && log_size > 0) {
        log[0] = 0;
        attr.log_level = 1;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
    }
    memcpy(attr.prog_name, "berth_devices", sizeof "berth_devices");
    int fd = (int)bpf(BPF_PROG_LOAD, &attr);
    // A log too small for what the verifier says fails the load with ENOSPC: load again
    // without one, so only a real refusal fails.
    if (fd < 0 && log && log_size > 0) {
        attr.log_level = 0;
        attr.log_buf = 0;
        attr.log_size = 0;
        int retry = (int)bpf(BPF_PROG_LOAD, &attr);
        if (retry >= 0) return retry;
    }
    return fd;
}

int berth_bpf_attach_device_program(int cgroup_fd, int program_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    return (int)bpf(BPF_PROG_ATTACH, &attr);
}
