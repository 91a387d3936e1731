public import BerthCore

/// What a container consumes, as `docker stats` shows it.
public struct CgroupStats: Sendable, Hashable {
    /// Memory in use, without the inactive file cache the kernel can drop at once (Docker's
    /// "MEM USAGE": usage minus `inactive_file`).
    public var memoryUsage: UInt64
    /// The memory limit; nil when unlimited.
    public var memoryLimit: UInt64?
    /// CPU time used since the cgroup was made, in nanoseconds (all CPUs together).
    public var cpuUsageNanoseconds: UInt64
    /// Processes and threads in it now.
    public var pids: UInt64
    /// Its pids limit; nil when unlimited.
    public var pidsLimit: UInt64?

    /// Stats from their values: bytes, CPU nanoseconds and process counts; nil limits are unlimited.
    public init(memoryUsage: UInt64, memoryLimit: UInt64?, cpuUsageNanoseconds: UInt64, pids: UInt64, pidsLimit: UInt64?) {
        self.memoryUsage = memoryUsage
        self.memoryLimit = memoryLimit
        self.cpuUsageNanoseconds = cpuUsageNanoseconds
        self.pids = pids
        self.pidsLimit = pidsLimit
    }

    /// CPU % between two samples taken `elapsedNanoseconds` apart, as `docker stats` shows
    /// it: 100 per fully busy CPU (a container using two CPUs shows 200%).
    public static func cpuPercent(from earlier: CgroupStats, to later: CgroupStats, elapsedNanoseconds: UInt64) -> Double {
        guard elapsedNanoseconds > 0, later.cpuUsageNanoseconds >= earlier.cpuUsageNanoseconds else { return 0 }
        return Double(later.cpuUsageNanoseconds - earlier.cpuUsageNanoseconds) / Double(elapsedNanoseconds) * 100
    }
}

extension CgroupManager {
    /// Reads a container's usage. Needs the memory, cpu (v2) or cpuacct (v1) and pids
    /// controllers; a missing one reads as zero.
    public func stats(_ cgroup: ContainerCgroup) throws(BerthError) -> CgroupStats {
        var stats = CgroupStats(memoryUsage: 0, memoryLimit: nil, cpuUsageNanoseconds: 0, pids: 0, pidsLimit: nil)
        let v2 = cgroup.version == 2
        if let dir = cgroup.directory(.memory) {
            let usage = try number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes")) ?? 0
            let fields = try keyedNumbers(dir + "/memory.stat")
            let inactive = fields[v2 ? "inactive_file" : "total_inactive_file"] ?? 0
            stats.memoryUsage = inactive < usage ? usage - inactive : usage
            stats.memoryLimit = try number(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes")).flatMap { $0 >= Self.unlimitedMemory ? nil : $0 }
        }
        if v2, let dir = cgroup.directory(.cpu) {
            stats.cpuUsageNanoseconds = (try keyedNumbers(dir + "/cpu.stat")["usage_usec"] ?? 0) * 1000
        } else if !v2, let dir = cgroup.directory(.cpuacct) {
            stats.cpuUsageNanoseconds = try number(dir + "/cpuacct.usage") ?? 0
        }
        if let dir = cgroup.directory(.pids) {
            stats.pids = try number(dir + "/pids.current") ?? 0
            stats.pidsLimit = try number(dir + "/pids.max")
        }
        return stats
    }

    /// How many times the OOM killer killed a process of the container (v1
    /// `memory.oom_control`, v2 `memory.events`, field `oom_kill`). Read it after the command
    /// ended and before `remove`: more than 0 is Docker's `OOMKilled: true`.
    public func oomKills(_ cgroup: ContainerCgroup) throws(BerthError) -> UInt64 {
        guard let dir = cgroup.directory(.memory) else { return 0 }
        return try keyedNumbers(dir + (cgroup.version == 2 ? "/memory.events" : "/memory.oom_control"))["oom_kill"] ?? 0
    }

    /// v1 shows "no limit" as a huge page-rounded number (9223372036854771712).
    static let unlimitedMemory: UInt64 = 1 << 62

    /// A file holding one number; nil for "max" (v2's unlimited).
    private func number(_ path: String) throws(BerthError) -> UInt64? {
        let text = Self.trimmed(try filesystem.read(path))
        if text == "max" { return nil }
        guard let value = UInt64(text) else { throw BerthError(.system, "\(path) holds \"\(text)\", not a number", object: .file(path)) }
        return value
    }

    /// `key value` lines (memory.stat, cpu.stat, memory.events, memory.oom_control).
    private func keyedNumbers(_ path: String) throws(BerthError) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in try filesystem.read(path).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let value = UInt64(fields[1]) else { continue }
            result[String(fields[0])] = value
        }
        return result
    }
}
