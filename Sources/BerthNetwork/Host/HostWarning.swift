public import BerthCore

/// Something an operation did that changes the host beyond Berth's own objects, or found
/// on the host that keeps Berth's networks from working (another firewall's drop), which
/// the caller should tell its user although the operation succeeded. Returned, never printed:
/// each front end words and shows it its own way (the CLI on stderr, berth-cni in its log).
public struct HostWarning: Sendable, Hashable, CustomStringConvertible {
    /// The warnings there are, each with what it needs to be worded.
    public enum Kind: Sendable, Hashable {
        /// Berth turned `net.ipv6.conf.all.forwarding` on while `interface` (with
        /// `accept_ra=1`) held an IPv6 default route learned from router advertisements:
        /// a forwarding interface ignores them from now on, so the host's own route is not
        /// refreshed and goes when its lifetime ends, unless `accept_ra` is 2 there.
        case routerAdvertisementsIgnored(interface: String, gateway: IPAddress?)
        /// Berth turned `net.ipv4.ip_forward` on (it was 0): the host now routes IPv4
        /// between all its interfaces, not only for Berth's bridges.
        case ipv4ForwardingEnabled
        /// Berth turned `net.ipv6.conf.all.forwarding` on (it was 0): the host now routes
        /// IPv6 between all its interfaces, not only for Berth's bridges.
        case ipv6ForwardingEnabled
        /// Another firewall's forward chain drops what Berth forwards (`ForwardDrop`).
        case forwardDropped(ForwardDrop)
    }

    /// What happened or was found.
    public var kind: Kind

    /// A warning of `kind`.
    public init(_ kind: Kind) { self.kind = kind }

    /// The warning in one line for a user: what changed or was found, and what it means for
    /// the host (with the sysctl to set, for router advertisements).
    public var description: String {
        switch kind {
        case .routerAdvertisementsIgnored(let interface, let gateway):
            let via = gateway.map { " via \($0)" } ?? ""
            return "IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1), so \(interface) ignores router advertisements: "
                + "its IPv6 default route\(via), learned from them, is no longer renewed and goes when its lifetime ends "
                + "(set net.ipv6.conf.\(interface).accept_ra=2 to keep taking them while forwarding)"
        case .ipv4ForwardingEnabled:
            return "IPv4 forwarding is now on (net.ipv4.ip_forward=1, it was 0): this host now routes IPv4 packets between all its interfaces, "
                + "not only for Berth's bridges (Berth's table filters only what enters or leaves its bridges)"
        case .ipv6ForwardingEnabled:
            return "IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1, it was 0): this host now routes IPv6 packets between all its interfaces, "
                + "not only for Berth's bridges (Berth's table filters only what enters or leaves its bridges)"
        case .forwardDropped(let drop):
            return drop.description
        }
    }
}
