import BerthCore
import BerthLab
import BerthTestSupport
import Foundation
import Testing

/// Addresses and routes that change under a running lab: what the kernel does on its own
/// (routes flushed with an interface's last IPv4 address, secondaries deleted with their
/// primary) and what it requires (a gateway reachable when its route is added).
extension LabKernelTests {
    @Test("renumbering an interface's only IPv4 address keeps the node's routes (the kernel flushes them with the last address); a second up plans nothing")
    func renumberKeepsRoutes() throws {
        try withHostSandbox { sandbox in
            func file(h1: String) -> String {
                """
                name: LAB
                nodes:
                  h1: { routes: [ "default via 10.0.1.1", "10.8.0.0/16 via 10.0.1.1 metric 5" ] }
                  r1: {}
                links:
                  - endpoints: [ "h1:eth0", "r1:eth0" ]
                    addresses: [ \(h1), 10.0.1.1/24 ]

                """
            }
            let lab = try LabFixture(sandbox, file(h1: "10.0.1.2/24"))
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            func routes() -> String { lab.run("h1", ["ip", "-4", "route", "show", "proto", "static"]).stdout }
            #expect(routes().contains("default via 10.0.1.1 dev eth0"), "\(routes())")

            try lab.write(file(h1: "10.0.1.3/24"))
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            #expect(routes().contains("default via 10.0.1.1 dev eth0"), "\(routes())")
            #expect(routes().contains("10.8.0.0/16 via 10.0.1.1 dev eth0 metric 5"), "\(routes())")
            let addresses = lab.run("h1", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
            #expect(addresses.contains("10.0.1.3/24") && !addresses.contains("10.0.1.2/"), "\(addresses)")
            lab.expectNothingPlanned()
        }
    }

    @Test("dropping an interface's primary IPv4 address keeps the secondary the file keeps (promote_secondaries)")
    func primaryDeletionKeepsSecondary() throws {
        try withHostSandbox { sandbox in
            func file(_ a: String) -> String {
                """
                name: LAB
                nodes:
                  a: {}
                  b: {}
                links:
                  - endpoints: [ "a:eth1", "b:eth1" ]
                    addresses: [ \(a), 10.0.0.9/24 ]

                """
            }
            let lab = try LabFixture(sandbox, file("[ 10.0.0.1/24, 10.0.0.2/24 ]"))
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            try lab.write(file("[ 10.0.0.2/24 ]"))
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            let addresses = lab.run("a", ["ip", "-4", "-o", "addr", "show", "dev", "eth1"]).stdout
            #expect(addresses.contains("10.0.0.2/24") && !addresses.contains("10.0.0.1/"), "\(addresses)")
            let ping = lab.run("a", ["busybox", "ping", "-c", "1", "-W", "5", "-w", "5", "10.0.0.9"])
            #expect(ping.succeeded, "\(ping)")
            lab.expectNothingPlanned()
        }
    }

    @Test("a route through a gateway that a later route of the file makes reachable comes up (routes without a gateway go first)")
    func routeOrder() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            nodes:
              a: { routes: [ "10.9.0.0/16 via 10.5.0.1", "10.5.0.0/24 dev eth1" ] }
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]
                addresses: [ 10.0.0.1/24, 10.0.0.2/24 ]

            """)
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            defer { lab.down() }
            let routes = lab.run("a", ["ip", "-4", "route", "show", "proto", "static"]).stdout
            #expect(routes.contains("10.9.0.0/16 via 10.5.0.1 dev eth1") && routes.contains("10.5.0.0/24 dev eth1"), "\(routes)")
            lab.expectNothingPlanned()
        }
    }

    @Test("a route's device changed under the same gateway is applied; a second up plans nothing")
    func routeDeviceChange() throws {
        try withHostSandbox { sandbox in
            func file(dev: String) -> String {
                """
                name: LAB
                nodes:
                  a: { routes: [ "default6 via fe80::1 dev \(dev)" ] }
                  b: {}
                  c: {}
                links:
                  - endpoints: [ "a:eth1", "b:eth1" ]
                  - endpoints: [ "a:eth2", "c:eth1" ]

                """
            }
            let lab = try LabFixture(sandbox, file(dev: "eth1"))
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            func routes() -> String { lab.run("a", ["ip", "-6", "route", "show", "proto", "static"]).stdout }
            #expect(routes().contains("default via fe80::1 dev eth1"), "\(routes())")
            try lab.write(file(dev: "eth2"))
            let plan = lab.lab(["up", "--dry-run", lab.file])
            #expect(plan.stdout == "sync routes of node a\n", "\(plan)")
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            #expect(routes().contains("default via fe80::1 dev eth2") && !routes().contains("dev eth1"), "\(routes())")
            let again = lab.lab(["up", "--dry-run", lab.file])
            #expect(again.succeeded && again.stdout.isEmpty, "\(again)")
        }
    }
}
