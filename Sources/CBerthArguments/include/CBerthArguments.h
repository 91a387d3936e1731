#ifndef CBERTH_ARGUMENTS_H
#define CBERTH_ARGUMENTS_H

// The Swift runtime's two argv entry points, defined by Berth's executables
// (arguments.c says why). Nothing calls them but the runtime.

/// argv, with argc through `outArgLen` (Swift's calling convention, as the runtime's).
__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen);

/// Arguments a host supplies instead of the process's own.
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

#endif
