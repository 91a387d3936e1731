import BerthCore
import BerthNamespace
import BerthNetwork
@testable import BerthCNI
import Testing

/// Chained mode without a kernel: which of prevResult's addresses berth-cni publishes to,
/// and the code-7 refusals, as portmap does behind a dual-stack bridge.
@Suite("berth-cni chained: prevResult's addresses of both families, hostIP families, refusals")
struct CNIChainedTests {
    /// A result as the reference bridge plugin prints it (1.0.0): the bridge, the host veth,
    /// the container's interface, then `ips` (indexes into `interfaces`).
    static func prevResult(_ ips: [(address: String, interface: Int)]) -> String {
        let entries = ips.map { #"{"interface":\#($0.interface),"address":"\#($0.address)"}"# }.joined(separator: ",")
        return #"{"cniVersion":"1.0.0","interfaces":[{"name":"cnibr0","mac":"6a:f4:b2:6f:15:1f"},{"name":"veth0a1b2c3d","mac":"aa:bb:cc:dd:ee:ff"},"#
            + #"{"name":"eth0","mac":"02:42:0a:4f:00:05","sandbox":"/run/netns/c1"},{"name":"net1","sandbox":"/run/netns/c1"}],"#
            + #""ips":[\#(entries)],"dns":{}}"#
    }

    static func config(_ prevResult: String, hostIP: String? = nil) -> String {
        let ip = hostIP.map { #","hostIP":"\#($0)""# } ?? ""
        return #"{"cniVersion":"1.0.0","name":"chain","type":"berth-cni","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"\#(ip)}]},"prevResult":\#(prevResult)}"#
    }

    private func addresses(_ prevResult: String, hostIP: String? = nil) throws -> (IPv4Address?, IPv6Address?) {
        let (address, address6, _) = try chained(prevResult, hostIP: hostIP)
        return (address, address6)
    }

    private func chained(_ prevResult: String, hostIP: String? = nil) throws -> (IPv4Address?, IPv6Address?, [PortSpec]) {
        let request = try CNIDualStackTests.request(Self.config(prevResult, hostIP: hostIP))
        let previous = try CNIResult.parse(try #require(request.config.prevResult), path: "prevResult")
        return try request.chainedAddresses(previous, ports: try request.portSpecs())
    }

    private func refusal(_ prevResult: String, hostIP: String? = nil) throws -> CNIError {
        try #require(throws: CNIError.self) { _ = try addresses(prevResult, hostIP: hostIP) }
    }

    static let dual = prevResult([("10.79.0.5/24", 2), ("fd00:79::5/64", 2)])

    @Test("dual stack: the first address of each family on CNI_IFNAME; another interface's are not the container's")
    func selection() throws {
        #expect(try addresses(Self.dual) == (IPv4Address("10.79.0.5"), IPv6Address("fd00:79::5")))
        // net1 (index 3) comes first in ips, eth0's addresses are still the ones taken.
        let two = Self.prevResult([("10.1.0.9/24", 3), ("fd00:1::9/64", 3), ("fd00:79::5/64", 2), ("fd00:79::6/64", 2), ("10.79.0.5/24", 2)])
        #expect(try addresses(two) == (IPv4Address("10.79.0.5"), IPv6Address("fd00:79::5")))
        #expect(try addresses(Self.prevResult([("fd00:79::5/64", 2)])) == (nil, IPv6Address("fd00:79::5")))
        #expect(try addresses(Self.prevResult([("10.79.0.5/24", 2)])) == (IPv4Address("10.79.0.5"), nil))
        // A hostIP of a family the container has is fine (the library keeps the mapping to it).
        #expect(try addresses(Self.dual, hostIP: "2001:db8::1") == (IPv4Address("10.79.0.5"), IPv6Address("fd00:79::5")))
        #expect(try addresses(Self.prevResult([("fd00:79::5/64", 2)]), hostIP: "::") == (nil, IPv6Address("fd00:79::5")))
    }

    @Test("no address of either family for CNI_IFNAME is code 7, worded for both families")
    func noAddress() throws {
        for previous in [Self.prevResult([]), Self.prevResult([("10.1.0.9/24", 3), ("fd00:1::9/64", 3)])] {
            let error = try refusal(previous)
            #expect(error.code == .invalidConfig)
            #expect(error.message == "prevResult has no IPv4 or IPv6 address for eth0 to publish ports to", "\(error)")
        }
    }

    @Test("a wildcard hostIP of a family the container has no address of is skipped (as portmap skips it); one of the container's family is kept")
    func wildcardSkipped() throws {
        let four = Self.prevResult([("10.79.0.5/24", 2)]), six = Self.prevResult([("fd00:79::5/64", 2)])
        let (address, address6, ports) = try chained(four, hostIP: "::")
        #expect(address == IPv4Address("10.79.0.5") && address6 == nil && ports.isEmpty)
        let (none, onlySix, sixPorts) = try chained(six, hostIP: "0.0.0.0")
        #expect(none == nil && onlySix == IPv6Address("fd00:79::5") && sixPorts.isEmpty)
        #expect(try chained(six, hostIP: "::").2.map(\.hostAddress) == [IPAddress("::")])
        #expect(try chained(Self.dual, hostIP: "0.0.0.0").2.map(\.hostAddress) == [IPAddress("0.0.0.0")])
    }

    @Test("CHECK's address comparison names each address prevResult lists and the publication does not forward to, and the reverse")
    func addressProblems() throws {
        let upgraded = PublicationRecord(id: "c1-eth0", group: "chain", address: IPv4Address(10, 79, 0, 5), namespacePath: "/run/netns/c1",
                                         namespaceIdentity: NamespaceIdentity(device: 1, inode: 2), created: 0)
        #expect(CNIRequest.addressProblems(upgraded, address: IPv4Address(10, 79, 0, 5), ipv6Address: nil).isEmpty)
        #expect(CNIRequest.addressProblems(upgraded, address: IPv4Address(10, 79, 0, 5), ipv6Address: IPv6Address("fd00:79::5"))
            == ["prevResult lists IPv6 address fd00:79::5 that publication c1-eth0 does not forward to"])
        #expect(CNIRequest.addressProblems(upgraded, address: IPv4Address(10, 79, 0, 6), ipv6Address: nil)
            == ["prevResult lists IPv4 address 10.79.0.6 that publication c1-eth0 does not forward to",
                "publication c1-eth0 forwards to IPv4 address 10.79.0.5, which prevResult does not list"])
    }

    @Test("a hostIP of a family the container has no address of is code 7 naming the hostIP and the address it has", arguments: [
        ([("10.79.0.5/24", 2)], "2001:db8::1",
         "hostIP 2001:db8::1 in runtimeConfig.portMappings is IPv6, and prevResult has no IPv6 address for eth0 (only IPv4 address 10.79.0.5)"),
        ([("fd00:79::5/64", 2)], "192.0.2.1",
         "hostIP 192.0.2.1 in runtimeConfig.portMappings is IPv4, and prevResult has no IPv4 address for eth0 (only IPv6 address fd00:79::5)"),
    ])
    func hostIPFamily(ips: [(String, Int)], hostIP: String, message: String) throws {
        let error = try refusal(Self.prevResult(ips.map { (address: $0.0, interface: $0.1) }), hostIP: hostIP)
        #expect(error.code == .invalidConfig)
        #expect(error.message == message)
    }

    @Test("through the plugin: the refusal comes before CNI_NETNS or the state is looked at")
    func throughPlugin() throws {
        let env = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/berth-cni-test-missing", "CNI_IFNAME": "eth0"]
        let stdin = String(Self.config(Self.prevResult([("10.79.0.5/24", 2)]), hostIP: "2001:db8::1").dropLast()) + #","stateDir":"/nonexistent/berth-cni-test"}"#
        let response = CNIPlugin.run(environment: env, stdin: Array(stdin.utf8))
        #expect(response.exitCode == 1)
        let answer = try JSONValue(parsing: response.output)
        #expect(answer["code"] == .integer(7))
        #expect(answer["msg"]?.stringValue?.contains("prevResult has no IPv6 address for eth0 (only IPv4 address 10.79.0.5)") == true, "\(response.output)")
    }
}
