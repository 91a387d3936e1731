internal import CMNL
public import BerthCore

/// Route changes: add (or append) and delete, described as `ip route` prints them.
extension NetlinkChanges {
    /// Adds a route to `destination` (the default route if nil) via a gateway, a device or
    /// both, in `table` (main by default). `family` picks the default route's family when
    /// neither a destination nor a gateway says it (IPv4 if nil).
    ///
    /// A route to the same destination with the same metric may already be there. By
    /// default that is refused (EEXIST). `appendIfExists` is `ip route append`: for IPv4 the
    /// route goes behind the existing one, which keeps precedence — but for IPv6 the kernel
    /// joins the two into one multipath route (docs/ipv6.md). `keepIfExists` leaves the
    /// existing route alone and counts the change as done, for either family.
    public mutating func addRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                                  family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil,
                                  source: IPAddress? = nil, appendIfExists: Bool = false, keepIfExists: Bool = false) throws(BerthError) {
        guard !(appendIfExists && keepIfExists) else {
            throw .invalid("a route cannot both be appended to and keep an existing one", hint: "choose appendIfExists or keepIfExists")
        }
        guard gateway != nil || device != nil else {
            throw .invalid("a route to \(Self.text(destination)) needs a gateway or a device", hint: "give a gateway, a device or both",
                           object: handle.object(.route, Self.text(destination)))
        }
        let spec = try routeSpec(destination, gateway, device, family, table, metric, source)
        // `appendIfExists` is `ip route append`: a route to the same destination that is
        // already there keeps precedence, so a second network never steals the default route.
        let flags = appendIfExists ? NetlinkFlags.create | NetlinkFlags.append : Self.createFlags
        try appendRoute(RTM.newRoute, flags: flags, spec, operation: "add route \(spec)\(handle.whereabouts)\(keepIfExists ? " unless one exists" : "")",
                        tolerated: keepIfExists ? [Self.eexist] : [],
                        context: .init(alreadyExists: BerthError(.alreadyExists, "a route to \(Self.text(destination)) already exists in table \(Self.tableName(table))\(handle.whereabouts)",
                                                                 object: handle.object(.route, Self.text(destination)),
                                                                 remedy: .listExisting(.route)),
                                       notFound: device.map { missing($0) }))
    }

    /// Deletes the route that matches every field given.
    public mutating func deleteRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                                     family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil) throws(BerthError) {
        let spec = try routeSpec(destination, gateway, device, family, table, metric, nil)
        let absent = BerthError(.notFound, "no route \(spec)\(handle.whereabouts)", object: handle.object(.route, spec.description),
                                remedy: .listExisting(.route))
        try appendRoute(RTM.delRoute, flags: 0, spec, operation: "delete route \(spec)\(handle.whereabouts)",
                        context: .init(notFound: absent))
    }

    /// Checks a route's addresses agree on one family and resolves its device.
    private func routeSpec(_ destination: CIDR?, _ gateway: IPAddress?, _ device: LinkReference?, _ family: IPFamily?,
                           _ table: UInt32, _ metric: UInt32?, _ source: IPAddress?) throws(BerthError) -> RouteSpec {
        let resolvedFamily = destination?.family ?? gateway?.family ?? family ?? .ipv4
        // Each address checked in turn, not a loop over an array of (name, address) tuples:
        // that array's type costs a process a metadata build at first use (perf8).
        func check(_ what: String, _ address: IPAddress?) throws(BerthError) {
            if let address, address.family != resolvedFamily {
                throw .invalid("\(what) \(address) is \(address.family) but the route to \(Self.text(destination)) is \(resolvedFamily)",
                               hint: "use addresses of one family in a route")
            }
        }
        try check("gateway", gateway)
        try check("source", source)
        if let family, family != resolvedFamily {
            throw .invalid("route to \(Self.text(destination)) is \(resolvedFamily), not \(family)", hint: "drop the family or fix the addresses")
        }
        let index = try device.map { ref throws(BerthError) in try resolve(ref) }
        return RouteSpec(family: resolvedFamily, destination: destination?.prefixLength == 0 ? nil : destination?.network,
                         gateway: gateway, device: device, index: index, table: table, metric: metric, source: source)
    }

    /// A route message; a delete matches any protocol, type and scope.
    private mutating func appendRoute(_ type: UInt16, flags messageFlags: UInt16, _ spec: RouteSpec, operation: String,
                                      tolerated: [Int32] = [], context: ErrorContext) throws(BerthError) {
        var header = rtmsg()
        header.rtm_family = AddressFamily.of(spec.family)
        header.rtm_dst_len = UInt8(spec.destination?.prefixLength ?? 0)
        header.rtm_table = spec.table < 256 ? UInt8(spec.table) : 0
        if type == RTM.newRoute {
            header.rtm_protocol = RouteProtocol.static.rawValue
            // A route with no gateway reaches hosts on the link itself, as `ip route` decides.
            header.rtm_scope = spec.gateway == nil && spec.family == .ipv4 ? AddressScope.link.rawValue : AddressScope.universe.rawValue
            header.rtm_type = RouteType.unicast.rawValue
        } else {
            // Zeros and RT_SCOPE_NOWHERE match any protocol, type and scope.
            header.rtm_scope = routeScopeNowhere
        }
        try append(type, flags: messageFlags, operation: operation, context: context, tolerated: tolerated) { b in
            b.putFamilyHeader(header)
            if spec.table >= 256 { b.put(RTA.table, u32: spec.table) }
            if let destination = spec.destination { b.put(RTA.dst, bytes: destination.address.bytes) }
            if let gateway = spec.gateway { b.put(RTA.gateway, bytes: gateway.bytes) }
            if let index = spec.index { b.put(RTA.oif, u32: UInt32(bitPattern: index)) }
            if let metric = spec.metric { b.put(RTA.priority, u32: metric) }
            if let source = spec.source { b.put(RTA.prefsrc, bytes: source.bytes) }
        }
    }

    private struct RouteSpec: CustomStringConvertible {
        let family: IPFamily
        let destination: CIDR?
        let gateway: IPAddress?
        let device: LinkReference?
        let index: Int32?
        let table: UInt32
        let metric: UInt32?
        let source: IPAddress?

        var description: String {
            var text = NetlinkChanges.text(destination)
            if destination == nil, family == .ipv6 { text += " (IPv6)" }
            if let gateway { text += " via \(gateway)" }
            if let device { text += " dev \(device)" }
            if table != RouteTable.main { text += " table \(NetlinkChanges.tableName(table))" }
            if let metric { text += " metric \(metric)" }
            return text
        }
    }

    static func text(_ destination: CIDR?) -> String {
        guard let destination, destination.prefixLength > 0 else { return "default" }
        return destination.description
    }

    static func tableName(_ table: UInt32) -> String {
        switch table {
        case RouteTable.main: "main"
        case RouteTable.local: "local"
        case RouteTable.default: "default"
        default: "\(table)"
        }
    }
}
