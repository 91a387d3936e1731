import BerthCore
import BerthFakes
@testable import BerthNetwork
import Testing

/// Integers read from the state are checked, never trusted: a database changed outside
/// Berth gives an error naming the record, not a trap or a silently wrapped value.
@Suite("state validation on read (fake kernel)")
struct StateValidationTests {
    /// Runs raw SQL on the host's state, with CHECK constraints off (as a hand edit might).
    private func tamper(_ host: FakeHost, _ sql: String) throws {
        try host.manager.store.write { tx throws(BerthError) in
            let db = try tx.db()
            try db.script("PRAGMA ignore_check_constraints = ON")
            _ = try db.execute(sql)
            try db.script("PRAGMA ignore_check_constraints = OFF")
        }
    }

    @Test("a network's MTU out of range is unreadable state naming the network, for every operation that reads it",
          arguments: [0, -1, 67, 65536, 1 << 40])
    func badMTU(_ mtu: Int) throws {
        let host = try FakeHost()
        try host.network()
        try tamper(host, "UPDATE networks SET mtu = \(mtu) WHERE name = 'web'")
        let listed = refusal { _ = try host.manager.networks() }
        expect(listed, .state, ["network \"web\" has an unreadable MTU \"\(mtu)\""])
        let attached = refusal { try host.attach("ctr1", id: "e1") }
        expect(attached, .state, ["unreadable MTU"])
        #expect(attached?.operation == .attach)
    }

    @Test("a record built in code with a bad MTU is refused when the kernel needs it, not trapped on")
    func badMTUInARecord() throws {
        let host = try FakeHost()
        let record = NetworkRecord(name: "odd", id: RecordID.generate(), bridge: try InterfaceName("brodd"), subnet: try CIDR(parsing: "10.91.0.0/24"),
                                   gateway: IPv4Address(10, 91, 0, 1), mtu: -1, isInternal: false, created: 0)
        let error = refusal { _ = try host.manager.ensureKernel(of: record, instance: StateInstance(id: FakeHost.instance)) }
        expect(error, .state, ["network odd has MTU -1 in the state, outside 68–65535"])
        #expect(host.kernel.link("brodd") == nil)
    }

    @Test("a published port or an address out of range is unreadable state naming the endpoint")
    func badPortAndAddress() throws {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        try tamper(host, "UPDATE port_mappings SET host_port = 70000")
        expect(refusal { _ = try host.manager.endpoint("e1") }, .state, ["endpoint e1 has an unreadable port mapping tcp 0.0.0.0:70000->80"])
        try tamper(host, "UPDATE port_mappings SET host_port = 8080")
        try tamper(host, "UPDATE endpoints SET ipv4 = 4294967296")
        expect(refusal { _ = try host.manager.endpoints() }, .state, ["endpoint e1 has an unreadable address \"4294967296\""])
    }

    @Test("a publication's address out of range is unreadable state naming it, as an endpoint's is, not wrapped to another address")
    func badPublicationAddress() throws {
        let host = try FakeHost()
        host.kernel.addNamespace("ext1", loopbackUp: true)
        try host.manager.publish(PublicationOptions(id: "pub1", group: "ext", address: IPv4Address(10, 66, 0, 2), namespace: .name("ext1"),
                                                    ports: [try PortSpec(parsing: "8080:80")]))
        // 2^32 + 10.66.0.2 would read back as 10.66.0.2 if wrapped.
        try tamper(host, "UPDATE publications SET ipv4 = 4294967296 + 172097538")
        expect(refusal { _ = try host.manager.publications() }, .state, ["publication pub1 has an unreadable address \"4467064834\""])
    }
}
