/// A CNI specification version (`0.3.1`, `1.1.0`), and what each one changes for a plugin.
public struct CNIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The major number.
    public var major: Int
    /// The minor number.
    public var minor: Int
    /// The patch number.
    public var patch: Int

    /// The version `major.minor.patch`.
    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `MAJOR.MINOR.PATCH` of decimal numbers; nil for anything else.
    public init?(_ text: String) {
        // Byte by byte: three runs of 1 to 4 digits between two dots.
        var numbers = (0, 0, 0)
        var part = 0, digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            guard (0x30...0x39).contains(byte), digits < 4 else { return nil }
            let digit = Int(byte - 0x30)
            switch part {
            case 0: numbers.0 = numbers.0 * 10 + digit
            case 1: numbers.1 = numbers.1 * 10 + digit
            default: numbers.2 = numbers.2 * 10 + digit
            }
            digits += 1
        }
        guard part == 2, digits > 0 else { return nil }
        self.init(numbers.0, numbers.1, numbers.2)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// Every version `berth-cni` speaks, oldest first: what runtimes still send (libcni
    /// 1.1 in Debian 12's podman and containerd speaks up to 1.0.0) and the current 1.1.0.
    public static let supported = [CNIVersion(0, 3, 0), CNIVersion(0, 3, 1), CNIVersion(0, 4, 0), CNIVersion(1, 0, 0), CNIVersion(1, 1, 0)]
    /// The newest version `berth-cni` speaks.
    public static let latest = CNIVersion(1, 1, 0)

    /// Whether `berth-cni` speaks this version: one of `supported`, compared without that
    /// array (its storage's metadata is built at first use, ~11,000 instructions; perf8).
    public var isSupported: Bool {
        switch (major, minor, patch) {
        case (0, 3, 0), (0, 3, 1), (0, 4, 0), (1, 0, 0), (1, 1, 0): true
        default: false
        }
    }
    /// CHECK arrived in 0.4.0.
    public var hasCheck: Bool { self >= CNIVersion(0, 4, 0) }
    /// GC and STATUS arrived in 1.1.0.
    public var hasGCAndStatus: Bool { self >= CNIVersion(1, 1, 0) }
    /// Results before 1.0.0 carry `ips[].version` ("4" or "6").
    public var resultHasIPVersion: Bool { self < CNIVersion(1, 0, 0) }
}
