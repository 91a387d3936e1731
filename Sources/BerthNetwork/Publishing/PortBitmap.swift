import BerthCore

/// A set of (protocol, family, port) triples, one bit each: tells in constant time whether a
/// request already claimed a host port of a family, so that publishing a range of a thousand
/// ports does not compare every port with every other — also on a dual-stack network, where
/// each port is claimed once per family and keys of two families never clash. Room for a
/// protocol and family (8 KiB) is made on its first insert (with the room of those before it
/// in `slot` order). Not a `Set`: a process's first set of a type costs it a scan of every
/// protocol conformance in the binary, which a one-port attach would pay for nothing.
struct PortBitmap {
    /// The six bitmaps (1,024 words each) one after another, in `slot` order: the array
    /// grows to the highest slot inserted into. One flat array rather than an array of six,
    /// whose `[[UInt64]]` storage costs a metadata build at first use (perf8).
    private var words: [UInt64] = []
    private static var wordsPerSlot: Int { 65536 / 64 }

    private static func slot(_ proto: TransportProtocol, _ family: IPFamily) -> Int {
        let base = switch proto {
        case .tcp: 0
        case .udp: 2
        case .sctp: 4
        }
        return family == .ipv4 ? base : base + 1
    }

    /// Where `key`'s word is in `words`.
    private static func word(_ key: PortKey) -> Int {
        slot(key.proto, key.hostAddress.family) * wordsPerSlot + (Int(key.hostPort) >> 6)
    }

    func contains(_ key: PortKey) -> Bool {
        let word = Self.word(key)
        return word < words.count && words[word] & (1 << UInt64(key.hostPort & 63)) != 0
    }

    mutating func insert(_ key: PortKey) {
        let word = Self.word(key)
        if word >= words.count {
            // Zeros made with `init(repeating:count:)`, whose array type the runtime has at
            // hand; `append(contentsOf: repeatElement(…))` costs a metadata build (perf8).
            words += [UInt64](repeating: 0, count: (word / Self.wordsPerSlot + 1) * Self.wordsPerSlot - words.count)
        }
        words[word] |= 1 << UInt64(key.hostPort & 63)
    }
}
