import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// `openSocket(...afterWriting:)`: the bare namespace thread of CBerthShim. Leak checks look
/// only at what is unique to each test (sockets in its own namespace, its own sysctl paths),
/// as the other suites of the process open and close descriptors meanwhile.
@Suite("Namespace socket (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct NamespaceSocketKernelTests {
    private let datagram = Int32(SOCK_DGRAM.rawValue)

    @Test("the socket is in the target namespace, and the calling thread stays where it was")
    func socketInTarget() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let before = try NetworkNamespace.current()
            let fd = try target.openSocket(domain: AF_INET, type: datagram, protocol: 0,
                                           afterWriting: [SysctlWrite("net/ipv4/conf/lo/arp_notify", "1")])
            #expect(socketNamespaceInode(fd) == target.identity.inode)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
            #expect(try NetworkNamespace.current() == before)
            // Exactly one descriptor of this process is a socket in the target: the one returned.
            #expect(descriptors(socketsIn: target) == [fd])
            close(fd)
            #expect(descriptors(socketsIn: target).isEmpty)
        }
    }

    @Test("the sysctls are written in order inside the target namespace only")
    func sysctlsInsideOnly() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let targetName = try #require(target.name)
            let sandboxBefore = try sandbox.namespace.sysctl("net/ipv4/conf/lo/arp_notify")
            let sandboxIPv6Before = try? sandbox.namespace.sysctl("net/ipv6/conf/lo/disable_ipv6")
            // A new namespace may inherit the initial one's value: flip whatever it has.
            let targetBefore = try target.sysctl("net/ipv4/conf/lo/arp_notify")
            let flipped = targetBefore == "1" ? "0" : "1"
            // The second write of a key wins: the writes are made in order.
            let fd = try target.openSocket(domain: AF_INET, type: datagram, protocol: 0, afterWriting: [
                SysctlWrite("net/ipv4/conf/lo/arp_notify", targetBefore),
                SysctlWrite("net/ipv4/conf/lo/arp_notify", flipped),
                SysctlWrite("net/ipv6/conf/lo/disable_ipv6", "1", skipIfMissing: true),
            ])
            close(fd)
            #expect(try target.sysctl("net/ipv4/conf/lo/arp_notify") == flipped)
            let oracle = sandbox.run(["ip", "netns", "exec", targetName, "sysctl", "-n", "net.ipv4.conf.lo.arp_notify"])
            #expect(oracle.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == flipped)
            #expect(try sandbox.namespace.sysctl("net/ipv4/conf/lo/arp_notify") == sandboxBefore)
            if let sandboxIPv6Before {
                #expect(try target.sysctl("net/ipv6/conf/lo/disable_ipv6") == "1")
                #expect(try sandbox.namespace.sysctl("net/ipv6/conf/lo/disable_ipv6") == sandboxIPv6Before)
            }
        }
    }

    @Test("a missing key is skipped with skipIfMissing, and is notFound without, leaving nothing open")
    func missingKey() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let missing = "net/ipv6/conf/nosuch0/disable_ipv6"
            let flipped = try target.sysctl("net/ipv4/conf/lo/arp_notify") == "1" ? "0" : "1"
            let fd = try target.openSocket(domain: AF_INET, type: datagram, protocol: 0, afterWriting: [
                SysctlWrite(missing, "1", skipIfMissing: true),
                SysctlWrite("net/ipv4/conf/lo/arp_notify", flipped),
            ])
            close(fd)
            // The write after the skipped one was made.
            #expect(try target.sysctl("net/ipv4/conf/lo/arp_notify") == flipped)

            let error = #expect(throws: BerthError.self) {
                try target.openSocket(domain: AF_INET, type: datagram, protocol: 0, afterWriting: [
                    SysctlWrite("net/ipv4/conf/lo/arp_ignore", "1"),
                    SysctlWrite(missing, "1"),
                ])
            }
            #expect(error?.code == .notFound)
            #expect(error?.message == "open /proc/sys/\(missing)")
            #expect((error?.cause as? Errno)?.code == ENOENT)
            #expect(descriptors(socketsIn: target).isEmpty)
            #expect(descriptors(opening: "/proc/sys/net/ipv4/conf/lo/arp_ignore").isEmpty)
        }
    }

    @Test("a write the kernel refuses names the value and the key, and closes the file")
    func refusedWrite() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let before = try target.sysctl("net/ipv4/conf/lo/arp_announce")
            let error = #expect(throws: BerthError.self) {
                try target.openSocket(domain: AF_INET, type: datagram, protocol: 0,
                                      afterWriting: [SysctlWrite("net/ipv4/conf/lo/arp_announce", "banana")])
            }
            #expect(error?.code == .system)
            #expect(error?.message == "write banana to /proc/sys/net/ipv4/conf/lo/arp_announce")
            #expect((error?.cause as? Errno)?.code == EINVAL)
            #expect(descriptors(opening: "/proc/sys/net/ipv4/conf/lo/arp_announce").isEmpty)
            #expect(descriptors(socketsIn: target).isEmpty)
            #expect(try target.sysctl("net/ipv4/conf/lo/arp_announce") == before)
        }
    }

    @Test("a descriptor that is no namespace fails to enter, as the pthread version did, naming the namespace")
    func badNamespace() throws {
        try withHostSandbox { _ in
            let notNamespace = NetworkNamespace(standIn: open("/dev/null", O_RDONLY | O_CLOEXEC), identity: NamespaceIdentity(device: 0, inode: 1),
                                                path: "/dev/null", name: nil)
            let invalid = #expect(throws: BerthError.self) {
                try notNamespace.openSocket(domain: AF_INET, type: datagram, protocol: 0, afterWriting: [SysctlWrite("net/ipv4/conf/lo/arp_notify", "1")])
            }
            #expect(invalid?.code == .system)
            #expect(invalid?.message == "enter network namespace /dev/null")
            #expect((invalid?.cause as? Errno)?.code == EINVAL)

            let closed = NetworkNamespace(standIn: -1, identity: NamespaceIdentity(device: 0, inode: 2), path: "closed", name: nil)
            let badDescriptor = #expect(throws: BerthError.self) {
                try closed.openSocket(domain: AF_INET, type: datagram, protocol: 0)
            }
            #expect(badDescriptor?.message == "enter network namespace closed")
            #expect((badDescriptor?.cause as? Errno)?.code == EBADF)
        }
    }

    @Test("a socket the kernel refuses is today's error, with CAP_NET_ADMIN as the privilege")
    func refusedSocket() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let error = #expect(throws: BerthError.self) {
                // No such address family.
                try target.openSocket(domain: 4242, type: datagram, protocol: 0)
            }
            #expect(error?.message == "open a socket in network namespace \(target)")
            #expect((error?.cause as? Errno)?.code == EAFNOSUPPORT)
            #expect(descriptors(socketsIn: target).isEmpty)
        }
    }

    @Test("with namespace threads started on their caller's CPU, the thread's work (and what it starts) keeps the caller's whole CPU mask, and the caller's mask is put back",
          .enabled(if: Self.allowedCPUs().count > 1, "the test process may run on one CPU only: there is nothing to pin"))
    func threadOnCallersCPU() throws {
        // As a per-container command declares it (SystemKernel.processRunsOneCommand).
        NamespaceThread.startOnCallersCPU()
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let before = Self.allowedCPUs()
            // The pthread path (`run`): a lab node's supervisor is started from such a body,
            // and inherits what the body's thread has.
            let inside = try target.run { () throws(BerthError) -> [Int] in Self.allowedCPUs() }
            #expect(inside == before)
            #expect(Self.allowedCPUs() == before)
            // The bare thread (`openSocket`) pins and unpins the same way.
            let fd = try target.openSocket(domain: AF_INET, type: datagram, protocol: 0)
            close(fd)
            #expect(Self.allowedCPUs() == before)
        }
    }

    @Test("invalid keys are refused before any thread starts")
    func invalidKey() throws {
        try withHostSandbox { sandbox in
            let error = #expect(throws: BerthError.self) {
                try sandbox.namespace.openSocket(domain: AF_INET, type: datagram, protocol: 0, afterWriting: [SysctlWrite("kernel/hostname", "x")])
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    // MARK: - Helpers

    /// The CPUs the calling thread may run on (`Cpus_allowed_list` of /proc/thread-self/status).
    private static func allowedCPUs() -> [Int] {
        guard let status = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return [] }
        return line.dropFirst("Cpus_allowed_list:".count).split(separator: ",").flatMap { part -> [Int] in
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
            guard let low = bounds.first, let high = bounds.last, low <= high else { return [] }
            return Array(low...high)
        }
    }

    /// The inode of the namespace a socket lives in (SIOCGSKNS), or nil.
    private func socketNamespaceInode(_ fd: Int32) -> UInt64? {
        let nsfd = ioctl(fd, 0x894C)
        guard nsfd >= 0 else { return nil }
        defer { close(nsfd) }
        var st = stat()
        guard fstat(nsfd, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// This process's open descriptors.
    private func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }.sorted()
    }

    /// The descriptors of this process that are sockets in `namespace`.
    private func descriptors(socketsIn namespace: NetworkNamespace) -> [Int32] {
        openDescriptors().filter { fd in
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return false }
            return socketNamespaceInode(fd) == namespace.identity.inode
        }
    }

    /// The descriptors of this process open on `path`.
    private func descriptors(opening path: String) -> [Int32] {
        openDescriptors().filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == path
        }
    }
}
