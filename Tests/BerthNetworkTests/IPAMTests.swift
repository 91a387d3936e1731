import BerthCore
@testable import BerthNetwork
import Testing

@Suite("IPAM")
struct IPAMTests {
    private func withNetwork(_ subnet: String, gateway: String? = nil, _ body: (StateStore) throws -> Void) throws {
        try withStore { store, _ throws in
            var network = try Fixture.network(subnet: subnet)
            if let gateway { network.gateway = ip(gateway) }
            try store.write { tx throws(BerthError) in try tx.insertNetwork(network) }
            try body(store)
        }
    }

    private func allocate(_ store: StateStore, requested: IPv4Address? = nil) throws(BerthError) -> IPv4Address {
        try store.write { tx throws(BerthError) in
            guard let address = try IPAM.allocate(tx, network: try tx.requireNetwork(named: "web"), requested: requested) else {
                throw BerthError(.internalError, "network web has no IPv4")
            }
            return address
        }
    }

    @Test("hands out the lowest free address, skipping network, gateway and broadcast, then reports exhaustion")
    func lowestFreeUntilExhausted() throws {
        try withNetwork("10.1.2.0/29") { store throws in
            var got: [String] = []
            for n in 0..<5 { got.append(try Fixture.attach(store, id: "e\(n)").description) }
            #expect(got == ["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"])
            let full = #expect(throws: BerthError.self) { try Fixture.attach(store, id: "e5") }
            #expect(full?.code == .conflict)
            #expect(full?.message == "no free address left in subnet 10.1.2.0/29 of network \"web\": all 5 usable addresses are leased")
        }
    }

    @Test("a gateway in the middle of the subnet is skipped, and a freed address is reused first")
    func gatewayInMiddleAndReuse() throws {
        try withNetwork("10.1.2.0/28", gateway: "10.1.2.3") { store throws in
            var got: [IPv4Address] = []
            for n in 0..<4 { got.append(try Fixture.attach(store, id: "e\(n)")) }
            #expect(got.map(\.description) == ["10.1.2.1", "10.1.2.2", "10.1.2.4", "10.1.2.5"])
            _ = try store.write { tx throws(BerthError) in try tx.deleteEndpoint(id: "e1") }
            #expect(try allocate(store) == ip("10.1.2.2"))
            #expect(try Fixture.attach(store, id: "e9").description == "10.1.2.2")
            #expect(try allocate(store) == ip("10.1.2.6"))
        }
    }

    @Test("a requested address is granted when usable and free")
    func staticGranted() throws {
        try withNetwork("10.1.2.0/28") { store throws in
            #expect(try Fixture.attach(store, id: "s1", requested: ip("10.1.2.9")) == ip("10.1.2.9"))
            // Dynamic allocation still starts at the bottom and steps over the static lease.
            #expect(try Fixture.attach(store, id: "d1") == ip("10.1.2.2"))
        }
    }

    @Test("a requested address is refused, naming address, subnet and holder", arguments: [
        ("10.1.3.5", BerthError.Code.invalidArgument, "address 10.1.3.5 is not inside subnet 10.1.2.0/28 of network \"web\""),
        ("10.1.2.0", .invalidArgument, "address 10.1.2.0 is the network address of subnet 10.1.2.0/28"),
        ("10.1.2.15", .invalidArgument, "address 10.1.2.15 is the broadcast address of subnet 10.1.2.0/28"),
        ("10.1.2.1", .conflict, "address 10.1.2.1 is the gateway of network \"web\" (subnet 10.1.2.0/28)"),
        ("10.1.2.7", .conflict, "address 10.1.2.7 in subnet 10.1.2.0/28 of network \"web\" is already leased to endpoint holder7"),
    ])
    func staticRefused(address: String, code: BerthError.Code, message: String) throws {
        try withNetwork("10.1.2.0/28") { store throws in
            try Fixture.attach(store, id: "holder7", requested: ip("10.1.2.7"))
            let error = #expect(throws: BerthError.self) { try allocate(store, requested: ip(address)) }
            #expect(error?.code == code)
            #expect(error?.message == message)
        }
    }

    @Test("network checks: IPv4, host bits clear, room for an endpoint, gateway a host address")
    func validate() throws {
        let subnet = try CIDR(parsing: "10.9.0.0/24")
        try IPAM.validate(subnet: subnet, gateway: ip("10.9.0.1"))
        try IPAM.validate(subnet: subnet, gateway: ip("10.9.0.254"))
        #expect(try IPAM.defaultGateway(for: subnet) == ip("10.9.0.1"))
        let cases: [(String, String, String)] = [
            ("10.9.0.5/24", "10.9.0.1", "subnet 10.9.0.5/24 has host bits set"),
            ("10.9.0.0/31", "10.9.0.0", "subnet 10.9.0.0/31 is too small for a network"),
            ("fd00::/64", "10.9.0.1", "subnet fd00::/64 is not IPv4"),
            ("10.9.0.0/24", "10.9.1.1", "gateway 10.9.1.1 is not inside subnet 10.9.0.0/24"),
            ("10.9.0.0/24", "10.9.0.0", "gateway 10.9.0.0 is the network address of subnet 10.9.0.0/24"),
            ("10.9.0.0/24", "10.9.0.255", "gateway 10.9.0.255 is the broadcast address of subnet 10.9.0.0/24"),
        ]
        for (cidr, gateway, message) in cases {
            let error = #expect(throws: BerthError.self) { try IPAM.validate(subnet: try CIDR(parsing: cidr), gateway: ip(gateway)) }
            #expect(error?.message == message)
        }
    }
}
