import BerthTestSupport
import Foundation
import Testing

/// `berth inspect` through the built binary, in a host sandbox: what the records hold, in
/// `docker inspect`'s shape.
@Suite("berth inspect (kernel)", .enabled(if: KernelTests.enabled && CgroupControllers.usable))
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
}
