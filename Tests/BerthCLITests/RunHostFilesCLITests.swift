import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// A container without a rootfs gets Berth's /etc/hostname, /etc/hosts and /etc/resolv.conf
/// over the host's, in its own mount namespace: the host's resolver on loopback
/// (`nameserver 127.0.0.53`) is not reachable from its network namespace.
@Suite("berth run without --rootfs: its own /etc files over the host's (kernel)", .enabled(if: try KernelTests.enabled))
struct RunHostFilesCLITests {
    /// `berth ARGS` in a mount namespace of its own where `fake` is the host's /etc/resolv.conf.
    private func berth(_ sandbox: HostSandbox, resolvConf fake: String, _ args: [String]) -> CommandResult {
        var argv = sandbox.berthArguments(args)
        let berthAt = argv.firstIndex(of: "--").map { $0 + 1 } ?? 0
        argv.insert(contentsOf: ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                                 "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", fake], at: berthAt)
        return Command.run(argv, environment: sandbox.berthEnvironment())
    }

    @Test("a loopback nameserver of the host's is not the container's; its hostname and hosts are its own; the host's files are unchanged; --network host keeps the host's")
    func ownFiles() throws {
        let fake = NSTemporaryDirectory() + "berth-resolv-\(getpid())-\(UUID().uuidString.prefix(8))"
        let hostText = "nameserver 127.0.0.53\nsearch example.test\n"
        try hostText.write(toFile: fake, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: fake) }
        let before = try ["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"].map { try String(contentsOfFile: $0, encoding: .utf8) }
        try withHostSandbox { sandbox in
            let script = "cat /etc/resolv.conf; echo ---; cat /etc/hostname; echo ---; cat /etc/hosts"
            let run = berth(sandbox, resolvConf: fake, ["run", "--rm", "--network", "none", "-h", "box", "--", "sh", "-c", script])
            let parts = run.stdout.components(separatedBy: "---\n")
            try #require(run.status == 0 && parts.count == 3, "\(run)")
            #expect(parts[0].contains("search example.test\n") && !parts[0].contains("127.0.0.53") && parts[0].contains("nameserver "), "\(run)")
            #expect(parts[1] == "box\n", "\(run)")
            #expect(parts[2] == ContainerFiles.hosts(hostname: "box", addresses: []), "\(run)")
            let host = berth(sandbox, resolvConf: fake, ["run", "--rm", "--network", "host", "--", "cat", "/etc/resolv.conf"])
            #expect(host.status == 0 && host.stdout == hostText, "\(host)")
        }
        #expect(try String(contentsOfFile: fake, encoding: .utf8) == hostText)
        #expect(try ["/etc/resolv.conf", "/etc/hosts", "/etc/hostname"].map { try String(contentsOfFile: $0, encoding: .utf8) } == before)
    }
}
