@testable import BerthConfine
import BerthCore
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// `Container.run` with limits, on the host's real cgroup tree (under the sandbox state's own
/// parent, `berth-<hash>`), in a host sandbox.
@Suite("Container.run limits (kernel)", .enabled(if: try KernelTests.enabled && CgroupSupport.available))
struct ContainerCgroupKernelTests {
    private func withContainers<T>(_ body: (NetworkManager, BusyboxRootfs, CgroupManager) throws -> T) throws -> T {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                try rootfs.addApplets(["dd", "seq", "grep"])
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let cgroups = try Container.cgroups(manager: manager)
                #expect(try cgroups.parent == sandbox.cgroupParent())
                return try body(manager, rootfs, cgroups)
            }
        }
    }

    private func spec(_ script: String, _ rootfs: BusyboxRootfs, stdout: Int32? = nil) -> ContainerSpec {
        ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path, stdout: stdout)
    }

    @Test("--memory 32m: a command that allocates 128 MB is OOM-killed, exit 137; the cgroup goes when it ends")
    func oomKill() throws {
        try withContainers { manager, rootfs, cgroups in
            var limits = ResourceLimits()
            limits.memory = 32 << 20
            let container = try Container.run(RunOptions(process: spec("dd if=/dev/zero of=/dev/null bs=128M count=1", rootfs),
                                                         network: .none, limits: limits), manager: manager)
            defer { container.forceRemove(manager: manager) }
            let cgroup = try #require(cgroups.existing(id: container.record.id))
            let memory = try #require(cgroup.directory(.memory))
            #expect(try String(contentsOfFile: memory + "/memory.limit_in_bytes", encoding: .utf8) == "33554432\n")
            #expect(try container.wait() == .signaled(SIGKILL))
            let exited = try Container.find(container.record.id, manager: manager)
            #expect(exited.exitCode == 137 && exited.oomKilled)
            #expect(cgroups.existing(id: container.record.id) == nil, "released with the run")
            try Container.remove(container.record.id, manager: manager)
        }
    }

    @Test("--pids-limit 20: forks past 20 fail inside, the container keeps running")
    func pidsLimit() throws {
        try withContainers { manager, rootfs, cgroups in
            var limits = ResourceLimits()
            limits.pids = 20
            let out = try OutputPipe()
            let script = "sh -c 'for i in $(seq 30); do sleep 1000 & done' 2>&1; echo up; exec sleep 1000"
            let container = try Container.run(RunOptions(process: spec(script, rootfs, stdout: out.write), network: .none, limits: limits),
                                              manager: manager)
            defer { container.forceRemove(manager: manager) }
            out.closeWrite()
            var text = ""
            var byte: UInt8 = 0
            while !text.hasSuffix("up\n"), Foundation.read(out.read, &byte, 1) == 1 { text.append(Character(UnicodeScalar(byte))) }
            #expect(text.contains("can't fork"), "\(text)")
            let cgroup = try #require(cgroups.existing(id: container.record.id))
            #expect(try String(contentsOfFile: try #require(cgroup.directory(.pids)) + "/pids.max", encoding: .utf8) == "20\n")
            let stats = try cgroups.stats(cgroup)
            #expect(stats.pidsLimit == 20 && stats.pids >= 19 && stats.pids <= 20, "\(stats)")
            #expect(container.record.process?.isAlive == true)
            try container.stop(timeout: .zero)
            #expect(cgroups.existing(id: container.record.id) == nil)
            #expect(try cgroups.containerIDs().isEmpty)
            let stopped = try Container.find(container.record.id, manager: manager)
            #expect(stopped.exitCode == 137 && !stopped.oomKilled, "killed by stop, not by the OOM killer")
            try Container.remove(container.record.id, manager: manager)
        }
    }

    @Test("--cpus 0.5: quota 50000 of 100000; exec joins the container's cgroup; remove leaves none")
    func cpusAndExec() throws {
        try withContainers { manager, rootfs, cgroups in
            var limits = ResourceLimits()
            limits.nanoCPUs = 500_000_000
            let container = try Container.run(RunOptions(process: spec("exec sleep 1000", rootfs), name: "half", network: .none, limits: limits),
                                              manager: manager)
            defer { container.forceRemove(manager: manager) }
            let cgroup = try #require(cgroups.existing(id: container.record.id))
            let cpu = try #require(cgroup.directory(.cpu))
            if cgroups.hierarchy.version == 1 {
                #expect(try String(contentsOfFile: cpu + "/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
                #expect(try String(contentsOfFile: cpu + "/cpu.cfs_period_us", encoding: .utf8) == "100000\n")
            } else {
                #expect(try String(contentsOfFile: cpu + "/cpu.max", encoding: .utf8) == "50000 100000\n")
            }
            let out = try OutputPipe()
            let exec = try Container.exec("half", command: ["cat", "/proc/self/cgroup"], stdout: out.write, manager: manager)
            out.closeWrite()
            let output = out.readAll()
            #expect(try exec.wait() == .exited(0))
            let line = output.split(separator: "\n").first { $0.split(separator: ":")[1].split(separator: ",").contains("pids") }
            #expect(line?.hasSuffix(":/\(cgroups.parent)/\(container.record.id)") == true, "\(output)")
            try container.stop(timeout: .zero)
            try Container.remove("half", manager: manager)
            #expect(cgroups.existing(id: container.record.id) == nil)
            #expect(try cgroups.containerIDs().isEmpty)
        }
    }

    @Test("--cpus 0.5: two busy loops together get at most about half a CPU (wide margin: the kernel's quota bounds it, not the test's timing)")
    func cpusThrottle() throws {
        try withContainers { manager, rootfs, cgroups in
            var limits = ResourceLimits()
            limits.nanoCPUs = 500_000_000
            // Two loops: without the quota they would take both of a 2-core host's CPUs.
            let container = try Container.run(RunOptions(process: spec("while :; do :; done & while :; do :; done", rootfs),
                                                         network: .none, limits: limits), manager: manager)
            defer { container.forceRemove(manager: manager) }
            let cgroup = try #require(cgroups.existing(id: container.record.id))
            let clock = ContinuousClock()
            let before = try cgroups.stats(cgroup).cpuUsageNanoseconds
            let start = clock.now
            usleep(2_000_000)
            let after = try cgroups.stats(cgroup).cpuUsageNanoseconds
            let wall = clock.now - start
            let wallNanoseconds = Double(wall.components.seconds) * 1e9 + Double(wall.components.attoseconds) / 1e9
            let share = Double(after - before) / wallNanoseconds
            // 20 periods of 100 ms at most 50 ms each; one period's overshoot is 0.05 more.
            #expect(share <= 0.7, "CPU share \(share)")
            #expect(share >= 0.02, "the loops ran: CPU share \(share)")
            try container.stop(timeout: .zero)
            try Container.remove(container.record.id, manager: manager)
            #expect(cgroups.existing(id: container.record.id) == nil)
        }
    }

    @Test("wait: an end the state can neither record nor read (its containers and instance tables renamed away) still frees the cgroup, with the parent read when the run started")
    func unrecordableEndFreesCgroup() throws {
        try withContainers { manager, rootfs, cgroups in
            let container = try Container.run(RunOptions(process: spec("exec sleep 1000", rootfs), network: .none), manager: manager)
            defer { container.forceRemove(manager: manager) }
            let id = container.record.id
            try #require(cgroups.existing(id: id) != nil)
            // finish's write fails (no containers table), and so does a read of the state's
            // cgroup parent (no instance table).
            let away = "ALTER TABLE containers RENAME TO containers_away; ALTER TABLE instance RENAME TO instance_away"
            let back = "ALTER TABLE containers_away RENAME TO containers; ALTER TABLE instance_away RENAME TO instance"
            try StateDatabase.execute(away, in: manager.store.directory)
            var renamed = true
            defer { if renamed { try? StateDatabase.execute(back, in: manager.store.directory) } }
            try container.signal(SIGKILL)
            #expect(throws: BerthError.self) { try container.wait() }
            #expect(cgroups.existing(id: id) == nil, "the cgroup stays after a failed finish")
            try StateDatabase.execute(back, in: manager.store.directory)
            renamed = false
        }
    }

    @Test("a limit the host cannot apply is refused before anything exists")
    func refusedBeforeAnything() throws {
        try withContainers { manager, rootfs, cgroups in
            var limits = ResourceLimits()
            limits.cpusetCPUs = try CPUList(parsing: "4000")
            let error = #expect(throws: BerthError.self) {
                try Container.run(RunOptions(process: spec("true", rootfs), network: .none, limits: limits), manager: manager)
            }
            #expect(error?.parameter == "cpusetCPUs", "\(String(describing: error))")
            #expect(try Container.list(manager: manager).isEmpty)
            #expect(try cgroups.containerIDs().isEmpty)
        }
    }

    @Test("gc: a cgroup no recorded container holds (its supervisor killed) is removed with what runs in it, then the state's empty parent")
    func orphanedCgroup() throws {
        try withContainers { manager, rootfs, cgroups in
            let id = RecordID.generate()
            let cgroup = try cgroups.create(id: id, limits: ResourceLimits(pids: 5))
            let process = try ContainerProcess.spawn(ContainerSpec(command: ["sleep", "1000"], rootfs: rootfs.path), cgroup: cgroup)
            try process.start()
            #expect(try cgroups.containerIDs() == [id])
            _ = try Container.removeOrphans(manager: manager)
            #expect(try process.wait() == .signaled(SIGKILL))
            #expect(try cgroups.containerIDs().isEmpty)
            // With no container left, the state's own parent goes too (the sandbox's cleanup
            // would otherwise be what removes it).
            #expect(!cgroups.parentDirectories.isEmpty)
            for directory in cgroups.parentDirectories {
                #expect(access(directory, F_OK) != 0, "\(directory) is left")
            }
        }
    }

    /// A test that throws part-way leaves the container this test process supervises:
    /// `berth rm -f` cannot end it (it waits for the supervisor, this process, to record the
    /// exit) and gc keeps a supervised container's cgroup. The sandbox's teardown removes
    /// that cgroup itself and records the leak as an issue.
    @Test("the sandbox's teardown removes a container cgroup the test left, and reports it")
    func sandboxSweepsLeftCgroup() throws {
        struct Abandoned: Error {}
        var left: [String] = []
        var pid: Int32 = 0
        withKnownIssue("the sandbox reports the cgroup the test left") {
            try withHostSandbox { sandbox in
                try withRootfs { rootfs in
                    let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                    let container = try Container.run(RunOptions(process: spec("exec sleep 1000", rootfs), network: .none), manager: manager)
                    pid = container.pid
                    left = try #require(try Container.cgroups(manager: manager).existing(id: container.record.id)).paths
                    throw Abandoned()
                }
            }
        }
        #expect(!left.isEmpty)
        // The abandoned container's process is this test process's child, which nothing
        // else here reaps once the teardown has killed it: a zombie left would stall every
        // exit test of this process (Swift Testing's waiter takes any child's exit, with
        // WNOWAIT, and would see this one forever). Reaped, bounded.
        if pid > 0 {
            // Not reaped yet, so the pid cannot name another process: killing it again is
            // safe, and needed if the teardown did not.
            kill(pid, SIGKILL)
            for _ in 0..<500 {
                let reaped = waitpid(pid, nil, WNOHANG)
                if reaped == pid || (reaped < 0 && errno == ECHILD) { break }
                usleep(20_000)
            }
        }
        let remaining = left.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(remaining.isEmpty, "left behind: \(remaining)")
        // What this test made goes even when the sandbox failed to remove it.
        for directory in remaining {
            let procs = (try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)) ?? ""
            for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        for _ in 0..<100 {
            if remaining.filter({ rmdir($0) != 0 && errno != ENOENT }).isEmpty { break }
            usleep(20_000)
        }
        for directory in remaining { _ = rmdir((directory as NSString).deletingLastPathComponent) }
    }
}
