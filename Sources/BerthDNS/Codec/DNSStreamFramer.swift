/// DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766): each message is preceded by its length
/// as two bytes, so a frame is at most 65,535 bytes.
///
/// The framer collects one frame at a time and tells the reader how many bytes it still
/// needs, so a connection never buffers more than one frame (2 + 65,535 bytes) whatever a
/// client sends.
public struct DNSStreamFramer: Sendable {
    private var lengthBytes: [UInt8] = []
    private var frame: [UInt8] = []
    private var expected: Int?

    public init() {}

    /// Why a stream is not DNS over TCP.
    public enum Failure: Error, Sendable, Hashable {
        /// A frame of length 0: no message is empty.
        case emptyFrame
    }

    /// How many more bytes the current frame needs (at least 1).
    public var bytesNeeded: Int {
        if let expected { return expected - frame.count }
        return 2 - lengthBytes.count
    }

    /// Whether part of a frame has arrived.
    public var isMidFrame: Bool { !lengthBytes.isEmpty }

    /// Adds bytes from the stream and returns the frames they complete, in order. Bytes
    /// beyond the current frame start the next one.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(Failure) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if let expected {
                let take = min(expected - frame.count, bytes.distance(from: index, to: bytes.endIndex))
                let end = bytes.index(index, offsetBy: take)
                frame.append(contentsOf: bytes[index..<end])
                index = end
                if frame.count == expected {
                    frames.append(frame)
                    frame = []
                    lengthBytes = []
                    self.expected = nil
                }
            } else {
                lengthBytes.append(bytes[index])
                index = bytes.index(after: index)
                if lengthBytes.count == 2 {
                    let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
                    guard length > 0 else { throw .emptyFrame }
                    expected = length
                    frame.reserveCapacity(length)
                }
            }
        }
        return frames
    }

    /// `message` with its two-byte length in front; nil when it is over 65,535 bytes.
    public static func frame(_ message: [UInt8]) -> [UInt8]? {
        guard message.count <= 65535 else { return nil }
        return [UInt8(message.count >> 8), UInt8(truncatingIfNeeded: message.count)] + message
    }
}
