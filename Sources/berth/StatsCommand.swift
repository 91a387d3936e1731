#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Berth

/// `berth stats`: each running container's CPU %, memory and pids from its cgroup, as
/// `docker stats` shows them, refreshed every second until interrupted (or once).
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show running containers' CPU, memory and process use.",
        discussion: "CPU % is measured over one second (100% is one busy CPU). Without a memory limit, LIMIT is the host's memory.")

    @Argument(help: "Containers (default: every running one).") var containers: [String] = []
    @Flag(name: .customLong("no-stream"), help: "Print one sample and exit.") var noStream = false
    @OptionGroup var output: JSONOption
    @OptionGroup var state: StateOption

    func run() throws {
        let manager = try state.existingManager()
        let records = try containers.isEmpty
            ? Container.list(manager: manager).filter { $0.status == .running }
            : containers.map { name throws(BerthError) in try Container.find(name, manager: manager) }
        var earlier = try sample(records, manager: manager)
        var then = Self.now()
        let clear = !noStream && !output.json && isatty(1) == 1
        while true {
            usleep(1_000_000)
            let later = try sample(records, manager: manager)
            let now = Self.now()
            let rows = records.map { record in
                Row(record: record, stats: later[record.id],
                    cpu: later[record.id].flatMap { l in earlier[record.id].map { CgroupStats.cpuPercent(from: $0, to: l, elapsedNanoseconds: now - then) } })
            }
            if clear { print("\u{1B}[2J\u{1B}[H", terminator: "") }
            if output.json {
                Output.json(.array(rows.map(\.json)))
            } else {
                let memory = Self.hostMemory()
                Output.table(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"], rows.map { $0.columns(hostMemory: memory) })
            }
            if noStream { return }
            // Every stream: a pipe reader sees each sample as it comes. One that went away
            // (`berth stats | head`) ends the stream: SIGPIPE is ignored, so nothing else would.
            if fflush(nil) != 0 { return }
            earlier = later
            then = now
        }
    }

    /// One container's sample; a container that stopped meanwhile has none (shown as zeros,
    /// as Docker does). A container named on the command line that is not running is an error.
    private func sample(_ records: [ContainerRecord], manager: NetworkManager) throws(BerthError) -> [String: CgroupStats] {
        var stats: [String: CgroupStats] = [:]
        for record in records {
            do {
                stats[record.id] = try Container.stats(record, manager: manager)
            } catch where error.code == .conflict && containers.isEmpty {
                continue
            }
        }
        return stats
    }

    struct Row {
        let record: ContainerRecord
        let stats: CgroupStats?
        let cpu: Double?

        var json: JSON {
            .object([
                ("id", .string(record.id)), ("name", .string(record.name)), ("cpuPercent", cpu.map { .number(($0 * 100).rounded() / 100) } ?? .null),
                ("memoryUsage", stats.map { .int($0.memoryUsage) } ?? .null), ("memoryLimit", stats?.memoryLimit.map { .int($0) } ?? .null),
                ("pids", stats.map { .int($0.pids) } ?? .null), ("pidsLimit", stats?.pidsLimit.map { .int($0) } ?? .null),
            ])
        }

        func columns(hostMemory: UInt64) -> [String] {
            let usage = stats?.memoryUsage ?? 0
            let limit = stats?.memoryLimit ?? hostMemory
            let percent = limit > 0 ? Double(usage) / Double(limit) * 100 : 0
            return [String(record.id.prefix(12)), record.name, StatsCommand.fixed(cpu ?? 0) + "%",
                    StatsCommand.bytes(usage) + " / " + StatsCommand.bytes(limit), StatsCommand.fixed(percent) + "%", String(stats?.pids ?? 0)]
        }
    }

    /// Two decimals, as Docker prints percentages.
    static func fixed(_ value: Double) -> String {
        let hundredths = UInt64((max(0, value) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// Binary units with two decimals: `1.5MiB` prints as `1.50MiB`, `512B` as `512B`.
    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value)B" : fixed(scaled) + units[unit]
    }

    /// The host's memory (`MemTotal`), Docker's LIMIT for an unlimited container.
    static func hostMemory() -> UInt64 {
        guard let file = fopen("/proc/meminfo", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("MemTotal:") else { continue }
            let kib = text.dropFirst("MemTotal:".count).split(separator: " ").first.flatMap { UInt64($0) } ?? 0
            return kib * 1024
        }
        return 0
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
