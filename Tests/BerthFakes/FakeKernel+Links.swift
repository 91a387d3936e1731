import BerthCore
import BerthNetlink

/// The kernel's answer to a refused message.
struct Refusal: Error {
    let errno: Int32
    init(_ errno: Int32) { self.errno = errno }
}

/// nlmsghdr flags the fake reads.
enum Flag {
    static let echo: UInt16 = 0x8, dump: UInt16 = 0x300, excl: UInt16 = 0x200, create: UInt16 = 0x400, append: UInt16 = 0x800
}

// RTM_NEWLINK, RTM_DELLINK and RTM_GETLINK, as the kernel answers them.
extension FakeKernel {
    func newLink(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        guard message.body.count >= 16 else { throw Refusal(FakeErrno.invalid) }
        let index = Int32(bitPattern: Wire.u32(message.body, 4))
        let attributes = WireAttributes(message.body, from: 16)
        let name = attributes.string(IFLA.ifname)
        let existing = index != 0 ? state.links[index] : name.flatMap(state.link(named:))
        if message.has(Flag.create), existing == nil {
            guard index == 0, let name else { throw Refusal(FakeErrno.noDevice) }
            let created = try createLink(named: name, message, attributes, in: state)
            guard message.has(Flag.echo), echoesNewLinks, let link = state.links[created] else { return [] }
            return [encode(link, in: state, sequence: message.sequence)]
        }
        guard var link = existing else { throw Refusal(FakeErrno.noDevice) }
        if message.has(Flag.create), message.has(Flag.excl) { throw Refusal(FakeErrno.exists) }
        // The kernel checks IFLA_AF_SPEC before changing anything, and applies it last.
        var withSpec = link
        try applyAddressFamilySpec(attributes, to: &withSpec)
        let wasUp = link.isUp
        if index != 0, let name, name != link.name {
            // A rename: the kernel changes the name before the flags and the master; kernels
            // before 6.2 refuse it while the link is up (EBUSY), as this fake does unless
            // `renamesLinksThatAreUp`.
            guard state.link(named: name) == nil else { throw Refusal(FakeErrno.exists) }
            guard !link.isUp || renamesLinksThatAreUp else { throw Refusal(FakeErrno.busy) }
            state.renameSysctls(from: link.name, to: name)
            link.name = name
        }
        let flags = Wire.u32(message.body, 8), change = Wire.u32(message.body, 12)
        if change & 1 != 0 { link.isUp = flags & 1 != 0 }
        if let mtu = attributes.u32(IFLA.mtu) { link.mtu = mtu }
        if let mac = attributes[IFLA.address].flatMap({ MACAddress(bytes: $0) }) {
            link.mac = mac
            link.macIsSet = true
        }
        if let master = attributes.u32(IFLA.master) {
            link.master = master == 0 ? nil : try bridge(Int32(bitPattern: master), in: state, for: link.index)
            if link.master == nil { link.hairpin = false }
        }
        if let alias = attributes[IFLA.ifalias] {
            link.alias = alias.isEmpty ? nil : String(decoding: alias.prefix { $0 != 0 }, as: UTF8.self)
        }
        if let info = attributes.nested(IFLA.linkinfo), info.string(IFLA.infoSlaveKind) == "bridge" {
            // Bridge port options need a port of a bridge.
            guard let master = link.master, state.links[master]?.kind == "bridge" else { throw Refusal(FakeErrno.notSupported) }
            if let mode = info.nested(IFLA.infoSlaveData)?[IFLA.brportMode]?.first { link.hairpin = mode != 0 }
        }
        if let fd = attributes.u32(IFLA.netNSFD) {
            try move(link, to: Int32(bitPattern: fd), from: state)
            return []
        }
        state.links[link.index] = link
        // IFF_UP takes effect before IFLA_AF_SPEC: a link set up and to addrgenmode none in
        // one message may get its link-local address (the fake always gives it one).
        linkChanged(link.index, wasUp: wasUp, in: state)
        state.links[link.index]?.addressGenerationMode = withSpec.addressGenerationMode
        state.refreshConnectedRoutes()
        return []
    }

    private func createLink(named name: String, _ message: WireMessage, _ attributes: WireAttributes,
                            in state: FakeNamespaceState) throws(Refusal) -> Int32 {
        let info = attributes.nested(IFLA.linkinfo)
        let kind = info?.string(IFLA.infoKind) ?? ""
        guard ["bridge", "veth", "dummy"].contains(kind) else { throw Refusal(FakeErrno.notSupported) }
        // The kernel takes no IFLA_AF_SPEC when it creates a link.
        if attributes[IFLA.afSpec] != nil { throw Refusal(Self.noAddressFamily) }
        let flags = Wire.u32(message.body, 8), change = Wire.u32(message.body, 12)
        let up = flags & change & 1 != 0
        let mtu = attributes.u32(IFLA.mtu) ?? 1500
        let master = try attributes.u32(IFLA.master).flatMap { value throws(Refusal) in
            value == 0 ? nil : try bridge(Int32(bitPattern: value), in: state, for: nil)
        }
        let mac = attributes[IFLA.address].flatMap { MACAddress(bytes: $0) }
        guard kind == "veth" else {
            guard state.link(named: name) == nil else { throw Refusal(FakeErrno.exists) }
            let index = state.insert(FakeLink(index: 0, name: name, kind: kind, mtu: mtu, mac: mac, isUp: false, master: master))
            state.links[index]?.macIsSet = mac != nil
            if mac == nil { state.links[index]?.mac = state.inventMAC(index) }
            if up { state.links[index]?.isUp = true; linkChanged(index, wasUp: false, in: state) }
            state.refreshConnectedRoutes()
            return index
        }
        // The peer: its own ifinfomsg and attributes inside VETH_INFO_PEER.
        let peerBytes = info?.nested(IFLA.infoData)?[IFLA.vethInfoPeer] ?? []
        let peerAttributes = WireAttributes(peerBytes, from: 16)
        if peerAttributes[IFLA.afSpec] != nil { throw Refusal(Self.noAddressFamily) }
        let peerName = peerAttributes.string(IFLA.ifname) ?? "veth\(state.nextIndex)"
        var peerState = state
        if let fd = peerAttributes.u32(IFLA.netNSFD) {
            guard let target = self.state(forDescriptor: Int32(bitPattern: fd)) else { throw Refusal(9) } // EBADF
            peerState = target
        }
        if state.link(named: name) != nil || peerState.link(named: peerName) != nil || (peerState === state && peerName == name) {
            throw Refusal(FakeErrno.exists)
        }
        let index = state.insert(FakeLink(index: 0, name: name, kind: "veth", mtu: mtu, mac: mac, isUp: false, master: master))
        if mac == nil { state.links[index]?.mac = state.inventMAC(index) }
        if up { state.links[index]?.isUp = true; linkChanged(index, wasUp: false, in: state) }
        let peerMAC = peerAttributes[IFLA.address].flatMap { MACAddress(bytes: $0) }
        let peerIndex = peerState.insert(FakeLink(index: 0, name: peerName, kind: "veth", mtu: peerAttributes.u32(IFLA.mtu) ?? mtu,
                                                  mac: peerMAC, isUp: false, peer: .init(namespace: state.inode, index: index)))
        if peerMAC == nil { peerState.links[peerIndex]?.mac = peerState.inventMAC(peerIndex) }
        state.links[index]?.peer = .init(namespace: peerState.inode, index: peerIndex)
        state.refreshConnectedRoutes()
        return index
    }

    /// The index of `index` if it is a bridge that `port` may join.
    private func bridge(_ index: Int32, in state: FakeNamespaceState, for port: Int32?) throws(Refusal) -> Int32 {
        guard let master = state.links[index] else { throw Refusal(FakeErrno.noDevice) }
        guard master.kind == "bridge", master.index != port else { throw Refusal(FakeErrno.invalid) }
        return index
    }

    private func move(_ link: FakeLink, to fd: Int32, from state: FakeNamespaceState) throws(Refusal) {
        guard let target = self.state(forDescriptor: fd) else { throw Refusal(9) }
        guard target !== state else { return }
        guard target.link(named: link.name) == nil else { throw Refusal(FakeErrno.exists) }
        state.remove(index: link.index)
        var moved = link
        moved.isUp = false
        moved.master = nil
        moved.hairpin = false
        let newIndex = target.insert(moved)
        if let peer = link.peer { states[peer.namespace]?.links[peer.index]?.peer = .init(namespace: target.inode, index: newIndex) }
        state.refreshConnectedRoutes()
    }

    func deleteLink(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        guard message.body.count >= 16 else { throw Refusal(FakeErrno.invalid) }
        let index = Int32(bitPattern: Wire.u32(message.body, 4))
        let attributes = WireAttributes(message.body, from: 16)
        let link = index != 0 ? state.links[index] : attributes.string(IFLA.ifname).flatMap(state.link(named:))
        guard let link else { throw Refusal(FakeErrno.noDevice) }
        guard link.kind != "loopback" else { throw Refusal(FakeErrno.notSupported) }
        remove(link, from: state)
        return []
    }

    /// Deletes a link; a veth takes its other end with it.
    func remove(_ link: FakeLink, from state: FakeNamespaceState) {
        if let peer = link.peer, let peerState = states[peer.namespace] {
            peerState.remove(index: peer.index)
            peerState.refreshConnectedRoutes()
        }
        state.remove(index: link.index)
        state.refreshConnectedRoutes()
    }

    func getLink(_ message: WireMessage, in state: FakeNamespaceState) throws(Refusal) -> [NetlinkMessage] {
        if message.has(Flag.dump) {
            return state.sortedLinks.map { encode($0, in: state, sequence: message.sequence) }
        }
        guard message.body.count >= 16 else { throw Refusal(FakeErrno.invalid) }
        let index = Int32(bitPattern: Wire.u32(message.body, 4))
        let attributes = WireAttributes(message.body, from: 16)
        let link = index != 0 ? state.links[index] : attributes.string(IFLA.ifname).flatMap(state.link(named:))
        guard let link else { throw Refusal(FakeErrno.noDevice) }
        return [encode(link, in: state, sequence: message.sequence)]
    }

    /// RTM_NEWLINK as the kernel sends it: ifinfomsg, name, MTU, MAC, master, alias, the
    /// veth peer's index (IFLA_LINK, with IFLA_LINK_NETNSID when it lives elsewhere), kind,
    /// IPv6 state.
    func encode(_ link: FakeLink, in state: FakeNamespaceState, sequence: UInt32) -> NetlinkMessage {
        let loopback = link.kind == "loopback"
        var flags: UInt32 = link.isUp ? 1 : 0
        if loopback { flags |= 0x8 }
        var body: [UInt8] = [0, 0] + Wire.le16(loopback ? 772 : 1) + Wire.le32(UInt32(bitPattern: link.index)) + Wire.le32(flags) + Wire.le32(0)
        body += Wire.string(IFLA.ifname, link.name)
        body += Wire.u32(IFLA.mtu, link.mtu)
        if let mac = state.effectiveMAC(of: link) { body += Wire.attribute(IFLA.address, mac.bytes) }
        if let master = link.master { body += Wire.u32(IFLA.master, UInt32(bitPattern: master)) }
        if let alias = link.alias { body += Wire.string(IFLA.ifalias, alias) }
        if let peer = link.peer, reportsPeers {
            body += Wire.u32(IFLA.link, UInt32(bitPattern: peer.index))
            if peer.namespace != state.inode { body += Wire.attribute(IFLA.linkNetNSID, Wire.le32(0)) }
        }
        if !loopback {
            body += Wire.attribute(IFLA.linkinfo, Wire.string(IFLA.infoKind, link.kind), nested: true)
        }
        // IFLA_AF_SPEC's AF_INET6 part, for a link the kernel keeps IPv6 state for (IPv6 in
        // the kernel, MTU of at least 1,280); unflagged, as the kernel nests it.
        if ipv6Available, link.mtu >= 1280 {
            let inet6 = Wire.attribute(UInt16(10), Wire.attribute(IFLA.inet6AddrGenMode, [link.addressGenerationMode]))
            body += Wire.attribute(IFLA.afSpec, inet6)
        }
        return Wire.message(type: RTM.newLink, sequence: sequence, flags: 0, body: body)
    }
}
