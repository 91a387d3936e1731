internal import CMNL

/// Builds one netlink message with libmnl in a scratch buffer of fixed size.
///
/// Every put is bounds-checked (`mnl_attr_put_check`); an overflow is remembered and
/// reported when the message is finished rather than writing past the buffer.
struct NetlinkMessageBuilder: ~Copyable {
    static let capacity = 16384
    private let buffer: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<nlmsghdr>
    private(set) var overflowed = false

    init(type: UInt16, flags: UInt16, sequence: UInt32) {
        // Not zeroed as a whole (16 KiB per message): libmnl zeroes the header and family
        // headers, and each put zeroes the attribute it is about to write (`clearTail`), so
        // every byte of the `nlmsg_len` sent is defined.
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 8)
        _ = mnl_nlmsg_put_header(buffer)
        header = buffer.assumingMemoryBound(to: nlmsghdr.self)
        header.pointee.nlmsg_type = type
        header.pointee.nlmsg_flags = flags
        header.pointee.nlmsg_seq = sequence
    }

    deinit { buffer.deallocate() }

    /// Appends a family header (ifinfomsg, ifaddrmsg, rtmsg, …) right after the netlink header.
    mutating func putFamilyHeader<T>(_ value: T) {
        let size = MemoryLayout<T>.size
        guard Int(header.pointee.nlmsg_len) + Int(berth_nlmsg_align(UInt32(size))) <= Self.capacity else {
            overflowed = true
            return
        }
        let extra = mnl_nlmsg_put_extra_header(header, size)
        extra?.storeBytes(of: value, as: T.self)
    }

    /// Zeroes the room an attribute with `payload` bytes will take at the end of the message:
    /// libmnl 1.0.4 leaves an attribute's alignment padding as it found it.
    private func clearTail(payload: Int) {
        let tail = Int(header.pointee.nlmsg_len)
        let room = min(Self.capacity - tail, Int(berth_nlmsg_align(UInt32(clamping: 4 + payload))))
        if room > 0 { (buffer + tail).initializeMemory(as: UInt8.self, repeating: 0, count: room) }
    }

    mutating func put(_ type: UInt16, bytes: [UInt8]) {
        clearTail(payload: bytes.count)
        let ok = bytes.withUnsafeBytes { mnl_attr_put_check(header, Self.capacity, type, $0.count, $0.baseAddress) }
        if !ok { overflowed = true }
    }

    mutating func put(_ type: UInt16, u8 value: UInt8) {
        clearTail(payload: 1)
        if !mnl_attr_put_u8_check(header, Self.capacity, type, value) { overflowed = true }
    }

    mutating func put(_ type: UInt16, u16 value: UInt16) {
        clearTail(payload: 2)
        if !mnl_attr_put_u16_check(header, Self.capacity, type, value) { overflowed = true }
    }

    mutating func put(_ type: UInt16, u32 value: UInt32) {
        if !mnl_attr_put_u32_check(header, Self.capacity, type, value) { overflowed = true }
    }

    /// A NUL-terminated string, as the kernel expects names.
    mutating func put(_ type: UInt16, string value: String) {
        clearTail(payload: value.utf8.count + 1)
        if !mnl_attr_put_strz_check(header, Self.capacity, type, value) { overflowed = true }
    }

    /// A nested attribute; `body` puts its children.
    mutating func nest(_ type: UInt16, _ body: (inout NetlinkMessageBuilder) -> Void) {
        guard let start = mnl_attr_nest_start_check(header, Self.capacity, type) else {
            overflowed = true
            return
        }
        body(&self)
        mnl_attr_nest_end(header, start)
    }

    /// The finished message's bytes.
    var bytes: [UInt8] {
        Array(UnsafeRawBufferPointer(start: buffer, count: Int(header.pointee.nlmsg_len)))
    }
}
