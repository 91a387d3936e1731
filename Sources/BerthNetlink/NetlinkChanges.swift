internal import CMNL
public import BerthCore
public import BerthNamespace

/// rtnetlink changes recorded for one `sendmsg`: build them in `RouteNetlink.apply`, or
/// record them here and pass them to `RouteNetlink.send`.
///
/// Each verb appends one message with its own sequence number and a sentence naming it, so
/// a refusal says which change failed. A link given by name is resolved to an index (one
/// round trip) only where the kernel needs an index: a master, an address, a route.
public struct NetlinkChanges {
    let handle: RouteNetlink
    /// The messages so far.
    public private(set) var request = NetlinkRequest()
    private var contexts: [UInt32: ErrorContext] = [:]

    init(handle: RouteNetlink) { self.handle = handle }

    /// How many messages are recorded.
    public var count: Int { request.entries.count }

    // MARK: - Links

    /// Creates a link of `kind` that needs no type-specific data (a bridge, a dummy, …).
    public mutating func createLink(named name: InterfaceName, kind: LinkKind, mtu: UInt32? = nil, mac: MACAddress? = nil,
                                    up: Bool = false, master: LinkReference? = nil) throws(BerthError) {
        let masterIndex = try master.map { ref throws(BerthError) in try resolve(ref) }
        try appendLink(RTM.newLink, flags: Self.createFlags | NetlinkFlags.echo, link: nil,
                       flags: up ? IFF.up : 0, change: up ? IFF.up : 0,
                       operation: "create \(kind) \(name)\(handle.whereabouts)",
                       context: .init(alreadyExists: exists(name), notFound: masterIndex.map { _ in missing(master) },
                                      unsupported: BerthError(.unsupported, "link type \(kind) is not supported by this kernel",
                                                              hint: "use bridge or veth, or load the kernel module for \(kind)"))) { b in
            b.put(IFLA.ifname, string: name.rawValue)
            if let mtu { b.put(IFLA.mtu, u32: mtu) }
            if let mac { b.put(IFLA.address, bytes: mac.bytes) }
            if let masterIndex { b.put(IFLA.master, u32: UInt32(bitPattern: masterIndex)) }
            b.nest(IFLA.linkinfo) { b in b.put(IFLA.infoKind, string: kind.description) }
        }
    }

    /// Creates a bridge.
    public mutating func createBridge(named name: InterfaceName, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool = false) throws(BerthError) {
        try createLink(named: name, kind: .bridge, mtu: mtu, mac: mac, up: up)
    }

    /// Creates a veth pair in one message: `name` here, `peer` born directly in
    /// `peerNamespace` (here if nil). The host end may be enslaved to `master` and set up in
    /// the same message; the peer starts down (set it up from its own namespace).
    public mutating func createVeth(named name: InterfaceName, peer: InterfaceName, peerNamespace: NetworkNamespace? = nil,
                                    master: LinkReference? = nil, up: Bool = false, mtu: UInt32? = nil,
                                    mac: MACAddress? = nil, peerMAC: MACAddress? = nil) throws(BerthError) {
        let masterIndex = try master.map { ref throws(BerthError) in try resolve(ref) }
        let peerWhere = peerNamespace.map { " in network namespace \($0)" } ?? ""
        try appendLink(RTM.newLink, flags: Self.createFlags | NetlinkFlags.echo, link: nil,
                       flags: up ? IFF.up : 0, change: up ? IFF.up : 0,
                       operation: "create veth \(name)\(handle.whereabouts) with peer \(peer)\(peerWhere)",
                       context: .init(alreadyExists: BerthError(.alreadyExists, "link \(name) or \(peer)\(peerWhere) already exists",
                                                                hint: "choose other names or delete the old link with 'berth link del'"),
                                      notFound: masterIndex.map { _ in missing(master) })) { b in
            b.put(IFLA.ifname, string: name.rawValue)
            if let mtu { b.put(IFLA.mtu, u32: mtu) }
            if let mac { b.put(IFLA.address, bytes: mac.bytes) }
            if let masterIndex { b.put(IFLA.master, u32: UInt32(bitPattern: masterIndex)) }
            b.nest(IFLA.linkinfo) { b in
                b.put(IFLA.infoKind, string: "veth")
                b.nest(IFLA.infoData) { b in
                    b.nest(IFLA.vethInfoPeer) { b in
                        // The peer's own ifinfomsg sits inside the attribute, before its attributes.
                        b.putFamilyHeader(ifinfomsg())
                        b.put(IFLA.ifname, string: peer.rawValue)
                        if let mtu { b.put(IFLA.mtu, u32: mtu) }
                        if let peerMAC { b.put(IFLA.address, bytes: peerMAC.bytes) }
                        if let peerNamespace { b.put(IFLA.netNSFD, u32: UInt32(bitPattern: peerNamespace.descriptor)) }
                    }
                }
            }
        }
    }

    /// Deletes a link (and, for a veth, its peer).
    public mutating func deleteLink(_ link: LinkReference) throws(BerthError) {
        try appendLink(RTM.delLink, flags: 0, link: link, operation: "delete link \(link)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { _ in }
    }

    /// Sets a link administratively up.
    public mutating func setUp(_ link: LinkReference) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, flags: IFF.up, change: IFF.up,
                       operation: "set link \(link) up\(handle.whereabouts)", context: .init(notFound: missing(link))) { _ in }
    }

    /// Sets a link administratively down.
    public mutating func setDown(_ link: LinkReference) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, flags: 0, change: IFF.up,
                       operation: "set link \(link) down\(handle.whereabouts)", context: .init(notFound: missing(link))) { _ in }
    }

    /// Enslaves a link to `master` (a bridge), or frees it when `master` is nil.
    public mutating func setMaster(_ link: LinkReference, to master: LinkReference?) throws(BerthError) {
        let index = try master.map { ref throws(BerthError) in try resolve(ref) } ?? 0
        let what = master.map { "set master of \(link) to \($0)" } ?? "remove \(link) from its master"
        try appendLink(RTM.newLink, flags: 0, link: link, operation: what + handle.whereabouts,
                       context: .init(notFound: missing(link))) { b in
            b.put(IFLA.master, u32: UInt32(bitPattern: index))
        }
    }

    /// Sets a link's MTU.
    public mutating func setMTU(_ link: LinkReference, to mtu: UInt32) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "set mtu of \(link) to \(mtu)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { b in b.put(IFLA.mtu, u32: mtu) }
    }

    /// Sets a link's hardware address.
    public mutating func setMAC(_ link: LinkReference, to mac: MACAddress) throws(BerthError) {
        guard !mac.isMulticast, !mac.isZero else {
            throw .invalid("MAC address \(mac) cannot be given to a link", hint: "use a unicast, non-zero address such as 02:42:0a:58:00:02")
        }
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "set mac of \(link) to \(mac)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { b in b.put(IFLA.address, bytes: mac.bytes) }
    }

    /// Sets a link's alias, or clears it when `alias` is nil or empty.
    public mutating func setAlias(_ link: LinkReference, to alias: String?) throws(BerthError) {
        let bytes = Array((alias ?? "").utf8)
        guard bytes.count < 256, !bytes.contains(0) else {
            throw .invalid("alias of \(link) is over 255 bytes or contains NUL", hint: "use a shorter alias")
        }
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "set alias of \(link)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { b in
            // Without a terminating NUL, as the kernel measures the alias by attribute length
            // and an empty attribute clears it.
            b.put(IFLA.ifalias, bytes: bytes)
        }
    }

    /// Moves a link into another namespace. Its addresses and routes are lost; it arrives down.
    public mutating func move(_ link: LinkReference, to namespace: NetworkNamespace) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "move link \(link)\(handle.whereabouts) to network namespace \(namespace)",
                       context: .init(alreadyExists: BerthError(.alreadyExists, "network namespace \(namespace) already has a link named like \(link)",
                                                                hint: "rename or delete the link there first"),
                                      notFound: missing(link))) { b in
            b.put(IFLA.netNSFD, u32: UInt32(bitPattern: namespace.descriptor))
        }
    }

    /// Turns hairpin mode of a bridge port on or off: with it on, the bridge may send a frame
    /// back out of the port it came in on, which a container reaching its own published port
    /// through the host needs when br_netfilter bridges the DNATed packet.
    public mutating func setHairpin(_ link: LinkReference, _ on: Bool) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "set hairpin \(on ? "on" : "off") on bridge port \(link)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { b in
            b.nest(IFLA.linkinfo) { b in
                b.put(IFLA.infoSlaveKind, string: "bridge")
                b.nest(IFLA.infoSlaveData) { b in b.put(IFLA.brportMode, u8: on ? 1 : 0) }
            }
        }
    }

    // MARK: - Addresses

    /// Adds an address: IPv4 gets IFA_LOCAL, IFA_ADDRESS and, below /31, a broadcast address.
    public mutating func addAddress(_ cidr: CIDR, to link: LinkReference, flags: AddressFlags = [], label: String? = nil) throws(BerthError) {
        let index = try resolve(link)
        try appendAddress(RTM.newAddr, flags: Self.createFlags, cidr: cidr, index: index, addressFlags: flags, label: label,
                          operation: "add address \(cidr) to \(link)\(handle.whereabouts)",
                          context: .init(alreadyExists: BerthError(.alreadyExists, "address \(cidr) is already on \(link)\(handle.whereabouts)",
                                                                   hint: "list addresses with 'berth addr ls\(handle.netnsHint)'"),
                                         notFound: missing(link)))
    }

    /// Removes an address from a link.
    public mutating func deleteAddress(_ cidr: CIDR, from link: LinkReference) throws(BerthError) {
        let index = try resolve(link)
        let absent = BerthError(.notFound, "address \(cidr) is not on \(link)\(handle.whereabouts)",
                                hint: "list addresses with 'berth addr ls --dev \(link)\(handle.netnsHint)'")
        try appendAddress(RTM.delAddr, flags: 0, cidr: cidr, index: index, addressFlags: [], label: nil,
                          operation: "delete address \(cidr) from \(link)\(handle.whereabouts)",
                          context: .init(notFound: absent, alsoNotFound: [Self.eaddrnotavail]))
    }

    // MARK: - Routes

    /// Adds a route to `destination` (the default route if nil) via a gateway, a device or
    /// both, in `table` (main by default). `family` picks the default route's family when
    /// neither a destination nor a gateway says it (IPv4 if nil).
    public mutating func addRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                                  family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil,
                                  source: IPAddress? = nil, appendIfExists: Bool = false) throws(BerthError) {
        guard gateway != nil || device != nil else {
            throw .invalid("a route to \(Self.text(destination)) needs a gateway or a device", hint: "give --via IP, --dev NAME or both")
        }
        let spec = try routeSpec(destination, gateway, device, family, table, metric, source)
        // `appendIfExists` is `ip route append`: a route to the same destination that is
        // already there keeps precedence, so a second network never steals the default route.
        let flags = appendIfExists ? NetlinkFlags.create | NetlinkFlags.append : Self.createFlags
        try appendRoute(RTM.newRoute, flags: flags, spec, operation: "add route \(spec)\(handle.whereabouts)",
                        context: .init(alreadyExists: BerthError(.alreadyExists, "a route to \(Self.text(destination)) already exists in table \(Self.tableName(table))\(handle.whereabouts)",
                                                                 hint: "delete it first, or list routes with 'berth route ls\(handle.netnsHint)'"),
                                       notFound: device.map { missing($0) }))
    }

    /// Deletes the route that matches every field given.
    public mutating func deleteRoute(to destination: CIDR?, via gateway: IPAddress? = nil, device: LinkReference? = nil,
                                     family: IPFamily? = nil, table: UInt32 = RouteTable.main, metric: UInt32? = nil) throws(BerthError) {
        let spec = try routeSpec(destination, gateway, device, family, table, metric, nil)
        let absent = BerthError(.notFound, "no route \(spec)\(handle.whereabouts)", hint: "list routes with 'berth route ls\(handle.netnsHint)'")
        try appendRoute(RTM.delRoute, flags: 0, spec, operation: "delete route \(spec)\(handle.whereabouts)",
                        context: .init(notFound: absent))
    }

    // MARK: - Errors

    /// Turns the kernel's refusal into a BerthError that names the object at fault.
    func translate(_ error: NetlinkError) -> BerthError {
        guard let context = contexts[error.sequence] else { return error.berthError }
        if error.isNotFound || context.alsoNotFound.contains(error.errno.code), let notFound = context.notFound {
            return BerthError(.notFound, notFound.message, hint: notFound.hint, cause: error)
        }
        if error.isAlreadyExists, let exists = context.alreadyExists {
            return BerthError(.alreadyExists, exists.message, hint: exists.hint, cause: error)
        }
        if error.isNotSupported, let unsupported = context.unsupported {
            return BerthError(.unsupported, unsupported.message, hint: unsupported.hint, cause: error)
        }
        return error.berthError
    }

    struct ErrorContext {
        var alreadyExists: BerthError?
        var notFound: BerthError?
        /// Errnos besides ENOENT/ENODEV/ESRCH that mean "not there" for this message.
        var alsoNotFound: Set<Int32> = []
        var unsupported: BerthError?
    }

    private static let eaddrnotavail: Int32 = 99

    private func missing(_ link: LinkReference?) -> BerthError {
        BerthError(.notFound, "link \(link.map(\.description) ?? "?") does not exist\(handle.whereabouts)",
                   hint: "list links with 'berth link ls\(handle.netnsHint)'")
    }

    private func exists(_ name: InterfaceName) -> BerthError {
        BerthError(.alreadyExists, "link \(name) already exists\(handle.whereabouts)",
                   hint: "choose another name or delete it with 'berth link del \(name)\(handle.netnsHint)'")
    }

    // MARK: - Message building

    private static let createFlags = NetlinkFlags.create | NetlinkFlags.exclusive

    /// The index of `link`, asking the kernel when it is given by name.
    private func resolve(_ link: LinkReference) throws(BerthError) -> Int32 {
        try handle.index(of: link)
    }

    private mutating func append(_ type: UInt16, flags: UInt16, operation: String, context: ErrorContext,
                                 _ build: (inout NetlinkMessageBuilder) -> Void) throws(BerthError) {
        let sequence = handle.transport.nextSequence()
        try request.append(type: type, flags: flags, sequence: sequence, operation: operation, build)
        contexts[sequence] = context
    }

    /// A link message: ifinfomsg naming `link` by index, or by IFLA_IFNAME when given by name.
    private mutating func appendLink(_ type: UInt16, flags messageFlags: UInt16, link: LinkReference?, flags: UInt32 = 0, change: UInt32 = 0,
                                     operation: String, context: ErrorContext,
                                     _ build: (inout NetlinkMessageBuilder) -> Void) throws(BerthError) {
        var header = ifinfomsg()
        header.ifi_flags = flags
        header.ifi_change = change
        if case .index(let index) = link { header.ifi_index = index }
        try append(type, flags: messageFlags, operation: operation, context: context) { b in
            b.putFamilyHeader(header)
            if case .name(let name) = link { b.put(IFLA.ifname, string: name.rawValue) }
            build(&b)
        }
    }

    private mutating func appendAddress(_ type: UInt16, flags messageFlags: UInt16, cidr: CIDR, index: Int32, addressFlags: AddressFlags,
                                        label: String?, operation: String, context: ErrorContext) throws(BerthError) {
        if let label {
            guard cidr.family == .ipv4 else { throw .invalid("address labels are IPv4 only; \(cidr) is IPv6", hint: "drop the label") }
            _ = try InterfaceName(label)
        }
        var header = ifaddrmsg()
        header.ifa_family = AddressFamily.of(cidr.family)
        header.ifa_prefixlen = UInt8(cidr.prefixLength)
        header.ifa_flags = UInt8(truncatingIfNeeded: addressFlags.rawValue)
        header.ifa_scope = cidr.address.isLoopback && type == RTM.newAddr ? AddressScope.host.rawValue : 0
        header.ifa_index = UInt32(bitPattern: index)
        try append(type, flags: messageFlags, operation: operation, context: context) { b in
            b.putFamilyHeader(header)
            let bytes = cidr.address.bytes
            if cidr.family == .ipv4 {
                b.put(IFA.local, bytes: bytes)
                b.put(IFA.address, bytes: bytes)
                if type == RTM.newAddr, cidr.prefixLength < 31 { b.put(IFA.broadcast, bytes: cidr.lastAddress.bytes) }
            } else {
                b.put(IFA.address, bytes: bytes)
            }
            if let label { b.put(IFA.label, string: label) }
            if addressFlags.rawValue > 0xFF { b.put(IFA.flags, u32: addressFlags.rawValue) }
        }
    }

    private func routeSpec(_ destination: CIDR?, _ gateway: IPAddress?, _ device: LinkReference?, _ family: IPFamily?,
                           _ table: UInt32, _ metric: UInt32?, _ source: IPAddress?) throws(BerthError) -> RouteSpec {
        let resolvedFamily = destination?.family ?? gateway?.family ?? family ?? .ipv4
        for (what, address) in [("gateway", gateway), ("source", source)] {
            if let address, address.family != resolvedFamily {
                throw .invalid("\(what) \(address) is \(address.family) but the route to \(Self.text(destination)) is \(resolvedFamily)",
                               hint: "use addresses of one family in a route")
            }
        }
        if let family, family != resolvedFamily {
            throw .invalid("route to \(Self.text(destination)) is \(resolvedFamily), not \(family)", hint: "drop the family or fix the addresses")
        }
        let index = try device.map { ref throws(BerthError) in try resolve(ref) }
        return RouteSpec(family: resolvedFamily, destination: destination?.prefixLength == 0 ? nil : destination?.network,
                         gateway: gateway, device: device, index: index, table: table, metric: metric, source: source)
    }

    private mutating func appendRoute(_ type: UInt16, flags messageFlags: UInt16, _ spec: RouteSpec, operation: String,
                                      context: ErrorContext) throws(BerthError) {
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
        try append(type, flags: messageFlags, operation: operation, context: context) { b in
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
