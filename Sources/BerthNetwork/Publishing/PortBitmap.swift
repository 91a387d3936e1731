import BerthCore

/// A set of (protocol, port) pairs, one bit each: tells in constant time whether a request
/// already claimed a host port, so that publishing a range of a thousand ports does not
/// compare every port with every other. Room for a protocol (8 KiB) is made on its first
/// insert. Not a `Set`: a process's first set of a type costs it a scan of every protocol
/// conformance in the binary, which a one-port attach would pay for nothing.
struct PortBitmap {
    private var words: [[UInt64]] = [[], [], []]

    private static func slot(_ proto: TransportProtocol) -> Int {
        switch proto {
        case .tcp: 0
        case .udp: 1
        case .sctp: 2
        }
    }

    func contains(_ proto: TransportProtocol, _ port: UInt16) -> Bool {
        let bits = words[Self.slot(proto)]
        return !bits.isEmpty && bits[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0
    }

    mutating func insert(_ proto: TransportProtocol, _ port: UInt16) {
        let slot = Self.slot(proto)
        if words[slot].isEmpty { words[slot] = [UInt64](repeating: 0, count: 65536 / 64) }
        words[slot][Int(port) >> 6] |= 1 << UInt64(port & 63)
    }
}
