import ArgumentParser
import Berth

/// The `berth run` options that bound a container (its cgroup's limits) and confine it
/// (capabilities, seccomp), spelled and parsed as `docker run`'s.
struct ConfinementArguments: ParsableArguments {
    @Option(name: [.customShort("m", allowingJoined: true), .long], help: ArgumentHelp("A memory limit: bytes or with k, m, g (at least 6m).", valueName: "BYTES"))
    var memory: String?
    // `.unconditional`: the next word is the value even when it starts with '-', so the
    // documented `--memory-swap -1` and `--pids-limit -1` work as separate words, as in
    // docker (argument-parser would take `-1` for an option and say the value is missing).
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: ArgumentHelp("Memory plus swap (default twice --memory; -1 for unlimited swap).", valueName: "BYTES"))
    var memorySwap: String?
    @Option(help: ArgumentHelp("How many CPUs' time the container may use, such as 0.5.", valueName: "N")) var cpus: String?
    @Option(name: [.customShort("c", allowingJoined: true), .customLong("cpu-shares")], help: ArgumentHelp("Relative CPU weight (default 1024).", valueName: "N"))
    var cpuShares: String?
    @Option(name: .customLong("cpuset-cpus"), help: ArgumentHelp("The CPUs it may run on, such as 0-1 or 0,2.", valueName: "LIST"))
    var cpusetCPUs: String?
    @Option(name: .customLong("cpuset-mems"), help: ArgumentHelp("The memory nodes it may use, such as 0.", valueName: "LIST"))
    var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: ArgumentHelp("At most this many processes (-1 or 0: unlimited).", valueName: "N"))
    var pidsLimit: String?
    @Option(help: ArgumentHelp("A resource limit (setrlimit), such as nofile=1024:2048 or core=0 (-1: unlimited); repeatable, a later one of a name wins.",
                               valueName: "NAME=SOFT[:HARD]"))
    var ulimit: [String] = []
    @Option(name: .customLong("cap-add"), help: ArgumentHelp("Add a capability to Docker's default set (ALL for every one).", valueName: "CAP"))
    var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: ArgumentHelp("Drop a capability from the set (ALL for every one).", valueName: "CAP"))
    var capDrop: [String] = []
    @Option(name: .customLong("security-opt"), help: ArgumentHelp("seccomp=unconfined, or no-new-privileges.", valueName: "OPT"))
    var securityOpt: [String] = []

    /// The cgroup limits asked for (empty without any of the options).
    func limits() throws(BerthError) -> ResourceLimits {
        var limits = ResourceLimits()
        limits.memory = try memory.map { text throws(BerthError) in try ResourceLimits.parseBytes(text, parameter: "memory") }
        limits.memorySwap = try memorySwap.map { text throws(BerthError) in try ResourceLimits.parseSwap(text) }
        limits.nanoCPUs = try cpus.map { text throws(BerthError) in try ResourceLimits.parseCPUs(text) }
        limits.cpuShares = try cpuShares.map { text throws(BerthError) in try ResourceLimits.parseCPUShares(text) }
        limits.cpusetCPUs = try cpusetCPUs.map { text throws(BerthError) in try CPUList(parsing: text, parameter: "cpusetCPUs") }
        limits.cpusetMems = try cpusetMems.map { text throws(BerthError) in try CPUList(parsing: text, parameter: "cpusetMems") }
        if let pidsLimit { limits.pids = try ResourceLimits.parsePidsLimit(pidsLimit) }
        return limits
    }

    /// The `--ulimit` limits, as Docker's: a later one of a name replaces an earlier one, in
    /// name order.
    func ulimits() throws(BerthError) -> [Ulimit] {
        Ulimit.merged(try ulimit.map { text throws(BerthError) in try Ulimit(parsing: text) })
    }

    /// Docker's defaults changed by the capability and security options.
    func confinement() throws(BerthError) -> Confinement {
        var confinement = Confinement()
        confinement.capabilities = try confinement.capabilities.adjusted(adding: capAdd, dropping: capDrop)
        for text in securityOpt { try SecurityOption(parsing: text).apply(to: &confinement) }
        return confinement
    }
}
