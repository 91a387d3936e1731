/// A sysctl to write inside a namespace on the thread that is there anyway (the one that
/// opens a socket), so the write costs no namespace switch of its own.
public struct SysctlWrite: Sendable, Hashable {
    /// A per-namespace key, with '/' separators (interface names may hold dots).
    public var key: String
    /// The text to write, without a trailing newline.
    public var value: String
    /// A key that does not exist is skipped: `net/ipv6/...` is absent from a kernel booted
    /// without IPv6, which is what disabling IPv6 on an interface wanted anyway.
    public var skipIfMissing: Bool

    /// A write of `value` to `key`; `skipIfMissing` skips a key the kernel lacks instead of failing.
    public init(_ key: String, _ value: String, skipIfMissing: Bool = false) {
        self.key = key
        self.value = value
        self.skipIfMissing = skipIfMissing
    }
}
