public import BerthCore

/// Reverse-lookup names: `2.0.89.10.in-addr.arpa.` for 10.89.0.2 (RFC 1035 §3.5) and 32
/// nibble labels under `ip6.arpa.` for IPv6 (RFC 3596 §2.5).
public enum ReverseName {
    static let inAddrArpa = DNSName(trustedWire: [7] + Array("in-addr".utf8) + [4] + Array("arpa".utf8) + [0])
    static let ip6Arpa = DNSName(trustedWire: [3] + Array("ip6".utf8) + [4] + Array("arpa".utf8) + [0])

    /// The reverse name of `address`.
    public static func name(for address: IPAddress) -> DNSName {
        var wire: [UInt8] = []
        switch address {
        case .v4(let v4):
            for octet in v4.bytes.reversed() {
                let digits = Array(String(octet).utf8)
                wire.append(UInt8(digits.count))
                wire.append(contentsOf: digits)
            }
            wire.append(contentsOf: inAddrArpa.wire)
        case .v6(let v6):
            let hex = Array("0123456789abcdef".utf8)
            for byte in v6.bytes.reversed() {
                wire.append(contentsOf: [1, hex[Int(byte & 0x0F)], 1, hex[Int(byte >> 4)]])
            }
            wire.append(contentsOf: ip6Arpa.wire)
        }
        return DNSName(trustedWire: wire)
    }

    /// The address a full reverse name stands for: four decimal labels (no leading zeros)
    /// under `in-addr.arpa.`, or 32 single hex digits under `ip6.arpa.`. Nil for anything
    /// else, including partial names such as `89.10.in-addr.arpa.`.
    public static func address(from name: DNSName) -> IPAddress? {
        let labels = name.labels
        if labels.count == 6, name.isSubdomain(of: inAddrArpa) {
            var bytes: [UInt8] = []
            for label in labels.prefix(4).reversed() {
                guard let octet = decimalOctet(label) else { return nil }
                bytes.append(octet)
            }
            return IPAddress(bytes: bytes)
        }
        if labels.count == 34, name.isSubdomain(of: ip6Arpa) {
            var bytes = [UInt8](repeating: 0, count: 16)
            for (index, label) in labels.prefix(32).enumerated() {
                guard label.count == 1, let first = label.first, let nibble = hexValue(first) else { return nil }
                // Label 0 is the low nibble of the last byte.
                let byteIndex = 15 - index / 2
                bytes[byteIndex] |= index % 2 == 0 ? nibble : nibble << 4
            }
            return IPAddress(bytes: bytes)
        }
        return nil
    }

    /// Where any name under `in-addr.arpa.` or `ip6.arpa.` points: the address block its
    /// leading well-formed labels spell, read from the top (`89.10.in-addr.arpa.` is
    /// 10.89.0.0/16, 8 bits per octet label and 4 per nibble label), and whether labels
    /// follow below it that are not part of an address (a label that is not an octet or a
    /// nibble, or more labels than an address has). Nil when not even the first label under
    /// the tree is one, and for the trees' own names.
    public static func block(from name: DNSName) -> (block: CIDR, below: Bool)? {
        let labels = name.labels
        let isV4 = name.isSubdomain(of: inAddrArpa)
        guard isV4 || name.isSubdomain(of: ip6Arpa), labels.count > 2 else { return nil }
        let inner = labels.dropLast(2).reversed()
        var bytes = [UInt8](repeating: 0, count: isV4 ? 4 : 16)
        var length = 0
        for label in inner {
            if isV4 {
                guard length < 32, let octet = decimalOctet(label) else { break }
                bytes[length / 8] = octet
                length += 8
            } else {
                guard length < 128, label.count == 1, let first = label.first, let nibble = hexValue(first) else { break }
                bytes[length / 8] |= length % 8 == 0 ? nibble << 4 : nibble
                length += 4
            }
        }
        guard length > 0, let address = IPAddress(bytes: bytes),
              let block = try? CIDR(address: address, prefixLength: length) else { return nil }
        return (block, inner.count > length / (isV4 ? 8 : 4))
    }

    /// The reverse zone of `subnet`: its prefix cut to whole labels (octets for IPv4, nibbles
    /// for IPv6), so a /24 gives `0.89.10.in-addr.arpa.`, a /20 `89.10.in-addr.arpa.` (no
    /// RFC 2317 classless zones).
    public static func zone(of subnet: CIDR) -> CIDR {
        let step = subnet.family == .ipv4 ? 8 : 4
        let cut = subnet.prefixLength / step * step
        return (try? CIDR(address: subnet.networkAddress, prefixLength: cut).network) ?? subnet
    }

    /// The name of the reverse zone `block` (whose prefix is whole labels): `0.89.10.in-addr.arpa.`.
    public static func zoneName(of block: CIDR) -> DNSName {
        var wire: [UInt8] = []
        let bytes = block.networkAddress.bytes
        switch block.family {
        case .ipv4:
            for index in (0..<(block.prefixLength / 8)).reversed() {
                let digits = Array(String(bytes[index]).utf8)
                wire.append(UInt8(digits.count))
                wire.append(contentsOf: digits)
            }
            wire.append(contentsOf: inAddrArpa.wire)
        case .ipv6:
            let hex = Array("0123456789abcdef".utf8)
            for index in (0..<(block.prefixLength / 4)).reversed() {
                let byte = bytes[index / 2]
                wire.append(contentsOf: [1, hex[Int(index % 2 == 0 ? byte >> 4 : byte & 0x0F)]])
            }
            wire.append(contentsOf: ip6Arpa.wire)
        }
        return DNSName(trustedWire: wire)
    }

    private static func decimalOctet(_ label: ArraySlice<UInt8>) -> UInt8? {
        guard (1...3).contains(label.count), label.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        if label.count > 1, label.first == 0x30 { return nil }
        let value = label.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return value <= 255 ? UInt8(value) : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}
