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

    @Test("a network node's route via the network's gateway and its eth0 sysctl come up; a changed publish keeps them")
    func networkNodeRoutesAndSysctls() throws {
        try withHostSandbox { sandbox in
            func file(port: Int) -> String {
                """
                name: LAB
                nodes:
                  web:
                    network: lan
                    publish: [ "\(port):80" ]
                    routes: [ "10.77.0.0/16 via 10.0.9.1", "10.78.0.0/16 dev eth0" ]
                    sysctls: { net.ipv4.conf.eth0.rp_filter: 2 }
                  peer: {}
                networks:
                  lan: { subnet: 10.0.9.0/24, gateway: 10.0.9.1 }
                links:
                  - endpoints: [ "web:eth1", "peer:eth1" ]
                    addresses: [ 10.0.2.2/24, 10.0.2.1/24 ]

                """
            }
            let lab = try LabFixture(sandbox, file(port: 8090))
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            defer { lab.down() }
            func routes() -> String { lab.run("web", ["ip", "route", "show", "proto", "static"]).stdout }
            #expect(routes().contains("10.77.0.0/16 via 10.0.9.1 dev eth0"), "\(routes())")
            #expect(routes().contains("10.78.0.0/16 dev eth0"), "\(routes())")
            #expect(Self.sysctl(lab, "web", "net/ipv4/conf/eth0/rp_filter") == "2")

            try lab.write(file(port: 8091))
            let moved = lab.lab(["up", lab.file])
            #expect(moved.succeeded, "\(moved)")
            #expect(routes().contains("10.77.0.0/16 via 10.0.9.1 dev eth0"), "\(routes())")
            #expect(routes().contains("10.78.0.0/16 dev eth0"), "\(routes())")
            #expect(Self.sysctl(lab, "web", "net/ipv4/conf/eth0/rp_filter") == "2")
            let plan = lab.lab(["up", "--dry-run", lab.file])
            #expect(plan.succeeded && plan.stdout.isEmpty, "\(plan)")
        }
    }
}
