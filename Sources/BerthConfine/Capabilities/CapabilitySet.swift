public import BerthCore

/// The capabilities root in a container keeps: its bounding, permitted and effective sets
/// (the inheritable set is emptied and the ambient set cleared, CVE-2022-24769). Bit n is
/// capability n.
///
/// ```swift
/// var caps = try CapabilitySet.docker.adjusted(adding: ["NET_ADMIN"], dropping: ["NET_RAW"])
/// caps.contains(.netAdmin)     // true
/// ```
public struct CapabilitySet: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The set holding exactly `capabilities`.
    public init<S: Sequence>(_ capabilities: S) where S.Element == Capability {
        rawValue = capabilities.reduce(0) { $0 | (1 << UInt64($1.rawValue)) }
    }

    /// Docker's default set (moby's `oci/caps.DefaultCapabilities`): CHOWN, DAC_OVERRIDE,
    /// FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE,
    /// SYS_CHROOT, KILL, AUDIT_WRITE. Without SYS_ADMIN, NET_ADMIN, SYS_MODULE… root in the
    /// container cannot mount, reconfigure its network or load modules.
    public static let docker = CapabilitySet([
        .chown, .dacOverride, .fsetid, .fowner, .mknod, .netRaw, .setgid, .setuid, .setfcap, .setpcap,
        .netBindService, .sysChroot, .kill, .auditWrite,
    ])

    /// Every capability Berth knows by name (what `ALL` means, and what a privileged container gets).
    public static let all = CapabilitySet((0..<Capability.names.count).compactMap { Capability(rawValue: $0) })

    /// No capabilities.
    public static let none = CapabilitySet(rawValue: 0)

    /// Whether bit `capability.rawValue` is set.
    public func contains(_ capability: Capability) -> Bool { rawValue & (1 << UInt64(capability.rawValue)) != 0 }

    /// Sets `capability`'s bit.
    public mutating func insert(_ capability: Capability) { rawValue |= 1 << UInt64(capability.rawValue) }

    /// Clears `capability`'s bit.
    public mutating func remove(_ capability: Capability) { rawValue &= ~(1 << UInt64(capability.rawValue)) }

    /// The capabilities in the set, lowest number first.
    public var members: [Capability] {
        (0..<64).compactMap { bit in rawValue & (1 << UInt64(bit)) != 0 ? Capability(rawValue: bit) : nil }
    }

    /// `CAP_` names, lowest number first, comma-separated.
    public var description: String { members.map(\.description).joined(separator: ",") }

    /// This set changed by `--cap-add` and `--cap-drop` names, as Docker does it
    /// (moby `TweakCapabilities`): `ALL` among the additions starts from every capability
    /// and drops the dropped ones; `ALL` among the drops keeps only the added ones; otherwise
    /// the drops are removed first and the additions then added (an addition wins).
    ///
    /// Names are checked first: an unknown one throws and nothing is changed.
    public func adjusted(adding: [String], dropping: [String]) throws(BerthError) -> CapabilitySet {
        func parse(_ names: [String]) throws(BerthError) -> (all: Bool, set: CapabilitySet) {
            var set = CapabilitySet.none
            var all = false
            for name in names {
                if name.uppercased() == "ALL" { all = true; continue }
                set.insert(try Capability(parsing: name))
            }
            return (all, set)
        }
        let add = try parse(adding)
        let drop = try parse(dropping)
        if add.all { return CapabilitySet(rawValue: Self.all.rawValue & ~drop.set.rawValue) }
        if drop.all { return add.set }
        return CapabilitySet(rawValue: (rawValue & ~drop.set.rawValue) | add.set.rawValue)
    }
}
