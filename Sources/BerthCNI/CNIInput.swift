#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// Reading the network configuration from stdin: bounded, so hostile input costs at most
/// `limit` bytes of memory, and parsed strictly.
public enum CNIInput {
    /// The most stdin may hold. Real configurations are a few KiB (a Kubernetes conflist
    /// with a prevResult stays under 16 KiB); 1 MiB leaves room without inviting abuse.
    public static let limit = 1 << 20

    /// Reads `fd` to its end, or refuses (code 6) as soon as more than `limit` bytes
    /// arrive, without reading the rest.
    public static func read(fd: Int32, limit: Int = CNIInput.limit) throws(CNIError) -> [UInt8] {
        var bytes: [UInt8] = []
        // Not zeroed, so only the pages a read fills are touched: a configuration is a few
        // hundred bytes, and a zeroed 64 KiB chunk cost 16 page faults and ~65,000
        // instructions of memset per call (perf8).
        let chunk = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 64 * 1024)
        defer { chunk.deallocate() }
        while true {
            let count = systemRead(fd, chunk.baseAddress, chunk.count)
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw CNIError(.ioFailure, "cannot read the network configuration from stdin", details: String(cString: strerror(errno)))
            }
            guard bytes.count + count <= limit else {
                throw CNIError(.decodingFailure, "the network configuration on stdin is larger than \(limit) bytes",
                               details: "berth-cni reads at most \(limit / 1024) KiB; send the configuration only")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[..<count]))
        }
    }

    /// Parses stdin as one JSON object (code 6 for anything else): strict JSON, UTF-8, no
    /// repeated keys, nesting at most `JSONValue.maxParsingDepth` deep.
    public static func parse(_ bytes: [UInt8]) throws(CNIError) -> JSONValue {
        guard bytes.count <= limit else {
            throw CNIError(.decodingFailure, "the network configuration on stdin is larger than \(limit) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsingUTF8: bytes)
        } catch {
            throw CNIError(.decodingFailure, "cannot decode the network configuration on stdin: \(error.message)",
                           details: "send one JSON object (RFC 8259) encoded as UTF-8")
        }
        guard case .object = value else {
            throw CNIError(.decodingFailure, "the network configuration on stdin is not a JSON object", details: "send one JSON object")
        }
        return value
    }
}

/// read(2), named apart from `CNIInput.read`, which an unqualified call inside it would
/// find first — by the C library's module, whichever it is.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.read(fd, buffer, count)
    #endif
}
