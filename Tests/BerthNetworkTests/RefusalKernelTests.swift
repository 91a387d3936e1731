import BerthTestSupport
import Foundation
import Testing

/// A command `berth` must refuse: its arguments (with `{ctr}` for a fresh container
/// namespace and `{host}` for the sandbox's own name) and the words its error must contain.
struct Refusal: Sendable, CustomTestStringConvertible {
    let label: String
    let args: [String]
    let mentions: [String]

    init(_ label: String, _ args: [String], mentions: [String]) {
        self.label = label
        self.args = args
        self.mentions = mentions
    }

    var testDescription: String { label }
}

/// Bad networks and bad attaches: a clear error, and neither state nor kernel changed.
@Suite("attach path refusals (kernel)", .enabled(if: try KernelTests.enabled))
struct RefusalKernelTests {
    /// Every case starts from: network `web` (10.40.0.0/24 on bridge `brweb`) with endpoint
    /// `first` at 10.40.0.2; a veth `lan0` (192.0.2.1/24, up) with peer `lan0p`; a route
    /// 10.50.0.0/16 via 192.0.2.254; and a container namespace that already has a link `eth1`.
    private func withSetup(_ body: (HostSandbox, String) throws -> Void) throws {
        try withHostSandbox { sandbox in
            let container = try #require(try sandbox.makeNamespace().name)
            let first = try #require(try sandbox.makeNamespace().name)
            let setup: [[String]] = [
                ["link", "add", "lan0", "type", "veth", "peer", "name", "lan0p"],
                ["addr", "add", "192.0.2.1/24", "dev", "lan0"],
                ["link", "set", "lan0", "up"],
                ["link", "set", "lan0p", "up"],
                ["route", "add", "10.50.0.0/16", "via", "192.0.2.254"],
            ]
            for argv in setup {
                let result = sandbox.run(["ip"] + argv)
                try #require(result.succeeded, "ip \(argv): \(result)")
            }
            let eth1 = Command.run(["ip", "-n", container, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"])
            try #require(eth1.succeeded, "\(eth1)")
            let create = sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"])
            try #require(create.succeeded, "\(create)")
            let attach = sandbox.berth(["attach", "web", "--netns", first, "--id", "first"])
            try #require(attach.succeeded, "\(attach)")
            try body(sandbox, container)
        }
    }

    private func expectRefused(_ refusal: Refusal) throws {
        try withSetup { sandbox, container in
            // The placeholders stand for names that exist only now.
            func fill(_ text: String) -> String {
                text.replacingOccurrences(of: "{ctr}", with: container).replacingOccurrences(of: "{host}", with: sandbox.name)
            }
            let args = refusal.args.map(fill)
            let before = KernelSnapshot(sandbox, namespaces: [container])
            // A snapshot that saw nothing would make the comparison vacuous.
            try #require(before.links.contains { $0.hasPrefix("brweb ") } && before.ruleset.contains("berth-network web") && before.endpoints.contains("first"))
            let result = sandbox.berth(args)
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
            for words in refusal.mentions.map(fill) {
                #expect(result.stderr.contains(words), "the error does not say \"\(words)\": \(result.stderr)")
            }
            let after = KernelSnapshot(sandbox, namespaces: [container])
            #expect(after == before, "\(after.difference(from: before))")
        }
    }

    static let badNetworks: [Refusal] = [
        Refusal("gateway outside the subnet", ["network", "create", "bad", "--subnet", "10.60.0.0/24", "--gateway", "10.61.0.1"],
                mentions: ["gateway 10.61.0.1 is not inside subnet 10.60.0.0/24"]),
        Refusal("gateway is the network address", ["network", "create", "bad", "--subnet", "10.60.0.0/24", "--gateway", "10.60.0.0"],
                mentions: ["gateway 10.60.0.0 is the network address of subnet 10.60.0.0/24"]),
        Refusal("/31 subnet", ["network", "create", "bad", "--subnet", "10.60.0.0/31"],
                mentions: ["subnet 10.60.0.0/31 is too small"]),
        Refusal("/32 subnet", ["network", "create", "bad", "--subnet", "10.60.0.7/32"],
                mentions: ["subnet 10.60.0.7/32 is too small"]),
        Refusal("bridge name of 16 bytes", ["network", "create", "bad", "--subnet", "10.60.0.0/24", "--bridge", "br-0123456789abc"],
                mentions: ["\"br-0123456789abc\" is 16 bytes", "limit of 15"]),
        Refusal("bridge name held by a veth", ["network", "create", "bad", "--subnet", "10.60.0.0/24", "--bridge", "lan0p"],
                mentions: ["link lan0p exists but is a veth, not a bridge"]),
        Refusal("bridge of another network", ["network", "create", "bad", "--subnet", "10.60.0.0/24", "--bridge", "brweb"],
                mentions: ["bridge brweb already carries network web"]),
        Refusal("subnet overlapping another network", ["network", "create", "bad", "--subnet", "10.40.0.128/25"],
                mentions: ["subnet 10.40.0.128/25 overlaps 10.40.0.0/24", "network web"]),
        Refusal("subnet overlapping a host route", ["network", "create", "bad", "--subnet", "10.50.3.0/24"],
                mentions: ["subnet 10.50.3.0/24 overlaps 10.50.0.0/16", "route 10.50.0.0/16 dev lan0"]),
        Refusal("subnet around a host's LAN", ["network", "create", "bad", "--subnet", "192.0.0.0/16"],
                mentions: ["subnet 192.0.0.0/16 overlaps 192.0.2.0/24", "lan0"]),
        Refusal("duplicate network name", ["network", "create", "web", "--subnet", "10.70.0.0/24"],
                mentions: ["network web already exists"]),
    ]

    @Test("bad networks are refused with an error naming the problem; state and kernel unchanged", arguments: badNetworks)
    func badNetwork(_ refusal: Refusal) throws {
        try expectRefused(refusal)
    }

    static let badAttaches: [Refusal] = [
        Refusal("unknown network", ["attach", "nope", "--netns", "{ctr}"], mentions: ["no network named \"nope\""]),
        Refusal("--ip outside the subnet", ["attach", "web", "--netns", "{ctr}", "--ip", "10.41.0.5"],
                mentions: ["address 10.41.0.5 is not inside subnet 10.40.0.0/24"]),
        Refusal("--ip in use", ["attach", "web", "--netns", "{ctr}", "--ip", "10.40.0.2"],
                mentions: ["address 10.40.0.2", "already leased to endpoint first"]),
        Refusal("--ip is the gateway", ["attach", "web", "--netns", "{ctr}", "--ip", "10.40.0.1"],
                mentions: ["address 10.40.0.1 is the gateway of network \"web\""]),
        Refusal("--ip is the broadcast address", ["attach", "web", "--netns", "{ctr}", "--ip", "10.40.0.255"],
                mentions: ["address 10.40.0.255 is the broadcast address of subnet 10.40.0.0/24"]),
        Refusal("the host's namespace by name", ["attach", "web", "--netns", "{host}"],
                mentions: ["{host} is the host's own network namespace"]),
        Refusal("the host's namespace by path", ["attach", "web", "--netns", "/proc/self/ns/net"],
                mentions: ["/proc/self/ns/net is the host's own network namespace"]),
        Refusal("a file that is not a namespace", ["attach", "web", "--netns", "/etc/hostname"],
                mentions: ["/etc/hostname is not a network namespace"]),
        Refusal("a namespace of another kind", ["attach", "web", "--netns", "/proc/self/ns/uts"],
                mentions: ["/proc/self/ns/uts is a namespace, but not a network namespace"]),
        Refusal("a namespace that does not exist", ["attach", "web", "--netns", "bt-never-made"],
                mentions: ["bt-never-made"]),
        Refusal("--ifname already in the namespace", ["attach", "web", "--netns", "{ctr}", "--ifname", "eth1"],
                mentions: ["interface eth1 already exists in network namespace {ctr}"]),
        Refusal("duplicate --id", ["attach", "web", "--netns", "{ctr}", "--id", "first"],
                mentions: ["endpoint first already exists"]),
        Refusal("invalid --id", ["attach", "web", "--netns", "{ctr}", "--id", "a/b"],
                mentions: ["invalid endpoint id \"a/b\""]),
    ]

    @Test("bad attaches are refused with an error naming the problem; state and kernel unchanged", arguments: badAttaches)
    func badAttach(_ refusal: Refusal) throws {
        try expectRefused(refusal)
    }
}
