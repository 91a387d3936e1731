import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The built `berth` binary, run inside a sandbox; iproute2 checks what it did.
@Suite("berth CLI (kernel)", .enabled(if: try KernelTests.enabled))
struct BerthCLITests {
    /// `ip -j ARGS` in the sandbox (or in namespace `ns`), parsed: empty when iproute2 says
    /// the device does not exist, an issue on any other failure (`IPWitness`).
    private func ip(_ sandbox: HostSandbox, _ args: [String], ns: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        IPWitness.json(sandbox, args, namespace: ns, sourceLocation: sourceLocation)
    }

    private func parseJSON(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
    }

    @Test("--version prints the version")
    func version() {
        let result = Command.run([Command.berthBinary, "--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("0."))
    }

    @Test("link add bridge, link ls in columns and JSON")
    func bridgeAndList() throws {
        try withHostSandbox { sandbox in
            let add = sandbox.berth(["link", "add", "br0", "--type", "bridge", "--mtu", "1400", "--up"])
            #expect(add.status == 0, "\(add)")
            let link = try #require(ip(sandbox, ["-d", "link", "show", "dev", "br0"]).first)
            #expect(link["mtu"] as? Int == 1400)
            #expect((link["flags"] as? [String])?.contains("UP") == true)
            #expect((link["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")

            let columns = sandbox.berth(["link", "ls"])
            #expect(columns.status == 0)
            let lines = columns.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(lines.first == ["NAME", "INDEX", "KIND", "STATE", "MTU", "MAC", "MASTER"])
            #expect(lines.contains { $0.first == "br0" && $0[2] == "bridge" && $0[4] == "1400" })

            let json = try parseJSON(sandbox.berth(["link", "ls", "--json"]).stdout)
            let bridge = try #require(json.first { $0["name"] as? String == "br0" })
            #expect(bridge["kind"] as? String == "bridge" && bridge["mtu"] as? Int == 1400 && bridge["up"] as? Bool == true)
            #expect(bridge["index"] as? Int == link["ifindex"] as? Int)
        }
    }

    @Test("link add veth with the peer in another namespace, enslaved and up; link set; link del")
    func vethAndSet() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            #expect(sandbox.berth(["link", "add", "br0", "--type", "bridge"]).status == 0)
            let add = sandbox.berth(["link", "add", "vb1", "--type", "veth", "--peer", "eth0", "--peer-netns", ns, "--master", "br0", "--up"])
            #expect(add.status == 0, "\(add)")
            #expect(ip(sandbox, ["link", "show", "dev", "vb1"]).first?["master"] as? String == "br0")
            #expect(!ip(sandbox, ["link", "show", "dev", "eth0"], ns: ns).isEmpty)
            #expect(ip(sandbox, ["link", "show", "dev", "eth0"]).isEmpty)

            let inside = try parseJSON(sandbox.berth(["link", "ls", "--netns", ns, "--json"]).stdout)
            #expect(inside.contains { $0["name"] as? String == "eth0" && $0["kind"] as? String == "veth" })

            let set = sandbox.berth(["link", "set", "eth0", "--netns", ns, "--up", "--mtu", "1280", "--alias", "ctr end"])
            #expect(set.status == 0, "\(set)")
            let eth0 = try #require(ip(sandbox, ["link", "show", "dev", "eth0"], ns: ns).first)
            #expect(eth0["mtu"] as? Int == 1280 && eth0["ifalias"] as? String == "ctr end")
            #expect((eth0["flags"] as? [String])?.contains("UP") == true)

            #expect(sandbox.berth(["link", "set", "vb1", "--nomaster", "--down"]).status == 0)
            let vb1 = try #require(ip(sandbox, ["link", "show", "dev", "vb1"]).first)
            #expect(vb1["master"] == nil && (vb1["flags"] as? [String])?.contains("UP") == false)

            // Moved and up in one command: up in the target namespace, as `ip link set … netns NS up`.
            #expect(sandbox.berth(["link", "add", "vm1", "--type", "veth", "--peer", "vm2"]).status == 0)
            let moved = sandbox.berth(["link", "set", "vm2", "--up", "--mtu", "1400", "--move-to", ns])
            #expect(moved.status == 0, "\(moved)")
            let vm2 = try #require(ip(sandbox, ["link", "show", "dev", "vm2"], ns: ns).first)
            #expect((vm2["flags"] as? [String])?.contains("UP") == true && vm2["mtu"] as? Int == 1400, "\(vm2)")
            #expect(ip(sandbox, ["link", "show", "dev", "vm2"]).isEmpty)

            #expect(sandbox.berth(["link", "del", "vb1"]).status == 0)
            #expect(ip(sandbox, ["link", "show", "dev", "eth0"], ns: ns).isEmpty)
        }
    }

    @Test("addr and route add, ls and del, IPv4 and IPv6")
    func addressesAndRoutes() throws {
        try withHostSandbox { sandbox in
            #expect(sandbox.berth(["link", "add", "va", "--type", "veth", "--peer", "vb", "--up"]).status == 0)
            #expect(sandbox.berth(["link", "set", "vb", "--up"]).status == 0)
            #expect(sandbox.berth(["addr", "add", "10.55.0.2/24", "--dev", "va"]).status == 0)
            #expect(sandbox.berth(["addr", "add", "fd00:55::2/64", "--dev", "va", "--nodad"]).status == 0)
            let listed = ip(sandbox, ["addr", "show", "dev", "va"]).first?["addr_info"] as? [[String: Any]] ?? []
            #expect(listed.contains { $0["local"] as? String == "10.55.0.2" && $0["prefixlen"] as? Int == 24 })
            #expect(listed.contains { $0["local"] as? String == "fd00:55::2" })
            let addrJSON = try parseJSON(sandbox.berth(["addr", "ls", "--dev", "va", "--json"]).stdout)
            #expect(Set(addrJSON.compactMap { $0["address"] as? String }).isSuperset(of: ["10.55.0.2/24", "fd00:55::2/64"]))
            #expect(addrJSON.allSatisfy { $0["dev"] as? String == "va" })

            #expect(sandbox.berth(["route", "add", "default", "--via", "10.55.0.1"]).status == 0)
            #expect(sandbox.berth(["route", "add", "10.56.0.0/16", "--dev", "va"]).status == 0)
            #expect(sandbox.berth(["route", "add", "default", "--via", "fd00:55::1", "--dev", "va"]).status == 0)
            let v4 = ip(sandbox, ["-4", "route", "show"])
            #expect(v4.contains { $0["dst"] as? String == "default" && $0["gateway"] as? String == "10.55.0.1" })
            #expect(v4.contains { $0["dst"] as? String == "10.56.0.0/16" && $0["dev"] as? String == "va" })
            #expect(ip(sandbox, ["-6", "route", "show"]).contains { $0["dst"] as? String == "default" && $0["gateway"] as? String == "fd00:55::1" })
            let routeJSON = try parseJSON(sandbox.berth(["route", "ls", "--json"]).stdout)
            #expect(routeJSON.contains { $0["destination"] as? String == "default" && $0["gateway"] as? String == "10.55.0.1" && $0["dev"] as? String == "va" })
            let columns = sandbox.berth(["route", "ls", "-4"]).stdout
            #expect(columns.hasPrefix("DESTINATION"))
            #expect(columns.contains("10.56.0.0/16"))

            // A multipath route made by iproute2: one row, its next hops' gateways and devices.
            #expect(sandbox.run(["ip", "route", "add", "10.57.0.0/16", "nexthop", "via", "10.55.0.1", "dev", "va",
                                 "nexthop", "via", "10.55.0.3", "dev", "va", "weight", "2"]).succeeded)
            let multipath = sandbox.berth(["route", "ls", "-4"]).stdout.split(separator: "\n").filter { $0.hasPrefix("10.57.0.0/16") }
            #expect(multipath.count == 1 && multipath.first?.split(separator: " ").prefix(3) == ["10.57.0.0/16", "10.55.0.1,10.55.0.3", "va,va"],
                    "\(multipath)")
            let hops = try parseJSON(sandbox.berth(["route", "ls", "-4", "--json"]).stdout).first { $0["destination"] as? String == "10.57.0.0/16" }
            let nexthops = hops?["nexthops"] as? [[String: Any]] ?? []
            #expect(nexthops.map { "\($0["gateway"] ?? "-") \($0["dev"] ?? "-") \($0["weight"] ?? "-")" } == ["10.55.0.1 va 1", "10.55.0.3 va 2"])

            #expect(sandbox.berth(["route", "del", "default", "--via", "10.55.0.1"]).status == 0)
            #expect(!ip(sandbox, ["-4", "route", "show"]).contains { $0["dst"] as? String == "default" })
            #expect(sandbox.berth(["addr", "del", "10.55.0.2/24", "--dev", "va"]).status == 0)
            let after = ip(sandbox, ["addr", "show", "dev", "va"]).first?["addr_info"] as? [[String: Any]] ?? []
            #expect(!after.contains { $0["local"] as? String == "10.55.0.2" })
        }
    }

    @Test("netns add, ls and del are shared with ip netns")
    func netns() throws {
        try withHostSandbox { sandbox in
            let name = "bt-cli-\(KernelTests.uniqueSuffix())"
            sandbox.adopt(namespaceNamed: name)
            #expect(sandbox.berth(["netns", "add", name]).status == 0)
            #expect(IPWitness.namespaceNames().contains(name))
            #expect(sandbox.berth(["netns", "ls"]).stdout.split(separator: "\n").contains(Substring(name)))
            let json = try parseJSON(sandbox.berth(["netns", "ls", "--json"]).stdout)
            #expect(json.contains { $0["name"] as? String == name })
            #expect(sandbox.berth(["netns", "del", name]).status == 0)
            #expect(!IPWitness.namespaceNames().contains(name))
            let again = sandbox.berth(["netns", "del", name])
            #expect(again.status == 1)
            #expect(again.stderr.hasPrefix("berth: network namespace \(name) does not exist"))
        }
    }

    @Test("bad input: a message on stderr naming problem and fix, and a non-zero exit")
    func errors() throws {
        try withHostSandbox { sandbox in
            let missing = sandbox.berth(["link", "del", "nosuch0"])
            #expect(missing.status == 1)
            #expect(missing.stderr.hasPrefix("berth: link nosuch0 does not exist"))
            #expect(missing.stderr.contains("berth link ls"))

            #expect(sandbox.berth(["link", "add", "br0", "--type", "bridge"]).status == 0)
            let duplicate = sandbox.berth(["link", "add", "br0", "--type", "bridge"])
            #expect(duplicate.status == 1)
            #expect(duplicate.stderr.contains("br0 already exists"))

            let long = sandbox.berth(["link", "add", "abcdefghijklmnop", "--type", "bridge"])
            #expect(long.status == 1)
            #expect(long.stderr.contains("over the kernel's limit of 15"))
            #expect(ip(sandbox, ["link", "show"]).allSatisfy { $0["ifname"] as? String != "abcdefghijklmnop" })

            let unknown = sandbox.berth(["link", "add", "x0", "--type", "nosuchkind"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("not supported"))

            let badCIDR = sandbox.berth(["addr", "add", "10.0.0.1", "--dev", "br0"])
            #expect(badCIDR.status == 1)
            #expect(badCIDR.stderr.contains("invalid CIDR"))

            let badNamespace = sandbox.berth(["link", "ls", "--netns", "bt-nosuch-ns"])
            #expect(badNamespace.status == 1)
            #expect(badNamespace.stderr.contains("does not exist"))

            let usage = sandbox.berth(["link", "set", "br0", "--up", "--down"])
            #expect(usage.status != 0 && usage.status != 1)
            #expect(usage.stderr.contains("--up and --down"))
            let veth = sandbox.berth(["link", "add", "v0", "--type", "veth"])
            #expect(veth.status != 0)
            #expect(veth.stderr.contains("--peer"))
        }
    }
}
