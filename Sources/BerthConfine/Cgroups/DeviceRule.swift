/// One entry of a v1 devices cgroup's allow-list: `c 1:3 rwm`.
public struct DeviceRule: Sendable, Hashable, CustomStringConvertible {
    /// The device type a rule covers.
    public enum Kind: String, Sendable, Hashable {
        /// `c` character devices, `b` block devices, `a` every device (any type and number).
        case char = "c", block = "b", all = "a"
    }

    /// The device type.
    public var kind: Kind
    /// nil means any (`*`).
    public var major: Int?
    /// nil means any (`*`).
    public var minor: Int?
    /// Some of "r" (read), "w" (write), "m" (mknod).
    public var access: String

    /// A rule for `kind` devices `major:minor` (nil for `*`) with `access` some of "rwm".
    public init(_ kind: Kind, _ major: Int?, _ minor: Int?, _ access: String) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }

    public var description: String {
        "\(kind.rawValue) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    /// runc's default allow-list, which Docker applies to every non-privileged container:
    /// any device node may be *made* (CAP_MKNOD is a default capability), but only these may
    /// be opened. Without it root in the container could mknod the host's disks and read them.
    public static let docker: [DeviceRule] = [
        DeviceRule(.char, nil, nil, "m"),
        DeviceRule(.block, nil, nil, "m"),
        DeviceRule(.char, 1, 3, "rwm"),     // null
        DeviceRule(.char, 1, 8, "rwm"),     // random
        DeviceRule(.char, 1, 7, "rwm"),     // full
        DeviceRule(.char, 5, 0, "rwm"),     // tty
        DeviceRule(.char, 1, 5, "rwm"),     // zero
        DeviceRule(.char, 1, 9, "rwm"),     // urandom
        DeviceRule(.char, 136, nil, "rwm"), // pts/*
        DeviceRule(.char, 5, 2, "rwm"),     // ptmx
        DeviceRule(.char, 10, 200, "rwm"),  // net/tun
    ]
}
