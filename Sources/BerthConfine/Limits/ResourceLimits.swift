public import BerthCore

/// What a container may consume: `docker run --memory`, `--memory-swap`, `--cpus`,
/// `--cpu-shares`, `--cpuset-cpus`, `--cpuset-mems` and `--pids-limit`. nil means no limit.
///
/// A value: `CgroupManager.create(id:limits:)` checks it against the host and writes it into
/// the container's cgroup. The parsers take Docker's spellings (`32m`, `1.5g`, `0.5`, `0-3,5`).
///
/// ```swift
/// var limits = ResourceLimits()
/// limits.memory = try ResourceLimits.parseBytes("32m", parameter: "memory")
/// limits.nanoCPUs = try ResourceLimits.parseCPUs("0.5")
/// limits.pids = try ResourceLimits.parsePidsLimit("20")
/// try limits.validate()
/// ```
public struct ResourceLimits: Sendable, Hashable {
    /// Memory in bytes (`--memory`); at least `minimumMemory`.
    public var memory: UInt64?
    /// Memory plus swap (`--memory-swap`). nil with `memory` set means twice `memory`, as in
    /// Docker; it needs `memory`.
    public var memorySwap: SwapLimit?
    /// CPU time in billionths of a CPU (`--cpus 0.5` is 500_000_000): a CFS quota of
    /// `nanoCPUs / 10^9` times the period.
    public var nanoCPUs: UInt64?
    /// Relative CPU weight (`--cpu-shares`, 2 … 262144; 1024 is the default weight).
    public var cpuShares: UInt64?
    /// CPUs the container may run on (`--cpuset-cpus`).
    public var cpusetCPUs: CPUList?
    /// Memory nodes it may allocate from (`--cpuset-mems`).
    public var cpusetMems: CPUList?
    /// Most processes and threads at once (`--pids-limit`).
    public var pids: UInt64?

    /// Limits as given (nil: no limit); `validate()` checks them.
    public init(memory: UInt64? = nil, memorySwap: SwapLimit? = nil, nanoCPUs: UInt64? = nil, cpuShares: UInt64? = nil,
                cpusetCPUs: CPUList? = nil, cpusetMems: CPUList? = nil, pids: UInt64? = nil) {
        self.memory = memory
        self.memorySwap = memorySwap
        self.nanoCPUs = nanoCPUs
        self.cpuShares = cpuShares
        self.cpusetCPUs = cpusetCPUs
        self.cpusetMems = cpusetMems
        self.pids = pids
    }

    /// Memory plus swap, or unlimited swap.
    public enum SwapLimit: Sendable, Hashable {
        /// `--memory-swap -1`: swap is not limited.
        case unlimited
        /// Memory plus swap in bytes; equal to `memory` means no swap.
        case total(UInt64)
    }

    /// Docker's floor for `--memory` (6 MiB): below it the kernel and the container's own
    /// start-up leave nothing to run in.
    public static let minimumMemory: UInt64 = 6 * 1024 * 1024
    /// The CFS period Berth uses, in microseconds (Docker's and the kernel's default).
    public static let cfsPeriod: UInt64 = 100_000
    /// `--cpus` below this gives a quota under the kernel's 1 ms minimum.
    public static let minimumNanoCPUs: UInt64 = 10_000_000

    /// No limit at all.
    public var isEmpty: Bool { self == ResourceLimits() }

    /// The CFS quota for `nanoCPUs`, in microseconds per `cfsPeriod`.
    public var cfsQuota: UInt64? { nanoCPUs.map { $0 * Self.cfsPeriod / 1_000_000_000 } }

    /// The memory+swap limit to write: the given one, or twice `memory` (Docker's default).
    public var effectiveMemorySwap: SwapLimit? {
        if let memorySwap { return memorySwap }
        return memory.map { .total($0.multipliedReportingOverflow(by: 2).overflow ? UInt64.max : $0 * 2) }
    }

    /// Checks the limits against each other and the kernel's floors; the host's CPUs are
    /// checked when the cgroup is made.
    public func validate() throws(BerthError) {
        if let memory, memory < Self.minimumMemory {
            throw .invalid("memory limit \(memory) bytes is below the minimum of 6 MiB", hint: "give at least 6 MiB", parameter: "memory")
        }
        if let memorySwap {
            guard let memory else {
                throw .invalid("a memory+swap limit needs a memory limit", hint: "set the memory limit too", parameter: "memorySwap")
            }
            if case .total(let total) = memorySwap, total < memory {
                throw .invalid("memory+swap limit \(total) is below the memory limit \(memory)",
                               hint: "give memory+swap at least equal to memory (equal means no swap), or unlimited swap",
                               parameter: "memorySwap")
            }
        }
        if let nanoCPUs, nanoCPUs < Self.minimumNanoCPUs {
            throw .invalid("a CPU limit of \(Self.formatCPUs(nanoCPUs)) is below the minimum of 0.01", hint: "give 0.01 or more", parameter: "cpus")
        }
        if let cpuShares, !(2...262_144).contains(cpuShares) {
            throw .invalid("CPU shares \(cpuShares) are outside 2 to 262144", hint: "give a weight in that range; 1024 is the default", parameter: "cpuShares")
        }
        if let pids, pids == 0 {
            throw .invalid("a pids limit of 0 would not let the command start", hint: "give at least 1, or no limit", parameter: "pids")
        }
    }

    /// `--cpus` as Docker prints it: "0.5", "2".
    public static func formatCPUs(_ nano: UInt64) -> String {
        let whole = nano / 1_000_000_000
        var fraction = String(nano % 1_000_000_000)
        if fraction == "0" { return String(whole) }
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
