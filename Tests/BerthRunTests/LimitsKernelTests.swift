@testable import BerthConfine
import BerthCore
import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// Limits on the host's real cgroup tree, under a parent of the test's own (see TestCgroups).
@Suite("Resource limits (kernel)", .enabled(if: try KernelTests.enabled && CgroupSupport.available))
struct LimitsKernelTests {
    private func withCgroups<T>(_ body: (CgroupManager, BusyboxRootfs) throws -> T) throws -> T {
        let cgroups = try TestCgroups()
        defer { try? cgroups.finish() }
        return try withRootfs { rootfs in
            try rootfs.addApplets(["dd", "grep"])
            return try body(cgroups.manager, rootfs)
        }
    }

    @Test("the command starts inside its cgroup: /proc/self/cgroup names it in every controller")
    func joinedBeforeCommand() throws {
        try withCgroups { cgroups, rootfs in
            let cgroup = try cgroups.create(id: "join", limits: ResourceLimits())
            let result = try Captured(ContainerSpec(command: ["cat", "/proc/self/cgroup"], rootfs: rootfs.path), cgroup: cgroup).finish()
            #expect(result.status == .exited(0), "\(result.errors)")
            for (controller, _) in cgroup.directories {
                let line = result.output.split(separator: "\n").first { $0.split(separator: ":")[1].split(separator: ",").contains(Substring(controller.rawValue)) }
                #expect(line?.hasSuffix(":/\(cgroups.parent)/join") == true, "\(controller): \(result.output)")
            }
            try cgroups.remove(cgroup)
        }
    }

    @Test("a cgroup the kernel refuses to let the process join fails start(), leaves nothing running",
          .enabled(if: CgroupProbe.version == 1))
    func joinRefused() throws {
        try withCgroups { cgroups, rootfs in
            // A v1 cpuset with no CPUs: the kernel refuses every process (ENOSPC).
            let made = try cgroups.create(id: "empty", limits: ResourceLimits())
            let cpuset = try #require(cgroups.root(of: .cpuset)) + "/" + cgroups.parent
            try FileManager.default.createDirectory(atPath: cpuset + "/empty", withIntermediateDirectories: true)
            defer { rmdir(cpuset + "/empty"); rmdir(cpuset) }
            var directories = made.directories
            directories[.cpuset] = cpuset + "/empty"
            let cgroup = ContainerCgroup(id: "empty", version: 1, directories: directories)
            let before = childrenOfThisThread()
            let process = try ContainerProcess.spawn(ContainerSpec(command: ["true"], rootfs: rootfs.path), cgroup: cgroup)
            do {
                try process.start()
                Issue.record("started in a cpuset with no CPUs")
            } catch {
                #expect("\(error)".contains("cpuset has no CPUs"), "\(error)")
            }
            #expect(childrenOfThisThread() == before)
            try cgroups.remove(made)
        }
    }

    @Test("on cgroup v2 the process is born in its cgroup (CLONE_INTO_CGROUP), spawned and entered",
          .enabled(if: Self.cgroup2Mount != nil))
    func bornInCgroup() throws {
        // This host's v2 tree may have no controllers (the hybrid layout): enough to show where
        // a process is born, which is all this tests.
        let mount = try #require(Self.cgroup2Mount)
        let parent = "berth-test-\(KernelTests.uniqueSuffix())"
        let path = mount + "/" + parent + "/born"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { rmdir(path); rmdir(mount + "/" + parent) }
        let cgroup = ContainerCgroup(id: "born", version: 2, directories: [.pids: path])
        try withRootfs { rootfs in
            var whileHeld = ""
            let container = try Captured(ContainerSpec(command: ["sh", "-c", "cat /proc/self/cgroup; echo up; exec sleep 1000"], rootfs: rootfs.path),
                                         cgroup: cgroup) { process in
                // Born there: already inside while held. (Joining by cgroup.procs happens only
                // after the ready report, so this would most likely still show the old one.)
                whileHeld = try String(contentsOfFile: "/proc/\(process.pid)/cgroup", encoding: .utf8)
            }
            #expect(whileHeld.split(separator: "\n").contains("0::/\(parent)/born"), "\(whileHeld)")
            let output = container.waitFor("up")
            #expect(output.split(separator: "\n").contains("0::/\(parent)/born"), "\(output)")
            let out = try OutputPipe()
            let entered = try ContainerProcess.enter(pid: container.process.pid, command: ["cat", "/proc/self/cgroup"], stdout: out.write, cgroup: cgroup)
            out.closeWrite()
            #expect(out.readAll().split(separator: "\n").contains("0::/\(parent)/born"))
            #expect(try entered.wait() == .exited(0))
            try container.process.signal(SIGKILL)
            _ = try container.finish()
        }
    }

    /// Docker's profiles before 20.10 (and other filters around a runtime) refuse clone3 with
    /// EPERM rather than ENOSYS. The spawn then clones with clone(2), as it does where the
    /// kernel lacks clone3, and the child joins its v2 cgroup through cgroup.procs. The filter
    /// is installed on a thread of the test's own (seccomp filters are per thread without
    /// TSYNC), which spawns and then ends.
    @Test("where a filter refuses clone3 with EPERM the child is cloned with clone(2) and still starts in its v2 cgroup",
          .enabled(if: Self.cgroup2Mount != nil))
    func clone3RefusedWithEPERM() throws {
        let mount = try #require(Self.cgroup2Mount)
        let parent = "berth-test-\(KernelTests.uniqueSuffix())"
        let path = mount + "/" + parent + "/refused"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { rmdir(path); rmdir(mount + "/" + parent) }
        let cgroup = ContainerCgroup(id: "refused", version: 2, directories: [.pids: path])
        try withRootfs { rootfs in
            let root = rootfs.path
            let outcome = onThreadRefusing([SystemCall.clone3]) { () -> String in
                do {
                    let ran = try Captured(ContainerSpec(command: ["cat", "/proc/self/cgroup"], rootfs: root), cgroup: cgroup).finish()
                    return ran.status == .exited(0) ? ran.output : "exit \(ran.status): \(ran.errors)"
                } catch {
                    return "spawn failed: \(error)"
                }
            }
            let output = try #require(outcome, "could not install a filter refusing clone3 on a thread")
            #expect(output.split(separator: "\n").contains("0::/\(parent)/refused"), "\(output)")
        }
    }

    /// Where the host mounts cgroup2, if anywhere.
    static var cgroup2Mount: String? {
        guard KernelTests.allowed, let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields[dash + 1] == "cgroup2" { return String(fields[4]) }
        }
        return nil
    }

    @Test("memory 32m: a process allocating 64 MB is OOM-killed, exit 137, and the kill is counted")
    func oomKill() throws {
        try withCgroups { cgroups, rootfs in
            let limits = ResourceLimits(memory: try ResourceLimits.parseBytes("32m", parameter: "memory"))
            let cgroup = try cgroups.create(id: "oom", limits: limits)
            #expect(try String(contentsOfFile: try #require(cgroup.directory(.memory)) + (cgroup.version == 2 ? "/memory.max" : "/memory.limit_in_bytes"),
                               encoding: .utf8) == "33554432\n")
            // busybox dd allocates its block and fills it from /dev/zero: 64 MB touched.
            let result = try Captured(ContainerSpec(command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], rootfs: rootfs.path),
                                      cgroup: cgroup).finish()
            #expect(result.status == .signaled(SIGKILL))
            #expect(result.status.code == 137)
            #expect(try cgroups.oomKills(cgroup) >= 1)
            try cgroups.remove(cgroup)
            #expect(!cgroup.paths.contains { FileManager.default.fileExists(atPath: $0) })
        }
    }

    @Test("memory 32m: 8 MB fits, nothing is killed")
    func underLimit() throws {
        try withCgroups { cgroups, rootfs in
            let cgroup = try cgroups.create(id: "fits", limits: ResourceLimits(memory: 32 << 20))
            let result = try Captured(ContainerSpec(command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"], rootfs: rootfs.path),
                                      cgroup: cgroup).finish()
            #expect(result.status == .exited(0), "\(result.errors)")
            #expect(try cgroups.oomKills(cgroup) == 0)
            try cgroups.remove(cgroup)
        }
    }

    @Test("pids 20: the 21st concurrent process fails to start, the container survives, stats shows 20")
    func pidsLimit() throws {
        try withCgroups { cgroups, rootfs in
            let cgroup = try cgroups.create(id: "pids", limits: ResourceLimits(pids: try ResourceLimits.parsePidsLimit("20")))
            // PID 1 and an inner shell that starts sleeps until a fork fails: 2 + 18 = 20
            // processes, the 19th sleep would be the 21st. The inner shell dies of it; PID 1
            // goes on, starts one sleep in its place (20 again) and reports.
            let script = """
                sh -c 'i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); echo started $i; done'
                echo inner-exit $?
                sleep 1000 &
                echo ready
                wait
                """
            let container = try Captured(ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path), cgroup: cgroup)
            let output = container.waitFor("ready")
            let stats = try cgroups.stats(cgroup)
            try container.process.signal(SIGKILL)
            let result = try container.finish()
            #expect(output.contains("started 18\n") && !output.contains("started 19"), "\(output)")
            #expect(output.contains("inner-exit 2"), "\(output)")
            #expect(result.errors.contains("can't fork"), "\(result.errors)")
            #expect(stats.pids == 20)
            #expect(stats.pidsLimit == 20)
            #expect(result.status == .signaled(SIGKILL))
            try cgroups.remove(cgroup)
        }
    }

    @Test("cpus 0.5 and cpu-shares: the CFS quota and period say half a CPU")
    func cpuQuota() throws {
        try withCgroups { cgroups, rootfs in
            let cgroup = try cgroups.create(id: "cpu", limits: ResourceLimits(nanoCPUs: try ResourceLimits.parseCPUs("0.5"), cpuShares: 512))
            let dir = try #require(cgroup.directory(.cpu))
            if cgroup.version == 2 {
                #expect(try String(contentsOfFile: dir + "/cpu.max", encoding: .utf8) == "50000 100000\n")
            } else {
                #expect(try String(contentsOfFile: dir + "/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
                #expect(try String(contentsOfFile: dir + "/cpu.cfs_period_us", encoding: .utf8) == "100000\n")
                #expect(try String(contentsOfFile: dir + "/cpu.shares", encoding: .utf8) == "512\n")
            }
            // A busy command accrues CPU time in the cgroup (no timing assertion: scripts/bench
            // measures the share it gets).
            let result = try Captured(ContainerSpec(command: ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], rootfs: rootfs.path),
                                      cgroup: cgroup).finish()
            #expect(result.status == .exited(0))
            #expect(try cgroups.stats(cgroup).cpuUsageNanoseconds > 0)
            try cgroups.remove(cgroup)
        }
    }

    @Test("a cpuset outside the host's CPUs is refused, nothing made; one inside is written")
    func cpuset() throws {
        try withCgroups { cgroups, rootfs in
            #expect(throws: BerthError.self) { try cgroups.create(id: "far", limits: ResourceLimits(cpusetCPUs: CPUList([4095]))) }
            #expect(try cgroups.containerIDs() == [])
            let cgroup = try cgroups.create(id: "set", limits: ResourceLimits(cpusetCPUs: CPUList([0])))
            let result = try Captured(ContainerSpec(command: ["grep", "Cpus_allowed_list", "/proc/self/status"], rootfs: rootfs.path),
                                      cgroup: cgroup).finish()
            #expect(result.output.hasSuffix("\t0\n"), "\(result.output)")
            try cgroups.remove(cgroup)
        }
    }

    @Test("device nodes: any may be made, only Docker's allow-list may be opened; privileged opens all", .enabled(if: Self.hasDevicesController))
    func devices() throws {
        try withCgroups { cgroups, rootfs in
            try rootfs.addApplets(["mknod", "rm"])
            // tun (10:200) is on the list, fuse (10:229) is not; opening either does nothing.
            // `true`, not `:`: a failed redirection of a special builtin would end the shell.
            let script = """
                rm -f /tmp/tun /tmp/fuse
                mknod /tmp/tun c 10 200 && mknod /tmp/fuse c 10 229 && echo made
                true < /tmp/tun && echo tun:opened
                true < /tmp/fuse && echo fuse:opened
                rm /tmp/tun /tmp/fuse
                """
            let cgroup = try cgroups.create(id: "dev", limits: ResourceLimits())
            let restricted = try Captured(ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path), cgroup: cgroup).finish()
            #expect(restricted.output == "made\ntun:opened\n", "\(restricted.errors)")
            #expect(restricted.errors.contains("Operation not permitted"), "\(restricted.errors)")
            try cgroups.remove(cgroup)

            let open = try cgroups.create(id: "priv", limits: ResourceLimits(), restrictDevices: false)
            let privileged = try Captured(ContainerSpec(command: ["sh", "-c", script], rootfs: rootfs.path, privileged: true), cgroup: open).finish()
            #expect(privileged.output == "made\ntun:opened\nfuse:opened\n", "\(privileged.errors)")
            try cgroups.remove(open)
        }
    }

    static var hasDevicesController: Bool {
        CgroupProbe.controllers.contains("devices") && FileManager.default.fileExists(atPath: "/dev/fuse")
    }

    @Test("removing a container's cgroup kills what still runs there and removes every directory")
    func removeKills() throws {
        try withCgroups { cgroups, rootfs in
            let cgroup = try cgroups.create(id: "rm", limits: ResourceLimits(pids: 10))
            let container = try Captured(ContainerSpec(command: ["sh", "-c", "sleep 1000 & echo up; wait"], rootfs: rootfs.path), cgroup: cgroup)
            _ = container.waitFor("up")
            #expect(try cgroups.processes(cgroup).count == 2)
            try cgroups.remove(cgroup)
            #expect(try container.finish().status == .signaled(SIGKILL))
            #expect(!cgroup.paths.contains { FileManager.default.fileExists(atPath: $0) })
            try cgroups.remove(cgroup)     // twice: nothing to do
        }
    }

    @Test("orphans: a container nobody supervises loses its processes and cgroup; a live one keeps both")
    func orphans() throws {
        try withCgroups { cgroups, rootfs in
            let live = try cgroups.create(id: "live", limits: ResourceLimits())
            let orphan = try cgroups.create(id: "orphan", limits: ResourceLimits(memory: 64 << 20))
            let kept = try Captured(ContainerSpec(command: ["sh", "-c", "sleep 1000 & echo up; wait"], rootfs: rootfs.path), cgroup: live)
            let lost = try Captured(ContainerSpec(command: ["sh", "-c", "sleep 1000 & echo up; wait"], rootfs: rootfs.path), cgroup: orphan)
            _ = kept.waitFor("up")
            _ = lost.waitFor("up")
            // What gc does once it knows which containers still have a supervisor.
            #expect(try cgroups.removeOrphans(keeping: ["live"]) == ["orphan"])
            #expect(try lost.finish().status == .signaled(SIGKILL))
            #expect(!orphan.paths.contains { FileManager.default.fileExists(atPath: $0) })
            #expect(try cgroups.containerIDs() == ["live"])
            #expect(try cgroups.processes(live).count == 2)
            try kept.process.signal(SIGKILL)
            _ = try kept.finish()
            try cgroups.remove(live)
        }
    }
}
