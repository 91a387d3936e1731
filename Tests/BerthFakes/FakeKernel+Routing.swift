import BerthCore
import BerthNetlink

// RTM_{NEW,DEL,GET}ADDR and RTM_{NEW,DEL,GET}ROUTE, as the kernel answers them.
extension FakeKernel {
    private static func family(_ code: UInt8) -> IPFamily? {
        switch code {
        case 2: .ipv4
        case 10: .ipv6
        default: nil
        }
    }

    private static func code(_ family: IPFamily) -> UInt8 { family == .ipv4 ? 2 : 10 }

    // MARK: - Addresses

    func newAddress(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        var address = try readAddress(message, in: state)
        if address.cidr.family == .ipv6, let errno = ipv6AddressRefusal(on: address.index, in: state) { throw Refusal(errno) }
        if state.addresses.contains(where: { $0.index == address.index && $0.cidr == address.cidr }) {
            if message.has(Flag.excl) { throw Refusal(FakeErrno.exists) }
            return []
        }
        if address.cidr.family == .ipv6 {
            address.flags |= AddressFlags.permanent.rawValue
            if !AddressFlags(rawValue: address.flags).contains(.noDAD), needsDAD(on: address.index, in: state) {
                address.flags |= AddressFlags.tentative.rawValue
            }
        }
        state.addresses.append(address)
        state.refreshConnectedRoutes()
        return []
    }

    func deleteAddress(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        let address = try readAddress(message, in: state)
        guard let position = state.addresses.firstIndex(where: { $0.index == address.index && $0.cidr == address.cidr }) else {
            throw Refusal(FakeErrno.addressNotAvailable)
        }
        state.addresses.remove(at: position)
        state.refreshConnectedRoutes()
        return []
    }

    private func readAddress(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> FakeAddress {
        guard message.body.count >= 8, let family = Self.family(message.body[0]) else { throw Refusal(FakeErrno.invalid) }
        let index = Int32(bitPattern: Wire.u32(message.body, 4))
        guard let link = state.links[index] else { throw Refusal(FakeErrno.noDevice) }
        let attributes = WireAttributes(message.body, from: 8)
        guard let bytes = attributes[IFA.local] ?? attributes[IFA.address], let ip = IPAddress(bytes: bytes), ip.family == family,
              let cidr = try? CIDR(address: ip, prefixLength: Int(message.body[1])) else { throw Refusal(FakeErrno.invalid) }
        let broadcast = attributes[IFA.broadcast].flatMap { IPAddress(bytes: $0) }
        // IFA_FLAGS, when present, supersedes ifa_flags (it carries the flags above 0xFF).
        let flags = attributes.u32(IFA.flags) ?? UInt32(message.body[2])
        return FakeAddress(index: index, cidr: cidr, broadcast: broadcast, label: family == .ipv4 ? (attributes.string(IFA.label) ?? link.name) : nil,
                           flags: flags)
    }

    func getAddresses(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        guard message.body.count >= 8 else { throw Refusal(FakeErrno.invalid) }
        let family = Self.family(message.body[0])
        let index = Int32(bitPattern: Wire.u32(message.body, 4))
        // Strict checking: the kernel filters by family and index itself.
        return state.addresses
            .filter { (family == nil || $0.cidr.family == family) && (index == 0 || $0.index == index) }
            .map { encode($0, sequence: message.sequence) }
    }

    private func encode(_ address: FakeAddress, sequence: UInt32) -> NetlinkMessage {
        let scope: UInt8 = address.cidr.address.isLoopback ? 254 : address.cidr.address.ipv6?.isLinkLocal == true ? 253 : 0
        var body: [UInt8] = [Self.code(address.cidr.family), UInt8(address.cidr.prefixLength), UInt8(truncatingIfNeeded: address.flags), scope]
            + Wire.le32(UInt32(bitPattern: address.index))
        body += Wire.attribute(IFA.address, address.cidr.address.bytes)
        if address.cidr.family == .ipv4 { body += Wire.attribute(IFA.local, address.cidr.address.bytes) }
        if let label = address.label { body += Wire.string(IFA.label, label) }
        if let broadcast = address.broadcast { body += Wire.attribute(IFA.broadcast, broadcast.bytes) }
        if address.flags != 0 { body += Wire.u32(IFA.flags, address.flags) }
        return Wire.message(type: RTM.newAddr, sequence: sequence, body: body)
    }

    // MARK: - Routes

    func newRoute(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        var route = try readRoute(message)
        if let oif = route.oif {
            guard let link = state.links[oif] else { throw Refusal(FakeErrno.noDevice) }
            guard link.isUp else { throw Refusal(FakeErrno.networkDown) }
        }
        guard route.gateway != nil || route.oif != nil else { throw Refusal(FakeErrno.invalid) }
        // "Nexthop has invalid gateway": the gateway must be on a connected subnet.
        if let gateway = route.gateway, !state.reaches(gateway, via: route.oif) { throw Refusal(FakeErrno.networkUnreachable) }
        // A route given only a gateway leaves through the link that reaches it.
        if route.oif == nil, let gateway = route.gateway {
            route.oif = state.addresses.first { state.links[$0.index]?.isUp == true && $0.cidr.contains(gateway) }?.index
        }
        if let position = state.routes.firstIndex(where: { $0.sameKey(route) }) {
            if message.has(Flag.excl) { throw Refusal(FakeErrno.exists) }
            // NLM_F_APPEND puts an IPv4 route after the existing one, which keeps precedence,
            // and joins an IPv6 one to it as one multipath route; otherwise the new one goes first.
            if message.has(Flag.append) {
                if route.family == .ipv6 {
                    route.multipath = true
                    state.routes[position].multipath = true
                }
                state.routes.append(route)
            } else {
                state.routes.insert(route, at: position)
            }
            return []
        }
        state.routes.append(route)
        return []
    }

    func deleteRoute(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        let wanted = try readRoute(message)
        guard let position = state.routes.firstIndex(where: { route in
            route.sameKey(wanted) && (wanted.gateway == nil || route.gateway == wanted.gateway) && (wanted.oif == nil || route.oif == wanted.oif)
        }) else { throw Refusal(FakeErrno.noSuchProcess) }
        state.routes.remove(at: position)
        return []
    }

    private func readRoute(_ message: WireMessage) throws(Refusal) -> FakeRoute {
        guard message.body.count >= 12, let family = Self.family(message.body[0]) else { throw Refusal(FakeErrno.invalid) }
        let attributes = WireAttributes(message.body, from: 12)
        let length = Int(message.body[1])
        var destination: CIDR?
        if length > 0 {
            guard let bytes = attributes[RTA.dst], let ip = IPAddress(bytes: bytes), let cidr = try? CIDR(address: ip, prefixLength: length) else {
                throw Refusal(FakeErrno.invalid)
            }
            destination = cidr
        }
        let table = attributes.u32(RTA.table) ?? UInt32(message.body[4])
        return FakeRoute(family: family, destination: destination,
                         gateway: attributes[RTA.gateway].flatMap { IPAddress(bytes: $0) },
                         oif: attributes.u32(RTA.oif).map { Int32(bitPattern: $0) },
                         table: table == 0 ? 254 : table, proto: message.body[5] == 0 ? 4 : message.body[5], scope: message.body[6],
                         metric: attributes.u32(RTA.priority), source: attributes[RTA.prefsrc].flatMap { IPAddress(bytes: $0) })
    }

    func getRoutes(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        guard message.body.count >= 12 else { throw Refusal(FakeErrno.invalid) }
        let family = Self.family(message.body[0])
        let routes = state.routes.filter { family == nil || $0.family == family }
        // As the kernel dumps them, the routes of a multipath route are one message: its
        // first's, their paths in RTA_MULTIPATH instead of RTA_GATEWAY and RTA_OIF.
        return routes.enumerated().compactMap { position, route in
            let siblings = route.multipath ? routes.filter { $0.multipath && $0.sameKey(route) } : [route]
            if route.multipath, routes[..<position].contains(where: { $0.multipath && $0.sameKey(route) }) { return nil }
            var body: [UInt8] = [Self.code(route.family), UInt8(route.destination?.prefixLength ?? 0), 0, 0,
                                 route.table < 256 ? UInt8(route.table) : 252, route.proto, route.scope, 1] + Wire.le32(0)
            body += Wire.u32(RTA.table, route.table)
            if let destination = route.destination { body += Wire.attribute(RTA.dst, destination.address.bytes) }
            if siblings.count > 1 {
                body += Wire.attribute(RTA.multipath, siblings.flatMap(Self.nextHop))
            } else {
                if let gateway = route.gateway { body += Wire.attribute(RTA.gateway, gateway.bytes) }
                if let oif = route.oif { body += Wire.u32(RTA.oif, UInt32(bitPattern: oif)) }
            }
            if let metric = route.metric { body += Wire.u32(RTA.priority, metric) }
            if let source = route.source { body += Wire.attribute(RTA.prefsrc, source.bytes) }
            return Wire.message(type: RTM.newRoute, sequence: message.sequence, body: body)
        }
    }

    /// A `struct rtnexthop` (length, flags, hops 0 for weight 1, ifindex) and its gateway.
    private static func nextHop(_ route: FakeRoute) -> [UInt8] {
        let gateway = route.gateway.map { Wire.attribute(RTA.gateway, $0.bytes) } ?? []
        return Wire.le16(UInt16(8 + gateway.count)) + [0, 0] + Wire.le32(UInt32(bitPattern: route.oif ?? 0)) + gateway
    }
}
