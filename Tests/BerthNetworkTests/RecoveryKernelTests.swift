import BerthTestSupport
import Foundation
import Testing

/// Fail points (debug builds) work only in the binary built beside the tests, not in a
/// release build given through BERTH_BIN.
private let failPointsCompiledIn = Command.berthBinary.contains("/debug/")

/// Failures and crashes in the middle of `network create` and `attach`, and containers whose
/// namespace went without a detach: rollback, `gc`, `check`.
@Suite("attach path recovery (kernel)", .enabled(if: try KernelTests.enabled))
struct RecoveryKernelTests {
    @Test("a network create failing after any step leaves no bridge, no nft change, no record",
          .enabled(if: failPointsCompiledIn),
          arguments: ["network.bridge", "network.address", "network.firewall"], [false, true])
    func networkRollback(point: String, besideAnotherNetwork: Bool) throws {
        try withHostSandbox { sandbox in
            // The first network also creates Berth's table; a later one only adds its rules.
            if besideAnotherNetwork {
                try #require(sandbox.berth(["network", "create", "base", "--subnet", "10.39.0.0/24"]).succeeded)
            }
            let before = KernelSnapshot(sandbox)
            let result = sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"],
                                       environment: ["BERTH_FAILPOINT": point])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("fail point \(point) reached"), "\(result)")
            let after = KernelSnapshot(sandbox)
            #expect(after == before, "\(after.difference(from: before))")
            #expect(!after.links.contains { $0.hasPrefix("brweb ") })
            #expect(!after.ruleset.contains("10.40.0.0/24"))
            #expect(Oracle.bridges(sandbox).count == (besideAnotherNetwork ? 1 : 0))

            // Nothing in the way of doing it again.
            let again = sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"])
            #expect(again.succeeded, "\(again)")
        }
    }

    @Test("an attach failing after any step leaves no veth, no lease, no nft change",
          .enabled(if: failPointsCompiledIn),
          arguments: ["attach.state", "attach.veth", "attach.configure"])
    func attachRollback(point: String) throws {
        try withHostSandbox { sandbox in
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox, namespaces: [container])
            let result = sandbox.berth(["attach", "web", "--netns", container, "--id", "doomed"], environment: ["BERTH_FAILPOINT": point])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("fail point \(point) reached"), "\(result)")
            let after = KernelSnapshot(sandbox, namespaces: [container])
            #expect(after == before, "\(after.difference(from: before))")
            #expect(Oracle.berthVeths(sandbox).isEmpty)
            #expect(try Oracle.endpoints(sandbox).isEmpty)

            // The lease was not kept: the same id gets the first address again.
            let again = sandbox.berth(["attach", "web", "--netns", container, "--id", "doomed"])
            #expect(again.succeeded, "\(again)")
            #expect(try Oracle.endpoints(sandbox).first?["ip"] as? String == "10.40.0.2")
        }
    }

    @Test("an attach killed mid-way keeps its address until gc: the next attach gets another one; gc removes the leftover",
          .enabled(if: failPointsCompiledIn),
          arguments: ["attach.veth", "attach.configure", "attach.publish"])
    func gcAfterKill(point: String) throws {
        try withHostSandbox { sandbox in
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox, namespaces: [container])

            let marker = sandbox.stateDirectory + "/reached"
            let attach = try BerthProcess(sandbox, ["attach", "web", "--netns", container, "--id", "killed", "-p", "8080:80"],
                                          environment: ["BERTH_FAILPOINT": point + ":hang", "BERTH_FAILPOINT_REACHED": marker])
            let reached = Oracle.wait { FileManager.default.fileExists(atPath: marker) }
            #expect(kill(attach.pid, SIGKILL) == 0)
            let ended = attach.wait()
            try #require(reached, "the attach never reached \(point): \(ended)")
            #expect(ended.killed && ended.status == SIGKILL, "\(ended)")

            // The crash left a tagged veth pair with 10.40.0.2 inside, and its lease: the
            // record was committed, marked, before the kernel was touched.
            let leftovers = Oracle.berthVeths(sandbox)
            #expect(leftovers.count == 1)
            #expect((leftovers.first?["ifalias"] as? String)?.hasPrefix("berth-endpoint killed ") == true)
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: container) == (point == "attach.veth" ? [] : ["10.40.0.2/24"]))
            #expect(try Oracle.endpoints(sandbox).compactMap { $0["id"] as? String } == ["killed"])

            // Another container attached now never gets the address the leftover holds.
            let other = try Oracle.container(in: sandbox)
            let second = sandbox.berth(["attach", "web", "--netns", other, "--id", "second"])
            #expect(second.succeeded, "\(second)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: other) == ["10.40.0.3/24"])

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint killed"), "\(gc)")
            #expect(try Oracle.endpoints(sandbox).compactMap { $0["id"] as? String } == ["second"])
            // A deletion gc handed to a detached process may still be under way.
            #expect(Oracle.wait { Oracle.berthVeths(sandbox).count == 1 })
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("berth-endpoint killed "))

            // Its address is free again, and with the second one gone the kernel is as before.
            #expect(sandbox.berth(["detach", "second"]).succeeded)
            #expect(Oracle.wait { KernelSnapshot(sandbox, namespaces: [container]) == before },
                    "\(KernelSnapshot(sandbox, namespaces: [container]).difference(from: before))")
            let again = sandbox.berth(["attach", "web", "--netns", container, "--id", "again"])
            #expect(again.succeeded, "\(again)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: container) == ["10.40.0.2/24"])

            let quiet = sandbox.berth(["gc"])
            #expect(quiet.succeeded && quiet.stdout.contains("nothing to remove"), "\(quiet)")
        }
    }

    @Test("a recorded namespace path that no longer leads to a namespace — its bind mount gone (a plain file left), /proc/PID/ns/net of a process that ended — is gone: gc removes the endpoint's record, host veth, elements and lease, though the namespace lives on elsewhere",
          arguments: ["unmounted", "process ended"])
    func gcRemovesEndpointOfVanishedPath(way: String) throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let container = try Oracle.container(in: sandbox)
            // A process in the namespace keeps it, and so the veth pair, alive whatever
            // becomes of the path recorded.
            let holder = try NamespaceHolder(entering: "/run/netns/" + container)
            defer { holder.end() }
            let inside = try NamespaceHolder(entering: "/run/netns/" + container)
            defer { inside.end() }
            let path = way == "unmounted" ? "/run/netns/" + container : inside.namespacePath
            let attach = sandbox.berth(["attach", "web", "--netns", path, "--id", "e1", "-p", "8080:80", "-p", "5353:53/udp"])
            try #require(attach.succeeded, "\(attach)")
            let veth = try #require(try Oracle.endpoints(sandbox).first?["hostVeth"] as? String)
            #expect(sandbox.witness(["nft", "list", "ruleset"]).contains("berth-endpoint e1 "))

            if way == "unmounted" {
                // As `umount /run/netns/NAME` without the `rm`: the mount point stays, a plain file.
                let umount = Command.run(["umount", path])
                try #require(umount.succeeded, "\(umount)")
                var info = stat()
                try #require(stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG, "\(path) is no plain file")
            } else {
                inside.end()
                #expect(!FileManager.default.fileExists(atPath: "/proc/\(inside.pid)"))
            }
            // The pair lives on with the namespace.
            #expect(Oracle.berthVeths(sandbox).compactMap { $0["ifname"] as? String } == [veth])

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stderr.isEmpty, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint e1\n") && gc.stdout.contains("removed link \(veth)\n"), "\(gc)")
            #expect(try Oracle.endpoints(sandbox).isEmpty)
            // A deletion gc handed to a detached process may still be under way.
            #expect(Oracle.wait { Oracle.berthVeths(sandbox).isEmpty }, "\(Oracle.berthVeths(sandbox))")
            #expect(Oracle.wait { Command.run(["nsenter", "--net=\(holder.namespacePath)", "--", "ip", "-o", "link", "show"]).stdout.split(separator: "\n").count == 1 },
                    "the container's end of the pair stays")
            let ruleset = sandbox.witness(["nft", "list", "ruleset"])
            #expect(!ruleset.contains("berth-endpoint e1 "), "\(ruleset)")

            // Its address and ports are free: another container gets the first address and them.
            let other = try Oracle.container(in: sandbox)
            let again = sandbox.berth(["attach", "web", "--netns", other, "--id", "e2", "-p", "8080:80", "-p", "5353:53/udp"])
            #expect(again.succeeded, "\(again)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: other) == ["10.40.0.2/24"])
            let quiet = sandbox.berth(["gc"])
            #expect(quiet.succeeded && quiet.stdout == "nothing to remove\n", "\(quiet)")
        }
    }

    @Test("a namespace gc cannot open (another user's /proc/PID/ns/net without CAP_SYS_PTRACE) keeps its endpoint, said on stderr, exit 1; the rest is collected; with the capability the endpoint is checked and kept")
    func gcKeepsUncheckedEndpoint() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let container = try Oracle.container(in: sandbox)
            // nobody's process in the container's namespace: its /proc/PID/ns/net opens only
            // with CAP_SYS_PTRACE (ptrace access mode), which root has by default.
            let holder = try NamespaceHolder(entering: "/run/netns/" + container, as: 65534)
            defer { holder.end() }
            let path = holder.namespacePath
            let attach = sandbox.berth(["attach", "web", "--netns", path, "--id", "e1", "-p", "8080:80"])
            try #require(attach.succeeded, "\(attach)")
            let veth = try #require(try Oracle.endpoints(sandbox).first?["hostVeth"] as? String)
            // And an endpoint whose namespace is gone, for the rest of gc.
            let gone = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["attach", "web", "--netns", gone, "--id", "e2", "-p", "8081:80"]).succeeded)
            #expect(Command.run(["ip", "netns", "del", gone]).succeeded)
            let before = sandbox.witness(["nft", "list", "ruleset"])

            let gc = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--",
                                  "setpriv", "--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace", Command.berthBinary, "gc"],
                                 environment: sandbox.berthEnvironment())
            #expect(gc.status == 1, "\(gc)")
            #expect(gc.stderr.hasPrefix("berth: could not check namespace \(path) of endpoint e1: open network namespace \(path): "), "\(gc)")
            #expect(gc.stderr.hasSuffix(" (kept; run 'berth gc' again as root: opening another process's namespace takes CAP_SYS_PTRACE)\n"), "\(gc)")
            #expect(gc.stderr.split(separator: "\n").count == 1, "\(gc)")
            // (and "removed link" for e2's veth, when the kernel had not destroyed it yet)
            #expect(gc.stdout.hasPrefix("removed endpoint e2\n") && !gc.stdout.contains("endpoint e1"), "\(gc)")
            // e1 is whole: record, lease, veth, elements.
            let endpoints = try Oracle.endpoints(sandbox)
            #expect(endpoints.compactMap { $0["id"] as? String } == ["e1"])
            #expect(endpoints.first?["ip"] as? String == "10.40.0.2")
            #expect(Oracle.wait { Oracle.berthVeths(sandbox).compactMap { $0["ifname"] as? String } == [veth] }, "\(Oracle.berthVeths(sandbox))")
            let ruleset = sandbox.witness(["nft", "list", "ruleset"])
            #expect(ruleset.contains("berth-endpoint e1 ") && !ruleset.contains("berth-endpoint e2 "), "\(ruleset)")
            #expect(before.contains("berth-endpoint e2 "))

            // With the capability the namespace opens, alive: nothing to remove, exit 0.
            let again = sandbox.berth(["gc"])
            #expect(again.succeeded && again.stderr.isEmpty && again.stdout == "nothing to remove\n", "\(again)")
            #expect(try Oracle.endpoints(sandbox).compactMap { $0["id"] as? String } == ["e1"])
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }

    @Test("check names a deleted veth and a deleted bridge and exits non-zero")
    func checkReportsMissingObjects() throws {
        try withHostSandbox { sandbox in
            let container = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"]).succeeded)
            let attach = sandbox.berth(["attach", "web", "--netns", container, "--id", "victim"])
            try #require(attach.succeeded, "\(attach)")
            let healthy = sandbox.berth(["check"])
            #expect(healthy.succeeded && healthy.stdout == "ok\n", "\(healthy)")

            let veth = try #require(try Oracle.endpoints(sandbox).first?["hostVeth"] as? String)
            #expect(sandbox.run(["ip", "link", "del", veth]).succeeded)
            let noVeth = sandbox.berth(["check", "victim"])
            #expect(noVeth.status == 1, "\(noVeth)")
            #expect(noVeth.stderr.contains("endpoint victim: veth \(veth): missing"), "\(noVeth)")
            // The pair went together: the container lost its interface too.
            #expect(noVeth.stderr.contains("endpoint victim: interface eth0 in /run/netns/\(container): missing"), "\(noVeth)")

            #expect(sandbox.run(["ip", "link", "del", "brweb"]).succeeded)
            let noBridge = sandbox.berth(["check"])
            #expect(noBridge.status == 1, "\(noBridge)")
            #expect(noBridge.stderr.contains("network web: bridge brweb: missing"), "\(noBridge)")
            #expect(noBridge.stderr.contains(" problems found") || noBridge.stderr.contains(" problem found"), "\(noBridge)")
        }
    }
}
