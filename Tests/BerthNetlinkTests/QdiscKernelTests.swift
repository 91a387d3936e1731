import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// Which queueing disciplines this kernel has, found once by `RouteNetlink.kernelSupports`.
enum KernelQdiscs {
    static let netem: Bool = KernelTests.allowed
        && ((try? RouteNetlink.kernelSupports(.networkEmulation(NetworkEmulation(delay: TimeSpan(nanoseconds: 1_000_000))))) ?? false)
}

@Suite("qdiscs (kernel)", .enabled(if: try KernelTests.enabled))
struct QdiscKernelTests {
    /// A veth between the sandbox (va, 10.66.0.1) and a peer namespace (vb, 10.66.0.2).
    private func pair(_ sandbox: HostSandbox) throws -> (RouteNetlink, NetworkNamespace, Link) {
        let peer = try sandbox.makeNamespace("peer")
        let host = try RouteNetlink(namespace: sandbox.namespace)
        let va = try host.createVeth(named: InterfaceName("va"), peer: InterfaceName("vb"), peerNamespace: peer, up: true)
        try host.addAddress(CIDR(parsing: "10.66.0.1/24"), to: .index(va.index))
        let inside = try RouteNetlink(namespace: peer)
        try inside.apply { changes throws(BerthError) in
            try changes.setUp(.index(1))
            try changes.setUp(.named("vb"))
            try changes.addAddress(CIDR(parsing: "10.66.0.2/24"), to: .named("vb"))
        }
        return (host, peer, va)
    }

    @Test("a tbf installed over rtnetlink is what tc shows, and reads back")
    func tokenBucketInstalled() throws {
        try withHostSandbox { sandbox in
            let (host, _, va) = try pair(sandbox)
            let tbf = TokenBucket(rate: try DataRate(parsing: "16mbit"))
            try host.setImpairment(Impairment(rate: tbf), on: .index(va.index))
            let shown = sandbox.run(["tc", "-j", "qdisc", "show", "dev", "va"])
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [[String: Any]])
            let root = try #require(parsed.first { $0["root"] as? Bool == true })
            #expect(root["kind"] as? String == "tbf")
            #expect(root["handle"] as? String == "1:")
            #expect((root["options"] as? [String: Any])?["rate"] as? Int == 2_000_000)
            // tc shows the bucket as bytes again (the kernel keeps it as a time): within 1%.
            let burst = (root["options"] as? [String: Any])?["burst"] as? Int ?? 0
            #expect(abs(burst - Int(tbf.burst)) * 100 <= Int(tbf.burst), "tc says burst \(burst), Berth sent \(tbf.burst)")
            let read = try host.impairment(of: .index(va.index))
            #expect(read.rate.map { $0.matches(tbf) } == true)
            #expect(read.emulation == nil)

            // A new rate changes it in place; an empty impairment restores the default.
            let faster = TokenBucket(rate: try DataRate(parsing: "32mbit"))
            try host.setImpairment(Impairment(rate: faster), on: .index(va.index))
            #expect(try host.impairment(of: .index(va.index)).rate.map { $0.matches(faster) } == true)
            try host.setImpairment(Impairment(), on: .index(va.index))
            #expect(try host.impairment(of: .index(va.index)).isEmpty)
            #expect(!sandbox.witness(["tc", "qdisc", "show", "dev", "va"]).contains("tbf"))
        }
    }

    @Test("the rate limit is visible in a bulk transfer: B bytes take at least (B - burst) / rate, and tbf counts overlimits")
    func tokenBucketLimits() throws {
        try withHostSandbox { sandbox in
            let (host, peer, va) = try pair(sandbox)
            let tbf = TokenBucket(rate: try DataRate(parsing: "16mbit"))
            try host.setImpairment(Impairment(rate: tbf), on: .index(va.index))
            let bytes = 1_000_000
            let outcome = try BulkTransfer.run(from: sandbox.namespace, to: peer, address: "10.66.0.2", port: 5201, bytes: bytes)
            #expect(outcome.received == bytes)
            let floorSeconds = Double(bytes - Int(tbf.burst)) / Double(tbf.rate.bytesPerSecond)
            let seconds = Double(outcome.duration.components.seconds) + Double(outcome.duration.components.attoseconds) / 1e18
            #expect(seconds >= floorSeconds, "\(bytes) bytes arrived in \(seconds) s; the limit allows no less than \(floorSeconds) s")
            let stats = sandbox.run(["tc", "-s", "-j", "qdisc", "show", "dev", "va"])
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [[String: Any]])
            let root = try #require(parsed.first { $0["kind"] as? String == "tbf" })
            #expect((root["bytes"] as? Int ?? 0) >= bytes)
            #expect((root["overlimits"] as? Int ?? 0) > 0)
        }
    }

    @Test("without netem in the kernel, installing it is refused as unsupported, naming netem", .enabled(if: !KernelQdiscs.netem))
    func netemMissing() throws {
        try withHostSandbox { sandbox in
            let (host, _, va) = try pair(sandbox)
            let error = #expect(throws: BerthError.self) {
                try host.setImpairment(Impairment(emulation: NetworkEmulation(delay: TimeSpan(nanoseconds: 20_000_000))), on: .index(va.index))
            }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("netem") == true)
            #expect(try host.impairment(of: .index(va.index)).isEmpty)
        }
    }

    @Test("netem delay shows in the ping time (kernels with sch_netem only)", .enabled(if: KernelQdiscs.netem))
    func netemDelay() throws {
        try withHostSandbox { sandbox in
            let (host, _, va) = try pair(sandbox)
            let netem = NetworkEmulation(delay: TimeSpan(nanoseconds: 50_000_000))
            try host.setImpairment(Impairment(emulation: netem), on: .index(va.index))
            #expect(try host.impairment(of: .index(va.index)).emulation == netem)
            let ping = sandbox.run(["busybox", "ping", "-c", "1", "-W", "5", "-w", "5", "10.66.0.2"])
            #expect(ping.succeeded)
            let time = ping.stdout.split(separator: " ").first { $0.hasPrefix("time=") }.flatMap { Double($0.dropFirst(5)) }
            #expect((time ?? 0) >= 50, "ping said: \(ping.stdout)")
        }
    }
}
