@testable import berth
import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// A network whose create or removal did not finish (`NetworkRecord.Phase`) as `network ls`
/// and `network inspect` show it: its phase in STATUS (`"status"` in JSON), and on stderr
/// what finishes it. Through the built binary on a state written here: no kernel is read
/// or changed (ls and inspect only read the state).
@Suite("berth CLI: network status")
struct NetworkStatusCLITests {
    /// A state directory holding network `web`, ready, and `old`, in `phase`.
    private func withState(_ phase: NetworkRecord.Phase, _ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "berth-status-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(directory: directory)
        try store.write { tx throws(BerthError) in
            try tx.setInstance(StateInstance(id: "f4ce0001", legacy: false))
            try tx.insertNetwork(NetworkRecord(name: "web", id: "a1", bridge: try InterfaceName("brweb"), subnet: try CIDR(parsing: "10.88.0.0/24"),
                                               gateway: try IPv4Address(parsing: "10.88.0.1"), mtu: 1500, isInternal: false, created: 1))
            try tx.insertNetwork(NetworkRecord(name: "old", id: "b2", bridge: try InterfaceName("brold"), subnet: try CIDR(parsing: "10.89.0.0/24"),
                                               gateway: try IPv4Address(parsing: "10.89.0.1"), mtu: 1500, isInternal: false, created: 1, phase: phase))
        }
        try body(directory)
    }

    @Test("network inspect's text keeps its values in one column, 'IPv6 gateway' and all")
    func inspectColumn() throws {
        var network = NetworkRecord(name: "web", id: "a1", bridge: try InterfaceName("brweb"), subnet: try CIDR(parsing: "10.88.0.0/24"),
                                    gateway: try IPv4Address(parsing: "10.88.0.1"), mtu: 1500, isInternal: false, created: 1)
        let v4 = NetworkCommand.Inspect.lines(network, endpointCount: 0)
        #expect(v4.first == "Name:        web" && v4.contains("Gateway:     10.88.0.1"), "\(v4)")
        network.ipv6Subnet = try CIDR(parsing: "fd00:9::/64")
        network.ipv6Gateway = try IPv6Address(parsing: "fd00:9::1")
        let dual = NetworkCommand.Inspect.lines(network, endpointCount: 0)
        #expect(dual.contains("IPv6 gateway: fd00:9::1") && dual.contains("IPv6 subnet:  fd00:9::/64") && dual.first == "Name:         web", "\(dual)")
        // Where each value starts: after the key, its ':' and the spaces.
        let columns = Set(dual.map { line in line.split(separator: ":", maxSplits: 1).first.map { $0.count + 1 } ?? 0 }
            .enumerated().map { index, keyEnd in keyEnd + dual[index].dropFirst(keyEnd).prefix { $0 == " " }.count })
        #expect(columns == [14], "\(dual)")
    }

    @Test("STATUS is the phase: ready, creating, removing")
    func rows() throws {
        let record = NetworkRecord(name: "web", id: "a1", bridge: try InterfaceName("brweb"), subnet: try CIDR(parsing: "10.88.0.0/24"),
                                   gateway: try IPv4Address(parsing: "10.88.0.1"), mtu: 1500, isInternal: false, created: 1)
        #expect(NetworkCommand.List.header.last == "STATUS")
        for phase in [NetworkRecord.Phase.ready, .creating, .removing] {
            var network = record
            network.phase = phase
            #expect(NetworkCommand.List.rows([network], counts: [:]) == [["web", "brweb", "10.88.0.0/24", "10.88.0.1", "0", "no", phase.rawValue]])
        }
    }

    @Test("the hint names what finishes an unfinished network, and nothing for a ready one")
    func hint() {
        #expect(CLIHints.unfinished(network: "web", phase: .ready) == nil)
        #expect(CLIHints.unfinished(network: "web", phase: .removing)
            == "network web is not ready: its removal was interrupted; nothing attaches to it (run 'berth gc' or 'berth network rm web' to finish it, "
            + "which removes the network, then 'berth network create' it again if it is still wanted)")
        #expect(CLIHints.unfinished(network: "web", phase: .creating)?.hasPrefix("network web is not ready: its create was interrupted;") == true)
    }

    @Test("network ls shows the phase in STATUS and --json's status, and says on stderr what finishes the network",
          arguments: [NetworkRecord.Phase.creating, .removing])
    func list(phase: NetworkRecord.Phase) throws {
        try withState(phase) { directory in
            let table = Command.run([Command.berthBinary, "network", "ls", "--state-dir", directory])
            #expect(table.status == 0, "\(table)")
            let lines = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(lines == [["NAME", "BRIDGE", "SUBNET", "GATEWAY", "ENDPOINTS", "INTERNAL", "STATUS"],
                              ["old", "brold", "10.89.0.0/24", "10.89.0.1", "0", "no", phase.rawValue],
                              ["web", "brweb", "10.88.0.0/24", "10.88.0.1", "0", "no", "ready"]], "\(table)")
            #expect(table.stderr == "berth: " + (CLIHints.unfinished(network: "old", phase: phase) ?? "") + "\n", "\(table)")

            let json = Command.run([Command.berthBinary, "network", "ls", "--json", "--state-dir", directory])
            let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json)")
            #expect(objects.map { $0["status"] as? String } == [phase.rawValue, "ready"])
        }
    }

    @Test("network inspect shows the phase as Status and in --json, and what finishes it on stderr; a ready one says nothing on stderr")
    func inspect() throws {
        try withState(.removing) { directory in
            let old = Command.run([Command.berthBinary, "network", "inspect", "old", "--state-dir", directory])
            #expect(old.status == 0 && old.stdout.contains("\nStatus:      removing\n"), "\(old)")
            #expect(old.stderr.contains("run 'berth gc' or 'berth network rm old' to finish it"), "\(old)")
            let json = Command.run([Command.berthBinary, "network", "inspect", "old", "--json", "--state-dir", directory])
            let object = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first, "\(json)")
            #expect(object["status"] as? String == "removing")
            #expect(json.stderr == "berth: " + (CLIHints.unfinished(network: "old", phase: .removing) ?? "") + "\n", "\(json)")
            let web = Command.run([Command.berthBinary, "network", "inspect", "web", "--state-dir", directory])
            #expect(web.status == 0 && web.stdout.contains("\nStatus:      ready\n") && web.stderr.isEmpty, "\(web)")
        }
    }
}
