public import BerthCore

extension ResolvConf {
    /// Reads and parses a resolv.conf file (at most `maxFileSize` bytes).
    public static func read(path: String = hostPath) throws(BerthError) -> ResolvConf {
        let bytes = try FileBytes.read(path: path, limit: maxFileSize)
        return ResolvConf(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The upstream servers: the nameservers on port 53.
    public var upstreams: [DNSUpstream] { nameservers.map { DNSUpstream(address: $0) } }
}
