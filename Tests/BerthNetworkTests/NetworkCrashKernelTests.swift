import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Fail points (debug builds) work only in the binary built beside the tests.
private let failPointsCompiledIn = Command.berthBinary.contains("/debug/")

/// `kill -9` in the middle of `network create` and `network rm`, then `gc` (or the same
/// command again): the network is either whole and ready or gone with everything it made.
@Suite("network create and rm crash recovery (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkCrashKernelTests {
    /// Runs `berth ARGS` with `step` armed to hang, kills it there with SIGKILL.
    private func killAt(_ sandbox: HostSandbox, _ args: [String], at step: String) throws {
        let marker = sandbox.stateDirectory + "/reached-" + step
        let process = try BerthProcess(sandbox, args, environment: ["BERTH_FAILPOINT": step + ":hang", "BERTH_FAILPOINT_REACHED": marker])
        let reached = Oracle.wait { FileManager.default.fileExists(atPath: marker) }
        #expect(kill(process.pid, SIGKILL) == 0)
        let ended = process.wait()
        try #require(reached, "berth \(args) never reached \(step): \(ended)")
        #expect(ended.killed && ended.status == SIGKILL, "\(ended)")
    }

    /// `berth gc` finishes the interrupted network web: gone from the state, no bridge, no
    /// rules left, and `check` finds nothing.
    private func expectGCRemovesWeb(_ sandbox: HostSandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let gc = sandbox.berth(["gc"])
        #expect(gc.succeeded && gc.stdout.contains("removed network web"), "\(gc)", sourceLocation: sourceLocation)
        #expect(try networkNames(sandbox).isEmpty, sourceLocation: sourceLocation)
        #expect(Oracle.bridges(sandbox).isEmpty, "\(Oracle.bridges(sandbox))", sourceLocation: sourceLocation)
        #expect(!berthRules(sandbox, network: "web"), sourceLocation: sourceLocation)
        #expect(sandbox.berth(["check"]).succeeded, sourceLocation: sourceLocation)
    }

    private func networkNames(_ sandbox: HostSandbox) throws -> [String] {
        let ls = sandbox.berth(["network", "ls", "--json"])
        try #require(ls.succeeded, "\(ls)")
        return try Oracle.objects(ls.stdout).compactMap { $0["name"] as? String }
    }

    private func berthRules(_ sandbox: HostSandbox, network: String) -> Bool {
        sandbox.run(["nft", "list", "ruleset"]).stdout.contains("berth-network \(network) ")
    }

    @Test("SIGKILL at each step of network rm: nothing attaches to the half-removed network, gc finishes the removal, the name is free again",
          .enabled(if: failPointsCompiledIn),
          arguments: ["network.rm.firewall", "network.rm.bridge", "network.rm.forget"])
    func killedRemoval(step: String) throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.46.0.0/24", "--bridge", "brweb"]).succeeded)
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["attach", "web", "--netns", container, "--id", "e1"]).succeeded)
            try #require(sandbox.berth(["detach", "e1"]).succeeded)
            #expect(berthRules(sandbox, network: "web"))

            try killAt(sandbox, ["network", "rm", "web"], at: step)
            // Still recorded, marked: an attach would get no forward or masquerade rules.
            let attach = sandbox.berth(["attach", "web", "--netns", container, "--id", "e2"])
            #expect(attach.status == 1 && attach.stderr.contains("network web is not ready: its removal was interrupted")
                        && attach.stderr.contains("berth gc"), "\(attach)")
            #expect(Oracle.berthVeths(sandbox).isEmpty)
            let check = sandbox.berth(["check"])
            #expect(check.status == 1 && check.stderr.contains("network web: removal: interrupted"), "\(check)")

            try expectGCRemovesWeb(sandbox)
            #expect(sandbox.berth(["gc"]).stdout.contains("nothing to remove"))
            #expect(sandbox.berth(["network", "create", "web", "--subnet", "10.46.0.0/24", "--bridge", "brweb"]).succeeded)
        }
    }

    @Test("SIGKILL at each step of network rm, then network rm again: it finishes", .enabled(if: failPointsCompiledIn),
          arguments: ["network.rm.firewall", "network.rm.bridge"])
    func removalRetried(step: String) throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.46.0.0/24", "--bridge", "brweb"]).succeeded)
            try killAt(sandbox, ["network", "rm", "web"], at: step)
            let again = sandbox.berth(["network", "rm", "web"])
            #expect(again.succeeded && again.stdout == "web\n", "\(again)")
            #expect(try networkNames(sandbox).isEmpty)
            #expect(Oracle.bridges(sandbox).isEmpty)
            #expect(!berthRules(sandbox, network: "web"))
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }

    @Test("SIGKILL at each step of network create on a bridge Berth makes: gc removes the marked network, its bridge and its rules",
          .enabled(if: failPointsCompiledIn),
          arguments: ["network.bridge", "network.address", "network.firewall"])
    func killedCreate(step: String) throws {
        try withHostSandbox { sandbox in
            try killAt(sandbox, ["network", "create", "web", "--subnet", "10.47.0.0/24", "--bridge", "brweb"], at: step)
            #expect(try networkNames(sandbox) == ["web"])
            let container = try Oracle.container(in: sandbox)
            let attach = sandbox.berth(["attach", "web", "--netns", container])
            #expect(attach.status == 1 && attach.stderr.contains("network web is not ready: its create was interrupted"), "\(attach)")

            try expectGCRemovesWeb(sandbox)
        }
    }

    @Test("SIGKILL of a create on an existing bridge after its gateway address was added: gc takes the address off, leaves the bridge",
          .enabled(if: failPointsCompiledIn),
          arguments: ["network.address", "network.firewall"])
    func killedCreateOnExistingBridge(step: String) throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.run(["ip", "link", "add", "lanbr", "type", "bridge"]).succeeded)
            try killAt(sandbox, ["network", "create", "web", "--subnet", "10.48.0.0/24", "--gateway", "10.48.0.1", "--bridge", "lanbr", "--bridge-existing"], at: step)
            #expect(Oracle.ipv4(sandbox, dev: "lanbr") == ["10.48.0.1/24"])

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("removed network web"), "\(gc)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr").isEmpty, "\(Oracle.ipv4(sandbox, dev: "lanbr"))")
            #expect(Oracle.bridges(sandbox).compactMap { $0["ifname"] as? String } == ["lanbr"])
            #expect(try networkNames(sandbox).isEmpty)
            #expect(!berthRules(sandbox, network: "web"))
        }
    }

    @Test("SIGKILL of a create on an existing bridge, then the same create again and rm: the gateway address Berth added goes",
          .enabled(if: failPointsCompiledIn))
    func killedCreateOnExistingBridgeRetried() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.run(["ip", "link", "add", "lanbr", "type", "bridge"]).succeeded)
            let create = ["network", "create", "web", "--subnet", "10.48.0.0/24", "--gateway", "10.48.0.1", "--bridge", "lanbr", "--bridge-existing"]
            try killAt(sandbox, create, at: "network.address")
            let again = sandbox.berth(create)
            #expect(again.succeeded, "\(again)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr") == ["10.48.0.1/24"])
            let container = try Oracle.container(in: sandbox)
            let attach = sandbox.berth(["attach", "web", "--netns", container, "--id", "e1"])
            #expect(attach.succeeded, "\(attach)")
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
            let rm = sandbox.berth(["network", "rm", "web"])
            #expect(rm.succeeded, "\(rm)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr").isEmpty, "\(Oracle.ipv4(sandbox, dev: "lanbr"))")
            #expect(Oracle.bridges(sandbox).compactMap { $0["ifname"] as? String } == ["lanbr"])
        }
    }

    @Test("a create killed on an existing bridge that already had the gateway address: gc leaves the address",
          .enabled(if: failPointsCompiledIn))
    func killedCreateKeepsForeignAddress() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.run(["ip", "link", "add", "lanbr", "type", "bridge"]).succeeded)
            try #require(sandbox.run(["ip", "addr", "add", "10.48.0.1/24", "dev", "lanbr"]).succeeded)
            try killAt(sandbox, ["network", "create", "web", "--subnet", "10.48.0.0/24", "--gateway", "10.48.0.1", "--bridge", "lanbr", "--bridge-existing"],
                     at: "network.firewall")
            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("removed network web"), "\(gc)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr") == ["10.48.0.1/24"])
            #expect(!berthRules(sandbox, network: "web"))
        }
    }

    /// The sandbox namespace's forwarding sysctls, as `sysctl` reads them there.
    private func forwarding(_ sandbox: HostSandbox) -> [String] {
        ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"].map { sandbox.run(["sysctl", "-n", $0]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @Test("an internal network (IPv4 or dual stack) leaves the host's forwarding off; a create failing at its firewall step turns back off what it turned on")
    func forwardingLeftAsFound() throws {
        try withHostSandbox { sandbox in
            // Off to begin with, whatever this namespace inherited.
            #expect(sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"]).succeeded)
            let inner = sandbox.berth(["network", "create", "inner", "--internal", "--subnet", "10.47.0.0/24", "--ipv6", "--bridge", "brinner"])
            #expect(inner.succeeded, "\(inner)")
            #expect(forwarding(sandbox) == ["0", "0"])
            if failPointsCompiledIn {
                let failed = sandbox.berth(["network", "create", "web", "--subnet", "10.48.0.0/24", "--ipv6", "--bridge", "brweb"],
                                           environment: ["BERTH_FAILPOINT": "network.firewall"])
                #expect(failed.status == 1, "\(failed)")
                #expect(forwarding(sandbox) == ["0", "0"])
                let names = try networkNames(sandbox)
                #expect(names == ["inner"])
            }
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }
}
