import BerthCore

// Decoding of RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE messages into the typed models.
// Every read is bounds-checked: a field the kernel did not send becomes nil or a default.

extension NetlinkMessage {
    func u8(at offset: Int) -> UInt8? {
        offset < payload.count ? payload[offset] : nil
    }

    func u16(at offset: Int) -> UInt16? {
        guard offset + 2 <= payload.count else { return nil }
        return payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    func u32(at offset: Int) -> UInt32? {
        guard offset + 4 <= payload.count else { return nil }
        return payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}

extension Link {
    /// sizeof(struct ifinfomsg).
    static let headerSize = 16

    /// Decodes an RTM_NEWLINK message; nil if it is not one or is too short.
    init?(message: NetlinkMessage) {
        guard message.type == RTM.newLink, message.payload.count >= Self.headerSize,
              let type = message.u16(at: 2), let index = message.u32(at: 4), let flags = message.u32(at: 8) else { return nil }
        // The first attribute of each type read, found in one walk over the message (a link
        // carries some 40 attributes; a lookup by type per field walked them ten times).
        var info, ifalias, master, link, linkNetNSIDAttribute, ifname, mtu, address, operstate, afSpec: NetlinkAttributes.Attribute?
        for attribute in message.attributes(after: Self.headerSize) {
            switch attribute.type {
            case IFLA.linkinfo where info == nil: info = attribute
            case IFLA.ifalias where ifalias == nil: ifalias = attribute
            case IFLA.master where master == nil: master = attribute
            case IFLA.link where link == nil: link = attribute
            case IFLA.linkNetNSID where linkNetNSIDAttribute == nil: linkNetNSIDAttribute = attribute
            case IFLA.ifname where ifname == nil: ifname = attribute
            case IFLA.mtu where mtu == nil: mtu = attribute
            case IFLA.address where address == nil: address = attribute
            case IFLA.operstate where operstate == nil: operstate = attribute
            case IFLA.afSpec where afSpec == nil: afSpec = attribute
            default: break
            }
        }
        var kindName = ""
        if let info, let kind = info.nested[IFLA.infoKind] { kindName = kind.string }
        let kind: LinkKind = kindName.isEmpty && type == arphrdLoopback ? .loopback : LinkKind(kindName: kindName)
        let alias = ifalias?.string
        let masterIndex = master?.u32.map { Int32(bitPattern: $0) }
        let parent = link?.u32.map { Int32(bitPattern: $0) }
        let linkNetNSID = linkNetNSIDAttribute?.i32
        let own = Int32(bitPattern: index)
        // IFLA_LINK equal to the link's own index says nothing (a device that is its own
        // link) — unless IFLA_LINK_NETNSID says the index is in another namespace: indexes
        // are per namespace, so a veth's peer there often has the same index as the link
        // itself. Recent kernels send IFLA_LINK then; older ones leave it out whenever it
        // equals the index, so a veth with a link namespace and no IFLA_LINK has a peer of
        // its own index.
        let parentIndex: Int32? = if linkNetNSID != nil {
            parent ?? (kind == .veth ? own : nil)
        } else {
            parent == own ? nil : parent
        }
        self.init(index: own,
                  name: ifname?.string ?? "",
                  kind: kind,
                  mtu: mtu?.u32 ?? 0,
                  mac: address.flatMap { MACAddress(bytes: $0.value) },
                  flags: LinkFlags(rawValue: flags),
                  masterIndex: masterIndex == 0 ? nil : masterIndex,
                  operState: operstate?.u8.flatMap(OperState.init(rawValue:)) ?? .unknown,
                  alias: alias?.isEmpty == false ? alias : nil,
                  parentIndex: parentIndex,
                  linkNetNSID: linkNetNSID,
                  hasIPv6: afSpec?.nested[UInt16(AddressFamily.inet6)] != nil)
    }
}

extension Address {
    /// sizeof(struct ifaddrmsg).
    static let headerSize = 8

    /// Decodes an RTM_NEWADDR message; nil if it is not one or carries no address.
    init?(message: NetlinkMessage) {
        guard message.type == RTM.newAddr, message.payload.count >= Self.headerSize,
              let familyCode = message.u8(at: 0), AddressFamily.family(familyCode) != nil,
              let prefix = message.u8(at: 1), let flags8 = message.u8(at: 2), let scope = message.u8(at: 3),
              let index = message.u32(at: 4) else { return nil }
        let attributes = message.attributes(after: Self.headerSize)
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer's on point-to-point links.
        guard let raw = attributes[IFA.local] ?? attributes[IFA.address],
              let address = IPAddress(bytes: raw.value),
              let cidr = try? CIDR(address: address, prefixLength: Int(prefix)) else { return nil }
        self.init(linkIndex: Int32(bitPattern: index), cidr: cidr, scope: AddressScope(rawValue: scope),
                  flags: AddressFlags(rawValue: attributes[IFA.flags]?.u32 ?? UInt32(flags8)),
                  label: attributes[IFA.label]?.string,
                  broadcast: attributes[IFA.broadcast].flatMap { IPAddress(bytes: $0.value) })
    }
}

extension Route {
    /// sizeof(struct rtmsg).
    static let headerSize = 12

    /// Decodes an RTM_NEWROUTE message; nil if it is not one or is malformed.
    init?(message: NetlinkMessage) {
        guard message.type == RTM.newRoute, message.payload.count >= Self.headerSize,
              let familyCode = message.u8(at: 0), let family = AddressFamily.family(familyCode),
              let dstLength = message.u8(at: 1), let table8 = message.u8(at: 4), let proto = message.u8(at: 5),
              let scope = message.u8(at: 6), let type = message.u8(at: 7), let flags = message.u32(at: 8),
              flags & rtmFlagCloned == 0 else { return nil }
        let attributes = message.attributes(after: Self.headerSize)
        var destination: CIDR?
        if dstLength > 0 {
            guard let raw = attributes[RTA.dst], let address = IPAddress(bytes: raw.value),
                  let cidr = try? CIDR(address: address, prefixLength: Int(dstLength)) else { return nil }
            destination = cidr
        }
        self.init(family: family, destination: destination,
                  gateway: attributes[RTA.gateway].flatMap { IPAddress(bytes: $0.value) },
                  linkIndex: attributes[RTA.oif]?.u32.map { Int32(bitPattern: $0) },
                  preferredSource: attributes[RTA.prefsrc].flatMap { IPAddress(bytes: $0.value) },
                  table: attributes[RTA.table]?.u32 ?? UInt32(table8),
                  routeProtocol: RouteProtocol(rawValue: proto), scope: AddressScope(rawValue: scope),
                  type: RouteType(rawValue: type), metric: attributes[RTA.priority]?.u32,
                  nextHops: attributes[RTA.multipath].map { Self.nextHops($0.value) } ?? [])
    }

    /// sizeof(struct rtnexthop): length, flags, hops, ifindex.
    static let nextHopHeaderSize = 8

    /// The next hops of an RTA_MULTIPATH value, read without trusting its lengths: the walk
    /// stops at the first that is too short or runs past the value.
    static func nextHops(_ value: ArraySlice<UInt8>) -> [NextHop] {
        var hops: [NextHop] = []
        var offset = value.startIndex
        while offset + nextHopHeaderSize <= value.endIndex {
            let length = Int(UInt16(value[offset]) | UInt16(value[offset + 1]) << 8)
            guard length >= nextHopHeaderSize, offset + length <= value.endIndex else { break }
            let hopCount = Int(value[offset + 3])
            let index = value[(offset + 4)..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
            let attributes = NetlinkAttributes(value[(offset + nextHopHeaderSize)..<(offset + length)], from: 0)
            hops.append(NextHop(gateway: attributes[RTA.gateway].flatMap { IPAddress(bytes: $0.value) },
                                linkIndex: index, weight: hopCount + 1))
            offset += (length + 3) & ~3
        }
        return hops
    }
}
