#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// Sockets bound on the host, read from `/proc/net/{tcp,udp}{,6}` of the host namespace, so
/// that publishing a port a host process already listens on is refused with its name.
struct HostListeners {
    struct Listener: Hashable {
        var proto: TransportProtocol
        var address: IPAddress
        var port: UInt16
        var inode: UInt64
    }

    private(set) var listeners: [Listener] = []

    /// Reads the listening TCP and bound UDP sockets of `namespace` (the caller's own when nil).
    static func read(in namespace: NetworkNamespace?) throws(BerthError) -> HostListeners {
        let files = ["tcp", "tcp6", "udp", "udp6"]
        // /proc/thread-self/net follows the reading thread's namespace.
        let read = { () throws(BerthError) -> [String: String] in
            var out: [String: String] = [:]
            for file in files { out[file] = ProcFile.read("/proc/thread-self/net/" + file) ?? "" }
            return out
        }
        let texts = if let namespace { try namespace.run(read) } else { try read() }
        var result = HostListeners()
        for file in files {
            let proto: TransportProtocol = file.hasPrefix("tcp") ? .tcp : .udp
            result.listeners += parse(texts[file] ?? "", proto: proto, v6: file.hasSuffix("6"))
        }
        return result
    }

    /// The first socket that would take traffic for `proto` `address:port`: bound to that
    /// port on the same address, or either side is a wildcard.
    func conflict(proto: TransportProtocol, address: IPAddress, port: UInt16) -> Listener? {
        listeners.first { listener in
            listener.proto == proto && listener.port == port
                && (listener.address == address || listener.address.isUnspecified || address.isUnspecified)
        }
    }

    /// Parses `sl local_address rem_address st … inode` lines. TCP counts only LISTEN (0A);
    /// a bound UDP socket (state 07) takes datagrams, so every UDP socket counts.
    static func parse(_ text: String, proto: TransportProtocol, v6: Bool) -> [Listener] {
        var out: [Listener] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10 else { continue }
            if proto == .tcp, fields[3] != "0A" { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = UInt16(local[1], radix: 16), let inode = UInt64(fields[9]),
                  let address = decodeAddress(local[0], v6: v6) else { continue }
            // A v4-mapped v6 socket is reached over IPv4 too.
            let effective: IPAddress = if case .v6(let a) = address, a.value >> 32 == 0xFFFF { .v4(IPv4Address(UInt32(truncatingIfNeeded: a.value))) } else { address }
            out.append(Listener(proto: proto, address: effective, port: port, inode: inode))
        }
        return out
    }

    /// The kernel prints addresses as 32-bit words in host (little-endian) order.
    private static func decodeAddress(_ hex: Substring, v6: Bool) -> IPAddress? {
        let words = v6 ? 4 : 1
        guard hex.utf8.count == words * 8 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        for _ in 0..<words {
            let end = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<end], radix: 16) else { return nil }
            let networkOrder = word.byteSwapped
            bytes += [UInt8(networkOrder >> 24), UInt8(truncatingIfNeeded: networkOrder >> 16), UInt8(truncatingIfNeeded: networkOrder >> 8), UInt8(truncatingIfNeeded: networkOrder)]
            index = end
        }
        if v6 { return IPAddress(bytes: bytes) }
        return IPAddress(bytes: bytes)
    }

    /// "process NAME (pid N)" holding the socket `inode`, found by scanning /proc/*/fd;
    /// only used to word an error, so its cost does not matter.
    static func owner(ofSocket inode: UInt64) -> String? {
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
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
