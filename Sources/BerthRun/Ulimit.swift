public import BerthCore

/// A resource limit (setrlimit(2)) the container's command starts with, as `docker run
/// --ulimit NAME=SOFT[:HARD]` gives one (`ContainerSpec.ulimits`).
///
/// The names, the syntax and its checks are Docker's (go-units' `ParseUlimit`): one of the
/// fifteen names below, whole numbers (no size suffixes; `-1` or `infinity` for unlimited),
/// the hard limit the soft one when not given, and a soft limit never above the hard one.
/// Berth also refuses numbers below -1, which Docker would pass to the kernel as huge ones.
public struct Ulimit: Sendable, Hashable, CustomStringConvertible {
    /// The limits `--ulimit` names: every RLIMIT_* but `as` (which Docker leaves out too).
    public enum Resource: String, Sendable, Hashable, CaseIterable {
        case core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack

        /// The kernel's RLIMIT_* number (asm-generic/resource.h: the same on x86_64 and arm64).
        public var number: Int32 {
            switch self {
            case .cpu: 0
            case .fsize: 1
            case .data: 2
            case .stack: 3
            case .core: 4
            case .rss: 5
            case .nproc: 6
            case .nofile: 7
            case .memlock: 8
            case .locks: 10
            case .sigpending: 11
            case .msgqueue: 12
            case .nice: 13
            case .rtprio: 14
            case .rttime: 15
            }
        }
    }

    /// What the limit bounds.
    public var resource: Resource
    /// The soft limit; -1 for unlimited (RLIM_INFINITY).
    public var soft: Int64
    /// The hard limit; -1 for unlimited (RLIM_INFINITY).
    public var hard: Int64

    /// Docker's value for unlimited.
    public static let unlimited: Int64 = -1

    /// A limit of `resource`; `hard` defaults to `soft`, as Docker's.
    public init(_ resource: Resource, soft: Int64, hard: Int64? = nil) {
        self.resource = resource
        self.soft = soft
        self.hard = hard ?? soft
    }

    /// The name Docker and `/proc/PID/limits`' users know it by (`nofile`).
    public var name: String { resource.rawValue }

    /// `NAME=SOFT:HARD`, as Docker prints one.
    public var description: String { "\(name)=\(soft):\(hard)" }

    /// The limits as the kernel takes them: -1 is RLIM_INFINITY (all bits set).
    var kernelSoft: UInt64 { UInt64(bitPattern: soft) }
    var kernelHard: UInt64 { UInt64(bitPattern: hard) }

    private static let syntax = "write NAME=SOFT[:HARD], such as nofile=1024:2048"

    /// Reads `NAME=SOFT[:HARD]`; see the type's description for what is refused.
    public init(parsing text: String) throws(BerthError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw .invalid("invalid ulimit \"\(text)\": no '='", hint: Self.syntax, parameter: "ulimits")
        }
        let name = String(text[..<equals])
        guard let resource = Resource(rawValue: name) else {
            throw .invalid("unknown ulimit \"\(name)\"", hint: "use one of " + Resource.allCases.map(\.rawValue).joined(separator: ", "),
                           parameter: "ulimits")
        }
        let values = text[text.index(after: equals)...].split(separator: ":", omittingEmptySubsequences: false)
        guard values.count <= 2 else {
            throw .invalid("ulimit \"\(text)\" has more than a soft and a hard limit", hint: Self.syntax, parameter: "ulimits")
        }
        let soft = try Self.value(values[0], in: text)
        let hard = values.count == 2 ? try Self.value(values[1], in: text) : soft
        self.init(resource, soft: soft, hard: hard)
        try validate()
    }

    /// A whole number, or `infinity` (-1).
    private static func value(_ text: Substring, in whole: String) throws(BerthError) -> Int64 {
        if text == "infinity" { return unlimited }
        guard let number = Int64(text) else {
            throw .invalid("invalid ulimit value \"\(text)\" in \"\(whole)\"", hint: "give a whole number, or -1 or infinity for unlimited",
                           parameter: "ulimits")
        }
        return number
    }

    /// Each limit -1 or more, and the soft one at most the hard one (an unlimited soft limit
    /// needs an unlimited hard one).
    public func validate() throws(BerthError) {
        for (which, value) in [("soft", soft), ("hard", hard)] where value < Self.unlimited {
            throw .invalid("ulimit \(name): invalid \(which) limit \(value)", hint: "give 0 or more, or -1 or infinity for unlimited", parameter: "ulimits")
        }
        guard hard != Self.unlimited else { return }
        if soft == Self.unlimited || soft > hard {
            let shown = soft == Self.unlimited ? "-1 (unlimited)" : "\(soft)"
            throw .invalid("ulimit \(name): the soft limit \(shown) is above the hard limit \(hard)",
                           hint: "give a soft limit at most the hard limit", parameter: "ulimits")
        }
    }

    /// What repeated `--ulimit` options amount to, as Docker's: a later one of a name
    /// replaces an earlier one, and the list is in name order.
    public static func merged(_ limits: [Ulimit]) -> [Ulimit] {
        var byName: [Resource: Ulimit] = [:]
        for limit in limits { byName[limit.resource] = limit }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// Checks a list as `ContainerSpec.ulimits` takes it: each valid, no name twice.
    static func validate(_ limits: [Ulimit]) throws(BerthError) {
        var seen: Set<Resource> = []
        for limit in limits {
            try limit.validate()
            guard seen.insert(limit.resource).inserted else {
                throw .invalid("ulimit \(limit.name) is given twice", hint: "give each ulimit once", parameter: "ulimits")
            }
        }
    }
}
