public import BerthCore

extension CgroupManager {
    /// What `create` checks before it makes anything: `limits` valid, and possible on this
    /// host (its controllers mounted, a cpuset within its CPUs). For a caller that wants to
    /// refuse a run before it makes anything else.
    public func check(_ limits: ResourceLimits) throws(BerthError) {
        try limits.validate()
        try checkHost(limits)
    }

    /// Refuses what the host cannot do, before anything is made.
    func checkHost(_ limits: ResourceLimits) throws(BerthError) {
        let needs: [(CgroupController, Bool, String, String)] = [
            (.memory, limits.memory != nil, "memory", "a memory limit"),
            (.cpu, limits.nanoCPUs != nil, "cpus", "a CPU limit"),
            (.cpu, limits.cpuShares != nil, "cpuShares", "CPU shares"),
            (.cpuset, limits.cpusetCPUs != nil, "cpusetCPUs", "a cpuset"),
            (.cpuset, limits.cpusetMems != nil, "cpusetMems", "a cpuset"),
            (.pids, limits.pids != nil, "pids", "a pids limit"),
        ]
        for (controller, wanted, parameter, what) in needs where wanted && !hierarchy.controllers.contains(controller) {
            throw BerthError(.unsupported, "this host's cgroups have no \(controller.rawValue) controller, so \(what) cannot be applied",
                             hint: "mount the \(controller.rawValue) controller (\(hierarchy)), or drop the limit", parameter: parameter)
        }
        if let nano = limits.nanoCPUs, let online = try? CPUList(parsing: filesystem.read("/sys/devices/system/cpu/online")),
           !online.isEmpty, nano > UInt64(online.members.count) * 1_000_000_000 {
            throw .invalid("a CPU limit of \(ResourceLimits.formatCPUs(nano)) is more than the \(online.members.count) CPUs this host has",
                           hint: "give from 0.01 to \(online.members.count)", parameter: "cpus")
        }
        for (list, file, parameter, noun) in [(limits.cpusetCPUs, "cpus", "cpusetCPUs", "CPUs"), (limits.cpusetMems, "mems", "cpusetMems", "memory nodes")] {
            guard let list, let root = root(of: .cpuset) else { continue }
            let available = try CPUList(parsing: try filesystem.read(root + "/" + effectiveCpusetFile(file)), parameter: parameter)
            let outside = list.subtracting(available)
            guard outside.isEmpty else {
                throw .invalid("\(noun) \(outside) of cpuset \(list) are not available on this host (it has \(available))",
                               hint: "choose \(noun) within \(available)", parameter: parameter)
            }
        }
    }

    /// `cpus` or `mems` as the tree's root shows what can actually be used.
    private func effectiveCpusetFile(_ kind: String) -> String {
        hierarchy.version == 2 ? "cpuset.\(kind).effective" : "cpuset.effective_\(kind)"
    }

    /// Writes `limits` into a freshly made cgroup.
    func write(_ limits: ResourceLimits, into cgroup: ContainerCgroup) throws(BerthError) {
        if hierarchy.version == 2 { try writeV2(limits, into: cgroup) } else { try writeV1(limits, into: cgroup) }
    }

    private func writeV1(_ limits: ResourceLimits, into cgroup: ContainerCgroup) throws(BerthError) {
        if let dir = cgroup.directory(.cpuset) {
            // Both must be set before anything can join (see makeParent).
            let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
            var cpus = limits.cpusetCPUs?.description, mems = limits.cpusetMems?.description
            if cpus == nil { cpus = Self.trimmed(try filesystem.read(parent + "/cpuset.cpus")) }
            if mems == nil { mems = Self.trimmed(try filesystem.read(parent + "/cpuset.mems")) }
            try filesystem.write(dir + "/cpuset.cpus", cpus ?? "")
            try filesystem.write(dir + "/cpuset.mems", mems ?? "")
        }
        if let dir = cgroup.directory(.memory), let memory = limits.memory {
            // memsw may never be below the memory limit: memory first (both start unlimited).
            try filesystem.write(dir + "/memory.limit_in_bytes", String(memory))
            if let swap = limits.effectiveMemorySwap {
                let file = dir + "/memory.memsw.limit_in_bytes"
                if filesystem.exists(file) {
                    try filesystem.write(file, swap.v1Value)
                } else if limits.memorySwap != nil {
                    throw BerthError(.unsupported, "this kernel does not account swap (no memory.memsw.limit_in_bytes), so a memory+swap limit cannot be applied",
                                     hint: "boot with swapaccount=1, or drop the memory+swap limit", parameter: "memorySwap")
                }
            }
        }
        if let dir = cgroup.directory(.cpu) {
            if let quota = limits.cfsQuota {
                try filesystem.write(dir + "/cpu.cfs_period_us", String(ResourceLimits.cfsPeriod))
                try filesystem.write(dir + "/cpu.cfs_quota_us", String(quota))
            }
            if let shares = limits.cpuShares { try filesystem.write(dir + "/cpu.shares", String(shares)) }
        }
        if let dir = cgroup.directory(.pids), let pids = limits.pids {
            try filesystem.write(dir + "/pids.max", String(pids))
        }
        if let dir = cgroup.directory(.devices) {
            // "a" empties the allow-list; then one rule per write.
            try filesystem.write(dir + "/devices.deny", "a")
            for rule in DeviceRule.docker { try filesystem.write(dir + "/devices.allow", rule.description) }
        }
    }

    private func writeV2(_ limits: ResourceLimits, into cgroup: ContainerCgroup) throws(BerthError) {
        guard let dir = cgroup.paths.first else { return }
        if let cpus = limits.cpusetCPUs { try filesystem.write(dir + "/cpuset.cpus", cpus.description) }
        if let mems = limits.cpusetMems { try filesystem.write(dir + "/cpuset.mems", mems.description) }
        if let memory = limits.memory {
            try filesystem.write(dir + "/memory.max", String(memory))
            if let swap = limits.effectiveMemorySwap {
                let file = dir + "/memory.swap.max"
                // v2 limits swap alone: Docker's memory+swap minus memory.
                let value = if case .total(let total) = swap { String(total - memory) } else { "max" }
                if filesystem.exists(file) {
                    try filesystem.write(file, value)
                } else if limits.memorySwap != nil {
                    throw BerthError(.unsupported, "this kernel does not account swap (no memory.swap.max), so a memory+swap limit cannot be applied",
                                     hint: "enable swap accounting, or drop the memory+swap limit", parameter: "memorySwap")
                }
            }
        }
        if let quota = limits.cfsQuota { try filesystem.write(dir + "/cpu.max", "\(quota) \(ResourceLimits.cfsPeriod)") }
        if let shares = limits.cpuShares { try filesystem.write(dir + "/cpu.weight", String(Self.weight(shares: shares))) }
        if let pids = limits.pids { try filesystem.write(dir + "/pids.max", String(pids)) }
    }

    /// v1 shares (2 … 262144) to v2 weight (1 … 10000), as runc and crun convert them.
    static func weight(shares: UInt64) -> UInt64 { 1 + ((shares - 2) * 9999) / 262_142 }

    /// On v2 a controller works in a cgroup only once its parent enables it for children
    /// (`cgroup.subtree_control`), all the way from the root. Enables, on the root and down to
    /// the Berth parent, those the container uses and that are not enabled yet.
    func enableControllers(_ controllers: [CgroupController], root: String, parentPath: String) throws(BerthError) {
        let wanted = controllers.filter { $0 != .cpuacct }
        var directories = [root]
        for component in parentPath.dropFirst(root.count).split(separator: "/") { directories.append(directories[directories.count - 1] + "/" + component) }
        for directory in directories {
            let file = directory + "/cgroup.subtree_control"
            let enabled = Set(try filesystem.read(file).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = wanted.filter { !enabled.contains($0.rawValue) }
            guard !missing.isEmpty else { continue }
            try filesystem.write(file, missing.map { "+" + $0.rawValue }.joined(separator: " "))
        }
    }
}

extension ResourceLimits.SwapLimit {
    /// What `memory.memsw.limit_in_bytes` takes.
    var v1Value: String {
        switch self {
        case .unlimited: "-1"
        case .total(let bytes): String(bytes)
        }
    }
}
