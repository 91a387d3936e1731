import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// A network's bridge under the things users and hosts do to it (issue 12): endpoints
/// leaving, a bridge Berth did not make, a bridge deleted by hand. All through the CLI,
/// checked with iproute2 and real connections.
@Suite("bridge hardening (kernel)", .enabled(if: try KernelTests.enabled))
struct BridgeHardeningKernelTests {
    @Test("the bridge MAC stays while endpoints come and go, the lowest-MAC one included; a sibling reaches the LAN peer right after")
    func macStays() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let peer = try EchoServer(in: lan.namespace, port: 7, banner: "lan")
            defer { peer.stop() }
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.41.0.0/24", "--bridge", "brweb"]).succeeded)
            let fixed = try #require(sandbox.mac(of: "brweb"))
            let containers = try (1...3).map { try CLIContainer(sandbox, network: "web", id: "e\($0)") }
            #expect(sandbox.mac(of: "brweb") == fixed)
            // The endpoint whose host veth has the lowest MAC: the one a bridge without a
            // fixed MAC copies.
            let endpoints = try Oracle.endpoints(sandbox)
            func vethMAC(_ id: String) -> String {
                let veth = endpoints.first { $0["id"] as? String == id }?["hostVeth"] as? String ?? ""
                return sandbox.mac(of: veth) ?? ""
            }
            let lowest = try #require(containers.min { vethMAC($0.id) < vethMAC($1.id) })
            let sibling = try #require(containers.first { $0.id != lowest.id })
            // The sibling knows the gateway's MAC before the detach.
            #expect(sibling.reaches(LANNeighbor.address, 7, banner: "lan"))
            let detach = sandbox.berth(["detach", lowest.id])
            try #require(detach.succeeded, "\(detach)")
            #expect(sandbox.mac(of: "brweb") == fixed)
            // At once: the sibling's entry for the gateway still holds (the MAC did not move).
            // 3 s is what a probe that must be answered gets on a loaded host; a changed MAC
            // would send it to the old one until the entry is probed again, 5 s and more
            // (delay_first_probe_time).
            #expect(sibling.reaches(LANNeighbor.address, 7, banner: "lan", timeout: 3))
            // Coming and going more leaves it as it was.
            let later = try CLIContainer(sandbox, network: "web", id: "e4")
            #expect(later.reaches(LANNeighbor.address, 7, banner: "lan"))
            for container in containers + [later] where container.id != lowest.id {
                #expect(sandbox.berth(["detach", container.id]).succeeded)
            }
            #expect(sandbox.mac(of: "brweb") == fixed)
            let inspect = try Oracle.network(sandbox.berth(["network", "inspect", "web", "--json"]).stdout)
            #expect(inspect["bridgeMAC"] as? String == fixed)
        }
    }

    @Test("a foreign bridge with an address and a port is refused; opted in, it survives network rm with its address, port and route")
    func foreignBridge() throws {
        try withHostSandbox { sandbox in
            for step in [["link", "add", "lanbr", "type", "bridge"], ["link", "set", "lanbr", "up"], ["addr", "add", "192.0.2.1/24", "dev", "lanbr"],
                         ["link", "add", "lanport", "type", "veth", "peer", "name", "lanpeer"], ["link", "set", "lanport", "master", "lanbr", "up"],
                         ["route", "add", "198.51.100.0/24", "via", "192.0.2.254"]] {
                let result = sandbox.run(["ip"] + step)
                try #require(result.succeeded, "\(step): \(result)")
            }
            let before = KernelSnapshot(sandbox)
            let refused = sandbox.berth(["network", "create", "lan", "--bridge", "lanbr", "--subnet", "10.42.0.0/24"])
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr.contains("bridge lanbr already exists and was not made by Berth"), "\(refused)")
            #expect(refused.stderr.contains("--bridge-existing"), "\(refused)")
            #expect(KernelSnapshot(sandbox) == before)

            let adopted = sandbox.berth(["network", "create", "lan", "--bridge", "lanbr", "--bridge-existing", "--subnet", "10.42.0.0/24",
                                       "--gateway", "10.42.0.1"])
            try #require(adopted.succeeded, "\(adopted)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr").sorted() == ["10.42.0.1/24", "192.0.2.1/24"])
            let gateway = try EchoServer(in: sandbox.namespace, port: 7, banner: "host")
            defer { gateway.stop() }
            let container = try CLIContainer(sandbox, network: "lan", id: "c1")
            #expect(container.reaches("10.42.0.1", 7, banner: "host"))
            #expect(sandbox.berth(["check"]).succeeded)
            #expect(sandbox.berth(["detach", "c1"]).succeeded)
            let removed = sandbox.berth(["network", "rm", "lan"])
            #expect(removed.succeeded, "\(removed)")

            let bridge = try #require(Oracle.ip(sandbox, ["link", "show", "dev", "lanbr"]).first)
            #expect((bridge["flags"] as? [String])?.contains("UP") == true)
            #expect(Oracle.ipv4(sandbox, dev: "lanbr") == ["192.0.2.1/24"])
            #expect(Oracle.ip(sandbox, ["link", "show", "dev", "lanport"]).first?["master"] as? String == "lanbr")
            #expect(!Oracle.ip(sandbox, ["route", "show", "198.51.100.0/24"]).isEmpty)
            // c1's renamed host end is deleted by a detached process after the detach exits.
            #expect(Oracle.wait(seconds: 30) { Oracle.detachedLinksGone(sandbox) })
            var after = KernelSnapshot(sandbox)
            // Berth's table stays for other networks; links, addresses and routes are as they were.
            after.ruleset = before.ruleset
            #expect(after == before, "\(after.difference(from: before))")
        }
    }

    @Test("a LAN bridge adopted with its own subnet: its address is the gateway and nothing is added, the host's other address is leased to no one, containers get the bridge's MTU, and traffic routed to the LAN is not dropped")
    func adoptedLAN() throws {
        try withHostSandbox { sandbox in
            // The LAN: a bridge with MTU 1450 (a VXLAN underlay, say) holding two host
            // addresses, and a peer behind its port.
            let peer = try sandbox.makeNamespace("lan")
            let peerName = try #require(peer.name)
            for step in [["link", "add", "lanbr", "mtu", "1450", "type", "bridge"],
                         ["link", "add", "lanport", "mtu", "1450", "type", "veth", "peer", "name", "eth0", "mtu", "1450", "netns", peerName],
                         ["link", "set", "lanport", "master", "lanbr", "up"], ["link", "set", "lanbr", "up"],
                         ["addr", "add", "192.0.2.1/24", "dev", "lanbr"], ["addr", "add", "192.0.2.2/24", "dev", "lanbr"]] {
                let result = Command.run(["ip", "-n", sandbox.name] + step)
                try #require(result.succeeded, "\(step): \(result)")
            }
            for step in [["addr", "add", "192.0.2.50/24", "dev", "eth0"], ["link", "set", "eth0", "up"]] {
                let result = Command.run(["ip", "-n", peerName] + step)
                try #require(result.succeeded, "\(step): \(result)")
            }
            let lanServer = try EchoServer(in: peer, port: 7, banner: "lan")
            defer { lanServer.stop() }
            let hostServer = try EchoServer(in: sandbox.namespace, port: 7, banner: "host")
            defer { hostServer.stop() }

            let tooBig = sandbox.berth(["network", "create", "lan", "--bridge", "lanbr", "--bridge-existing", "--subnet", "192.0.2.0/24", "--mtu", "9000"])
            #expect(tooBig.status == 1 && tooBig.stderr.contains("MTU 9000 is above the MTU of bridge lanbr (1450)"), "\(tooBig)")
            let created = sandbox.berth(["network", "create", "lan", "--bridge", "lanbr", "--bridge-existing", "--subnet", "192.0.2.0/24"])
            try #require(created.succeeded, "\(created)")
            #expect(Oracle.ipv4(sandbox, dev: "lanbr").sorted() == ["192.0.2.1/24", "192.0.2.2/24"])
            let inspect = try Oracle.network(sandbox.berth(["network", "inspect", "lan", "--json"]).stdout)
            #expect(inspect["gateway"] as? String == "192.0.2.1" && inspect["mtu"] as? Int == 1450, "\(inspect)")

            let container = try CLIContainer(sandbox, network: "lan", id: "c1")
            #expect(container.address == "192.0.2.3")
            #expect(Oracle.ip(sandbox, ["link", "show", "dev", "eth0"], ns: container.name).first?["mtu"] as? Int == 1450)
            #expect(container.reaches("192.0.2.2", 7, banner: "host"))
            #expect(container.reaches("192.0.2.50", 7, banner: "lan"))
            // A container of another network reaches the LAN peer through the host: no guard
            // of the LAN's subnet drops what is routed to it.
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.41.0.0/24", "--bridge", "brweb"]).succeeded)
            let routed = try CLIContainer(sandbox, network: "web", id: "w1")
            #expect(routed.reaches("192.0.2.50", 7, banner: "lan"))
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")
        }
    }

    @Test("after ip link del of a network's bridge, reconcile brings every endpoint back: gateway, siblings, published port from the LAN")
    func reconcileAfterBridgeDeleted() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.43.0.0/24", "--bridge", "brweb"]).succeeded)
            let host = try EchoServer(in: sandbox.namespace, port: 7, banner: "host")
            defer { host.stop() }
            let c1 = try CLIContainer(sandbox, network: "web", id: "c1", ports: ["8080:80"])
            let c2 = try CLIContainer(sandbox, network: "web", id: "c2")
            let c2Address = try #require(c2.address)
            func connected() -> [Bool] {
                [c1.reaches("10.43.0.1", 7, banner: "host"), c1.reaches(c2Address, banner: "c2"),
                 (try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress, port: 8080))?.hasPrefix("c1 ") == true]
            }
            #expect(connected() == [true, true, true])
            let mac = sandbox.mac(of: "brweb")

            #expect(sandbox.run(["ip", "link", "del", "brweb"]).succeeded)
            let broken = sandbox.berth(["check"])
            #expect(broken.status == 1 && broken.stderr.contains("network web: bridge brweb: missing (run 'berth reconcile')"), "\(broken)")
            let reconcile = sandbox.berth(["reconcile"])
            #expect(reconcile.succeeded, "\(reconcile)")
            #expect(reconcile.stdout.contains("restored network web: bridge brweb"), "\(reconcile)")
            #expect(reconcile.stdout.contains("fixed endpoint c1: veth"), "\(reconcile)")
            #expect(reconcile.stdout.contains("fixed endpoint c2: veth"), "\(reconcile)")
            #expect(sandbox.mac(of: "brweb") == mac)
            #expect(connected() == [true, true, true])
            let check = sandbox.berth(["check"])
            #expect(check.succeeded && check.stdout == "ok\n", "\(check)")
        }
    }
}
