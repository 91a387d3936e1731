import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation

/// A host sandbox laid out like a Berth host with two DNS networks:
///
/// - `front`: gateway 10.89.0.1 on `fr0`; a client namespace at 10.89.0.2 (named web)
/// - `back`: gateway 10.90.0.1 on `bk0`; a client namespace at 10.90.0.2 (named cache),
///   whose only upstream (192.0.2.9) does not exist
/// - a LAN neighbour at 192.0.2.2 running `TestUpstream` on port 53
///
/// The clients sit on plain veth pairs (a bridge adds nothing the resolver can see).
struct DNSFixture {
    static let frontGateway = "10.89.0.1"
    static let backGateway = "10.90.0.1"
    static let deadUpstream = "192.0.2.9"

    let sandbox: HostSandbox
    let front: NetworkNamespace
    let back: NetworkNamespace
    let lan: LANNeighbor
    let upstream: TestUpstream
    let tablePath: String

    static let table = """
        network front listen=10.89.0.1 subnet=10.89.0.0/24
        endpoint web address=10.89.0.2 alias=www
        endpoint db address=10.89.0.3,fd00::3
        network back listen=10.90.0.1 subnet=10.90.0.0/24 upstream=\(deadUpstream)
        endpoint cache address=10.90.0.2

        """

    init(sandbox: HostSandbox) throws {
        self.sandbox = sandbox
        front = try Self.client(in: sandbox, hostSide: "fr0", gateway: Self.frontGateway, address: "10.89.0.2")
        back = try Self.client(in: sandbox, hostSide: "bk0", gateway: Self.backGateway, address: "10.90.0.2")
        lan = try sandbox.makeLANNeighbor()
        upstream = try TestUpstream(in: lan.namespace, address: LANNeighbor.address)
        tablePath = sandbox.stateDirectory + "/dns-table"
        try writeTable(Self.table)
    }

    /// A namespace joined to the sandbox by a veth pair: `hostSide` holds `gateway`/24,
    /// the namespace's `eth0` holds `address`/24 and routes everything via the gateway.
    static func client(in sandbox: HostSandbox, hostSide: String, gateway: String, address: String) throws -> NetworkNamespace {
        let namespace = try sandbox.makeNamespace("dns")
        guard let name = namespace.name else { throw SandboxError("client namespace has no name") }
        let steps: [[String]] = [
            ["ip", "-n", sandbox.name, "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", name],
            ["ip", "-n", sandbox.name, "addr", "add", "\(gateway)/24", "dev", hostSide],
            ["ip", "-n", sandbox.name, "link", "set", hostSide, "up"],
            ["ip", "-n", name, "addr", "add", "\(address)/24", "dev", "eth0"],
            ["ip", "-n", name, "link", "set", "eth0", "up"],
            ["ip", "-n", name, "link", "set", "lo", "up"],
            ["ip", "-n", name, "route", "add", "default", "via", gateway],
        ]
        for step in steps {
            let result = Command.run(step)
            if !result.succeeded { throw SandboxError("\(step.joined(separator: " ")) failed: \(result.stderr)") }
        }
        return namespace
    }

    /// Replaces the table file the way a writer should: a new file renamed into place.
    func writeTable(_ text: String) throws {
        let temporary = tablePath + ".new"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, tablePath) == 0 else { throw SandboxError("rename the table: \(String(cString: strerror(errno)))") }
    }

    /// Starts berth-dns on port 53 with the test upstream and a short upstream timeout.
    func startServer(_ extra: [String] = []) throws -> DNSServerProcess {
        try DNSServerProcess(in: sandbox, arguments: ["--table", tablePath, "--upstream", LANNeighbor.address,
                                                       "--upstream-timeout", "300"] + extra)
    }
}

/// Kernel tests need root; they also need the `berth-dns` binary built beside them.
enum DNSKernelTests {
    static var enabled: Bool { get throws { try KernelTests.enabled } }
}
