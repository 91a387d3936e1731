internal import CMNL
public import BerthCore

/// Address changes: add and delete, with IPv4's local and broadcast addresses.
extension NetlinkChanges {
    /// Adds an address: IPv4 gets IFA_LOCAL, IFA_ADDRESS and, below /31, a broadcast address.
    public mutating func addAddress(_ cidr: CIDR, to link: LinkReference, flags: AddressFlags = [], label: String? = nil) throws(BerthError) {
        let index = try resolve(link)
        try appendAddress(RTM.newAddr, flags: Self.createFlags, cidr: cidr, index: index, addressFlags: flags, label: label,
                          operation: "add address \(cidr) to \(link)\(handle.whereabouts)",
                          context: .init(alreadyExists: BerthError(.alreadyExists, "address \(cidr) is already on \(link)\(handle.whereabouts)",
                                                                   object: handle.object(.address, cidr.description),
                                                                   remedy: .listExisting(.address)),
                                         notFound: missing(link),
                                         unsupported: cidr.family == .ipv6 ? ipv6Disabled(on: link) : nil,
                                         // EACCES: disable_ipv6 is set on the link; EAFNOSUPPORT: no IPv6 in the kernel.
                                         alsoUnsupported: cidr.family == .ipv6 ? [13, Self.eafnosupport] : []))
    }

    /// An IPv6 address refused because the link (or the kernel) has IPv6 off.
    private func ipv6Disabled(on link: LinkReference) -> BerthError {
        BerthError(.unsupported, "IPv6 is disabled on \(link)\(handle.whereabouts)",
                   hint: "IPv6 is off for this link or this host (net.ipv6.conf.*.disable_ipv6=1, or ipv6.disable=1 at boot)",
                   object: handle.object(.link, "\(link)"))
    }

    /// Removes an address from a link.
    public mutating func deleteAddress(_ cidr: CIDR, from link: LinkReference) throws(BerthError) {
        let index = try resolve(link)
        let absent = BerthError(.notFound, "address \(cidr) is not on \(link)\(handle.whereabouts)",
                                object: handle.object(.address, cidr.description), remedy: .listExisting(.address))
        try appendAddress(RTM.delAddr, flags: 0, cidr: cidr, index: index, addressFlags: [], label: nil,
                          operation: "delete address \(cidr) from \(link)\(handle.whereabouts)",
                          context: .init(notFound: absent, alsoNotFound: [Self.eaddrnotavail]))
    }

    /// An address message for the link with index `index`.
    private mutating func appendAddress(_ type: UInt16, flags messageFlags: UInt16, cidr: CIDR, index: Int32, addressFlags: AddressFlags,
                                        label: String?, operation: String, context: ErrorContext) throws(BerthError) {
        if let label {
            guard cidr.family == .ipv4 else {
                throw .invalid("address labels are IPv4 only; \(cidr) is IPv6", hint: "drop the label", parameter: "label")
            }
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
}
