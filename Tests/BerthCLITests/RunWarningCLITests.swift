import BerthTestSupport
import Foundation
import Testing

/// `berth run` making the default network on first use says on stderr what that changed for
/// the host, as `berth network create` does: forwarding turned on, another firewall's forward
/// chain that drops the bridge's traffic (with what to add there).
@Suite("berth run: host warnings of the default network (kernel)", .enabled(if: try KernelTests.enabled))
struct RunWarningCLITests {
    static let forwarding = "berth: warning: IPv4 forwarding is now on (net.ipv4.ip_forward=1, it was 0): this host now routes IPv4 packets "
        + "between all its interfaces, not only for Berth's bridges (Berth's table filters only what enters or leaves its bridges)\n"

    /// The sandbox as a host with forwarding off.
    private func forwardingOff(_ sandbox: HostSandbox) throws {
        try #require(sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=0"]).succeeded)
    }

    @Test("foreground: the first run says forwarding was turned on, before the command's output; the next run says nothing")
    func foreground() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: ["echo"]) { rootfs in
                try forwardingOff(sandbox)
                let first = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--", "echo", "hello"])
                #expect(first.status == 0 && first.stdout == "hello\n", "\(first)")
                #expect(first.stderr == Self.forwarding, "\(first)")
                #expect(sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout == "1\n")
                let second = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--", "echo", "again"])
                #expect(second.status == 0 && second.stdout == "again\n" && second.stderr.isEmpty, "\(second)")
            }
        }
    }

    @Test("detached: the warnings cross from the supervisor, another firewall's drop chain with what to add there; stdout is the name alone")
    func detached() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                try forwardingOff(sandbox)
                // A plain iptables(-nft) filter table whose FORWARD drops by policy.
                let nft = sandbox.run(["nft", "add table ip filter; add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }"])
                try #require(nft.succeeded, "\(nft)")
                let run = sandbox.berth(["run", "-d", "--name", "bg", "--rootfs", rootfs.path, "--", "sleep", "1000"])
                #expect(run.status == 0 && run.stdout == "bg\n", "\(run)")
                #expect(run.stderr.hasPrefix(Self.forwarding), "\(run)")
                #expect(run.stderr.contains("berth: warning: chain FORWARD of table ip filter (hook forward, policy drop) drops what Berth forwards through bridge berth0")
                        && run.stderr.contains("iptables -I FORWARD -i berth0 -j ACCEPT; iptables -I FORWARD -o berth0 -j ACCEPT"), "\(run)")
                #expect(run.stderr.split(separator: "\n").count == 2, "\(run)")
                // A start of a stopped container whose network exists says nothing.
                #expect(sandbox.berth(["stop", "-t", "0", "bg"]).succeeded)
                let start = sandbox.berth(["start", "bg"])
                #expect(start.status == 0 && start.stdout == "bg\n" && start.stderr.isEmpty, "\(start)")
            }
        }
    }
}
