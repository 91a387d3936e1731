import BerthCore
import BerthLab
import BerthTestSupport
import Foundation
import Testing

/// Whose a namespace is (the lab tags its own before naming them), and the open-file budget
/// of a big lab.
extension LabKernelTests {
    @Test("a namespace put in place of a recorded node by ip netns del and add is the user's: up refuses it, down and gc report it and leave it")
    func replacedNamespaceIsNotAdopted() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            #expect(lab.ip("r1", ["link", "show", "dev", "lo"]).first?["ifalias"] as? String == "berth-lab \(lab.name) r1 \(lab.stateTag)")
            let ns = lab.namespace("r2")
            try #require(Command.run(["ip", "netns", "del", ns]).succeeded)
            try #require(Command.run(["ip", "netns", "add", ns]).succeeded)
            sandbox.adopt(namespaceNamed: ns)
            defer { _ = Command.run(["ip", "netns", "del", ns]) }

            let up = lab.lab(["up", lab.file])
            #expect(up.status == 1 && up.stderr.contains("network namespace \(ns) exists and is not lab \(lab.name)'s node r2"), "\(up)")
            #expect(lab.ip("r2", ["link", "show", "dev", "lo"]).first?["ifalias"] == nil, "up tagged the user's namespace")
            let check = lab.lab(["check"])
            #expect(check.status == 1 && check.stderr.contains("network namespace \(ns): is not the lab's: it carries no lab tag"), "\(check)")

            let gc = lab.lab(["gc"])
            #expect(!gc.stdout.contains("removed namespace \(ns)"), "\(gc)")
            #expect(lab.namespaces().contains(ns))

            let down = lab.lab(["down", lab.name])
            #expect(down.succeeded && down.stdout.contains("namespace \(ns) left alone"), "\(down)")
            #expect(lab.namespaces() == [ns])
            #expect(!lab.recorded)
        }
    }

    @Test("a node dropped from the file whose namespace was replaced by ip netns del and add is left alone by up, which says so (and so does --dry-run, planning no delete)")
    func droppedNodeReplacedNamespaceLeftAlone() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, "name: LAB\nnodes:\n  a: {}\n  b: {}\n")
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let ns = lab.namespace("b")
            try #require(Command.run(["ip", "netns", "del", ns]).succeeded)
            try #require(Command.run(["ip", "netns", "add", ns]).succeeded)
            sandbox.adopt(namespaceNamed: ns)
            defer { _ = Command.run(["ip", "netns", "del", ns]) }
            try lab.write("name: LAB\nnodes:\n  a: {}\n")

            let warning = "warning: namespace \(ns) would be left alone: its node is no longer in the file, but it carries no tag of the lab"
            let dry = lab.lab(["up", "--dry-run", lab.file])
            #expect(dry.succeeded && !dry.stdout.contains("delete node b") && dry.stderr.contains(warning), "\(dry)")
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded && up.stderr.contains("warning: namespace \(ns) was left alone"), "\(up)")
            #expect(lab.namespaces() == [lab.namespace("a"), ns])
            #expect(lab.ip("b", ["link", "show", "dev", "lo"]).first?["ifalias"] == nil, "up tagged the user's namespace")
            // The lab forgets the node: a second up plans nothing and warns of nothing.
            let again = lab.lab(["up", "--dry-run", lab.file])
            #expect(again.succeeded && again.stdout.isEmpty && again.stderr.isEmpty, "\(again)")
        }
    }

    /// A chain of `count` nodes, n0 … n(count-1).
    static func chain(_ count: Int) -> String {
        var text = "name: LAB\nnodes:\n" + (0..<count).map { "  n\($0): {}\n" }.joined() + "links:\n"
        for index in 1..<count { text += "  - endpoints: [ \"n\(index - 1):e\(index)\", \"n\(index):e\(index)\" ]\n" }
        return text
    }

    @Test("a lab that needs more open files than the hard limit allows is refused before anything is made, naming the numbers")
    func fileLimitRefused() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, Self.chain(60))
            defer { lab.down() }
            // 60 nodes need 2 × 60 + 64 = 184 descriptors; the hard limit is 150.
            let argv = ["prlimit", "--nofile=150:150"] + sandbox.berthArguments(["lab", "up", lab.file])
            let up = Command.run(argv, environment: sandbox.berthEnvironment())
            #expect(up.status == 1 && up.stderr.contains("a lab of 60 nodes needs 184 open files while it converges")
                    && up.stderr.contains("this process may open 150 (RLIMIT_NOFILE, hard limit 150)") && up.stderr.contains("nothing was made"), "\(up)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
        }
    }

    @Test("a lab that needs more open files than the soft limit raises it as far as the hard limit: 60 nodes come up with a soft limit of 100")
    func fileLimitRaised() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, Self.chain(60))
            defer { lab.down() }
            let argv = ["prlimit", "--nofile=100:4096"] + sandbox.berthArguments(["lab", "up", lab.file])
            let up = Command.run(argv, environment: sandbox.berthEnvironment())
            #expect(up.succeeded, "\(up)")
            #expect(lab.namespaces().count == 60)
            let down = Command.run(["prlimit", "--nofile=100:4096"] + sandbox.berthArguments(["lab", "down", lab.name]), environment: sandbox.berthEnvironment())
            #expect(down.succeeded, "\(down)")
            #expect(lab.namespaces().isEmpty)
        }
    }

    @Test("a root qdisc added by hand (htb at handle 1:) on a link end the file limits is replaced by up and by impair, as the lab owns its links")
    func handAddedRootQdiscIsReplaced() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let ns = lab.namespace("r1")
            try #require(Command.run(["tc", "-n", ns, "qdisc", "del", "dev", "eth1", "root"]).succeeded)
            try #require(Command.run(["tc", "-n", ns, "qdisc", "add", "dev", "eth1", "root", "handle", "1:", "htb"]).succeeded)
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            let shown = Command.witness(["tc", "-n", ns, "qdisc", "show", "dev", "eth1"])
            #expect(shown.contains("qdisc tbf 1: root") && shown.contains("rate 16Mbit") && !shown.contains("htb"), "\(shown)")
            lab.expectNothingPlanned()

            try #require(Command.run(["tc", "-n", ns, "qdisc", "del", "dev", "eth1", "root"]).succeeded)
            try #require(Command.run(["tc", "-n", ns, "qdisc", "add", "dev", "eth1", "root", "handle", "1:", "htb"]).succeeded)
            let impair = lab.lab(["impair", lab.name, "r1:eth1", "--rate", "1mbit"])
            #expect(impair.succeeded, "\(impair)")
            let impaired = Command.witness(["tc", "-n", ns, "qdisc", "show", "dev", "eth1"])
            #expect(impaired.contains("qdisc tbf 1: root") && impaired.contains("rate 1Mbit") && !impaired.contains("htb"), "\(impaired)")
        }
    }
}
