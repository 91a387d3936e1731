#ifndef BERTH_RAW_SYSCALL_H
#define BERTH_RAW_SYSCALL_H
// Raw system calls for the children that share the caller's memory and thread pointer
// (reap.c, netns_socket.c): they must not write errno (the caller's thread's) nor run a stack
// protector's check against the caller's TLS. A raw system call returns -errno and touches
// no memory.

#if defined(__x86_64__) || defined(__aarch64__)
static inline long berth_raw_syscall(long number, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
#else
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#endif
}
#else
#error "raw system calls are written for x86_64 and aarch64 only"
#endif

#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define BERTH_NO_STACK_PROTECTOR __attribute__((no_stack_protector))
#endif
#endif
#ifndef BERTH_NO_STACK_PROTECTOR
#define BERTH_NO_STACK_PROTECTOR
#endif

#endif
