import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport

// What tests read back from the fake kernel: links, addresses and routes in `ip`'s words,
// the requests it received (as operations or annotated bytes), and a snapshot of it all.
extension FakeKernel {
    /// The links of a namespace (the host's when nil), by index, each with the MAC the
    /// kernel reports (a bridge without a set MAC shows its lowest port's).
    public func links(in namespace: NetworkNamespace? = nil) -> [FakeLink] {
        guard let state = state(of: namespace) else { return [] }
        return state.sortedLinks.map { link in
            var link = link
            link.mac = state.effectiveMAC(of: link)
            return link
        }
    }

    /// The link called `name`, with the MAC the kernel reports.
    public func link(_ name: String, in namespace: NetworkNamespace? = nil) -> FakeLink? {
        links(in: namespace).first { $0.name == name }
    }

    /// Addresses as `ip -o addr` shows them: "10.88.0.1/24 dev br0".
    public func addresses(in namespace: NetworkNamespace? = nil) -> [String] {
        state(of: namespace).map(addressLines) ?? []
    }

    /// Routes as `ip route` shows them: "default via 10.88.0.1 dev eth0".
    public func routes(in namespace: NetworkNamespace? = nil) -> [String] {
        state(of: namespace).map(routeLines) ?? []
    }

    /// IPv6 lines end with the flags `ip` shows that matter here: nodad, tentative.
    private func addressLines(_ state: FakeNamespaceState) -> [String] {
        state.addresses.map { address in
            var line = "\(address.cidr) dev \(state.links[address.index]?.name ?? "#\(address.index)")"
            if address.cidr.family == .ipv6 {
                let flags = AddressFlags(rawValue: address.flags)
                if flags.contains(.noDAD) { line += " nodad" }
                if flags.contains(.tentative) { line += " tentative" }
            }
            return line
        }
    }

    private func routeLines(_ state: FakeNamespaceState) -> [String] {
        state.routes.map { route in
            var text = route.destination.map { $0.prefixLength == 0 ? "default" : $0.description } ?? "default"
            if let gateway = route.gateway { text += " via \(gateway)" }
            if let oif = route.oif { text += " dev \(state.links[oif]?.name ?? "#\(oif)")" }
            if route.proto == 2 { text += route.family == .ipv4 ? " proto kernel scope link" : " proto kernel" }
            if let source = route.source { text += " src \(source)" }
            if let metric = route.metric { text += " metric \(metric)" }
            if route.multipath { text += " (multipath)" }
            return text
        }
    }

    /// The sysctls the fake holds for a namespace (defaults and writes), as "key=value".
    public func sysctls(in namespace: NetworkNamespace? = nil) -> [String] {
        guard let state = state(of: namespace) else { return [] }
        return state.sysctls.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// How many requests have been received; pass it to `operations(since:)`.
    public var mark: Int { requests.count }

    /// What each message asked for, as "namespace: operation", in order.
    public func operations(since start: Int = 0) -> [String] {
        requests[start...].flatMap { request in request.request.entries.map { "\(request.namespace): \($0.operation)" } }
    }

    /// The rtnetlink requests, annotated byte by byte (`NetlinkAnnotator`), each headed by
    /// the namespace it went to.
    public func annotatedRequests(since start: Int = 0) -> String {
        requests[start...].filter { $0.bus == .route }
            .map { "# \($0.namespace)\n" + NetlinkAnnotator.annotate($0.request.bytes) }
            .joined(separator: "\n")
    }

    /// Everything a test compares to prove nothing changed: every live namespace's links,
    /// addresses and routes, and the host's nftables. Sysctls are left out (see `sysctls(in:)`
    /// and `sysctlWrites`): a network's rollback keeps the per-bridge ones it corrected.
    public func snapshot() -> String {
        var lines: [String] = []
        for state in states.values.sorted(by: { $0.inode < $1.inode }) where state.isAlive {
            lines.append("namespace \(state.label)")
            for link in state.sortedLinks {
                var text = "  link " + link.description
                if let peer = link.peer {
                    let peerState = states[peer.namespace]
                    text += " peer \(peerState?.links[peer.index]?.name ?? "?")@\(peerState?.label ?? "?")"
                }
                lines.append(text)
            }
            lines += addressLines(state).map { "  address " + $0 }
            lines += routeLines(state).map { "  route " + $0 }
        }
        lines.append(nftables().ruleset)
        return lines.joined(separator: "\n")
    }
}
