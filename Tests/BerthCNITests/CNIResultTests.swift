import BerthCore
@testable import BerthCNI
import Testing

@Suite("CNI results and errors: the exact JSON per version")
struct CNIResultTests {
    let result = CNIResult(
        interfaces: [.init(name: "br-1a2b", mac: "6a:f4:b2:6f:15:1f"), .init(name: "vb0123456789abc", mac: "aa:bb:cc:dd:ee:ff"),
                     .init(name: "eth0", mac: "02:42:0a:4d:00:02", sandbox: "/run/netns/c1")],
        ips: [.init(address: CIDR("10.77.0.2/24")!, gateway: IPAddress("10.77.0.1"), interface: 2)],
        routes: [.init(destination: CIDR("0.0.0.0/0")!, gateway: IPAddress("10.77.0.1"))])

    @Test("0.3.0, 0.3.1 and 0.4.0 carry ips[].version; 1.0.0 and 1.1.0 do not", arguments: CNIVersion.supported)
    func rendering(version: CNIVersion) {
        let ip = version < CNIVersion(1, 0, 0)
            ? #"{"version":"4","interface":2,"address":"10.77.0.2/24","gateway":"10.77.0.1"}"#
            : #"{"interface":2,"address":"10.77.0.2/24","gateway":"10.77.0.1"}"#
        #expect(result.rendered(version: version).render() == """
            {"cniVersion":"\(version)","interfaces":[{"name":"br-1a2b","mac":"6a:f4:b2:6f:15:1f"},\
            {"name":"vb0123456789abc","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","mac":"02:42:0a:4d:00:02","sandbox":"/run/netns/c1"}],\
            "ips":[\(ip)],"routes":[{"dst":"0.0.0.0/0","gw":"10.77.0.1"}],"dns":{}}
            """)
    }

    @Test("a rendered result parses back to itself in every version", arguments: CNIVersion.supported)
    func roundTrip(version: CNIVersion) throws {
        #expect(try CNIResult.parse(result.rendered(version: version), path: "r") == result)
    }

    @Test("host-local's 0.3.1-style result (no interfaces, ips[].version) parses")
    func ipamResult() throws {
        let text = #"{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.22.0.5/16","gateway":"10.22.0.1"}],"dns":{}}"#
        let parsed = try CNIResult.parse(try JSONValue(parsing: text), path: "IPAM result")
        #expect(parsed.ips == [.init(address: CIDR("10.22.0.5/16")!, gateway: IPAddress("10.22.0.1"))])
        #expect(parsed.containerAddress(ifname: "eth0")?.ip.address == CIDR("10.22.0.5/16"))
    }

    @Test("podman's stored result sample parses (the fake plugin's, as libcni cached it)")
    func podmanResult() throws {
        let parsed = try CNIResult.parse(try Fixture.json("podman-cni-ADD.result.json"), path: "prevResult")
        #expect(parsed.containerAddress(ifname: "eth0")?.interface?.sandbox == "/run/netns/netns-02ab6dc7-357b-9bd4-f709-9f5708e00bea")
    }

    @Test("malformed results are refused naming the field", arguments: [
        (#"{"ips":[{"address":"10.0.0.1"}]}"#, "ips[0].address"),
        (#"{"ips":[{"address":"10.0.0.1/24","interface":3}]}"#, "ips[0].interface"),
        (#"{"interfaces":[{"mac":"x"}]}"#, "interfaces[0].name"),
        (#"{"routes":[{"gw":"10.0.0.1"}]}"#, "routes[0]"),
        (#"{"interfaces":{}}"#, "prevResult.interfaces"),
    ])
    func refusals(text: String, words: String) throws {
        let error = try #require(throws: CNIError.self) { try CNIResult.parse(try JSONValue(parsing: text), path: "prevResult") }
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains(words), "\(error.message)")
    }

    @Test("an error object: cniVersion, code, msg, then details only when there are some")
    func errorObject() {
        #expect(CNIError(.invalidEnvironment, "CNI_IFNAME is not set", details: "name it").rendered(version: "0.4.0").render()
            == #"{"cniVersion":"0.4.0","code":4,"msg":"CNI_IFNAME is not set","details":"name it"}"#)
        #expect(CNIError(.conflict, "port taken").rendered(version: "1.1.0").render() == #"{"cniVersion":"1.1.0","code":100,"msg":"port taken"}"#)
    }

    @Test("library errors map to stable codes; remedies are worded for CNI users", arguments: [
        (BerthError.Code.invalidArgument, 7), (.notFound, 101), (.alreadyExists, 102), (.conflict, 100), (.permissionDenied, 103),
        (.unsupported, 104), (.kernel, 105), (.state, 106), (.system, 107), (.internalError, 108),
    ])
    func errorCodes(code: BerthError.Code, expected: Int) {
        #expect(CNIError(BerthError(code, "x")).code.rawValue == expected)
    }

    @Test("a state-lock timeout is code 11 (try again); remedy and cause become details")
    func details() {
        let timeout = BerthError(.conflict, "timed out after 30 seconds waiting for the state lock /var/lib/berth/lock")
        #expect(CNIError(timeout).code == .tryAgainLater)
        let clash = BerthError(.conflict, "port tcp 0.0.0.0:8080 is already published by endpoint abc-eth0",
                               object: .port("tcp 0.0.0.0:8080"), parameter: "hostPort", remedy: .chooseAnother(parameter: "hostPort"))
        #expect(CNIError(clash).details == "choose another hostPort in runtimeConfig.portMappings")
        #expect(CNIError(BerthError(.alreadyExists, "x", remedy: .chooseAnother(parameter: "interfaceName"))).details == "choose another CNI_IFNAME")
    }

    @Test("without a remedy, the library's hint and the key at fault become details; a remedy naming the key is not repeated")
    func hintAndParameter() {
        let mac = BerthError.invalid("MAC address 01:00:5e:00:00:01 cannot be given to an interface",
                                     hint: "use a unicast address such as 02:42:0a:58:00:02", parameter: "mac")
        #expect(CNIError(mac).details == "use a unicast address such as 02:42:0a:58:00:02; set by MAC (runtimeConfig.mac or MAC in CNI_ARGS)")
        let full = BerthError(.conflict, "no free address left", hint: "detach an endpoint", object: .network("k8s"), parameter: "network",
                              remedy: .detachEndpoints)
        #expect(CNIError(full).details == "DEL the attachments of this network first; set by network \"name\"")
        let cause = BerthError(.kernel, "cannot create veth", cause: BerthError(.permissionDenied, "EPERM"))
        #expect(CNIError(cause).details == "cause: EPERM")
    }
}
