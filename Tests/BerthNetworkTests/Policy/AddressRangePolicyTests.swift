import BerthCore
import BerthFakes
import BerthNetwork
import Testing

/// A network's address range and auxiliary addresses (Docker's `--ip-range`,
/// `--aux-address`) against the fake kernel: leases only from the range, never an
/// auxiliary address, an address asked for anywhere in the subnet but not an auxiliary one,
/// and a create that refuses what cannot work with nothing made.
@Suite("address range policy (fake kernel)")
struct AddressRangePolicyTests {
    private func create(_ host: FakeHost, subnet: String? = "10.70.0.0/24", range: String? = nil,
                        auxiliary: [String: String] = [:], ipv6Subnet: String? = nil, ipv6Range: String? = nil) throws -> NetworkRecord {
        try host.manager.createNetwork(NetworkOptions(
            name: "web", subnet: try subnet.map { try CIDR(parsing: $0) }, bridge: try InterfaceName("brweb"),
            ipv6Subnet: try ipv6Subnet.map { try CIDR(parsing: $0) },
            ipRange: try range.map { try AddressRange(parsing: $0) }, ipv6Range: try ipv6Range.map { try AddressRange(parsing: $0) },
            auxiliaryAddresses: try auxiliary.mapValues { try IPAddress(parsing: $0) }))
    }

    @Test("leases come from the range only, lowest first; an exhausted range is refused naming it; an address asked for outside it is granted")
    func leasesFromTheRange() throws {
        let host = try FakeHost()
        let network = try create(host, range: "10.70.0.128/30")
        #expect(network.ipRange?.description == "10.70.0.128/30")
        #expect(try host.manager.network(named: "web").ipRange == network.ipRange)
        let got = try (0..<4).map { n in try host.attach("ctr\(n)", id: "e\(n)").address?.description }
        #expect(got == ["10.70.0.128", "10.70.0.129", "10.70.0.130", "10.70.0.131"])
        let full = refusal { try host.attach("ctr4", id: "e4") }
        expect(full, .conflict, ["no free address left in range 10.70.0.128/30 of network \"web\" (subnet 10.70.0.0/24): all 4 usable addresses of the range are leased"])
        #expect(full?.hint?.contains("outside the range") == true, "\(String(describing: full))")
        let blockers = try host.manager.attachBlockers(network: "web")
        #expect(blockers.map(\.message) == ["no free address left in range 10.70.0.128/30 of network \"web\" (subnet 10.70.0.0/24): all 4 usable addresses of the range are leased"])
        // Docker's rule: an address asked for may lie anywhere in the subnet.
        #expect(try host.attach("ctr5", id: "s5", address: "10.70.0.5").address?.description == "10.70.0.5")
        #expect(try host.attach("ctr6", id: "s6", address: "10.70.0.200").address?.description == "10.70.0.200")
        // A freed address of the range is leased again.
        try host.manager.detach(id: "e1")
        #expect(try host.attach("ctr7", id: "e7").address?.description == "10.70.0.129")
    }

    @Test("a range as FIRST-LAST; auxiliary addresses are skipped, counted apart when it runs out, and refused when asked for, in the range or not")
    func auxiliaryAddressesAreNeverLeased() throws {
        let host = try FakeHost()
        let network = try create(host, range: "10.70.0.8-10.70.0.12", auxiliary: ["router": "10.70.0.9", "printer": "10.70.0.200"])
        #expect(network.ipRange?.description == "10.70.0.8-10.70.0.12")
        #expect(try host.manager.network(named: "web").auxiliaryAddresses == ["router": .v4(ip("10.70.0.9")), "printer": .v4(ip("10.70.0.200"))])
        let got = try (0..<4).map { n in try host.attach("ctr\(n)", id: "e\(n)").address?.description }
        #expect(got == ["10.70.0.8", "10.70.0.10", "10.70.0.11", "10.70.0.12"])
        expect(refusal { try host.attach("ctr4", id: "e4") }, .conflict,
               ["no free address left in range 10.70.0.8-10.70.0.12 of network \"web\" (subnet 10.70.0.0/24): all 4 usable addresses of the range are leased (1 more are auxiliary addresses)"])
        for (name, address) in [("router", "10.70.0.9"), ("printer", "10.70.0.200")] {
            expect(refusal { try host.attach("ctrx", id: "x", address: address) }, .conflict,
                   ["address \(address) is auxiliary address \(name) of network \"web\", which no endpoint may have"],
                   parameter: "address", remedy: .chooseAnother(parameter: "address"))
        }
        #expect(try host.recorded().count == 4)
    }

    @Test("on an adopted LAN bridge, the range confines the leases, skipping the host's address and the auxiliary ones, each counted apart")
    func adoptedBridge() throws {
        let host = try FakeHost()
        host.kernel.addLink("lanbr", kind: "bridge", up: true, mtu: 1500)
        try host.kernel.addAddress("192.168.1.10/24", to: "lanbr")
        try host.kernel.addAddress("192.168.1.2/24", to: "lanbr")
        let network = try host.manager.createNetwork(NetworkOptions(
            name: "lan", subnet: try CIDR(parsing: "192.168.1.0/24"), bridge: try InterfaceName("lanbr"), usesExistingBridge: true,
            ipRange: try AddressRange(parsing: "192.168.1.8/29"), auxiliaryAddresses: ["router": .v4(ip("192.168.1.9"))]))
        #expect(network.gateway?.description == "192.168.1.10" && network.ipRange?.description == "192.168.1.8/29")
        let got = try (0..<6).map { n in try host.attach("ctr\(n)", to: "lan", id: "e\(n)").address?.description }
        #expect(got == ["192.168.1.8", "192.168.1.11", "192.168.1.12", "192.168.1.13", "192.168.1.14", "192.168.1.15"])
        // The host's other address lies outside the range: it is not counted against it.
        expect(refusal { try host.attach("ctr6", to: "lan", id: "e6") }, .conflict,
               ["no free address left in range 192.168.1.8/29 of network \"lan\" (subnet 192.168.1.0/24): all 6 usable addresses of the range are leased (1 more are auxiliary addresses)"])
        #expect(try host.attach("ctr7", to: "lan", id: "s7", address: "192.168.1.100").address?.description == "192.168.1.100")
    }

    @Test("without a range, auxiliary addresses are skipped in the whole subnet")
    func auxiliaryWithoutRange() throws {
        let host = try FakeHost()
        _ = try create(host, subnet: "10.70.0.0/29", auxiliary: ["a": "10.70.0.2", "b": "10.70.0.4"])
        let got = try (0..<3).map { n in try host.attach("ctr\(n)", id: "e\(n)").address?.description }
        #expect(got == ["10.70.0.3", "10.70.0.5", "10.70.0.6"])
        expect(refusal { try host.attach("ctr3", id: "e3") }, .conflict,
               ["no free address left in subnet 10.70.0.0/29 of network \"web\": all 3 usable addresses are leased (2 more are auxiliary addresses)"])
    }

    @Test("an IPv6 range and IPv6 auxiliary address on a dual-stack network: IPv6 leases from the range, the auxiliary one skipped and refused")
    func ipv6Range() throws {
        let host = try FakeHost()
        let network = try create(host, auxiliary: ["gw2": "fd00:70::101"], ipv6Subnet: "fd00:70::/64", ipv6Range: "fd00:70::100/126")
        #expect(network.ipv6Range?.description == "fd00:70::100/126")
        let first = try host.attach("ctr0", id: "e0")
        let second = try host.attach("ctr1", id: "e1")
        #expect(first.ipv6Address?.description == "fd00:70::100" && second.ipv6Address?.description == "fd00:70::102")
        #expect(first.address?.description == "10.70.0.2")
        _ = try host.attach("ctr2", id: "e2")
        expect(refusal { try host.attach("ctr3", id: "e3") }, .conflict, ["no free IPv6 address left in range fd00:70::100/126 of network \"web\""])
        if host.kernel.state(named: "ctr9") == nil { host.kernel.addNamespace("ctr9") }
        expect(refusal {
            _ = try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr9"), id: "x", ipv6Address: IPv6Address("fd00:70::101")))
        }, .conflict, ["address fd00:70::101 is auxiliary address gw2 of network \"web\""], parameter: "ipv6Address")
        // Outside the range, inside the subnet: granted.
        let pinned = try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr9"), id: "y", ipv6Address: IPv6Address("fd00:70::9")))
        #expect(pinned.ipv6Address?.description == "fd00:70::9")
    }

    /// Options a create refuses: subnet, range, auxiliary addresses, the message, the parameter.
    struct Refused: Sendable, CustomTestStringConvertible {
        var subnet: String?, range: String?, auxiliary: [String: String], message: String, parameter: String
        init(_ subnet: String?, _ range: String?, _ auxiliary: [String: String], _ message: String, _ parameter: String) {
            (self.subnet, self.range, self.auxiliary, self.message, self.parameter) = (subnet, range, auxiliary, message, parameter)
        }
        var testDescription: String { message }
    }

    static let refusedCases: [Refused] = [
        Refused(nil, "10.70.0.0/25", [:],
         "address range 10.70.0.0/25 is given without an IPv4 subnet: a range needs the subnet it is in", "ipRange"),
        Refused("10.70.0.0/24", "10.71.0.0/24", [:], "address range 10.71.0.0/24 is not inside subnet 10.70.0.0/24 of network \"web\"", "ipRange"),
        Refused("10.70.0.0/24", "10.70.0.0/23", [:], "address range 10.70.0.0/23 is not inside subnet 10.70.0.0/24", "ipRange"),
        Refused("10.70.0.0/24", "10.70.0.1/32", [:], "address range 10.70.0.1/32 of network \"web\" holds no address an endpoint may have", "ipRange"),
        Refused("10.70.0.0/24", "10.70.0.0/32", [:], "address range 10.70.0.0/32 of network \"web\" holds no address an endpoint may have", "ipRange"),
        Refused("10.70.0.0/24", "10.70.0.4/31", ["a": "10.70.0.4", "b": "10.70.0.5"], "address range 10.70.0.4/31 of network \"web\" holds no address an endpoint may have", "ipRange"),
        Refused("10.70.0.0/24", nil, ["r": "10.71.0.5"], "auxiliary address r=10.71.0.5 is not inside subnet 10.70.0.0/24 of network \"web\"", "auxiliaryAddress"),
        Refused("10.70.0.0/24", nil, ["r": "10.70.0.1"], "auxiliary address r=10.70.0.1 is the gateway of network \"web\"", "auxiliaryAddress"),
        Refused("10.70.0.0/24", nil, ["r": "fd00::5"], "auxiliary address r=fd00::5 is given without an IPv6 subnet", "auxiliaryAddress"),
        Refused("10.70.0.0/24", nil, ["-r": "10.70.0.5"], "invalid auxiliary address name \"-r\"", "auxiliaryAddress"),
        Refused("10.70.0.0/24", nil, ["a": "10.70.0.5", "b": "10.70.0.5"], "auxiliary addresses a and b are both 10.70.0.5", "auxiliaryAddress"),
        Refused(nil, nil, ["r": "10.70.0.5"], "auxiliary address r=10.70.0.5 is given without an IPv4 subnet", "auxiliaryAddress"),
    ]

    @Test("refused at create, naming the problem, with nothing made or recorded", arguments: refusedCases)
    func refusedAtCreate(_ refused: Refused) throws {
        let host = try FakeHost()
        let before = host.kernel.snapshot()
        expect(refusal { _ = try create(host, subnet: refused.subnet, range: refused.range, auxiliary: refused.auxiliary) }, .invalidArgument,
               [refused.message], parameter: refused.parameter)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("an IPv6 range is refused as the IPv4 one, and outside the IPv6 subnet")
    func ipv6RangeRefusals() throws {
        let host = try FakeHost()
        expect(refusal { _ = try create(host, range: "fd00:70::/120") }, .invalidArgument, ["address range fd00:70::/120 is not IPv4"], parameter: "ipRange")
        expect(refusal { _ = try create(host, ipv6Subnet: "fd00:70::/64", ipv6Range: "fd00:71::/120") }, .invalidArgument,
               ["address range fd00:71::/120 is not inside subnet fd00:70::/64 of network \"web\""], parameter: "ipv6Range")
        expect(refusal { _ = try create(host, ipv6Subnet: "fd00:70::/64", ipv6Range: "fd00:70::/128") }, .invalidArgument,
               ["address range fd00:70::/128 of network \"web\" holds no address an endpoint may have"], parameter: "ipv6Range")
        #expect(try host.manager.networks().isEmpty)
    }
}

/// Parsing and printing an address range.
@Suite("AddressRange")
struct AddressRangeTests {
    @Test("a prefix or FIRST-LAST; printed as a prefix when it is one", arguments: [
        ("10.0.0.128/25", "10.0.0.128", "10.0.0.255", "10.0.0.128/25"),
        ("10.0.0.128-10.0.0.255", "10.0.0.128", "10.0.0.255", "10.0.0.128/25"),
        ("10.0.0.5-10.0.0.5", "10.0.0.5", "10.0.0.5", "10.0.0.5/32"),
        ("10.0.0.5-10.0.0.9", "10.0.0.5", "10.0.0.9", "10.0.0.5-10.0.0.9"),
        ("10.0.0.0-10.0.0.2", "10.0.0.0", "10.0.0.2", "10.0.0.0-10.0.0.2"),
        ("fd00::/120", "fd00::", "fd00::ff", "fd00::/120"),
        ("fd00::10-fd00::1f", "fd00::10", "fd00::1f", "fd00::10/124"),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255", "0.0.0.0/0"),
    ])
    func parses(text: String, first: String, last: String, printed: String) throws {
        let range = try AddressRange(parsing: text)
        #expect(range.first.description == first && range.last.description == last)
        #expect(range.description == printed)
        #expect(AddressRange(printed) == range)
    }

    @Test("malformed ranges are refused, naming the fix", arguments: [
        ("10.0.0.130/25", "address range 10.0.0.130/25 has host bits set"),
        ("10.0.0.9-10.0.0.5", "address range 10.0.0.9-10.0.0.5 ends before it starts"),
        ("10.0.0.1-fd00::1", "address range 10.0.0.1-fd00::1 mixes IPv4 and IPv6"),
        ("10.0.0.1", "invalid address range \"10.0.0.1\""),
        ("10.0.0.1-", "invalid address range \"10.0.0.1-\""),
    ])
    func refuses(text: String, message: String) {
        let error = #expect(throws: BerthError.self) { try AddressRange(parsing: text) }
        #expect(error?.message == message && error?.hint != nil, "\(String(describing: error))")
    }

    @Test("contains and isInside")
    func contains() throws {
        let range = try AddressRange(parsing: "10.0.0.5-10.0.0.9")
        #expect(range.contains(.v4(ip("10.0.0.5"))) && range.contains(.v4(ip("10.0.0.9"))))
        #expect(!range.contains(.v4(ip("10.0.0.4"))) && !range.contains(.v4(ip("10.0.0.10"))) && !range.contains(.v6(IPv6Address("::a")!)))
        let outer = try CIDR(parsing: "10.0.0.0/28"), narrow = try CIDR(parsing: "10.0.0.8/29")
        #expect(range.isInside(outer) && !range.isInside(narrow))
    }
}
