import BerthCore
import BerthFakes
import BerthNetwork
import Foundation
import Testing

/// The README's "Library" example, run against the fake kernel. The calls between the
/// markers below mirror the README's snippet line for line (the test compares the two
/// texts), so a change of the API that breaks the snippet breaks this test.
@Suite("README library example (fake kernel)")
struct ReadmeLibraryExampleTests {
    @Test("create a network, attach with a published port, read address, MAC and gateway, detach, gc: as the README shows")
    func readmeExample() throws {
        let host = try FakeHost()
        let containerPID: Int32 = 4242
        let ctr = host.kernel.addNamespace("ctr", pid: containerPID)
        // The README's manager opens the machine's state and kernel; this one the fakes'.
        let manager = NetworkManager(store: host.manager.store, host: host.handle, resolverExecutable: "/usr/local/bin/berth-dns")
        // README begin
        try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.89.0.0/24")))
        let attached = try manager.attachDescribed(AttachOptions(network: "web", namespace: .pid(containerPID), id: "c1",
                                                                 ports: [try PortSpec(parsing: "8080:80")]))
        let address = try attached.addressCIDR         // 10.89.0.2/24, on eth0 in the container
        let mac = attached.endpoint.mac                // 02:42:0a:59:00:02
        let gateway = attached.network.gateway         // 10.89.0.1, the container's default route
        let published = attached.endpoint.ports        // tcp 0.0.0.0:8080->80
        #expect(address?.description == "10.89.0.2/24" && mac.description == "02:42:0a:59:00:02" && gateway?.description == "10.89.0.1")
        #expect(published.map(\.description) == ["tcp 0.0.0.0:8080->80"])
        #expect(host.kernel.link("eth0", in: ctr)?.mac == mac)
        #expect(host.nftables.ruleset.contains("8080 comment \"berth-endpoint c1 @f4ce0001\""))
        try manager.detach(id: "c1")                   // veth, address and port gone
        let report = try manager.gc()                  // what a crash left behind, removed (here: nothing)
        // README end
        #expect(report.isEmpty, "\(report)")
        #expect(host.kernel.link("eth0", in: ctr) == nil)
        #expect(!host.nftables.ruleset.contains("berth-endpoint c1"))
        #expect(try manager.endpoints().isEmpty)
        #expect(try Self.snippet(inReadme: Self.readme()) == Self.snippet(inTest: String(contentsOfFile: #filePath, encoding: .utf8)))
    }

    /// README.md at the package's root.
    private static func readme() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }

    /// The README snippet's lines after its `let manager` line, each trimmed.
    private static func snippet(inReadme text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(where: { $0.hasPrefix("let manager = try NetworkManager(") }),
              let end = lines[start...].firstIndex(of: "```") else { return ["no snippet in README.md"] }
        return Array(lines[(start + 1)..<end])
    }

    /// This file's lines between the markers, each trimmed, without the checks (`#expect`)
    /// that are the test's own.
    private static func snippet(inTest text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: "// README begin"), let end = lines.firstIndex(of: "// README end") else { return [] }
        return lines[(start + 1)..<end].filter { !$0.hasPrefix("#expect") }
    }
}
