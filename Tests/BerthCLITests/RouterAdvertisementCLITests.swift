import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// A container with CAP_NET_RAW forges router advertisements on its network (issue 15,
/// CVE-2020-13401 class), through the real attach path in a host sandbox: the host's IPv6
/// addresses and routes do not change, and sibling endpoints — dual-stack and IPv4-only —
/// gain no address and no route. A namespace with IPv6 defaults on each bridge (made by
/// hand, not by Berth) is the positive control: it takes the forged prefix and route, so
/// the RA did reach the segment. The packet is built in Swift (`RouterAdvertisement`), the
/// same as scripts/facts/ipv6/05-ra.sh sends.
@Suite("berth CLI: forged router advertisements from a container (kernel)", .enabled(if: try KernelTests.enabled))
struct RouterAdvertisementCLITests {
    /// A namespace's IPv6 addresses (interface and address, no flags or lifetimes) and
    /// routes (no expiry), sorted: what an RA could change.
    private func ipv6State(_ run: ([String]) -> CommandResult) -> [String] {
        let addresses = run(["ip", "-6", "-o", "addr", "show"]).stdout.split(separator: "\n").map { line -> String in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count > 3 ? "addr \(fields[1]) \(fields[3])" : String(line)
        }
        let routes = run(["ip", "-6", "route", "show"]).stdout.split(separator: "\n").map { line in
            "route " + line.replacingOccurrences(of: #" expires \d+sec"#, with: "", options: .regularExpression)
        }
        return (addresses + routes).sorted()
    }

    private func inside(_ name: String) -> ([String]) -> CommandResult {
        { argv in Command.run(["ip", "-n", name] + argv.dropFirst()) }
    }

    /// eth0's index and MAC inside namespace `name`.
    private func eth0(_ name: String) throws -> (index: Int32, mac: String) {
        let line = Command.run(["ip", "-n", name, "-o", "link", "show", "dev", "eth0"]).stdout
        let index = try #require(line.split(separator: ":").first.flatMap { Int32($0) }, "\(line)")
        let mac = try #require(line.range(of: "link/ether ").map { String(line[$0.upperBound...].prefix(17)) }, "\(line)")
        return (index, mac)
    }

    /// A namespace with IPv6 defaults (accept_ra=1) on `bridge`, wired by hand; its name.
    private func control(on bridge: String, _ sandbox: HostSandbox, hostEnd: String) throws -> String {
        let name = try #require(try sandbox.makeNamespace("ractl").name)
        for argv in [["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", name],
                     ["ip", "link", "set", hostEnd, "addrgenmode", "none"], ["ip", "link", "set", hostEnd, "master", bridge, "up"]] {
            let result = sandbox.run(argv)
            try #require(result.succeeded, "\(argv): \(result)")
        }
        try #require(Command.run(["ip", "-n", name, "link", "set", "eth0", "up"]).succeeded)
        return name
    }

    private func bridge(of network: String, _ sandbox: HostSandbox) throws -> String {
        let result = sandbox.berth(["network", "inspect", network, "--json"])
        let json = try #require((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])?.first, "\(result)")
        return try #require(json["bridge"] as? String)
    }

    /// Sends RAs for `prefix` from `attacker` until `control` has an address in it (bounded:
    /// a guard against hanging, not a timing assertion); whether it got one.
    private func forge(from attacker: String, prefix: String, until control: String) throws -> Bool {
        let (index, mac) = try eth0(attacker)
        let namespace = try NetworkNamespace.open(path: "/run/netns/\(attacker)")
        let advertisement = try RouterAdvertisement(sourceMAC: mac, prefix: prefix)
        let stem = String(prefix.dropLast(2))
        for _ in 0..<40 {
            try advertisement.send(in: namespace, interfaceIndex: index)
            for _ in 0..<10 {
                let addresses = Command.run(["ip", "-n", control, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
                if addresses.contains("inet6 \(stem)") { return true }
                usleep(50_000)
            }
        }
        return false
    }

    @Test("forged RAs from containers on a dual-stack and an IPv4-only network change nothing on the host or on sibling endpoints; a hand-made namespace with IPv6 defaults takes them")
    func forgedAdvertisements() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "dual", "--subnet", "10.51.0.0/24", "--subnet", "fd00:51::/64"]).succeeded)
            try #require(sandbox.berth(["network", "create", "four", "--subnet", "10.52.0.0/24"]).succeeded)
            var names: [String: String] = [:]
            for (role, network) in [("attacker6", "dual"), ("sibling6", "dual"), ("attacker4", "four"), ("sibling4", "four")] {
                let name = try #require(try sandbox.makeNamespace(role).name)
                let attach = sandbox.berth(["attach", network, "--netns", name, "--id", role])
                try #require(attach.succeeded, "\(attach)")
                names[role] = name
            }
            let control6 = try control(on: try bridge(of: "dual", sandbox), sandbox, hostEnd: "vractl6")
            let control4 = try control(on: try bridge(of: "four", sandbox), sandbox, hostEnd: "vractl4")
            let sibling6 = try #require(names["sibling6"]), sibling4 = try #require(names["sibling4"])
            let hostBefore = ipv6State { sandbox.run($0) }
            let sibling6Before = ipv6State(inside(sibling6))
            let sibling4Before = ipv6State(inside(sibling4))
            #expect(sibling6Before.contains("addr eth0 fd00:51::3/64"), "\(sibling6Before)")
            #expect(!sibling4Before.contains { $0.contains("eth0") }, "an IPv4-only endpoint has no IPv6 on eth0: \(sibling4Before)")

            // The controls take what the attackers send: the RAs reached both segments.
            #expect(try forge(from: try #require(names["attacker6"]), prefix: "fd00:bad:6::", until: control6),
                    "the control on the dual-stack bridge took no address from the forged RA")
            #expect(try forge(from: try #require(names["attacker4"]), prefix: "fd00:bad:4::", until: control4),
                    "the control on the IPv4-only bridge took no address from the forged RA")
            let controlRoutes = Command.run(["ip", "-n", control6, "-6", "route", "show", "default"]).stdout
            #expect(controlRoutes.contains("via fe80::bad"), "control route: \(controlRoutes)")

            // Nothing else moved: the host (forwarding on, accept_ra=0 on Berth's bridges),
            // the dual-stack sibling (accept_ra=0) and the IPv4-only one (IPv6 disabled).
            #expect(ipv6State { sandbox.run($0) } == hostBefore)
            #expect(ipv6State(inside(sibling6)) == sibling6Before)
            #expect(ipv6State(inside(sibling4)) == sibling4Before)
            for state in [ipv6State { sandbox.run($0) }, ipv6State(inside(sibling6)), ipv6State(inside(sibling4))] {
                #expect(!state.contains { $0.contains("fd00:bad") || $0.contains("fe80::bad") }, "\(state)")
            }
        }
    }
}
