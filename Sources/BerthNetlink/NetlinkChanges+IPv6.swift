internal import CMNL
public import BerthCore

/// IPv6 settings of a link that rtnetlink can change (IFLA_AF_SPEC's AF_INET6 nest).
extension NetlinkChanges {
    /// Sets how `link` makes IPv6 interface identifiers; `.none` keeps it from getting a
    /// link-local address when it comes up.
    ///
    /// The link must exist when the message runs (it may be made earlier in the batch): the kernel refuses IFLA_AF_SPEC in a create request
    /// (EAFNOSUPPORT). Record it before the change that sets the link up, as its own
    /// message: in one message the kernel applies IFF_UP first, and whether a link-local
    /// address appears then depends on when the carrier event runs (docs/ipv6.md).
    public mutating func setAddressGenerationMode(_ link: LinkReference, _ mode: AddressGenerationMode) throws(BerthError) {
        var header = ifinfomsg()
        // By name as IFLA_IFNAME, like the other link changes: the link may be made by an
        // earlier message of the same batch (a veth and its host end's mode in one sendmsg).
        if case .index(let index) = link { header.ifi_index = index }
        let unavailable = BerthError(.unsupported, "IPv6 is not available on link \(link)\(handle.whereabouts)",
                                     hint: "this kernel runs without IPv6 (ipv6.disable=1)", object: handle.object(.link, "\(link)"))
        try append(RTM.newLink, flags: 0, operation: "set addrgenmode \(mode) on \(link)\(handle.whereabouts)",
                   context: .init(notFound: missing(link), unsupported: unavailable, alsoUnsupported: [Self.eafnosupport])) { b in
            b.putFamilyHeader(header)
            if case .name(let name) = link { b.put(IFLA.ifname, string: name.rawValue) }
            b.nest(IFLA.afSpec) { b in
                b.nest(UInt16(AddressFamily.inet6)) { b in b.put(IFLA.inet6AddrGenMode, u8: mode.rawValue) }
            }
        }
    }

    /// EAFNOSUPPORT: what the kernel answers for IFLA_AF_SPEC when the family is absent.
    static let eafnosupport: Int32 = 97
}
