import BerthCore
import BerthNamespace
import BerthNetwork
@testable import BerthCNI
import Testing

/// berth-cni on an IPv6-only network (`"ipv4": false`) without a kernel: the key and its
/// refusals, and the result, which lists only the IPv6 address and route.
@Suite("berth-cni IPv6-only: the ipv4 key, refusals, the result per version")
struct CNIIPv6OnlyTests {
    static func description() throws -> EndpointDescription {
        let network = NetworkRecord(name: "six", id: "n1", bridge: try InterfaceName("br-six"), subnet: nil, gateway: nil,
                                    mtu: 1500, isInternal: false, created: 0,
                                    ipv6Subnet: CIDR("fd00:77::/64"), ipv6Gateway: IPv6Address("fd00:77::1"), dns: true)
        let endpoint = EndpointRecord(id: "c1-eth0", network: "six", namespacePath: "/run/netns/c1",
                                      namespaceIdentity: NamespaceIdentity(device: 4, inode: 4026532000),
                                      interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb0123456789abc"),
                                      address: nil, mac: MACAddress("02:42:00:00:00:02")!, created: 0,
                                      ipv6Address: IPv6Address("fd00:77::2"))
        return EndpointDescription(endpoint: endpoint, network: network, bridgeMAC: MACAddress("6a:f4:b2:6f:15:1f"),
                                   hostVethMAC: MACAddress("aa:bb:cc:dd:ee:ff"))
    }

    @Test("the result lists the IPv6 address with its gateway and the ::/0 route alone; DNS names the IPv6 gateway",
          arguments: CNIVersion.supported)
    func result(version: CNIVersion) throws {
        let request = try CNIDualStackTests.request(#"{"cniVersion":"\#(version)","name":"six","ipv6":true,"ipv4":false}"#)
        let result = try request.result(try Self.description(), ipamResult: nil)
        let v6 = version < CNIVersion(1, 0, 0) ? #""version":"6","# : ""
        let rendered = result.rendered(version: version).render()
        #expect(rendered.hasPrefix("""
            {"cniVersion":"\(version)","interfaces":[{"name":"br-six","mac":"6a:f4:b2:6f:15:1f"},\
            {"name":"vb0123456789abc","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","mac":"02:42:00:00:00:02","sandbox":"/run/netns/c1"}],\
            "ips":[{\(v6)"interface":2,"address":"fd00:77::2/64","gateway":"fd00:77::1"}],\
            "routes":[{"dst":"::/0","gw":"fd00:77::1"}],"dns":{"nameservers":["fd00:77::1"]
            """), "\(rendered)")
        #expect(try CNIResult.parse(result.rendered(version: version), path: "prevResult") == result)
    }

    @Test("a delegated IPAM plugin's empty dns (host-local's {} without resolvConf) leaves the network's resolver in the result; one that sets something wins")
    func ipamEmptyDNS() throws {
        let request = try CNIDualStackTests.request(#"{"cniVersion":"1.1.0","name":"six","ipv6":true,"ipv4":false,"dnsEnabled":true,"ipam":{"type":"host-local"}}"#)
        for empty in [#"{}"#, #"{"nameservers":[]}"#] {
            let lease = try CNIResult.parse(try JSONValue(parsing: #"{"cniVersion":"1.1.0","ips":[{"address":"fd00:77::2/64"}],"dns":\#(empty)}"#),
                                            path: "ipam")
            let result = try request.result(try Self.description(), ipamResult: lease)
            // (With the host's search domains, when its resolv.conf has any.)
            #expect(result.dns["nameservers"] == .array([.string("fd00:77::1")]), "\(empty): \(result.dns)")
        }
        let set = try CNIResult.parse(try JSONValue(parsing: #"{"cniVersion":"1.1.0","ips":[{"address":"fd00:77::2/64"}],"dns":{"nameservers":["fd00:77::53"]}}"#),
                                      path: "ipam")
        #expect(try request.result(try Self.description(), ipamResult: set).dns == (try JSONValue(parsing: #"{"nameservers":["fd00:77::53"]}"#)))
    }

    @Test("\"ipv4\": false becomes the network's options; absent means IPv4")
    func key() throws {
        let options = try CNIDualStackTests.request(#"{"cniVersion":"1.0.0","name":"six","ipv6Subnet":"fd00:77::/64","ipv4":false}"#).networkOptions()
        #expect(!options.ipv4 && options.wantsIPv6 && options.subnet == nil && options.ipv6Subnet == CIDR("fd00:77::/64"))
        #expect(try CNIDualStackTests.request(#"{"cniVersion":"1.0.0","name":"six","ipv6":true}"#).networkOptions().ipv4)
    }

    @Test("refused: \"ipv4\": false without IPv6, or beside subnet/gateway; not a boolean", arguments: [
        (#"{"cniVersion":"1.0.0","name":"six","ipv4":false}"#, "\"ipv4\": false leaves the network no family"),
        (#"{"cniVersion":"1.0.0","name":"six","ipv4":false,"ipv6":true,"subnet":"10.7.0.0/24"}"#, "\"ipv4\": false contradicts \"subnet\"/\"gateway\""),
        (#"{"cniVersion":"1.0.0","name":"six","ipv4":false,"ipv6":true,"gateway":"10.7.0.1"}"#, "\"ipv4\": false contradicts \"subnet\"/\"gateway\""),
        (#"{"cniVersion":"1.0.0","name":"six","ipv4":"no","ipv6":true}"#, "ipv4"),
    ])
    func refused(_ config: String, _ message: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: config)) }
        #expect(error.code == .invalidConfig && error.message.contains(message), "\(error)")
    }
}
