public import BerthCore
public import BerthNFTables

/// Berth's IPv6 ruleset (a proposal for issue 15; docs/nftables.md "IPv6"): a table
/// `ip6 berth` beside `ip berth`, shaped like it, for the networks' IPv6 subnets.
///
/// ```
/// table ip6 berth {
///     map publish_addr { ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service }   # [HOSTIP]:PORT publishes
///     map publish_any  { inet_proto . inet_service : ipv6_addr . inet_service }               # PORT publishes (any local v6 address)
///     set publication_hairpin { ipv6_addr . ipv6_addr }                                         # a publication's address, twice
///     chain guard       filter prerouting raw    drop to a subnet not from its bridge or lo
///     chain prerouting  nat prerouting dstnat    leave link-local alone; dnat through the maps (to a local address)
///     chain output      nat output dstnat        leave ::1 and link-local alone; dnat through the maps (to a local address)
///     chain postrouting nat postrouting srcnat   masquerade hairpin DNAT (a network's, a publication's), and outbound traffic
///     chain forward     filter forward filter    keep an internal network's traffic on its bridge
/// }
/// ```
///
/// What differs from IPv4, each proven by scripts/facts/ipv6:
/// - no loopback guard: the kernel drops packets to ::1 that arrive on any other device
///   before the hooks, and IPv6 has no `route_localnet`, so nothing can be DNATed from ::1
///   (no loopback masquerade either, and `-p [::1]:…` is refused by the caller);
/// - `fib daddr type local` is true for ::1 (output) and for the host's link-local
///   addresses, where a DNAT can never work (a link-local source is never forwarded, and
///   ::1 cannot leave the host): those return first, so a wildcard publish leaves them to
///   the host's own listeners instead of capturing and dropping them.
///
/// Outbound traffic of every subnet is masqueraded, unique local or global, as IPv4's is
/// and as Docker's default (`gateway_mode_ipv6=nat`) and netavark do: the guard drops
/// whatever arrives for the subnet on any other device than its bridge, before conntrack,
/// so the reply to an unmasqueraded container address would never get in. A routed mode
/// (a global subnet reached directly by the LAN) is not offered.
public enum IPv6FirewallLayout {
    /// `table ip6 berth`, shared by every instance on the host.
    public static let table = Table(.ip6, "berth")

    /// `publish_addr`: host IPv6 address . protocol . port → container address . port.
    public static let publishByAddress = table.map(
        "publish_addr", type: [.ipv6Address, .inetProto, .inetService], data: [.ipv6Address, .inetService])
    /// `publish_any`: protocol . port → container IPv6 address . port, for ports published on
    /// every local IPv6 address (`[::]`).
    public static let publishAny = table.map(
        "publish_any", type: [.inetProto, .inetService], data: [.ipv6Address, .inetService])

    /// `publication_hairpin`: container IPv6 address . the same address, one element per
    /// IPv6 address a publication forwards to (see `FirewallLayout.publicationHairpin`).
    public static let publicationHairpin = table.set("publication_hairpin", type: [.ipv6Address, .ipv6Address])

    /// `guard` (filter, prerouting, raw): drops packets to a network's IPv6 subnet not from its bridge nor from `lo`.
    public static let guardChain = table.chain("guard", BaseChain(type: .filter, hook: .prerouting, priority: .raw))
    /// `prerouting` (nat, dstnat): leaves link-local destinations alone, DNATs published ports through the maps.
    public static let prerouting = table.chain("prerouting", BaseChain(type: .nat, hook: .prerouting, priority: .dstnat))
    /// `output` (nat, output, dstnat): the same for the host's own packets, leaving ::1 alone too.
    public static let output = table.chain("output", BaseChain(type: .nat, hook: .output, priority: .dstnat))
    /// `postrouting` (nat, srcnat): masquerades hairpin DNAT and what every subnet sends out
    /// of its bridge, global ones too (Docker's default `gateway_mode_ipv6=nat`).
    public static let postrouting = table.chain("postrouting", BaseChain(type: .nat, hook: .postrouting, priority: .srcnat))
    /// `forward` (filter): drops what an internal network's bridge would route in or out.
    public static let forward = table.chain("forward", BaseChain(type: .filter, hook: .forward, priority: .filter))

    static let loopback = CIDR("::1/128")
    static let linkLocal = CIDR("fe80::/10")

    /// The rules that do not depend on any network.
    public static var staticRules: [Rule] {
        var rules: [Rule] = []
        if let linkLocal {
            // A DNATed packet keeps its link-local source, which the kernel never forwards.
            rules.append(table.rule(in: prerouting.name, [.daddr(linkLocal), .return], comment: "berth: link-local is not published"))
        }
        if let loopback {
            // The DNATed packet would leave with source ::1, which no container accepts.
            rules.append(table.rule(in: output.name, [.daddr(loopback), .return], comment: "berth: ::1 is not published"))
        }
        if let linkLocal {
            rules.append(table.rule(in: output.name, [.daddr(linkLocal), .return], comment: "berth: link-local is not published"))
        }
        for chain in [prerouting, output] {
            // Only for an address of this host, as in IPv4: one that left it is not captured.
            rules.append(table.rule(in: chain.name, [.fibDaddrTypeLocal, .dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: publishByAddress.name)]))
            rules.append(table.rule(in: chain.name, [.fibDaddrTypeLocal, .dnatMap(.ip6, key: [.l4proto, .thDport], map: publishAny.name)]))
        }
        // A publication's container reaching its own published port, as in IPv4.
        rules.append(FirewallLayout.hairpinRule(table: table, chain: postrouting, key: [.ip6Saddr, .ip6Daddr], set: publicationHairpin))
        return rules
    }

    /// Static rules an earlier Berth made that `staticRules` replaced (see
    /// `FirewallLayout.supersededStaticRules`): the `publish_addr` lookup without
    /// `fib daddr type local`.
    public static var supersededStaticRules: [Rule] {
        [prerouting, output].map { chain in
            table.rule(in: chain.name, [.dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: publishByAddress.name)])
        }
    }

    /// The rules of one network's IPv6 subnet, tagged like its IPv4 rules (with the
    /// instance that owns them).
    public static func networkRules(name: String, instance: String, subnet: CIDR, bridge: InterfaceName, isInternal: Bool) -> [Rule] {
        let tag = FirewallLayout.networkTag(name, instance: instance)
        var rules = [
            // Containers are reachable only through their bridge (or published ports), not
            // by a LAN peer that routes the subnet to the host; the host's own packets to the
            // gateway come in through `lo` and pass.
            table.rule(in: guardChain.name, FirewallLayout.subnetGuard(subnet, bridge: bridge), comment: tag),
        ]
        if isInternal {
            rules.append(table.rule(in: forward.name, [.iifname(bridge.rawValue), .oifname(bridge.rawValue, negated: true), .drop], comment: tag))
            rules.append(table.rule(in: forward.name, [.oifname(bridge.rawValue), .iifname(bridge.rawValue, negated: true), .drop], comment: tag))
        } else {
            // Hairpin: a container reaching its own or a sibling's published port through
            // the host must see the reply come back from the host.
            rules.append(table.rule(in: postrouting.name, [.ctStatusDnat, .saddr(subnet), .oifname(bridge.rawValue), .masquerade], comment: tag))
            // Outbound, global subnets too: the reply to a container address arriving on
            // the uplink would meet the guard before conntrack could undo anything.
            rules.append(table.rule(in: postrouting.name, [.saddr(subnet), .oifname(bridge.rawValue, negated: true), .masquerade], comment: tag))
        }
        return rules
    }

    /// The chains and maps, in creation order.
    public static var skeleton: [Transaction.Object] {
        [.table(table), .set(publishByAddress), .set(publishAny), .set(publicationHairpin),
         .chain(guardChain), .chain(prerouting), .chain(output), .chain(postrouting), .chain(forward)]
    }

    /// The map element of one published port to `container`'s IPv6 address: by protocol
    /// and port in `publish_any` for a wildcard publish (`[::]`), by host address too in
    /// `publish_addr`. A mapping on an IPv4 host address has no IPv6 element (nil): a
    /// dual-stack `-p 8080:80` is two mappings, `0.0.0.0:8080` and `[::]:8080`, one per family.
    public static func element(for mapping: PortMappingRecord, container: IPv6Address, instance: String) -> (Element, NFTSet)? {
        element(for: mapping, container: container, comment: FirewallLayout.endpointTag(mapping.endpointID, instance: instance))
    }

    /// The same with the endpoint's tag made by the caller, once for all its mappings.
    static func element(for mapping: PortMappingRecord, container: IPv6Address, comment: String) -> (Element, NFTSet)? {
        let value: [Value] = [.ipv6(container), .port(mapping.containerPort)]
        let proto = Value.proto(mapping.key.proto.ipProtocolNumber)
        let port = Value.port(mapping.key.hostPort)
        switch mapping.key.hostAddress {
        case .v6(let host) where !host.isUnspecified:
            return (Element([.ipv6(host), proto, port], value, comment: comment), publishByAddress)
        case .v6:
            return (Element([proto, port], value, comment: comment), publishAny)
        case .v4:
            return nil
        }
    }

    /// The `publication_hairpin` element of a publication's IPv6 address: `ADDR . ADDR`.
    static func hairpinElement(_ address: IPv6Address, comment: String) -> (Element, NFTSet) {
        (Element([.ipv6(address), .ipv6(address)], comment: comment), publicationHairpin)
    }
}
