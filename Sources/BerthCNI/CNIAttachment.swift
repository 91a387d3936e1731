/// How a CNI attachment — the pair (container id, interface name) the specification
/// makes unique — is known in Berth's state: as the endpoint (or publication) id
/// `CONTAINERID-IFNAME`, so `berth ps` lists it under a readable id.
public enum CNIAttachment {
    /// The longest attachment id: Berth's endpoint id limit (102 bytes, what an nftables
    /// element's comment holds with its tag) for the container id, '-' and the interface
    /// name, whose bytes other than letters, digits, '.' and '-' take three.
    ///
    /// Restated here rather than read from BerthNetwork's `AttachOptions.maxIDLength`, so the
    /// decoding half of berth-cni builds without the kernel modules (scripts/fuzz compiles it
    /// alone); `CNIEnvironmentTests` pins the two equal.
    public static let maxIDLength = 102

    /// Whether the attachment of `containerID` on `ifname` has an id Berth can record: a
    /// 64-digit runtime id on `eth0` takes 69 bytes.
    public static func fits(containerID: String, ifname: String) -> Bool {
        endpointID(containerID: containerID, ifname: ifname).utf8.count <= maxIDLength
    }

    /// The endpoint id of an attachment. Bytes of the interface name outside letters,
    /// digits, '.' and '-' are written `_XX` (hex), so the id stays within Berth's id
    /// alphabet and two interface names of one container never share an id.
    ///
    /// '-' stays as it is, so two attachments of different containers share an id exactly
    /// when one's interface name has a '-' and the other's container id is the first's, '-'
    /// and the part of that name before one of its '-': ("a", "b-c") and ("a-b", "c") are
    /// both `a-b-c`. Runtimes' container ids (hex) and interface names (`eth0`, `net1`)
    /// never meet that. The scheme stays because escaping '-' would change the ids of
    /// existing attachments whose interface name has one, and a publication (chained mode)
    /// records no interface name to tell which pair a legacy id was.
    public static func endpointID(containerID: String, ifname: String) -> String {
        var id = containerID + "-"
        for byte in ifname.utf8 {
            let plain = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            if plain {
                id.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                id += "_" + (hex.utf8.count == 1 ? "0" + hex : hex)
            }
        }
        return id
    }

    /// The container id back from an endpoint id and its interface name, or nil when the id
    /// is not an attachment's of that name.
    public static func containerID(endpointID: String, ifname: String) -> String? {
        let suffix = Self.endpointID(containerID: "", ifname: ifname)
        guard endpointID.hasSuffix(suffix), endpointID.utf8.count > suffix.utf8.count else { return nil }
        return String(endpointID.dropLast(suffix.count))
    }
}
