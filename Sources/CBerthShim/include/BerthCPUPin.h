#ifndef BERTH_CPU_PIN_H
#define BERTH_CPU_PIN_H
// Keeping a helper thread on its caller's CPU.
//
// Berth runs namespace work on a short-lived thread while the caller sleeps until it ends
// (BerthNamespaceSocket.h, NamespaceThread.swift). Left to the scheduler, the new thread is
// often placed on another CPU: an idle one must be woken (on a virtual machine, a halted vCPU
// the host has to schedule again), a busy one makes it queue behind other work, and the
// caller's wake-up at the thread's exit crosses back. Pinned to the caller's CPU, whose
// caller is about to sleep, the thread runs at once and the caller resumes where it slept
// (docs/performance.md, "The namespace thread's CPU").

/// The calling thread's CPU mask before `berth_cpu_pin_begin`, to put back.
struct berth_cpu_pin {
    /// A cpu_set_t (1,024 CPUs), as words: glibc declares cpu_set_t only under _GNU_SOURCE,
    /// which a header imported into Swift cannot count on.
    unsigned long saved[1024 / (8 * sizeof(unsigned long))];
    /// Nonzero when the mask was changed and `berth_cpu_pin_end` restores `saved`.
    int pinned;
};

/// Declares that this process runs one command and exits (a per-container command): from
/// then on `berth_cpu_pin_begin` pins. A long-lived process (a runtime using the library)
/// leaves it off: putting a mask back records it as the thread's own choice, and the kernel
/// then intersects later cpuset changes with it instead of following them.
void berth_cpu_pin_enable(void);

/// In a process that called `berth_cpu_pin_enable`: restricts the calling thread to the CPU it
/// runs on, so that a thread it starts next inherits that one CPU. Best effort: when the CPU
/// or the mask cannot be read or set (more CPUs than a cpu_set_t holds, a seccomp filter), or
/// the thread may run on one CPU only, nothing changes. The new thread puts `pin`'s saved mask
/// back as its own first step when it runs more than a few system calls
/// (`berth_cpu_pin_end` on that thread): what it starts must not inherit one CPU.
void berth_cpu_pin_begin(struct berth_cpu_pin *pin);

/// Puts the mask saved by `berth_cpu_pin_begin` back on the calling thread; nothing if it was
/// not changed.
void berth_cpu_pin_end(const struct berth_cpu_pin *pin);

#endif
