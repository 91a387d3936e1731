public import BerthCore

extension RouteNetlink {
    /// Sets how a link makes IPv6 interface identifiers; see
    /// `NetlinkChanges.setAddressGenerationMode`.
    public func setAddressGenerationMode(_ link: LinkReference, _ mode: AddressGenerationMode) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setAddressGenerationMode(link, mode) }
    }
}
