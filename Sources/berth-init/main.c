// berth-init: the PID 1 of a `berth run --init` container (docs/run.md, "An init as PID 1").
//
// Not run by hand. The container's first process — berth's clone, confined as the command
// is — forks the command and then execs this binary through a read-only view of it
// (spawn.c, exec_init), with every signal still blocked, `berth-init -- COMMAND ARGS` as its
// arguments and the command's pid in BERTH_INIT_COMMAND as its only environment. Exec'd,
// PID 1 is an ordinary dumpable process whose memory is this small program's, not a copy of
// berth's: a berth without CAP_SYS_PTRACE can open its /proc/1/ns/*, and a memory-limited
// container's OOM killer finds little to take there.
//
// Linked statically (Package.swift): it runs inside the container's root filesystem, which
// need not hold a C library, let alone berth's.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "BerthInit.h"

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const char *value = getenv(BERTH_INIT_COMMAND_VARIABLE);
    long pid = 0;
    if (value && *value) {
        char *end = NULL;
        errno = 0;
        pid = strtol(value, &end, 10);
        if (errno || *end) pid = 0;
    }
    if (pid <= 0) {
        static const char usage[] = "berth-init: the init of `berth run --init` containers; not run by hand\n";
        ssize_t ignored = write(2, usage, sizeof usage - 1);
        (void)ignored;
        return 2;
    }
    berth_init_loop((pid_t)pid);
}
