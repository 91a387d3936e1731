// The process's argc and argv for the Swift runtime, taken from glibc instead of found by
// reading /proc/self/maps.
//
// `CommandLine.arguments` asks the runtime's `_swift_stdlib_getUnsafeArgvArgc`. On Linux the
// runtime's own definition (CommandLine.cpp in libswiftCore) finds argv with a static
// initialiser that runs in every process, used or not: it reads /proc/self/maps line by line
// with sscanf to find the stack, then walks back from `environ` to argv — about 0.11 M
// instructions and an open/read/close of a file the kernel formats on every read, in each
// `berth attach`, `berth-cni` and hook call (docs/performance.md, perf8). glibc hands every
// ELF constructor (argc, argv, envp), so the two values are simply kept here.
//
// Defining both of that object's functions here keeps it out of a static link: the linker
// takes an archive member only for a symbol still undefined, and these are defined by
// Berth's own object. Should a later runtime need that object for another symbol, the link
// fails on the duplicate definition — loudly, not silently slower. With the shared runtime
// (debug builds) either definition may serve, and both give the same argv.
//
// Only Berth's executables link this target (Package.swift), never the library product: a
// program that embeds Berth keeps its runtime's own. And only with glibc: musl calls ELF
// constructors without arguments, so there the runtime's search stays.

#include <stddef.h>
#include <unistd.h>
#include "CBerthArguments.h"

#if defined(__GLIBC__)

static int berth_process_argc;
static char **berth_process_argv;
static int berth_override_argc;
static char **berth_override_argv;

static void berth_keep_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    berth_process_argc = argc;
    berth_process_argv = argv;
}

__attribute__((section(".init_array"), used))
static void (*const berth_keep_arguments_entry)(int, char **, char **) = berth_keep_arguments;

/// The runtime's entry point (CommandLine.cpp): argv, with argc through `outArgLen`. The
/// standard library calls it by `@_silgen_name`, so in Swift's calling convention, as the
/// runtime defines it (`SWIFT_CC(swift)`).
__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    static char *emptyArgv[] = {NULL};
    if (berth_override_argv != NULL) {
        *outArgLen = berth_override_argc;
        return berth_override_argv;
    }
    if (berth_process_argv == NULL) {
        *outArgLen = 0;
        return emptyArgv;
    }
    *outArgLen = berth_process_argc;
    return berth_process_argv;
}

/// The runtime's entry point (CommandLine.cpp) for a host that supplies the arguments.
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    berth_override_argv = argv;
    berth_override_argc = argc;
}

#endif
