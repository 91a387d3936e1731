public import BerthCore

/// A static route of a node, written as `ip route` does: `default via 10.0.1.1`,
/// `10.0.3.0/24 via 10.0.12.2`, `10.0.4.0/24 dev eth2`, with an optional `metric N`.
public struct LabRoute: Sendable, Hashable, CustomStringConvertible {
    /// nil for the default route.
    public var destination: CIDR?
    public var gateway: IPAddress?
    public var device: InterfaceName?
    public var metric: UInt32?
    /// For a default route without a gateway: which family (IPv4 unless said).
    public var family: IPFamily
    public var location: SourceLocation?

    public init(destination: CIDR?, gateway: IPAddress? = nil, device: InterfaceName? = nil, metric: UInt32? = nil,
                family: IPFamily? = nil, location: SourceLocation? = nil) {
        // `0.0.0.0/0` and `::/0` are the default route, as the kernel reports it.
        self.destination = destination.flatMap { $0.prefixLength == 0 ? nil : $0.network }
        self.gateway = gateway
        self.device = device
        self.metric = metric
        self.family = family ?? destination?.family ?? gateway?.family ?? .ipv4
        self.location = location
    }

    /// Parses `DEST [via GW] [dev IFACE] [metric N]`; DEST is `default`, `default6` or a CIDR
    /// (`0.0.0.0/0` and `::/0` are `default` and `default6`; a CIDR with bits set past its
    /// prefix length is refused, as `ip route` refuses it).
    public init(parsing text: String, location: SourceLocation? = nil) throws(BerthError) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let usage = "write a route as DEST [via GATEWAY] [dev IFACE] [metric N], DEST being default, default6 or a CIDR"
        guard let first = words.first else { throw .invalid("empty route", hint: usage) }
        var destination: CIDR?
        var family: IPFamily?
        switch first {
        case "default": break
        case "default6": family = .ipv6
        default:
            let cidr = try CIDR(parsing: first.contains("/") ? first : first + (first.contains(":") ? "/128" : "/32"))
            // `ip route` refuses host bits ("Invalid prefix for given prefix length").
            guard cidr == cidr.network else {
                throw .invalid("route \"\(text)\": destination \(cidr) has bits set past its prefix length", hint: "write the network, \(cidr.network)")
            }
            destination = cidr
            if cidr.prefixLength == 0 { family = cidr.family }
        }
        var gateway: IPAddress?, device: InterfaceName?, metric: UInt32?
        var index = 1
        while index < words.count {
            guard index + 1 < words.count else { throw .invalid("route \"\(text)\": \(words[index]) needs a value", hint: usage) }
            let value = words[index + 1]
            switch words[index] {
            case "via" where gateway == nil: gateway = try IPAddress(parsing: value)
            case "dev" where device == nil: device = try InterfaceName(value)
            case "metric" where metric == nil:
                guard let number = UInt32(value) else { throw .invalid("route \"\(text)\": metric \(value) is not a number", hint: usage) }
                metric = number
            default: throw .invalid("route \"\(text)\": unexpected \(words[index])", hint: usage)
            }
            index += 2
        }
        guard gateway != nil || device != nil else { throw .invalid("route \"\(text)\" needs a gateway (via) or a device (dev)", hint: usage) }
        let resolved = destination?.family ?? gateway?.family ?? family ?? .ipv4
        if let gateway, gateway.family != resolved {
            throw .invalid("route \"\(text)\": gateway \(gateway) is \(gateway.family) but the destination is \(resolved)", hint: "use one family in a route")
        }
        if let family, family != resolved {
            throw .invalid("route \"\(text)\": \(first) with an \(resolved) gateway", hint: family == .ipv6 ? "use default for IPv4" : "use default6 for IPv6")
        }
        self.init(destination: destination, gateway: gateway, device: device, metric: metric, family: resolved, location: location)
    }

    public var description: String {
        var text = destination.map(\.description) ?? (family == .ipv6 ? "default6" : "default")
        if let gateway { text += " via \(gateway)" }
        if let device { text += " dev \(device)" }
        if let metric { text += " metric \(metric)" }
        return text
    }

    /// The route as the kernel reports it, to compare: no location, IPv6's implicit metric
    /// 1024 spelled out (for no metric and for metric 0, which the kernel makes 1024) and
    /// IPv4's metric 0 (the kernel's default, reported as none) left out. The device stays:
    /// `matches` leaves it out for a route that has a gateway and names none.
    var comparable: LabRoute {
        var copy = self
        copy.location = nil
        if copy.family == .ipv6, (copy.metric ?? 0) == 0 { copy.metric = 1024 }
        if copy.family == .ipv4, copy.metric == 0 { copy.metric = nil }
        return copy
    }

    /// Whether `installed` (a route read from the kernel, with the device it goes through)
    /// is this route of a file: a route with a gateway and no `dev` takes whichever device
    /// the kernel filled in; one that names its device wants that one.
    func matches(_ installed: LabRoute) -> Bool {
        let wanted = comparable
        var installed = installed.comparable
        if wanted.gateway != nil, wanted.device == nil { installed.device = nil }
        return wanted == installed
    }
}
