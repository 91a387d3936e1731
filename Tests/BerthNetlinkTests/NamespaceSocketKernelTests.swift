import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

@Suite("rtnetlink opened inside a namespace (kernel)", .enabled(if: try KernelTests.enabled),
       .enabled(if: FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6"), "needs a kernel with IPv6"))
struct NamespaceSocketNetlinkKernelTests {
    @Test("a link made through a socket opened after sysctl writes is in the target namespace, not the caller's")
    func linkThroughNamespaceSocket() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let targetName = try #require(target.name)
            let socket = try NetlinkSocket(.route, in: target, writing: [SysctlWrite("net/ipv6/conf/default/disable_ipv6", "1", skipIfMissing: true)])
            let inside = RouteNetlink(transport: socket, namespace: target)
            let bridge = try inside.createBridge(named: InterfaceName("brns0"), up: false)
            #expect(bridge.kind == .bridge)
            #expect(IPOracle.link(sandbox, "brns0", namespace: targetName) != nil)
            #expect(IPOracle.link(sandbox, "brns0") == nil)
            // The default applied to the link made after it: no IPv6 on it.
            #expect(try target.sysctl("net/ipv6/conf/brns0/disable_ipv6") == "1")
            #expect(try sandbox.namespace.sysctl("net/ipv6/conf/default/disable_ipv6") == "0")
        }
    }
}
