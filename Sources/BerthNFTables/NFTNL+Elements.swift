internal import CNFTNL
import BerthCore
import BerthNetlink

/// Set elements: NEWSETELEM/DELSETELEM messages (also flush and dump requests) and the
/// parser of GETSETELEM replies.
extension NFTNL {
    /// Upper bound of one element's attributes in a NEWSETELEM message.
    static func elementSize(_ element: Element) -> Int {
        96 + Tuple.length(element.key) + Tuple.length(element.value ?? []) + (element.comment?.utf8.count ?? 0)
    }

    /// One message carrying `elements` (none: the whole set, for flush and dumps).
    ///
    /// The keys and data are encoded into one reused buffer, and the comment's user data is
    /// made once for a run of elements with the same comment (an endpoint's elements share
    /// theirs): a range of a thousand ports is a thousand elements in a few messages.
    ///
    /// Throws when libnftnl cannot allocate the set or an element (`allocateElement`, which
    /// tests replace): a batch must fail, never commit without that element.
    static func elementsMessage(_ set: NFTSet, _ elements: [Element], type: UInt16, flags: UInt16, sequence: UInt32,
                                allocateElement: () -> OpaquePointer? = newElement) throws(BerthError) -> [UInt8] {
        var capacity = namedMessageSize(set.table, set.name)
        for element in elements { capacity += elementSize(element) }
        return try message(type: type, family: set.family.nfproto, flags: flags, sequence: sequence, capacity: capacity) { nlh throws(BerthError) in
            guard let s = makeSet(set, full: false) else { throw BerthError(.system, "allocate an nftnl set for \(set.label)") }
            defer { nftnl_set_free(s) }
            let isNew = type == MessageType.newSetElem
            var scratch: [UInt8] = []
            scratch.reserveCapacity(64)
            var userdata: [UInt8] = []
            var userdataComment: String?
            for element in elements {
                guard let e = allocateElement() else { throw BerthError(.system, "allocate an nftnl element for \(element.rendered) of \(set.label)") }
                scratch.removeAll(keepingCapacity: true)
                Tuple.append(element.key, to: &scratch)
                scratch.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
                if let value = element.value, isNew {
                    scratch.removeAll(keepingCapacity: true)
                    Tuple.append(value, to: &scratch)
                    scratch.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count)) }
                }
                if let comment = element.comment, isNew {
                    if comment != userdataComment {
                        userdata = Self.userdata(0, comment)
                        userdataComment = comment
                    }
                    userdata.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count)) }
                }
                nftnl_set_elem_add(s, e)
            }
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
        }
    }

    /// A new libnftnl element (nil when out of memory): `elementsMessage`'s allocator.
    static func newElement() -> OpaquePointer? { nftnl_set_elem_alloc() }

    static func parseElements(_ message: NetlinkMessage, of set: NFTSet) -> [Element] {
        parseElementsOrNil(message, of: set) ?? []
    }

    private static func parseElementsOrNil(_ message: NetlinkMessage, of set: NFTSet) -> [Element]? {
        withHeader(message) { nlh -> [Element]? in
            guard let s = nftnl_set_alloc() else { return [] }
            defer { nftnl_set_free(s) }
            guard nftnl_set_elems_nlmsg_parse(nlh, s) >= 0, let iter = nftnl_set_elems_iter_create(s) else { return [] }
            defer { nftnl_set_elems_iter_destroy(iter) }
            var elements: [Element] = []
            // iter_next returns the current element and then advances.
            while let e = nftnl_set_elems_iter_next(iter) {
                func get(_ attr: Int) -> [UInt8] {
                    guard nftnl_set_elem_is_set(e, UInt16(attr)) else { return [] }
                    return data { nftnl_set_elem_get(e, UInt16(attr), $0) }
                }
                if let key = Tuple.parse(get(NFTNL_SET_ELEM_KEY), as: set.keyType) {
                    let value = set.dataType.flatMap { Tuple.parse(get(NFTNL_SET_ELEM_DATA), as: $0) }
                    elements.append(Element(key, value, comment: comment(in: get(NFTNL_SET_ELEM_USERDATA), type: 0)))
                }
            }
            return elements
        }
    }
}
