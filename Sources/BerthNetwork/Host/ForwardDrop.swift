/// A base chain of another firewall's table on the forward hook whose policy is drop, and
/// the bridges of Berth's networks that no rule of that table names.
///
/// nftables runs every base chain on a hook, and a drop in any of them is final: whatever
/// Berth's own table accepts, that chain drops what Berth forwards — ports published to
/// other hosts, every packet its containers send out (and, with br_netfilter, between
/// containers of one bridge) — unless one of its rules accepts it first. Berth reads other
/// tables but never changes them, so it reports the chain instead.
public struct ForwardDrop: Sendable, Hashable, CustomStringConvertible {
    /// Whose table it likely is, told from its name and its chains: each front end words
    /// what to add there in that firewall's own terms.
    public enum Owner: String, Sendable, Hashable {
        /// iptables(-nft) `filter` with Docker's `DOCKER-USER` chain (dockerd sets the
        /// FORWARD policy to drop).
        case docker
        /// iptables(-nft) `filter` with ufw's `ufw-*` chains (ufw's default forward policy).
        case ufw
        /// firewalld's `firewalld` table.
        case firewalld
        /// Another iptables(-nft) `filter` table.
        case iptables
        /// Any other nftables table.
        case nftables
    }

    /// The table's family (`ip`, `ip6` or `inet`).
    public var family: String
    /// The table's name (`filter`, `firewalld`, …).
    public var table: String
    /// The base chain on the forward hook whose policy is drop (`FORWARD`, `filter_FORWARD`, …).
    public var chain: String
    /// Which firewall the table likely belongs to.
    public var owner: Owner
    /// The bridges of Berth's networks (of the table's families) that no rule of the table
    /// names as input or output interface.
    public var bridges: [String]

    /// The drop chain `family table chain` of `owner`, missing rules for `bridges`.
    public init(family: String, table: String, chain: String, owner: Owner, bridges: [String]) {
        self.family = family
        self.table = table
        self.chain = chain
        self.owner = owner
        self.bridges = bridges
    }

    /// The version of iptables that writes the table: `ip6tables` for an `ip6` table.
    public var iptablesCommand: String { family == "ip6" ? "ip6tables" : "iptables" }

    /// One line for a log or a warning: the chain, the bridges, what it drops, and that
    /// Berth leaves it alone. Front ends that know the owner word their own advice.
    public var description: String {
        let names = bridges.joined(separator: ", ")
        return "chain \(chain) of table \(family) \(table) (hook forward, policy drop) drops what Berth forwards through bridge\(bridges.count == 1 ? "" : "s") \(names): "
            + "ports published to other hosts and everything the containers send out, unless a rule of that table accepts it first "
            + "(Berth never changes another firewall's table)"
    }
}
