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

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` of a container: files of its own
/// in its state directory (`STATE/containers/ID`, beside its log), bind-mounted over the
/// root filesystem's `/etc/NAME` inside the container's mount namespace, as Docker does.
/// The root filesystem is never written (two containers on one rootfs each see their own
/// files), except that a missing `/etc/NAME` is created as an empty file to mount on when
/// `/etc` exists and is writable; without `/etc`, or where the file cannot be made, that
/// file is not mounted.
///
/// Without a root filesystem they go over the host's `/etc/NAME` (the file a symlink there
/// names) in the container's own mount namespace, only where that file exists — the host's
/// files and mounts are never touched —, so a container in a network namespace of its own
/// does not ask the host's loopback resolver (`nameserver 127.0.0.53`) it cannot reach.
/// On the host's network (`--network host`) such a container keeps the host's files.
///
/// `prepare` makes the files before the process is spawned (the child mounts them while it
/// sets up); they are written once the container's address is known and before
/// `ContainerProcess.start()`, in place: a bind mount holds the file's inode, so a rename
/// would leave the container the old one. `remove` deletes them when the container is
/// released.
public enum ContainerFiles {
    /// The files, by their name in `/etc`.
    static let names = ["hostname", "hosts", "resolv.conf"]

    /// Whether a container gets these files: with a root filesystem always; on the host's
    /// files only with a mount namespace of its own to mount them in, and not on the host's
    /// network (see the type's comment).
    static func applies(rootfs: String?, namespaces: ContainerNamespaces, hostNetwork: Bool) -> Bool {
        rootfs != nil || (namespaces.contains(.mount) && !hostNetwork)
    }

    /// Creates `directory` (and its parent) and the three files, empty, in it; returns the
    /// mounts that put them over `/etc/NAME` in the container, except where a volume already
    /// targets that path (the user's file wins, as in Docker).
    static func prepare(directory: String, volumes: [BindMount]) throws(BerthError) -> [BindMount] {
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        for dir in [parent, directory] where !dir.isEmpty && mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw .system("create the container directory \(dir)", Errno(errno))
        }
        let taken = Set(volumes.map { BindMount.normalized($0.target) })
        var mounts: [BindMount] = []
        for name in names {
            try write("", to: name, in: directory)
            if !taken.contains("/etc/" + name) {
                mounts.append(BindMount(source: directory + "/" + name, target: "/etc/" + name, readOnly: false, optional: true))
            }
        }
        return mounts
    }

    /// Deletes the files from `directory`; idempotent. The directory stays (the log's).
    static func remove(directory: String) {
        for name in names { unlink(directory + "/" + name) }
    }

    /// Writes `hostname` into `directory`.
    public static func writeHostname(directory: String, hostname: String) throws(BerthError) {
        try ContainerSpec.validate(hostname: hostname)
        try write(hostname + "\n", to: "hostname", in: directory)
    }

    /// Writes `hosts` into `directory`: the loopback names plus `hostname` at each of `addresses`.
    public static func writeHosts(directory: String, hostname: String, addresses: [IPAddress]) throws(BerthError) {
        try ContainerSpec.validate(hostname: hostname)
        try write(hosts(hostname: hostname, addresses: addresses), to: "hosts", in: directory)
    }

    /// Writes the host's hosts file (`hostHosts`) into `directory` as it is, as Docker gives a
    /// container on the host's network (`--network host`): the names the host knows, its
    /// own among them (`--hostname` adds nothing there, as in Docker). A missing host file
    /// leaves it empty.
    public static func copyHostHosts(directory: String, hostHosts: String = "/etc/hosts") throws(BerthError) {
        try write((try? readFile(hostHosts)) ?? "", to: "hosts", in: directory)
    }

    /// Writes `resolv.conf` into `directory`, as Docker does:
    /// - `nameservers` given (a network with Berth's resolver): those, with the host's search
    ///   domains and options;
    /// - `hostNetwork` (`--network host`, the host's own namespace, where its loopback
    ///   resolver answers): the host's file as it is;
    /// - otherwise the host's configuration without the nameservers the container cannot
    ///   reach (`resolvConf(fromHost:ipv4:ipv6:)`); with none left, Docker's fallback,
    ///   Google's public servers of the container's families (`defaultNameservers`: `ipv4`,
    ///   the container has an IPv4 address; `ipv6`, an IPv6 one).
    public static func writeResolvConf(directory: String, nameservers: [IPAddress]? = nil, hostNetwork: Bool = false,
                                       ipv4: Bool = true, ipv6: Bool = false,
                                       hostResolvConf: String = "/etc/resolv.conf") throws(BerthError) {
        let text: String
        if let nameservers {
            // The host's search domains and options still apply: a short name the resolver
            // does not know is tried with them, and forwarded.
            text = ResolvConf(parsing: (try? readFile(hostResolvConf)) ?? "").containerText(nameservers: nameservers)
        } else if hostNetwork {
            text = (try? readFile(hostResolvConf)) ?? ""
        } else {
            var host = (try? readFile(hostResolvConf)) ?? ""
            // systemd-resolved's stub points at 127.0.0.53; its upstream servers are here.
            if !hasUsableNameserver(host, ipv4: ipv4, ipv6: ipv6), let upstream = try? readFile("/run/systemd/resolve/resolv.conf") {
                host = upstream
            }
            text = resolvConf(fromHost: host, ipv4: ipv4, ipv6: ipv6)
        }
        try write(text, to: "resolv.conf", in: directory)
    }

    /// Docker's fallback when the host leaves the container no nameserver: with IPv4,
    /// 8.8.8.8 and 8.8.4.4; with IPv6, 2001:4860:4860::8888 and 2001:4860:4860::8844. An
    /// IPv6-only container gets only the IPv6 pair: it cannot reach the others, and glibc
    /// would wait out each one's timeout first. A container with neither family (no
    /// network) gets the IPv4 pair, as Docker gives one.
    public static func defaultNameservers(ipv4: Bool = true, ipv6: Bool) -> [String] {
        (ipv4 || !ipv6 ? ["8.8.8.8", "8.8.4.4"] : []) + (ipv6 ? ["2001:4860:4860::8888", "2001:4860:4860::8844"] : [])
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

    /// A host resolv.conf with the `nameserver` lines the container cannot use dropped, as
    /// Docker's FilterResolvDNS does: loopback ones (the host's own resolver, not the
    /// container's), IPv6 ones when the container has no IPv6 (`ipv6` false) and IPv4 ones
    /// when it has no IPv4 (`ipv4` false, an IPv6-only container): glibc would try them in
    /// turn and wait out each timeout. IPv6 link-local ones go always (their zone,
    /// `fe80::1%eth0`, names a host interface). `search`, `options` and other lines are kept
    /// as they are. With no nameserver left, `defaultNameservers` are added (without one,
    /// glibc would ask 127.0.0.1 inside the container).
    public static func resolvConf(fromHost text: String, ipv4: Bool = true, ipv6: Bool = false) -> String {
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let server = nameserver(in: line), !usable(server, ipv4: ipv4, ipv6: ipv6) { continue }
            out += line + "\n"
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        if out == "\n" { out = "" }
        if !hasUsableNameserver(out, ipv4: ipv4, ipv6: ipv6) {
            out += defaultNameservers(ipv4: ipv4, ipv6: ipv6).map { "nameserver \($0)\n" }.joined()
        }
        return out
    }

    /// Whether a container (with IPv4 when `ipv4`, IPv6 when `ipv6`) can reach the host's
    /// nameserver `server`. One with neither (no network) keeps the IPv4 ones, as Docker does.
    private static func usable(_ server: IPAddress, ipv4: Bool, ipv6: Bool) -> Bool {
        switch server {
        case .v4(let address): (ipv4 || !ipv6) && !address.isLoopback
        case .v6(let address): ipv6 && !address.isLoopback && !address.isLinkLocal
        }
    }

    private static func nameserver(in line: Substring) -> IPAddress? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
        // A scoped IPv6 server (fe80::1%eth0) is not loopback; only the address matters.
        let address = fields[1].split(separator: "%").first.map(String.init) ?? ""
        return IPAddress(address)
    }

    private static func hasUsableNameserver(_ text: String, ipv4: Bool, ipv6: Bool) -> Bool {
        text.split(separator: "\n").contains { line in
            guard let server = nameserver(in: line) else { return false }
            return usable(server, ipv4: ipv4, ipv6: ipv6)
        }
    }

    // MARK: - Files

    /// Replaces the file's content in place (same inode: see the type's comment).
    private static func write(_ text: String, to name: String, in directory: String) throws(BerthError) {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("open \(path)", Errno(errno)) }
        defer { close(fd) }
        // The mode a container user other than root needs to read it, whatever the umask.
        fchmod(fd, 0o644)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .system("write \(path)", Errno(errno)) }
            offset += n
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
