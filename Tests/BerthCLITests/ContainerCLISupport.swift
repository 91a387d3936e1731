import BerthTestSupport
import Foundation
import Testing

/// What the container CLI tests share: reading `berth ps -a --json`, waiting for a state,
/// and looking at the kernel side of a sandbox.
enum ContainerCLI {
    /// Every container `berth ps -a --json` lists (endpoints without a container left out).
    static func containers(_ sandbox: HostSandbox) throws -> [[String: Any]] {
        let result = sandbox.berth(["ps", "-a", "--json"])
        guard result.succeeded else { throw SandboxError("berth ps -a --json failed: \(result)") }
        let all = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        return all.filter { $0["kind"] as? String == "container" }
    }

    static func container(_ sandbox: HostSandbox, _ name: String) throws -> [String: Any]? {
        try containers(sandbox).first { $0["name"] as? String == name }
    }

    /// `berth ps -a --json` says `[]`: no container and no endpoint.
    static func nothingRecorded(_ sandbox: HostSandbox) -> Bool {
        let result = sandbox.berth(["ps", "-a", "--json"])
        return result.succeeded && result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]"
    }

    /// Waits for `condition`, polling; false if it did not hold within `seconds` (a bound
    /// against hanging, not a timing assertion).
    static func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    /// Host veths in the sandbox (Berth names them vb…).
    static func vethCount(_ sandbox: HostSandbox) -> Int {
        sandbox.witness(["ip", "-br", "link", "show", "type", "veth"]).split(separator: "\n").count
    }

    /// Whether every veth is gone, polling. A container's pair goes with its namespace, which
    /// the kernel tears down asynchronously: once the namespace's last reference is dropped,
    /// its cleanup waits for the kernel's single netns cleanup worker, which contends on RTNL
    /// with every other test's netlink traffic and can take seconds on a loaded machine. The
    /// 30 s is a bound against hanging, not a claim about how fast the pair goes.
    static func vethsGone(_ sandbox: HostSandbox) -> Bool {
        eventually(30) { vethCount(sandbox) == 0 }
    }

    /// Waits until `berth logs NAME` has printed a `ready` line `times` times (the log keeps
    /// every run's lines): a command prints it once its `trap` is set, since PID 1 of a pid
    /// namespace ignores a signal it has no handler for. False after 30 s, a bound against
    /// hanging.
    static func ready(_ sandbox: HostSandbox, _ name: String, times: Int = 1) -> Bool {
        eventually(30) { sandbox.berth(["logs", name]).stdout.split(separator: "\n").filter { $0 == "ready" }.count >= times }
    }

    /// `berth ARGS` in the sandbox, killed (SIGTERM, exit 124) after `seconds`: for commands
    /// such as `wait` that would hang the suite if the container never ended.
    static func bounded(_ sandbox: HostSandbox, _ args: [String], seconds: Int = 60) -> CommandResult {
        Command.run(["timeout", String(seconds)] + sandbox.berthArguments(args), environment: sandbox.berthEnvironment())
    }

    static func ruleset(_ sandbox: HostSandbox) -> String {
        sandbox.witness(["nft", "list", "ruleset"])
    }

    /// Alive and not a zombie.
    static func isRunning(pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    /// GET / on 127.0.0.1:`port` in the sandbox, retried while refused. `--retry-delay 0` is
    /// curl's back-off (1 s doubling up to 10 min): `--retry-max-time` bounds it, so a
    /// server that never comes fails the test instead of hanging it.
    static func fetch(_ sandbox: HostSandbox, port: Int, retry: Bool = true) -> CommandResult {
        let retries = retry ? ["--retry", "40", "--retry-delay", "0", "--retry-max-time", "60", "--retry-connrefused"] : []
        return sandbox.run(["curl", "-sS", "--max-time", "5"] + retries + ["http://127.0.0.1:\(port)/"])
    }

    /// The log directories under the sandbox's state.
    static func logDirectories(_ sandbox: HostSandbox) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/containers")) ?? []
    }
}

/// A busybox root filesystem with accounts (root, bob in staff), for `-u` and friends.
func withAccountsRootfs<T>(applets: [String] = [], _ body: (RunRootfs) throws -> T) throws -> T {
    try withRunRootfs(applets: ["id", "pwd", "echo", "env", "ls", "sh", "printf", "test", "stty", "tty", "httpd", "false"] + applets) { rootfs in
        try "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\n".write(toFile: rootfs.path + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nbob:x:1000:\nstaff:x:50:bob\n".write(toFile: rootfs.path + "/etc/group", atomically: true, encoding: .utf8)
        return try body(rootfs)
    }
}
