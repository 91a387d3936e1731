public import BerthCore

/// How Berth names and tags the kernel objects it makes, so that crash recovery (`gc`) can
/// find them from the kernel alone, without state, and tell its own from another instance's.
///
/// - A host-side veth is `vb` followed by 13 hex digits of a hash of the instance and the
///   endpoint id, so the same endpoint always gets the same name (at most 15 bytes), and its
///   alias is `berth-endpoint <id> @<instance>`. While a detach hands its deletion to the
///   kernel it is renamed `vd` + 8 hex digits of its index (the container end likewise), so
///   the name is free again at once.
/// - A network's bridge carries the alias `berth-network <name> @<instance>` and, when Berth
///   made it, a fixed MAC derived from the network id.
/// - nftables rules and map elements carry the same tags as comments.
///
/// Objects made before instances carry the tag without ` @<instance>`; see `StateInstance`.
public enum KernelNames {
    /// The prefix of every host-side veth Berth makes.
    public static let hostVethPrefix = "vb"
    /// The prefix of a veth (either end) being deleted after a detach.
    public static let detachedVethPrefix = "vd"
    /// Alias and comment prefix of an endpoint's objects.
    public static let endpointAliasPrefix = "berth-endpoint "
    /// Alias and comment prefix of a network's objects.
    public static let networkAliasPrefix = "berth-network "
    /// What separates the owner from the instance in a tag.
    static let instanceSeparator = " @"

    /// The deterministic host-side veth name of an endpoint of `instance`.
    public static func hostVeth(forEndpoint id: String, instance: String) throws(BerthError) -> InterfaceName {
        // FNV-1a: tiny, stable across releases and platforms; 52 bits make a collision
        // between two live endpoints negligible, and the kernel's EEXIST would catch one.
        let hash = fnv1a(instance + " " + id)
        var hex = String(hash >> 12, radix: 16)
        while hex.utf8.count < 13 { hex = "0" + hex }
        return try InterfaceName(hostVethPrefix + hex)
    }

    /// Whether `name` has the shape of an endpoint's host-side veth (`hostVeth`): `vb` and
    /// 13 lower-case hex digits.
    public static func isHostVeth(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return bytes.count == 15 && name.hasPrefix(hostVethPrefix)
            && bytes.dropFirst(2).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The name a veth end with interface index `index` takes while its deletion is under
    /// way: unique in its namespace, and never an endpoint's `vb…` name.
    public static func detachedVeth(index: Int32) throws(BerthError) -> InterfaceName {
        var hex = String(UInt32(bitPattern: index), radix: 16)
        while hex.utf8.count < 8 { hex = "0" + hex }
        return try InterfaceName(detachedVethPrefix + hex)
    }

    /// The fixed MAC of a bridge Berth makes for the network with id `networkID`: locally
    /// administered, unicast, first octet 0x06 (apart from the 02:42 of endpoints), then 40
    /// bits of a hash of the id.
    public static func bridgeMAC(networkID: String) -> MACAddress {
        let hash = fnv1a(networkID)
        let bytes: [UInt8] = [0x06] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
        // Six bytes always make a MAC.
        return MACAddress(bytes: bytes) ?? MACAddress(derivedFrom: IPv4Address(0))
    }

    /// The alias and comment of an endpoint's objects.
    public static func endpointAlias(_ id: String, instance: String) -> String {
        endpointAliasPrefix + id + instanceSeparator + instance
    }

    /// The alias and comment of a network's objects.
    public static func networkAlias(_ name: String, instance: String) -> String {
        networkAliasPrefix + name + instanceSeparator + instance
    }

    /// A tag read back from the kernel: whose object it is.
    public struct Tag: Sendable, Hashable {
        /// Whose object: an endpoint's (`berth-endpoint …`) or a network's (`berth-network …`).
        public enum Kind: Sendable, Hashable { case endpoint, network }
        /// Whether the tag names an endpoint or a network.
        public var kind: Kind
        /// The endpoint id or network name.
        public var owner: String
        /// The instance id; nil in a tag made before instances.
        public var instance: String?

        /// Parses an alias or comment; nil when it is not a Berth endpoint or network tag.
        public init?(_ text: String?) {
            guard let text else { return nil }
            let rest: Substring
            if text.hasPrefix(endpointAliasPrefix) {
                kind = .endpoint
                rest = text.dropFirst(endpointAliasPrefix.count)
            } else if text.hasPrefix(networkAliasPrefix) {
                kind = .network
                rest = text.dropFirst(networkAliasPrefix.count)
            } else {
                return nil
            }
            // Owners (endpoint ids, network names) hold neither spaces nor '@'.
            if let at = rest.firstIndex(of: "@"), at > rest.startIndex, rest[rest.index(before: at)] == " " {
                owner = String(rest[..<rest.index(before: at)])
                instance = String(rest[rest.index(after: at)...])
            } else {
                owner = String(rest)
                instance = nil
            }
            guard !owner.isEmpty, !owner.contains(" ") else { return nil }
        }

        /// Whether the tag is `instance`'s: it carries its id, or (for a store made before
        /// instances) none at all.
        public func belongs(to instance: StateInstance) -> Bool {
            if let id = self.instance { return id == instance.id }
            return instance.legacy
        }
    }

    /// The default bridge name of a network: `berth0` for the default network, else
    /// `br-` and the first 12 hex digits of the network id (Docker's scheme).
    public static func defaultBridge(network name: String, id: String) throws(BerthError) -> InterfaceName {
        try InterfaceName(name == defaultNetwork ? "berth0" : "br-" + String(id.prefix(12)))
    }

    /// The network `berth run` uses when none is named, created on first use.
    public static let defaultNetwork = "berth"

    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
