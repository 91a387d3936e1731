internal import CMNL
public import BerthCore

extension RouteNetlink {
    /// The routes of the namespace: of one family if given, of one table (main by default;
    /// nil for every table). Cached routes are left out.
    public func routes(family: IPFamily? = nil, table: UInt32? = RouteTable.main) throws(BerthError) -> [Route] {
        var header = rtmsg()
        header.rtm_family = family.map(AddressFamily.of) ?? AddressFamily.unspec
        let messages = try dump(type: RTM.getRoute, operation: "list routes\(whereabouts)") { b in b.putFamilyHeader(header) }
        return messages.compactMap(Route.init(message:)).filter { route in
            (family == nil || route.family == family) && (table == nil || route.table == table)
        }
    }

    /// Adds a route; see `NetlinkChanges.addRoute`.
    public func addRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                         family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil,
                         source: IPAddress? = nil) throws(BerthError) {
        try apply { changes throws(BerthError) in
            try changes.addRoute(to: destination, via: gateway, device: device, family: family, table: table, metric: metric, source: source)
        }
    }

    /// Deletes the route matching every field given.
    public func deleteRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                            family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil) throws(BerthError) {
        try apply { changes throws(BerthError) in
            try changes.deleteRoute(to: destination, via: gateway, device: device, family: family, table: table, metric: metric)
        }
    }
}
