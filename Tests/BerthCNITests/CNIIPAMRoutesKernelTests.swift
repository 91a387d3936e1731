import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A delegated IPAM plugin's routes other than the default route go on the container's
/// interface and into the result, as the reference bridge plugin installs them (through
/// the fake plugin of CNIIPAMForwardingKernelTests).
@Suite("berth-cni: a delegated IPAM plugin's routes are installed and reported (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIIPAMRoutesKernelTests {
    private func setUp(_ sandbox: HostSandbox, lease: String) throws -> (cni: CNIHarness, plugins: String, config: String) {
        let cni = CNIHarness(sandbox: sandbox)
        let plugins = sandbox.stateDirectory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try CNIIPAMForwardingKernelTests.fakePlugin("ipam-routes", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                    answers: ["ADD": (lease, 0), "DEL": ("", 0), "CHECK": ("", 0)])
        return (cni, plugins, cni.config("k8s", extra: #""ipam":{"type":"ipam-routes"}"#))
    }

    @Test("host-local-like routes: 10.96.0.0/12 via the gateway and one without gw (via the address's gateway) are in the namespace and the result; the default route is Berth's")
    func installed() throws {
        try withHostSandbox { sandbox in
            let lease = #"{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}],"routes":[{"dst":"0.0.0.0/0"},{"dst":"10.96.0.0/12","gw":"10.78.0.1"},{"dst":"192.0.2.0/24"}]}"#
            let (cni, plugins, config) = try setUp(sandbox, lease: lease)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "pod1", netns: container.path, path: plugins)
            try #require(add.status == 0, "\(add)")
            #expect(add.json?["routes"] == (try JSONValue(parsing: #"[{"dst":"0.0.0.0/0","gw":"10.78.0.1"},{"dst":"10.96.0.0/12","gw":"10.78.0.1"},{"dst":"192.0.2.0/24","gw":"10.78.0.1"}]"#)), "\(add)")
            let routes = sandbox.run(["ip", "-n", try #require(container.name), "-4", "route", "show"]).stdout
            #expect(routes.contains("10.96.0.0/12 via 10.78.0.1 dev eth0"), "\(routes)")
            #expect(routes.contains("192.0.2.0/24 via 10.78.0.1 dev eth0"), "\(routes)")
            #expect(routes.contains("default via 10.78.0.1 dev eth0"), "\(routes)")
            // CHECK still passes with the extra routes, and DEL removes everything.
            #expect(cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, config), containerID: "pod1", netns: container.path, path: plugins).status == 0)
            #expect(cni.run("DEL", config, containerID: "pod1", netns: container.path, path: plugins).status == 0)
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("a route the namespace has already (the subnet's own connected route) is added behind it, not refused, as the reference plugins add routes")
    func existingRoute() throws {
        try withHostSandbox { sandbox in
            let lease = #"{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}],"routes":[{"dst":"10.78.0.0/24","gw":"10.78.0.1"}]}"#
            let (cni, plugins, config) = try setUp(sandbox, lease: lease)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "pod1", netns: container.path, path: plugins)
            try #require(add.status == 0, "\(add)")
            let routes = sandbox.run(["ip", "-n", try #require(container.name), "-4", "route", "show", "10.78.0.0/24"]).stdout
            // The connected route keeps precedence: it is listed first.
            #expect(routes.hasPrefix("10.78.0.0/24 dev eth0 proto kernel"), "\(routes)")
            #expect(cni.run("DEL", config, containerID: "pod1", netns: container.path, path: plugins).status == 0)
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("a route of a family the container gets no address of is code 7 naming it; the lease goes back and nothing is made")
    func otherFamily() throws {
        try withHostSandbox { sandbox in
            let lease = #"{"cniVersion":"1.1.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}],"routes":[{"dst":"fd00:96::/64"}]}"#
            let (cni, plugins, config) = try setUp(sandbox, lease: lease)
            let add = cni.run("ADD", config, containerID: "pod2", netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(add.status == 1 && add.code == 7 && add.message.contains("route fd00:96::/64"), "\(add)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod2 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(cni.hostVeths().isEmpty)
        }
    }
}
