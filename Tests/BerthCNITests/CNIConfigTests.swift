import BerthCore
import BerthNetwork
@testable import BerthCNI
import Testing

@Suite("CNI configuration: runtime samples, keys, refusals")
struct CNIConfigTests {
    @Test("podman's and containerd's ADD samples give the same port mapping whatever the key case")
    func runtimeSamples() throws {
        let podman = try CNIConfig(try Fixture.json("podman-cni-ADD.stdin.json"))
        let containerd = try CNIConfig(try Fixture.json("containerd-cri-ADD.stdin.json"))
        #expect(podman.cniVersion == CNIVersion(1, 0, 0))
        #expect(podman.name == "berthnet")
        #expect(podman.portMappings == [CNIPortMapping(hostPort: 8080, containerPort: 80, proto: .tcp)])
        // containerd sends {"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}.
        #expect(containerd.portMappings == podman.portMappings)
        #expect(podman.ipam == nil)
        #expect(podman.prevResult == nil)
    }

    @Test("podman's rich sample: expanded ranges, a udp port on 127.0.0.1, aliases ignored")
    func richSample() throws {
        let config = try CNIConfig(try Fixture.json("podman-cni-ADD-rich.stdin.json"))
        #expect(config.portMappings == [
            CNIPortMapping(hostPort: 9090, containerPort: 90, proto: .udp, hostIP: IPAddress("127.0.0.1")),
            CNIPortMapping(hostPort: 7000, containerPort: 7000),
            CNIPortMapping(hostPort: 7001, containerPort: 7001),
            CNIPortMapping(hostPort: 8443, containerPort: 443),
        ])
        #expect(try config.portMappings[0].portSpec().description == "127.0.0.1:9090:90/udp")
    }

    @Test("DEL samples carry prevResult; the containerd one parses as a 1.0.0 result")
    func deleteSamples() throws {
        let config = try CNIConfig(try Fixture.json("containerd-cri-DEL.stdin.json"), lenient: true)
        let previous = try CNIResult.parse(try #require(config.prevResult), path: "prevResult")
        #expect(previous.interfaces.map(\.name) == ["vf50d2d517fe", "eth0"])
        #expect(previous.containerAddress(ifname: "eth0")?.ip.address == CIDR("10.199.3.82/24"))
        #expect(previous.firstHostInterface?.name == "vf50d2d517fe")
    }

    @Test("Berth's keys, the bridge keys, ipam, capabilities and GC's attachments")
    func keys() throws {
        let json = try JSONValue(parsing: """
            {"cniVersion":"1.1.0","name":"k8s","type":"berth-cni","bridge":"cni0","mtu":1450,"ipMasq":true,"isGateway":true,
             "hairpinMode":true,"isDefaultGateway":true,"subnet":"10.244.1.0/24","gateway":"10.244.1.1","internal":false,
             "stateDir":"/run/berth-k8s","logFile":"/tmp/x.log","dns":{"nameservers":["10.96.0.10"]},
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]},
             "runtimeConfig":{"ips":["10.244.1.9/24"],"mac":"02:00:00:00:00:09","portMappings":[{"hostPort":0,"containerPort":53}]},
             "cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}
            """)
        let config = try CNIConfig(json)
        #expect(config.bridge?.rawValue == "cni0")
        #expect(config.mtu == 1450)
        #expect(config.subnet == CIDR("10.244.1.0/24"))
        #expect(config.gateway == IPv4Address("10.244.1.1"))
        #expect(config.stateDir == "/run/berth-k8s")
        #expect(config.ipamType == "host-local")
        #expect(config.requestedAddress == IPv4Address("10.244.1.9"))
        #expect(config.requestedMAC == MACAddress("02:00:00:00:00:09"))
        #expect(config.portMappings.isEmpty, "hostPort 0 means no host port")
        #expect(config.dns == (try JSONValue(parsing: #"{"nameservers":["10.96.0.10"]}"#)))
        #expect(config.validAttachments?.map { "\($0.containerID)/\($0.ifname)" } == ["c1/eth0"])
    }

    @Test("refusals name the key and the code", arguments: [
        (#"{"name":"n"}"#, 1, "no \"cniVersion\""),
        (#"{"cniVersion":"0.2.0","name":"n"}"#, 1, "CNI version 0.2.0 is not supported"),
        (#"{"cniVersion":"1.0","name":"n"}"#, 1, "CNI version 1.0 is not supported"),
        (#"{"cniVersion":"1.0.0"}"#, 7, "no \"name\""),
        (#"{"cniVersion":"1.0.0","name":"n","subnet":"10.0.0.0/33"}"#, 7, "\"subnet\" in the network configuration must be an IPv4 subnet"),
        (#"{"cniVersion":"1.0.0","name":"n","mtu":"1500"}"#, 7, "\"mtu\" in the network configuration must be an integer from 68 to 65535"),
        (#"{"cniVersion":"1.0.0","name":"n","bridge":"a/b"}"#, 7, "\"bridge\" in the network configuration must be an interface name"),
        (#"{"cniVersion":"1.0.0","name":"n","ipMasq":false}"#, 2, "\"ipMasq\": false is not supported"),
        (#"{"cniVersion":"1.0.0","name":"n","hairpinMode":false}"#, 2, "\"hairpinMode\": false is not supported"),
        (#"{"cniVersion":"1.0.0","name":"n","ipam":{}}"#, 7, "no \"ipam.type\""),
        (#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"../x"}}"#, 7, "is not a plugin name"),
        (#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":70000,"containerPort":80}]}}"#, 7, "hostPort\" must be a port number"),
        (#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"HostPort":80}]}}"#, 7, "has no containerPort"),
        (#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]}}"#, 7, "protocol\" must be"),
        (#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"c"}]}"#, 7, "valid-attachments[0]"),
    ])
    func refusals(text: String, code: Int, words: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: text)) }
        #expect(error.code.rawValue == code)
        #expect(error.message.contains(words), "\(error.message)")
    }

    @Test("runtimeConfig.aliases: this network's entry must be a list of strings, whatever else it is (another network's entry is not read)", arguments: [
        #"{"n":"web"}"#, #"{"n":{"a":"web"}}"#, #"{"n":["web",1]}"#, #"{"n":7}"#, #"["web"]"#,
    ])
    func aliasesOfTheWrongType(aliases: String) throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"aliases":"# + aliases + "}}"
        let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: text)) }
        #expect(error.code == .invalidConfig && error.message.contains("runtimeConfig.aliases"), "\(error)")
        // DEL reads it leniently: never refused, and nothing but strings taken.
        #expect(try CNIConfig(try JSONValue(parsing: text), lenient: true).aliases.allSatisfy { $0 == "web" })
        let fine = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"aliases":{"n":["web","www"],"other":"x"}}}"#))
        #expect(fine.aliases == ["web", "www"])
    }

    @Test("lenient (DEL) parsing ignores malformed optional keys but not a missing name or version")
    func lenient() throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","ipMasq":false,"mtu":"x","dnsEnabled":"yes","runtimeConfig":{"portMappings":[{"hostPort":"x"}]}}"#
        let config = try CNIConfig(try JSONValue(parsing: text), lenient: true)
        #expect(config.mtu == nil)
        #expect(config.dnsEnabled == false)
        #expect(config.portMappings.isEmpty)
        // Strict (ADD) parsing still refuses the malformed flag, naming it.
        let strict = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","dnsEnabled":"yes"}"#)) }
        #expect(strict.code == .invalidConfig && strict.message.contains("dnsEnabled"), "\(strict)")
        #expect(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0"}"#), lenient: true) }
    }

    @Test("a malformed stateDir or ipam is code 7 in lenient (DEL) parsing too: taken for absent, DEL would tear down in the default state or skip the IPAM plugin's DEL",
          arguments: [#""stateDir":["/srv/berth"]"#, #""stateDir":7"#, #""ipam":"host-local""#, #""ipam":["host-local"]"#])
    func teardownKeys(member: String) throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","# + member + "}"
        for lenient in [false, true] {
            let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: text), lenient: lenient) }
            #expect(error.code == .invalidConfig, "\(error)")
            #expect(error.message.contains(member.hasPrefix(#""stateDir""#) ? "\"stateDir\"" : "\"ipam\""), "\(error)")
        }
    }

    @Test("port mapping keys match in any case; two that differ only in case are code 7 (Go lets the later win, whatever its case)")
    func keyCase() throws {
        let value = try JSONValue(parsing: #"{"HostPort":8080,"containerport":80,"PROTOCOL":"UDP","hostip":"192.0.2.1"}"#)
        let mapping = try #require(try CNIPortMapping.parse(value, path: "p"))
        #expect(mapping == CNIPortMapping(hostPort: 8080, containerPort: 80, proto: .udp, hostIP: IPAddress("192.0.2.1")))
        for twice in [#"{"HOSTPORT":1,"hostPort":8080,"containerPort":80}"#, #"{"hostPort":8080,"HostPort":1,"containerPort":80}"#,
                      #"{"hostPort":8080,"containerPort":80,"protocol":"tcp","Protocol":"udp"}"#] {
            let error = try #require(throws: CNIError.self) { try CNIPortMapping.parse(try JSONValue(parsing: twice), path: "p") }
            #expect(error.code == .invalidConfig && error.message.contains("more than once"), "\(error)")
        }
    }

    @Test("a string holding U+0000 is code 7 naming its key, also in lenient (DEL) parsing, where it would be taken for absent",
          arguments: [#""stateDir":"/var/lib/berth\u0000x""#, #""logFile":"/tmp/log\u0000x""#, #""ipam":{"type":"host-local\u0000x"}"#])
    func nul(member: String) throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","# + member + "}"
        for lenient in [false, true] {
            let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: text), lenient: lenient) }
            #expect(error.code == .invalidConfig, "\(error)")
            #expect(error.message.contains("U+0000"), "\(error)")
        }
        let name = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n\u0000x"}"#)) }
        #expect(name.code == .invalidConfig && name.message.contains("U+0000"), "\(name)")
    }

    @Test("runtimeConfig.ipRanges with Berth's own IPAM gives each family's subnet and gateway, over the configuration's keys; with a delegated plugin it is the plugin's")
    func ipRanges() throws {
        let ranges = #""runtimeConfig":{"ipRanges":[[{"subnet":"10.99.0.0/24","gateway":"10.99.0.1"}],[{"subnet":"fd00:99::/64"}]]}"#
        let own = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","subnet":"10.88.0.0/16","# + ranges + "}"))
        #expect(own.subnet == CIDR("10.99.0.0/24") && own.gateway == IPv4Address("10.99.0.1"))
        #expect(own.ipv6Subnet == CIDR("fd00:99::/64") && own.ipv6Gateway == nil && own.wantsIPv6)
        let delegated = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"},"# + ranges + "}"))
        #expect(delegated.subnet == nil && delegated.ipv6Subnet == nil)
        // DEL's lenient reading does not need them.
        _ = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"ipRanges":[[{"subnet":"10.99.0.0/24","rangeStart":"10.99.0.9"}]]}}"#), lenient: true)
    }

    @Test("runtimeConfig.ipRanges Berth's own IPAM cannot follow is code 2 naming the key and host-local", arguments: [
        (#"[[{"subnet":"10.99.0.0/24","rangeStart":"10.99.0.10"}]]"#, "ipRanges[0][0].rangeStart"),
        (#"[[{"subnet":"10.99.0.0/24","rangeEnd":"10.99.0.20"}]]"#, "ipRanges[0][0].rangeEnd"),
        (#"[[{"subnet":"10.99.0.0/24"},{"subnet":"10.98.0.0/24"}]]"#, "ipRanges[0]\" has 2 ranges"),
        (#"[[{"subnet":"10.99.0.0/24"}],[{"subnet":"10.98.0.0/24"}]]"#, "second IPv4 range set"),
    ])
    func ipRangesRefused(ranges: String, words: String) throws {
        let text = #"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"ipRanges":"# + ranges + "}}"
        let error = try #require(throws: CNIError.self) { try CNIConfig(try JSONValue(parsing: text)) }
        #expect(error.code == .unsupportedField, "\(error)")
        #expect(error.message.contains(words), "\(error.message)")
        #expect(error.details.contains("host-local"), "\(error.details)")
    }

    @Test("an empty hostIP means every family; 0.0.0.0 and :: keep their family, as portmap reads them",
          arguments: [("", nil as String?, "8080:80/tcp"), ("0.0.0.0", "0.0.0.0", "0.0.0.0:8080:80/tcp"),
                      ("::", "::", "[::]:8080:80/tcp")])
    func unspecifiedHostIP(text: String, address: String?, spec: String) throws {
        let value = try JSONValue(parsing: #"{"hostPort":8080,"containerPort":80,"hostIP":""# + text + #""}"#)
        let mapping = try #require(try CNIPortMapping.parse(value, path: "p"))
        #expect(mapping.hostIP == address.flatMap { IPAddress($0) })
        #expect(try mapping.portSpec().description == spec)
    }

    @Test("main plugin or chained: a main plugin's keys say main; a bare configuration is told by prevResult listing Berth's host veth", arguments: [
        (#""ipam":{"type":"host-local"}"#, true), (#""subnet":"10.88.0.0/24""#, true), (#""gateway":"10.88.0.1""#, true), (#""bridge":"br0""#, true),
        (#""mtu":1400"#, true), (#""ipv6":true"#, true), (#""ipv6Subnet":"fd00:88::/64""#, true), (#""ipv4":false,"ipv6":true"#, true),
        (#""internal":true"#, true), (#""dnsEnabled":true"#, true), (#""ipv4":true"#, false), (#""internal":false,"dnsEnabled":false"#, false),
        (#""capabilities":{"portMappings":true}"#, false),
    ])
    func mainConfiguration(keys: String, main: Bool) throws {
        let config = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","type":"berth-cni",\#(keys)}"#))
        #expect(config.isMainConfiguration == main)
    }

    @Test("Berth's host veth in a result: vb and 13 hex digits without a sandbox; the reference bridge's veth, a container's interface or a longer name are not")
    func berthHostVeth() throws {
        func lists(_ interfaces: String) throws -> Bool {
            CNIRequest.listsBerthHostVeth(try CNIResult.parse(try JSONValue(parsing: #"{"interfaces":[\#(interfaces)]}"#), path: "prevResult"))
        }
        #expect(try lists(#"{"name":"br-1"},{"name":"vb0123456789abc"},{"name":"eth0","sandbox":"/run/netns/x"}"#))
        #expect(try lists(#"{"name":"vb0123456789abc","sandbox":""}"#))
        #expect(try !lists(#"{"name":"cni0"},{"name":"veth1234abcd"},{"name":"eth0","sandbox":"/run/netns/x"}"#))
        #expect(try !lists(#"{"name":"vb0123456789abc","sandbox":"/run/netns/x"}"#))
        #expect(try !lists(#"{"name":"vb0123456789ABC"}"#))
        #expect(try !lists(#"{"name":"vb0123456789ab"}"#))
        // The shape is the one the names Berth makes have.
        for id in ["c1", "a-much-longer-endpoint-id", ""] {
            let made = try KernelNames.hostVeth(forEndpoint: id, instance: "0dd1ce00").rawValue
            #expect(try lists(#"{"name":"\#(made)"}"#), "\(made)")
        }
    }

    @Test("dns counts only when it sets something, as in the reference bridge plugin", arguments: [
        (#"{}"#, false), (#"{"nameservers":[]}"#, false), (#"{"nameservers":[],"search":[],"options":[],"domain":""}"#, false),
        (#"{"nameservers":["10.0.0.53"]}"#, true), (#"{"search":["example"]}"#, true), (#"{"options":["ndots:2"]}"#, true), (#"{"domain":"cluster.local"}"#, true),
    ])
    func dnsIfSet(dns: String, set: Bool) throws {
        let config = try CNIConfig(try JSONValue(parsing: #"{"cniVersion":"1.0.0","name":"n","dns":\#(dns)}"#))
        #expect((config.dnsIfSet != nil) == set)
        #expect(config.dnsIfSet != .some(.null))
    }
}
