#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
import BerthCore
import BerthNamespace
import BerthNetlink

/// Sockets bound on the host (through sock_diag), so that publishing a port a host process
/// already listens on is refused with the process's name.
struct HostListeners {
    private(set) var listeners: [BoundSocket] = []

    /// Reads the listening TCP and bound UDP sockets of `namespace` (the caller's own when nil).
    static func read(in namespace: NetworkNamespace?) throws(BerthError) -> HostListeners {
        HostListeners(listeners: try SocketDiagnostics(namespace: namespace).boundSockets())
    }

    /// The first socket that would take traffic for `proto` `address:port`: bound to that
    /// port on the same address, or either side is a wildcard.
    func conflict(proto: TransportProtocol, address: IPAddress, port: UInt16) -> BoundSocket? {
        listeners.first { listener in
            listener.proto == proto && listener.port == port
                && (listener.address == address || listener.address.isUnspecified || address.isUnspecified)
        }
    }

    /// "process NAME (pid N)" holding the socket `inode`, found by scanning /proc/*/fd;
    /// only used to word an error, so its cost does not matter.
    static func owner(ofSocket inode: UInt32) -> String? {
        guard let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        let target = "socket:[\(inode)]"
        while let entry = readdir(proc) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard Int32(pid) != nil, let fds = opendir("/proc/\(pid)/fd") else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let name = withUnsafeBytes(of: fd.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                var buffer = [CChar](repeating: 0, count: 64)
                let count = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
                guard count > 0 else { continue }
                let link = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if link == target {
                    var comm = ProcFile.read("/proc/\(pid)/comm") ?? "?"
                    while comm.last == "\n" { comm.removeLast() }
                    return "process \(comm) (pid \(pid))"
                }
            }
        }
        return nil
    }
}

/// Reads small files under /proc without Foundation.
enum ProcFile {
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = systemRead(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
