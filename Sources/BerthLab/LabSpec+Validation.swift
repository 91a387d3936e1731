public import BerthCore
import BerthNetlink
import BerthNetwork
import BerthRun

extension LabSpec {
    /// Checks what a single value cannot: names, references between nodes and links,
    /// interfaces used twice, routes through interfaces a node does not have, counts.
    /// The error names the file, line and column of the first problem.
    public func validate() throws(BerthError) {
        let nameHint = Self.nameHint
        try validateName()
        if nodes.count > LabNames.maxNodes { throw error(nil, "\(nodes.count) nodes; a lab has at most \(LabNames.maxNodes)", hint: "split the lab") }
        if links.count > LabNames.maxLinks { throw error(nil, "\(links.count) links; a lab has at most \(LabNames.maxLinks)", hint: "split the lab") }
        if networks.count > LabNames.maxNetworks {
            throw error(networks[LabNames.maxNetworks].location, "\(networks.count) networks; a lab has at most \(LabNames.maxNetworks)", hint: "split the lab")
        }

        var seenNodes: [String: SourceLocation?] = [:]
        for node in nodes {
            if let problem = LabNames.check(node.name, what: "node", limit: LabNames.maxNodeName) { throw error(node.location, problem, hint: nameHint) }
            if let first = seenNodes[node.name] {
                throw error(node.location, "node \(node.name) is declared twice" + (first.map { " (first at \($0))" } ?? ""), hint: "give each node its own name")
            }
            seenNodes[node.name] = node.location
            if let network = node.network, !networks.contains(where: { $0.name == network }) {
                throw error(node.location, "node \(node.name) joins network \(network), which is not under networks", hint: "declare it under networks or fix the name")
            }
            if node.publish.count > LabNames.maxPublishPerNode {
                throw error(node.location, "node \(node.name) publishes over \(LabNames.maxPublishPerNode) ports", hint: "publish a range, like 9000-9009:90-99")
            }
            if !node.publish.isEmpty {
                guard let name = node.network, let network = self.network(name) else {
                    throw error(node.location, "node \(node.name) publishes ports but joins no network", hint: "give it a network to publish from")
                }
                if network.isInternal == true {
                    throw error(node.location, "node \(node.name) publishes ports on network \(name), which is internal", hint: "publish on a network that is not internal")
                }
            }
            if let run = node.run { try check(run, of: node) }
        }
        try checkNetworks()
        try checkPublishedPorts()

        var interfaces: [String: [String: SourceLocation?]] = [:]
        var addresses: [String: [IPAddress: SourceLocation?]] = [:]
        for link in links {
            guard link.endpoints.count == 2 else {
                throw error(link.location, "a link has exactly two endpoints, this one \(link.endpoints.count)", hint: "write endpoints: [ \"a:eth0\", \"b:eth0\" ]")
            }
            if let mtu = link.mtu, !(68...65535).contains(mtu) { throw error(link.location, "mtu \(mtu) is out of range", hint: "use 68 to 65535") }
            // Below 1280 the kernel turns IPv6 off on the interface, and its addresses cannot be added.
            if let mtu = link.mtu, mtu < 1280, let end = link.endpoints.first(where: { $0.addresses.contains { $0.family == .ipv6 } }) {
                throw error(link.location, "mtu \(mtu) of link \(link.key) is under 1280, IPv6's minimum, and \(end) has an IPv6 address",
                            hint: "give an mtu of at least 1280, or IPv4 addresses only")
            }
            for end in link.endpoints {
                guard seenNodes[end.node] != nil else {
                    throw error(end.location, "link endpoint \(end) names node \(end.node), which is not under nodes",
                                hint: "declare node \(end.node) or fix the name (nodes: \(nodes.map(\.name).joined(separator: ", ")))")
                }
                if end.interface.rawValue == "lo" { throw error(end.location, "link endpoint \(end) uses lo", hint: "name another interface") }
                if let problem = Self.interfaceProblem(end.interface.rawValue) {
                    throw error(end.location, "link endpoint \(end.node):\(Self.printable(end.interface.rawValue)): \(problem)", hint: "name the interface eth1 or another")
                }
                if end.interface.rawValue == LabNetworks.interfaceName, let network = node(end.node)?.network {
                    throw error(end.location, "link endpoint \(end) uses \(LabNetworks.interfaceName), which network \(network) gives node \(end.node)",
                                hint: "name the link's interface eth1 or another")
                }
                if let first = interfaces[end.node]?[end.interface.rawValue] {
                    throw error(end.location, "interface \(end) is used twice" + (first.map { " (first at \($0))" } ?? ""),
                                hint: "give each link end its own interface name")
                }
                interfaces[end.node, default: [:]][end.interface.rawValue] = end.location
                if end.addresses.count > LabNames.maxAddressesPerEndpoint {
                    throw error(end.location, "interface \(end) has over \(LabNames.maxAddressesPerEndpoint) addresses", hint: "use fewer")
                }
                var lengths: [IPAddress: CIDR] = [:]
                for cidr in end.addresses {
                    if let problem = Self.addressProblem(cidr) {
                        throw error(end.location, "address \(cidr) of \(end): \(problem)", hint: "give a unicast address, like 10.0.12.1/30 or fd00:1::1/64")
                    }
                    // The kernel keeps one IPv6 address per interface whatever its prefix length.
                    if let other = lengths[cidr.address], other != cidr {
                        throw error(end.location, "address \(cidr.address) is given twice on \(end), as \(other) and \(cidr)",
                                    hint: "give each address once, with one prefix length")
                    }
                    lengths[cidr.address] = cidr
                    // By address, whatever the prefix length: 10.0.0.1/24 and 10.0.0.1/30 on two
                    // interfaces are one address twice (the kernel takes both; replies leave by either).
                    if let first = addresses[end.node]?[cidr.address] {
                        throw error(end.location, "address \(cidr.address) is given twice in node \(end.node)" + (first.map { " (first at \($0))" } ?? ""),
                                    hint: "give each interface its own address")
                    }
                    addresses[end.node, default: [:]][cidr.address] = end.location
                }
                if let mac = end.mac, mac.isMulticast || mac.isZero {
                    throw error(end.location, "MAC \(mac) of \(end) is multicast or zero", hint: "use a unicast address such as 02:00:00:00:00:01")
                }
                try check(end.impairment, at: end.location ?? link.location, of: end.description)
            }
            // Each end is in its own namespace, so the kernel takes one address on both; then
            // neither end can reach the other (each answers its own ARP), a lab broken silently.
            let (near, far) = (link.endpoints[0], link.endpoints[1])
            if let shared = far.addresses.first(where: { cidr in near.addresses.contains { $0.address == cidr.address } }) {
                throw error(far.location ?? link.location, "address \(shared.address) is on both ends of the link \(near) – \(far)",
                            hint: "give each end its own address in the link's subnet")
            }
        }

        for node in nodes {
            if node.routes.count > LabNames.maxRoutesPerNode { throw error(node.location, "node \(node.name) has over \(LabNames.maxRoutesPerNode) routes", hint: "use fewer") }
            if node.sysctls.count > LabNames.maxSysctlsPerNode { throw error(node.location, "node \(node.name) has over \(LabNames.maxSysctlsPerNode) sysctls", hint: "use fewer") }
            var routes: Set<LabRoute> = []
            var slots: [String: LabRoute] = [:]
            let connected = connectedSubnets(of: node)
            let ownAddresses = ownAddresses(of: node)
            for route in node.routes {
                if let gateway = route.gateway {
                    var linkLocal = false
                    if case .v6(let v6) = gateway { linkLocal = v6.isLinkLocal }
                    if linkLocal, route.device == nil {
                        throw error(route.location ?? node.location, "route \(route) of node \(node.name) has a link-local gateway and no device",
                                    hint: "name the interface it is on: \(route) dev IFACE")
                    }
                    // A link-local address is one interface's: the same one on another
                    // interface may be a neighbour's (the kernel takes such a route).
                    if let own = ownAddresses.first(where: { $0.cidr.address == gateway && (!linkLocal || $0.interface == route.device) }) {
                        throw error(route.location ?? node.location,
                                    "route \(route) of node \(node.name): gateway \(gateway) is the node's own address (\(own.cidr) on \(own.interface))",
                                    hint: "give the address of a neighbour on that link, or a route without via")
                    }
                    if let subnets = connected[gateway.family], !linkLocal, !subnets.contains(where: { $0.contains(gateway) }) {
                        throw error(route.location ?? node.location, "route \(route) of node \(node.name): gateway \(gateway) is on none of the node's subnets",
                                    hint: "give a gateway inside a subnet of one of its links (\(subnets.map(\.description).sorted().joined(separator: ", ")))")
                    }
                }
                // A node on a Berth network has that network's eth0 too.
                let own = (interfaces[node.name]?.keys.sorted() ?? []) + (node.network != nil ? [LabNetworks.interfaceName] : [])
                if let device = route.device, !own.contains(device.rawValue) {
                    throw error(route.location ?? node.location, "route \(route) of node \(node.name) goes through \(device), which no link or network gives it",
                                hint: "name one of its interfaces: \(own.sorted().joined(separator: ", "))")
                }
                if let network = node.network, route.destination == nil, route.family == .ipv4, (route.metric ?? 0) == 0 {
                    throw error(route.location ?? node.location, "node \(node.name) has default route \(route), and network \(network) gives it one already",
                                hint: "give the route a metric, or leave it out")
                }
                guard routes.insert(route.comparable).inserted else {
                    throw error(route.location ?? node.location, "route \(route) of node \(node.name) is given twice", hint: "remove one")
                }
                // The kernel keeps one route per family, destination and metric (`ip route add`
                // says "File exists" for a second one through another gateway or device).
                let comparable = route.comparable
                let slot = "\(comparable.family) \(comparable.destination.map(\.description) ?? "default") \(comparable.metric ?? 0)"
                if let first = slots[slot] {
                    throw error(route.location ?? node.location,
                                "route \(route) of node \(node.name) has the destination and metric of route \(first): the kernel keeps one of them",
                                hint: "give one of them another metric, or remove one")
                }
                slots[slot] = route
            }
            var sysctls: [String: SourceLocation?] = [:]
            for sysctl in node.sysctls {
                let parts = sysctl.path.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.first == "net", parts.count >= 3, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                    throw error(sysctl.location ?? node.location, "sysctl \(sysctl.key) is not a per-namespace net.* key",
                                hint: "use keys such as net.ipv4.ip_forward or net/ipv4/conf/eth1/rp_filter")
                }
                // net.ipv4.ip_forward and net/ipv4/ip_forward are one file: both would be written on every up.
                if let first = sysctls[sysctl.path] {
                    throw error(sysctl.location ?? node.location, "sysctl \(sysctl.key) of node \(node.name) is given twice" + (first.map { " (first at \($0))" } ?? ""),
                                hint: "keep one; dots and slashes name the same key")
                }
                sysctls[sysctl.path] = sysctl.location
                if sysctl.value.isEmpty || sysctl.value.utf8.contains(where: { $0 == 0x0A || $0 == 0 }) {
                    throw error(sysctl.location ?? node.location, "sysctl \(sysctl.key) has an empty or multi-line value", hint: "give one value")
                }
                // The kernel shows such a number in decimal: `up` would find it changed, every time.
                for word in sysctl.value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    if let decimal = NodeSpec.Sysctl.kernelInteger(word), decimal != word {
                        throw error(sysctl.location ?? node.location, "sysctl \(sysctl.key) of node \(node.name) is \(sysctl.value): the kernel reads \(word) as \(decimal)",
                                    hint: "write \(decimal), in decimal without leading zeros")
                    }
                }
            }
        }
        // Last, so that a file's other mistakes come first. `up` would make (or check) it for nothing.
        for network in networks where !nodes.contains(where: { $0.network == network.name }) {
            throw error(network.location, "network \(network.name) is declared, and no node joins it", hint: "give a node network: \(network.name), or remove it")
        }
    }

    /// The addresses of a node's link ends, each with its interface.
    private func ownAddresses(of node: NodeSpec) -> [(interface: InterfaceName, cidr: CIDR)] {
        links.flatMap { link in
            link.endpoints.filter { $0.node == node.name }.flatMap { end in end.addresses.map { (end.interface, $0) } }
        }
    }

    /// Why an interface address would not work on a link end, if it would not. The kernel
    /// gives a loopback address (127.0.0.0/8, ::1) host scope, which the lab does not read
    /// back as the interface's, so every `up` would add it again ("File exists"); it drops
    /// 0.0.0.0 without a word, so every `up` would plan it again; `::`, a multicast address
    /// (224.0.0.0/4, ff00::/8) and 255.255.255.255 are no address of one interface.
    static func addressProblem(_ cidr: CIDR) -> String? {
        switch cidr.address {
        case .v4(let v4):
            if v4.isLoopback { return "a loopback address (127.0.0.0/8) belongs on lo, not on a link" }
            if v4.isUnspecified { return "0.0.0.0 means no address; the kernel drops it" }
            if v4.isMulticast { return "a multicast address (224.0.0.0/4) names a group, not an interface" }
            if v4.value == UInt32.max { return "255.255.255.255 is the limited broadcast address" }
        case .v6(let v6):
            if v6.isLoopback { return "::1 is the loopback address and belongs on lo, not on a link" }
            if v6.isUnspecified { return ":: means no address" }
            if v6.isMulticast { return "a multicast address (ff00::/8) names a group, not an interface" }
        }
        return nil
    }

    /// The subnets a node reaches directly, by family: those of its link ends' addresses and
    /// of its network, and the destinations of its routes without a gateway. A family is left
    /// out when any address of it may be on-link (a default route through a device, a
    /// network whose subnet Berth picks).
    private func connectedSubnets(of node: NodeSpec) -> [IPFamily: [CIDR]] {
        var subnets: [IPFamily: [CIDR]] = [.ipv4: [], .ipv6: []]
        for link in links { for end in link.endpoints where end.node == node.name { for cidr in end.addresses { subnets[cidr.family]?.append(cidr.network) } } }
        if let name = node.network {
            if let subnet = network(name)?.subnet { subnets[.ipv4]?.append(subnet.network) } else { subnets[.ipv4] = nil }
            // An existing network may be dual stack: its IPv6 subnet is not in the file.
            subnets[.ipv6] = nil
        }
        for route in node.routes where route.gateway == nil {
            if let destination = route.destination { subnets[route.family]?.append(destination) } else { subnets[route.family] = nil }
        }
        return subnets
    }

    /// Names of the fallback devices a tunnel module makes in every network namespace once
    /// loaded (net.core.fb_tunnels_only_for_init_net at 0), with the module: a link of that
    /// name cannot be made in a node on a host that loaded it.
    static let fallbackTunnels = ["sit0": "sit", "tunl0": "ipip", "gre0": "ip_gre", "gretap0": "ip_gre", "erspan0": "ip_gre",
                                  "ip6tnl0": "ip6_tunnel", "ip6gre0": "ip6_gre", "ip_vti0": "ip_vti", "ip6_vti0": "ip6_vti"]

    /// Why the kernel would refuse an interface name that `InterfaceName` takes, part-way
    /// through `up`: `all` and `default` (the names of net.ipv4.conf.all and .default), a
    /// fallback tunnel's name, a control byte (the kernel takes it, `ip` and the lab's
    /// output show it garbled).
    static func interfaceProblem(_ name: String) -> String? {
        if name == "all" || name == "default" {
            return "the kernel refuses \(name) as an interface name: it names the settings of all interfaces (net.ipv4.conf.\(name))"
        }
        if let module = fallbackTunnels[name] {
            return "\(name) is the fallback device the kernel's \(module) module makes in every namespace, once loaded"
        }
        if name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return "the interface name holds a control character"
        }
        return nil
    }

    /// `name` with its control bytes written `\xNN`, to show in a message.
    static func printable(_ name: String) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                text += "\\x" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xF)])
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text
    }

    /// What a lab's or node's name may hold.
    static let nameHint = "use letters, digits, '_', '.' and '-'"

    /// The lab's name alone, the first check of `validate()`: what is read of a file only
    /// for its name (`LabFileParser.name(path:)`).
    public func validateName() throws(BerthError) {
        if let problem = LabNames.check(name, what: "lab", limit: LabNames.maxLabName) { throw error(nameLocation, problem, hint: Self.nameHint) }
    }

    /// The lab's, nodes' and networks' names, which become namespace paths and kernel
    /// names, and the shape the engine counts on (a link of two ends on declared nodes):
    /// what a recorded spec read back without `validate()` must still pass, so that a
    /// damaged record is reported as unreadable instead of stopping the program.
    func validateNames() throws(BerthError) {
        if let problem = LabNames.check(name, what: "lab", limit: LabNames.maxLabName) { throw error(nameLocation, problem) }
        for node in nodes {
            if let problem = LabNames.check(node.name, what: "node", limit: LabNames.maxNodeName) { throw error(node.location, problem) }
        }
        let declared = Set(nodes.map(\.name))
        for link in links {
            guard link.endpoints.count == 2 else { throw error(link.location, "a link has exactly two endpoints, this one \(link.endpoints.count)") }
            if let end = link.endpoints.first(where: { !declared.contains($0.node) }) {
                throw error(end.location, "link endpoint \(end) names node \(end.node), which is not under nodes")
            }
        }
        for network in networks {
            do throws(BerthError) {
                try NetworkOptions.validate(name: network.name)
            } catch {
                throw self.error(network.location, error.message)
            }
        }
    }

    /// A run node's container: a command, an absolute root filesystem and working
    /// directory, `KEY=VALUE` environment entries.
    private func check(_ run: RunSpec, of node: NodeSpec) throws(BerthError) {
        let location = run.location ?? node.location
        if run.command.isEmpty || run.command[0].isEmpty { throw error(location, "node \(node.name) runs no command", hint: "give cmd: [ program, arguments… ]") }
        if let rootfs = run.rootfs, !rootfs.hasPrefix("/") {
            throw error(location, "rootfs \(rootfs) of node \(node.name) is not an absolute path", hint: "give a path starting with '/'")
        }
        if let directory = run.workingDirectory, !directory.hasPrefix("/") {
            throw error(location, "workdir \(directory) of node \(node.name) is not an absolute path", hint: "give a path starting with '/'")
        }
        do throws(BerthError) {
            _ = try ContainerSpec.environmentEntries(run.environment)
        } catch {
            throw self.error(location, "env of node \(node.name): \(error.message)", hint: error.hint)
        }
    }

    /// Network names as Berth takes them; an IPv4 subnet and, when both are given, the
    /// gateway inside it.
    private func checkNetworks() throws(BerthError) {
        var seen: [String: SourceLocation?] = [:]
        for network in networks {
            if let first = seen[network.name] {
                throw error(network.location, "network \(network.name) is declared twice" + (first.map { " (first at \($0))" } ?? ""), hint: "keep one")
            }
            seen[network.name] = network.location
            do throws(BerthError) {
                try NetworkOptions.validate(name: network.name)
            } catch {
                throw self.error(network.location, error.message, hint: error.hint)
            }
            if let subnet = network.subnet, subnet.family != .ipv4 {
                throw error(network.location, "subnet \(subnet) of network \(network.name) is not IPv4", hint: "give an IPv4 subnet such as 10.0.9.0/24")
            }
            if let subnet = network.subnet, let gateway = network.gateway, !subnet.contains(.v4(gateway)) {
                throw error(network.location, "gateway \(gateway) of network \(network.name) is outside its subnet \(subnet)", hint: "give an address inside the subnet")
            }
        }
    }

    /// A published port whose host ports are fixed, in file order.
    private struct FixedPorts {
        var low: UInt16
        var high: UInt16
        var node: NodeSpec
        var spec: PortSpec
        var order: Int
    }

    /// The host addresses a published port takes: every address (none given), one family's
    /// wildcard (`0.0.0.0`, `::`), or one address. Every address clashes with all; a
    /// wildcard with its family.
    private enum HostAddresses: Hashable {
        case every
        case wildcard(IPFamily)
        case address(IPAddress)
    }

    /// Refuses two published ports of the lab (one node's or two) that would take the same
    /// host traffic: one protocol, host ports both fix and that overlap, and host addresses
    /// that overlap. Berth refuses the second when it attaches its node, after the rest of
    /// the lab is built (and then rolled back). Ports left for Berth to choose are not
    /// compared. In n log n: a lab may have tens of thousands.
    private func checkPublishedPorts() throws(BerthError) {
        var groups: [TransportProtocol: [HostAddresses: [FixedPorts]]] = [:]
        var order = 0
        for node in nodes {
            for spec in node.publish {
                guard let ports = spec.hostPorts, !spec.needsHostPortChoice else { continue }
                let addresses: HostAddresses
                switch spec.hostAddress {
                case nil: addresses = .every
                case let address? where address.isUnspecified: addresses = .wildcard(address.family)
                case let address?: addresses = .address(address)
                }
                groups[spec.protocol, default: [:]][addresses, default: []]
                    .append(FixedPorts(low: ports.start, high: ports.end, node: node, spec: spec, order: order))
                order += 1
            }
        }
        for byAddresses in groups.values {
            let every = byAddresses[.every] ?? []
            var wildcards: [IPFamily: [FixedPorts]] = [:]
            for family in [IPFamily.ipv4, .ipv6] { wildcards[family] = try disjoint(every + (byAddresses[.wildcard(family)] ?? [])) }
            for case (.address(let address), let ports) in byAddresses {
                let wide = wildcards[address.family] ?? []
                for port in try disjoint(ports) {
                    // `wide` is sorted and disjoint: the last range starting at or below this
                    // one's end is the only one that can overlap it.
                    var low = 0, high = wide.count
                    while low < high {
                        let middle = (low + high) / 2
                        if wide[middle].low <= port.high { low = middle + 1 } else { high = middle }
                    }
                    if low > 0, wide[low - 1].high >= port.low { throw clash(port, wide[low - 1]) }
                }
            }
        }
    }

    /// `ports` sorted by their first port, checked to be disjoint.
    private func disjoint(_ ports: [FixedPorts]) throws(BerthError) -> [FixedPorts] {
        let sorted = ports.sorted { ($0.low, $0.order) < ($1.low, $1.order) }
        var widest: FixedPorts?
        for port in sorted {
            if let widest, port.low <= widest.high { throw clash(port, widest) }
            if widest.map({ port.high > $0.high }) ?? true { widest = port }
        }
        return sorted
    }

    private func clash(_ one: FixedPorts, _ other: FixedPorts) -> BerthError {
        let (first, second) = one.order < other.order ? (one, other) : (other, one)
        let message = first.node.name == second.node.name
            ? "node \(second.node.name) publishes \(second.spec) and \(first.spec), which take the same host port"
            : "node \(second.node.name) publishes \(second.spec), and node \(first.node.name) \(first.spec): they take the same host port"
        return error(second.node.location, message, hint: "give each its own host port, or its own host address")
    }

    private func check(_ impairment: Impairment, at location: SourceLocation?, of what: String) throws(BerthError) {
        if let problem = Self.problem(impairment, of: what) { throw error(location, problem.message, hint: problem.hint) }
    }

    /// The fastest `rate` a lab takes. Past it tbf's burst (10 ms of traffic) nears its
    /// 32-bit byte count (full at 3.4 tbit/s) and the spec's JSON its 63-bit integers (a rate
    /// of 9.2e18 bit/s would be recorded as another): no veth is that fast anyway.
    public static let maxRate = DataRate(bitsPerSecond: 1_000_000_000_000)

    /// What is wrong with an impairment, if anything — one rule for files and for
    /// `LabManager.impair`: a rate of at most `maxRate` at which tbf holds its burst (`TokenBucket.leastRate`),
    /// netem loss and duplicate within 0–100%, jitter only with a delay.
    public static func problem(_ impairment: Impairment, of what: String) -> (message: String, hint: String, parameter: String)? {
        if let tbf = impairment.rate, tbf.rate > maxRate {
            return ("rate \(tbf.rate) of \(what) is over \(maxRate), the most a lab link takes",
                    "give a rate of at most \(maxRate), or no rate", "rate")
        }
        if let tbf = impairment.rate, tbf.rate < tbf.leastRate {
            let least = tbf.leastRate
            return ("rate \(tbf.rate) of \(what) is below \(least), the least at which tbf holds its burst of \(tbf.burst) bytes",
                    "give a rate of at least \((least.bitsPerSecond + 999) / 1000)kbit", "rate")
        }
        guard let netem = impairment.emulation else { return nil }
        for (name, value) in [("loss", netem.loss), ("duplicate", netem.duplicate)] where !(0...100).contains(value) {
            return ("netem \(name) of \(what) is \(value)%, outside 0–100%", "write a percentage such as 0.5%", name)
        }
        if netem.jitter > .zero, netem.delay == .zero {
            return ("netem of \(what) has jitter but no delay", "give a delay too", "jitter")
        }
        return nil
    }
}
