internal import CMNL
public import BerthCore
public import BerthNamespace

/// Link changes: create (bridge, veth, any simple kind), delete, up/down, master, MTU, MAC,
/// alias, name, namespace and bridge-port hairpin.
extension NetlinkChanges {
    /// Creates a link of `kind` that needs no type-specific data (a bridge, a dummy, …).
    public mutating func createLink(named name: InterfaceName, kind: LinkKind, mtu: UInt32? = nil, mac: MACAddress? = nil,
                                    up: Bool = false, master: LinkReference? = nil) throws(BerthError) {
        let masterIndex = try master.map { ref throws(BerthError) in try resolve(ref) }
        try appendLink(RTM.newLink, flags: Self.createFlags | NetlinkFlags.echo, link: nil,
                       flags: up ? IFF.up : 0, change: up ? IFF.up : 0,
                       operation: "create \(kind) \(name)\(handle.whereabouts)",
                       context: .init(alreadyExists: exists(name), notFound: masterIndex.map { _ in missing(master) },
                                      unsupported: BerthError(.unsupported, "link type \(kind) is not supported by this kernel",
                                                              hint: "use bridge or veth, or load the kernel module for \(kind)",
                                                              object: handle.object(.link, name.rawValue), parameter: "kind"))) { b in
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
    ///
    /// Both ends are made with one transmit and one receive queue (`vethQueues`): the real
    /// number the kernel gives a veth anyway, asked for at creation instead of set after it.
    /// Without them the kernel allocates a queue per possible CPU and then cuts the real
    /// number of each end down to one (`veth_init_queues`), and cutting a registered
    /// device's transmit queues waits for an RCU grace period (`synchronize_net`, expedited
    /// under the RTNL): two per pair, ≈ 0.1 ms each on a quiet machine and several ms when
    /// another grace period is in progress — a namespace being torn down, a detach
    /// (docs/performance.md, "The hook's waits"). The one difference: `ethtool -L` cannot raise such a
    /// veth's channels later.
    public mutating func createVeth(named name: InterfaceName, peer: InterfaceName, peerNamespace: NetworkNamespace? = nil,
                                    master: LinkReference? = nil, up: Bool = false, mtu: UInt32? = nil,
                                    mac: MACAddress? = nil, peerMAC: MACAddress? = nil) throws(BerthError) {
        let masterIndex = try master.map { ref throws(BerthError) in try resolve(ref) }
        let peerWhere = peerNamespace.map { " in network namespace \($0)" } ?? ""
        try appendLink(RTM.newLink, flags: Self.createFlags | NetlinkFlags.echo, link: nil,
                       flags: up ? IFF.up : 0, change: up ? IFF.up : 0,
                       operation: "create veth \(name)\(handle.whereabouts) with peer \(peer)\(peerWhere)",
                       context: .init(alreadyExists: BerthError(.alreadyExists, "link \(name) or \(peer)\(peerWhere) already exists",
                                                                hint: "choose other names or delete the old link",
                                                                object: handle.object(.link, name.rawValue)),
                                      notFound: masterIndex.map { _ in missing(master) })) { b in
            b.put(IFLA.ifname, string: name.rawValue)
            if let mtu { b.put(IFLA.mtu, u32: mtu) }
            if let mac { b.put(IFLA.address, bytes: mac.bytes) }
            if let masterIndex { b.put(IFLA.master, u32: UInt32(bitPattern: masterIndex)) }
            b.put(IFLA.numTxQueues, u32: Self.vethQueues)
            b.put(IFLA.numRxQueues, u32: Self.vethQueues)
            b.nest(IFLA.linkinfo) { b in
                b.put(IFLA.infoKind, string: "veth")
                b.nest(IFLA.infoData) { b in
                    b.nest(IFLA.vethInfoPeer) { b in
                        // The peer's own ifinfomsg sits inside the attribute, before its attributes.
                        b.putFamilyHeader(ifinfomsg())
                        b.put(IFLA.ifname, string: peer.rawValue)
                        if let mtu { b.put(IFLA.mtu, u32: mtu) }
                        if let peerMAC { b.put(IFLA.address, bytes: peerMAC.bytes) }
                        b.put(IFLA.numTxQueues, u32: Self.vethQueues)
                        b.put(IFLA.numRxQueues, u32: Self.vethQueues)
                        if let peerNamespace { b.put(IFLA.netNSFD, u32: UInt32(bitPattern: peerNamespace.descriptor)) }
                    }
                }
            }
        }
        if let peerNamespace { namespaces.append(peerNamespace) }
    }

    /// The transmit and receive queues of each end of a veth `createVeth` makes.
    static let vethQueues: UInt32 = 1

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
            throw .invalid("MAC address \(mac) cannot be given to a link", hint: "use a unicast, non-zero address such as 02:42:0a:58:00:02",
                           parameter: "mac", object: handle.object(.link, "\(link)"))
        }
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "set mac of \(link) to \(mac)\(handle.whereabouts)",
                       context: .init(notFound: missing(link))) { b in b.put(IFLA.address, bytes: mac.bytes) }
    }

    /// Sets a link's alias, or clears it when `alias` is nil or empty.
    ///
    /// With `addressGenerationMode`, the same message also sets the link's IPv6 `addrgenmode`
    /// (as `setAddressGenerationMode` does): the kernel takes one change of the link instead
    /// of two, and each change of a link without carrier makes it walk every IPv6 route of
    /// the namespace. Only for a link the kernel keeps IPv6 state for (`Link.hasIPv6`): on
    /// one without, the whole message is refused, alias included.
    public mutating func setAlias(_ link: LinkReference, to alias: String?,
                                  addressGenerationMode mode: AddressGenerationMode? = nil) throws(BerthError) {
        let bytes = Array((alias ?? "").utf8)
        guard bytes.count < 256, !bytes.contains(0) else {
            throw .invalid("alias of \(link) is over 255 bytes or contains NUL", hint: "use a shorter alias", parameter: "alias",
                           object: handle.object(.link, "\(link)"))
        }
        let operation = mode.map { "set alias of \(link) and addrgenmode \($0)\(handle.whereabouts)" } ?? "set alias of \(link)\(handle.whereabouts)"
        let unavailable = mode == nil ? nil : BerthError(.unsupported, "IPv6 is not available on link \(link)\(handle.whereabouts)",
                                                         hint: "the kernel keeps no IPv6 state for this link (booted with ipv6.disable=1, or an MTU below 1,280): set the alias without addrgenmode",
                                                         object: handle.object(.link, "\(link)"))
        try appendLink(RTM.newLink, flags: 0, link: link, operation: operation,
                       context: .init(notFound: missing(link), unsupported: unavailable, alsoUnsupported: mode == nil ? [] : [Self.eafnosupport])) { b in
            // Without a terminating NUL, as the kernel measures the alias by attribute length
            // and an empty attribute clears it.
            b.put(IFLA.ifalias, bytes: bytes)
            if let mode {
                b.nest(IFLA.afSpec) { b in
                    b.nest(UInt16(AddressFamily.inet6)) { b in b.put(IFLA.inet6AddrGenMode, u8: mode.rawValue) }
                }
            }
        }
    }

    /// Renames a link. The message names the link by index (a name in it would only look the
    /// link up), so a link given by name costs one lookup. Kernels before 6.2 refuse to
    /// rename a link that is up (EBUSY): set it down first, in the same `sendmsg`.
    public mutating func rename(_ link: LinkReference, to name: InterfaceName) throws(BerthError) {
        let index = try resolve(link)
        try appendLink(RTM.newLink, flags: 0, link: .index(index), operation: "rename link \(link) to \(name)\(handle.whereabouts)",
                       context: .init(alreadyExists: exists(name), notFound: missing(link))) { b in
            b.put(IFLA.ifname, string: name.rawValue)
        }
    }

    /// Changes several things of a link in one message, so the kernel takes its lock once:
    /// the name (`renameTo`), the up flag (`up`), and with `releaseMaster` its master. The
    /// kernel applies them in that order; kernels before 6.2 refuse to rename a link that
    /// is up (EBUSY), and then change nothing.
    public mutating func update(_ link: LinkReference, renameTo name: InterfaceName? = nil, up: Bool? = nil,
                                releaseMaster: Bool = false) throws(BerthError) {
        let index = try resolve(link)
        var what: [String] = []
        if let name { what.append("rename to \(name)") }
        if let up { what.append(up ? "set up" : "set down") }
        if releaseMaster { what.append("remove from its master") }
        try appendLink(RTM.newLink, flags: 0, link: .index(index), flags: up == true ? IFF.up : 0, change: up == nil ? 0 : IFF.up,
                       operation: "update link \(link)\(handle.whereabouts): \(what.joined(separator: ", "))",
                       context: .init(alreadyExists: name.map { exists($0) }, notFound: missing(link))) { b in
            if let name { b.put(IFLA.ifname, string: name.rawValue) }
            if releaseMaster { b.put(IFLA.master, u32: 0) }
        }
    }

    /// Moves a link into another namespace. Its addresses and routes are lost; it arrives down.
    public mutating func move(_ link: LinkReference, to namespace: NetworkNamespace) throws(BerthError) {
        try appendLink(RTM.newLink, flags: 0, link: link, operation: "move link \(link)\(handle.whereabouts) to network namespace \(namespace)",
                       context: .init(alreadyExists: BerthError(.alreadyExists, "network namespace \(namespace) already has a link named like \(link)",
                                                                hint: "rename or delete the link there first",
                                                                object: BerthError.Object(.link, "\(link)", namespace: namespace.description)),
                                      notFound: missing(link))) { b in
            b.put(IFLA.netNSFD, u32: UInt32(bitPattern: namespace.descriptor))
        }
        namespaces.append(namespace)
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

    // MARK: - Errors and messages

    /// A link that is not there, named as the caller gave it.
    func missing(_ link: LinkReference?) -> BerthError {
        let name = link.map(\.description) ?? "?"
        return BerthError(.notFound, "link \(name) does not exist\(handle.whereabouts)", object: handle.object(.link, name),
                          remedy: .listExisting(.link))
    }

    /// A link name already taken.
    private func exists(_ name: InterfaceName) -> BerthError {
        BerthError(.alreadyExists, "link \(name) already exists\(handle.whereabouts)", object: handle.object(.link, name.rawValue),
                   parameter: "name", remedy: .remove(handle.object(.link, name.rawValue)))
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
}
