import BerthCore
import BerthLab
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// The triangle with the lab's own name.
let triangleTemplate = triangleYAML.replacingOccurrences(of: "name: triangle", with: "name: LAB")
/// The triangle edited: h1 loses its route, a node h9 joins r2 (a converge whose steps can fail).
let triangleGrown = triangleTemplate.replacingOccurrences(of: "h1: { routes: [ \"default via 10.0.1.1\" ] }", with: "h1: {}\n  h9: {}")
    + "  - endpoints: [ \"h9:eth0\", \"r2:eth2\" ]\n    addresses: [ 10.0.9.2/24, 10.0.9.1/24 ]\n"

/// Whether this kernel has netem (most distribution kernels do; this project's do not).
enum LabKernel {
    static let netem: Bool = KernelTests.allowed
        && ((try? RouteNetlink.kernelSupports(.networkEmulation(NetworkEmulation(delay: TimeSpan(nanoseconds: 1_000_000))))) ?? false)
}

// Serialized: `berth lab gc` rightly removes every tagged namespace its state does not record,
// and each test has its own state directory.
@Suite("berth lab (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct LabKernelTests {
    @Test("the triangle: h1 reaches r2's far address through r1, the rate shows in a bulk transfer, down leaves nothing")
    func triangle() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            #expect(lab.namespaces() == ["h1", "r1", "r2"].map(lab.namespace))
            #expect(lab.recorded)

            let ping = lab.ping("h1", "10.0.12.2")
            #expect(ping.succeeded, "\(ping)")
            let ping6 = lab.ping("h1", "fd00:1::1")
            #expect(ping6.succeeded, "\(ping6)")
            // berth lab exec runs in the node too.
            let exec = lab.lab(["exec", lab.name, "h1", "--", "ip", "-o", "addr", "show", "dev", "eth0"])
            #expect(exec.succeeded && exec.stdout.contains("10.0.1.2/24"), "\(exec)")
            // inspect's text view words the rate as tc does, not as JSON.
            let inspect = lab.lab(["inspect", lab.name])
            #expect(inspect.succeeded && inspect.stdout.contains("[tbf rate 16mbit burst ") && !inspect.stdout.contains("{"), "\(inspect)")
            // And without --: everything after the node is the command, its options too.
            let plain = lab.lab(["exec", lab.name, "h1", "ip", "-br", "addr", "show", "dev", "eth0"])
            #expect(plain.succeeded && plain.stdout.contains("10.0.1.2/24"), "\(plain)")

            // 16mbit = 2,000,000 bytes/s with a 32 KiB burst: 1 MB cannot arrive faster than (1 MB - burst) / rate.
            let r1 = try NetworkNamespace.open(named: lab.namespace("r1")), r2 = try NetworkNamespace.open(named: lab.namespace("r2"))
            let bytes = 1_000_000
            let outcome = try BulkTransfer.run(from: r1, to: r2, address: "10.0.12.2", port: 5201, bytes: bytes)
            #expect(outcome.received == bytes)
            let floor = Double(bytes - 32 * 1024) / 2_000_000
            let seconds = Double(outcome.duration.components.seconds) + Double(outcome.duration.components.attoseconds) / 1e18
            #expect(seconds >= floor, "\(bytes) bytes in \(seconds) s through a 16mbit link (floor \(floor) s)")
            let tc = Command.run(["tc", "-n", lab.namespace("r1"), "-s", "-j", "qdisc", "show", "dev", "eth1"])
            let root = (try? JSONSerialization.jsonObject(with: Data(tc.stdout.utf8)) as? [[String: Any]])?.first { $0["kind"] as? String == "tbf" }
            #expect((root?["overlimits"] as? Int ?? 0) > 0, "\(tc)")
            #expect((root?["options"] as? [String: Any])?["rate"] as? Int == 2_000_000)

            let down = lab.lab(["down", lab.name])
            #expect(down.succeeded, "\(down)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
            #expect(lab.lab(["ls"]).stdout.contains(lab.name) == false)
        }
    }

    @Test("inspect --json agrees with ip -j in every node: interfaces, MTU, MAC, addresses, routes")
    func inspectMatchesIP() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let inspect = lab.lab(["inspect", lab.name, "--json"])
            try #require(inspect.succeeded, "\(inspect)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
            let nodes = try #require(json["nodes"] as? [[String: Any]])
            #expect(nodes.count == 3)
            for node in nodes {
                let name = try #require(node["name"] as? String)
                let ipLinks = lab.ip(name, ["addr", "show"]).filter { $0["ifname"] as? String != "lo" }
                let ours = try #require(node["interfaces"] as? [[String: Any]])
                #expect(Set(ours.compactMap { $0["ifname"] as? String }) == Set(ipLinks.compactMap { $0["ifname"] as? String }), "\(name)")
                for interface in ours {
                    let ifname = try #require(interface["ifname"] as? String)
                    let ip = try #require(ipLinks.first { $0["ifname"] as? String == ifname })
                    #expect(interface["mtu"] as? Int == ip["mtu"] as? Int, "\(name):\(ifname)")
                    #expect(interface["address"] as? String == ip["address"] as? String, "\(name):\(ifname)")
                    #expect(interface["ifindex"] as? Int == ip["ifindex"] as? Int, "\(name):\(ifname)")
                    let global = (ip["addr_info"] as? [[String: Any]] ?? []).filter { $0["scope"] as? String != "host" }
                        .compactMap { info -> String? in
                            guard let local = info["local"] as? String, let prefix = info["prefixlen"] as? Int else { return nil }
                            return "\(local)/\(prefix)"
                        }
                    let ourAddresses = (interface["addresses"] as? [String] ?? []).map { (try? CIDR(parsing: $0))?.description ?? $0 }
                    #expect(Set(ourAddresses) == Set(global.map { (try? CIDR(parsing: $0))?.description ?? $0 }), "\(name):\(ifname)")
                }
                var ipRoutes: Set<String> = []
                for family in ["-4", "-6"] {
                    for route in lab.ip(name, [family, "route", "show", "proto", "static"]) {
                        ipRoutes.insert("\(route["dst"] as? String ?? "?") \(route["gateway"] as? String ?? "-") \(route["dev"] as? String ?? "-")")
                    }
                }
                let ourRoutes = Set((node["routes"] as? [[String: Any]] ?? []).map {
                    "\($0["dst"] as? String ?? "?") \($0["gateway"] as? String ?? "-") \($0["dev"] as? String ?? "-")"
                })
                #expect(ourRoutes == ipRoutes, "\(name)")
            }
            #expect(lab.ip("r1", ["link", "show", "dev", "eth1"]).first?["ifalias"] as? String == "berth-lab \(lab.name) r1:eth1 r2:eth1")
            #expect(lab.ip("r1", ["link", "show", "dev", "lo"]).first?["ifalias"] as? String == "berth-lab \(lab.name) r1 \(lab.stateTag)")
        }
    }

    @Test("up twice: the second changes nothing in the kernel and plans nothing")
    func upTwice() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let before = lab.snapshot()
            lab.expectNothingPlanned()
            let again = lab.lab(["up", lab.file])
            #expect(again.succeeded && again.stdout.contains("up to date"), "\(again)")
            #expect(lab.snapshot() == before)
        }
    }

    @Test("an edited file converges: a removed link goes from both nodes, a new node and link come, the rest stays")
    func converge() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let r2Before = lab.ip("r2", ["link", "show", "dev", "eth1"]).first?["ifindex"] as? Int
            // Drop the h1–r1 link (and h1's route through it), add h2 on r2.
            try lab.write("""
            name: LAB
            nodes:
              r1: { sysctls: { net.ipv4.ip_forward: 1 } }
              r2:
                sysctls: { net.ipv4.ip_forward: 1 }
                routes: [ "10.0.1.0/24 via 10.0.12.1" ]
              h1: {}
              h2: { routes: [ "default via 10.0.2.1" ] }
            links:
              - endpoints: [ "r1:eth1", "r2:eth1" ]
                addresses: [ 10.0.12.1/30, 10.0.12.2/30 ]
                rate: 16mbit
              - endpoints: [ "h2:eth0", "r2:eth2" ]
                addresses: [ 10.0.2.2/24, 10.0.2.1/24 ]
            """)
            let up = lab.lab(["up", "-v", lab.file])
            try #require(up.succeeded, "\(up)")
            #expect(lab.namespaces() == ["h1", "h2", "r1", "r2"].map(lab.namespace))
            #expect(lab.ip("h1", ["link", "show", "dev", "eth0"]).isEmpty)
            #expect(lab.ip("r1", ["link", "show", "dev", "eth2"]).isEmpty)
            #expect(lab.ip("h1", ["route", "show", "proto", "static"]).isEmpty)
            #expect(lab.ping("h2", "10.0.12.2").succeeded)
            // The untouched link is the same link, not a new one.
            #expect(lab.ip("r2", ["link", "show", "dev", "eth1"]).first?["ifindex"] as? Int == r2Before)
            #expect(lab.lab(["up", "--dry-run", lab.file]).stdout.isEmpty)

            // Removing a node deletes its namespace and its link's other end.
            try lab.write(triangleTemplate)
            let back = lab.lab(["up", lab.file])
            #expect(back.succeeded, "\(back)")
            #expect(lab.namespaces() == ["h1", "r1", "r2"].map(lab.namespace))
            #expect(lab.ip("r2", ["link", "show", "dev", "eth2"]).isEmpty)
            #expect(lab.ping("h1", "10.0.12.2").succeeded)
        }
    }

    @Test("a lab asking for netem on a kernel without it is refused naming netem and its line, and nothing is made",
          .enabled(if: !LabKernel.netem))
    func netemRefused() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate + """
              - endpoints: [ "h1:eth1", "r2:eth3" ]
                netem: { delay: 20ms, jitter: 2ms, loss: 0.5% }

            """)
            let up = lab.lab(["up", lab.file])
            #expect(up.status == 1, "\(up)")
            #expect(up.stderr.contains("netem") && up.stderr.contains("sch_netem"), "\(up)")
            #expect(up.stderr.contains("\(lab.file):15:"), "\(up)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
            // impair refuses netem the same way on a running lab.
            try lab.write(triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let impair = lab.lab(["impair", lab.name, "r1:eth1", "--delay", "20ms"])
            #expect(impair.status == 1 && impair.stderr.contains("netem"), "\(impair)")
            #expect(Command.run(["tc", "-n", lab.namespace("r1"), "qdisc", "show", "dev", "eth1"]).stdout.contains("tbf"))
        }
    }

    @Test("netem delay shows in the ping time (kernels with sch_netem only)", .enabled(if: LabKernel.netem))
    func netemDelay() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            nodes: { a: {}, b: {} }
            links:
              - endpoints: [ "a:eth0", "b:eth0" ]
                addresses: [ 10.9.0.1/24, 10.9.0.2/24 ]
                netem: { delay: 25ms }
            """)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let ping = lab.ping("a", "10.9.0.2")
            let time = ping.stdout.split(separator: " ").first { $0.hasPrefix("time=") }.flatMap { Double($0.dropFirst(5)) }
            #expect((time ?? 0) >= 50, "\(ping)")
        }
    }

    @Test("a rate-limited link of MTU 65535 carries a 40,000-byte ping: the tbf burst holds a frame (a 32 KiB one drops it)")
    func rateOnJumboLink() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            nodes: { a: {}, b: {} }
            links:
              - endpoints: [ "a:eth0", "b:eth0" ]
                addresses: [ 10.0.66.1/24, 10.0.66.2/24 ]
                mtu: 65535
                rate: 10mbit

            """)
            let up = lab.lab(["up", lab.file])
            try #require(up.succeeded, "\(up)")
            defer { lab.down() }
            // Under timeout: a ping whose packet tbf drops can block in sendto past its -w.
            let ping = lab.run("a", ["timeout", "-s", "KILL", "20", "busybox", "ping", "-c", "1", "-W", "5", "-w", "5", "-s", "40000", "10.0.66.2"])
            #expect(ping.succeeded, "\(ping)")
            // The next up plans nothing: the burst the kernel holds is the file's.
            lab.expectNothingPlanned()
        }
    }

    @Test("impair changes a running link's rate; the next up converges it back to the file")
    func impair() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let impair = lab.lab(["impair", lab.name, "h1:eth0", "--rate", "8mbit"])
            #expect(impair.succeeded, "\(impair)")
            let tc = Command.run(["tc", "-n", lab.namespace("h1"), "-j", "qdisc", "show", "dev", "eth0"]).stdout
            #expect(tc.contains("\"kind\":\"tbf\"") && tc.contains("\"rate\":1000000"), "\(tc)")
            #expect(lab.lab(["up", "--dry-run", lab.file]).stdout.contains("impair h1:eth0: none"))
            try #require(lab.lab(["up", lab.file]).succeeded)
            #expect(!Command.witness(["tc", "-n", lab.namespace("h1"), "qdisc", "show", "dev", "eth0"]).contains("tbf"))
        }
    }

    @Test("graph prints the topology as dot; ls lists the lab")
    func graphAndList() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            let graph = lab.lab(["graph", lab.name])
            #expect(graph.succeeded && graph.stdout.hasPrefix("graph \"\(lab.name)\" {"), "\(graph)")
            #expect(graph.stdout.contains("\"r1\" -- \"r2\" [taillabel=\"eth1\\n10.0.12.1/30\", headlabel=\"eth1\\n10.0.12.2/30\", label=\"tbf rate 16mbit"))
            let list = lab.lab(["ls"])
            #expect(list.stdout.contains(lab.name) && list.stdout.contains("up"), "\(list)")
        }
    }

    @Test("a namespace of the lab's name that is not the lab's is refused, and kept")
    func foreignNamespace() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            let foreign = lab.namespace("r2")
            try #require(Command.run(["ip", "netns", "add", foreign]).succeeded)
            sandbox.adopt(namespaceNamed: foreign)
            let up = lab.lab(["up", lab.file])
            #expect(up.status == 1 && up.stderr.contains("is not lab"), "\(up)")
            #expect(lab.namespaces() == [foreign])
            #expect(!lab.recorded)
            #expect(!lab.lab(["gc"]).stdout.contains(foreign))
            #expect(lab.namespaces() == [foreign])
        }
    }

    @Test("exec enters only the node's own tagged namespace: not an untagged one named like it, nor another lab's node whose name concatenates the same")
    func execChecksTheTag() throws {
        try withHostSandbox { sandbox in
            // Lab A-b, node c: namespace A-b-c, tagged for lab A-b.
            let lab = try LabFixture(sandbox, "name: LAB-b\nnodes:\n  c: {}\n")
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.lab(["down", lab.name + "-b"]) }
            let own = lab.lab(["exec", lab.name + "-b", "c", "--", "true"])
            #expect(own.succeeded, "\(own)")
            let other = lab.lab(["exec", lab.name, "b-c", "--", "true"])
            #expect(other.status == 1 && other.stderr.contains("lab \(lab.name) has no node b-c")
                && other.stderr.contains("is node c of lab \(lab.name)-b"), "\(other)")
            // A namespace Berth never made, named like lab A's node db.
            let foreign = lab.namespace("db")
            try #require(Command.run(["ip", "netns", "add", foreign]).succeeded)
            sandbox.adopt(namespaceNamed: foreign)
            let untagged = lab.lab(["exec", lab.name, "db", "--", "true"])
            #expect(untagged.status == 1 && untagged.stderr.contains("lab \(lab.name) has no node db")
                && untagged.stderr.contains("is not tagged as a lab's node"), "\(untagged)")
            // The node of the same lab in another state store is not this store's node.
            let elsewhere = lab.lab(["exec", "--state-dir", sandbox.stateDirectory + "/other", lab.name + "-b", "c", "--", "true"])
            #expect(elsewhere.status == 1 && elsewhere.stderr.contains("in another state directory"), "\(elsewhere)")
        }
    }

    @Test("bad files are refused with line and column by the CLI, and nothing is made")
    func badFilesCLI() throws {
        try withHostSandbox { sandbox in
            for (text, place) in [("name: LAB\nnodes:\n  r1: { kind: linux }\n", ":3:9:"),
                                  ("name: LAB\nnodes: { a: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n", ":4:28:")] {
                let lab = try LabFixture(sandbox, text)
                let up = lab.lab(["up", lab.file])
                #expect(up.status == 1 && up.stderr.contains(lab.file + place), "\(up)")
                #expect(lab.namespaces().isEmpty && !lab.recorded)
            }
        }
    }

    @Test("a failure at any step of up rolls back to nothing", .enabled(if: labFailPointsCompiledIn),
          arguments: ["lab.nodes", "lab.links", "lab.configure", "lab.sysctls", "lab.routes"])
    func rollback(point: String) throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": point])
            #expect(up.status == 1 && up.stderr.contains("fail point \(point)"), "\(up)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
        }
    }

    @Test("a failed converge of a running lab goes back to the file it had", .enabled(if: labFailPointsCompiledIn))
    func convergeRollback() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            try lab.write(triangleGrown)
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.routes"])
            #expect(up.status == 1, "\(up)")
            // Back to the triangle: no h9, no link to it, h1's route restored.
            #expect(lab.namespaces() == ["h1", "r1", "r2"].map(lab.namespace))
            #expect(lab.ip("r2", ["link", "show", "dev", "eth2"]).isEmpty)
            #expect(lab.ip("h1", ["route", "show", "proto", "static"]).first?["gateway"] as? String == "10.0.1.1")
            #expect(lab.ping("h1", "10.0.12.2").succeeded)
        }
    }

    @Test("SIGKILL at any point of up, then down: nothing left", .enabled(if: labFailPointsCompiledIn),
          arguments: ["lab.state", "lab.nodes", "lab.links", "lab.configure", "lab.sysctls", "lab.routes"], ["down", "gc"])
    func killThenClean(point: String, cleaner: String) throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            let up = try LabProcess(sandbox, ["up", lab.file], environment: ["BERTH_FAILPOINT": point + ":hang"])
            let reached = up.waitFor("fail point \(point): hanging")
            let ended = up.kill()
            try #require(reached, "up never reached \(point)")
            #expect(ended.killed && ended.status == SIGKILL)
            for namespace in lab.namespaces() { sandbox.adopt(namespaceNamed: namespace) }
            #expect(lab.recorded)
            let clean = cleaner == "down" ? lab.lab(["down", lab.name]) : lab.lab(["gc"])
            #expect(clean.succeeded, "\(clean)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
            let again = lab.lab(["up", lab.file])
            #expect(again.succeeded, "\(again)")
            lab.down()
        }
    }

    @Test("lab A's node b-c and lab A-b's node c spell one namespace: up of the second is refused naming the first; down and gc of A leave A-b-c alone",
          arguments: ["down", "gc"])
    func collidingNames(cleaner: String) throws {
        try withHostSandbox { sandbox in
            // Lab A-b, node c: namespace and endpoint A-b-c, tagged for lab A-b.
            let lab = try LabFixture(sandbox, "name: LAB-b\nnetworks: { LABn: { subnet: 10.0.77.0/24 } }\nnodes:\n  c: { network: LABn }\n")
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.lab(["down", lab.name + "-b"]) }
            let victim = lab.namespace("b-c")
            #expect(lab.namespaces() == [victim])
            // Lab A with node b-c: its up is refused before it changes anything.
            try lab.write("name: LAB\nnodes:\n  b-c: {}\n")
            let clash = lab.lab(["up", lab.file])
            #expect(clash.status == 1 && clash.stderr.contains("namespace \(victim) of node b-c is already node c of lab \(lab.name)-b"), "\(clash)")
            #expect(lab.namespaces() == [victim] && !lab.recorded)
            // Lab A's up that crashed after recording node b-c (from a berth that did not check).
            try lab.state().save(LabRecord(name: lab.name, source: "old.yaml", pending: LabSpec(name: lab.name, source: "old.yaml"), nodes: ["b-c"]))
            let clean = lab.lab(cleaner == "down" ? ["down", lab.name] : ["gc"])
            #expect(clean.succeeded, "\(clean)")
            #expect(!clean.stdout.contains(victim), "\(clean)")
            #expect(lab.namespaces() == [victim])
            #expect(lab.ip("b-c", ["link", "show", "dev", "eth0"]).count == 1)
            #expect(!lab.recorded)
        }
    }

    @Test("gc removes a lab's tagged namespaces when its state is gone")
    func gcWithoutState() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            try lab.state().remove(named: lab.name)
            let gc = lab.lab(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("removed namespace \(lab.namespace("r1"))"), "\(gc)")
            #expect(lab.namespaces().isEmpty)
        }
    }
}
