/// A seccomp policy in the shape of Docker's profiles: a default action, and rules that give
/// named system calls another action, possibly only for some argument values, only on some
/// architectures, or only when the container holds (or lacks) a capability.
///
/// `SeccompProfile.docker` is Docker's default. `SeccompCompiler` turns a profile into the
/// classic BPF program the kernel runs on every system call of the container.
public struct SeccompProfile: Sendable, Hashable {
    /// What a call no rule matches gets (Docker: EPERM).
    public var defaultAction: SeccompAction
    /// Rules in order; see `SeccompCompiler` for how several rules for one call combine.
    public var rules: [SeccompRule]

    /// A profile with `defaultAction` for calls no rule matches.
    public init(defaultAction: SeccompAction, rules: [SeccompRule]) {
        self.defaultAction = defaultAction
        self.rules = rules
    }
}

/// What the kernel does with a system call.
public enum SeccompAction: Sendable, Hashable, CustomStringConvertible {
    /// Runs it.
    case allow
    /// Skips it and returns -1 with this errno.
    case errno(Int32)
    /// Kills the whole process with SIGSYS (for calls from an ABI the filter does not know).
    case killProcess

    /// The SECCOMP_RET_* value a filter returns.
    public var returnValue: UInt32 {
        switch self {
        case .allow: 0x7FFF_0000
        case .errno(let code): 0x0005_0000 | (UInt32(truncatingIfNeeded: code) & 0xFFFF)
        case .killProcess: 0x8000_0000
        }
    }

    public var description: String {
        switch self {
        case .allow: "allow"
        case .errno(let code): "errno \(code)"
        case .killProcess: "kill"
        }
    }
}

/// One rule: `names` get `action` when every condition holds, on the listed architectures,
/// given the capability requirements.
public struct SeccompRule: Sendable, Hashable {
    /// The system calls, by name; names the ABI lacks are skipped.
    public var names: [String]
    /// What the calls get when the rule applies and its conditions hold.
    public var action: SeccompAction
    /// All must hold (an empty list always holds).
    public var conditions: [SeccompCondition]
    /// The rule applies only on these architectures; nil means on all.
    public var architectures: Set<SeccompArchitecture>?
    /// The rule applies only to a container holding every one of these (Docker's
    /// `includes.caps`).
    public var requires: CapabilitySet
    /// The rule does not apply to a container holding any of these (Docker's `excludes.caps`).
    public var excludedBy: CapabilitySet

    /// A rule giving `names` `action`; unrestricted unless conditions, architectures or capabilities are given.
    public init(_ names: [String], _ action: SeccompAction = .allow, conditions: [SeccompCondition] = [],
                architectures: Set<SeccompArchitecture>? = nil, requires: CapabilitySet = .none, excludedBy: CapabilitySet = .none) {
        self.names = names
        self.action = action
        self.conditions = conditions
        self.architectures = architectures
        self.requires = requires
        self.excludedBy = excludedBy
    }

    /// Whether the rule is part of the filter for a container with `capabilities` on `architecture`.
    func applies(to architecture: SeccompArchitecture, capabilities: CapabilitySet) -> Bool {
        if let architectures, !architectures.contains(architecture) { return false }
        if capabilities.rawValue & requires.rawValue != requires.rawValue { return false }
        return capabilities.rawValue & excludedBy.rawValue == 0
    }
}

/// A test on one argument of the call (`seccomp_data.args[index]`, 64 bits).
public struct SeccompCondition: Sendable, Hashable {
    /// Which argument, 0 to 5.
    public var index: Int
    /// What the argument must satisfy.
    public var test: Test

    /// A test of argument `index` (0 to 5).
    public init(_ index: Int, _ test: Test) {
        self.index = index
        self.test = test
    }

    /// A comparison of an argument with constants.
    public enum Test: Sendable, Hashable {
        /// All 64 bits equal the value (a value with stray high bits does not match).
        case equal(UInt64)
        /// `argument & mask == value` over all 64 bits.
        case maskedEqual(mask: UInt64, value: UInt64)
        /// The low 32 bits, unsigned, are below the value. For C `int` arguments: the kernel
        /// reads only those bits, so comparing all 64 would let stray high bits past a test
        /// whose purpose is to refuse one 32-bit value.
        case below32(UInt32)
        /// The low 32 bits equal the value.
        case equal32(UInt32)
        /// The low 32 bits, unsigned, are above the value.
        case above32(UInt32)
    }
}
