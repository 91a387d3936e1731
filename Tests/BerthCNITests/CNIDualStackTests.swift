import BerthCore
import BerthNamespace
import BerthNetwork
@testable import BerthCNI
import Testing

/// The dual-stack side of berth-cni without a kernel: the configuration keys, the
/// requested addresses, and the result a dual-stack ADD prints in each version.
@Suite("berth-cni dual stack: keys, requested addresses, the result per version")
struct CNIDualStackTests {
    static func request(_ config: String, environment: [String: String] = [:]) throws -> CNIRequest {
        let env = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/c1", "CNI_IFNAME": "eth0"]
            .merging(environment) { _, new in new }
        return CNIRequest(env: try CNIEnvironment(env), config: try CNIConfig(try JSONValue(parsing: config)),
                          stdin: Array(config.utf8), environment: CNIVariables(env), log: CNILog())
    }

    /// What the library describes after a dual-stack attach (or an IPv4-only one).
    static func description(dualStack: Bool) throws -> EndpointDescription {
        let network = NetworkRecord(name: "dual", id: "n1", bridge: try InterfaceName("br-dual"), subnet: CIDR("10.77.0.0/24")!,
                                    gateway: IPv4Address("10.77.0.1")!, mtu: 1500, isInternal: false, created: 0,
                                    ipv6Subnet: dualStack ? CIDR("fd00:77::/64") : nil,
                                    ipv6Gateway: dualStack ? IPv6Address("fd00:77::1") : nil)
        let endpoint = EndpointRecord(id: "c1-eth0", network: "dual", namespacePath: "/run/netns/c1",
                                      namespaceIdentity: NamespaceIdentity(device: 4, inode: 4026532000),
                                      interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb0123456789abc"),
                                      address: IPv4Address("10.77.0.2")!, mac: MACAddress("02:42:0a:4d:00:02")!, created: 0,
                                      ipv6Address: dualStack ? IPv6Address("fd00:77::2") : nil)
        return EndpointDescription(endpoint: endpoint, network: network, bridgeMAC: MACAddress("6a:f4:b2:6f:15:1f"),
                                   hostVethMAC: MACAddress("aa:bb:cc:dd:ee:ff"))
    }

    @Test("a dual-stack ADD's result: both addresses on the container interface with their gateways, both default routes; ips[].version before 1.0.0 only",
          arguments: CNIVersion.supported)
    func dualStackResult(version: CNIVersion) throws {
        let request = try Self.request(#"{"cniVersion":"\#(version)","name":"dual","ipv6":true}"#)
        let result = try request.result(try Self.description(dualStack: true), ipamResult: nil)
        let (v4, v6) = version < CNIVersion(1, 0, 0) ? (#""version":"4","#, #""version":"6","#) : ("", "")
        #expect(result.rendered(version: version).render() == """
            {"cniVersion":"\(version)","interfaces":[{"name":"br-dual","mac":"6a:f4:b2:6f:15:1f"},\
            {"name":"vb0123456789abc","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","mac":"02:42:0a:4d:00:02","sandbox":"/run/netns/c1"}],\
            "ips":[{\(v4)"interface":2,"address":"10.77.0.2/24","gateway":"10.77.0.1"},\
            {\(v6)"interface":2,"address":"fd00:77::2/64","gateway":"fd00:77::1"}],\
            "routes":[{"dst":"0.0.0.0/0","gw":"10.77.0.1"},{"dst":"::/0","gw":"fd00:77::1"}],"dns":{}}
            """)
        // What the runtime hands back as prevResult parses to the same result.
        #expect(try CNIResult.parse(result.rendered(version: version), path: "prevResult") == result)
    }

    @Test("an IPv4-only network's result has one address and one route")
    func ipv4OnlyResult() throws {
        let request = try Self.request(#"{"cniVersion":"1.0.0","name":"dual"}"#)
        let result = try request.result(try Self.description(dualStack: false), ipamResult: nil)
        #expect(result.ips.map(\.address.description) == ["10.77.0.2/24"])
        #expect(result.routes.map(\.destination.description) == ["0.0.0.0/0"])
    }

    @Test("ipv6, ipv6Subnet and ipv6Gateway become the network's options; ipv6Subnet alone implies IPv6")
    func keys() throws {
        let both = try Self.request(#"{"cniVersion":"1.0.0","name":"d","subnet":"10.77.0.0/24","ipv6Subnet":"fd00:77::/64","ipv6Gateway":"fd00:77::fe"}"#)
        let options = both.networkOptions()
        #expect(options.wantsIPv6)
        #expect(options.ipv6Subnet == CIDR("fd00:77::/64"))
        #expect(options.ipv6Gateway == IPv6Address("fd00:77::fe"))
        #expect(options.subnet == CIDR("10.77.0.0/24"))
        #expect(try Self.request(#"{"cniVersion":"1.0.0","name":"d","ipv6":true}"#).networkOptions().wantsIPv6)
        #expect(try !Self.request(#"{"cniVersion":"1.0.0","name":"d"}"#).networkOptions().wantsIPv6)
        // A delegated plugin's IPv6 range becomes the subnet when the configuration names none.
        let delegated = try Self.request(#"{"cniVersion":"1.0.0","name":"d"}"#)
            .networkOptions(ipv6Subnet: CIDR("fd00:78::/64"), ipv6Gateway: IPv6Address("fd00:78::1"))
        #expect(delegated.wantsIPv6 && delegated.ipv6Subnet == CIDR("fd00:78::/64"))
    }

    @Test("the ips capability and IP= in CNI_ARGS take one address per family")
    func requestedAddresses() throws {
        let capability = try Self.request(#"{"cniVersion":"1.0.0","name":"d","runtimeConfig":{"ips":["fd00:77::9/64","10.77.0.9/24"]}}"#)
        let (v4, v6) = try capability.requestedAddresses()
        #expect(v4 == IPv4Address("10.77.0.9") && v6 == IPv6Address("fd00:77::9"))
        let onlyV6 = try Self.request(#"{"cniVersion":"1.0.0","name":"d","runtimeConfig":{"ips":["fd00:77::9"]}}"#).requestedAddresses()
        #expect(onlyV6.0 == nil && onlyV6.1 == IPv6Address("fd00:77::9"))
        let args = try Self.request(#"{"cniVersion":"1.0.0","name":"d"}"#, environment: ["CNI_ARGS": "IgnoreUnknown=1;IP=10.77.0.7,fd00:77::7"])
        let fromArgs = try args.requestedAddresses()
        #expect(fromArgs.0 == IPv4Address("10.77.0.7") && fromArgs.1 == IPv6Address("fd00:77::7"))
        let bad = try Self.request(#"{"cniVersion":"1.0.0","name":"d"}"#, environment: ["CNI_ARGS": "IP=10.77.0.7,nonsense"])
        let error = try #require(throws: CNIError.self) { try bad.requestedAddresses() }
        #expect(error.code == .invalidEnvironment)
        #expect(error.message == "IP=10.77.0.7,nonsense in CNI_ARGS is not a list of IP addresses")
    }

    @Test("refusals name the key of the right family", arguments: [
        (#""subnet":"fd00:77::/64""#, "\"subnet\" in the network configuration must be an IPv4 subnet like 10.88.0.0/16 (an IPv6 one goes in \"ipv6Subnet\")"),
        (#""gateway":"fd00:77::1""#, "\"gateway\" in the network configuration must be an IPv4 address (an IPv6 one goes in \"ipv6Gateway\")"),
        (#""ipv6Subnet":"10.77.0.0/24""#, "\"ipv6Subnet\" in the network configuration must be an IPv6 subnet like fd00:88::/64 (an IPv4 one goes in \"subnet\")"),
        (#""ipv6Gateway":"10.77.0.1""#, "\"ipv6Gateway\" in the network configuration must be an IPv6 address like fd00:88::1 (an IPv4 one goes in \"gateway\")"),
        (#""ipv6":"yes""#, "\"ipv6\" in the network configuration must be true or false"),
        (#""ipv6":false,"ipv6Subnet":"fd00:77::/64""#, "\"ipv6\": false contradicts \"ipv6Subnet\"/\"ipv6Gateway\""),
        (#""runtimeConfig":{"ips":["10.77.0.9","x"]}"#, #""runtimeConfig.ips" in the network configuration must be a list of IP addresses like ["10.88.0.5/16", "fd00:88::5/64"]"#),
    ])
    func refusals(members: String, message: String) throws {
        let error = try #require(throws: CNIError.self) {
            try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"d",\#(members)}"#))
        }
        #expect(error.code == .invalidConfig)
        #expect(error.message == message)
    }
}
