/// A netlink message received from the kernel: its header fields and a copy of its payload.
///
/// Parsing is bounds-checked Swift over the copied bytes, so a short or malformed message
/// from the kernel yields nil fields, never a crash.
public struct NetlinkMessage: Sendable, Hashable {
    /// `nlmsg_type`: the message type (RTM_*, NLMSG_ERROR, NLMSG_DONE, …).
    public let type: UInt16
    /// `nlmsg_flags`: NLM_F_* bits (see `NetlinkFlags`).
    public let flags: UInt16
    /// `nlmsg_seq`: the sequence number of the request it answers.
    public let sequence: UInt32
    /// `nlmsg_pid`: the sender's port id (0 for the kernel).
    public let portID: UInt32
    /// The bytes after the 16-byte netlink header.
    public let payload: [UInt8]

    /// A message from its header fields (host byte order) and payload.
    public init(type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// Splits a datagram into messages; stops at the first truncated one.
    static func split(_ bytes: UnsafeRawBufferPointer) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            guard length >= 16, offset + length <= bytes.count else { break }
            messages.append(NetlinkMessage(
                type: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                flags: bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self),
                sequence: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self),
                portID: bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self),
                payload: Array(bytes[(offset + 16)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return messages
    }

    /// The attributes that follow a fixed-size family header of `headerSize` bytes.
    public func attributes(after headerSize: Int) -> NetlinkAttributes {
        NetlinkAttributes(payload, from: (headerSize + 3) & ~3)
    }
}

/// Type-length-value attributes, read without trusting the lengths the kernel sent.
public struct NetlinkAttributes: Sendable, Sequence {
    /// One attribute: its type, whether it nests others, and its value bytes.
    public struct Attribute: Sendable {
        /// The attribute type with the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits cleared.
        public let type: UInt16
        /// Whether NLA_F_NESTED was set.
        public let isNested: Bool
        /// The value bytes, after the 4-byte attribute header and without padding.
        public let value: ArraySlice<UInt8>

        /// The first byte; nil if the value is empty.
        public var u8: UInt8? { value.count >= 1 ? value[value.startIndex] : nil }
        /// The first 2 bytes in host byte order; nil if shorter.
        public var u16: UInt16? { value.count >= 2 ? load(UInt16.self) : nil }
        /// The first 4 bytes in host byte order; nil if shorter.
        public var u32: UInt32? { value.count >= 4 ? load(UInt32.self) : nil }
        /// The first 8 bytes in host byte order; nil if shorter.
        public var u64: UInt64? { value.count >= 8 ? load(UInt64.self) : nil }
        /// `u32` as a signed number.
        public var i32: Int32? { u32.map { Int32(bitPattern: $0) } }
        /// A NUL-terminated (or unterminated) string.
        public var string: String { String(decoding: value.prefix(while: { $0 != 0 }), as: UTF8.self) }
        /// A copy of the value bytes.
        public var bytes: [UInt8] { Array(value) }
        /// The attributes nested inside this one.
        public var nested: NetlinkAttributes { NetlinkAttributes(value, from: 0) }

        private func load<T: FixedWidthInteger>(_: T.Type) -> T {
            value.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
    }

    private let bytes: ArraySlice<UInt8>

    init(_ bytes: some Collection<UInt8>, from offset: Int) {
        let array = Array(bytes)
        self.bytes = offset <= array.count ? array[offset...] : []
    }

    /// Walks the attributes in order, stopping at the first malformed length. A concrete
    /// iterator, not `AnyIterator`: instantiating that generic type costs a process's first
    /// netlink reply about 0.1M instructions.
    public struct Iterator: IteratorProtocol {
        private var offset: Int
        private let bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            offset = bytes.startIndex
        }

        /// The next attribute; nil at the end or at a malformed length.
        public mutating func next() -> Attribute? {
            next(ofType: nil)
        }

        /// The next attribute of `type` (any type for nil). Attributes of other types are
        /// skipped by their headers, without making an `Attribute` (and a slice) of each.
        mutating func next(ofType type: UInt16?) -> Attribute? {
            while offset + 4 <= bytes.endIndex {
                let length = Int(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
                let rawType = UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8
                guard length >= 4, offset + length <= bytes.endIndex else { return nil }
                let start = offset
                offset += (length + 3) & ~3
                if let type, rawType & 0x3FFF != type { continue }
                return Attribute(type: rawType & 0x3FFF, isNested: rawType & 0x8000 != 0,
                                 value: bytes[(start + 4)..<(start + length)])
            }
            return nil
        }
    }

    /// An iterator over the attributes from the first.
    public func makeIterator() -> Iterator {
        Iterator(bytes)
    }

    /// The first attribute of `type`.
    public subscript(type: UInt16) -> Attribute? {
        var iterator = makeIterator()
        return iterator.next(ofType: type)
    }
}
