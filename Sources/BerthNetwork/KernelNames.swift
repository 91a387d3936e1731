public import BerthCore

/// How Berth names and tags the kernel objects it makes, so that crash recovery (`gc`) can
/// find them from the kernel alone, without state.
///
/// - A host-side veth is `vb` followed by 13 hex digits of a hash of the endpoint id, so
///   the same endpoint always gets the same name (at most 15 bytes), and its alias is
///   `berth-endpoint <id>`.
/// - A network's bridge carries the alias `berth-network <name>`.
/// - nftables objects live in Berth's own tables and carry comments naming their owner.
public enum KernelNames {
    /// The prefix of every host-side veth Berth makes.
    public static let hostVethPrefix = "vb"
    /// Alias prefix of a host-side veth.
    public static let endpointAliasPrefix = "berth-endpoint "
    /// Alias prefix of a network's bridge.
    public static let networkAliasPrefix = "berth-network "

    /// The deterministic host-side veth name of an endpoint.
    public static func hostVeth(forEndpoint id: String) throws(BerthError) -> InterfaceName {
        // FNV-1a: tiny, stable across releases and platforms; 52 bits make a collision
        // between two live endpoints negligible, and the kernel's EEXIST would catch one.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        var hex = String(hash >> 12, radix: 16)
        while hex.utf8.count < 13 { hex = "0" + hex }
        return try InterfaceName(hostVethPrefix + hex)
    }

    /// The alias tag of an endpoint's host-side veth.
    public static func endpointAlias(_ id: String) -> String { endpointAliasPrefix + id }

    /// The alias tag of a network's bridge.
    public static func networkAlias(_ name: String) -> String { networkAliasPrefix + name }

    /// The endpoint id in a veth alias, if the alias is Berth's.
    public static func endpointID(fromAlias alias: String?) -> String? {
        guard let alias, alias.hasPrefix(endpointAliasPrefix) else { return nil }
        return String(alias.dropFirst(endpointAliasPrefix.count))
    }

    /// The network name in a bridge alias, if the alias is Berth's.
    public static func networkName(fromAlias alias: String?) -> String? {
        guard let alias, alias.hasPrefix(networkAliasPrefix) else { return nil }
        return String(alias.dropFirst(networkAliasPrefix.count))
    }

    /// The default bridge name of a network: `berth0` for the default network, else
    /// `br-` and the first 12 hex digits of the network id (Docker's scheme).
    public static func defaultBridge(network name: String, id: String) throws(BerthError) -> InterfaceName {
        try InterfaceName(name == defaultNetwork ? "berth0" : "br-" + String(id.prefix(12)))
    }

    /// The network `berth run` uses when none is named, created on first use.
    public static let defaultNetwork = "berth"
}
