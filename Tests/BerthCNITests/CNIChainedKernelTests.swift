#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// berth-cni chained behind a dual-stack main plugin, against the kernel: the namespace is
/// wired by hand (`ip`, playing the reference bridge plugin: bridge cnibr6 with 10.81.0.1/24
/// and fd00:81::1/64, the container's eth0 with 10.81.0.5 and fd00:81::5) and the
/// prevResult is the one the bridge plugin would print. Bytes go through the published
/// ports over IPv6 and IPv4; CHECK, `berth check`/`reconcile`, DEL and `gc` cover the IPv6
/// elements.
@Suite("berth-cni chained on both families (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIChainedKernelTests {
    /// The bridge, the host veth and the container's eth0, both families with nodad (no
    /// duplicate address detection to wait for), default routes of both families inside,
    /// and a host address 2001:db8:81::1 (on lo: this kernel has no dummy links).
    private func wire(_ sandbox: HostSandbox, _ ns: String) throws {
        for step in [["ip", "link", "add", "cnibr6", "type", "bridge"], ["ip", "addr", "add", "10.81.0.1/24", "dev", "cnibr6"],
                     ["ip", "addr", "add", "fd00:81::1/64", "dev", "cnibr6", "nodad"], ["ip", "link", "set", "cnibr6", "up"],
                     ["ip", "link", "add", "cveth0", "master", "cnibr6", "type", "veth", "peer", "name", "eth0", "netns", ns],
                     ["ip", "link", "set", "cveth0", "up"],
                     ["ip", "-n", ns, "addr", "add", "10.81.0.5/24", "dev", "eth0"],
                     ["ip", "-n", ns, "addr", "add", "fd00:81::5/64", "dev", "eth0", "nodad"],
                     ["ip", "-n", ns, "link", "set", "lo", "up"], ["ip", "-n", ns, "link", "set", "eth0", "up"],
                     ["ip", "-n", ns, "route", "add", "default", "via", "10.81.0.1"],
                     ["ip", "-n", ns, "-6", "route", "add", "default", "via", "fd00:81::1"],
                     ["ip", "addr", "add", "2001:db8:81::1/128", "dev", "lo", "nodad"]] {
            let result = sandbox.run(step)
            try #require(result.succeeded, "\(step): \(result)")
        }
    }

    /// The result the reference bridge plugin prints for that wiring (1.0.0), with the
    /// addresses given (both families by default).
    private func prevResult(_ netns: String, ips: [String] = ["10.81.0.5/24", "fd00:81::5/64"]) -> String {
        let entries = ips.map { address in
            #"{"interface":2,"address":"\#(address)","gateway":"\#(address.contains(":") ? "fd00:81::1" : "10.81.0.1")"}"#
        }
        return #"{"cniVersion":"1.0.0","interfaces":[{"name":"cnibr6","mac":"02:00:00:00:81:01"},{"name":"cveth0","mac":"02:00:00:00:81:02"},"#
            + #"{"name":"eth0","mac":"02:00:00:00:81:05","sandbox":"\#(netns)"}],"ips":[\#(entries.joined(separator: ","))],"#
            + #""routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],"dns":{}}"#
    }

    private func config(_ cni: CNIHarness, _ mappings: String) -> String {
        cni.config("chain6", extra: #""runtimeConfig":{"portMappings":[\#(mappings)]}"#)
    }

    /// The elements of Berth's table of `family` (`ip` or `ip6`) for host port `port`, as
    /// nft prints them without the `elements = { … }` around them.
    private func elements(_ sandbox: HostSandbox, _ family: String, port: UInt16) -> [String] {
        sandbox.nftTable(family).split(separator: "\n")
            .filter { $0.contains(" \(port) comment \"berth-endpoint ") }
            .map { line in
                var text = line.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("elements = { ") { text.removeFirst("elements = { ".count) }
                if text.hasSuffix(" }") || text.hasSuffix(",") { text = String(text.dropLast(text.hasSuffix(",") ? 1 : 2)) }
                return text
            }
    }

    @Test("dual-stack prevResult: each port on both families (a hostIP on its own), bytes over IPv6 and IPv4, CHECK/check/reconcile see a lost IPv6 element, DEL; IPv6-only prevResult; gc of a gone namespace")
    func dualStack() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            try wire(sandbox, try #require(container.name))
            let servers = try [EchoServer(in: container, address: "0.0.0.0", port: 80, banner: "v4"),
                               EchoServer(in: container, address: "::", port: 80, banner: "v6"),
                               EchoServer(in: container, address: "::", port: 81, banner: "v6-81")]
            defer { servers.forEach { $0.stop() } }
            let previous = prevResult(container.path)
            let config = self.config(cni, #"{"hostPort":8090,"containerPort":80},{"hostPort":8091,"containerPort":81,"hostIP":"2001:db8:81::1"}"#)
            let withPrevious = CNIHarness.with(prevResult: previous, config)

            let add = cni.run("ADD", withPrevious, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            #expect(add.json == (try JSONValue(parsing: previous)), "prevResult comes back unchanged")
            let v6 = elements(sandbox, "ip6", port: 8090), v4 = elements(sandbox, "ip", port: 8090)
            #expect(v6.count == 1 && v6.first?.hasPrefix("tcp . 8090 comment \"berth-endpoint c1-eth0 @") == true
                && v6.first?.hasSuffix("\" : fd00:81::5 . 80") == true, "\(v6)")
            #expect(v4.count == 1 && v4.first?.hasSuffix("\" : 10.81.0.5 . 80") == true, "\(v4)")
            let byAddress = elements(sandbox, "ip6", port: 8091)
            #expect(byAddress.count == 1 && byAddress.first?.hasPrefix("2001:db8:81::1 . tcp . 8091 comment") == true
                && byAddress.first?.hasSuffix(": fd00:81::5 . 81") == true, "\(byAddress)")
            #expect(elements(sandbox, "ip", port: 8091).isEmpty, "an IPv6 hostIP has no IPv4 element")
            // berth ps lists the publication with both addresses and its ports of both families.
            let ps = sandbox.berth(["ps"]).stdout
            let row = ps.split(separator: "\n").first { $0.hasPrefix("c1-eth0 ") }.map(String.init) ?? ps
            #expect(row.contains(" chain6 ") && row.contains(" 10.81.0.5,fd00:81::5 ") && row.contains("[::]:8090->80/tcp")
                && row.contains("[2001:db8:81::1]:8091->81/tcp") && row.contains("0.0.0.0:8090->80/tcp"), "\(ps)")
            // --network takes the group the NETWORK column shows, as it takes a network.
            let byGroup = sandbox.berth(["ps", "--network", "chain6"])
            #expect(byGroup.succeeded && byGroup.stdout.contains("c1-eth0 ") && byGroup.stdout.contains(" 10.81.0.5,fd00:81::5 "), "\(byGroup)")
            let listed = try JSONValue(parsing: sandbox.berth(["ps", "--json"]).stdout)
            #expect(listed[0]?["ip6"] == "fd00:81::5" && listed[0]?["publication"] == .bool(true) && listed[0]?["kind"] == "publication", "\(listed)")

            // Bytes: over IPv6 to the LAN address and to the bridge's, over IPv4 to 127.0.0.1;
            // each reaches the server of its family (the first neighbour solicitation may wait a second).
            #expect((try? Probe.request(from: sandbox.namespace, to: "2001:db8:81::1", port: 8090, payload: "a", timeout: 3))?.hasPrefix("v6 ") == true)
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:81::1", port: 8090, payload: "b", timeout: 3)) == "v6 fd00:81::1 b")
            #expect((try? Probe.request(from: sandbox.namespace, to: "2001:db8:81::1", port: 8091, payload: "c", timeout: 3))?.hasPrefix("v6-81 ") == true)
            #expect((try? Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8090, payload: "d", timeout: 3))?.hasPrefix("v4 ") == true)

            #expect(cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path).status == 0)
            try #require(sandbox.run(["nft", "delete", "element", "ip6", "berth", "publish_any", "{ tcp . 8090 }"]).succeeded)
            let lost = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(lost.code == 110 && lost.message.contains("fd00:81::5 . 80 of IPv6 map publish_any: missing"), "\(lost)")
            let berthCheck = sandbox.berth(["check"])
            #expect(!berthCheck.succeeded && berthCheck.stderr.contains("of IPv6 map publish_any: missing"), "\(berthCheck)")
            let reconcile = sandbox.berth(["reconcile"])
            #expect(reconcile.succeeded, "\(reconcile)")
            #expect(cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path).status == 0, "reconcile restores the IPv6 element")
            #expect((try? Probe.request(from: sandbox.namespace, to: "2001:db8:81::1", port: 8090, payload: "e", timeout: 3))?.hasPrefix("v6 ") == true)

            #expect(cni.run("DEL", withPrevious, containerID: "c1", netns: container.path).status == 0)
            #expect(!cni.ruleset().contains("c1-eth0"))
            #expect(cni.run("DEL", withPrevious, containerID: "c1", netns: container.path).status == 0, "a second DEL is fine")

            // IPv6 only: the port on IPv6 alone; an IPv4 hostIP is code 7 naming both.
            let sixOnly = CNIHarness.with(prevResult: prevResult(container.path, ips: ["fd00:81::5/64"]), self.config(cni, #"{"hostPort":8092,"containerPort":80}"#))
            let add6 = cni.run("ADD", sixOnly, containerID: "c2", netns: container.path)
            try #require(add6.status == 0, "\(add6)")
            #expect(elements(sandbox, "ip6", port: 8092).count == 1 && elements(sandbox, "ip", port: 8092).isEmpty)
            #expect((try? Probe.request(from: sandbox.namespace, to: "2001:db8:81::1", port: 8092, payload: "f", timeout: 3))?.hasPrefix("v6 ") == true)
            let v4HostIP = CNIHarness.with(prevResult: prevResult(container.path, ips: ["fd00:81::5/64"]),
                                           self.config(cni, #"{"hostPort":8093,"containerPort":80,"hostIP":"127.0.0.1"}"#))
            let refused = cni.run("ADD", v4HostIP, containerID: "c3", netns: container.path)
            #expect(refused.code == 7 && refused.message.contains("hostIP 127.0.0.1") && refused.message.contains("only IPv6 address fd00:81::5"), "\(refused)")
            #expect(!cni.ruleset().contains("c3-eth0"))
            // A wildcard hostIP of the family the container lacks is skipped, as portmap
            // skips it: every mapping skipped publishes nothing and prints prevResult as is.
            let sixPrevious = prevResult(container.path, ips: ["fd00:81::5/64"])
            let wildcard = CNIHarness.with(prevResult: sixPrevious, self.config(cni, #"{"hostPort":8093,"containerPort":80,"hostIP":"0.0.0.0"}"#))
            let skipped = cni.run("ADD", wildcard, containerID: "c3", netns: container.path)
            #expect(skipped.status == 0, "\(skipped)")
            #expect(skipped.json == (try JSONValue(parsing: sixPrevious)), "prevResult comes back unchanged")
            #expect(!cni.ruleset().contains("c3-eth0") && elements(sandbox, "ip6", port: 8093).isEmpty)
            #expect(cni.run("CHECK", wildcard, containerID: "c3", netns: container.path).status == 0)
            #expect(cni.run("DEL", wildcard, containerID: "c3", netns: container.path).status == 0)

            // A publication to IPv4 alone (as one made before schema 11 reads back) behind
            // what prevResult now calls dual-stack: CHECK names the IPv6 address it misses.
            let fourOnly = CNIHarness.with(prevResult: prevResult(container.path, ips: ["10.81.0.5/24"]), self.config(cni, #"{"hostPort":8095,"containerPort":80}"#))
            try #require(cni.run("ADD", fourOnly, containerID: "c4", netns: container.path).status == 0)
            #expect(cni.run("CHECK", fourOnly, containerID: "c4", netns: container.path).status == 0)
            let dualCheck = cni.run("CHECK", CNIHarness.with(prevResult: previous, self.config(cni, #"{"hostPort":8095,"containerPort":80}"#)),
                                    containerID: "c4", netns: container.path)
            #expect(dualCheck.code == 110 && dualCheck.message.contains("prevResult lists IPv6 address fd00:81::5 that publication c4-eth0 does not forward to"), "\(dualCheck)")
            #expect(cni.run("DEL", fourOnly, containerID: "c4", netns: container.path).status == 0)

            // The container's namespace goes without a DEL: gc forgets the publication and removes its IPv6 element.
            servers.forEach { $0.stop() }
            try NetworkNamespace.delete(named: try #require(container.name))
            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("of IPv6 map publish_any"), "\(gc)")
            #expect(!cni.ruleset().contains("berth-endpoint c2-eth0"))
        }
    }

    @Test("hairpin: from inside the container, its own published port through the host's addresses answers, masqueraded to the bridge's address, on both families; DEL leaves no hairpin element")
    func hairpin() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            try wire(sandbox, try #require(container.name))
            // The reference bridge plugin's isGateway turns forwarding on (the DNATed packet is
            // routed back out of the bridge it came in on), and its hairpinMode (podman's
            // default) lets the port send it back where it came from: with br_netfilter
            // loaded the DNATed packet is bridged, not routed.
            for step in [["sysctl", "-w", "net.ipv4.ip_forward=1"], ["sysctl", "-w", "net.ipv6.conf.all.forwarding=1"],
                         ["ip", "link", "set", "cveth0", "type", "bridge_slave", "hairpin", "on"]] {
                let result = sandbox.run(step)
                try #require(result.succeeded, "\(step): \(result)")
            }
            let servers = try [EchoServer(in: container, address: "0.0.0.0", port: 80, banner: "v4"),
                               EchoServer(in: container, address: "::", port: 80, banner: "v6")]
            defer { servers.forEach { $0.stop() } }
            let withPrevious = CNIHarness.with(prevResult: prevResult(container.path), config(cni, #"{"hostPort":8098,"containerPort":80}"#))
            let add = cni.run("ADD", withPrevious, containerID: "h1", netns: container.path)
            try #require(add.status == 0, "\(add)")

            // DNATed back to the container itself: without the masquerade its reply stays in
            // its namespace and the connect times out. The server sees the bridge's address.
            #expect((try? Probe.request(from: container, to: "10.81.0.1", port: 8098, payload: "h4", timeout: 3)) == "v4 10.81.0.1 h4")
            #expect((try? Probe.request(from: container, to: "2001:db8:81::1", port: 8098, payload: "h6", timeout: 3)) == "v6 fd00:81::1 h6")
            #expect(sandbox.nftTable("ip").contains("10.81.0.5 . 10.81.0.5 comment \"berth-endpoint h1-eth0 @"))
            #expect(sandbox.nftTable("ip6").contains("fd00:81::5 . fd00:81::5 comment \"berth-endpoint h1-eth0 @"))
            // Read back from the kernel, the set, its rule and the elements are Berth's.
            let clean = sandbox.berth(["check"])
            #expect(clean.succeeded, "\(clean)")

            // A lost hairpin element: check names it, reconcile puts it back, the hairpin works again.
            try #require(sandbox.run(["nft", "delete", "element", "ip", "berth", "publication_hairpin", "{ 10.81.0.5 . 10.81.0.5 }"]).succeeded)
            let lost = sandbox.berth(["check"])
            #expect(!lost.succeeded && lost.stderr.contains("10.81.0.5 . 10.81.0.5") && lost.stderr.contains("of set publication_hairpin: missing"), "\(lost)")
            #expect(sandbox.berth(["reconcile"]).succeeded)
            #expect(sandbox.berth(["check"]).succeeded)
            #expect((try? Probe.request(from: container, to: "10.81.0.1", port: 8098, payload: "again", timeout: 3)) == "v4 10.81.0.1 again")

            #expect(cni.run("DEL", withPrevious, containerID: "h1", netns: container.path).status == 0)
            #expect(!cni.ruleset().contains("h1-eth0"))
        }
    }

    /// Starts a chained ADD of `containerID` that stops at `step` (by default
    /// `publish.conntrack`: after its batch, before its record commits), waits until its
    /// element for `port` is in Berth's table of `family` (`ip6 berth` by default), and
    /// SIGKILLs it there.
    private func killAdd(_ cni: CNIHarness, _ sandbox: HostSandbox, _ stdin: String, containerID: String, netns: String, port: UInt16,
                         at step: String = "publish.conntrack", family: String = "ip6") throws {
        let process = try Command.start(["nsenter", "--net=\(sandbox.namespace.path)", "--", "env", "CNI_COMMAND=ADD", "CNI_CONTAINERID=\(containerID)",
                                         "CNI_NETNS=\(netns)", "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni",
                                         "BERTH_FAILPOINT=\(step):hang", CNIHarness.binary], input: stdin)
        let reached = Poll.wait(seconds: 20) { !elements(sandbox, family, port: port).isEmpty }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try #require(reached, "the ADD never published its \(family) element")
        #expect(process.terminationReason == .uncaughtSignal)
    }

    @Test("an ADD killed after its IPv6 elements went in and before its record committed leaves only what gc, a CNI GC not keeping it, or its DEL removes",
          .enabled(if: Command.berthBinary.contains("/debug/")))
    func killedMidAdd() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            try wire(sandbox, try #require(container.name))
            let sixOnly = prevResult(container.path, ips: ["fd00:81::5/64"])
            let stdin = CNIHarness.with(prevResult: sixOnly, self.config(cni, #"{"hostPort":8094,"containerPort":80}"#))
            try killAdd(cni, sandbox, stdin, containerID: "c9", netns: container.path, port: 8094)

            // No record: CHECK knows no such attachment, and no Berth network has IPv6 to hint at ip6 berth.
            let check = cni.run("CHECK", stdin, containerID: "c9", netns: container.path)
            #expect(check.code == 110 && check.message.contains("ports 8094->80/tcp are not published"), "\(check)")
            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("tcp . 8094") && gc.stdout.contains("of IPv6 map publish_any"), "\(gc)")
            #expect(!cni.ruleset().contains("c9-eth0"))
            // The key is free again.
            let again = cni.run("ADD", stdin, containerID: "c9", netns: container.path)
            #expect(again.status == 0, "\(again)")

            // Another ADD killed the same way; the runtime's GC keeps c9: c10's element goes
            // (and is logged), c9's stays.
            let other = CNIHarness.with(prevResult: sixOnly, self.config(cni, #"{"hostPort":8096,"containerPort":80}"#))
            try killAdd(cni, sandbox, other, containerID: "c10", netns: container.path, port: 8096)
            let gcConfig = cni.config("chain6", version: "1.1.0", extra: #""cni.dev/valid-attachments":[{"containerID":"c9","ifname":"eth0"}]"#)
            let cniGC = cni.run("GC", gcConfig)
            #expect(cniGC.status == 0 && cniGC.result.stderr.contains("removed leftovers: element tcp . 8096 comment \"berth-endpoint c10-eth0 @")
                && cniGC.result.stderr.contains("of IPv6 map publish_any"), "\(cniGC)")
            #expect(elements(sandbox, "ip6", port: 8096).isEmpty && elements(sandbox, "ip6", port: 8094).count == 1)
            #expect(cni.run("CHECK", stdin, containerID: "c9", netns: container.path).status == 0)

            // A third killed the same way: the runtime's DEL after the failed ADD removes its
            // element (no record: the one tagged with its id), and c9's stays.
            let third = CNIHarness.with(prevResult: sixOnly, self.config(cni, #"{"hostPort":8097,"containerPort":80}"#))
            try killAdd(cni, sandbox, third, containerID: "c11", netns: container.path, port: 8097)
            let del = cni.run("DEL", third, containerID: "c11", netns: container.path)
            #expect(del.status == 0 && del.result.stderr.contains("DEL c11-eth0: removed leftovers: element tcp . 8097"), "\(del)")
            #expect(elements(sandbox, "ip6", port: 8097).isEmpty && elements(sandbox, "ip6", port: 8094).count == 1)

            #expect(cni.run("DEL", stdin, containerID: "c9", netns: container.path).status == 0)
            #expect(!cni.ruleset().contains("berth-endpoint c"))
        }
    }

    @Test("the first chained ADD on the host, killed right after the batch that made Berth's table with its loopback guard, leaves route_localnet off on the bridge; gc removes its element and the table",
          .enabled(if: Command.berthBinary.contains("/debug/")))
    func killedBeforeLocalnet() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            try wire(sandbox, try #require(container.name))
            let localnet = ["sysctl", "-n", "net.ipv4.conf.cnibr6.route_localnet"]
            #expect(sandbox.run(localnet).stdout.hasPrefix("0"))
            // A wildcard IPv4 port: reachable on 127.0.0.1, so the bridge would get route_localnet.
            let stdin = CNIHarness.with(prevResult: prevResult(container.path, ips: ["10.81.0.5/24"]),
                                        self.config(cni, #"{"hostPort":8099,"containerPort":80}"#))
            try killAdd(cni, sandbox, stdin, containerID: "c12", netns: container.path, port: 8099, at: "publish.elements", family: "ip")
            // Killed after the batch: the table and its guard are in, the bridge as it was.
            #expect(sandbox.nftTable("ip").contains("iifname != \"lo\" ip daddr 127.0.0.0/8 drop"))
            #expect(sandbox.run(localnet).stdout.hasPrefix("0"), "\(sandbox.run(localnet))")
            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("tcp . 8099"), "\(gc)")
            #expect(!sandbox.run(["nft", "list", "tables"]).stdout.contains("ip berth"))
            #expect(sandbox.run(localnet).stdout.hasPrefix("0"))
            // The ADD run again publishes, and turns route_localnet on behind the guard.
            let again = cni.run("ADD", stdin, containerID: "c12", netns: container.path)
            #expect(again.status == 0, "\(again)")
            #expect(sandbox.run(localnet).stdout.hasPrefix("1"))
            #expect(cni.run("DEL", stdin, containerID: "c12", netns: container.path).status == 0)
        }
    }
}
