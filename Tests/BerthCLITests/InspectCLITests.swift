import BerthTestSupport
import Foundation
import Testing

/// `berth inspect` through the built binary, in a host sandbox: what the records hold, in
/// `docker inspect`'s shape.
@Suite("berth inspect (kernel)", .enabled(if: try KernelTests.enabled && CgroupControllers.usable))
struct InspectCLITests {
    private func inspect(_ sandbox: HostSandbox, _ names: [String]) throws -> (CommandResult, [[String: Any]]) {
        let result = sandbox.berth(["inspect"] + names)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
        return (result, array)
    }

    @Test("--memory 32m, 64 MB allocated: inspect says OOMKilled true, ExitCode 137, and the limit")
    func oomKilled() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["dd"]) { rootfs in
                let run = sandbox.berth(["run", "--name", "hog", "--network", "none", "--memory", "32m", "--rootfs", rootfs.path, "--",
                                         "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
                #expect(run.status == 137, "\(run)")
                let (result, array) = try inspect(sandbox, ["hog"])
                #expect(result.status == 0 && array.count == 1, "\(result)")
                let hog = try #require(array.first)
                let state = try #require(hog["State"] as? [String: Any], "\(hog)")
                #expect(state["OOMKilled"] as? Bool == true && state["ExitCode"] as? Int == 137 && state["Status"] as? String == "exited"
                        && state["Running"] as? Bool == false && state["Pid"] as? Int == 0 && state["FinishedAt"] is String, "\(state)")
                let host = try #require(hog["HostConfig"] as? [String: Any], "\(hog)")
                // Docker's default memory+swap: twice the memory.
                #expect(host["Memory"] as? Int == 32 << 20 && host["MemorySwap"] as? Int == 64 << 20 && host["NanoCpus"] as? Int == 0
                        && host["PidsLimit"] is NSNull, "\(host)")
                #expect(hog["Name"] as? String == "/hog" && hog["Path"] as? String == "dd" && (hog["Args"] as? [String])?.count == 4, "\(hog)")
                #expect(sandbox.berth(["rm", "hog"]).status == 0)
            }
        }
    }

    @Test("a running container's limits, confinement, address and ports; an unknown name is an error after the others print")
    func runningAndUnknown() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["sleep"]) { rootfs in
                #expect(sandbox.berth(["run", "-d", "--name", "web", "-p", "127.0.0.1:18095:80", "--cpus", "0.5", "--pids-limit", "20",
                                       "--cpuset-cpus", "0", "--cap-drop", "NET_RAW", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
                                       "--restart", "on-failure:3", "--read-only", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                let (result, array) = try inspect(sandbox, ["web", "nosuch"])
                #expect(result.status == 1 && result.stderr.contains("nosuch") && array.count == 1, "\(result)")
                let web = try #require(array.first)
                let state = try #require(web["State"] as? [String: Any], "\(web)")
                #expect(state["Running"] as? Bool == true && state["OOMKilled"] as? Bool == false && (state["Pid"] as? Int ?? 0) > 0
                        && state["StartedAt"] is String && state["FinishedAt"] == nil, "\(state)")
                let host = try #require(web["HostConfig"] as? [String: Any], "\(web)")
                #expect(host["NanoCpus"] as? Int == 500_000_000 && host["PidsLimit"] as? Int == 20 && host["CpusetCpus"] as? String == "0"
                        && host["Memory"] as? Int == 0, "\(host)")
                #expect(host["CapAdd"] as? [String] == ["CAP_NET_ADMIN"] && host["CapDrop"] as? [String] == ["CAP_NET_RAW"]
                        && host["SecurityOpt"] as? [String] == ["seccomp=unconfined"] && host["ReadonlyRootfs"] as? Bool == true, "\(host)")
                let policy = try #require(host["RestartPolicy"] as? [String: Any], "\(host)")
                #expect(policy["Name"] as? String == "on-failure" && policy["MaximumRetryCount"] as? Int == 3, "\(policy)")
                let network = try #require(web["NetworkSettings"] as? [String: Any], "\(web)")
                let listed = try #require(try ContainerCLI.container(sandbox, "web"))
                #expect(network["IPAddress"] as? String == listed["ip"] as? String && (network["MacAddress"] as? String)?.count == 17, "\(network)")
                let ports = try #require(network["Ports"] as? [String: [[String: String]]], "\(network)")
                #expect(ports == ["80/tcp": [["HostIp": "127.0.0.1", "HostPort": "18095"]]], "\(ports)")

                let (missing, none) = try inspect(sandbox, ["nosuch"])
                #expect(missing.status == 1 && none.isEmpty && missing.stderr.contains("nosuch"), "\(missing)")
                #expect(sandbox.berth(["rm", "-f", "web"]).status == 0)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("run --ip6 on a dual-stack network: the container has that IPv6 address and /etc/hosts names it; inspect carries GlobalIPv6Address, GlobalIPv6PrefixLen, IPv6Gateway beside the IPv4 ones; IPv4-only gives empty IPv6 members")
    func dualStack() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["sleep", "cat"]) { rootfs in
                try #require(sandbox.berth(["network", "create", "dual", "--subnet", "10.61.0.0/24", "--subnet", "fd00:61::/64"]).succeeded)
                let run = sandbox.berth(["run", "-d", "--name", "six", "--network", "dual", "--ip6", "fd00:61::61", "--rootfs", rootfs.path,
                                         "--", "sleep", "1000"])
                try #require(run.status == 0, "\(run)")
                let (_, array) = try inspect(sandbox, ["six"])
                let six = try #require(array.first)
                let network = try #require(six["NetworkSettings"] as? [String: Any], "\(six)")
                #expect(network["GlobalIPv6Address"] as? String == "fd00:61::61" && network["GlobalIPv6PrefixLen"] as? Int == 64
                        && network["IPv6Gateway"] as? String == "fd00:61::1", "\(network)")
                #expect(network["IPAddress"] as? String == "10.61.0.2" && network["IPPrefixLen"] as? Int == 24
                        && network["Gateway"] as? String == "10.61.0.1", "\(network)")
                let hosts = sandbox.berth(["exec", "six", "--", "cat", "/etc/hosts"])
                #expect(hosts.stdout.contains("fd00:61::61"), "\(hosts)")
                let state = try #require(six["State"] as? [String: Any])
                let pid = try #require(state["Pid"] as? Int)
                let inside = Command.run(["nsenter", "--net=/proc/\(pid)/ns/net", "--", "ip", "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
                #expect(inside.contains("inet6 fd00:61::61/64"), "\(inside)")

                // An address taken by another container is refused naming it; nothing is left of the second.
                let taken = sandbox.berth(["run", "-d", "--name", "late", "--network", "dual", "--ip6", "fd00:61::61", "--rootfs", rootfs.path,
                                           "--", "sleep", "1000"])
                #expect(taken.status != 0 && taken.stderr.contains("fd00:61::61"), "\(taken)")
                // --ip6 on an IPv4-only network is refused naming the network.
                try #require(sandbox.berth(["network", "create", "four", "--subnet", "10.62.0.0/24"]).succeeded)
                let refused = sandbox.berth(["run", "--network", "four", "--ip6", "fd00:61::7", "--rootfs", rootfs.path, "--", "sleep", "1"])
                #expect(refused.status != 0 && refused.stderr.contains("network \"four\" has no IPv6 subnet"), "\(refused)")
                #expect(sandbox.berth(["run", "-d", "--name", "v4", "--network", "four", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                let (_, v4) = try inspect(sandbox, ["v4"])
                let settings = try #require(v4.first?["NetworkSettings"] as? [String: Any])
                #expect(settings["GlobalIPv6Address"] as? String == "" && settings["GlobalIPv6PrefixLen"] as? Int == 0
                        && settings["IPv6Gateway"] as? String == "" && settings["IPAddress"] as? String == "10.62.0.2", "\(settings)")
                #expect(sandbox.berth(["rm", "-f", "six", "v4"]).status == 0)
                let leftovers = try ContainerCLI.containers(sandbox)
                #expect(leftovers.allSatisfy { $0["name"] as? String == "late" && $0["status"] as? String != "running" }, "\(leftovers)")
            }
        }
    }
}
