/// A CNI specification version (`0.3.1`, `1.1.0`), and what each one changes for a plugin.
public struct CNIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `MAJOR.MINOR.PATCH` of decimal numbers; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 4, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(part) else { return nil }
            numbers.append(value)
        }
        self.init(numbers[0], numbers[1], numbers[2])
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

    public var isSupported: Bool { Self.supported.contains(self) }
    /// CHECK arrived in 0.4.0.
    public var hasCheck: Bool { self >= CNIVersion(0, 4, 0) }
    /// GC and STATUS arrived in 1.1.0.
    public var hasGCAndStatus: Bool { self >= CNIVersion(1, 1, 0) }
    /// Results before 1.0.0 carry `ips[].version` ("4" or "6").
    public var resultHasIPVersion: Bool { self < CNIVersion(1, 0, 0) }
}
