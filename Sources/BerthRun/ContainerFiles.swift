#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// write(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
public import BerthCore
import BerthNamespace
public import BerthNetwork

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` inside a root filesystem, written
/// once the container's address is known and before `ContainerProcess.start()`.
///
/// A root filesystem is untrusted: `etc` or a file in it may be a symlink pointing at the
/// host's own files. So `etc` is opened without following links, and each file is written
/// to a fresh temporary name and renamed over the old one, which replaces a symlink instead
/// of writing through it.
public enum ContainerFiles {
    /// Writes `/etc/hostname`.
    public static func writeHostname(rootfs: String, hostname: String) throws(BerthError) {
        try ContainerSpec.validate(hostname: hostname)
        try write(hostname + "\n", to: "hostname", in: rootfs)
    }

    /// Writes `/etc/hosts`: the loopback names plus `hostname` at each of `addresses`.
    public static func writeHosts(rootfs: String, hostname: String, addresses: [IPAddress]) throws(BerthError) {
        try ContainerSpec.validate(hostname: hostname)
        try write(hosts(hostname: hostname, addresses: addresses), to: "hosts", in: rootfs)
    }

    /// Writes `/etc/resolv.conf`: the given nameservers, or else the host's configuration
    /// without loopback nameservers (a resolver on the host's 127.0.0.53 is unreachable from
    /// the container's own network namespace). With none left, the file has no nameserver.
    public static func writeResolvConf(rootfs: String, nameservers: [IPAddress]? = nil, hostResolvConf: String = "/etc/resolv.conf") throws(BerthError) {
        let text: String
        if let nameservers {
            // The host's search domains and options still apply: a short name the resolver
            // does not know is tried with them, and forwarded.
            text = ResolvConf(parsing: (try? readFile(hostResolvConf)) ?? "").containerText(nameservers: nameservers)
        } else {
            var host = (try? readFile(hostResolvConf)) ?? ""
            // systemd-resolved's stub points at 127.0.0.53; its upstream servers are here.
            if !hasUsableNameserver(host), let upstream = try? readFile("/run/systemd/resolve/resolv.conf") {
                host = upstream
            }
            text = resolvConf(fromHost: host)
        }
        try write(text, to: "resolv.conf", in: rootfs)
    }

    /// The addresses `/etc/hosts` names the container at: its endpoint's IPv4 address and
    /// IPv6 address, each when its network has that family; none without an endpoint.
    public static func hostsAddresses(of endpoint: EndpointRecord?) -> [IPAddress] {
        endpoint?.addresses ?? []
    }

    /// The `/etc/hosts` text for `hostname` at `addresses`.
    public static func hosts(hostname: String, addresses: [IPAddress]) -> String {
        var text = """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::\tip6-localnet
            ff00::\tip6-mcastprefix
            ff02::1\tip6-allnodes
            ff02::2\tip6-allrouters

            """
        for address in addresses { text += "\(address)\t\(hostname)\n" }
        return text
    }

    /// A host resolv.conf with its loopback `nameserver` lines dropped; `search`, `options`
    /// and other lines are kept as they are.
    public static func resolvConf(fromHost text: String) -> String {
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let server = nameserver(in: line), server.isLoopback { continue }
            out += line + "\n"
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        return out == "\n" ? "" : out
    }

    private static func nameserver(in line: Substring) -> IPAddress? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
        // A scoped IPv6 server (fe80::1%eth0) is not loopback; only the address matters.
        let address = fields[1].split(separator: "%").first.map(String.init) ?? ""
        return IPAddress(address)
    }

    private static func hasUsableNameserver(_ text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            guard let server = nameserver(in: line) else { return false }
            return !server.isLoopback
        }
    }

    // MARK: - Files

    private static func write(_ text: String, to name: String, in rootfs: String) throws(BerthError) {
        try ContainerSpec.validateAbsolute(rootfs, what: "root filesystem", parameter: "rootfs")
        let root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw .system("open root filesystem \(rootfs)", Errno(errno)) }
        defer { close(root) }
        if mkdirat(root, "etc", 0o755) != 0, errno != EEXIST {
            throw .system("create \(rootfs)/etc", Errno(errno))
        }
        let etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard etc >= 0 else {
            let error = Errno(errno)
            if error.code == ELOOP || error.code == ENOTDIR {
                throw .invalid("\(rootfs)/etc is not a directory (a symlink?)", hint: "make etc a real directory in the root filesystem")
            }
            throw .system("open \(rootfs)/etc", error)
        }
        defer { close(etc) }
        let temporary = ".\(name).berth-\(getpid())"
        unlinkat(etc, temporary, 0) // a leftover of a crashed earlier write
        let fd = openat(etc, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("create \(rootfs)/etc/\(temporary)", Errno(errno)) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let error = Errno(errno)
                close(fd)
                unlinkat(etc, temporary, 0)
                throw .system("write \(rootfs)/etc/\(name)", error)
            }
            offset += n
        }
        close(fd)
        guard renameat(etc, temporary, etc, name) == 0 else {
            let error = Errno(errno)
            unlinkat(etc, temporary, 0)
            throw .system("replace \(rootfs)/etc/\(name)", error)
        }
    }

    private static func readFile(_ path: String) throws(BerthError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", Errno(errno)) }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw .system("read \(path)", Errno(errno)) }
            if n == 0 { break }
            data += buffer[..<n]
            if data.count > 1 << 20 { break }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
