import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The files under examples/ come up as their comments say, and go down without a trace.
@Suite("berth lab: the examples (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct LabExamplesKernelTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    /// An example's text with the lab's own name, and without netem where the kernel has none.
    static func example(_ file: String, name: String) throws -> String {
        var text = try String(contentsOfFile: examples + "/" + file, encoding: .utf8).replacingOccurrences(of: "name: \(name)\n", with: "name: LAB\n")
        if !LabKernel.netem { text = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("netem:") }.joined(separator: "\n") }
        return text
    }

    @Test("triangle.yaml: h1 pings r2 through r1")
    func triangle() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, try Self.example("triangle.yaml", name: "triangle"))
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            #expect(lab.ping("h1", "10.0.12.2").succeeded)
            #expect(lab.lab(["down", lab.name]).succeeded)
            #expect(lab.namespaces().isEmpty && !lab.recorded)
        }
    }

    @Test("web-lan-wan.yaml: the web node's httpd answers through the published port and across the WAN; down removes it all")
    func webLanWan() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, try Self.example("web-lan-wan.yaml", name: "web-lan-wan"))
            try FileManager.default.copyItem(atPath: Self.examples + "/make-web-rootfs.sh", toPath: lab.directory + "/make-web-rootfs.sh")
            let made = Command.run(["sh", lab.directory + "/make-web-rootfs.sh"])
            try #require(made.succeeded, "\(made)")
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            defer { lab.down() }
            let page = sandbox.run(["curl", "-sS", "--retry", "20", "--retry-delay", "0", "--retry-connrefused", "--max-time", "5",
                                    "http://127.0.0.1:8080/"])
            #expect(page.stdout == "hello from the web node of web-lan-wan\n", "\(page)")
            let across = lab.run("pc1", ["curl", "-sS", "--max-time", "5", "http://203.0.113.80/"])
            #expect(across.stdout == "hello from the web node of web-lan-wan\n", "\(across)")
            let ps = sandbox.berth(["exec", lab.namespace("web"), "--", "ps"])
            #expect(ps.succeeded && ps.stdout.contains("httpd"), "\(ps)")

            #expect(lab.lab(["down", lab.name]).succeeded)
            #expect(lab.namespaces().isEmpty && !lab.recorded)
            #expect(try lab.psJSON().isEmpty)
            #expect(!sandbox.berthWitness(["network", "ls"]).contains("dmz"))
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("8080"))
        }
    }
}
