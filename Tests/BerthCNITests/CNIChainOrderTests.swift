import BerthCore
@testable import BerthCNI
import Testing

/// A main plugin's configuration (subnet, ipam, bridge, …) given a prevResult: the plugin
/// list is out of order, and ADD says so before touching anything, rather than take it for
/// a chained berth-cni that publishes at most and leaves the container without its network.
@Suite("berth-cni: a main configuration behind another plugin")
struct CNIChainOrderTests {
    private static let previous = #""prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/c1"}],"ips":[{"address":"10.88.0.5/16","interface":0}]}"#

    @Test("ADD is refused with code 7, naming the main plugin's keys and the fix", arguments: [
        (#""subnet":"10.89.0.0/24""#, #"berth-cni with "subnet" is a main plugin"#),
        (#""ipam":{"type":"host-local"},"bridge":"br9""#, #"berth-cni with "ipam", "bridge" is a main plugin"#),
        (#""dnsEnabled":true"#, #"berth-cni with "dnsEnabled" is a main plugin"#),
    ])
    func refused(keys: String, message: String) throws {
        let request = try CNIDualStackTests.request(#"{"cniVersion":"1.0.0","name":"n","type":"berth-cni",\#(keys),\#(Self.previous)}"#)
        let error = #expect(throws: CNIError.self) { try request.add() }
        #expect(error?.code == .invalidConfig, "\(String(describing: error))")
        #expect(error?.message.hasPrefix(message + ", but it got a prevResult: another plugin ran before it") == true, "\(String(describing: error))")
        #expect(error?.details.contains("put it first in the plugin list") == true)
    }

    @Test("a bare or capabilities-only configuration behind another plugin is chained: no ports, prevResult printed as is")
    func chained() throws {
        let request = try CNIDualStackTests.request(#"{"cniVersion":"1.0.0","name":"n","type":"berth-cni","dnsEnabled":false,\#(Self.previous)}"#)
        #expect(try request.add() == (try JSONValue(parsing: #"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/c1"}],"ips":[{"address":"10.88.0.5/16","interface":0}]}"#)))
    }
}
