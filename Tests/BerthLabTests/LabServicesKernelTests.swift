import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The issue's example: the triangle, and a web node that runs busybox httpd as a Berth
/// container, on a Berth network the lab creates, publishing 8080:80 — with a lab link to r2
/// too, so h1 reaches it across the routers.
func webTemplate(rootfs: String, port: Int = 8080) -> String {
    """
    name: LAB
    nodes:
      r1:
        sysctls: { net.ipv4.ip_forward: 1 }
        routes: [ "10.0.2.0/24 via 10.0.12.2" ]
      r2:
        sysctls: { net.ipv4.ip_forward: 1 }
        routes: [ "10.0.1.0/24 via 10.0.12.1" ]
      h1: { routes: [ "default via 10.0.1.1" ] }
      web:
        run: { rootfs: \(rootfs), cmd: [ httpd, -f, -p, "80", -h, /www ] }
        network: lan
        publish: [ "\(port):80" ]
        routes: [ "10.0.0.0/16 via 10.0.2.1" ]
    networks:
      lan: { subnet: 10.0.9.0/24 }
    links:
      - endpoints: [ "r1:eth1", "r2:eth1" ]
        addresses: [ 10.0.12.1/30, 10.0.12.2/30 ]
        rate: 16mbit
      - endpoints: [ "h1:eth0", "r1:eth2" ]
        addresses: [ 10.0.1.2/24, 10.0.1.1/24 ]
      - endpoints: [ "web:eth1", "r2:eth2" ]
        addresses: [ 10.0.2.2/24, 10.0.2.1/24 ]

    """
}

/// Serialized with the other lab suites' reasons: `gc` takes every leftover its store tags.
@Suite("berth lab: Berth networks, published ports, run nodes (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct LabServicesKernelTests {
    @Test("web on a Berth network: bytes through the published port from the host, h1 reaches it through the routers; down leaves nothing")
    func webOnNetwork() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                let up = lab.lab(["up", lab.file])
                try #require(up.succeeded, "\(up)")
                defer { lab.down() }
                #expect(lab.namespaces() == ["h1", "r1", "r2", "web"].map(lab.namespace))

                // up returns once httpd runs; it binds right after exec.
                let page = sandbox.run(["curl", "-sS", "--retry", "20", "--retry-delay", "0", "--retry-connrefused", "--max-time", "5",
                                        "http://127.0.0.1:8080/"])
                #expect(page.stdout == "hello from the lab\n", "\(page)")
                let across = lab.run("h1", ["curl", "-sS", "--max-time", "5", "http://10.0.2.2/"])
                #expect(across.stdout == "hello from the lab\n", "\(across)")

                // The container is a Berth container named LAB-web, in the node's namespace.
                let ps = try lab.psJSON()
                let container = try #require(ps.first { $0["kind"] as? String == "container" && $0["name"] as? String == lab.namespace("web") })
                let pid = try #require(container["pid"] as? Int)
                #expect(inode("/proc/\(pid)/ns/net") != nil && inode("/proc/\(pid)/ns/net") == inode("/run/netns/\(lab.namespace("web"))"))
                // Its node's endpoint (named after the node's namespace) is shown on its row, ports and all, not on a row of its own.
                #expect(container["endpoint"] as? String == lab.namespace("web") && (container["ports"] as? [Any])?.isEmpty == false, "\(container)")
                #expect(!ps.contains { $0["kind"] == nil && $0["id"] as? String == lab.namespace("web") }, "\(ps)")
                // eth0 from the network, eth1 from the lab link.
                let eth0 = lab.ip("web", ["addr", "show", "dev", "eth0"]).first?["addr_info"] as? [[String: Any]]
                #expect((eth0?.first?["local"] as? String)?.hasPrefix("10.0.9.") == true, "\(String(describing: eth0))")
                #expect(sandbox.run(["nft", "list", "ruleset"]).stdout.contains("8080"))

                let inspect = lab.lab(["inspect", lab.name, "--json"])
                let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any], "\(inspect)")
                let web = try #require((json["nodes"] as? [[String: Any]])?.first { $0["name"] as? String == "web" })
                let network = try #require(web["network"] as? [String: Any])
                #expect(network["name"] as? String == "lan")
                #expect((network["ports"] as? [[String: Any]])?.first?["hostPort"] as? Int == 8080)
                #expect((web["container"] as? [String: Any])?["running"] as? Bool == true)

                // A second up changes nothing: the container keeps running, the same process.
                lab.expectNothingPlanned()
                let again = lab.lab(["up", lab.file])
                #expect(again.succeeded && again.stdout.contains("up to date"), "\(again)")
                #expect(try lab.psJSON().first { $0["name"] as? String == lab.namespace("web") }?["pid"] as? Int == pid)
                #expect(lab.lab(["check"]).stdout == "ok\n")

                let down = lab.lab(["down", lab.name])
                #expect(down.succeeded, "\(down)")
                try lab.expectNothingLeft()
            }
        }
    }

    @Test("an edited file converges: the published port moves without restarting the container; dropping web stops it and removes the network")
    func convergeServices() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                try #require(lab.lab(["up", lab.file]).succeeded)
                defer { lab.down() }
                let pid = try lab.psJSON().first { $0["name"] as? String == lab.namespace("web") }?["pid"] as? Int

                try lab.write(webTemplate(rootfs: rootfs.path, port: 8081))
                let plan = lab.lab(["up", "--dry-run", lab.file])
                #expect(plan.stdout == "detach node web from its network\nattach node web to network lan\n", "\(plan)")
                try #require(lab.lab(["up", lab.file]).succeeded)
                let page = sandbox.run(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:8081/"])
                #expect(page.stdout == "hello from the lab\n", "\(page)")
                #expect(!sandbox.run(["curl", "-sS", "--max-time", "2", "http://127.0.0.1:8080/"]).succeeded)
                #expect(try lab.psJSON().first { $0["name"] as? String == lab.namespace("web") }?["pid"] as? Int == pid)

                try lab.write(triangleTemplate)
                let back = lab.lab(["up", "-v", lab.file])
                #expect(back.succeeded, "\(back)")
                #expect(lab.namespaces() == ["h1", "r1", "r2"].map(lab.namespace))
                #expect(try lab.psJSON().isEmpty)
                #expect(!sandbox.berthWitness(["network", "ls"]).contains("lan"))
                #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("8081"))
            }
        }
    }

    @Test("a network that exists is used and kept; one with another subnet is refused and nothing is made")
    func existingNetwork() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let create = sandbox.berth(["network", "create", "lan", "--subnet", "10.0.9.0/24"])
                try #require(create.succeeded, "\(create)")
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                try #require(lab.lab(["up", lab.file]).succeeded)
                #expect(lab.lab(["down", lab.name]).succeeded)
                #expect(sandbox.berth(["network", "ls"]).stdout.contains("lan"))
                #expect(try lab.psJSON().isEmpty)

                try lab.write(webTemplate(rootfs: rootfs.path).replacingOccurrences(of: "10.0.9.0/24", with: "10.0.8.0/24"))
                let refused = lab.lab(["up", lab.file])
                #expect(refused.status == 1 && refused.stderr.contains("subnet 10.0.9.0/24, not 10.0.8.0/24"), "\(refused)")
                #expect(lab.namespaces().isEmpty && !lab.recorded)
                #expect(try lab.psJSON().isEmpty)
            }
        }
    }

    @Test("a failure at any step of up rolls back containers, endpoints and the network too", .enabled(if: labFailPointsCompiledIn),
          arguments: ["lab.networks", "lab.routes", "lab.attach", "lab.run"])
    func rollback(point: String) throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": point])
                #expect(up.status == 1 && up.stderr.contains("fail point \(point)"), "\(up)")
                try lab.expectNothingLeft()
            }
        }
    }

    @Test("SIGKILL during up, then down or berth gc: nothing left", .enabled(if: labFailPointsCompiledIn),
          arguments: ["lab.networks", "lab.configure", "lab.attach", "lab.run"], ["down", "gc"])
    func killThenClean(point: String, cleaner: String) throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                let up = try LabProcess(sandbox, ["up", lab.file], environment: ["BERTH_FAILPOINT": point + ":hang"])
                let reached = up.waitFor("fail point \(point): hanging")
                let ended = up.kill()
                try #require(reached, "up never reached \(point)")
                #expect(ended.killed)
                for namespace in lab.namespaces() { sandbox.adopt(namespaceNamed: namespace) }
                #expect(lab.recorded)
                let check = lab.sandbox.berth(["check"])
                #expect(check.status == 1 && check.stderr.contains("did not finish"), "\(check)")
                // berth gc, not berth lab gc: the lean binary finds lab leftovers too.
                let clean = cleaner == "down" ? lab.lab(["down", lab.name]) : sandbox.berth(["gc"])
                #expect(clean.succeeded, "\(clean)")
                try lab.expectNothingLeft()
                #expect(sandbox.berth(["check"]).stdout == "ok\n")
            }
        }
    }

    @Test("berth gc stops a lab's container and removes its namespaces when the lab's record is gone")
    func gcWithoutRecord() throws {
        try withHostSandbox { sandbox in
            try withLabRootfs { rootfs in
                let lab = try LabFixture(sandbox, webTemplate(rootfs: rootfs.path))
                try #require(lab.lab(["up", lab.file]).succeeded)
                try lab.state().remove(named: lab.name)
                let check = sandbox.berth(["check"])
                #expect(check.status == 1 && check.stderr.contains("container \(lab.namespace("web"))"), "\(check)")
                let gc = sandbox.berth(["gc"])
                #expect(gc.succeeded && gc.stdout.contains("removed container \(lab.namespace("web"))")
                        && gc.stdout.contains("removed namespace \(lab.namespace("r1"))"), "\(gc)")
                #expect(lab.namespaces().isEmpty)
                #expect(try lab.psJSON().isEmpty)
                // The network outlives the record that said the lab made it: an ordinary network now.
                #expect(sandbox.berth(["network", "rm", "lan"]).succeeded)
            }
        }
    }
}

extension LabFixture {
    /// `berth ps --json`: containers and endpoints.
    func psJSON() throws -> [[String: Any]] {
        let result = sandbox.berth(["ps", "--json"])
        guard result.succeeded else { throw SandboxError("berth ps --json failed: \(result)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    /// No namespace, container, endpoint, network, bridge or host veth, published element
    /// or record of the lab.
    func expectNothingLeft(sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(namespaces().isEmpty, sourceLocation: sourceLocation)
        #expect(!recorded, sourceLocation: sourceLocation)
        #expect(try psJSON().isEmpty, sourceLocation: sourceLocation)
        let networks = sandbox.berth(["network", "ls"]).stdout
        #expect(!networks.contains("lan"), "\(networks)", sourceLocation: sourceLocation)
        let links = sandbox.run(["ip", "-o", "link", "show"]).stdout.split(separator: "\n")
        #expect(links.count == 1 && links.first?.contains(": lo:") == true, "\(links)", sourceLocation: sourceLocation)
        #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("8080"), sourceLocation: sourceLocation)
    }
}

/// The device and inode of a namespace file: equal for the same namespace.
private func inode(_ path: String) -> [UInt64]? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return [UInt64(st.st_dev), UInt64(st.st_ino)]
}
