import BerthNetwork

// Apart from CNIAttachment.swift, which the decoding half (and scripts/fuzz) builds without
// BerthNetwork.
extension CNIAttachment {
    /// Whether `endpoint` is a CNI attachment's: its id is `endpointID(containerID:ifname:)`
    /// of its own interface name. An endpoint `berth attach` made with an id of exactly that
    /// form is taken for one too.
    public static func isAttachment(_ endpoint: EndpointRecord) -> Bool {
        containerID(endpointID: endpoint.id, ifname: endpoint.interfaceName.rawValue) != nil
    }
}
