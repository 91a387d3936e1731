#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
public import BerthCore

/// The running program's binary as a container must see it: not writable.
///
/// A container's first process is a clone of the process that spawns it and runs that
/// process's binary until it execs the container's command. A command that is
/// `/proc/self/exe`, or a script whose interpreter is (`#!/proc/self/exe`), makes the kernel
/// exec that binary again inside the container, as its root; another process there could
/// then open it through `/proc/PID/exe` and overwrite the host's berth (CVE-2019-5736).
/// A program that spawns containers — `berth run`, `berth exec`, the supervisor, a runtime
/// embedding BerthRun — calls `ensure()` first thing, so that its binary is exec'd through a
/// view that refuses writes (docs/confinement.md, "The binary that spawns containers").
public enum SealedExecutable {
    /// Where `ensure()` and `exec(_:arguments:)` leave the binary's real path for the new
    /// image: its `/proc/self/exe` names the read-only view, whose directory holds nothing.
    public static let pathVariable = BERTH_SEALED_EXECUTABLE_VARIABLE

    /// Returns when this process's binary cannot be written through `/proc/self/exe` (on a
    /// read-only mount, or a sealed memfd); otherwise replaces the process with the same
    /// binary, same arguments and environment, exec'd through a read-only view — the
    /// process starts again from `main`, and its call of `ensure()` then returns. Call it
    /// before any thread or descriptor of its own is made. Throws only when neither a
    /// read-only mount nor a sealed copy could be made.
    public static func ensure(arguments: [String] = CommandLine.arguments) throws(BerthError) {
        let sealed = berth_exe_is_sealed()
        if sealed == 1 { return }
        if sealed < 0 { throw .system("open /proc/self/exe to check that it is sealed", .current) }
        let error = exec("/proc/self/exe", arguments: arguments)
        // Neither way was open: no new mount API or CAP_SYS_ADMIN for the view, and no
        // executable memfd for the copy (vm.memfd_noexec=2 refuses one: EACCES).
        throw BerthError(.system, "exec this program through a read-only view of its binary, or a sealed copy of it",
                         hint: "give this process CAP_SYS_ADMIN (for the read-only view), or set the sysctl vm.memfd_noexec to 0 or 1 (for the sealed copy)",
                         cause: error)
    }

    /// Replaces this process with the binary at `path`, exec'd through a read-only view of
    /// it; returns only the error that stopped it.
    public static func exec(_ path: String, arguments: [String]) -> Errno {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        berth_exec_sealed(path, &argv)
        return .current
    }

    /// The real path of the running binary: the file `ensure()` exec'd a view of (so a
    /// sibling — berth-cli, berth-dns — is found beside it), else `/proc/self/exe`'s target;
    /// nil when neither can be read. The recorded path counts only when it is this very
    /// binary (same file; or this is a sealed copy): a child that inherited the variable
    /// from another program does not take that program's path.
    public static func path() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let exe = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let recorded = getenv(pathVariable), recorded.pointee != 0 else { return exe }
        var running = stat()
        var named = stat()
        if stat("/proc/self/exe", &running) == 0, stat(recorded, &named) == 0,
           running.st_dev == named.st_dev, running.st_ino == named.st_ino {
            return String(cString: recorded)
        }
        if exe.hasPrefix("/memfd:berth-sealed"), berth_exe_is_sealed() == 1 { return String(cString: recorded) }
        return exe
    }

    /// The file `name` in the running binary's directory (`path()`); nil when that is unknown.
    public static func sibling(_ name: String) -> String? {
        guard let path = path(), let slash = path.lastIndex(of: "/") else { return nil }
        return path[...slash] + name
    }
}
