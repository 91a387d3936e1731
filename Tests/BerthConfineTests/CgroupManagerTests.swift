import BerthConfine
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("CgroupHierarchy")
struct CgroupHierarchyTests {
    @Test("the hybrid layout of Berth's machines is v1, its cgroup2 mount noted")
    func hybrid() {
        #expect(CgroupHierarchy.hybrid == .legacy(mounts: [
            .cpu: "/sys/fs/cgroup/cpu", .cpuacct: "/sys/fs/cgroup/cpuacct", .cpuset: "/sys/fs/cgroup/cpuset",
            .devices: "/sys/fs/cgroup/devices", .memory: "/sys/fs/cgroup/memory", .pids: "/sys/fs/cgroup/pids",
        ], unified: "/sys/fs/cgroup/unified"))
        #expect(CgroupHierarchy.hybrid.version == 1)
    }

    @Test("cpu and cpuacct on one mount share a directory")
    func combined() throws {
        let hierarchy = try CgroupHierarchy.detect(mountinfo: combinedMountinfo) { _ in "" }
        #expect(hierarchy == .legacy(mounts: [.cpu: "/sys/fs/cgroup/cpu,cpuacct", .cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
                                              .memory: "/sys/fs/cgroup/memory", .pids: "/sys/fs/cgroup/pids"], unified: nil))
        let cgroup = try CgroupManager(hierarchy: hierarchy, filesystem: fakeHost(hierarchy)).cgroup(id: "c1")
        #expect(cgroup.paths == ["/sys/fs/cgroup/cpu,cpuacct/berth/c1", "/sys/fs/cgroup/memory/berth/c1", "/sys/fs/cgroup/pids/berth/c1"])
    }

    @Test("a cgroup2 mount with the controllers is v2")
    func unified() {
        #expect(CgroupHierarchy.v2 == .unified(path: "/sys/fs/cgroup", controllers: [.cpu, .cpuacct, .cpuset, .memory, .pids]))
    }

    @Test("no cgroup mount at all is refused clearly")
    func none() {
        #expect(throws: BerthError.self) { try CgroupHierarchy.detect(mountinfo: "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n") { _ in "" } }
    }

    @Test("escaped mount points are decoded")
    func escapes() throws {
        let text = "40 31 0:37 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n"
        #expect(try CgroupHierarchy.detect(mountinfo: text) { _ in "" } == .legacy(mounts: [.memory: "/sys/fs/cgroup/my memory"], unified: nil))
    }

    @Test("this host's layout is detected: the version and the controllers the files under /sys/fs/cgroup show",
          .enabled(if: CgroupProbe.version != nil))
    func host() throws {
        let hierarchy = try CgroupHierarchy.detect()
        #expect(hierarchy.version == CgroupProbe.version, "\(hierarchy)")
        #expect(Set(hierarchy.controllers.map(\.rawValue)) == CgroupProbe.controllers, "\(hierarchy)")
        // Each v1 controller where its tree is: /sys/fs/cgroup/NAME (a link to a shared
        // mount such as cpu,cpuacct included).
        if case .legacy(let mounts, _) = hierarchy {
            for (controller, path) in mounts {
                let expected = URL(fileURLWithPath: "/sys/fs/cgroup/" + controller.rawValue).resolvingSymlinksInPath().path
                #expect(URL(fileURLWithPath: path).resolvingSymlinksInPath().path == expected, "\(controller)")
            }
        }
    }
}

@Suite("CgroupManager on v1 (fake tree)")
struct CgroupManagerV1Tests {
    let fs = fakeHost(.hybrid)
    var cgroups: CgroupManager { try! CgroupManager(hierarchy: .hybrid, filesystem: fs) }

    @Test("every limit lands in its controller's file, parents first, cpuset filled in before use")
    func create() throws {
        let limits = ResourceLimits(memory: 32 << 20, nanoCPUs: 500_000_000, cpuShares: 512, cpusetCPUs: CPUList([1]), pids: 20)
        let cgroup = try cgroups.create(id: "c1", limits: limits)
        #expect(cgroup.procsFiles == ["cpu", "cpuacct", "cpuset", "devices", "memory", "pids"].map { "/sys/fs/cgroup/\($0)/berth/c1/cgroup.procs" })
        #expect(fs.log == [
            "mkdir /sys/fs/cgroup/cpu/berth", "mkdir /sys/fs/cgroup/cpu/berth/c1",
            "mkdir /sys/fs/cgroup/cpuacct/berth", "mkdir /sys/fs/cgroup/cpuacct/berth/c1",
            "mkdir /sys/fs/cgroup/cpuset/berth",
            "write /sys/fs/cgroup/cpuset/berth/cpuset.cpus 0-1", "write /sys/fs/cgroup/cpuset/berth/cpuset.mems 0",
            "mkdir /sys/fs/cgroup/cpuset/berth/c1",
            "mkdir /sys/fs/cgroup/devices/berth", "mkdir /sys/fs/cgroup/devices/berth/c1",
            "mkdir /sys/fs/cgroup/memory/berth", "mkdir /sys/fs/cgroup/memory/berth/c1",
            "mkdir /sys/fs/cgroup/pids/berth", "mkdir /sys/fs/cgroup/pids/berth/c1",
            "write /sys/fs/cgroup/cpuset/berth/c1/cpuset.cpus 1", "write /sys/fs/cgroup/cpuset/berth/c1/cpuset.mems 0",
            "write /sys/fs/cgroup/memory/berth/c1/memory.limit_in_bytes 33554432",
            "write /sys/fs/cgroup/memory/berth/c1/memory.memsw.limit_in_bytes 67108864",
            "write /sys/fs/cgroup/cpu/berth/c1/cpu.cfs_period_us 100000", "write /sys/fs/cgroup/cpu/berth/c1/cpu.cfs_quota_us 50000",
            "write /sys/fs/cgroup/cpu/berth/c1/cpu.shares 512",
            "write /sys/fs/cgroup/pids/berth/c1/pids.max 20",
            "write /sys/fs/cgroup/devices/berth/c1/devices.deny a",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c *:* m", "write /sys/fs/cgroup/devices/berth/c1/devices.allow b *:* m",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 1:3 rwm", "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 1:8 rwm",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 1:7 rwm", "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 5:0 rwm",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 1:5 rwm", "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 1:9 rwm",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 136:* rwm", "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 5:2 rwm",
            "write /sys/fs/cgroup/devices/berth/c1/devices.allow c 10:200 rwm",
        ])
    }

    @Test("no limits: the container still gets memory, cpu, cpuacct and pids (stats, OOM) and devices, no cpuset")
    func plain() throws {
        let cgroup = try cgroups.create(id: "c2", limits: ResourceLimits())
        #expect(cgroup.directories.keys.sorted() == [.cpu, .cpuacct, .devices, .memory, .pids])
        #expect(fs.log.allSatisfy { $0.hasPrefix("mkdir") || $0.contains("/devices.") })
        // The parent is made once and kept.
        _ = try cgroups.create(id: "c3", limits: ResourceLimits())
        #expect(fs.log.filter { $0.hasSuffix("/berth") }.count == 5)
        // Privileged: no device restrictions, so no devices cgroup.
        let privileged = try cgroups.create(id: "c4", limits: ResourceLimits(), restrictDevices: false)
        #expect(privileged.directories.keys.sorted() == [.cpu, .cpuacct, .memory, .pids])
    }

    @Test("unlimited swap, and memory+swap equal to memory")
    func swap() throws {
        _ = try cgroups.create(id: "s1", limits: ResourceLimits(memory: 64 << 20, memorySwap: .unlimited))
        #expect(fs.file("/sys/fs/cgroup/memory/berth/s1/memory.memsw.limit_in_bytes") == "-1")
        _ = try cgroups.create(id: "s2", limits: ResourceLimits(memory: 64 << 20, memorySwap: .total(64 << 20)))
        #expect(fs.file("/sys/fs/cgroup/memory/berth/s2/memory.memsw.limit_in_bytes") == "67108864")
    }

    @Test("what the host cannot do is refused before anything is made")
    func refusals() throws {
        func refused(_ limits: ResourceLimits, _ words: String, manager: CgroupManager? = nil) {
            do {
                _ = try (manager ?? cgroups).create(id: "bad", limits: limits)
                Issue.record("accepted \(limits)")
            } catch {
                #expect(error.message.contains(words), "\(error)")
            }
        }
        refused(ResourceLimits(cpusetCPUs: CPUList([0, 4])), "CPUs 4 of cpuset 0,4 are not available on this host (it has 0-1)")
        refused(ResourceLimits(cpusetMems: CPUList([1])), "memory nodes 1 of cpuset 1")
        refused(ResourceLimits(nanoCPUs: 3_000_000_000), "more than the 2 CPUs")
        refused(ResourceLimits(memory: 1 << 20), "6 MiB")
        let noPids = try CgroupManager(hierarchy: .legacy(mounts: [.memory: "/sys/fs/cgroup/memory"], unified: nil), filesystem: fs)
        refused(ResourceLimits(pids: 20), "no pids controller", manager: noPids)
        refused(ResourceLimits(nanoCPUs: 1_000_000_000), "no cpu controller", manager: noPids)
        #expect(fs.log.isEmpty)
    }

    @Test("a failure part-way removes what was made; a taken id is a conflict")
    func rollback() throws {
        // A kernel without swap accounting, asked for a memory+swap limit.
        let fs = FakeCgroupFilesystem { path in
            var files = fakeControlFiles(path)
            files["memory.memsw.limit_in_bytes"] = nil
            return files
        }
        fs.seed(directories: Array(Set(CgroupHierarchy.hybrid.controllersMounts)), files: ["/sys/devices/system/cpu/online": "0-1\n"])
        let cgroups = try CgroupManager(hierarchy: .hybrid, filesystem: fs)
        #expect(throws: BerthError.self) { try cgroups.create(id: "r1", limits: ResourceLimits(memory: 64 << 20, memorySwap: .total(128 << 20))) }
        #expect(try cgroups.containerIDs() == [])
        // The default (twice the memory) is skipped quietly there, as Docker does.
        _ = try cgroups.create(id: "r2", limits: ResourceLimits(memory: 64 << 20))
        do {
            _ = try cgroups.create(id: "r2", limits: ResourceLimits())
            Issue.record("made r2 twice")
        } catch {
            #expect(error.code == .alreadyExists)
        }
        #expect(try cgroups.containerIDs() == ["r2"])
    }

    @Test("ids and parents must be plain names")
    func names() {
        #expect(throws: BerthError.self) { try cgroups.create(id: "../x", limits: ResourceLimits()) }
        #expect(throws: BerthError.self) { try cgroups.create(id: "", limits: ResourceLimits()) }
        #expect(throws: BerthError.self) { try CgroupManager(hierarchy: .hybrid, parent: "../etc", filesystem: fs) }
        #expect(throws: BerthError.self) { try CgroupManager(hierarchy: .hybrid, parent: "/abs", filesystem: fs) }
        #expect((try? CgroupManager(hierarchy: .hybrid, parent: "berth/test", filesystem: fs)) != nil)
    }

    @Test("stats: usage without inactive file cache, limits, CPU time, pids; OOM kills")
    func stats() throws {
        let cgroup = try cgroups.create(id: "st", limits: ResourceLimits(memory: 32 << 20, pids: 20))
        fs.seed(files: [
            "/sys/fs/cgroup/memory/berth/st/memory.usage_in_bytes": "10485760\n",
            "/sys/fs/cgroup/memory/berth/st/memory.stat": "cache 4096\nrss 100\ntotal_inactive_file 2097152\n",
            "/sys/fs/cgroup/cpuacct/berth/st/cpuacct.usage": "1500000000\n",
            "/sys/fs/cgroup/pids/berth/st/pids.current": "20\n",
            "/sys/fs/cgroup/memory/berth/st/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        ])
        let stats = try cgroups.stats(cgroup)
        #expect(stats == CgroupStats(memoryUsage: 8 << 20, memoryLimit: 32 << 20, cpuUsageNanoseconds: 1_500_000_000, pids: 20, pidsLimit: 20))
        #expect(try cgroups.oomKills(cgroup) == 1)
        let plain = try cgroups.create(id: "st2", limits: ResourceLimits())
        #expect(try cgroups.stats(plain).memoryLimit == nil)
        #expect(try cgroups.stats(plain).pidsLimit == nil)
        #expect(try cgroups.oomKills(plain) == 0)

        var later = stats
        later.cpuUsageNanoseconds += 500_000_000
        #expect(CgroupStats.cpuPercent(from: stats, to: later, elapsedNanoseconds: 1_000_000_000) == 50)
    }

    @Test("remove kills what is left, then removes each directory; twice is fine")
    func remove() throws {
        let cgroup = try cgroups.create(id: "rm", limits: ResourceLimits(pids: 5))
        fs.seed(files: ["/sys/fs/cgroup/pids/berth/rm/cgroup.procs": "4242\n4243\n", "/sys/fs/cgroup/memory/berth/rm/cgroup.procs": "4242\n4243\n"])
        #expect(try cgroups.processes(cgroup) == [4242, 4243])
        try cgroups.remove(cgroup)
        #expect(fs.log.suffix(7) == [
            "kill 4242", "kill 4243",
            "rmdir /sys/fs/cgroup/cpu/berth/rm", "rmdir /sys/fs/cgroup/cpuacct/berth/rm", "rmdir /sys/fs/cgroup/devices/berth/rm",
            "rmdir /sys/fs/cgroup/memory/berth/rm", "rmdir /sys/fs/cgroup/pids/berth/rm",
        ])
        #expect(fs.isDirectory("/sys/fs/cgroup/memory/berth"))
        try cgroups.remove(cgroup)
        #expect(try cgroups.containerIDs() == [])
    }

    /// A pid read from cgroup.procs may be reused before kill(2) reaches it; v2's cgroup.kill
    /// (Linux 5.14) signals the members themselves. Without it, the pids are killed one by one.
    @Test("remove on v2 writes cgroup.kill where the kernel has it, and kills by pid where it has not")
    func removeThroughCgroupKill() throws {
        let host = fakeHost(.v2)
        let v2 = try CgroupManager(hierarchy: .v2, filesystem: host)
        let cgroup = try v2.create(id: "k", limits: ResourceLimits())
        host.seed(files: ["/sys/fs/cgroup/berth/k/cgroup.procs": "4242\n4243\n"])
        try v2.remove(cgroup)
        #expect(host.log.suffix(2) == ["write /sys/fs/cgroup/berth/k/cgroup.kill 1", "rmdir /sys/fs/cgroup/berth/k"], "\(host.log)")
        #expect(!host.log.contains { $0.hasPrefix("kill ") })

        let old = FakeCgroupFilesystem { path in fakeControlFiles(path).filter { $0.key != "cgroup.kill" } }
        old.seed(directories: ["/sys/fs/cgroup"], files: ["/sys/fs/cgroup/cgroup.subtree_control": "\n", "/sys/fs/cgroup/cpuset.cpus.effective": "0-1\n",
                                                          "/sys/fs/cgroup/cpuset.mems.effective": "0\n", "/sys/devices/system/cpu/online": "0-1\n"])
        let before514 = try CgroupManager(hierarchy: .v2, filesystem: old)
        let other = try before514.create(id: "k", limits: ResourceLimits())
        old.seed(files: ["/sys/fs/cgroup/berth/k/cgroup.procs": "4242\n"])
        try before514.remove(other)
        #expect(old.log.suffix(2) == ["kill 4242", "rmdir /sys/fs/cgroup/berth/k"], "\(old.log)")
    }

    /// On v1 the pids are read from cgroup.procs and signalled one by one; one may end and
    /// its pid go to a process elsewhere in between. Each is pinned, then the cgroup read
    /// again: only a pid still listed is signalled (through its pin).
    @Test("remove on v1 signals only the pids the cgroup still lists once they are pinned, never one that left it meanwhile")
    func removeSkipsReusedPid() throws {
        let cgroup = try cgroups.create(id: "reuse", limits: ResourceLimits(pids: 5))
        let procs = "/sys/fs/cgroup/pids/berth/reuse/cgroup.procs"
        fs.seed(files: [procs: "4242\n4243\n"])
        // 4242 ends once read: the cgroup lists only 4243 when the pins are checked.
        let fake = fs
        fs.whenPinned { pid in if pid == 4242 { fake.seed(files: [procs: "4243\n"]) } }
        try cgroups.remove(cgroup)
        #expect(fs.log.contains("kill 4243"), "\(fs.log)")
        #expect(!fs.log.contains("kill 4242"), "a pid that left the cgroup was signalled: \(fs.log)")
        #expect(!fs.isDirectory("/sys/fs/cgroup/pids/berth/reuse"))
    }

    @Test("pin and kill on the host: a live child is pinned and killed through its pidfd; a pid nobody has is not pinned")
    func kernelPin() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { if child.isRunning { child.terminate() } }
        let kernel = KernelCgroupFilesystem()
        let pinned = try #require(kernel.pin(child.processIdentifier))
        #expect(kernel.kill(pinned))
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)
        // Reaped: its pidfd names a process that has ended.
        #expect(!kernel.kill(pinned))
        #expect(kernel.pin(Int32.max) == nil)
    }

    @Test("orphans: every cgroup under the parent but the kept ones is removed, others' never touched")
    func orphans() throws {
        _ = try cgroups.create(id: "alive", limits: ResourceLimits())
        _ = try cgroups.create(id: "dead", limits: ResourceLimits(cpusetCPUs: CPUList([0])))
        fs.seed(directories: ["/sys/fs/cgroup/memory/docker/abc", "/sys/fs/cgroup/memory/other"])
        #expect(try cgroups.containerIDs() == ["alive", "dead"])
        #expect(try cgroups.removeOrphans(keeping: ["alive"]) == ["dead"])
        #expect(try cgroups.containerIDs() == ["alive"])
        #expect(!fs.isDirectory("/sys/fs/cgroup/cpuset/berth/dead"))
        #expect(fs.isDirectory("/sys/fs/cgroup/memory/docker/abc") && fs.isDirectory("/sys/fs/cgroup/memory/other"))
    }

    @Test("a parent of its own goes when it holds nothing; one still in use and the default berth stay")
    func unusedParent() throws {
        let own = try CgroupManager(hierarchy: .hybrid, parent: "berth-0123", filesystem: fs)
        _ = try own.create(id: "a", limits: ResourceLimits(cpusetCPUs: CPUList([0])))
        _ = try cgroups.create(id: "b", limits: ResourceLimits())
        #expect(!own.removeParentIfUnused(), "a cgroup is still in it")
        #expect(fs.isDirectory("/sys/fs/cgroup/memory/berth-0123/a"))
        try own.remove(own.cgroup(id: "a"))
        #expect(own.removeParentIfUnused())
        for tree in ["cpu", "cpuacct", "cpuset", "devices", "memory", "pids"] {
            #expect(!fs.isDirectory("/sys/fs/cgroup/\(tree)/berth-0123"), "\(tree)")
        }
        try cgroups.remove(cgroups.cgroup(id: "b"))
        #expect(!cgroups.removeParentIfUnused())
        #expect(fs.isDirectory("/sys/fs/cgroup/memory/berth"))
    }

    @Test("a create racing the parent's removal makes the parent again (cpuset filled in) and succeeds")
    func createRacingParentRemoval() throws {
        let own = try CgroupManager(hierarchy: .hybrid, parent: "berth-0123", filesystem: fs)
        _ = try own.create(id: "first", limits: ResourceLimits())
        try own.remove(own.cgroup(id: "first"))
        fs.removeBeforeNextChild(of: "/sys/fs/cgroup/cpuset/berth-0123")
        let cgroup = try own.create(id: "second", limits: ResourceLimits(cpusetCPUs: CPUList([1])))
        #expect(fs.log.contains("rmdir /sys/fs/cgroup/cpuset/berth-0123"))
        #expect(fs.isDirectory("/sys/fs/cgroup/cpuset/berth-0123/second"))
        #expect(fs.file("/sys/fs/cgroup/cpuset/berth-0123/cpuset.cpus") == "0-1")
        #expect(fs.file("/sys/fs/cgroup/cpuset/berth-0123/second/cpuset.cpus") == "1")
        #expect(cgroup.directories[.cpuset] == "/sys/fs/cgroup/cpuset/berth-0123/second")
    }

    /// A container may make cgroups of its own inside its cgroup: what runs there is killed
    /// too, and the nested directories go first (rmdir refuses a directory with children).
    @Test("remove on v1 kills what runs in nested cgroups and removes them deepest first")
    func removeNested() throws {
        let cgroup = try cgroups.create(id: "nest", limits: ResourceLimits())
        let pids = "/sys/fs/cgroup/pids/berth/nest"
        fs.seed(directories: [pids + "/a/b"], files: [pids + "/a/cgroup.procs": "", pids + "/a/b/cgroup.procs": "4250\n"])
        #expect(try cgroups.processes(cgroup) == [4250])
        try cgroups.remove(cgroup, timeout: .milliseconds(200))
        #expect(fs.log.contains("kill 4250"), "\(fs.log)")
        #expect(fs.log.filter { $0.hasPrefix("rmdir \(pids)") } == ["rmdir \(pids)/a/b", "rmdir \(pids)/a", "rmdir \(pids)"], "\(fs.log)")
    }

    @Test("a failed create removes the parents it made; one that was there before stays")
    func rollbackParents() throws {
        // A kernel without swap accounting, asked for a memory+swap limit: the write fails.
        let fs = FakeCgroupFilesystem { path in
            var files = fakeControlFiles(path)
            files["memory.memsw.limit_in_bytes"] = nil
            return files
        }
        fs.seed(directories: Array(Set(CgroupHierarchy.hybrid.controllersMounts)) + ["/sys/fs/cgroup/pids/berth-0123"],
                files: ["/sys/devices/system/cpu/online": "0-1\n"])
        let own = try CgroupManager(hierarchy: .hybrid, parent: "berth-0123", filesystem: fs)
        #expect(throws: BerthError.self) { try own.create(id: "r1", limits: ResourceLimits(memory: 64 << 20, memorySwap: .total(128 << 20))) }
        for tree in ["cpu", "cpuacct", "devices", "memory"] {
            #expect(!fs.isDirectory("/sys/fs/cgroup/\(tree)/berth-0123"), "\(tree): \(fs.log)")
        }
        #expect(fs.isDirectory("/sys/fs/cgroup/pids/berth-0123"))
    }
}

@Suite("CgroupManager on v2 (fake tree)")
struct CgroupManagerV2Tests {
    let fs = fakeHost(.v2)
    var cgroups: CgroupManager { try! CgroupManager(hierarchy: .v2, filesystem: fs) }

    /// `cgroup.kill` kills the whole subtree: written whether or not the cgroup itself lists
    /// a process, it reaches one in a cgroup the container made inside its own.
    @Test("remove on v2 writes cgroup.kill even when the cgroup lists no process: one in a nested cgroup ends, which goes first")
    func removeNested() throws {
        let cgroup = try cgroups.create(id: "nest", limits: ResourceLimits())
        let dir = "/sys/fs/cgroup/berth/nest"
        fs.seed(directories: [dir + "/inner"], files: [dir + "/inner/cgroup.procs": "4251\n", dir + "/inner/cgroup.kill": ""])
        try cgroups.remove(cgroup, timeout: .milliseconds(200))
        #expect(fs.log.suffix(3) == ["write \(dir)/cgroup.kill 1", "rmdir \(dir)/inner", "rmdir \(dir)"], "\(fs.log)")
        #expect(!fs.log.contains { $0.hasPrefix("kill ") })
    }

    @Test("controllers enabled down to the parent, then v2's files")
    func create() throws {
        let limits = ResourceLimits(memory: 32 << 20, nanoCPUs: 500_000_000, cpuShares: 512, cpusetCPUs: CPUList([0, 1]), pids: 20)
        let cgroup = try cgroups.create(id: "c1", limits: limits)
        #expect(cgroup.procsFiles == ["/sys/fs/cgroup/berth/c1/cgroup.procs"])
        #expect(fs.log == [
            "mkdir /sys/fs/cgroup/berth",
            "write /sys/fs/cgroup/cgroup.subtree_control +cpu +cpuset +memory +pids",
            "write /sys/fs/cgroup/berth/cgroup.subtree_control +cpu +cpuset +memory +pids",
            "mkdir /sys/fs/cgroup/berth/c1",
            "write /sys/fs/cgroup/berth/c1/cpuset.cpus 0-1",
            "write /sys/fs/cgroup/berth/c1/memory.max 33554432",
            "write /sys/fs/cgroup/berth/c1/memory.swap.max 33554432",
            "write /sys/fs/cgroup/berth/c1/cpu.max 50000 100000",
            "write /sys/fs/cgroup/berth/c1/cpu.weight 20",
            "write /sys/fs/cgroup/berth/c1/pids.max 20",
            "bpf-device /sys/fs/cgroup/berth/c1 64",
        ])
        #expect(fs.deviceProgram("/sys/fs/cgroup/berth/c1")?.rules == DeviceRule.docker)
        // Already enabled: nothing more to write on the way down. Privileged: no device filter.
        _ = try cgroups.create(id: "c2", limits: ResourceLimits(pids: 5), restrictDevices: false)
        #expect(fs.log.suffix(2) == ["mkdir /sys/fs/cgroup/berth/c2", "write /sys/fs/cgroup/berth/c2/pids.max 5"])
        #expect(fs.deviceProgram("/sys/fs/cgroup/berth/c2") == nil)
    }

    @Test("stats and OOM kills from v2's files")
    func stats() throws {
        let cgroup = try cgroups.create(id: "st", limits: ResourceLimits(memory: 32 << 20))
        fs.seed(files: [
            "/sys/fs/cgroup/berth/st/memory.current": "10485760\n",
            "/sys/fs/cgroup/berth/st/memory.stat": "anon 100\ninactive_file 1048576\n",
            "/sys/fs/cgroup/berth/st/cpu.stat": "usage_usec 2500\nuser_usec 2000\n",
            "/sys/fs/cgroup/berth/st/pids.current": "3\n",
            "/sys/fs/cgroup/berth/st/memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n",
        ])
        #expect(try cgroups.stats(cgroup) == CgroupStats(memoryUsage: 9 << 20, memoryLimit: 32 << 20, cpuUsageNanoseconds: 2_500_000, pids: 3, pidsLimit: nil))
        #expect(try cgroups.oomKills(cgroup) == 2)
    }

    @Test("shares map to weights as runc maps them")
    func weights() throws {
        for (shares, weight) in [(2, "1"), (1024, "39"), (262_144, "10000")] {
            let cgroup = try cgroups.create(id: "w\(shares)", limits: ResourceLimits(cpuShares: UInt64(shares)))
            #expect(fs.file(cgroup.paths[0] + "/cpu.weight") == weight)
        }
    }
}

extension CgroupHierarchy {
    var controllersMounts: [String] {
        if case .legacy(let mounts, _) = self { return Array(mounts.values) }
        return []
    }
}
