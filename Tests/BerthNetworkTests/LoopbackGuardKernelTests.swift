import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// The guard against a loopback source from a container: with `route_localnet` on a
/// network's bridge (set for 127.0.0.1 publishes) the kernel no longer takes a 127/8 source
/// arriving there for a martian, so only the guard's `ip saddr 127.0.0.0/8` rule stands
/// between a container and host services that trust loopback.
@Suite("loopback source guard (kernel)", .enabled(if: try KernelTests.enabled))
struct LoopbackGuardKernelTests {
    /// An IPv4 `sockaddr_in` for `address:port`.
    private func socketAddress(_ address: String, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, address, &sa.sin_addr)
        return sa
    }

    private func bind(_ fd: Int32, _ address: String, _ port: UInt16) -> Bool {
        var sa = socketAddress(address, port)
        return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    private func send(_ fd: Int32, _ text: String, to address: String, _ port: UInt16) -> Bool {
        var sa = socketAddress(address, port)
        let bytes = Array(text.utf8)
        return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == bytes.count
    }

    /// What arrives on `fd` within `seconds`, as text (nil if nothing).
    private func receive(_ fd: Int32, within seconds: Double) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(seconds * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    @Test("a datagram from 127.0.0.2 sent by a container to a host service is dropped; from its own address it arrives; without the rule it would arrive")
    func spoofedLoopbackSourceDropped() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.43.0.0/24", "--bridge", "brweb"]).succeeded)
            let container = try CLIContainer(sandbox, network: "web", id: "e1")
            #expect(sandbox.run(["sysctl", "-n", "net.ipv4.conf.brweb.route_localnet"]).stdout.hasPrefix("1"))
            // A host service on every address, as one that trusts 127.0.0.1 would be.
            let service = try sandbox.namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
            defer { close(service) }
            try #require(bind(service, "0.0.0.0", 7001))

            // From its own address first: the path works (and the gateway's MAC is learnt).
            let plain = try container.namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
            defer { close(plain) }
            #expect(send(plain, "plain", to: "10.43.0.1", 7001))
            #expect(receive(service, within: 2) == "plain")

            // The container lets its own kernel send from 127.0.0.2 out of eth0 (what a raw
            // socket does without asking). Not 127.0.0.1: the kernel drops a source that is
            // one of the receiving namespace's own addresses (accept_local is off), but the
            // rest of 127/8 passes, and services that trust loopback trust all of it.
            let spoofing = try container.namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0,
                                                              afterWriting: [SysctlWrite("net/ipv4/conf/eth0/route_localnet", "1")])
            defer { close(spoofing) }
            try #require(bind(spoofing, "127.0.0.2", 0))
            #expect(send(spoofing, "spoofed", to: "10.43.0.1", 7001))
            #expect(receive(service, within: 1) == nil)

            // Without the rule the same datagram arrives: the rule is what stops it.
            let listing = sandbox.run(["nft", "-a", "list", "chain", "ip", "berth", "guard"]).stdout
            let handle = try #require(listing.split(separator: "\n").first { $0.contains("ip saddr 127.0.0.0/8 drop") }?
                .split(separator: " ").last.map(String.init))
            try #require(sandbox.run(["nft", "delete", "rule", "ip", "berth", "guard", "handle", handle]).succeeded)
            #expect(send(spoofing, "spoofed", to: "10.43.0.1", 7001))
            #expect(receive(service, within: 2) == "spoofed")
            // check names it; reconcile puts it back and the datagram is dropped again.
            let check = sandbox.berth(["check"])
            #expect(!check.succeeded && (check.stdout + check.stderr).contains("ip saddr 127.0.0.0/8 drop"), "\(check)")
            #expect(sandbox.berth(["reconcile"]).succeeded)
            #expect(send(spoofing, "spoofed", to: "10.43.0.1", 7001))
            #expect(receive(service, within: 1) == nil)
            _ = container
        }
    }
}
