public import BerthCore
public import BerthNFTables

/// Berth's nftables ruleset: one table, `ip berth`, with static chains and two maps.
///
/// ```
/// table ip berth {
///     map publish_addr { ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }   # HOSTIP:PORT publishes
///     map publish_any  { inet_proto . inet_service : ipv4_addr . inet_service }               # PORT publishes (any local address)
///     set publication_hairpin { ipv4_addr . ipv4_addr }                                         # a publication's address, twice
///     chain guard       filter prerouting raw    drop to or from 127/8 not from lo; drop to a subnet not from its bridge or lo (but an adopted one's)
///     chain prerouting  nat prerouting dstnat    dnat through the maps (traffic from outside)
///     chain output      nat output dstnat        the same (traffic from the host itself)
///     chain postrouting nat postrouting srcnat   masquerade loopback and hairpin DNAT, and outbound traffic
///     chain forward     filter forward filter    keep an internal network's traffic on its bridge
/// }
/// ```
///
/// A published port is one map element, never a rule, so the cost of publishing and of
/// each packet stays flat however many ports are published. Per-network rules (guard and
/// masquerade) carry the comment `berth-network NAME @INSTANCE`, map elements
/// `berth-endpoint ID @INSTANCE`, so they can be found and removed by their owner.
///
/// The table is shared by every Berth instance on the host (every state directory): the
/// chains, the maps and the static rules are the same for all, so a key has one owner across
/// instances (an element is *created*; the kernel refuses a second with its key). A wildcard
/// key in `publish_any` and an address's in `publish_addr` are two maps' keys: across
/// instances nothing refuses the pair (within one, the state does; docs/nftables.md).
/// Each instance adds and removes only its own rules and elements, and never rebuilds the
/// table (see `Firewall.reconcile`).
public enum FirewallLayout {
    /// `table ip berth`, shared by every instance on the host.
    public static let table = Table(.ip, "berth")

    /// `publish_addr`: host address . protocol . port → container address . port, for ports
    /// published on one host address.
    public static let publishByAddress = table.map(
        "publish_addr", type: [.ipv4Address, .inetProto, .inetService], data: [.ipv4Address, .inetService])
    /// `publish_any`: protocol . port → container address . port, for ports published on
    /// every local address (looked up only for packets to a local address).
    public static let publishAny = table.map(
        "publish_any", type: [.inetProto, .inetService], data: [.ipv4Address, .inetService])

    /// `publication_hairpin`: container address . the same address, one element per IPv4
    /// address a publication (ports to an address Berth did not wire: berth-cni chained)
    /// forwards to, tagged like its map elements. A DNATed connection from that address to
    /// itself (the container reaching its own published port through the host) is
    /// masqueraded, as a Berth network's rule does for its subnet: a publication has no
    /// network of Berth's to carry such a rule.
    public static let publicationHairpin = table.set("publication_hairpin", type: [.ipv4Address, .ipv4Address])

    /// `guard` (filter, prerouting, raw): drops packets to or from 127.0.0.0/8 not from `lo`, and packets to a
    /// network's subnet not from its bridge nor from `lo` (the host's own, to the gateway; no
    /// rule for an adopted bridge).
    public static let guardChain = table.chain("guard", BaseChain(type: .filter, hook: .prerouting, priority: .raw))
    /// `prerouting` (nat, dstnat): published ports of packets from outside, through the maps.
    public static let prerouting = table.chain("prerouting", BaseChain(type: .nat, hook: .prerouting, priority: .dstnat))
    /// `output` (nat, output, dstnat): the same for packets the host itself sends.
    public static let output = table.chain("output", BaseChain(type: .nat, hook: .output, priority: .dstnat))
    /// `postrouting` (nat, srcnat): masquerades DNATed loopback and hairpin traffic, and what
    /// a non-internal network sends out of its bridge.
    public static let postrouting = table.chain("postrouting", BaseChain(type: .nat, hook: .postrouting, priority: .srcnat))
    /// `forward` (filter): drops what an internal network's bridge would route in or out.
    public static let forward = table.chain("forward", BaseChain(type: .filter, hook: .forward, priority: .filter))

    static let loopback = (try? CIDR(parsing: "127.0.0.0/8"))

    /// The rules that do not depend on any network.
    public static var staticRules: [Rule] {
        var rules: [Rule] = []
        if let loopback {
            // A LAN peer that routes 127.0.0.0/8 to the host must not reach ports published
            // on 127.0.0.1, nor (with route_localnet on a bridge) host services on loopback.
            rules.append(table.rule(in: guardChain.name, [.iifname("lo", negated: true), .daddr(loopback), .drop],
                                    comment: "berth: loopback only from lo"))
            // Nor may a container (a raw socket is in Docker's default capabilities) send from
            // 127/8 to a host service that trusts loopback: with route_localnet on its bridge,
            // the kernel no longer takes such a source for a martian (only the host's own
            // 127.0.0.1, as a local address).
            rules.append(table.rule(in: guardChain.name, [.iifname("lo", negated: true), .saddr(loopback), .drop],
                                    comment: "berth: loopback only from lo"))
        }
        for chain in [prerouting, output] {
            // Both maps only for an address of this host (127.0.0.1 is one): an address that
            // left the host (a DHCP change, a VIP failed over) keeps its elements, but traffic
            // routed through the host to its new owner is no longer captured.
            rules.append(table.rule(in: chain.name, [.fibDaddrTypeLocal, .dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: publishByAddress.name)]))
            rules.append(table.rule(in: chain.name, [.fibDaddrTypeLocal, .dnatMap(.ip, key: [.l4proto, .thDport], map: publishAny.name)]))
        }
        if let loopback {
            // Host → 127.0.0.1:PORT leaves with source 127.0.0.1, which no container can answer.
            rules.append(table.rule(in: postrouting.name, [.ctStatusDnat, .saddr(loopback), .masquerade],
                                    comment: "berth: loopback publishes"))
        }
        // A publication's container reaching its own published port: DNATed back to itself,
        // its reply would never leave its namespace without the host's address as source.
        rules.append(hairpinRule(table: table, chain: postrouting, key: [.ipSaddr, .ipDaddr], set: publicationHairpin))
        return rules
    }

    /// Static rules an earlier Berth made that `staticRules` replaced: `reconcile` deletes
    /// them (and adds their successors), `check` reports them as stale, and a table is
    /// deleted with them as with the static rules. The `publish_addr` lookup without
    /// `fib daddr type local`.
    public static var supersededStaticRules: [Rule] {
        [prerouting, output].map { chain in
            table.rule(in: chain.name, [.dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: publishByAddress.name)])
        }
    }

    /// The comment that tags a network's rules.
    public static func networkTag(_ name: String, instance: String) -> String { KernelNames.networkAlias(name, instance: instance) }

    /// The rules of one network of `instance`. A network on an adopted bridge
    /// (`bridgeAdopted`) gets no guard: its subnet may be the LAN the bridge carries, whose
    /// hosts the host routes to from its other interfaces (containers of other networks, VPN
    /// peers), and which Berth has no business cutting off (docs/networks.md).
    public static func networkRules(name: String, instance: String, subnet: CIDR, bridge: InterfaceName, isInternal: Bool,
                                    bridgeAdopted: Bool = false) -> [Rule] {
        let tag = networkTag(name, instance: instance)
        var rules: [Rule] = []
        if !bridgeAdopted {
            // Containers are reachable only through their bridge (or published ports), not
            // by a LAN peer that routes the subnet to the host. The host's own packets to the
            // gateway (an address of its own, in the subnet) come back in through `lo`: they
            // pass, or a host service bound to the gateway (berth-dns) is cut off from the host.
            rules.append(table.rule(in: guardChain.name, subnetGuard(subnet, bridge: bridge), comment: tag))
        }
        if isInternal {
            // An internal network's traffic stays on its bridge: the host routes nothing
            // into or out of it (bridged traffic between its containers is not forwarded).
            rules.append(table.rule(in: forward.name, [.iifname(bridge.rawValue), .oifname(bridge.rawValue, negated: true), .drop], comment: tag))
            rules.append(table.rule(in: forward.name, [.oifname(bridge.rawValue), .iifname(bridge.rawValue, negated: true), .drop], comment: tag))
        } else {
            // Hairpin: a container reaching its own or a sibling's published port through
            // the host must see the reply come back from the host, not from the sibling.
            rules.append(table.rule(in: postrouting.name, [.ctStatusDnat, .saddr(subnet), .oifname(bridge.rawValue), .masquerade], comment: tag))
            rules.append(table.rule(in: postrouting.name, [.saddr(subnet), .oifname(bridge.rawValue, negated: true), .masquerade], comment: tag))
        }
        return rules
    }

    /// `ct status dnat ip saddr . ip daddr @publication_hairpin masquerade` (or `ip6`): the
    /// static rule behind each table's `publication_hairpin` set.
    static func hairpinRule(table: Table, chain: Chain, key: [MapKeyField], set: NFTSet) -> Rule {
        table.rule(in: chain.name, [.ctStatusDnat, .lookup(key: key, set: set.name), .masquerade], comment: "berth: publication hairpin")
    }

    /// `iifname != "lo" ip daddr SUBNET iifname != BRIDGE drop`: the statements of a
    /// network's subnet guard, in either family's table.
    static func subnetGuard(_ subnet: CIDR, bridge: InterfaceName) -> [BerthNFTables.Statement] {
        [.iifname("lo", negated: true), .daddr(subnet), .iifname(bridge.rawValue, negated: true), .drop]
    }

    /// The chains and maps, in creation order.
    public static var skeleton: [Transaction.Object] {
        [.table(table), .set(publishByAddress), .set(publishAny), .set(publicationHairpin),
         .chain(guardChain), .chain(prerouting), .chain(output), .chain(postrouting), .chain(forward)]
    }
}

extension FirewallLayout {
    /// The comment that tags an endpoint's map elements.
    public static func endpointTag(_ id: String, instance: String) -> String { KernelNames.endpointAlias(id, instance: instance) }

    /// The longest endpoint id whose tag fits an nftables comment (127 bytes).
    public static let maxEndpointIDLength = 127 - KernelNames.endpointAliasPrefix.utf8.count - KernelNames.instanceSeparator.utf8.count - 8

    /// The map element of one published port of an endpoint of `instance`: keyed by protocol
    /// and port in `publish_any` for a wildcard publish, by host address too in `publish_addr`.
    public static func element(for mapping: PortMappingRecord, container: IPv4Address, instance: String) -> (Element, NFTSet) {
        element(for: mapping, container: container, comment: endpointTag(mapping.endpointID, instance: instance))
    }

    /// The same with the endpoint's tag made by the caller, once for all its mappings.
    static func element(for mapping: PortMappingRecord, container: IPv4Address, comment: String) -> (Element, NFTSet) {
        let value: [Value] = [.ipv4(container), .port(mapping.containerPort)]
        let proto = Value.proto(mapping.key.proto.ipProtocolNumber)
        let port = Value.port(mapping.key.hostPort)
        if case .v4(let host) = mapping.key.hostAddress, !host.isUnspecified {
            return (Element([.ipv4(host), proto, port], value, comment: comment), publishByAddress)
        }
        return (Element([proto, port], value, comment: comment), publishAny)
    }

    /// The `publication_hairpin` element of a publication's IPv4 address: `ADDR . ADDR`.
    static func hairpinElement(_ address: IPv4Address, comment: String) -> (Element, NFTSet) {
        (Element([.ipv4(address), .ipv4(address)], comment: comment), publicationHairpin)
    }
}
