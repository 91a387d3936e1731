import BerthCore
import BerthLab
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Convergence edge cases: link-local addresses, a network node's eth0, per-interface
/// sysctls on recreated links, containers named like a node that are not the lab's, and
/// records that no longer validate.
extension LabKernelTests {
    @Test("a link-local address in the file: a second up plans nothing, and the kernel's own fe80:: stays")
    func linkLocalAddresses() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            nodes:
              a: {}
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]
                addresses: [ [ 10.0.5.1/24, "fe80::1/64" ], [ 10.0.5.2/24, "fe80::2/64" ] ]

            """)
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            defer { lab.down() }
            let plan = lab.lab(["up", "--dry-run", lab.file])
            #expect(plan.succeeded && plan.stdout.isEmpty, "\(plan)")
            let again = lab.lab(["up", lab.file])
            #expect(again.succeeded, "\(again)")
            let addresses = lab.run("a", ["ip", "-6", "-o", "addr", "show", "dev", "eth1"]).stdout
            #expect(addresses.contains("fe80::1/64"), "\(addresses)")
            // Dropping the file's fe80::1 deletes it, not the kernel's own link-local address.
            try lab.write("""
            name: LAB
            nodes:
              a: {}
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]
                addresses: [ 10.0.5.1/24, 10.0.5.2/24 ]

            """)
            let drop = lab.lab(["up", "--dry-run", lab.file])
            #expect(drop.stdout.split(separator: "\n").sorted() == ["delete fe80::1/64 from a:eth1", "delete fe80::2/64 from b:eth1"], "\(drop)")
        }
    }
}
