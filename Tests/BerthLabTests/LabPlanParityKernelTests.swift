import BerthCore
import BerthLab
import BerthLabFile
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// `up --dry-run` and `down FILE` after what broke them: a crashed `up`, a broken edit.
extension LabKernelTests {
    @Test("after an up killed before it changed anything, --dry-run plans what up does: the previous file's link-local addresses go",
          .enabled(if: labFailPointsCompiledIn))
    func dryRunAfterCrash() throws {
        try withHostSandbox { sandbox in
            func file(linkLocal: Bool) -> String {
                """
                name: LAB
                nodes:
                  a: {}
                  b: {}
                links:
                  - endpoints: [ "a:eth1", "b:eth1" ]
                    addresses: \(linkLocal ? "[ [ 10.0.5.1/24, \"fe80::1/64\" ], [ 10.0.5.2/24, \"fe80::2/64\" ] ]" : "[ 10.0.5.1/24, 10.0.5.2/24 ]")

                """
            }
            let lab = try LabFixture(sandbox, file(linkLocal: true))
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            try lab.write(file(linkLocal: false))
            let up = try LabProcess(sandbox, ["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.state:hang"])
            let reached = up.waitFor("fail point lab.state: hanging")
            _ = up.kill()
            try #require(reached, "up never reached lab.state")
            let wanted: [Substring] = ["delete fe80::1/64 from a:eth1", "delete fe80::2/64 from b:eth1"]
            let plan = lab.lab(["up", "--dry-run", lab.file])
            #expect(plan.succeeded && plan.stdout.split(separator: "\n").sorted() == wanted, "\(plan)")
            let real = lab.lab(["up", "-v", lab.file])
            #expect(real.succeeded, "\(real)")
            let addresses = lab.run("a", ["ip", "-6", "-o", "addr", "show", "dev", "eth1"]).stdout
            #expect(!addresses.contains("fe80::1/64"), "\(addresses)")
        }
    }
}

/// A namespace of one of the file's names that someone else makes while `up` runs.
extension LabKernelTests {
    @Test("a failed converge goes back without deleting a namespace of the file's names that someone else made meanwhile")
    func rollbackLeavesOthersNamespace() throws {
        try withHostSandbox { sandbox in
            let two = """
            name: LAB
            nodes:
              a: {}
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]

            """
            let lab = try LabFixture(sandbox, two)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let previous = try LabFileParser.parse(path: lab.file).spec
            try lab.write(two.replacingOccurrences(of: "  b: {}\n", with: "  b: {}\n  c: {}\n") + "  - endpoints: [ \"b:eth2\", \"c:eth1\" ]\n")
            let spec = try LabFileParser.parse(path: lab.file).spec
            // Made after up checked the file's names (LabManager.up), before the engine observes.
            let other = lab.namespace("c")
            try #require(Command.run(["ip", "netns", "add", other]).succeeded)
            sandbox.adopt(namespaceNamed: other)
            let engine = LabEngine(manager: try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace))
            let ledger = LabNetworkLedger(created: []) { _ throws(BerthError) in }
            let error = #expect(throws: BerthError.self) {
                try engine.converge(to: spec, from: previous, startedWith: previous, owned: ["a", "b"], networks: ledger)
            }
            #expect(error?.code == .conflict && !LabEngine.rollbackFailed(error ?? BerthError(.internalError, "")), "\(String(describing: error))")
            #expect(lab.namespaces().contains(other), "\(lab.namespaces())")
            #expect(lab.namespaces().contains(lab.namespace("a")) && lab.namespaces().contains(lab.namespace("b")))
        }
    }
}

/// `down FILE` after an edit that broke the file.
extension LabKernelTests {
    @Test("down FILE reads only the file's name: it takes the lab down after an edit that broke the rest of the file")
    func downBrokenFile() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            try lab.write(triangleTemplate + "  - endpoints: [ \"h1:eth5\", \"nowhere:eth0\" ]\n")
            #expect(lab.lab(["up", "--dry-run", lab.file]).status != 0)
            let down = lab.lab(["down", lab.file])
            #expect(down.succeeded, "\(down)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
        }
    }
}
