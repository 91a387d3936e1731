import BerthCore

/// A set of (protocol, family, port) triples, one bit each: tells in constant time whether a
/// request already claimed a host port of a family, so that publishing a range of a thousand
/// ports does not compare every port with every other — also on a dual-stack network, where
/// each port is claimed once per family and keys of two families never clash. Room for a
/// protocol and family (8 KiB) is made on its first insert. Not a `Set`: a process's first
/// set of a type costs it a scan of every protocol conformance in the binary, which a
/// one-port attach would pay for nothing.
struct PortBitmap {
    private var words: [[UInt64]] = [[], [], [], [], [], []]

    private static func slot(_ proto: TransportProtocol, _ family: IPFamily) -> Int {
        let base = switch proto {
        case .tcp: 0
        case .udp: 2
        case .sctp: 4
        }
        return family == .ipv4 ? base : base + 1
    }

    func contains(_ key: PortKey) -> Bool {
        let bits = words[Self.slot(key.proto, key.hostAddress.family)]
        return !bits.isEmpty && bits[Int(key.hostPort) >> 6] & (1 << UInt64(key.hostPort & 63)) != 0
    }

    mutating func insert(_ key: PortKey) {
        let slot = Self.slot(key.proto, key.hostAddress.family)
        if words[slot].isEmpty { words[slot] = [UInt64](repeating: 0, count: 65536 / 64) }
        words[slot][Int(key.hostPort) >> 6] |= 1 << UInt64(key.hostPort & 63)
    }
}
