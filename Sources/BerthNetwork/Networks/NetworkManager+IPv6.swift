import BerthCore
import BerthNetlink

/// A new network's IPv6 side (issue 15): whether the host can carry it, the subnet and
/// gateway, and the prefixes that are taken.
extension NetworkManager {
    /// Refuses IPv6 on a host that has it off: `net/ipv6/conf/default/disable_ipv6` is what
    /// a new bridge inherits (writing `all` sets it too), and with no such key the kernel
    /// was booted without IPv6. Checked before anything is made.
    func requireIPv6(network name: String) throws(BerthError) {
        let value: String
        do {
            value = try host.sysctl("net/ipv6/conf/default/disable_ipv6")
        } catch where error.code == .notFound {
            throw Self.ipv6Disabled(name, why: "the kernel has no IPv6 (booted with ipv6.disable=1)")
        }
        if value == "1" {
            throw Self.ipv6Disabled(name, why: "net.ipv6.conf.default.disable_ipv6 is 1")
        }
    }

    /// Turns IPv6 forwarding on for every interface (`all`), as a dual-stack network needs
    /// (docs/ipv6.md, "Forwarding and routes"). When Berth is the one that turns it on, that
    /// is a warning (the host routes IPv6 from now on, as `ipv4ForwardingEnabled` says of
    /// IPv4), and it first looks for what that breaks: an interface with `accept_ra=1`
    /// holding an IPv6 default route learned from router advertisements (the host's own, on
    /// its LAN) — forwarding interfaces ignore RAs, so that route is not renewed. Each is a
    /// warning too. Costs one sysctl read when forwarding is already on.
    func enableIPv6Forwarding() throws(BerthError) -> [HostWarning] {
        var was: String?
        return try enableIPv6Forwarding(turnedOnFrom: &was)
    }

    /// `enableIPv6Forwarding()`, setting `was` to the value the key had when this call
    /// turned it on (nil when it was on already), for an undo.
    func enableIPv6Forwarding(turnedOnFrom was: inout String?) throws(BerthError) -> [HostWarning] {
        let key = Self.ipv6ForwardingKey
        let current = try host.sysctl(key)
        guard current != "1" else { return [] }
        var warnings = [HostWarning(.ipv6ForwardingEnabled)]
        let learned = try host.netlink.routes(family: .ipv6).filter { $0.isDefault && $0.routeProtocol == .routerAdvertisement }
        if !learned.isEmpty {
            let names = Dictionary(try host.netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            var seen: Set<String> = []
            for route in learned {
                guard let index = route.linkIndex, let name = names[index], seen.insert(name).inserted else { continue }
                // accept_ra=2 keeps taking RAs while forwarding; 0 took none to begin with; an
                // interface forwarding on its own already ignores them.
                guard (try? host.sysctl("net/ipv6/conf/\(name)/accept_ra")) == "1",
                      (try? host.sysctl("net/ipv6/conf/\(name)/forwarding")) != "1" else { continue }
                warnings.append(HostWarning(.routerAdvertisementsIgnored(interface: name, gateway: route.gateway)))
            }
        }
        if try host.setSysctl(key, to: "1") { was = current }
        return warnings
    }

    private static func ipv6Disabled(_ name: String, why: String) -> BerthError {
        BerthError(.unsupported, "IPv6 is disabled on this host (\(why)): network \(name) cannot have an IPv6 subnet",
                   hint: "enable IPv6 on the host, or create the network without IPv6", object: .network(name), parameter: "ipv6")
    }

    /// A requested IPv6 subnet is IPv6 and clear of what is taken (`takenIPv6Subnets`),
    /// as `createNetwork` and berth-cni's STATUS (`attachBlockers`) both check it.
    static func checkIPv6Subnet(_ requested: CIDR, against taken: [TakenSubnet]) throws(BerthError) {
        guard requested.family == .ipv6 else {
            throw .invalid("IPv6 subnet \(requested) is not IPv6", hint: "give an IPv6 subnet such as fd00:1::/64", parameter: "ipv6Subnet")
        }
        if let clash = taken.first(where: { $0.cidr.prefixLength > 0 && $0.cidr.overlaps(requested.network) }) {
            throw BerthError(.conflict, "IPv6 subnet \(requested.network) overlaps \(clash.cidr) (\(clash.label))",
                             hint: "choose another IPv6 subnet, or leave it out to get a free one",
                             parameter: "ipv6Subnet", remedy: .chooseAnother(parameter: "ipv6Subnet"))
        }
    }

    /// The IPv6 subnet and gateway of a new network: the ones asked for, checked against
    /// reserved ranges and what is taken, or a /64 of the host's unique local prefix.
    /// nil when the options ask for no IPv6.
    func chooseIPv6(_ options: NetworkOptions, tx: StateTransaction, others: [NetworkRecord],
                    except bridge: Int32?) throws(BerthError) -> (subnet: CIDR, gateway: IPv6Address)? {
        guard options.wantsIPv6 else { return nil }
        try requireIPv6(network: options.name)
        let taken = try takenIPv6Subnets(networks: others, except: bridge)
        let subnet: CIDR
        if let requested = options.ipv6Subnet {
            try Self.checkIPv6Subnet(requested, against: taken)
            subnet = requested
        } else {
            subnet = try SubnetPool.pickIPv6(forNetwork: options.name, in: tx.uniqueLocalPrefix(), avoiding: taken)
        }
        guard let gateway = options.ipv6Gateway ?? IPAM.defaultIPv6Gateway(for: subnet) else {
            // A /128 has no address after its anycast one: the subnet checks name why.
            try IPAM.validateIPv6(subnet: subnet, gateway: .any)
            throw .invalid("IPv6 subnet \(subnet) has no room for a gateway", parameter: "ipv6Subnet")
        }
        try IPAM.validateIPv6(subnet: subnet, gateway: gateway)
        return (subnet, gateway)
    }

    /// IPv6 prefixes a new network must not overlap: main-table routes (except the default
    /// route and link-local ones), host addresses (except `::1` and link-local), other
    /// networks' IPv6 subnets — leaving out what is on `bridge` (an adopted bridge's index).
    func takenIPv6Subnets(networks: [NetworkRecord], except bridge: Int32? = nil) throws(BerthError) -> [TakenSubnet] {
        var taken = networks.compactMap { network in network.ipv6Subnet.map { TakenSubnet($0, label: "network \(network.name)") } }
        let links = Dictionary(try host.netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        for route in try host.netlink.routes(family: .ipv6) where !route.isDefault && (bridge == nil || route.linkIndex != bridge) {
            guard let destination = route.destination, !Self.isLinkLocalOrLoopback(destination.address) else { continue }
            let device = route.linkIndex.flatMap { links[$0] }.map { " dev \($0)" } ?? ""
            taken.append(TakenSubnet(destination.network, label: "route \(destination.network)\(device)"))
        }
        for address in try host.netlink.addresses(family: .ipv6)
        where !Self.isLinkLocalOrLoopback(address.cidr.address) && (bridge == nil || address.linkIndex != bridge) {
            let device = links[address.linkIndex].map { " on \($0)" } ?? ""
            taken.append(TakenSubnet(address.cidr.network, label: "address \(address.cidr)\(device)"))
        }
        return taken
    }

    private static func isLinkLocalOrLoopback(_ address: IPAddress) -> Bool {
        guard case .v6(let v6) = address else { return false }
        return v6.isLinkLocal || v6.isLoopback || v6.isMulticast
    }
}
