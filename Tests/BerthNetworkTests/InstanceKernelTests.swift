import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Two state directories on one host (issue 12): each attaches and publishes, and gc,
/// check and reconcile in one leave the other's bridge, veths, elements and traffic intact.
@Suite("two instances on one host (kernel)", .enabled(if: try KernelTests.enabled))
struct InstanceKernelTests {
    /// A host sandbox with two state directories (the sandbox's, then `other`), each with a
    /// network called web (10.46.0.0/24 on bra; 10.47.0.0/24 on brb); `a` and `b` run berth
    /// in one and the other.
    private func withTwoInstances(_ body: (HostSandbox, String, ([String]) -> CommandResult, ([String]) -> CommandResult) throws -> Void) throws {
        try withHostSandbox { sandbox in
            let other = NSTemporaryDirectory() + "berth-test-other-\(KernelTests.uniqueSuffix())"
            defer { try? FileManager.default.removeItem(atPath: other) }
            func a(_ args: [String]) -> CommandResult { sandbox.berth(args) }
            func b(_ args: [String]) -> CommandResult { sandbox.berth(args + ["--state-dir", other]) }
            try #require(a(["network", "create", "web", "--subnet", "10.46.0.0/24", "--bridge", "bra"]).succeeded)
            try #require(b(["network", "create", "web", "--subnet", "10.47.0.0/24", "--bridge", "brb"]).succeeded)
            try body(sandbox, other, a, b)
        }
    }

    @Test("gc, check and reconcile in one state directory leave the other's bridge, veths, elements and traffic intact")
    func sideBySide() throws {
        try withTwoInstances { sandbox, other, a, b in
            // Networks of the same name; the same endpoint id in both is a policy test.
            let ca = try CLIContainer(sandbox, network: "web", id: "a1", ports: ["8081:80"])
            let cb = try CLIContainer(sandbox, network: "web", id: "b1", ports: ["8082:80"], state: other)
            // The same host port cannot be published by both.
            let clash = try CLIContainer.attachFails(sandbox, network: "web", ports: ["8081:80"], state: other)
            #expect(clash.contains("already in Berth's nftables maps"), "\(clash)")
            // A range the kernel refuses as one message: the error names the held port and its
            // owner, not the range's first port.
            let range = try CLIContainer.attachFails(sandbox, network: "web", ports: ["8061-8081:8061-8081"], state: other)
            #expect(range.contains("maps: tcp . 8081 in map publish_any, held by \"berth-endpoint a1 @"),
                    "\(range)")

            func traffic() -> [Bool] {
                [(8081, ca.id), (8082, cb.id)].map { port, id in
                    (try? Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: UInt16(port)))?.hasPrefix(id + " ") == true
                }
            }
            func bObjects() -> [String] {
                let veth = (try? Oracle.objects(b(["ps", "--json"]).stdout))?.first?["hostVeth"] as? String ?? "?"
                return [Oracle.ip(sandbox, ["link", "show", "dev", "brb"]).isEmpty ? "no brb" : "brb",
                        Oracle.ip(sandbox, ["link", "show", "dev", veth]).first?["master"] as? String ?? "no veth",
                        sandbox.run(["nft", "list", "ruleset"]).stdout.contains("tcp . 8082 comment \"berth-endpoint b1 @") ? "element" : "no element"]
            }
            #expect(traffic() == [true, true])
            #expect(bObjects() == ["brb", "brb", "element"])

            for command in [["gc"], ["check"], ["reconcile"]] {
                let result = a(command)
                #expect(result.succeeded, "\(command): \(result)")
                #expect(bObjects() == ["brb", "brb", "element"], "after \(command)")
                #expect(traffic() == [true, true], "after \(command)")
            }
            #expect(a(["gc"]).stdout == "nothing to remove\n")

            // After a flush each restores its own: A's reconcile does not take B's away.
            #expect(sandbox.run(["nft", "flush", "ruleset"]).succeeded)
            #expect(a(["reconcile"]).succeeded)
            #expect(traffic() == [true, false])
            #expect(b(["reconcile"]).succeeded)
            #expect(traffic() == [true, true])
            #expect(a(["reconcile"]).stdout == "nothing was missing\n")
            #expect(b(["check"]).succeeded && a(["check"]).succeeded)

            // B's endpoint and network go with B's detach and rm; A is untouched.
            #expect(b(["detach", "b1"]).succeeded)
            #expect(traffic() == [true, false])
            #expect(b(["network", "rm", "web"]).succeeded)
            #expect(Oracle.ip(sandbox, ["link", "show", "dev", "brb"]).isEmpty)
            #expect(a(["check"]).succeeded && traffic() == [true, false])
        }
    }

    @Test("a detach leaves the element another state directory published on a key this endpoint's element held before it was deleted by hand")
    func detachLeavesOthersKey() throws {
        try withTwoInstances { sandbox, other, a, b in
            _ = try CLIContainer(sandbox, network: "web", id: "a1", ports: ["8083:80"])
            #expect(sandbox.run(["nft", "delete", "element", "ip", "berth", "publish_any", "{ tcp . 8083 }"]).succeeded)
            let cb = try CLIContainer(sandbox, network: "web", id: "b1", ports: ["8083:80"], state: other)
            #expect(a(["detach", "a1"]).succeeded)
            #expect(sandbox.run(["nft", "list", "ruleset"]).stdout.contains("tcp . 8083 comment \"berth-endpoint b1 @"))
            #expect((try? Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8083))?.hasPrefix(cb.id + " ") == true)
            #expect(b(["check"]).succeeded)
        }
    }
}

extension CLIContainer {
    /// Attaches a fresh namespace and expects the attach to fail; returns its stderr.
    static func attachFails(_ sandbox: HostSandbox, network: String, ports: [String], state: String? = nil) throws -> String {
        let name = try #require(try sandbox.makeNamespace().name)
        var args = ["attach", network, "--netns", name]
        for port in ports { args += ["-p", port] }
        if let state { args += ["--state-dir", state] }
        let result = sandbox.berth(args)
        #expect(result.status == 1, "\(result)")
        return result.stderr
    }
}
