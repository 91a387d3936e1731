internal import CMNL
public import BerthCore

extension RouteNetlink {
    /// The addresses of the namespace, optionally of one link or one family only.
    public func addresses(of link: LinkReference? = nil, family: IPFamily? = nil) throws(BerthError) -> [Address] {
        let index: Int32? = try link.map { ref throws(BerthError) in
            if case .index(let index) = ref { return index }
            return try self.link(ref).index
        }
        var header = ifaddrmsg()
        header.ifa_family = family.map(AddressFamily.of) ?? AddressFamily.unspec
        // With strict checking the kernel filters the dump by index itself.
        header.ifa_index = UInt32(bitPattern: index ?? 0)
        let messages = try dump(type: RTM.getAddr, operation: "list addresses\(whereabouts)") { b in b.putFamilyHeader(header) }
        return messages.compactMap(Address.init(message:)).filter { address in
            (index == nil || address.linkIndex == index) && (family == nil || address.family == family)
        }
    }

    /// Adds an address to a link; see `NetlinkChanges.addAddress`.
    public func addAddress(_ cidr: CIDR, to link: LinkReference, flags: AddressFlags = [], label: String? = nil) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.addAddress(cidr, to: link, flags: flags, label: label) }
    }

    /// Removes an address from a link.
    public func deleteAddress(_ cidr: CIDR, from link: LinkReference) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.deleteAddress(cidr, from: link) }
    }
}
