import BerthCore
import BerthNamespace
@testable import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// A reboot played in a host sandbox: the kernel objects of an endpoint go (its namespace
/// deleted, the bridge deleted, Berth's tables flushed) and the state is told it recorded
/// another boot, as a state that survived a reboot would. The next attach of another id
/// with the same address and port succeeds and the page is served through the port.
@Suite("Reboot: the earlier boot's endpoints are forgotten (kernel)", .enabled(if: try KernelTests.enabled))
struct RebootKernelTests {
    @Test("after a played reboot, an attach of another id takes the same address and host port, and the port serves its container")
    func attachAfterReboot() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "rb", subnet: try CIDR(parsing: "10.79.0.0/24"), bridge: try InterfaceName("rb0"), dns: false))
            let before = try sandbox.makeNamespace()
            let options = { (id: String, namespace: NetworkNamespace) throws(BerthError) in
                try AttachOptions(network: "rb", namespace: .open(namespace), id: id, address: try IPv4Address(parsing: "10.79.0.5"),
                              ports: [try PortSpec(parsing: "8080:80")])
            }
            _ = try manager.attach(try options("old", before))

            // The reboot: every kernel object goes, the state stays and names another boot. (No
            // DNS: a resolver process would outlive this played reboot and hold port 53.)
            let name = String(before.path.split(separator: "/").last ?? "")
            #expect(sandbox.run(["ip", "netns", "delete", name]).succeeded)
            #expect(sandbox.run(["ip", "link", "delete", "rb0"]).succeeded)
            #expect(sandbox.run(["nft", "flush", "ruleset"]).succeeded)
            let db = try Database(path: sandbox.stateDirectory + "/" + StateStore.databaseName, create: false)
            #expect(try db.execute("UPDATE instance SET boot = '00000000-0000-4000-8000-00000000dead'") == 1)

            let after = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, port: 80, banner: "after")
            defer { server.stop() }
            let endpoint = try after.attach(try options("new", container))
            #expect(endpoint.addresses.map(\.description) == ["10.79.0.5"])
            #expect(try after.endpoints().map(\.id) == ["new"])
            #expect(try after.networks().map(\.name) == ["rb"])
            let reply = try Probe.request(from: sandbox.namespace, to: "10.79.0.1", port: 8080, timeout: 3)
            #expect(reply.hasPrefix("after "), "\(reply)")
            #expect(try after.check().isEmpty)
            #expect(try db.queryFirst("SELECT boot FROM instance", []) { row in row.text(0) } == SystemKernel().bootID())
        }
    }
}
