public import BerthCore

/// IPv6 subnets for networks made without one: /64s of the host's unique local /48.
extension SubnetPool {
    /// Picks the /64 for a new network named `name` out of `prefix` (the host's RFC 4193
    /// /48, kept in the state): first the subnet ID derived from the name, so a network
    /// made again under its name gets its /64 again, then the following IDs, skipping
    /// every /64 that overlaps something in `taken` (host routes and addresses, other
    /// networks). Throws `.conflict` only when all 65,536 are taken.
    public static func pickIPv6(forNetwork name: String, in prefix: UniqueLocalPrefix, avoiding taken: [TakenSubnet]) throws(BerthError) -> CIDR {
        let relevant = taken.filter { $0.cidr.family == .ipv6 && $0.cidr.prefixLength > 0 && $0.cidr.overlaps(prefix.prefix) }
        let start = subnetID(forNetwork: name)
        for step in 0...Int(UInt16.max) {
            let candidate = prefix.subnet(start &+ UInt16(truncatingIfNeeded: step))
            if !relevant.contains(where: { $0.cidr.overlaps(candidate) }) { return candidate }
        }
        throw BerthError(.conflict, "no free IPv6 subnet left in \(prefix): every /64 overlaps a route, an address or another network",
                         hint: "give an IPv6 subnet", parameter: "ipv6Subnet")
    }

    /// The subnet ID a network's name starts from: 16 bits of its FNV-1a hash, stable across
    /// releases and platforms.
    public static func subnetID(forNetwork name: String) -> UInt16 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return UInt16(truncatingIfNeeded: hash ^ hash >> 16)
    }
}
