import BerthCore
import BerthTestSupport
import Foundation
import Testing

enum CgroupControllers {
    /// The v1 (or v2) memory, cpu and pids controllers are mounted where Berth looks.
    static var usable: Bool {
        ["memory", "cpu", "pids"].allSatisfy { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\($0)/cgroup.procs") }
            || ((try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8))
                .map { text in ["memory", "cpu", "pids"].allSatisfy { text.split(whereSeparator: \.isWhitespace).contains(Substring($0)) } } ?? false)
    }
}

/// `berth run`'s limit and confinement options through the built binary, in a host sandbox.
@Suite("berth run limits (kernel)", .enabled(if: try KernelTests.enabled && CgroupControllers.usable))
struct LimitsCLITests {
    /// The container's directory in the pids tree (v1) or the one tree (v2).
    private func cgroupDirectory(_ sandbox: HostSandbox, id: String) throws -> String {
        let parent = try sandbox.cgroupParent()
        let v1 = "/sys/fs/cgroup/pids/" + parent + "/" + id
        return FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids") ? v1 : "/sys/fs/cgroup/" + parent + "/" + id
    }

    @Test("bad limits and capabilities: the error names the option; nothing is started or recorded")
    func refusals() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let cases: [([String], String)] = [
                    (["--memory", "lots"], "--memory: "),
                    (["--memory", "1m"], "--memory: "),
                    (["--memory-swap", "64m"], "--memory-swap: "),
                    (["--cpus", "0"], "--cpus: "),
                    (["--cpu-shares", "1"], "--cpu-shares: "),
                    (["--cpuset-cpus", "4000"], "--cpuset-cpus: "),
                    (["--pids-limit", "many"], "--pids-limit: "),
                    (["--cap-add", "NET_FLY"], "--cap-add/--cap-drop: "),
                    (["--security-opt", "apparmor=x"], "--security-opt: "),
                ]
                for detach in [[], ["-d"]] {
                    for (options, prefix) in cases {
                        let result = sandbox.berth(["run"] + detach + options + ["--rootfs", rootfs.path, "--", "true"])
                        #expect(result.status == 125 && result.stderr.contains("berth: " + prefix), "\(options): \(result)")
                    }
                }
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    /// As `docker run --cap-drop ALL --user 1000`: the user is switched with the capabilities
    /// still held (runc's PR_SET_KEEPCAPS order), so the container need not keep SETUID and
    /// SETGID; the command runs as 1000 with none.
    @Test("--cap-drop ALL --user 1000 runs as 1000 with no capabilities; --cap-drop SETUID -u bob too")
    func userWithoutSetuid() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["cat", "grep"]) { rootfs in
                for (drop, user) in [("ALL", "1000"), ("SETUID", "bob")] {
                    let run = sandbox.berth(["run", "--rm", "--network", "none", "--cap-drop", drop, "--user", user, "--rootfs", rootfs.path, "--",
                                             "sh", "-c", "id -u; grep CapEff /proc/self/status"])
                    #expect(run.status == 0 && run.stdout == "1000\nCapEff:\t0000000000000000\n", "\(drop) \(user): \(run)")
                }
            }
        }
    }

    @Test("--cap-add ALL under a berth started without a capability (setpriv --bounding-set -sys_module): the container gets what there is, not a capset failure")
    func capAddAllWithoutOne() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["grep"]) { rootfs in
                let line = ["setpriv", "--bounding-set", "-sys_module", "--"]
                    + sandbox.berthArguments(["run", "--rm", "--network", "none", "--cap-add", "ALL", "--rootfs", rootfs.path, "--", "grep", "CapEff", "/proc/self/status"])
                let run = Command.run(line, environment: sandbox.berthEnvironment())
                let mask = run.stdout.split(separator: "\t").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) }
                #expect(run.status == 0 && mask != nil, "\(run)")
                // CAP_SYS_MODULE (16) is not there; CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21) are.
                #expect(mask.map { $0 & (1 << 16) == 0 && $0 & (1 << 12) != 0 && $0 & (1 << 21) != 0 } == true, "\(run)")
            }
        }
    }

    @Test("--memory-swap -1 and --pids-limit -1 as separate words (as documented and as docker takes them): unlimited, not a missing value")
    func minusOneSeparate() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["sleep"]) { rootfs in
                let run = sandbox.berth(["run", "-d", "--name", "free", "--network", "none", "--memory", "32m", "--memory-swap", "-1",
                                         "--pids-limit", "-1", "--rootfs", rootfs.path, "--", "sleep", "1000"])
                #expect(run.status == 0 && run.stdout == "free\n", "\(run)")
                let inspect = sandbox.berth(["inspect", "free"])
                let objects = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]], "\(inspect)")
                let host = try #require(objects.first?["HostConfig"] as? [String: Any], "\(inspect)")
                #expect(host["MemorySwap"] as? Int == -1 && host["PidsLimit"] is NSNull && host["Memory"] as? Int == 32 << 20, "\(host)")
                #expect(sandbox.berth(["rm", "-f", "free"]).status == 0)
                // Each alone, before other options.
                for option in [["--memory", "32m", "--memory-swap", "-1"], ["--pids-limit", "-1"]] {
                    let alone = sandbox.berth(["run", "--rm", "--network", "none"] + option + ["--rootfs", rootfs.path, "--", "true"])
                    #expect(alone.status == 0, "\(option): \(alone)")
                }
            }
        }
    }

    @Test("--memory 32m: allocating 128 MB is OOM-killed, exit 137, ps -a says so; the cgroup goes with the run")
    func oomKilled() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["dd"]) { rootfs in
                let run = sandbox.berth(["run", "--name", "hog", "--network", "none", "--memory", "32m", "--rootfs", rootfs.path, "--",
                                         "dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"])
                #expect(run.status == 137, "\(run)")
                let record = try #require(try ContainerCLI.container(sandbox, "hog"))
                #expect(record["exitCode"] as? Int == 137 && record["oomKilled"] as? Bool == true, "\(record)")
                #expect(sandbox.berth(["ps", "-a"]).stdout.contains("Exited (137)"))
                let id = try #require(record["id"] as? String)
                #expect(try !FileManager.default.fileExists(atPath: cgroupDirectory(sandbox, id: id)))
                #expect(sandbox.berth(["rm", "hog"]).status == 0)
            }
        }
    }

    @Test("--pids-limit, --cpus reach the cgroup, stats shows them; --cap-drop and seccomp=unconfined reach the process; SIGKILL of the supervisor then gc leaves no cgroup")
    func appliedAndCollected() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["grep", "cat", "sleep"]) { rootfs in
                let status = sandbox.berth(["run", "--rm", "--network", "none", "--cap-drop", "NET_RAW", "--security-opt", "seccomp=unconfined",
                                            "--rootfs", rootfs.path, "--", "grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"])
                // Docker's 14 capabilities without NET_RAW (bit 13); no filter.
                #expect(status.stdout == "CapEff:\t00000000a80405fb\nSeccomp:\t0\n", "\(status)")
                let confined = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "--", "grep", "^Seccomp:", "/proc/self/status"])
                #expect(confined.stdout == "Seccomp:\t2\n", "\(confined)")

                #expect(sandbox.berth(["run", "-d", "--name", "bounded", "--network", "none", "--pids-limit", "20", "--cpus", "0.5",
                                       "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                let record = try #require(try ContainerCLI.container(sandbox, "bounded"))
                let id = try #require(record["id"] as? String)
                let directory = try cgroupDirectory(sandbox, id: id)
                #expect(try String(contentsOfFile: directory + "/pids.max", encoding: .utf8) == "20\n")
                if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cpu") {
                    let cpu = "/sys/fs/cgroup/cpu/" + (try sandbox.cgroupParent()) + "/" + id
                    #expect(try String(contentsOfFile: cpu + "/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
                }
                let stats = sandbox.berth(["stats", "--no-stream", "--json", "bounded"])
                let sample = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [[String: Any]], "\(stats)")
                #expect(sample.count == 1 && sample[0]["name"] as? String == "bounded" && sample[0]["pids"] as? Int == 1
                        && sample[0]["pidsLimit"] as? Int == 20 && sample[0]["memoryLimit"] is NSNull && sample[0]["cpuPercent"] is Double,
                        "\(stats)")
                let table = sandbox.berth(["stats", "--no-stream"]).stdout.split(separator: "\n")
                #expect(table.count == 2 && table[0].hasPrefix("CONTAINER ID  NAME     CPU %") && table[1].contains("bounded"), "\(table)")
                let missing = sandbox.berth(["stats", "--no-stream", "nosuch"])
                #expect(missing.status == 1 && missing.stderr.contains("nosuch"), "\(missing)")
                let supervisor = try #require(record["supervisorPid"] as? Int)
                #expect(kill(pid_t(supervisor), SIGKILL) == 0)
                #expect(ContainerCLI.eventually { !ContainerCLI.isRunning(pid: supervisor) })
                #expect(FileManager.default.fileExists(atPath: directory), "the supervisor died without removing it")
                #expect(sandbox.berth(["gc"]).status == 0)
                #expect(!FileManager.default.fileExists(atPath: directory))
                let collected = try #require(try ContainerCLI.container(sandbox, "bounded"))
                #expect(collected["exitCode"] as? Int == 137 && collected["oomKilled"] as? Bool == false, "\(collected)")
                #expect(sandbox.berth(["rm", "bounded"]).status == 0)
            }
        }
    }
}
