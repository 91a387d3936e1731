public import BerthCore

/// A prefix already in use on the host, with a label that says by whom: a route, a host
/// address, another Berth network. The label is what errors print.
public struct TakenSubnet: Sendable, Hashable, CustomStringConvertible {
    /// The prefix in use.
    public var cidr: CIDR
    /// For example `route 10.0.0.0/8 dev eth0` or `network "web"`.
    public var label: String
    /// The index of the link a route or address is on; nil for a network.
    public var link: Int32?

    /// `cidr` taken by what `label` names; `link` for a route or an address, so that an
    /// adopted bridge's own prefixes can be told apart.
    public init(_ cidr: CIDR, label: String, link: Int32? = nil) {
        self.cidr = cidr
        self.label = label
        self.link = link
    }

    /// `10.0.0.0/8 (route 10.0.0.0/8 dev eth0)`.
    public var description: String { "\(cidr) (\(label))" }
}

/// Chooses subnets for new networks the way Docker does, and checks subnets users give.
///
/// Pure: the caller gathers what is taken (routes, host addresses, other networks) and
/// passes it in, so this can be tested without a kernel.
public enum SubnetPool {
    /// Docker's default address pools, in the order it tries them: 172.17.0.0/16 to
    /// 172.31.0.0/16, then 192.168.0.0/20 to 192.168.240.0/20.
    public static let defaultPools: [CIDR] =
        (UInt8(17)...31).compactMap { try? CIDR(address: .v4(IPv4Address(172, $0, 0, 0)), prefixLength: 16) }
        + stride(from: UInt8(0), through: 240, by: 16).compactMap { try? CIDR(address: .v4(IPv4Address(192, 168, $0, 0)), prefixLength: 20) }

    /// The first pool that overlaps nothing in `taken`.
    ///
    /// Entries with prefix length 0 (default routes) are ignored: they cover every address
    /// without using any. Throws `.conflict` when every pool clashes.
    public static func pick(avoiding taken: [TakenSubnet], from pools: [CIDR] = defaultPools) throws(BerthError) -> CIDR {
        for pool in pools where clash(pool, taken) == nil {
            return pool
        }
        throw BerthError(.conflict, "no free subnet left in the default pools (\(pools.first.map(\.description) ?? "none") to \(pools.last.map(\.description) ?? "none")): each overlaps a route, an address or another network",
                         hint: "give a free subnet", parameter: "subnet")
    }

    /// Checks a subnet the user chose against what is taken; throws `.conflict` naming the
    /// first clash by its label.
    public static func check(_ subnet: CIDR, against taken: [TakenSubnet]) throws(BerthError) {
        if let clash = clash(subnet, taken) {
            throw BerthError(.conflict, "subnet \(subnet.network) overlaps \(clash.cidr) (\(clash.label))",
                             hint: "choose another subnet, or leave it out to get a free one",
                             parameter: "subnet", remedy: .chooseAnother(parameter: "subnet"))
        }
    }

    private static func clash(_ subnet: CIDR, _ taken: [TakenSubnet]) -> TakenSubnet? {
        taken.first { $0.cidr.prefixLength > 0 && $0.cidr.overlaps(subnet.network) }
    }
}
