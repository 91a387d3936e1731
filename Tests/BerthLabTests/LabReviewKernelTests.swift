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
    /// An rp_filter value no new link starts with: a new namespace copies the host's
    /// conf/default (systemd ships 2, the kernel 0), and a link starts with that, so the
    /// value written here is that default plus one, modulo 3 — a check that it was written
    /// cannot then pass because it was inherited.
    static var rpFilter: Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/conf/default/rp_filter", encoding: .utf8)) ?? "0"
        return ((Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) + 1) % 3
    }

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
            lab.expectNothingPlanned()
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
                    sysctls: { net.ipv4.conf.eth0.rp_filter: \(Self.rpFilter) }
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
            // The network's own default route, made by the attach, is not the file's to remove.
            #expect(routes().contains("default via 10.0.9.1 dev eth0"), "\(routes())")
            #expect(Self.sysctl(lab, "web", "net/ipv4/conf/eth0/rp_filter") == "\(Self.rpFilter)")

            try lab.write(file(port: 8091))
            let moved = lab.lab(["up", lab.file])
            #expect(moved.succeeded, "\(moved)")
            #expect(routes().contains("10.77.0.0/16 via 10.0.9.1 dev eth0"), "\(routes())")
            #expect(routes().contains("10.78.0.0/16 dev eth0"), "\(routes())")
            // The network's own default route, made by the attach, is not the file's to remove.
            #expect(routes().contains("default via 10.0.9.1 dev eth0"), "\(routes())")
            #expect(Self.sysctl(lab, "web", "net/ipv4/conf/eth0/rp_filter") == "\(Self.rpFilter)")
            lab.expectNothingPlanned()
        }
    }

    @Test("a per-interface sysctl survives its link being made anew")
    func interfaceSysctlOnRecreatedLink() throws {
        try withHostSandbox { sandbox in
            func file(peer: String) -> String {
                """
                name: LAB
                nodes:
                  r1: { sysctls: { net.ipv4.conf.eth1.rp_filter: \(Self.rpFilter) } }
                  r2: {}
                  r3: {}
                links:
                  - endpoints: [ "r1:eth1", "\(peer):eth1" ]

                """
            }
            let lab = try LabFixture(sandbox, file(peer: "r2"))
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            #expect(Self.sysctl(lab, "r1", "net/ipv4/conf/eth1/rp_filter") == "\(Self.rpFilter)")
            try lab.write(file(peer: "r3"))
            let up = lab.lab(["up", lab.file])
            #expect(up.succeeded, "\(up)")
            #expect(Self.sysctl(lab, "r1", "net/ipv4/conf/eth1/rp_filter") == "\(Self.rpFilter)")
            lab.expectNothingPlanned()
        }
    }

    @Test("a stopped container of the user's named like a node without run stays through up and down")
    func foreignStoppedContainer() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, """
                name: LAB
                nodes:
                  r1: {}
                  r2: {}
                links:
                  - endpoints: [ "r1:eth1", "r2:eth1" ]

                """)
                let name = lab.namespace("r1")
                let run = sandbox.berth(["run", "--name", name, "--network", "none", "--rootfs", rootfs.path, "--", "true"])
                try #require(run.succeeded, "\(run)")
                defer { sandbox.berth(["rm", "-f", name]) }
                let up = lab.lab(["up", lab.file])
                #expect(up.succeeded, "\(up)")
                #expect(sandbox.berth(["ps", "-a"]).stdout.contains(name))
                let down = lab.lab(["down", lab.name])
                #expect(down.succeeded, "\(down)")
                let ps = sandbox.berth(["ps", "-a"])
                #expect(ps.stdout.contains(name), "\(ps)")
            }
        }
    }

    @Test("the lab's own container whose command ended is still the lab's: the next up starts it again, down removes it")
    func endedContainerIsTheLabs() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, """
                name: LAB
                nodes:
                  r1: { run: { rootfs: \(rootfs.path), cmd: [ "true" ] } }

                """)
                let name = lab.namespace("r1")
                try #require(lab.lab(["up", lab.file]).succeeded)
                defer { lab.down() }
                let ended = Poll.wait(until: { sandbox.berth(["ps", "-a"]).stdout.contains("Exited") })
                #expect(ended, "\(sandbox.berth(["ps", "-a"]))")
                let plan = lab.lab(["up", "--dry-run", lab.file])
                #expect(plan.stdout == "stop the container of node r1\nstart the container of node r1\n", "\(plan)")
                let again = lab.lab(["up", lab.file])
                #expect(again.succeeded, "\(again)")
                let down = lab.lab(["down", lab.name])
                #expect(down.succeeded, "\(down)")
                let ps = sandbox.berth(["ps", "-a"])
                #expect(!ps.stdout.contains(name), "\(ps)")
            }
        }
    }

    @Test("impair leaves alone a namespace named like a node that is not the lab's, as exec does")
    func impairChecksTheTag() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            // Someone else's namespace now holds the name, with a link that carries the lab's link tag.
            let ns = lab.namespace("h1")
            #expect(Command.run(["ip", "netns", "del", ns]).succeeded)
            #expect(Command.run(["ip", "netns", "add", ns]).succeeded)
            #expect(Command.run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth9"]).succeeded)
            #expect(Command.run(["ip", "-n", ns, "link", "set", "eth0", "alias", "berth-lab \(lab.name) h1:eth0 r1:eth2"]).succeeded)
            let impair = lab.lab(["impair", lab.name, "h1:eth0", "--rate", "1mbit"])
            #expect(impair.status == 1 && impair.stderr.contains("has no node h1"), "\(impair)")
            #expect(!Command.witness(["tc", "-n", ns, "qdisc", "show", "dev", "eth0"]).contains("tbf"))
        }
    }

    @Test("a record that no longer validates blocks neither gc of the other labs nor berth gc's network part")
    func badRecordDoesNotBlockGC() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            let state = try lab.state()
            // Recorded by an older Berth: a loopback address on a link end.
            var bad = LabSpec(name: lab.name + "x", nodes: [NodeSpec(name: "a"), NodeSpec(name: "b")])
            bad.links = [LinkSpec(endpoints: [EndpointSpec(node: "a", interface: try InterfaceName("eth1"), addresses: [try CIDR(parsing: "127.0.0.2/8")]),
                                              EndpointSpec(node: "b", interface: try InterfaceName("eth1"))])]
            try state.save(LabRecord(name: bad.name, source: "old.yaml", applied: bad, nodes: ["a"]))
            // A good lab whose first up died: pending, a node made.
            let good = LabSpec(name: lab.name, nodes: [NodeSpec(name: "n")])
            try state.save(LabRecord(name: good.name, source: "good.yaml", pending: good, nodes: ["n"]))
            try lab.makeTaggedNamespace("n")
            // A record with unreadable JSON, as a damaged store has it.
            let sql = "INSERT INTO labs (name, source, applied, pending, updated) VALUES ('\(lab.name)y', 'y.yaml', '{not json', NULL, 0)"
            #expect(sandbox.run(["sqlite3", sandbox.stateDirectory + "/state.db", sql]).succeeded)

            // An endpoint whose namespace is gone, for berth gc's network part.
            try #require(sandbox.berth(["network", "create", "gcnet", "--subnet", "10.9.7.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "gcnet", "--netns", ns, "--id", "gone1"]).succeeded)
            #expect(Command.run(["ip", "netns", "del", ns]).succeeded)

            let ls = lab.lab(["ls"])
            #expect(ls.stdout.contains(lab.name + "x"), "\(ls)")
            let gc = sandbox.berth(["gc"])
            #expect(gc.stdout.contains("removed lab \(lab.name)\n"), "\(gc)")
            #expect(gc.status == 1 && gc.stdout.contains("could not collect lab \(lab.name)y"), "\(gc)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
            #expect(gc.stdout.contains("removed endpoint gone1"), "\(gc)")
            let down = lab.lab(["down", lab.name + "x"])
            #expect(down.succeeded, "\(down)")
        }
    }

    @Test("a lab collection that fails as a whole (its lock cannot be opened) is reported on stderr, exit 1, and berth gc's network part runs all the same")
    func failedLabCollectionDoesNotBlockGC() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            // A lab whose first up died: pending, a node made. Collected only once the lab
            // part of gc runs.
            let pending = LabSpec(name: lab.name, nodes: [NodeSpec(name: "n")])
            try lab.state().save(LabRecord(name: pending.name, source: "pending.yaml", pending: pending, nodes: ["n"]))
            try lab.makeTaggedNamespace("n")

            // An endpoint whose namespace is gone, with a published port, for the network part.
            try #require(sandbox.berth(["network", "create", "gcnet", "--subnet", "10.9.7.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "gcnet", "--netns", ns, "--id", "gone1", "-p", "8080:80"]).succeeded)
            #expect(Command.run(["ip", "netns", "del", ns]).succeeded)

            // A directory where the lab lock goes: opening it fails (EISDIR), so the lab
            // collection throws before it looks at any record.
            let lock = sandbox.stateDirectory + "/" + LabState.lockName
            try? FileManager.default.removeItem(atPath: lock)
            try FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: false)

            let gc = sandbox.berth(["gc"])
            #expect(gc.status == 1, "\(gc)")
            #expect(gc.stderr.hasPrefix("berth: lab garbage collection failed: ") && gc.stderr.contains(lock), "\(gc)")
            #expect(gc.stderr.split(separator: "\n").count == 1, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint gone1\n") && !gc.stdout.contains("removed lab"), "\(gc)")
            let ps = sandbox.berthWitness(["ps", "--json"])
            #expect(!ps.contains("gone1"), "\(ps)")
            let ruleset = sandbox.witness(["nft", "list", "ruleset"])
            #expect(!ruleset.contains("berth-endpoint gone1 "), "\(ruleset)")
            // The lab part did nothing: the crashed lab is still there.
            #expect(lab.recorded)
            #expect(lab.namespaces() == [lab.namespace("n")])

            // Once the lock opens, gc finishes the lab, and nothing is left for the network part.
            try FileManager.default.removeItem(atPath: lock)
            let again = sandbox.berth(["gc"])
            #expect(again.succeeded && again.stderr.isEmpty, "\(again)")
            #expect(again.stdout.contains("removed lab \(lab.name)\n") && !again.stdout.contains("removed endpoint"), "\(again)")
            #expect(!lab.recorded)
            #expect(lab.namespaces().isEmpty)
        }
    }
}
