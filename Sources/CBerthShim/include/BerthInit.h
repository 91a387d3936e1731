#ifndef BERTH_INIT_H
#define BERTH_INIT_H
// The container's init (`berth run --init`): the loop PID 1 runs, in the `berth-init`
// binary a new container's PID 1 execs (Sources/berth-init), or — where that binary cannot
// be exec'd — in the child itself (spawn.c, run_init).

#include <sys/types.h>

/// The environment variable that tells `berth-init` the pid (in the container's pid
/// namespace) of the command it runs for: the init's only environment string.
#define BERTH_INIT_COMMAND_VARIABLE "BERTH_INIT_COMMAND"

/// The init's life, for the command `command`, already its child: every signal stays blocked
/// and is taken with sigtimedwait; SIGCHLD reaps every child that has ended (the command, and
/// the orphans the kernel hands PID 1), any other signal goes to the command's process (not
/// its group: tini's default). Exits with the command's status once it has ended: its exit
/// code, or 128+N for signal N. Raw system calls only: safe in a child cloned from a
/// threaded process. Never returns.
void berth_init_loop(pid_t command) __attribute__((noreturn));

#endif
