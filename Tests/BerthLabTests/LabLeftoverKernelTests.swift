import BerthCore
import BerthLab
import BerthLabFile
import BerthTestSupport
import Foundation
import Testing

/// An `up` killed between creating `/run/netns/LAB-NODE` and mounting the namespace on it
/// leaves an empty file there: the lab takes it for a leftover of its own node.
extension LabKernelTests {
    static let pairTemplate = """
    name: LAB
    nodes:
      a: {}
      b: {}
    links:
      - endpoints: [ "a:eth1", "b:eth1" ]

    """

    /// Plants the empty file an interrupted create leaves, and a record of an up that died
    /// having recorded its intent (the lab owns both nodes).
    private func plantLeftover(_ lab: LabFixture, node: String, record: Bool = true) throws -> String {
        let path = "/run/netns/" + lab.namespace(node)
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        if record {
            let spec = try LabFileParser.parse(path: lab.file).spec
            try lab.state().save(LabRecord(name: lab.name, source: lab.file, pending: spec, nodes: Set(spec.nodes.map(\.name))))
        }
        return path
    }

    @Test("a leftover empty file at an owned node's namespace path is removed by down and by gc, and replaced by up")
    func leftoverNamespaceFileOfOwnedNode() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, Self.pairTemplate)
            defer { lab.down() }
            var path = try plantLeftover(lab, node: "a")
            let down = lab.lab(["down", lab.name])
            #expect(down.succeeded, "\(down)")
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!lab.recorded)

            path = try plantLeftover(lab, node: "a")
            let gc = lab.lab(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("removed lab \(lab.name)"), "\(gc)")
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!lab.recorded)
            let again = lab.lab(["gc"])
            #expect(again.succeeded && again.stdout == "nothing to collect\n", "\(again)")

            path = try plantLeftover(lab, node: "b")
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            // A namespace now, mounted where the file was: b's end of the link is in it.
            #expect(lab.ip("b", ["link", "show", "eth1"]).count == 1)
            lab.expectNothingPlanned()
            let last = lab.lab(["down", lab.name])
            #expect(last.succeeded, "\(last)")
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: "/run/netns/" + lab.namespace("a")))
        }
    }

    @Test("a leftover empty file at the namespace path of a node the lab does not own is refused by up, and left in place")
    func leftoverNamespaceFileOfForeignNode() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, Self.pairTemplate)
            defer { lab.down() }
            let path = try plantLeftover(lab, node: "a", record: false)
            defer { unlink(path) }
            let up = lab.lab(["up", lab.file])
            #expect(up.status == 1 && up.stderr.contains("\(path) of node a is a leftover file of an interrupted namespace create")
                    && up.stderr.contains("berth netns del \(lab.namespace("a"))"), "\(up)")
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: "/run/netns/" + lab.namespace("b")))
            #expect(!lab.recorded)
        }
    }
}
