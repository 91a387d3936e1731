import BerthTestSupport
import Foundation
import Testing

/// `link del`, `link set --down` and `addr del` on the links Berth's state uses are refused
/// naming the owner and what removes it (`--force` overrides), as `netns del` refuses a
/// namespace with endpoints; a name clash in `link add` asks for another name.
@Suite("berth CLI: links Berth uses (kernel)", .enabled(if: try KernelTests.enabled))
struct LinkOwnershipCLITests {
    private func bridge(_ sandbox: HostSandbox, _ network: String) throws -> String {
        let inspect = sandbox.berth(["network", "inspect", network, "--json"])
        let object = try #require((try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])?.first, "\(inspect)")
        return try #require(object["bridge"] as? String)
    }

    private func linkExists(_ sandbox: HostSandbox, _ name: String, netns: String? = nil) -> Bool {
        sandbox.run(["ip"] + (netns.map { ["-n", $0] } ?? []) + ["link", "show", name]).succeeded
    }

    @Test("a network's bridge: link del, link set --down and addr del of its gateway are refused naming the network and 'berth network rm'; --force does it")
    func networkBridge() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let name = try bridge(sandbox, "web")
            let hint = "berth: link \(name) is the bridge of network web (remove the network with 'berth network rm web', or add --force to "
            let del = sandbox.berth(["link", "del", name])
            #expect(del.status == 1 && del.stderr == hint + "delete it anyway)\n", "\(del)")
            let down = sandbox.berth(["link", "set", name, "--down"])
            #expect(down.status == 1 && down.stderr == hint + "set it down anyway)\n", "\(down)")
            let addr = sandbox.berth(["addr", "del", "10.9.0.1/24", "--dev", name])
            #expect(addr.status == 1 && addr.stderr == hint + "remove the address anyway)\n", "\(addr)")
            // Untouched: up, with its gateway; check finds nothing wrong.
            #expect(sandbox.run(["ip", "-br", "addr", "show", name]).stdout.contains("10.9.0.1/24"))
            #expect(sandbox.berth(["check"]).succeeded)
            // An MTU is no cut: not asked about.
            #expect(sandbox.berth(["link", "set", name, "--alias", "mine"]).succeeded)
            #expect(sandbox.berth(["link", "set", name, "--down", "--force"]).succeeded)
            #expect(sandbox.berth(["link", "del", name, "--force"]).succeeded)
            #expect(!linkExists(sandbox, name))
        }
    }

    @Test("an endpoint's veth, host end or the end inside its namespace: refused naming the endpoint and 'berth detach'; a link of no one's is deleted as before")
    func endpointVeth() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "web", "--netns", ns, "--id", "e1"]).succeeded)
            let ps = sandbox.berth(["ps", "--json"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]], "\(ps)")
            let veth = try #require(rows.first { $0["id"] as? String == "e1" }?["hostVeth"] as? String)
            let host = sandbox.berth(["link", "del", veth])
            #expect(host.status == 1 && host.stderr == "berth: link \(veth) is the host end of endpoint e1 on network web "
                    + "(detach the endpoint with 'berth detach e1', or add --force to delete it anyway)\n", "\(host)")
            let inside = sandbox.berth(["link", "del", "eth0", "--netns", ns])
            #expect(inside.status == 1 && inside.stderr == "berth: link eth0 is the interface of endpoint e1 on network web "
                    + "(detach the endpoint with 'berth detach e1', or add --force to delete it anyway)\n", "\(inside)")
            let unplug = sandbox.berth(["link", "set", veth, "--nomaster"])
            #expect(unplug.status == 1 && unplug.stderr.contains("take it off its bridge anyway"), "\(unplug)")
            #expect(linkExists(sandbox, veth) && linkExists(sandbox, "eth0", netns: ns))
            #expect(sandbox.berth(["check"]).succeeded)
            // lo inside is no one's; a name clash asks for another name, not a deletion.
            let clash = sandbox.berth(["link", "add", "lo", "--type", "bridge"])
            #expect(clash.status == 1 && clash.stderr.contains("(choose another name; see 'berth link ls')"), "\(clash)")
            #expect(sandbox.berth(["link", "add", "br9", "--type", "bridge"]).succeeded)
            #expect(sandbox.berth(["link", "del", "br9"]).succeeded)
            // Without a state, nothing is asked and none is made, as `ip link` needs none.
            let none = sandbox.stateDirectory + "-none"
            #expect(sandbox.berth(["link", "add", "br8", "--type", "bridge"]).succeeded)
            #expect(sandbox.berth(["link", "del", "br8", "--state-dir", none]).succeeded)
            #expect(!FileManager.default.fileExists(atPath: none) && !linkExists(sandbox, "br8"))
            #expect(sandbox.berth(["link", "del", "eth0", "--netns", ns, "--force"]).succeeded)
            #expect(!linkExists(sandbox, veth))
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }
}
