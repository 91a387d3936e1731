#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the plugin's log lines go: stderr (which runtimes keep in their own log), or the
/// file named by the configuration's `logFile`. Never stdout: that belongs to the result.
public struct CNILog: Sendable {
    private let path: String?

    /// A log to the file at `path` (appended to), or to stderr when nil.
    public init(path: String? = nil) { self.path = path }

    /// Writes one line, `berth-cni[PID]: TEXT`. A log file that cannot be opened falls
    /// back to stderr: logging never fails an operation.
    public func write(_ text: String) {
        let line = Array("berth-cni[\(getpid())]: \(text)\n".utf8)
        var fd: Int32 = 2
        if let path {
            let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            if opened >= 0 { fd = opened }
        }
        _ = line.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
        if fd != 2 { close(fd) }
    }
}

/// write(2), named apart from `CNILog.write`, which an unqualified call inside it would
/// find first — by the C library's module, whichever it is.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #endif
}
