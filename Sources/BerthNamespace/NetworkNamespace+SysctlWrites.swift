#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage
public import BerthCore

/// A sysctl to write inside a namespace on the thread that is there anyway (the one that
/// opens a socket), so the write costs no namespace switch of its own.
public struct SysctlWrite: Sendable, Hashable {
    /// A per-namespace key, with '/' separators (interface names may hold dots).
    public var key: String
    public var value: String
    /// A key that does not exist is skipped: `net/ipv6/...` is absent from a kernel booted
    /// without IPv6, which is what disabling IPv6 on an interface wanted anyway.
    public var skipIfMissing: Bool

    public init(_ key: String, _ value: String, skipIfMissing: Bool = false) {
        self.key = key
        self.value = value
        self.skipIfMissing = skipIfMissing
    }
}

extension NetworkNamespace {
    /// Writes `sysctls` in order, then opens a socket, all from one dedicated short-lived
    /// thread inside this namespace (`/proc/sys/net` shows the opening thread's namespace).
    /// The writes are blind — no read first — as they are made for links just created,
    /// whose values are the defaults.
    public func openSocket(domain: Int32, type: Int32, protocol proto: Int32, afterWriting sysctls: [SysctlWrite]) throws(BerthError) -> Int32 {
        let paths = try sysctls.map { write throws(BerthError) in (try Self.sysctlPath(write.key), write) }
        return try run { () throws(BerthError) -> Int32 in
            for (path, write) in paths {
                let fd: FileDescriptor
                do throws(Errno) {
                    fd = try FileDescriptor.open(closeOnExec: path, .writeOnly)
                } catch {
                    if error.code == ENOENT, write.skipIfMissing { continue }
                    throw .system("open \(path)", error)
                }
                defer { try? fd.close() }
                do throws(Errno) {
                    try Self.write(write.value + "\n", to: fd)
                } catch {
                    throw .system("write \(write.value) to \(path)", error)
                }
            }
            let fd = socket(domain, type | socketCloseOnExec, proto)
            guard fd >= 0 else { throw .system("open a socket in network namespace \(self)", .current, privilege: "CAP_NET_ADMIN") }
            return fd
        }
    }
}
