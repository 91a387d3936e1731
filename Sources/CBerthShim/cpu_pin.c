#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "BerthCPUPin.h"

_Static_assert(sizeof(((struct berth_cpu_pin *)0)->saved) == sizeof(cpu_set_t), "berth_cpu_pin.saved holds a cpu_set_t");

/// Set once by a process that runs one command and exits (berth_cpu_pin_enable).
static int cpu_pin_enabled;

void berth_cpu_pin_enable(void) { cpu_pin_enabled = 1; }

void berth_cpu_pin_begin(struct berth_cpu_pin *pin) {
    pin->pinned = 0;
    if (!cpu_pin_enabled) return;
    int saved_errno = errno;
    cpu_set_t *saved = (cpu_set_t *)pin->saved;
    int cpu = sched_getcpu();
    // Already on one CPU (or not on a CPU of its own mask, which a cpuset change can cause):
    // nothing to pin.
    if (cpu >= 0 && cpu < CPU_SETSIZE && sched_getaffinity(0, sizeof *saved, saved) == 0
        && CPU_ISSET(cpu, saved) && CPU_COUNT(saved) > 1) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pin->pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    }
    errno = saved_errno;
}

void berth_cpu_pin_end(const struct berth_cpu_pin *pin) {
    if (!pin->pinned) return;
    int saved_errno = errno;
    // The saved mask was the thread's a moment ago; it can only fail if the cpuset cgroup
    // shrank meanwhile, and then the kernel has already moved the thread where it may run.
    (void)sched_setaffinity(0, sizeof(cpu_set_t), (const cpu_set_t *)pin->saved);
    errno = saved_errno;
}
